"""The daemon's APScheduler jobs on its clock, and what their misses, overlaps and errors leave.

Jobs (``AsyncIOScheduler`` in the site time zone, fired on the daemon clock, see
:mod:`gridctl.clock`): ``tick`` at every interval start, ``intraday`` ``intraday_lead_s`` before
it, ``poll`` every ``telemetry_s``, ``day_ahead`` at the gate time, ``housekeeping`` hourly, ``openadr``
every ``[openadr] poll_interval_s`` when enabled, and one job per configured feed. Each has ``coalesce``, ``max_instances=1`` and a misfire grace time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial
from typing import TYPE_CHECKING

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

from gridctl.clock import ClockTrigger
from gridctl.cycle import interval_start

if TYPE_CHECKING:
    from gridctl.daemon import Daemon

log = logging.getLogger(__name__)
OVERLAP_REPORT_EVERY = pd.Timedelta(hours=1)  # daemon clock


def make_scheduler(daemon: Daemon) -> AsyncIOScheduler:
    """The daemon's jobs on its clock, with a listener that records misses, overlaps and errors."""
    cfg, clock = daemon.config, daemon.clock
    d, tz, res = cfg.daemon, cfg.site.timezone, daemon.res
    sched = AsyncIOScheduler(timezone=tz, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": max(clock.real_seconds(d.misfire_grace_s), 1)})
    now = clock.now()
    next_start = interval_start(now, cfg.site.resolution_min) + res
    lead = pd.Timedelta(seconds=min(d.intraday_lead_s, res.total_seconds() / 2))
    intraday_first = next_start - lead if next_start - lead > now else next_start + res - lead
    gate = cfg.site.gate_time
    jobs = {
        "tick": (daemon.tick, IntervalTrigger(minutes=cfg.site.resolution_min, start_date=next_start)),
        "intraday": (daemon.intraday, IntervalTrigger(minutes=cfg.site.resolution_min, start_date=intraday_first)),
        "poll": (daemon.poll, IntervalTrigger(seconds=d.telemetry_s, start_date=now + pd.Timedelta(seconds=d.telemetry_s))),
        "day_ahead": (daemon.day_ahead, CronTrigger(hour=gate.hour, minute=gate.minute, second=gate.second, timezone=tz)),
        "housekeeping": (daemon.housekeeping, IntervalTrigger(hours=1, start_date=now + pd.Timedelta(minutes=5))),
    }
    if daemon.ven is not None:  # [openadr]: the VTN's events, first poll a second after start
        jobs["openadr"] = (partial(daemon.ven.cycle, daemon.event),
                           IntervalTrigger(seconds=cfg.openadr.poll_interval_s, start_date=now + pd.Timedelta(seconds=1)))
    for job_id, func, period_s in daemon.feeds.jobs():  # one per [[feeds.source]], first run a second after start
        jobs[job_id] = (func, IntervalTrigger(seconds=period_s, start_date=now + pd.Timedelta(seconds=1)))
    for job_id, (func, trigger) in jobs.items():
        sched.add_job(timed(daemon, job_id, func), ClockTrigger(trigger, clock), id=job_id, name=job_id)
    overlaps: dict[str, pd.Timestamp] = {}
    sched.add_listener(lambda ev: job_event(daemon, ev, overlaps),
                       EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_ERROR)
    return sched


def timed(daemon: Daemon, job_id: str, func):
    """``func`` as a job: tracked while it runs (stop waits for it) and timed in ``gridctl_cycle_seconds``."""
    async def run() -> None:
        task = asyncio.current_task()
        daemon._running.add(task)
        t0 = time.perf_counter()
        try:
            await func()
        finally:
            daemon._running.discard(task)
        daemon.metrics.cycle_seconds.labels(job_id).observe(time.perf_counter() - t0)
    run.__name__ = job_id
    return run


def job_event(daemon: Daemon, ev: JobExecutionEvent, overlaps: dict[str, pd.Timestamp]) -> None:
    """A missed run, an overlap (stored once an hour per job, always logged) or a job error."""
    if ev.code == EVENT_JOB_MISSED:
        daemon.event("warning", "job_missed", f"{ev.job_id} scheduled for {ev.scheduled_run_time} was missed "
                     "(late beyond the grace time: clock jump or overload); runs at its next time")
    elif ev.code == EVENT_JOB_MAX_INSTANCES:
        msg = f"{ev.job_id}: previous run still going, this run skipped"
        last, now = overlaps.get(ev.job_id), daemon.clock.now()
        if last is None or now - last > OVERLAP_REPORT_EVERY:
            overlaps[ev.job_id] = now
            daemon.event("warning", "job_overlap", msg)
        else:
            log.warning("job_overlap: %s", msg)
    else:
        daemon.event("alarm", "job_error", f"{ev.job_id} failed: {ev.exception!r}")
