"""The simulated clock: gridctl's own decision cycle driving in-process devices over history.

Per replayed interval starting at ``s`` (all decisions are made at ``now = s``, so forecasts
only see intervals that ended by then):

1. at the gate time of a replayed day, the day-ahead plan for that day is made;
2. every ``[replay] reoptimise_every_min`` minutes after local midnight, :func:`gridctl.cycle.decide`
   re-optimises the remaining horizon from the measured states: battery SoC, energy delivered to
   each EV session in progress and heat-store temperatures (0: the day-ahead plan stays in force);
3. the control tick applies the plan in force's setpoints to the device physics with actual load
   and PV from history (:mod:`gridctl.replay.tick`); flexible loads run at their setpoints.
   SoC carries over between days, and so do heat-store temperatures (:mod:`gridctl.replay.devices`).

A failed re-optimisation keeps the previous plan in force; where no plan covers an interval
(the day-ahead plan failed too), batteries idle, PV runs uncurtailed and flexible loads run as
recorded, uncontrolled.
"""

from __future__ import annotations

import logging
import time as timer
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from tqdm import tqdm

from gridctl.config import ConfigError
from gridctl.cycle import Decision, decide, setpoints_at
from gridctl.dispatch.highs import SolverError
from gridctl.district import District
from gridctl.planning import Plan, plan_horizon
from gridctl.replay.actuals import Actuals
from gridctl.replay.devices import ev_delivered_kwh, fleet, heat_stores
from gridctl.replay.operation import Recorder
from gridctl.replay.tick import control_tick, flexible_powers
from gridctl.timegrid import gate_time, local_day

log = logging.getLogger(__name__)


@dataclass
class Timings:
    """Seconds spent per phase; ``forecast_s`` is decision time outside model build and solve."""

    forecast_s: float = 0.0
    optimise_s: float = 0.0
    ac_check_s: float = 0.0
    bookkeeping_s: float = 0.0
    decisions: int = 0

    def add_plan(self, plan: Plan, elapsed_s: float) -> None:
        optimise = plan.summary["build_s"] + plan.summary["solve_s"]
        self.optimise_s += optimise
        self.forecast_s += max(elapsed_s - optimise, 0.0)
        self.decisions += 1


@dataclass
class ControllerRun:
    """gridctl's replayed operation, the plan row in force at each interval and every decision made."""

    operation: pd.DataFrame
    planned: pd.DataFrame
    day_ahead: dict[date, Plan]
    decisions: list[Decision]
    timings: Timings = field(default_factory=Timings)


def check_replay_settings(district: District) -> None:
    """Raise :class:`ConfigError` when cadences are not whole multiples of the resolution."""
    res = district.resolution_min
    problems = [
        f"replay.{key}: {value} is not a multiple of site.resolution_min ({res}); use 0 or a multiple of {res}"
        for key, value in (("reoptimise_every_min", district.config.replay.reoptimise_every_min),
                           ("ac_check_every_min", district.config.replay.ac_check_every_min))
        if value % res
    ]
    if problems:
        raise ConfigError(problems)


