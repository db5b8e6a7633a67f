"""The held model shifted onto the next day's horizon at local midnight decides as a new model does."""

from datetime import date

import pandas as pd
import pytest

from gridctl.cycle import decide
from gridctl.daemon import without_assets
from gridctl.dispatch.process_load import ProcessReport
from gridctl.dispatch.rolling import RollingDispatch
from gridctl.dispatch.soft import registry
from gridctl.replay.day_ahead import day_ahead_plan
from gridctl.replay.sweep import district_with_config

DAY_START = pd.Timestamp("2016-07-11T22:00Z")  # local midnight of 12 July (CEST)


def _labels(model, limit: str) -> dict[str, dict]:
    """The report labels of the soft limits of kind ``limit`` by asset."""
    return {s.asset: s.labels for s in registry(model) if s.limit == limit}


def test_the_held_model_is_shifted_onto_the_next_days_horizon(demo_district):
    cfg = demo_district.config.model_copy(deep=True)
    cfg.dispatch.mip_gap = 1e-7  # to the optimum: not two plans within the gap
    district = district_with_config(demo_district, cfg)
    rolling = RollingDispatch()
    soc = {b.cfg.id: b.cfg.soc_initial_kwh for b in district.batteries}
    first = decide(district, DAY_START, soc, rolling=rolling)
    held = rolling.held
    tomorrow = DAY_START + pd.Timedelta(days=1)
    kept = decide(district, tomorrow, soc, rolling=rolling)
    built = decide(district, tomorrow, soc)
    assert rolling.held is held and rolling.builds == 1 and rolling.shifts == 1  # in the held model
    a, b = kept.plan.summary, built.plan.summary
    assert a["problem"] == b["problem"] == "MILP"  # the commitment re-solved, as after a build
    assert a["objective"] == pytest.approx(b["objective"], rel=1e-6)
    assert a["objective"] <= b["objective"] * (1 + 1e-6)  # identical or better
    assert a["emissions_kg"] == pytest.approx(b["emissions_kg"], rel=1e-4)
    assert kept.plan.table.index.equals(built.plan.table.index)
    assert not kept.plan.table.index.equals(first.plan.table.index)
    keys = ("asset", "window_start", "window_end", "requested_kwh", "starts")
    for x, y in zip(a["process_loads"], b["process_loads"], strict=True):
        assert {k: x[k] for k in keys} == {k: y[k] for k in keys}
        assert x["delivered_kwh"] == pytest.approx(y["delivered_kwh"], abs=1.5)
    for x, y in zip(a["ev_sessions"], b["ev_sessions"], strict=True):
        assert (x["asset"], x["arrival"], x["departure"], x["requested_kwh"]) == \
               (y["asset"], y["arrival"], y["departure"], y["requested_kwh"])
        assert x["delivered_kwh"] == pytest.approx(y["delivered_kwh"], abs=1e-3)
    # the report names the new day's windows and sessions, not the held ones
    assert _labels(kept.plan.model, "process_energy") == _labels(built.plan.model, "process_energy")
    for asset, labels in _labels(built.plan.model, "ev_energy").items():
        sessions = [s for s in b["ev_sessions"] if s["asset"] == asset]
        shifted = _labels(kept.plan.model, "ev_energy")[asset]
        assert [shifted[i] for i in range(len(sessions))] == [labels[i] for i in range(len(sessions))]


@pytest.mark.parametrize("running", [False, True])
def test_a_shift_takes_another_report_of_a_process_loads_state_where_the_model_is_the_same(demo_district, running):
    """Built when the press had just stopped (as a replay's plant reports at its start), the held
    model is shifted at midnight, where it has been off for hours: its first window opens long
    after the minimum stop time, so the model is the same. A press running at midnight (another
    first switching row) takes a new model. Either way the plan is a new model's."""
    cfg = demo_district.config.model_copy(deep=True)
    cfg.dispatch.mip_gap = 1e-7  # to the optimum: not two plans within the gap
    district = district_with_config(demo_district, cfg)
    rolling = RollingDispatch()
    soc = {b.cfg.id: b.cfg.soc_initial_kwh for b in district.batteries}
    decide(district, DAY_START, soc, rolling=rolling, process_reports={"press_line": ProcessReport(False, 0.0)})
    tomorrow = DAY_START + pd.Timedelta(days=1)
    reports = {"press_line": ProcessReport(running, 180.0)}
    kept = decide(district, tomorrow, soc, rolling=rolling, process_reports=reports)
    built = decide(district, tomorrow, soc, process_reports=reports)
    assert (rolling.builds, rolling.shifts) == ((2, 0) if running else (1, 1))
    assert kept.plan.summary["objective"] == pytest.approx(built.plan.summary["objective"], rel=1e-6)
    held = next(p for p in rolling.held.inp.process_loads if p.id == "press_line")
    assert (held.on_initial, held.steps_in_state) == (running, 12)  # the state the next updates start from


