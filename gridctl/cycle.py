"""One decision cycle, shared by the live daemon and replay.

Only the clock and the device I/O differ between the two: the caller passes ``now`` (wall
clock or simulated) and the measured states (battery SoC; EV energy delivered per session in
progress and heat-store temperatures where measured); the cycle forecasts with data known at
``now``, re-optimises the rest of the horizon and returns the setpoints of the current interval.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

from gridctl.demand_charges import PeakKey
from gridctl.dispatch.inputs import ChargerReport
from gridctl.dispatch.process_load import ProcessReport
from gridctl.dispatch.rolling import RollingDispatch
from gridctl.district import District
from gridctl.feed_source import CarbonSource
from gridctl.grid_events import GridEvents
from gridctl.planning import Plan, plan_horizon
from gridctl.timegrid import local_day


@dataclass
class Decision:
    """What one cycle decided at ``now``: the plan of the remaining horizon and this interval's setpoints."""

    now: pd.Timestamp
    interval_start: pd.Timestamp
    plan: Plan
    setpoints_kw: dict[str, float] = field(default_factory=dict)


def interval_start(now: pd.Timestamp, resolution_min: int) -> pd.Timestamp:
    """Start (UTC) of the interval containing ``now``."""
    return pd.Timestamp(now).tz_convert("UTC").floor(f"{resolution_min}min")


def remaining_horizon(district: District, now: pd.Timestamp) -> pd.DatetimeIndex:
    """Intervals from the one containing ``now`` to the end of the local day ``[dispatch] lookahead_h``
    wall-clock hours later.

    With the default 24 h the horizon always runs through tomorrow, so a battery charged in
    tonight's clean hours can be planned to discharge in tomorrow morning's dirty ones.
    """
    start = interval_start(now, district.resolution_min)
    wall = start.tz_convert(district.tz).tz_localize(None)
    today = wall.date()
    last = (wall + pd.Timedelta(hours=district.config.dispatch.lookahead_h)).date()  # wall clock: DST-proof
    idx = _local_days(today, last, district.tz, district.resolution_min)
    return idx[idx >= start]


@functools.lru_cache(maxsize=16)
def _local_days(first: date, last: date, timezone: str, resolution_min: int) -> pd.DatetimeIndex:
    """UTC interval starts of the local days ``first`` to ``last`` (the same for every decision of a
    day: found once; callers take slices of it)."""
    idx = local_day(first, timezone, resolution_min)
    for k in range(1, (last - first).days + 1):
        idx = idx.append(local_day(first + timedelta(days=k), timezone, resolution_min))
    return idx


def decision_horizon(district: District, now: pd.Timestamp, horizon_end: pd.Timestamp | None = None
                     ) -> pd.DatetimeIndex:
    """The horizon a decision at ``now`` plans: :func:`remaining_horizon`, without the intervals
    starting at or after ``horizon_end`` (when it lies after the first)."""
    horizon = remaining_horizon(district, now)
    if horizon_end is not None and horizon_end > horizon[0]:
        horizon = horizon[horizon < horizon_end]
    return horizon


def setpoints_at(plan: Plan, at: pd.Timestamp) -> dict[str, float]:
    """Load-referenced power setpoint (kW) of every controllable asset for the interval starting ``at``."""
    return setpoints_of(plan.table.loc[at])


def setpoints_of(row: pd.Series) -> dict[str, float]:
    """Load-referenced power setpoint (kW) of every controllable asset in plan table row ``row``."""
    return {c.removesuffix(".p_kw"): float(v) for c, v in row.items() if c.endswith(".p_kw")}


