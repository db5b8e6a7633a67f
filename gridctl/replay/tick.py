"""The real-time control tick: apply setpoints to the batteries, absorbing forecast error.

Rule: the plan assumed a net demand ``load - (pv - curtailed)`` from forecasts. When it
differs from the measured one by ``error`` kW, the batteries shift their setpoints by
``-error`` (shared in proportion to their power ratings) so the grid import stays at the planned
value; the device physics then clip each setpoint to its power and SoC limits, and what they
cannot absorb flows to or from the grid. With ``cover_error=False`` setpoints are applied as planned.
"""

from __future__ import annotations

from gridctl.replay.actuals import Actuals
from gridctl.replay.devices import BatteryPhysics


def control_tick(
    batteries: list[BatteryPhysics],
    setpoints_kw: dict[str, float],
    error_kw: float,
    dt_h: float,
    cover_error: bool = True,
) -> dict[str, float]:
    """Run one interval; return each battery's delivered power (kW, load-referenced)."""
    total = sum(b.p_max_kw for b in batteries)
    out = {}
    for b in batteries:
        p = setpoints_kw.get(b.id, 0.0)
        if cover_error and total > 0:
            p -= error_kw * b.p_max_kw / total
        out[b.id] = b.apply(p, dt_h)
    return out


def flexible_powers(actuals: Actuals, setpoints_kw: dict[str, float]) -> dict[str, float]:
    """Flexible loads run at their setpoints, clipped to ``[0, p_max]``."""
    return {a: min(max(setpoints_kw.get(a, 0.0), 0.0), p_max) for a, p_max in actuals.flex_p_max_kw.items()}
