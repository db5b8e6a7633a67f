"""Replay: balances and battery limits of every run, baselines, DST days and the output files."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from gridctl.cli import main
from gridctl.replay.actuals import load_actuals
from gridctl.replay.files import write_outputs
from gridctl.replay.kpis import ac_violations
from gridctl.replay.run import run_replay
from gridctl.replay.sweep import district_with_config

DAY = date(2016, 7, 12)
NO_TRAINING_DAYS = 10_000  # more history than exists: forecasters fall back to seasonal naive


def replay_district(demo_district, naive_forecasts: bool = False, **replay):
    """The demo district with [replay] settings changed (network, data and trained forecasters shared);
    ``naive_forecasts`` skips model training (seasonal-naive fallback) where forecast skill is beside the point."""
    cfg = demo_district.config.model_copy(deep=True)
    for key, value in replay.items():
        setattr(cfg.replay, key, value)
    if naive_forecasts:
        cfg.forecast.min_history_days = NO_TRAINING_DAYS
    return district_with_config(demo_district, cfg)


@pytest.fixture(scope="module")
def one_day(demo_district):
    return run_replay(replay_district(demo_district, reoptimise_every_min=120, ac_check_every_min=240), DAY, DAY)


def test_every_run_keeps_the_balance_and_the_battery_limits(one_day, demo_district):
    dt_h = 0.25
    for name, op in one_day.runs.items():
        power = op[[c for c in op.columns if c.endswith(".p_kw")]].sum(axis=1)
        np.testing.assert_allclose(op.grid_import_kw, op.load_kw + power - (op.pv_kw - op.pv_curtailed_kw), atol=1e-6)
        for b in demo_district.config.assets.battery:
            soc, p = op[f"{b.id}.soc_kwh"], op[f"{b.id}.p_kw"]
            assert soc.between(b.soc_min_kwh - 1e-6, b.soc_max_kwh + 1e-6).all(), name
            prev = np.concatenate([[b.soc_initial_kwh], soc.to_numpy()[:-1]])
            stored = np.where(p > 0, p * b.eta_charge, p / b.eta_discharge) * dt_h
            np.testing.assert_allclose(soc, prev + stored, atol=1e-6, err_msg=name)


def test_baselines_follow_their_rules(one_day):
    none, sc = one_day.runs["none"], one_day.runs["self-consumption"]
    assert (none[[c for c in none.columns if c.startswith("bess") and c.endswith(".p_kw")]] == 0).all().all()
    battery = sc[[c for c in sc.columns if c.startswith("bess") and c.endswith(".p_kw")]].sum(axis=1)
    net = none.grid_import_kw  # demand net of PV with nothing controlled
    assert (battery[net < 0] >= -1e-9).all() and (battery[net > 0] <= 1e-9).all()
    assert (sc.grid_import_kw.abs() <= net.abs() + 1e-6).all()  # it only ever reduces the exchange
    s = one_day.summary["runs"]
    assert s["perfect-foresight"]["emissions_kg"] <= s["none"]["emissions_kg"]  # the optimum beats doing nothing


def test_summary_and_intervals_follow_the_contract(one_day):
    s = one_day.summary
    for key in ("days", "emissions_kg", "baseline_emissions_kg", "reduction_pct", "cost", "ac_violations",
                "unserved_energy_kwh", "unserved_energy_pct", "unserved_by_asset_kwh", "runtime_s",
                "perfect_foresight_capture_pct"):
        assert key in s
    assert s["intervals_per_day"] == {DAY.isoformat(): 96}
    assert s["emissions_kg"] == pytest.approx(one_day.runs["gridctl"].emissions_kg.sum())
    assert s["runs"]["gridctl"]["ac_intervals_checked"] == 6
    iv = one_day.intervals
    assert len(iv) == 96
    for col in ("load_forecast_kw", "load_actual_kw", "bess_park.p_planned_kw", "bess_park.p_day_ahead_kw",
                "bess_park.p_kw", "none.grid_import_kw", "hp_school.temp_c"):
        assert col in iv
    assert (iv.load_forecast_kw != iv.load_actual_kw).any()  # decisions ran on forecasts, not actuals
    assert set(s["unadjusted"]) == {"reduction_pct", "perfect_foresight_capture_pct", "network_bound_capture_pct"}
    assert s["runs"]["gridctl"]["emissions_adjusted_kg"] == pytest.approx(
        s["runs"]["gridctl"]["emissions_kg"] + s["stored_energy_debt_kwh"] * one_day.runs["gridctl"].ci_kg_per_kwh.mean())


def test_plans_are_kept_without_their_solved_models(one_day):
    """A year of replay keeps 351 day-ahead plans and 8,400 decisions: their Pyomo models (about
    50,000 objects each for a day-ahead plan) would fill the memory and slow every garbage collection."""
    c = one_day.controller
    assert c.day_ahead and c.decisions
    assert all(p.model is None for p in c.day_ahead.values()) and all(d.plan.model is None for d in c.decisions)
    assert all(len(p.table) == 96 for p in c.day_ahead.values())  # the plan itself is kept


def test_warm_down_ends_every_decision_at_the_replay_end(one_day, demo_district):
    end = one_day.runs["gridctl"].index[-1]
    assert all(d.plan.table.index[-1] == end for d in one_day.controller.decisions)  # nothing planned past it
    last = one_day.controller.decisions[-1].plan.table.iloc[-1]
    for b in demo_district.config.assets.battery:  # each planned back to where it started (or as near as charging gets)
        reachable = one_day.controller.decisions[-1].plan.table[f"{b.id}.soc_kwh"].iloc[0] + b.p_max_kw * 0.95 * 2
        assert last[f"{b.id}.soc_kwh"] >= min(b.soc_initial_kwh, reachable) - 1.0


def test_network_feasible_bound_keeps_the_network_limits(one_day, demo_district):
    index = one_day.runs["none"].index
    actuals = load_actuals(demo_district, index)
    checked = {name: ac_violations(demo_district, actuals, one_day.runs[name], index)
               for name in ("none", "perfect-foresight-network")}
    assert checked["none"]["ac_violations"] > 0  # the depot's evening charging overloads its feeder
    assert checked["perfect-foresight-network"]["ac_violations"] < checked["none"]["ac_violations"]
    runs = one_day.summary["runs"]
    assert runs["perfect-foresight-network"]["emissions_kg"] <= runs["none"]["emissions_kg"]
    events = checked["none"]["ac_violation_events"]  # one per element and interval, named
    assert len(events) == checked["none"]["ac_violations"] and {"interval_start", "element", "limit", "value"} <= set(events[0])


def test_soc_carries_over_between_replays(demo_district, one_day):
    end = {b.id: float(one_day.runs["gridctl"][f"{b.id}.soc_kwh"].iloc[-1]) for b in demo_district.config.assets.battery}
    district = replay_district(demo_district, naive_forecasts=True, reoptimise_every_min=0, ac_check_every_min=0,
                               baselines=["none"])
    nxt = run_replay(district, date(2016, 7, 13), date(2016, 7, 13), soc_kwh=end)
    assert nxt.runs["none"]["bess_park.soc_kwh"].iloc[0] == pytest.approx(end["bess_park"])


@pytest.mark.parametrize(("day", "intervals", "decisions"), [(date(2016, 3, 27), 92, 7), (date(2016, 10, 30), 100, 8)])
def test_dst_days_replay_with_their_number_of_intervals(demo_district, day, intervals, decisions):
    district = replay_district(demo_district, naive_forecasts=True, reoptimise_every_min=240, ac_check_every_min=0,
                               baselines=["none"])
    result = run_replay(district, day, day)
    assert result.summary["intervals_per_day"] == {day.isoformat(): intervals}
    assert len(result.intervals) == intervals
    # re-optimisations every 4 h of elapsed time from local midnight (6 in 23 h, 7 in 25 h) plus the day-ahead plan
    assert result.summary["decisions"] == decisions
    models = result.summary["models"]  # every re-optimisation built, shifted or updated the model
    assert models["built"] >= 1 and sum(models.values()) == decisions - 1


def test_files_are_written_and_the_report_is_self_contained(one_day, tmp_path):
    paths = write_outputs(one_day, tmp_path)
    assert [p.name for p in paths] == ["summary.json", "intervals.csv", "report.html"]
    assert json.loads(paths[0].read_text())["days"] == 1
    csv = pd.read_csv(paths[1])
    assert len(csv) == 96 and csv.interval_start.iloc[0] == "2016-07-12T00:00:00+02:00"
    html = paths[2].read_text()
    assert "Plotly.newPlot" in html and "<script src=" not in html  # plotly.js inlined: works offline


def test_cli_rejects_an_end_before_the_start(tmp_path, capsys):
    assert main(["replay", "--start", "2016-07-12", "--end", "2016-07-11", "--out", str(tmp_path)]) == 2
    assert "--end" in capsys.readouterr().err


def test_replay_runs_on_idle_when_the_solver_fails(demo_district):
    cfg = demo_district.config.model_copy(deep=True)
    cfg.dispatch.time_limit_s = 1e-9  # HiGHS stops before finding any solution
    cfg.replay.reoptimise_every_min, cfg.replay.ac_check_every_min, cfg.replay.baselines = 240, 0, ["none"]
    cfg.forecast.min_history_days = NO_TRAINING_DAYS
    result = run_replay(district_with_config(demo_district, cfg), DAY, DAY)
    assert result.controller.decisions == [] and result.controller.day_ahead == {}
    gridctl, none = result.runs["gridctl"], result.runs["none"]
    np.testing.assert_allclose(gridctl.grid_import_kw, none.grid_import_kw)  # idle batteries, uncontrolled loads
    assert result.intervals.grid_import_planned_kw.isna().all()


def test_progress_names_every_day_and_each_baseline(demo_district, caplog):
    """Off a terminal a replay logs each day it finished, the last one included, and each baseline it runs."""
    district = replay_district(demo_district, naive_forecasts=True, reoptimise_every_min=0, ac_check_every_min=0,
                               baselines=["none", "self-consumption"])
    with caplog.at_level("INFO"):
        run_replay(district, date(2016, 7, 12), date(2016, 7, 13), progress=True)
    messages = [r.getMessage() for r in caplog.records]
    assert [m for m in messages if m.startswith("replayed ")] == [
        "replayed 2016-07-12 (1 of 2 days)", "replayed 2016-07-13 (2 of 2 days)"]
    assert [m for m in messages if m.startswith("baseline ")] == [
        "baseline none over 192 intervals", "baseline self-consumption over 192 intervals"]