def minutes_into_day(index: pd.DatetimeIndex, timezone: str) -> pd.Index:
    """Elapsed minutes since local midnight of each interval start (real time, so DST days count right)."""
    local = index.tz_convert(timezone)
    midnight = local.normalize()
    return ((local - midnight).total_seconds() // 60).astype(int)


def day_ahead_plan(district: District, day: date, soc_kwh: dict[str, float]) -> Plan:
    """The day-ahead plan for ``day`` from data known at its gate time (as ``gridctl plan`` makes it)."""
    horizon = local_day(day, district.tz, district.resolution_min)
    issue = gate_time(day, district.tz, district.config.site.gate_time)
    return plan_horizon(district, issue, horizon, soc_initial_kwh=soc_kwh, with_ac_check=False)


def replay_controller(
    district: District,
    actuals: Actuals,
    days: list[date],
    soc_kwh: dict[str, float] | None = None,
    progress: bool = False,
) -> ControllerRun:
    """Replay gridctl over ``days`` (consecutive local dates covering ``actuals.index``)."""
    check_replay_settings(district)
    cfg = district.config
    dt_h = district.resolution_min / 60.0
    every = cfg.replay.reoptimise_every_min
    batteries = fleet(cfg.assets.battery, soc_kwh)
    stores = heat_stores(actuals.heat_pumps)
    rec = Recorder(actuals, [b.id for b in batteries], [p.cfg.id for p in district.pv_assets])
    timings = Timings()
    gates = {gate_time(d, district.tz, cfg.site.gate_time): d for d in days[1:]}
    minutes = minutes_into_day(actuals.index, district.tz)
    local_dates = actuals.index.tz_convert(district.tz).date
    day_ahead: dict[date, Plan] = {}
    decisions: list[Decision] = []
    planned_rows = []
    plan: Plan | None = None

    def plan_day_ahead(day: date) -> None:
        t0 = timer.perf_counter()
        soc = {b.id: b.soc_kwh for b in batteries}
        try:
            day_ahead[day] = day_ahead_plan(district, day, soc)
        except SolverError as exc:
            log.warning("day-ahead plan for %s failed (%s)", day, exc)
            return
        timings.add_plan(day_ahead[day], timer.perf_counter() - t0)

    def record(k: int, p: dict[str, float], curtailed: dict[str, float]) -> None:
        for h in stores:
            h.apply(k, p[h.params.id], dt_h)
        rec.record(k, p, {b.id: b.soc_kwh for b in batteries}, curtailed)

    plan_day_ahead(days[0])
    bar = tqdm(total=len(days), unit="day", desc="replay", disable=not progress)
    for k, s in enumerate(actuals.index):
        if s in gates:
            plan_day_ahead(gates[s])
        if minutes[k] == 0:
            plan = day_ahead.get(local_dates[k], plan)
            if k:
                bar.update(1)
        if every and minutes[k] % every == 0:
            t0 = timer.perf_counter()
            soc = {b.id: b.soc_kwh for b in batteries}
            delivered = ev_delivered_kwh(actuals.ev_sessions, rec.p_kw, k, dt_h)
            try:
                decision = decide(district, s, soc, ev_delivered_kwh=delivered,
                                  heat_pump_temp_c={h.params.id: h.temp_c for h in stores})
            except SolverError as exc:
                log.warning("re-optimisation at %s failed (%s); the previous plan stays in force", s, exc)
            else:
                plan = decision.plan
                decisions.append(decision)
                timings.add_plan(plan, timer.perf_counter() - t0)
        t0 = timer.perf_counter()
        if plan is None or s not in plan.table.index:
            planned_rows.append(pd.Series(dtype=float, name=s))
            p = control_tick(batteries, {}, 0.0, dt_h, cover_error=False)
            p.update({a: float(v[k]) for a, v in actuals.flex_kw.items()})
            record(k, p, {a: 0.0 for a in rec.curtailed_kw})
            timings.bookkeeping_s += timer.perf_counter() - t0
            continue
        row = plan.table.loc[s]
        planned_rows.append(row)
        curtailed = {a: min(float(row[f"{a}.curtailed_kw"]), float(actuals.pv_asset_kw[a][k])) for a in rec.curtailed_kw}
        forecast_net = row.load_kw - (row.pv_kw - row.pv_curtailed_kw)
        actual_net = actuals.load_kw[k] - (actuals.pv_kw[k] - sum(curtailed.values()))
        setpoints = setpoints_at(plan, s)
        p = control_tick(batteries, setpoints, actual_net - forecast_net, dt_h, cfg.replay.cover_forecast_error)
        p.update(flexible_powers(actuals, setpoints))
        record(k, p, curtailed)
        timings.bookkeeping_s += timer.perf_counter() - t0
    bar.update(1)
    bar.close()
    t0 = timer.perf_counter()
    planned = pd.DataFrame(planned_rows, index=actuals.index)
    operation = rec.table(dt_h)
    timings.bookkeeping_s += timer.perf_counter() - t0
    return ControllerRun(operation, planned, day_ahead, decisions, timings)