def _midnight(district, day: str) -> pd.Timestamp:
    return pd.Timestamp(day, tz=district.tz).tz_convert("UTC")


def test_a_horizon_of_other_length_or_local_day_ends_builds_a_new_model(demo_district):
    """Around the end of summer time (30 October 2016, 100 quarter-hours): a horizon of another
    length, or as long with another local day's end (where heat stores meet their daily target),
    takes a new model; the next one as long with the same day ends is shifted. Without process
    loads' windows and network rows, which would move too, only the day ends tell the horizons apart."""
    cfg = demo_district.config.model_copy(deep=True)
    cfg.network.constrain_dispatch = False
    district = without_assets(district_with_config(demo_district, cfg),
                              {p.id for p in demo_district.config.assets.process_load})
    rolling = RollingDispatch()
    expected = {"2016-10-28": (1, 0), "2016-10-29": (2, 0),  # 192, then 96 + 100 quarter-hours
                "2016-10-30": (3, 0),  # 100 + 96: as long, the first day ending 4 intervals later
                "2016-10-31": (4, 0), "2016-11-01": (4, 1)}  # 96 + 96, twice
    for day, (builds, shifts) in expected.items():
        plan = decide(district, _midnight(district, day), {}, rolling=rolling).plan
        assert plan.table.index[0] == _midnight(district, day)
        assert (rolling.builds, rolling.shifts) == (builds, shifts), day


def test_day_ahead_plans_are_shifted_from_the_day_before_and_keep_a_new_models_optimum(demo_district):
    """A replay's day-ahead plans share one persistent model: the next day's plan is the day
    before's model shifted, with the optimum of a plan made in a new model (within the MIP gap)."""
    cfg = demo_district.config.model_copy(deep=True)
    cfg.dispatch.mip_gap = 1e-7  # to the optimum: not two plans within the gap
    district = district_with_config(demo_district, cfg)
    soc = {b.cfg.id: b.cfg.soc_initial_kwh for b in district.batteries}
    planning = RollingDispatch()
    for day in (date(2016, 7, 12), date(2016, 7, 13)):
        kept = day_ahead_plan(district, day, soc, rolling=planning)
        built = day_ahead_plan(district, day, soc)
        assert kept.table.index.equals(built.table.index)
        assert kept.summary["problem"] == built.summary["problem"] == "MILP"
        assert kept.summary["objective"] == pytest.approx(built.summary["objective"], rel=1e-6)
        assert kept.summary["emissions_kg"] == pytest.approx(built.summary["emissions_kg"], rel=1e-4)
    assert (planning.builds, planning.shifts) == (1, 1)


@pytest.mark.parametrize(("failed", "restarted"), [(False, False), (True, False), (False, True)])
def test_a_model_built_within_the_day_leaves_the_next_midnight_to_the_days_first_model(demo_district, failed,
                                                                                      restarted):
    """A process load that stops against the plan at noon takes a new model over the rest of the
    horizon (shorter than a day's first); at the next local midnight that model cannot be
    shifted, and the day's first model, kept, is shifted instead of another being built, with
    the optimum of a new model; also when the noon model's last solve failed (none held then),
    and when the load restarts at 14:00 (a third model: the day's first stays kept)."""
    cfg = demo_district.config.model_copy(deep=True)
    cfg.dispatch.mip_gap = 1e-7  # to the optimum: not two plans within the gap
    district = district_with_config(demo_district, cfg)
    rolling = RollingDispatch()
    soc = {b.cfg.id: b.cfg.soc_initial_kwh for b in district.batteries}
    decide(district, DAY_START, soc, rolling=rolling)
    first = rolling.held
    decide(district, DAY_START + pd.Timedelta(hours=12), soc, rolling=rolling,
           process_reports={"press_line": ProcessReport(False, 0.0)})
    assert rolling.builds == 2 and len(rolling.held.inp.index) < len(first.inp.index)
    if restarted:
        decide(district, DAY_START + pd.Timedelta(hours=14), soc, rolling=rolling,
               process_reports={"press_line": ProcessReport(True, 0.0)})
    if failed:
        rolling.held = None  # as after a solve that raised SolverError
    tomorrow = DAY_START + pd.Timedelta(days=1)
    kept = decide(district, tomorrow, soc, rolling=rolling)
    built = decide(district, tomorrow, soc)
    assert rolling.held is first and (rolling.builds, rolling.shifts) == (2 + restarted, 1)
    a, b = kept.plan.summary, built.plan.summary
    assert kept.plan.table.index.equals(built.plan.table.index)
    assert a["objective"] == pytest.approx(b["objective"], rel=1e-6)
    assert a["objective"] <= b["objective"] * (1 + 1e-6)
