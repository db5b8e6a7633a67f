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
* ``openadr`` every ``[openadr] poll_interval_s`` when enabled: the grid operator's events
  (:mod:`gridctl.ven`; a new one re-plans at once, plans take them, reports go back).

Every job has ``coalesce`` (a backlog runs once), ``max_instances=1`` (no overlap) and a misfire
grace time; misses, overlaps and errors are logged and stored as events, so clock jumps show up
as missed-and-coalesced runs. Planning runs in one worker thread, so plans never run
concurrently. A failed solve keeps the last valid plan in force; when no valid plan covers an
interval, the fallback rule holds every device at 0 kW (idle batteries, uncapped PV).

Control never waits on the store: records go through the controller's
:class:`~gridctl.store.recorder.Recorder` (journal, writer thread) and what ticks read (plans,
overrides, measured power) is held in a :class:`~gridctl.hot_state.HotState`. On stop, every
device gets its safe state before the process exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import cached_property, partial

import pandas as pd
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from adapters.mqtt import Sample
from gridctl import forecasting
from gridctl.api.metrics import Metrics
from gridctl.clock import DaemonClock
from gridctl.config import Config
from gridctl.control import Controller, WriteResult, pv_cap_kw
from gridctl.cycle import decide, interval_start
from gridctl.daemon_jobs import make_scheduler, timed
from gridctl.dispatch.process_load import ProcessReport
from gridctl.dispatch.rolling import RollingDispatch
from gridctl.district import District
from gridctl.feeds import FeedManager
from gridctl.hot_state import HotState
from gridctl.ledger.interval import interval_ledger
from gridctl.planning import make_plan
from gridctl.process_loads import ProcessTracker
from gridctl.site_data import SiteData
from gridctl.store import Store
from gridctl.timegrid import local_day
from gridctl.ven import Ven

