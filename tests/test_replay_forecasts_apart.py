"""A replay's forecast issues made in a second process: the decisions a replay makes them for itself."""

from __future__ import annotations

import copy
import os
import signal
import time
from datetime import date

import pandas as pd
import pytest
from test_replay import replay_district

from gridctl.forecast_issue import issue, issued_by, make_forecast
from gridctl.replay import forecast_job
from gridctl.replay.actuals import load_actuals
from gridctl.replay.apart import spare_core
from gridctl.replay.day_ahead import (
    DayAheadPlans,
    PlanModels,
    PlanRequest,
    day_ahead_issue,
    make_plan,
)
from gridctl.replay.engine import (
    Timings,
    decision_intervals,
    issue_requests,
    replay_controller,
)
from gridctl.replay.forecast_job import ForecastJob, ahead, forecasts_apart
from gridctl.replay.run import replay_index

DAYS = [date(2016, 7, 12), date(2016, 7, 13)]


def _replay(district):
    actuals = load_actuals(district, replay_index(district, DAYS))
    return replay_controller(district, actuals, DAYS)


@pytest.fixture(scope="module")
def runs(demo_district):
    here = _replay(replay_district(demo_district, reoptimise_every_min=120, forecasts_apart_days=0))
    apart = _replay(replay_district(demo_district, reoptimise_every_min=120, forecasts_apart_days=2))
    return here, apart


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: the forecasts are issued here")
def test_forecasts_issued_apart_give_the_decisions_issued_here(runs):
    here, apart = runs
    assert here.forecasts_apart == 0 and apart.forecasts_apart > 0  # the rest made here, ahead or while it started
    assert here.plans_apart == 0 and apart.plans_apart == len(DAYS)  # every day-ahead plan made there
    assert [d.now for d in apart.decisions] == [d.now for d in here.decisions]
    for a, b in zip(apart.decisions, here.decisions):
        pd.testing.assert_frame_equal(a.plan.table, b.plan.table, check_exact=True)
    for day, plan in here.day_ahead.items():
        pd.testing.assert_frame_equal(apart.day_ahead[day].table, plan.table, check_exact=True)
    pd.testing.assert_frame_equal(apart.operation, here.operation, check_exact=True)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: the plans are made here")
def test_day_ahead_plans_made_apart_are_in_force_from_midnight_without_re_optimisations(demo_district):
    """With no re-optimisation the replay waits at each midnight for the day-ahead plan the
    forecasts' process made, and follows it: the plan made here, number for number."""
    here = _replay(replay_district(demo_district, reoptimise_every_min=0, forecasts_apart_days=0))
    apart = _replay(replay_district(demo_district, reoptimise_every_min=0, forecasts_apart_days=2))
    assert here.decisions == [] and apart.plans_apart == len(DAYS)
    in_force = pd.concat([apart.day_ahead[day].table for day in DAYS])
    pd.testing.assert_frame_equal(apart.planned, in_force[apart.planned.columns], check_exact=True, check_freq=False)
    for day in DAYS:
        pd.testing.assert_frame_equal(apart.day_ahead[day].table, here.day_ahead[day].table, check_exact=True)
    pd.testing.assert_frame_equal(apart.operation, here.operation, check_exact=True)


def test_a_day_ahead_plan_asked_of_a_process_that_dies_is_made_here(demo_district, caplog):
    district = replay_district(demo_district)
    gate, day = day_ahead_issue(district, DAYS[0])
    soc = {b.cfg.id: b.cfg.soc_initial_kwh for b in district.batteries}
    job = ForecastJob(district, [(gate, day[-1])], plans=1)
    try:
        plans = DayAheadPlans(district, None, timings := Timings(), job)
        plans.request(DAYS[0], soc, {})  # asked of the process, which dies before it makes the plan
        job._process.kill()
        made = plans.get(DAYS[0])
    finally:
        job.cancel()
    assert "forecasts' process ended with exit code -9" in caplog.text
    assert job.plans_taken == 0 and timings.decisions == 1
    here, _, _ = make_plan(district, PlanRequest(DAYS[0], soc, {}), None, PlanModels())
    pd.testing.assert_frame_equal(made.table, here.table, check_exact=True)


def test_the_requested_issues_are_every_issue_the_replay_makes(runs, demo_district):
    """Every decision's and day-ahead plan's issue time is requested, to a lead past its horizon's
    last, and nothing else is: the schedule is the one the replay keeps."""
    here, _ = runs
    district = replay_district(demo_district, reoptimise_every_min=120)
    index = replay_index(district, DAYS)
    end = index[-1] + pd.Timedelta(minutes=15)
    requests = dict(issue_requests(district, DAYS, index[decision_intervals(district, index, None)], end))
    plans = [d.plan for d in here.decisions] + list(here.day_ahead.values())
    made = {pd.Timestamp(p.summary["issue_time"]) for p in plans}
    # every 2 h over both days (the second day's gate time among them), and the first day's gate the day before
    assert set(requests) == made and len(made) == 2 * 12 + 1
    for p in plans:
        assert p.table.index[-1] <= requests[pd.Timestamp(p.summary["issue_time"])]
    assert day_ahead_issue(district, DAYS[0])[0] in requests  # the first day's plan, issued the day before


def test_an_issue_made_apart_is_the_issue_made_here(demo_district):
    district = replay_district(demo_district)
    gate, day = day_ahead_issue(district, DAYS[0])
    job = ForecastJob(district, [(gate, day[-1])])
    try:
        deadline = time.monotonic() + 120
        while job._making.value < 0 and time.monotonic() < deadline:  # until the process is making it
            time.sleep(0.05)
        with issued_by(district, job):
            apart = make_forecast(district, gate, day, job.carbon)
        assert job.taken == 1
    finally:
        job.cancel()
    here = issue(district, gate, job.carbon, day).forecast
    pd.testing.assert_frame_equal(apart.groups, here.groups.loc[day], check_exact=True)
    pd.testing.assert_frame_equal(apart.load_upper, here.load_upper.loc[day], check_exact=True)
    pd.testing.assert_series_equal(apart.ci_kg_per_kwh, here.ci_kg_per_kwh.loc[day], check_exact=True)


