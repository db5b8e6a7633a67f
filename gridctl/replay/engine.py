"""The simulated clock: gridctl's own decision cycle driving the simulator's devices over history.

Per replayed interval starting at ``s`` (all decisions are made at ``now = s``, so forecasts
only see intervals that ended by then):

1. at the gate time of a replayed day, the day-ahead plan for that day is made from the states
   measured then (in the forecasts' process when one runs, :mod:`gridctl.replay.day_ahead`); it
   is in force from the day's local midnight until a re-optimisation replaces it;
2. every ``[replay] reoptimise_every_min`` minutes after local midnight, and at the first interval
   start after a recorded grid-operator event (version) was issued, :func:`gridctl.cycle.decide`
   re-optimises the remaining horizon from the measured states: battery SoC, energy delivered to
   each EV session in progress and heat-store temperatures (0: the day-ahead plan stays in force),
   in one persistent model, shifted onto the next day's horizon at local midnight
   (:class:`gridctl.dispatch.rolling.RollingDispatch`).
   Decisions carry the demand charges' running peaks of the replayed operation before them
   (:func:`gridctl.demand_charges.running_peaks`; 0 at the replay's start).
   Warm-down: no decision plans past the replay's last interval, and each ends at the SoC the
   batteries started the replay with (as far as charging can reach it), so the last day's
   decisions do not drain the batteries for a tomorrow the replay does not score;
3. the control tick writes the plan in force's setpoints to the simulator's devices and advances
   their clock one interval (:mod:`gridctl.replay.tick`, :mod:`gridctl.replay.plant`), heat pumps
   corrected towards the plan's store temperature (``[replay] track_heat_stores``); actual load
   and PV come from history. SoC, EV sessions and heat-store temperatures carry over between days
   in the devices.

A failed re-optimisation keeps the previous plan in force; where no plan covers an interval
(the day-ahead plan failed too), batteries idle, PV runs uncurtailed and flexible loads are set
to their recorded, uncontrolled profiles.
"""

from __future__ import annotations

import asyncio
import logging
import time as timer
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import pandas as pd
from tqdm import tqdm

from gridctl.config import ConfigError
from gridctl.cycle import Decision, decide, decision_horizon, heat_store_setpoints, setpoints_of
from gridctl.demand_charges import PeakKey, running_peaks
from gridctl.dispatch.highs import SolverError
from gridctl.dispatch.rolling import RollingDispatch
from gridctl.district import District
from gridctl.grid_events import GridEvents
from gridctl.planning import Plan
from gridctl.replay.actuals import Actuals
from gridctl.replay.day_ahead import DayAheadPlans, PlanMaker, day_ahead_issue
from gridctl.replay.forecast_job import Request, forecasts_apart
from gridctl.replay.operation import Recorder
from gridctl.replay.plant import ModbusTarget, Plant, open_plant
from gridctl.replay.tick import battery_setpoints, control_tick, estimated_import_kw, peak_setpoints
from gridctl.tick_guard import TickGuard, plan_row

log = logging.getLogger(__name__)


@dataclass
class Timings:
    """Seconds spent per phase; ``forecast_s`` is decision time outside model build and solve
    (forecasts, with any model training they trigger, inputs and plan tables); ``baselines_s``
    the baselines' runs (the perfect-foresight optimisations included)."""

    forecast_s: float = 0.0
    optimise_s: float = 0.0
    baselines_s: float = 0.0
    ac_check_s: float = 0.0
    bookkeeping_s: float = 0.0
    decisions: int = 0
    models_built: int = 0  # the persistent model's builds, shifts and other in-place updates
    models_shifted: int = 0
    models_updated: int = 0

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
    write_errors: int = 0  # setpoints the devices refused
    forecasts_apart: int = 0  # forecast issues made in a process of their own (:mod:`gridctl.replay.forecast_job`)
    plans_apart: int = 0  # day-ahead plans made there (:mod:`gridctl.replay.day_ahead`)
    devices: str = "in-process"  # how the simulator's devices were reached: in-process or Modbus TCP
    interrupted: bool = False  # Ctrl-C: ``operation`` holds the whole days replayed before it


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