log = logging.getLogger(__name__)
FORECAST_COLUMNS = ["load_kw", "pv_kw", "ci_kg_per_kwh"]
STOP_WAIT_S = 10.0  # longest wait for jobs in flight at shutdown, real seconds
SAFE_STOP_S = 15.0  # longest time for writing every device's safe state at shutdown, real seconds
LOAD_S = 30.0  # longest wait for the store's recent records at start, real seconds
KEEP_S = pd.Timedelta(days=2)  # plans, ledger and measured power held in memory (daemon clock)
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
                 clock: DaemonClock):
        self.config = config
        self.district = district
        self.store = store
        self.records = controller.records
        self.controller = controller
        self.clock = clock
        self.res = pd.Timedelta(minutes=config.site.resolution_min)
        self.metrics = Metrics(self.status)
        self._planner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="planner")
        self._rolling = RollingDispatch()  # intraday re-optimisations update one model (planner thread only)
        self.scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task] = set()
        self._districts: dict[frozenset[str], District] = {}  # by excluded assets: built once, models reused
        controller.on_change = self._devices_changed
        self.ven = Ven.from_config(config, store, self.request_replan, clock.now)  # OpenADR VEN, or None
        self.started_at: pd.Timestamp | None = None
        self.hot = HotState(self.res)
        self.process = ProcessTracker(config)  # process loads' energy and starts in their windows
        self.process_reports: dict[str, ProcessReport] = {}
        self.site = SiteData(config, district, store, clock, self.event)
        # newest rows per feed and newest MQTT sample per series, until the store keeps them
        self.feed_frames: dict[str, pd.DataFrame] = {}
        self.feed_samples: dict[str, Sample] = {}
        self.feeds = FeedManager.from_config(config, on_rows=self._feed_rows, on_event=self.event,
                                             on_sample=self._feed_sample, now=clock.now,
                                             on_forecast=self.site.add_forecast)

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Plan now if no valid plan covers the current interval, write setpoints, start the jobs."""
        self.started_at = self.clock.now()
        self.event("info", "daemon_started", f"daemon started (time scale {self.clock.scale:g}, "
                   f"data year {self.clock.data_year or 'wall clock'})")
        try:
            await asyncio.wait_for(asyncio.to_thread(self.hot.load, self.store, self.started_at), LOAD_S)
        except Exception as exc:  # noqa: BLE001 - start without them: plan now, fallback meanwhile
            log.warning("recent plans and overrides not loaded from the store (%s); planning afresh", exc)
        await self.poll()
        if self.hot.plan_row(self.current_interval()) is None:
            log.info("no valid plan covers now: planning immediately")
            await self.intraday()
        await self.tick()
        await self.feeds.start()
        self.scheduler = make_scheduler(self)
        self.scheduler.start()

    async def stop(self, safe: bool = True) -> None:
        """Stop the jobs, wait for the write in flight (at most ``STOP_WAIT_S``), send every device
        its safe state (at most ``SAFE_STOP_S``), close the device connections."""
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.pause()
            if self._running:  # let jobs in flight (a write, a plan) finish
                await asyncio.wait(self._running, timeout=STOP_WAIT_S)
            self.scheduler.shutdown(wait=False)
        if safe:
            try:
                results = await asyncio.wait_for(self.controller.safe_stop(self.current_interval()), SAFE_STOP_S)
                failed = sorted(k for k, ok in results.items() if not ok)
                self.event("info" if not failed else "alarm", "safe_stop",
                           f"safe state sent to {sorted(k for k, ok in results.items() if ok)}"
                           + (f"; not reached: {failed} (their revert timers apply)" if failed else ""))
            except TimeoutError:
                self.event("alarm", "safe_stop", f"safe state not sent to every device within {SAFE_STOP_S:g} s; "
                           "their revert timers apply")
        await self.feeds.stop()
        await self.controller.close()
        self._planner.shutdown(wait=True, cancel_futures=True)
        with contextlib.suppress(TimeoutError):  # a stalled store: what is left is derived again next start
            await asyncio.wait_for(asyncio.to_thread(self.site.close), STOP_WAIT_S)
        self.event("info", "daemon_stopped", "daemon stopped")

    def _feed_rows(self, feed_id: str, signal: str, frame: pd.DataFrame) -> None:
        """Rows of a feed (called from the fetch thread): kept as the feed's newest frame; carbon
        rows go to the store (in the background)."""
        self.feed_frames[feed_id] = frame
        log.debug("feed %s: %d %s rows", feed_id, len(frame), signal)
        self.site.store_feed_rows(feed_id, signal, frame)

    def _feed_sample(self, sample: Sample) -> None:
        """An MQTT measurement: kept as its series' newest sample and averaged into its interval."""
        self.feed_samples[sample.series_id] = sample
        self.site.add_sample(sample)

    def event(self, severity: str, kind: str, message: str, asset_id: str | None = None) -> None:
        """Log and record an event (journal first, the store when it answers)."""
        log.log(logging.INFO if severity == "info" else logging.WARNING, "%s: %s", kind, message)
        self.records.add_event(self.clock.now().to_pydatetime(), severity, kind, message, asset_id)

    # -- jobs ---------------------------------------------------------------------------------
    def current_interval(self) -> pd.Timestamp:
        return interval_start(self.clock.now(), self.config.site.resolution_min)

    async def poll(self) -> None:
        """Read telemetry of every due device and store it."""
        tel = await self.controller.poll()
        if tel:
            now = self.clock.now()
            values = {k: {"p_kw": t.p_kw, **({"soc_kwh": t.soc_kwh} if t.soc_kwh is not None else {})}
                      for k, t in tel.items()}
            self.hot.add_power(now, {k: t.p_kw for k, t in tel.items()})
            self.process_reports.update({k: self.process.report(k, self.clock.data_time(now), *t.process)
                                         for k, t in tel.items() if t.process is not None})
            self.records.add_measurements(now.to_pydatetime(), values)
        await self.site.poll_meter(self.clock.now())

    async def intraday(self) -> None:
        """Re-optimise the rest of the horizon from measured states (SoC, EV session energy, heat-store
        temperature, where reported), without offline devices."""
        now = self.clock.now()
        excluded = frozenset(self.controller.offline)
        log.info("intraday cycle at %s (data %s)", now.isoformat(), self.clock.data_time(now).isoformat())
        soc, reports, temps = ({k: v for k, v in self.controller.latest(name).items() if k not in excluded}
                               for name in ("soc_kwh", "ev", "temp_c"))
        procs = {k: v for k, v in self.process_reports.items() if k not in excluded}
        cycle = partial(self._decide, excluded, self.clock.data_time(now), soc, reports, temps, procs)
        try:
            decision = await asyncio.get_running_loop().run_in_executor(self._planner, cycle)
        except Exception as exc:  # noqa: BLE001 - solver failure or time-out: keep the last valid plan
            self.event("alarm", "solver_failed", f"intraday planning failed ({type(exc).__name__}: {exc}); "
                       "the last valid plan (or the 0 kW fallback) stays in force")
            self._failed_plan("intraday", now, exc)
            return
        self.metrics.solve_seconds.labels("intraday").observe(decision.plan.summary["solve_s"])
        self._store_plan("intraday", now, decision.plan, excluded)
        if self.ven is not None:
            await self.ven.after_plan(decision.plan.table, self.event)

    async def day_ahead(self) -> None:
        """Plan the next local day (data clock) with AC check; stored as ``accepted``."""
        now = self.clock.now()
        day = self.clock.data_time(now).tz_convert(self.district.tz).date() + pd.Timedelta(days=1)
        try:
            plan = await asyncio.get_running_loop().run_in_executor(self._planner, self._plan_day, day)
        except Exception as exc:  # noqa: BLE001
            self.event("alarm", "solver_failed", f"day-ahead plan for {day} failed ({type(exc).__name__}: {exc})")
            self._failed_plan("day_ahead", now, exc)
            return
        self.metrics.solve_seconds.labels("day_ahead").observe(plan.summary["solve_s"])
        self._store_plan("day_ahead", now, plan, set())

    def _failed_plan(self, kind: str, now: pd.Timestamp, exc: Exception) -> None:
        self.hot.add_failed_plan(kind, now, str(exc))
        self.records.add_failed_plan(kind, now.to_pydatetime(), now.to_pydatetime(), str(exc))

    def _store_plan(self, kind: str, now: pd.Timestamp, plan, excluded: set[str]) -> None:
        table = plan.table.copy()
        table.index = pd.DatetimeIndex(self.clock.wall_time(table.index), name="interval_start")
        summary = {**plan.summary, "data_issue_time": plan.summary.get("issue_time"), **self.site.summary()}
        version = self.hot.add_plan(kind, now, table, summary, excluded)
        self.records.add_plan(kind, now.to_pydatetime(), table, summary, excluded, now.to_pydatetime())
        self.records.add_forecast(now.to_pydatetime(), table[[c for c in FORECAST_COLUMNS if c in table]])
        log.info("%s plan v%s: %d intervals from %s, emissions %.1f kg%s", kind, version, len(table),
                 table.index[0].isoformat(), plan.summary.get("emissions_kg", float("nan")),
                 f", without {sorted(excluded)}" if excluded else "")

    async def tick(self) -> None:
        """Write the current interval's setpoints; book the interval that just ended."""
        start = self.current_interval()
        targets = self.targets(start)
        await self.controller.apply(start, targets)
        self.book_interval(start - self.res)
        self.hot.forget_before(start - KEEP_S)
        self.site.after_tick(start, self.clock.now())

    def targets(self, start: pd.Timestamp) -> dict[str, tuple[float | None, str]]:
        """(setpoint, source) per device for the interval at ``start``: override, plan or fallback.

        Storage follows the plan's ``<id>.p_kw``; a PV plant's output cap is its rating unless the
        plan curtails it, then its measured output minus the planned curtailment. Without a plan
        value a device gets its safe setpoint (0 kW for storage, no cap for PV)."""
        row = self.hot.plan_row(start)
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
        for asset_id, ov in self.hot.active_overrides(self.clock.now()).items():
            if asset_id in out:
                out[asset_id] = (ov["p_kw"], "override")
        return out

    def _pv_cap(self, asset_id: str, rated_kw: float, curtailed_kw: float) -> float:
        tel = self.controller.state[asset_id].telemetry
        return pv_cap_kw(rated_kw, tel.p_kw if tel else rated_kw, curtailed_kw)

    def _decide(self, excluded: frozenset[str], data_now: pd.Timestamp, soc: dict, reports: dict, temps: dict,
                procs: dict):
        """One intraday decision on the data known now, without ``excluded`` (planner thread)."""
        known, rebuilt = self.site.planning_district(weather=self.feeds.weather_source())
        if rebuilt:
            self._districts.clear()
        for d in self._districts.values():  # extended in place: the copies share the fitted forecasters
            d.__dict__.update(history=known.history, carbon=known.carbon)
        if excluded not in self._districts:
            self._districts[excluded] = without_assets(known, set(excluded))
        return decide(self._districts[excluded], data_now, soc, ev_reports=reports, heat_pump_temp_c=temps,
                      rolling=self._rolling, carbon=self._carbon(), running_peak_kw=self.site.running_peaks(data_now),
                      process_reports=procs, grid_events=self.ven and self.ven.events)

    def _plan_day(self, day):
        """The day-ahead plan of ``day`` on the data known now (planner thread)."""
        known, _ = self.site.planning_district(refresh=True, weather=self.feeds.weather_source())
        return make_plan(known, day, self._carbon(), self.site.running_peaks(self.clock.data_time(self.clock.now())),
                         self.ven and self.ven.events)

    def _carbon(self):
        return self.feeds.carbon_source(self.config.forecast.carbon_provider)

    def book_interval(self, start: pd.Timestamp) -> None:
        """Emissions ledger of the interval at ``start`` (:func:`gridctl.ledger.interval.interval_ledger`)."""
        row = self.hot.plan_row(start)
        ledger = None if row is None else interval_ledger(
            self.district, row[1], self.clock.data_time(start), self.res.total_seconds() / 3600,
            self.controller.devices, lambda asset_id: self.hot.mean_power(asset_id, start))
        if ledger:
            self.hot.emissions[start] = ledger["grid"][0] * ledger["grid"][1]
            self.records.put_emissions(start.to_pydatetime(), ledger)

    async def set_override(self, asset_id: str, p_kw: float, until: datetime) -> WriteResult:
        """Hold ``p_kw`` on one device until ``until``: recorded, then written at once (that write
        is returned; the other devices are not touched)."""
        now = self.clock.now()
        self.hot.overrides[asset_id] = {"asset_id": asset_id, "p_kw": p_kw, "created_at": now.isoformat(),
                                        "until": until.isoformat(), "released_at": None}
        self.records.add_override(asset_id, p_kw, until, now.to_pydatetime())
        self.event("info", "override", f"{asset_id}: hold {p_kw} kW until {until.isoformat()}", asset_id)
        return (await self.controller.apply(self.current_interval(), {asset_id: (p_kw, "override")}))[0]

    async def release_override(self, asset_id: str) -> bool:
        """Release a device's override and write its plan value; False when none is in force."""
        now = self.clock.now()
        if asset_id not in self.hot.active_overrides(now):
            return False
        del self.hot.overrides[asset_id]
        self.records.release_override(asset_id, now.to_pydatetime())
        self.event("info", "override_released", f"{asset_id}: override released", asset_id)
        start = self.current_interval()
        await self.controller.apply(start, {asset_id: self.targets(start)[asset_id]})
        return True

    async def housekeeping(self) -> None:
        """Retention: delete rows older than ``[store] retention_days``."""
        cutoff = self.clock.now() - pd.Timedelta(days=self.config.store.retention_days)
        try:
            n = await asyncio.to_thread(self.store.purge, cutoff.to_pydatetime())
        except Exception as exc:  # noqa: BLE001 - retention runs again next hour
            log.warning("retention failed (%s); tried again next hour", exc)
            return
        if n:
            log.info("retention: deleted %d rows older than %s", n, cutoff.isoformat())

    def request_replan(self, reason: str) -> None:
        """Run the intraday job now (API trigger, device changes)."""
        log.info("re-plan requested: %s", reason)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.add_job(timed(self, "replan", self.intraday), id="replan", name="replan",
                                   replace_existing=True)

    def _devices_changed(self, offline: set[str]) -> None:
        self.request_replan(f"devices offline now: {sorted(offline) or 'none'}")

    # -- state ---------------------------------------------------------------------------------
    def status(self) -> dict:
        """Liveness and readiness of scheduler, database and devices (for /health and /metrics)."""
        now = self.clock.now()
        day = now.tz_convert(self.district.tz).date()
        idx = local_day(day, self.district.tz, self.config.site.resolution_min)
        db = self.records.status()
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
            "database": db,
            "devices": {k: st.as_dict() for k, st in self.controller.state.items()},
            "feeds": self.feeds.status(),
            "emissions_today_kg": self.hot.emissions_total(idx[0], idx[-1] + self.res),
        }
