"""Intraday re-solves in place give the same plans as building the updated model from scratch."""

import dataclasses

import numpy as np
import pytest
from scipy import sparse
from test_dispatch import _inputs

from gridctl.dispatch.highs import solve
from gridctl.dispatch.inputs import (
    BatteryParams,
    CurtailablePv,
    EvChargerParams,
    EvSession,
    HeatPumpParams,
)
from gridctl.dispatch.intraday import IntradayDispatch
from gridctl.dispatch.model import build_model
from gridctl.dispatch.result import plan_table
from gridctl.dispatch.soft import violations

N = 8
BAT = BatteryParams("b", 0, 5.0, 1.0, 10.0, 4.0, 0.9, 0.9)
EV = EvChargerParams("ev", 0, 6.0, (EvSession(1, 6, 20.0),))


def _hp(demand=(0, 0, 2, 4, 4, 2, 0, 0), temp0=47.0):
    return HeatPumpParams("hp", 0, 3.0, cop=np.full(N, 3.0), heat_demand_kw=np.array(demand, float),
                          capacity_kwh_per_k=1.0, temp_min_c=40.0, temp_max_c=55.0, temp_initial_c=temp0,
                          loss_kw_per_k=0.01)


def _case(ci, load, pv, hp=None, bat=BAT, ev=EV):
    return _inputs(ci, load, pv=pv, batteries=[bat], ev_chargers=[ev], heat_pumps=[hp or _hp()],
                   pv_assets=[CurtailablePv("pv", 0, np.array(pv, float))], export_limit_kw=3.0)


CI = [0.5, 0.3, 0.1, 0.2, 0.6, 0.4, 0.3, 0.5]
LOAD = [4, 5, 3, 2, 2, 6, 7, 5]
PV = [0, 1, 9, 12, 10, 3, 0, 0]


def _cold(inp):
    m = build_model(inp)
    return solve(m), plan_table(m, inp)


def test_forecast_update_matches_cold_build():
    d = IntradayDispatch(_case(CI, LOAD, PV))
    d.solve()
    ci2, load2, pv2 = [0.2, 0.6, 0.3, 0.1, 0.2, 0.7, 0.3, 0.4], [5, 5, 4, 3, 2, 5, 8, 6], [0, 2, 7, 14, 8, 2, 0, 0]
    demand2 = [1, 1, 2, 5, 3, 2, 1, 0]
    d.update_forecasts(load_kw=load2, pv_kw=pv2, ci_kg_per_kwh=ci2, pv_available_kw={"pv": pv2},
                       heat_demand_kw={"hp": demand2}, cop={"hp": np.full(N, 2.5)})
    warm = d.solve()
    hp2 = dataclasses.replace(_hp(demand2), cop=np.full(N, 2.5))
    cold, table = _cold(_case(ci2, load2, pv2, hp=hp2))
    assert warm.objective == pytest.approx(cold.objective, rel=1e-7)
    plan = d.plan()
    assert plan.emissions_kg.sum() == pytest.approx(table.emissions_kg.sum(), rel=1e-7)
    assert plan.load_kw.tolist() == load2


def test_initial_state_update_at_the_first_interval():
    d = IntradayDispatch(_case(CI, LOAD, PV))
    d.solve()
    d.set_state(0, battery_soc_kwh={"b": 8.0})
    warm = d.solve()
    # the terminal target stays the day's (4 kWh); only the starting state moves
    bat = dataclasses.replace(BAT, soc_initial_kwh=8.0, soc_terminal_min_kwh=4.0)
    cold, table = _cold(_case(CI, LOAD, PV, bat=bat))
    assert warm.objective == pytest.approx(cold.objective, rel=1e-7)
    assert d.plan()["b.soc_kwh"].to_numpy() == pytest.approx(table["b.soc_kwh"].to_numpy(), abs=1e-6)


def test_fixed_past_and_measured_state_match_a_cold_solve_of_the_rest():
    d = IntradayDispatch(_case(CI, LOAD, PV))
    d.solve()
    k = 3
    delivered = float(d.plan()["ev.p_kw"].iloc[:k].sum())  # 1 h intervals
    d.set_state(k, battery_soc_kwh={"b": 6.5}, heat_pump_temp_c={"hp": 47.0})
    d.solve()
    plan = d.plan()
    assert list(plan.index) == list(d.inp.index[k:])
    # the same problem built for the remaining intervals only
    rest = slice(k, N)
    bat = dataclasses.replace(BAT, soc_initial_kwh=6.5, soc_terminal_min_kwh=BAT.soc_initial_kwh)
    ev = EvChargerParams("ev", 0, 6.0, (EvSession(0, 6 - k, 20.0 - delivered),))
    hp = _hp(_hp().heat_demand_kw[rest], temp0=47.0)
    hp = dataclasses.replace(hp, cop=hp.cop[rest])
    inp = _inputs(CI[rest], LOAD[rest], pv=PV[rest], batteries=[bat], ev_chargers=[ev], heat_pumps=[hp],
                  pv_assets=[CurtailablePv("pv", 0, np.array(PV[rest], float))], export_limit_kw=3.0)
    _, table = _cold(inp)
    # (the measured store temperature equals the day's initial one, so both models share the terminal target)
    assert plan.emissions_kg.sum() == pytest.approx(table.emissions_kg.sum(), rel=1e-7)
    for col in ("b.p_kw", "b.soc_kwh", "ev.p_kw", "hp.p_kw", "hp.temp_c", "pv.curtailed_kw"):
        assert plan[col].to_numpy() == pytest.approx(table[col].to_numpy(), abs=1e-5), col


