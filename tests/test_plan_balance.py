"""The district balance of a plan, checked against the solved model's own grid variables and the
solver's objective, not against the formula that fills ``grid_import_kw`` in the plan table."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyomo.environ as pyo
import pytest

from gridctl.dispatch.highs import solve
from gridctl.dispatch.model import build_model
from gridctl.dispatch.result import plan_table
from gridctl.forecast_issue import make_forecast
from gridctl.planning import dispatch_inputs, plan_horizon
from gridctl.timegrid import gate_time, local_day

DAY = date(2016, 1, 14)  # winter: heat pumps, EV sessions and batteries all run


def _asset_ids(district) -> list[str]:
    a = district.config.assets
    return [x.id for x in (*a.battery, *a.ev_charger, *a.heat_pump, *a.process_load)]


@pytest.fixture(scope="module")
def solved(demo_district):
    horizon = local_day(DAY, demo_district.tz, demo_district.resolution_min)
    fc = make_forecast(demo_district, gate_time(DAY, demo_district.tz, demo_district.config.site.gate_time), horizon)
    inp = dispatch_inputs(demo_district, fc)
    m = build_model(inp)
    res = solve(m)
    return fc, inp, m, res, plan_table(m, inp)


def test_model_grid_exchange_carries_every_asset(solved, demo_district):
    fc, inp, m, res, table = solved
    assert res.status == "optimal"
    exchange = np.array([pyo.value(m.grid_import[t]) - pyo.value(m.grid_export[t]) for t in m.T])
    pv = fc.groups[demo_district.pv_series].sum(axis=1).to_numpy()
    assets = table[[f"{a}.p_kw" for a in _asset_ids(demo_district)]].sum(axis=1).to_numpy()
    expected = inp.load_kw + assets - (pv - table.pv_curtailed_kw.to_numpy())
    np.testing.assert_allclose(exchange, expected, atol=1e-6)
    for h in demo_district.config.assets.heat_pump:  # not a vacuous check: the heat pumps draw power
        assert table[f"{h.id}.p_kw"].sum() * inp.dt_h > 10.0, h.id
    np.testing.assert_allclose(table.grid_import_kw, exchange, atol=1e-6)


def test_plan_emissions_are_what_the_solver_minimised(demo_district):
    # objective = emissions of the model's grid import + small curtailment and throughput penalties
    # + process loads' start-up costs (no soft limit violated); the table's emissions come from its own balance, so both agree only
    # when the model's balance holds every asset the table lists
    horizon = local_day(DAY, demo_district.tz, demo_district.resolution_min)
    plan = plan_horizon(demo_district, gate_time(DAY, demo_district.tz, demo_district.config.site.gate_time),
                        horizon, with_ac_check=False)
    t, s = plan.table, plan.summary
    d = demo_district.config.dispatch
    assert s["violations"] == [] and s["objective_mode"] == "emissions" and d.export_credit_factor == 0.0
    battery = t[[f"{b.id}.p_kw" for b in demo_district.config.assets.battery]]
    penalties = (d.curtailment_penalty_per_kwh * t.pv_curtailed_kw.sum() * 0.25
                 + d.throughput_penalty_per_kwh * battery.abs().sum().sum() * 0.25)
    cost_per_start = {p.id: p.startup_cost for p in demo_district.config.assets.process_load}
    starts = sum(cost_per_start[w["asset"]] * w["starts"] for w in s["process_loads"])
    assert starts > 0  # not a vacuous check: the demo's process loads start
    emissions = float((t.grid_import_kw.clip(lower=0) * t.ci_kg_per_kwh).sum() * 0.25)
    assert s["emissions_kg"] == pytest.approx(emissions, rel=1e-9)
    assert s["objective"] == pytest.approx(emissions + penalties + starts, abs=1e-3)