def replay_controller(
    district: District,
    actuals: Actuals,
    days: list[date],
    soc_kwh: dict[str, float] | None = None,
    progress: bool = False,
    modbus: ModbusTarget | None = None,
    grid_events: GridEvents | None = None,
    plan_end: pd.Timestamp | None = None,
    on_day: Callable[[date], None] | None = None,
) -> ControllerRun:
    """Replay gridctl over ``days`` (consecutive local dates covering ``actuals.index``) on the
    simulator's devices: in-process, or over Modbus TCP at ``modbus``; ``grid_events``: recorded
    grid-operator events, each used from the time it was issued. ``plan_end``: where the
    warm-down ends decisions (default: the end of ``actuals``; a later one for a chunk of a
    longer replay, :mod:`gridctl.replay.chunks`); ``on_day(day)`` is called after each whole day replayed."""
    check_replay_settings(district)
    end = plan_end or actuals.index[-1] + pd.Timedelta(minutes=district.resolution_min)
    decides = decision_intervals(district, actuals.index, grid_events)
    requests = issue_requests(district, days, actuals.index[decides], end)
    with open_plant(district, actuals.index[0], soc_kwh, modbus) as plant, \
            forecasts_apart(district, requests, len(days), grid_events) as job:
        run = _run(district, actuals, days, plant, progress, end, decides, grid_events, on_day, job)
    run.forecasts_apart, run.plans_apart = (job.taken, job.plans_taken) if job is not None else (0, 0)
    if modbus is not None:
        run.devices = "modbus-tcp"
    return run


def decision_intervals(district: District, index: pd.DatetimeIndex, grid_events: GridEvents | None) -> np.ndarray:
    """Per interval of ``index``, whether a re-optimisation starts it: every ``[replay]
    reoptimise_every_min`` minutes after local midnight, and at the first interval start after a
    recorded grid-operator event was issued (as the daemon does)."""
    every = district.config.replay.reoptimise_every_min
    minutes = np.asarray(minutes_into_day(index, district.tz))
    due = (minutes % every == 0) if every else np.zeros(len(index), dtype=bool)
    if grid_events is not None:
        res = pd.Timedelta(minutes=district.resolution_min)
        due |= np.array([grid_events.issued_within(s - res, s) for s in index], dtype=bool)
    return due


def issue_requests(district: District, days: list[date], decision_times: pd.DatetimeIndex,
                   end: pd.Timestamp) -> list[Request]:
    """(issue time, last lead planned) of every forecast issue a replay of ``days`` makes, in order:
    the day-ahead plans' at their gate times and the re-optimisations' at ``decision_times``
    (horizons ending before ``end``); one per issue time, to the latest lead any decision at it plans."""
    last: dict[pd.Timestamp, pd.Timestamp] = {}
    issues = [day_ahead_issue(district, d) for d in days]
    issues += [(s, decision_horizon(district, s, end)) for s in decision_times]
    for t, horizon in issues:
        last[t] = max(last.get(t, horizon[-1]), horizon[-1])
    return sorted(last.items())