def test_measured_ev_energy_replaces_the_planned_past():
    # the vehicle got 4 kWh less than planned before interval 3: the rest of the session makes it up
    d = IntradayDispatch(_case(CI, LOAD, PV))
    d.solve()
    k = 3
    planned = float(d.plan()["ev.p_kw"].iloc[1:k].sum())
    assert planned > 4.0
    d.set_state(k, ev_delivered_kwh={"ev": planned - 4.0})
    d.solve()
    assert d.plan()["ev.p_kw"].iloc[: 6 - k].sum() == pytest.approx(20.0 - planned + 4.0, abs=1e-6)


def test_forecast_update_moves_the_heat_store_margin():
    # the margin above temp_min follows the heat demand and COP written into the held model
    hp = dataclasses.replace(_hp(), band_margin=True)
    d = IntradayDispatch(_case(CI, LOAD, PV, hp=hp))
    d.solve()
    demand2, cop2 = np.array([1, 1, 2, 5, 3, 2, 1, 0], float), np.full(N, 2.5)
    d.update_forecasts(heat_demand_kw={"hp": demand2}, cop={"hp": cop2})
    warm = d.solve()
    cold, table = _cold(_case(CI, LOAD, PV, hp=dataclasses.replace(hp, heat_demand_kw=demand2, cop=cop2)))
    assert warm.objective == pytest.approx(cold.objective, rel=1e-7)
    assert d.plan()["hp.temp_c"].to_numpy() == pytest.approx(table["hp.temp_c"].to_numpy(), abs=1e-6)


def _highs_numbers(d: IntradayDispatch) -> list[np.ndarray]:
    """Costs, column and row bounds and the dense matrix of ``d``'s HiGHS model."""
    lp = d.h.getLp()
    a = lp.a_matrix_
    matrix = sparse.csc_matrix((a.value_, a.index_, a.start_), shape=(lp.num_row_, lp.num_col_)).toarray()
    return [np.asarray(x, float) for x in (lp.col_cost_, lp.col_lower_, lp.col_upper_, lp.row_lower_,
                                           lp.row_upper_)] + [matrix]


def test_batched_updates_leave_highs_with_the_numbers_of_a_fresh_build():
    # after a first update, two gathered into one write, the second repeating most values of the
    # first (only changed values, bounds and costs are written): HiGHS holds what a model built at
    # the last inputs holds
    hp = dataclasses.replace(_hp(), band_margin=True)
    d = IntradayDispatch(_case(CI, LOAD, PV, hp=hp))
    d.update_forecasts(load_kw=LOAD)
    d.solve()
    ci2, load2, pv2 = [0.2, 0.6, 0.3, 0.1, 0.2, 0.7, 0.3, 0.4], [5, 5, 4, 3, 2, 5, 8, 6], [0, 2, 7, 14, 8, 2, 0, 0]
    demand2, cop2 = np.array([1, 1, 2, 5, 3, 2, 1, 0], float), np.full(N, 2.5)
    load3 = load2[:3] + [9] + load2[4:]
    with d.batch():
        d.update_forecasts(load_kw=load2, pv_kw=pv2, ci_kg_per_kwh=ci2, pv_available_kw={"pv": pv2},
                           heat_demand_kw={"hp": demand2}, cop={"hp": cop2})
        d.update_forecasts(load_kw=load3, pv_available_kw={"pv": pv2}, cop={"hp": cop2})
    hp3 = dataclasses.replace(hp, heat_demand_kw=demand2, cop=cop2)
    fresh = IntradayDispatch(_case(ci2, load3, pv2, hp=hp3))
    for held, built in zip(_highs_numbers(d), _highs_numbers(fresh), strict=True):
        assert held == pytest.approx(built, abs=1e-9)
    assert d.solve().objective == pytest.approx(fresh.solve().objective, rel=1e-9)


def test_solution_read_from_columns_equals_the_model_values_after_each_in_place_solve():
    d = IntradayDispatch(_case(CI, LOAD, PV, ev=EvChargerParams("ev", 0, 6.0, (EvSession(1, 3, 30.0),))))
    for k, load in enumerate(([4, 5, 3, 2, 2, 6, 7, 5], [6, 5, 3, 2, 9, 6, 7, 5], [6, 5, 3, 2, 9, 1, 1, 5])):
        d.update_forecasts(load_kw=load)
        if k:
            d.set_state(k, battery_soc_kwh={"b": 5.0 + k})
        d.solve()
        x = np.asarray(d.h.getSolution().col_value)
        # only the columns that moved are written back; every variable still holds the new solution
        assert [v.value for v in d.repn.columns] == x.tolist()
        from_columns = plan_table(d.model, d.inp, d.values)
        assert from_columns.equals(plan_table(d.model, d.inp))
        found = violations(d.model, d.inp.index, values=d.values)
        assert found == violations(d.model, d.inp.index)
        assert any(v["limit"] == "ev_energy" for v in found)  # 30 kWh cannot be charged in two 1 h intervals at 6 kW
