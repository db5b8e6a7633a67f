"""The daemon's scheduled jobs fired through its APScheduler scheduler, awaited on the scheduler's own
events (no wall-clock waits): day-ahead at the gate, missed runs coalesced, overlaps, housekeeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from apscheduler.events import (
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
)
from daemon_rig import JobEvents, stepped_daemon

from gridctl.daemon_jobs import make_scheduler


def _scheduler(run):
    """The daemon's scheduler, started with every job paused."""
    sched = run.daemon.scheduler = make_scheduler(run.daemon)
    sched.start()
    for job in sched.get_jobs():
        job.pause()
    return sched


def _fire(sched, job_id: str, at: datetime | None = None) -> None:
    sched.get_job(job_id).modify(next_run_time=at or datetime.now(UTC))


async def test_day_ahead_fires_at_the_gate_and_stores_tomorrows_plan(demo_district, tmp_path):
    async with stepped_daemon(demo_district, tmp_path, plan=False) as run:
        sched = _scheduler(run)
        # started at 12:35 local (after the 12:00 gate): next run at tomorrow's gate, 11:00 UTC
        job = sched.get_job("day_ahead")
        nxt = run.clock.to_clock(job.trigger.get_next_fire_time(None, datetime.now(UTC)))
        assert abs(nxt - pd.Timestamp("2026-11-26T11:00:00Z")) < pd.Timedelta(milliseconds=10)
        events = JobEvents(sched, "day_ahead", EVENT_JOB_EXECUTED)
        _fire(sched, "day_ahead")
        assert (await events.next(EVENT_JOB_EXECUTED)).exception is None
        plan = run.flushed().latest_plan("day_ahead")
        assert (plan["kind"], plan["status"], plan["excluded"]) == ("day_ahead", "accepted", [])
        start = pd.Timestamp("2026-11-26", tz=demo_district.tz)  # tomorrow, local, on the daemon clock
        view = run.flushed().plan_view(start.to_pydatetime(), (start + pd.Timedelta(days=1)).to_pydatetime())
        assert len(view) == 96 and view.index[0] == start
        for b in demo_district.config.assets.battery:
            soc = view[f"{b.id}.soc_kwh"]
            assert soc.between(b.soc_min_kwh - 1e-6, b.soc_max_kwh + 1e-6).all()
        assert run.daemon.metrics.solve_seconds.labels("day_ahead")._sum.get() > 0


async def test_missed_runs_are_coalesced_into_one_missed_event(demo_district, tmp_path):
    async with stepped_daemon(demo_district, tmp_path, plan=False) as run:
        sched = _scheduler(run)
        events = JobEvents(sched, "housekeeping", EVENT_JOB_MISSED | EVENT_JOB_EXECUTED)
        # three hourly runs due 2.5 h, 1.5 h and 0.5 h ago, all later than the grace time (600 s):
        # coalesced into one run, reported missed once, and not run
        _fire(sched, "housekeeping", datetime.now(UTC) - timedelta(hours=2, minutes=30))
        missed = await events.next(EVENT_JOB_MISSED)
        assert run.events("job_missed") and len(run.events("job_missed")) == 1
        assert "housekeeping scheduled for" in run.events("job_missed")[0]["message"]
        late = datetime.now(UTC) - missed.scheduled_run_time
        assert timedelta(minutes=29) < late < timedelta(minutes=35)  # the last of the three
        assert [e.code for e in events.seen] == []
        # the next run is in the future, an hour (of the daemon clock) on
        assert sched.get_job("housekeeping").next_run_time > datetime.now(UTC).astimezone()


async def test_overlapping_run_is_skipped_and_reported_once_an_hour(demo_district, tmp_path):
    async with stepped_daemon(demo_district, tmp_path, plan=False) as run:
        sched = _scheduler(run)
        events = JobEvents(sched, "poll", EVENT_JOB_SUBMITTED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_EXECUTED)
        lock = run.daemon.controller._lock("bess_park")  # the demo's devices share one connection
        await lock.acquire()  # the first poll waits for the device connection
        _fire(sched, "poll")
        await events.next(EVENT_JOB_SUBMITTED)
        for _ in range(2):
            _fire(sched, "poll")
            await events.next(EVENT_JOB_MAX_INSTANCES)
        overlap = run.events("job_overlap")  # two skipped runs within the hour: stored once
        assert [e["message"] for e in overlap] == ["poll: previous run still going, this run skipped"]
        lock.release()
        await events.next(EVENT_JOB_EXECUTED)
        assert run.flushed().counts()["measurements"] > 0  # the first run went on once the devices were free


async def test_housekeeping_deletes_rows_past_the_retention(demo_district, tmp_path):
    async with stepped_daemon(demo_district, tmp_path, plan=False) as run:
        days = run.daemon.config.store.retention_days
        assert days == 90.0
        now = run.clock.now()
        for age in (days + 1, days - 1):
            ts = (now - pd.Timedelta(days=age)).to_pydatetime()
            run.store.add_event(ts, "info", f"age_{age:g}", "an old event")
            run.store.add_measurements(ts, {"bess_park": {"p_kw": age}})
        before = run.flushed().counts()
        await run.daemon.housekeeping()
        after = run.flushed().counts()
        assert (before["events"] - after["events"], before["measurements"] - after["measurements"]) == (1, 1)
        assert [e["kind"] for e in run.flushed().page("events", start=(now - pd.Timedelta(days=400)).to_pydatetime(),
                                                  limit=10).items] == ["age_89"]
        assert run.flushed().mean_measurement("bess_park", "p_kw", (now - pd.Timedelta(days=400)).to_pydatetime(),
                                          now.to_pydatetime()) == pytest.approx(89.0)
