"""The real-time control tick: setpoints for one interval, absorbing forecast error, applied to the devices.

Rule: the plan assumed a net demand ``load - (pv - curtailed)`` from forecasts. When it
differs from the measured one by ``error`` kW, the batteries shift their setpoints by
``-error`` (shared in proportion to their power ratings) so the grid import stays at the planned
value; the setpoints are then clamped to power and SoC limits and the device physics stop a
battery at its SoC limit, and what the batteries cannot absorb flows to or from the grid. With
``cover_error=False`` setpoints are applied as planned. A PV plant is capped at its actual
available power minus the planned curtailment (uncapped when the plan curtails nothing).

No new peak (:func:`peak_setpoints`): where the interval's import, estimated from the measured
error of the interval just ended, would pass the plan's no-new-peak cap, the charging batteries
charge less by what it passes (at most all their charging).
"""

from __future__ import annotations

import pandas as pd

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


def estimated_import_kw(row: pd.Series, before: pd.Series, measured_net_kw: float, setpoints_kw: dict[str, float],
                        curtailed_kw: dict[str, float]) -> float:
    """The interval's grid import (kW) with ``setpoints_kw`` and ``curtailed_kw``: the load less PV
    of plan row ``row`` plus the error of the plan row in force in the interval just ended
    (``before``) against its measured load less PV (``measured_net_kw``); forecast errors persist
    from one interval to the next."""
    error_kw = measured_net_kw - (before.load_kw - before.pv_kw)
    return row.load_kw - row.pv_kw + error_kw + sum(curtailed_kw.values()) + sum(setpoints_kw.values())


def peak_setpoints(batteries: list[BatteryConfig], setpoints_kw: dict[str, float], import_kw: float,
                   cap_kw: float) -> dict[str, float]:
    """The charging batteries' setpoints (kW), each cut in proportion by what the estimated
    ``import_kw`` lies above ``cap_kw`` (a plan's ``peak_cap_kw``), at most to 0: the rule stops
    charging, it does not force discharging. Empty when nothing is cut."""
    charging = {b.id: setpoints_kw[b.id] for b in batteries if setpoints_kw.get(b.id, 0.0) > 0.0}
    total_kw, excess_kw = sum(charging.values()), import_kw - cap_kw
    if excess_kw <= 0.0 or total_kw <= 0.0:
        return {}
    keep = max(total_kw - excess_kw, 0.0) / total_kw
    return {b: p_kw * keep for b, p_kw in charging.items()}


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
