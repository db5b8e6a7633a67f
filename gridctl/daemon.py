"""The daemon: scheduled planning and control cycles around one :class:`Controller`.

Jobs (APScheduler 3, ``AsyncIOScheduler`` in the site time zone, fired on the daemon clock,
see :mod:`gridctl.clock`):

* ``day_ahead`` at the gate time: the next local day's plan (:func:`gridctl.planning.make_plan`,
  with AC check), stored ``accepted``.
* ``intraday`` every interval, ``intraday_lead_s`` before its start: :func:`gridctl.cycle.decide`
  over the rest of the horizon from measured SoC, without offline devices; stored ``active``.
* ``tick`` at every interval start: that interval's setpoints (override > newest valid plan >
  rule-based fallback) are clamped, written and read back; the ledger of the interval that
  just ended is written.
* ``poll`` every ``telemetry_s``: telemetry of every device that is due.
* ``housekeeping`` hourly: retention.

Every job has ``coalesce`` (a backlog runs once), ``max_instances=1`` (no overlap) and a misfire
grace time; misses, overlaps and errors are logged and stored as events, so clock jumps show up
as missed-and-coalesced runs. Planning runs in one worker thread, so plans never run
concurrently. A failed solve keeps the last valid plan in force; when no valid plan covers an
interval, the fallback rule holds every device at 0 kW (idle batteries, uncapped PV).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import Any

import pandas as pd
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from gridctl import external_forecasts, forecasting
from gridctl.api.metrics import Metrics
from gridctl.clock import ClockTrigger, DaemonClock
from gridctl.config import Config
from gridctl.control import Controller, pv_cap_kw
from gridctl.cycle import decide, interval_start
from gridctl.district import District
from gridctl.live_history import DemoFeed, KnownDistrict
from gridctl.live_measurements import LiveMeasurements
from gridctl.planning import make_plan
from gridctl.store import Store
from gridctl.timegrid import local_day

log = logging.getLogger(__name__)
FORECAST_COLUMNS = ["load_kw", "pv_kw", "ci_kg_per_kwh"]
OVERLAP_REPORT_EVERY = pd.Timedelta(hours=1)  # daemon clock
STOP_WAIT_S = 30.0  # longest wait for jobs in flight at shutdown, real seconds
DATA_CACHES = {"history", "carbon"}  # cached district properties that do not depend on the assets


def without_assets(district: District, ids: set[str]) -> District:
    """The district with the given assets removed (shares the loaded net and data)."""
    if not ids:
        return district
    for name in DATA_CACHES:  # load once, share with the copy
        getattr(district, name)
    out = copy.copy(district)
    assets = district.config.assets
    kept = {name: [a for a in getattr(assets, name) if a.id not in ids]
            for name, value in assets if isinstance(value, list)}
    out.config = district.config.model_copy(update={"assets": assets.model_copy(update=kept)})
    for name, attr in vars(type(district)).items():
        if isinstance(attr, cached_property) and name not in DATA_CACHES:
            out.__dict__.pop(name, None)
    forecasting._FITTED[out] = forecasting.district_forecasters(district)  # forecasts do not depend on assets
    return out


class Daemon:
    """Scheduler, planning and control of one district."""

    def __init__(self, config: Config, district: District, store: Store, controller: Controller,
                 clock: DaemonClock, live: LiveMeasurements | None = None):
        self.config = config
        self.live = live  # meter and measured series (gridctl.live_measurements)
        self.feed: DemoFeed | None = None  # publishes the configured history as it becomes known
        self.known = KnownDistrict(district, store, config.measurements.max_gap_h, self.event)
        self.overlays: dict[str, external_forecasts.ExternalOverlay] = {}  # external forecasts in use
        self.district = district
        self.store = store
        self.controller = controller
        self.clock = clock
        self.res = pd.Timedelta(minutes=config.site.resolution_min)
        self.metrics = Metrics(self.status)
        self._planner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="planner")
        self.scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task] = set()
        self._overlap_reported: dict[str, pd.Timestamp] = {}
        self._districts: dict[frozenset[str], District] = {}  # by excluded assets: built once, models reused
        controller.on_change = self._devices_changed
        self.started_at: pd.Timestamp | None = None

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Plan now if no valid plan covers the current interval, write setpoints, start the jobs."""
        self.started_at = self.clock.now()
        self.event("info", "daemon_started", f"daemon started (time scale {self.clock.scale:g}, "
                   f"data year {self.clock.data_year or 'wall clock'})")
        await self.poll()
        if self.store.plan_row(self.current_interval()) is None:
            log.info("no valid plan covers now: planning immediately")
            await self.intraday()
        await self.tick()
        self.scheduler = self._make_scheduler()
        self.scheduler.start()

    async def stop(self) -> None:
        """Stop the jobs, wait for the write in flight, close the device connections."""
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.pause()
            if self._running:  # let jobs in flight (a write, a plan) finish
                await asyncio.wait(self._running, timeout=STOP_WAIT_S)
            self.scheduler.shutdown(wait=False)
        await self.controller.close()
        self._planner.shutdown(wait=True, cancel_futures=True)
        self.event("info", "daemon_stopped", "daemon stopped")

    def _make_scheduler(self) -> AsyncIOScheduler:
        d, clock, tz = self.config.daemon, self.clock, self.config.site.timezone
        sched = AsyncIOScheduler(timezone=tz, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": max(clock.real_seconds(d.misfire_grace_s), 1)})
        now = clock.now()
        next_start = interval_start(now, self.config.site.resolution_min) + self.res
        lead = pd.Timedelta(seconds=min(d.intraday_lead_s, self.res.total_seconds() / 2))
        intraday_first = next_start - lead if next_start - lead > now else next_start + self.res - lead
        gate = self.config.site.gate_time
        jobs = {
            "tick": (self.tick, IntervalTrigger(minutes=self.config.site.resolution_min, start_date=next_start)),
            "intraday": (self.intraday, IntervalTrigger(minutes=self.config.site.resolution_min,
                                                        start_date=intraday_first)),
            "poll": (self.poll, IntervalTrigger(seconds=d.telemetry_s, start_date=now + pd.Timedelta(seconds=d.telemetry_s))),
            "day_ahead": (self.day_ahead, CronTrigger(hour=gate.hour, minute=gate.minute, second=gate.second, timezone=tz)),
            "housekeeping": (self.housekeeping, IntervalTrigger(hours=1, start_date=now + pd.Timedelta(minutes=5))),
        }
        for job_id, (func, trigger) in jobs.items():
            sched.add_job(self._timed(job_id, func), ClockTrigger(trigger, clock), id=job_id, name=job_id)
        sched.add_listener(self._job_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_ERROR)
        return sched

    def _timed(self, job_id: str, func):
        async def run() -> None:
            task = asyncio.current_task()
            self._running.add(task)
            t0 = time.perf_counter()
            try:
                await func()
            finally:
                self._running.discard(task)
            self.metrics.cycle_seconds.labels(job_id).observe(time.perf_counter() - t0)
        run.__name__ = job_id
        return run

    def _job_event(self, ev: JobExecutionEvent) -> None:
        if ev.code == EVENT_JOB_MISSED:
            self.event("warning", "job_missed", f"{ev.job_id} scheduled for {ev.scheduled_run_time} was missed "
                       "(late beyond the grace time: clock jump or overload); runs at its next time")
        elif ev.code == EVENT_JOB_MAX_INSTANCES:
            msg = f"{ev.job_id}: previous run still going, this run skipped"
            last = self._overlap_reported.get(ev.job_id)
            now = self.clock.now()
            if last is None or now - last > OVERLAP_REPORT_EVERY:  # store one per hour, log all
                self._overlap_reported[ev.job_id] = now
                self.event("warning", "job_overlap", msg)
            else:
                log.warning("job_overlap: %s", msg)
        else:
            self.event("alarm", "job_error", f"{ev.job_id} failed: {ev.exception!r}")

    def event(self, severity: str, kind: str, message: str, asset_id: str | None = None) -> None:
        """Log and store an event; a store failure is logged, never raised."""
        log.log(logging.INFO if severity == "info" else logging.WARNING, "%s: %s", kind, message)
        try:
            self.store.add_event(self.clock.now().to_pydatetime(), severity, kind, message, asset_id)
        except Exception:  # the database being down must not stop control
            log.exception("could not store event %s", kind)

    # -- jobs ---------------------------------------------------------------------------------
    def current_interval(self) -> pd.Timestamp:
        return interval_start(self.clock.now(), self.config.site.resolution_min)

    async def poll(self) -> None:
        """Read telemetry of every due device and store it."""
        tel = await self.controller.poll()
        if tel:
            values = {k: {"p_kw": t.p_kw, **({"soc_kwh": t.soc_kwh} if t.soc_kwh is not None else {})}
                      for k, t in tel.items()}
            self._guard("store telemetry", self.store.add_measurements, self.clock.now().to_pydatetime(), values)
        if self.live is not None:
            now = self.clock.now()
            await self.live.poll_meter(self.clock.data_time(now), now.to_pydatetime())

    async def intraday(self) -> None:
        """Re-optimise the rest of the horizon from measured states (SoC, EV session energy, heat-store
        temperature, where reported), without offline devices."""
        now = self.clock.now()
        excluded = frozenset(self.controller.offline)
        log.info("intraday cycle at %s (data %s)", now.isoformat(), self.clock.data_time(now).isoformat())
        soc, reports, temps = ({k: v for k, v in self.controller.latest(name).items() if k not in excluded}
                               for name in ("soc_kwh", "ev", "temp_c"))
        loop = asyncio.get_running_loop()
        t0 = time.perf_counter()

        def cycle():  # in the planner thread: rebuilding the data known now takes seconds
            planning = self.planning_district()  # clears the districts without assets when rebuilt
            if excluded not in self._districts:
                self._districts[excluded] = without_assets(planning, set(excluded))
            return decide(self._districts[excluded], self.clock.data_time(now), soc, ev_reports=reports,
                          heat_pump_temp_c=temps)

        try:
            decision = await loop.run_in_executor(self._planner, cycle)
        except Exception as exc:  # noqa: BLE001 - solver failure or time-out: keep the last valid plan
            self.event("alarm", "solver_failed", f"intraday planning failed ({type(exc).__name__}: {exc}); "
                       "the last valid plan (or the 0 kW fallback) stays in force")
            self._guard("store failed plan", self.store.add_failed_plan, "intraday", now.to_pydatetime(),
                        now.to_pydatetime(), str(exc))
            return
        self.metrics.solve_seconds.labels("intraday").observe(time.perf_counter() - t0)
        self._store_plan("intraday", now, decision.plan, excluded)

    async def day_ahead(self) -> None:
        """Plan the next local day (data clock) with AC check; stored as ``accepted``."""
        now = self.clock.now()
        day = self.clock.data_time(now).tz_convert(self.district.tz).date() + pd.Timedelta(days=1)
        t0 = time.perf_counter()
        try:
            plan = await asyncio.get_running_loop().run_in_executor(
                self._planner, lambda: make_plan(self.planning_district(refresh=True), day))
        except Exception as exc:  # noqa: BLE001
            self.event("alarm", "solver_failed", f"day-ahead plan for {day} failed ({type(exc).__name__}: {exc})")
            self._guard("store failed plan", self.store.add_failed_plan, "day_ahead", now.to_pydatetime(),
                        now.to_pydatetime(), str(exc))
            return
        self.metrics.solve_seconds.labels("day_ahead").observe(time.perf_counter() - t0)
        self._store_plan("day_ahead", now, plan, set())

    def _store_plan(self, kind: str, now: pd.Timestamp, plan, excluded: set[str]) -> None:
        table = plan.table.copy()
        table.index = pd.DatetimeIndex(self.clock.wall_time(table.index), name="interval_start")
        summary = {**plan.summary, "data_issue_time": plan.summary.get("issue_time"), **self.known.record(),
                   "forecast_sources": {q: o.used for q, o in self.overlays.items()}}
        version = self._guard("store plan", self.store.add_plan, kind, now.to_pydatetime(), table, summary,
                              excluded, now.to_pydatetime())
        self._guard("store forecast", self.store.add_forecast, now.to_pydatetime(),
                    table[[c for c in FORECAST_COLUMNS if c in table]])
        log.info("%s plan v%s: %d intervals from %s, emissions %.1f kg%s", kind, version, len(table),
                 table.index[0].isoformat(), plan.summary.get("emissions_kg", float("nan")),
                 f", without {sorted(excluded)}" if excluded else "")

    async def tick(self) -> None:
        """Write the current interval's setpoints; book the interval that just ended."""
        start = self.current_interval()
        targets = self.targets(start)
        await self.controller.apply(start, targets)
        self._guard("ledger", self.book_interval, start - self.res)
        if self.feed is not None:
            self._guard("demo feed", self.feed.publish, self.clock.data_time(start - self.res),
                        self.clock.now().to_pydatetime())
        if self.live is not None:
            self._guard("measured series", self.live.book, self.clock.data_time(start - self.res), start - self.res,
                        start, self.clock.now().to_pydatetime())

    def targets(self, start: pd.Timestamp) -> dict[str, tuple[float | None, str]]:
        """(setpoint, source) per device for the interval at ``start``: override, plan or fallback.

        Storage follows the plan's ``<id>.p_kw``; a PV plant's output cap is its rating unless the
        plan curtails it, then its measured output minus the planned curtailment. Without a plan
        value a device gets its safe setpoint (0 kW for storage, no cap for PV)."""
        row = self._guard("read plan", self.store.plan_row, start.to_pydatetime())
        plan = row[1] if row else {}
        out: dict[str, tuple[float | None, str]] = {}
        for asset_id, rating in self.controller.ratings.items():
            p, curtailed = plan.get(f"{asset_id}.p_kw"), plan.get(f"{asset_id}.curtailed_kw")
            if p is not None:
                out[asset_id] = (float(p), "plan")
            elif curtailed is not None:
                out[asset_id] = (self._pv_cap(asset_id, rating.p_max_kw, curtailed), "plan")
            else:
                out[asset_id] = (rating.safe_kw, "fallback")
        fallback = sorted(k for k, (v, src) in out.items()
                          if src == "fallback" and v is not None and k not in self.controller.offline)
        if fallback:
            self.event("warning", "fallback", f"no valid plan value for {fallback} at {start.isoformat()}: "
                       "safe setpoints (0 kW storage, uncapped PV) until the next plan")
        overrides = self._guard("read overrides", self.store.active_overrides, self.clock.now().to_pydatetime()) or {}
        for asset_id, ov in overrides.items():
            if asset_id in out:
                out[asset_id] = (ov["p_kw"], "override")
        return out

    def _pv_cap(self, asset_id: str, rated_kw: float, curtailed_kw: float) -> float:
        tel = self.controller.state[asset_id].telemetry
        return pv_cap_kw(rated_kw, tel.p_kw if tel else rated_kw, curtailed_kw)

    def planning_district(self, refresh: bool = False) -> District:
        """The district with the data known at the data clock's now (:class:`KnownDistrict`)."""
        data_now = self.clock.data_time(self.clock.now())
        known, rebuilt = self.known.at(data_now, refresh)
        if rebuilt:
            self._districts.clear()
            self.overlays = external_forecasts.overlay(known, self.config)
        self._guard("read external forecasts", external_forecasts.refresh, self.overlays, self.store, self.config,
                    data_now)
        return known

    def book_interval(self, start: pd.Timestamp) -> None:
        """Emissions ledger of the interval at ``start`` from measured device power and measured
        carbon intensity; the ``grid`` row corrects the planned import by measured deviations."""
        end = start + self.res
        row = self.store.plan_row(start.to_pydatetime())
        data_start = self.clock.data_time(start)
        carbon = self.district.measured_carbon
        measured = carbon[carbon.index <= data_start]
        if row is None or measured.empty:
            return
        plan = row[1]
        ci = float(measured.ci_kg_per_kwh.iloc[-1])
        dt_h = self.res.total_seconds() / 3600
        ledger: dict[str, tuple[float, float]] = {}
        deviation = 0.0
        for asset_id in self.controller.devices:
            if f"{asset_id}.p_kw" not in plan:  # PV output is in the measured PV below
                continue
            p = self.store.mean_measurement(asset_id, "p_kw", start.to_pydatetime(), end.to_pydatetime())
            if p is None:
                continue
            ledger[asset_id] = (p * dt_h, ci)
            deviation += p - (plan.get(f"{asset_id}.p_kw") or 0.0)
        hist = self.district.history
        if data_start in hist.index and plan.get("load_kw") is not None:
            actual = hist.loc[data_start]
            deviation += float(actual[self.district.load_series].sum()) - plan["load_kw"]
            deviation -= float(actual[self.district.pv_series].sum()) - plan["pv_kw"]
        grid_kw = max((plan.get("grid_import_kw") or 0.0) + deviation, 0.0)
        ledger["grid"] = (grid_kw * dt_h, ci)
        self.store.put_emissions(start.to_pydatetime(), ledger)

    async def housekeeping(self) -> None:
        """Retention: delete rows older than ``[store] retention_days``."""
        cutoff = self.clock.now() - pd.Timedelta(days=self.config.store.retention_days)
        n = self._guard("retention", self.store.purge, cutoff.to_pydatetime())
        if n:
            log.info("retention: deleted %d rows older than %s", n, cutoff.isoformat())

    def request_replan(self, reason: str) -> None:
        """Run the intraday job now (API trigger, device changes)."""
        log.info("re-plan requested: %s", reason)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.add_job(self._timed("replan", self.intraday), id="replan", name="replan",
                                   replace_existing=True)

    def _devices_changed(self, offline: set[str]) -> None:
        self.request_replan(f"devices offline now: {sorted(offline) or 'none'}")

    def _guard(self, what: str, func, *args) -> Any:
        """Run a store call; on failure log and raise an event instead of stopping the job."""
        try:
            return func(*args)
        except Exception as exc:  # the database being down must not stop control
            log.exception("%s failed", what)
            self.event("alarm", "store_error", f"{what} failed: {type(exc).__name__}: {exc}")
            return None

    # -- state ---------------------------------------------------------------------------------
    def status(self) -> dict:
        """Liveness and readiness of scheduler, database and devices (for /health and /metrics)."""
        now = self.clock.now()
        day = now.tz_convert(self.district.tz).date()
        idx = local_day(day, self.district.tz, self.config.site.resolution_min)
        db_ok = self.store.ping()
        jobs = {}
        if self.scheduler is not None:
            for job in self.scheduler.get_jobs():
                nxt = job.next_run_time
                jobs[job.id] = None if nxt is None else self.clock.to_clock(nxt).isoformat()
        return {
            "now": now.isoformat(),
            "started_at": None if self.started_at is None else self.started_at.isoformat(),
            "data_time": self.clock.data_time(now).isoformat(),
            "time_scale": self.clock.scale,
            "scheduler": {"running": bool(self.scheduler and self.scheduler.running), "next_run": jobs},
            "database": {"ok": db_ok},
            "devices": {k: st.as_dict() for k, st in self.controller.state.items()},
            "emissions_today_kg": self.store.emissions_total(idx[0].to_pydatetime(), (idx[-1] + self.res).to_pydatetime())
            if db_ok else 0.0,
        }
