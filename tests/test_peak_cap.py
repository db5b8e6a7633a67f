"""No new peaks: plans never import more than the forecast without control would (peak_cap = "baseline")."""

from datetime import date

import numpy as np
import pandas as pd
import pytest
from dispatch_case import solve_case
from test_dispatch import _inputs as case_inputs
from test_replay import replay_district

from gridctl.cycle import decide, terminal_targets
from gridctl.dispatch.highs import solve
from gridctl.dispatch.inputs import BatteryParams
from gridctl.dispatch.model import build_model
from gridctl.dispatch.result import plan_table
from gridctl.forecast_issue import make_forecast
from gridctl.headroom import day_peak_so_far_kw, peak_guard_kw
from gridctl.planning import baseline_import_kw, dispatch_inputs
from gridctl.replay.actuals import load_actuals
from gridctl.replay.engine import replay_controller
from gridctl.replay.run import replay_index
from gridctl.replay.sweep import district_with_config
from gridctl.replay.tick import estimated_import_kw, peak_setpoints
from gridctl.timegrid import gate_time, local_day

DAY = date(2016, 1, 14)
REPLAY_DAY = date(2016, 7, 12)


def _inputs(district):
    horizon = local_day(DAY, district.tz, district.resolution_min)
    fc = make_forecast(district, gate_time(DAY, district.tz, district.config.site.gate_time), horizon)
    return dispatch_inputs(district, fc)


def test_the_plan_never_imports_above_the_uncontrolled_forecast_peak(demo_district):
    inp = _inputs(demo_district)
    base = baseline_import_kw(inp)
    peak = float(base.max())
    limit = np.broadcast_to(inp.import_limit_kw, base.shape)  # less the load forecast's headroom
    assert limit.max() == pytest.approx(peak) and (limit >= base - 1e-6).all()
    assert inp.peak_cap_kw == pytest.approx(peak)
    assert peak < demo_district.config.grid.import_limit_kw
    model = build_model(inp)
    solve(model)
    table = plan_table(model, inp)
    assert table.grid_import_kw.max() <= peak + 1e-3
    assert table.emissions_kg.sum() < float((baseline_import_kw(inp) * inp.ci_kg_per_kwh * inp.dt_h).sum())


def test_limit_mode_keeps_only_the_configured_connection_limit(demo_district):
    cfg = demo_district.config.model_copy(deep=True)
    cfg.dispatch.peak_cap = "limit"
    inp = _inputs(district_with_config(demo_district, cfg))
    assert inp.import_limit_kw == cfg.grid.import_limit_kw


def test_the_guard_keeps_the_load_forecasts_headroom_where_charging_adds_import():
    # 1 h intervals; loads 10, 20, 16, 10 kW: no control peaks at 20 kW. The intensity dips at hour 2
    # before a dirty hour 3: plain emissions mode charges at hour 2 up to that peak; with the load's
    # upper quantile 3 kW above its forecast there, the guard charges only up to 17 kW, and it never
    # holds the import below what no control would draw (hour 1 stays at 20 kW)
    load = np.array([10.0, 20.0, 16.0, 10.0])
    battery = BatteryParams("b", 0, 10.0, 0.0, 20.0, 0.0, 1.0, 1.0)
    for headroom, top in ((np.zeros(4), 20.0), (np.array([0.0, 3.0, 3.0, 0.0]), 17.0)):
        limit = peak_guard_kw(1e6, load, headroom)
        _, table, found = solve_case(case_inputs([0.6, 0.6, 0.1, 0.6], load, batteries=[battery], import_limit_kw=limit))
        assert table.grid_import_kw.to_numpy() == pytest.approx([10.0, 20.0, top, 10.0 - (top - 16.0)], abs=1e-6)
        assert found == []


def test_a_late_horizon_may_recharge_up_to_the_days_measured_peak(demo_district):
    # 23:00 local on the replay's last day (warm-down: no plan past midnight), batteries nearly empty:
    # the forecast's own peak over the last hour would leave little room to recharge, today's
    # measured peak without control leaves enough, and the plan stays below it
    now = pd.Timestamp("2016-01-28T22:00Z")
    end = pd.Timestamp("2016-01-28T23:00Z")
    soc = {b.cfg.id: b.cfg.soc_min_kwh for b in demo_district.batteries}
    plan = decide(demo_district, now, soc, horizon_end=end).plan
    day_peak = day_peak_so_far_kw(demo_district, now, now)
    fc = make_forecast(demo_district, now, plan.table.index)
    assert day_peak > float(baseline_import_kw(dispatch_inputs(demo_district, fc)).max()) + 1000.0
    last, target = plan.table.iloc[-1], terminal_targets(demo_district, soc, len(plan.table))
    for b in demo_district.batteries:  # the initial SoC, or what an hour at full power reaches
        assert last[f"{b.cfg.id}.soc_kwh"] == pytest.approx(target[b.cfg.id], rel=1e-3)
    assert plan.table.grid_import_kw.max() <= day_peak + 1e-3
    assert plan.summary["peak_cap_kw"] == pytest.approx(day_peak)  # the cap the replay's tick keeps


def test_the_tick_cuts_charging_by_what_the_estimated_import_passes_the_cap(demo_district):
    batteries = demo_district.config.assets.battery[:3]
    a, b, c = (x.id for x in batteries)
    setpoints = {a: 300.0, b: 100.0, c: -200.0, "hp": 50.0}
    assert peak_setpoints(batteries, setpoints, 1000.0, 1000.0) == {}  # at the cap: nothing cut
    assert peak_setpoints(batteries, setpoints, 1200.0, 1000.0) == pytest.approx({a: 150.0, b: 50.0})
    assert peak_setpoints(batteries, setpoints, 9000.0, 1000.0) == pytest.approx({a: 0.0, b: 0.0})  # no discharge forced
    assert peak_setpoints(batteries, {a: -50.0, c: -200.0}, 9000.0, 1000.0) == {}
    # the interval before ran 20 kW above its forecast (load less PV 60 kW, measured 80 kW): so does this one
    row, before = pd.Series({"load_kw": 100.0, "pv_kw": 20.0}), pd.Series({"load_kw": 90.0, "pv_kw": 30.0})
    assert estimated_import_kw(row, before, 80.0, setpoints, {"pv": 5.0}) == pytest.approx(80.0 + 20.0 + 5.0 + 250.0)


def test_a_replay_stops_charging_where_the_measured_load_runs_above_the_peak_cap(demo_district):
    """A load far above its forecast from 11:00 to 15:00 local (the actuals only: the forecasts and
    decisions never see it) passes every plan's no-new-peak cap; from the next interval on, the
    batteries the plans charge there do not charge."""
    district = replay_district(demo_district, reoptimise_every_min=120)
    actuals = load_actuals(district, replay_index(district, [REPLAY_DAY]))
    local = actuals.index.tz_convert(district.tz)
    bumped = (local.hour >= 11) & (local.hour < 15)
    actuals.load_kw = actuals.load_kw + np.where(bumped, 1e5, 0.0)
    run = replay_controller(district, actuals, [REPLAY_DAY])
    after_first = bumped & np.roll(bumped, 1)  # the tick estimates from the interval just ended
    ids = [f"{b.cfg.id}.p_kw" for b in district.batteries]
    planned = run.planned.loc[after_first, ids].clip(lower=0.0).to_numpy()
    assert planned.sum() > 100.0  # the plans charge there
    assert (run.operation.loc[after_first, ids].to_numpy() <= 1e-6).all()
    assert (run.operation.loc[~bumped, ids].to_numpy() > 1e-6).any()  # elsewhere they still charge