def test_a_forecast_process_that_dies_leaves_the_issues_to_this_one(demo_district, caplog):
    district = replay_district(demo_district)
    gate, day = day_ahead_issue(district, DAYS[0])
    job = ForecastJob(district, [(gate, day[-1])])
    job._process.kill()
    job._process.join()
    job._making.value = 0  # it died making the issue asked for
    with issued_by(district, job):
        made = make_forecast(district, gate, day, job.carbon)
    assert "forecasts' process ended with exit code -9; forecasts are issued here" in caplog.text
    assert job.taken == 0 and job._process is None
    pd.testing.assert_frame_equal(made.groups, issue(district, gate, job.carbon, day).forecast.groups.loc[day])


def test_forecasts_are_issued_apart_only_on_long_enough_replays_with_a_spare_core(demo_district):
    district = replay_district(demo_district, reoptimise_every_min=120, forecasts_apart_days=3)
    assert _replay(district).forecasts_apart == 0  # two days
    assert spare_core() == (len(os.sched_getaffinity(0)) > 1)


def test_a_stalled_forecast_process_is_stopped_and_the_issues_made_here(demo_district, caplog, monkeypatch):
    district = replay_district(demo_district)
    gate, day = day_ahead_issue(district, DAYS[0])
    monkeypatch.setattr(forecast_job, "STALL_S", 2.0)
    job = ForecastJob(district, [(gate, day[-1])])
    os.kill(job._process.pid, signal.SIGSTOP)  # alive, making nothing
    job._making.value = 0
    with issued_by(district, job):
        made = make_forecast(district, gate, day, job.carbon)
    assert "made no issue in 2 s; it is stopped and forecasts are issued here" in caplog.text
    assert job.taken == 0 and job._process is None
    pd.testing.assert_frame_equal(made.groups, issue(district, gate, job.carbon, day).forecast.groups.loc[day])


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: no second process is tried")
def test_a_district_that_cannot_be_sent_leaves_the_forecasts_to_this_process(demo_district, caplog):
    district = copy.copy(replay_district(demo_district, forecasts_apart_days=1))
    district.__dict__["hook"] = lambda: None  # a local function: no pickle
    gate, day = day_ahead_issue(district, DAYS[0])
    with forecasts_apart(district, [(gate, day[-1])], 1) as job:
        assert job is None
    assert "cannot be issued in a process of their own" in caplog.text


def test_the_replay_makes_the_next_issue_while_the_process_makes_the_one_asked_for(demo_district, monkeypatch):
    """A decision does not wait for the issue the process is making: it makes the next ones here
    (the same numbers), and the process skips them."""
    district = replay_district(demo_district, reoptimise_every_min=120)
    index = replay_index(district, DAYS)
    end = index[-1] + pd.Timedelta(minutes=15)
    requests = issue_requests(district, DAYS, index[decision_intervals(district, index, None)], end)[:3]
    job = ForecastJob(district, requests)
    try:
        deadline = time.monotonic() + 120
        while job._making.value < 0 and time.monotonic() < deadline:  # until the process is making the first
            time.sleep(0.05)
        os.kill(job._process.pid, signal.SIGSTOP)  # it makes the first only once the others are made here
        made_here = []

        def issued_here(*args):
            made_here.append(issue(*args))
            if len(made_here) == len(requests) - 1:
                os.kill(job._process.pid, signal.SIGCONT)
            return made_here[-1]

        monkeypatch.setattr(forecast_job, "issue", issued_here)
        monkeypatch.setattr(forecast_job, "STALL_S", 30.0)  # without the issues made here: stopped, and failed below
        with issued_by(district, job):
            first = make_forecast(district, requests[0][0], pd.DatetimeIndex([requests[0][1]]), job.carbon)
            assert job.made_ahead == {t for t, _ in requests[1:]} and job.taken == 1
            second = make_forecast(district, requests[1][0], pd.DatetimeIndex([requests[1][1]]), job.carbon)
        job._process.join(60)
        assert job._process.exitcode == 0 and job._from_process == {requests[0][0]}  # it skipped the others
        assert job.taken == 1
    finally:
        job.cancel()
    for (t, last), made in zip(requests, (first, second)):
        here = issue(district, t, job.carbon, pd.DatetimeIndex([last])).forecast
        pd.testing.assert_frame_equal(made.groups, here.groups.loc[[last]], check_exact=True)
        pd.testing.assert_frame_equal(made.load_upper, here.load_upper.loc[[last]], check_exact=True)


def test_an_issue_is_made_ahead_where_its_time_of_day_was_not_issued_by_the_process():
    hours = pd.date_range("2016-07-12", periods=48, freq="h", tz="UTC")
    requests = [(t, t) for t in hours]
    from_process = {t for t in hours[:24] if t.hour % 2 == 0}  # the first day: even hours there, odd hours here
    claimed = [0] * 48
    assert ahead(requests, 24, 48, claimed, from_process) == 25  # 01:00: issued here the day before
    claimed[25] = 1
    assert ahead(requests, 24, 48, claimed, from_process) == 27
    assert ahead(requests, 2, 48, claimed, from_process) == 2  # the first day: nobody holds its past issues
    assert ahead(requests, 46, 47, claimed, from_process) is None  # 22:00, the process's, then the end