def _run(district: District, actuals: Actuals, days: list[date], plant: Plant, progress: bool,
         end: pd.Timestamp, decides: np.ndarray, grid_events: GridEvents | None = None,
         on_day: Callable[[date], None] | None = None, maker: PlanMaker | None = None) -> ControllerRun:
    cfg = district.config
    rec = Recorder(actuals, plant.battery_ids, [p.cfg.id for p in district.pv_assets])
    timings = Timings()
    gates = {day_ahead_issue(district, d)[0]: d for d in days[1:]}
    minutes = minutes_into_day(actuals.index, district.tz)
    local_dates = actuals.index.tz_convert(district.tz).date
    day_ahead = DayAheadPlans(district, grid_events, timings, maker)
    decisions: list[Decision] = []
    planned_rows = []
    plan: Plan | None = None
    rolling = RollingDispatch()  # the decisions' persistent model
    guard = TickGuard()
    # warm-down: decisions plan no further than ``end`` and end there at the starting SoC
    soc_start = dict(plant.soc_kwh)
    dt_h = district.resolution_min / 60.0
    store_kwh_per_k = {h.id: h.capacity_kwh_per_k for h in cfg.assets.heat_pump}

    def peaks_before(k: int) -> dict[PeakKey, float]:  # demand charges: the replayed month's peaks so far
        charges = cfg.dispatch.demand_charges
        return running_peaks(rec.table(district.resolution_min / 60.0).grid_import_kw.iloc[:k], charges, district.tz,
                             actuals.index[k], district.resolution_min) if charges else {}

    def run_interval(k: int, setpoints: dict[str, float], curtailed: dict[str, float]) -> None:
        p, curtailment = control_tick(plant, actuals, k, setpoints, curtailed)
        rec.record(k, p, plant.soc_kwh, curtailment, plant.temp_c)

    def step(k: int, s: pd.Timestamp) -> None:
        nonlocal plan
        if s in gates:
            day_ahead.request(gates[s], plant.soc_kwh, peaks_before(k))
        midnight = minutes[k] == 0
        if midnight and not decides[k]:
            plan = day_ahead.get(local_dates[k]) or plan
        if decides[k]:
            t0 = timer.perf_counter()
            try:
                decision = decide(district, s, plant.soc_kwh, ev_reports=plant.ev_reports,
                                  heat_pump_temp_c=plant.temp_c, rolling=rolling,
                                  horizon_end=end, terminal_kwh=soc_start, running_peak_kw=peaks_before(k),
                                  process_reports=plant.process_reports(s), grid_events=grid_events)
            except SolverError as exc:
                log.warning("re-optimisation at %s failed (%s); the previous plan stays in force", s, exc)
                if midnight:  # the day's day-ahead plan, as it would have been in force from midnight
                    plan = day_ahead.get(local_dates[k]) or plan
            else:  # kept without its solved model: a year of them would not fit in memory
                plan = replace(decision.plan, model=None)
                decisions.append(replace(decision, plan=plan))
                timings.add_plan(plan, timer.perf_counter() - t0)
        t0 = timer.perf_counter()
        if plan is None or s not in plan.table.index:
            planned_rows.append(pd.Series(dtype=float, name=s))
            uncontrolled = {a: float(v[k]) for a, v in actuals.flex_kw.items()}
            run_interval(k, uncontrolled, {a: 0.0 for a in rec.curtailed_kw})
            timings.bookkeeping_s += timer.perf_counter() - t0
            return
        row = plan.table.loc[s]
        planned_rows.append(row)
        curtailed = {a: min(float(row[f"{a}.curtailed_kw"]), float(actuals.pv_asset_kw[a][k])) for a in rec.curtailed_kw}
        forecast_net = row.load_kw - (row.pv_kw - row.pv_curtailed_kw)
        actual_net = actuals.load_kw[k] - (actuals.pv_kw[k] - sum(curtailed.values()))
        setpoints = setpoints_of(row)
        if cfg.replay.track_heat_stores:
            setpoints.update(heat_store_setpoints(plan.table, s, plant.temp_c, store_kwh_per_k, dt_h))
        setpoints.update(battery_setpoints(cfg.assets.battery, setpoints, actual_net - forecast_net,
                                           cfg.replay.cover_forecast_error))
        if cfg.replay.tick_guard and cfg.network.constrain_dispatch:
            written = plan_row(row, setpoints)
            measured = actuals.groups.iloc[k - 1] if k else None
            setpoints.update(guard.setpoints(district, s, pd.Timestamp(plan.summary["issue_time"]), written, measured,
                                             plant.soc_kwh))
        before = planned_rows[k - 1] if k else None
        if cfg.replay.tick_guard and plan.summary.get("peak_cap_kw") is not None and before is not None and len(before):
            estimate = estimated_import_kw(row, before, actuals.load_kw[k - 1] - actuals.pv_kw[k - 1], setpoints, curtailed)
            setpoints.update(peak_setpoints(cfg.assets.battery, setpoints, estimate, plan.summary["peak_cap_kw"]))
        run_interval(k, setpoints, curtailed)
        timings.bookkeeping_s += timer.perf_counter() - t0

    day_ahead.request(days[0], plant.soc_kwh, peaks_before(0))
    done = _replay_intervals(actuals.index, minutes, local_dates, step, progress, on_day)
    timings.models_built, timings.models_shifted = rolling.builds, rolling.shifts
    timings.models_updated = rolling.updates - rolling.shifts
    t0 = timer.perf_counter()
    planned = pd.DataFrame(planned_rows[:done], index=actuals.index[:done])
    operation = rec.table(district.resolution_min / 60.0).iloc[:done]
    timings.bookkeeping_s += timer.perf_counter() - t0
    return ControllerRun(operation, planned, day_ahead.collect(), decisions, timings, plant.write_errors,
                         interrupted=done < len(actuals.index))


def _replay_intervals(index: pd.DatetimeIndex, minutes: pd.Index, local_dates, step, progress: bool,
                      on_day: Callable[[date], None] | None = None) -> int:
    """Call ``step(k, s)`` per interval (and ``on_day(day)`` after each whole day); return how many
    were replayed: all, or on Ctrl-C those of the whole days finished before it (Ctrl-C in the first
    day propagates). Progress: a bar on a terminal, else (a log file, a pipe) one log line per day."""
    days = len(set(local_dates))
    bar = tqdm(total=len(index), unit="interval", desc="replay", disable=None if progress else True)
    done = 0  # intervals of the whole days replayed
    finished = 0  # days replayed

    def day_done(k: int) -> None:  # the day of interval k - 1 is replayed
        nonlocal finished
        finished += 1
        if on_day is not None:
            on_day(local_dates[k - 1])
        if progress and bar.disable:
            log.info("replayed %s (%d of %d days)", local_dates[k - 1], finished, days)

    try:
        for k, s in enumerate(index):
            if minutes[k] == 0 and k:
                done = k
                day_done(k)
                bar.set_postfix_str(str(local_dates[k]))
            step(k, s)
            bar.update(1)
        if len(index):
            day_done(len(index))
        return len(index)
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C inside the plant's event loop cancels its step
        if not done:
            raise KeyboardInterrupt from None
        return done
    finally:
        bar.close()
