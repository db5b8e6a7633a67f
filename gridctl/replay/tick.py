"""The real-time control tick: setpoints for one interval, absorbing forecast error, applied to the devices.

Rule: the plan assumed a net demand ``load - (pv - curtailed)`` from forecasts. When it
differs from the measured one by ``error`` kW, the batteries shift their setpoints by
``-error`` (shared in proportion to their power ratings) so the grid import stays at the planned
value; the setpoints are then clamped to power and SoC limits and the device physics stop a
battery at its SoC limit, and what the batteries cannot absorb flows to or from the grid. With
``cover_error=False`` setpoints are applied as planned. A PV plant is capped at its actual
available power minus the planned curtailment (uncapped when the plan curtails nothing).
"""

from __future__ import annotations

from gridctl.config import BatteryConfig
from gridctl.control import pv_cap_kw
from gridctl.replay.actuals import Actuals
from gridctl.replay.plant import Plant


def battery_setpoints(batteries: list[BatteryConfig], setpoints_kw: dict[str, float], error_kw: float,
                      cover_error: bool = True) -> dict[str, float]:
    """Each battery's setpoint (kW, load-referenced), shifted by its share of ``-error_kw`` when covering."""
    total = sum(b.p_max_kw for b in batteries)
    share = error_kw / total if cover_error and total > 0 else 0.0
    return {b.id: setpoints_kw.get(b.id, 0.0) - share * b.p_max_kw for b in batteries}


def control_tick(plant: Plant, actuals: Actuals, k: int, setpoints_kw: dict[str, float],
                 curtailed_kw: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """Run interval ``k`` with battery and flexible-load setpoints and planned PV curtailment; return
    every battery's and flexible load's average power (kW, load-referenced) and each PV plant's
    actual curtailment (kW)."""
    caps = {a: pv_cap_kw(plant.ratings[a].p_max_kw, float(actuals.pv_asset_kw[a][k]), curtailed)
            for a, curtailed in curtailed_kw.items()}
    p = plant.step({**setpoints_kw, **caps})
    curtailment = {a: max(float(actuals.pv_asset_kw[a][k]) - p.pop(a), 0.0) for a in curtailed_kw}
    return p, curtailment
