"""Baselines run in a second process beside gridctl's run: the same tables as a run in this process."""

from __future__ import annotations

import copy
import os
from datetime import date

import pandas as pd
import pytest
from test_replay import replay_district
from threadpoolctl import threadpool_info, threadpool_limits

from gridctl.replay.actuals import load_actuals
from gridctl.replay.baseline_runs import BaselineJob, run_baselines, runs_apart, start_apart
from gridctl.replay.engine import Timings
from gridctl.replay.run import helpers_due, replay_index

DAY = date(2016, 7, 12)


@pytest.fixture(scope="module")
def case(demo_district):
    district = replay_district(demo_district, baselines=["self-consumption"], baselines_apart_days=1)
    actuals = load_actuals(district, replay_index(district, [DAY]))
    soc = {b.id: 0.5 * b.soc_max_kwh for b in district.config.assets.battery}
    here = run_baselines(district, actuals, soc, Timings())
    return district, actuals, soc, here


def _same(got: tuple[dict, dict], here: tuple[dict, dict]) -> None:
    (runs, failed), (tables, _) = got, here
    assert list(runs) == ["self-consumption"] and failed == {}
    for name, table in tables.items():
        pd.testing.assert_frame_equal(runs[name], table, check_exact=True)


def _openmp_threads() -> set[int]:
    return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"}


def test_baselines_apart_give_the_tables_of_a_run_here(case, caplog):
    district, actuals, soc, here = case
    timings = Timings()
    with threadpool_limits(limits=2, user_api="openmp"):
        job = BaselineJob(district, actuals, soc)
        assert job._process.pid != os.getpid()
        assert _openmp_threads() == {1}  # this process leaves the second core to the baselines
        job.share_cores()
        assert _openmp_threads() == {1}  # (not before the tables are ready)
        assert job._conn.poll(120)
        job.share_cores()
        assert _openmp_threads() == {2}
        with caplog.at_level("INFO"):
            _same(job.result(timings), here)
    assert "waiting for the baselines' process" not in caplog.text  # the tables were ready
    assert timings.baselines_s > 0  # their own run time, measured in that process
    assert not job._process.is_alive()


def test_a_wait_for_the_baselines_process_is_logged(case, caplog):
    """Asked at once, the process is still starting (seconds of imports): the wait is named, then its tables come."""
    district, actuals, soc, here = case
    job = BaselineJob(district, actuals, soc)
    with caplog.at_level("INFO"):
        _same(job.result(Timings()), here)
    assert "waiting for the baselines' process" in caplog.text


def test_a_baseline_process_that_dies_leaves_the_baselines_to_this_one(case, caplog):
    district, actuals, soc, here = case
    job = BaselineJob(district, actuals, soc)
    job._process.kill()
    _same(job.result(Timings()), here)
    assert "ended with exit code -9; running the baselines here" in caplog.text


def test_baselines_run_apart_only_on_long_enough_replays(demo_district):
    district = replay_district(demo_district, baselines_apart_days=3)
    spare_core = len(os.sched_getaffinity(0)) > 1
    assert runs_apart(district, 3) == spare_core and not runs_apart(district, 2)
    assert not runs_apart(replay_district(demo_district, baselines_apart_days=0), 300)
    assert not runs_apart(replay_district(demo_district, baselines=[]), 300)


def test_the_fork_server_starts_early_only_for_replays_that_start_a_helper(demo_district):
    def due(n_days: int, **replay) -> bool:
        return helpers_due(replay_district(demo_district, **replay).config, n_days)

    assert due(3, baselines_apart_days=3, forecasts_apart_days=0) and not due(2, baselines_apart_days=3, forecasts_apart_days=0)
    assert due(4, baselines=[], baselines_apart_days=1, forecasts_apart_days=4)  # the forecasts' helper alone
    assert not due(4, baselines=[], baselines_apart_days=1, forecasts_apart_days=5)  # no baselines: no baselines' helper
    assert not due(300, baselines_apart_days=0, forecasts_apart_days=0)


def test_a_district_that_cannot_be_sent_leaves_the_baselines_to_this_process(case, caplog):
    district, actuals, soc, _ = case
    unsendable = copy.copy(district)
    unsendable.__dict__["hook"] = lambda: None  # a local function: no pickle
    with threadpool_limits(limits=2, user_api="openmp"):
        assert start_apart(unsendable, actuals, soc) is None
        assert _openmp_threads() == {2}  # no thread limit left behind
    assert "cannot run in a process of their own" in caplog.text