def heat_store_setpoints(table: pd.DataFrame, at: pd.Timestamp, temp_c: dict[str, float],
                         capacity_kwh_per_k: dict[str, float], dt_h: float) -> dict[str, float]:
    """Each heat pump's planned power (kW) in plan ``table`` for the interval starting ``at``, plus the
    heat ``capacity * (planned - measured)`` its store is short of the planned temperature at ``at``
    (minus a surplus) over the interval, divided by the planned COP: the store returns to the plan
    but for this interval's heat-demand error. No correction at the plan's first interval (no planned
    temperature before it). The result may leave ``[0, p_max]``; the device's clamp applies."""
    k, column = table.index.get_loc(at), table.columns.get_loc
    out = {}
    for h, measured in temp_c.items():
        p_kw = float(table.iat[k, column(f"{h}.p_kw")])
        if k > 0:
            short_k = float(table.iat[k - 1, column(f"{h}.temp_c")]) - measured
            p_kw += capacity_kwh_per_k[h] * short_k / (float(table.iat[k, column(f"{h}.cop")]) * dt_h)
        out[h] = p_kw
    return out


def terminal_targets(district: District, soc_kwh: dict[str, float], n_intervals: int,
                     target_kwh: dict[str, float] | None = None) -> dict[str, float]:
    """SoC (kWh) each battery must reach by the horizon's end: ``target_kwh`` (default: its
    configured initial SoC), or as much of it as ``n_intervals`` of full-power charging from the
    measured SoC allow.

    A fixed target (rather than the SoC measured at each re-optimisation) lets a battery
    charged earlier in the day discharge later in it.
    """
    dt_h = district.resolution_min / 60.0
    out = {}
    for b in district.batteries:
        c = b.cfg
        soc = soc_kwh.get(c.id, c.soc_initial_kwh)
        target = (target_kwh or {}).get(c.id, c.soc_initial_kwh)
        reachable = soc + c.p_max_kw * c.eta_charge * dt_h * n_intervals
        out[c.id] = min(target, soc + 0.999 * (reachable - soc))
    return out


def decide(district: District, now: pd.Timestamp, soc_kwh: dict[str, float], with_ac_check: bool = False,
           ev_reports: dict[str, ChargerReport] | None = None,
           heat_pump_temp_c: dict[str, float] | None = None, rolling: RollingDispatch | None = None,
           horizon_end: pd.Timestamp | None = None, terminal_kwh: dict[str, float] | None = None,
           carbon: CarbonSource | None = None, running_peak_kw: dict[PeakKey, float] | None = None,
           process_reports: dict[str, ProcessReport] | None = None,
           grid_events: GridEvents | None = None) -> Decision:
    """Re-optimise from ``now`` with measured states and return the current interval's setpoints.

    ``ev_reports``: per charger, what it reports (vehicle connected, energy delivered, request, departure);
    ``heat_pump_temp_c``: per heat pump, its store temperature (omitted assets: planned defaults).
    ``rolling``: the caller's persistent model (:class:`gridctl.dispatch.rolling.RollingDispatch`),
    updated in place and shifted onto the next day at local midnight (a rebuild's optimum, faster).
    ``horizon_end``: plan no interval starting at or after it (replay's warm-down: the last day's
    decisions end at the replay's end); ``terminal_kwh``: per battery, the SoC to end at
    (default: the configured initial SoC);
    ``carbon``: whether provider carbon forecasts may be used (:mod:`gridctl.feed_source`);
    ``running_peak_kw``: the demand charges' peaks of the month so far, measured before ``now``
    (:func:`gridctl.demand_charges.running_peaks`);
    ``process_reports``: per process load, its state (:class:`gridctl.dispatch.process_load.ProcessReport`);
    ``grid_events``: the grid operator's events (:mod:`gridctl.grid_events`).
    """
    horizon = decision_horizon(district, now, horizon_end)
    plan = plan_horizon(district, pd.Timestamp(now), horizon, soc_initial_kwh=soc_kwh, with_ac_check=with_ac_check,
                        soc_terminal_kwh=terminal_targets(district, soc_kwh, len(horizon), terminal_kwh),
                        ev_reports=ev_reports, heat_pump_temp_c=heat_pump_temp_c, rolling=rolling,
                        carbon=carbon, running_peak_kw=running_peak_kw, process_reports=process_reports,
                        grid_events=grid_events)
    start = horizon[0]
    return Decision(pd.Timestamp(now), start, plan, setpoints_at(plan, start))
