"""Network limits in the dispatch: a known constrained optimum, and the congested demo days."""

import copy
from datetime import date

import numpy as np
import pandapower as pp
import pandas as pd
import pyomo.environ as pyo
import pytest

from gridctl.dispatch.ac_loop import solve_network_aware
from gridctl.dispatch.highs import solve
from gridctl.dispatch.inputs import BatteryParams, DispatchInputs
from gridctl.dispatch.model import build_model
from gridctl.dispatch.network import NetworkData, NetworkLimits, Tightening, add_network_block
from gridctl.dispatch.result import plan_table
from gridctl.dispatch.soft import registry
from gridctl.district import District
from gridctl.flexible_loads import place
from gridctl.network_plan import device_q_per_p, network_data
from gridctl.planning import make_plan
from network_models.ac_check import Limits, ac_check
from network_models.jacobian import jacobian_sensitivities
from network_models.linear import OperatingPoint, lindistflow
from network_models.loading import NetworkError

IDX = pd.date_range("2016-07-14", periods=2, freq="1h", tz="UTC")
LOAD_KW = 2000.0


def _three_bus():
    """Slack - 1 km - bus 1 - 1 km - bus 2; 100 A cable (3.46 MVA at 20 kV), 2 MW load at bus 2."""
    net = pp.create_empty_network()
    b = [pp.create_bus(net, vn_kv=20.0) for _ in range(3)]
    pp.create_ext_grid(net, b[0], vm_pu=1.0)
    for f, t in ((0, 1), (1, 2)):
        pp.create_line_from_parameters(net, b[f], b[t], length_km=1.0, r_ohm_per_km=0.2, x_ohm_per_km=0.1,
                                       c_nf_per_km=0.0, max_i_ka=0.1)
    pp.create_load(net, b[2], p_mw=LOAD_KW / 1000.0)
    pp.create_storage(net, b[2], p_mw=0.0, max_e_mwh=10.0)
    return net


def _check(net, battery_kw):
    inj = {"load": pd.DataFrame(LOAD_KW, index=IDX[: len(battery_kw)], columns=[0]),
           "storage": pd.DataFrame(np.asarray(battery_kw, float), index=IDX[: len(battery_kw)], columns=[0])}
    return ac_check(net, inj, Limits(0.9, 1.1, 100.0))


def _inputs():
    # clean hour then dirty hour; a 3 MW battery at bus 2 wants to shift the dirty hour's load
    bat = BatteryParams("b", 2, 3000.0, 0.0, 10000.0, 0.0, 1.0, 1.0)
    return DispatchInputs(index=IDX, dt_h=1.0, load_kw=np.full(2, LOAD_KW), pv_kw=np.zeros(2),
                          ci_kg_per_kwh=np.array([0.1, 0.5]), batteries=[bat], throughput_penalty_per_kwh=0.0)


def _largest_charge_within_rating(net) -> float:
    """Exact AC optimum: the largest charging power that keeps every line at or below 100 %."""
    lo, hi = 0.0, 3000.0
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _check(net, [mid]).max_loading_pct <= 100.0 else (lo, mid)
    return lo


@pytest.mark.parametrize("method", ["sensitivity", "lindistflow"])
def test_line_limit_gives_the_known_constrained_optimum(method):
    net = _three_bus()
    inp = _inputs()
    # without limits the optimum charges what the dirty hour can use (the 2 MW load) and
    # overloads the cable: 4 MW on 3.46 MVA
    free = build_model(inp)
    solve(free)
    free_kw = plan_table(free, inp)["b.p_kw"].to_numpy()
    assert free_kw == pytest.approx([2000.0, -2000.0], abs=1e-6)
    assert _check(net, free_kw).max_loading_pct > 110.0

    base = _check(net, [0.0, 0.0])
    grid = (lindistflow(net, [2]) if method == "lindistflow"
            else jacobian_sensitivities(base.internal, base.v_internal, [2]))
    data = NetworkData(grid, OperatingPoint.from_ac(base, grid, net), NetworkLimits(0.9, 1.1, 100.0),
                       Tightening.none(2, grid))
    m = build_model(inp)
    loop = solve_network_aware(m, data, inp.dt_h, lambda mm: _check(net, plan_table(mm, inp)["b.p_kw"]), rounds=5)
    charge = plan_table(m, inp)["b.p_kw"].to_numpy()[0]
    best = _largest_charge_within_rating(net)
    assert 1000.0 < best < 1500.0  # the cable's headroom above the 2 MW load, less losses
    assert loop.ac.violations == 0 and loop.ac.max_loading_pct <= 100.0
    assert charge == pytest.approx(best, abs=5.0)  # within 0.15 % of the cable's rating
    # emissions of the known optimum: charge in the clean hour, return the same energy in the dirty one
    assert pyo.value(m.emissions_kg) == pytest.approx(0.1 * (LOAD_KW + charge) + 0.5 * (LOAD_KW - charge), rel=1e-6)


def test_rows_are_built_only_where_flexibility_reaches_a_limit():
    net = _three_bus()
    inp = _inputs()
    base = _check(net, [0.0, 0.0])
    grid = lindistflow(net, [2])
    point = OperatingPoint.from_ac(base, grid, net)
    m = build_model(inp)
    loose = add_network_block(m, NetworkData(grid, point, NetworkLimits(0.5, 1.5, 200.0), Tightening.none(2, grid)),
                              1.0)
    assert loose == {"voltage_rows": 0, "thermal_rows": 0}
    tight = add_network_block(m, NetworkData(grid, point, NetworkLimits(0.9, 1.1, 100.0), Tightening.none(2, grid)),
                              1.0)
    assert tight == {"voltage_rows": 0, "thermal_rows": 2}  # both hours; the two cables in series are one row
    # the second block replaced the first: one set of slacks registered, one penalty in the objective
    assert sum(s.limit in ("voltage", "thermal") for s in registry(m)) == 4
    assert str(m.objective.expr).count("network.thermal_above[0]") == 1


def test_demo_winter_day_unmanaged_breaks_limits_and_plan_does_not(demo_district):
    # the summer day (2016-07-14) is in benchmarks/bench_network.py; one day keeps the suite fast
    plan = make_plan(demo_district, date(2016, 1, 14))
    s = plan.summary
    assert s["baseline_ac_check"]["violations"] > 0
    assert s["ac_check"]["violations"] == 0 and s["ac_check"]["not_converged"] == 0
    assert 1 <= s["ac_check"]["rounds"] <= demo_district.config.network.ac_rounds
    assert s["ac_check"]["min_vm_pu"] >= 0.95 and s["ac_check"]["max_loading_pct"] <= 100.0
    assert s["emissions_kg"] < s["baseline_emissions_kg"]


def test_lindistflow_on_a_meshed_net_is_a_config_error(demo_district):
    cfg = demo_district.config.model_copy(deep=True)
    cfg.network.method = "lindistflow"
    district = District(cfg, copy.deepcopy(demo_district.net))
    district.net.switch["closed"] = True  # close every ring
    inp = _inputs()
    m = build_model(inp)
    base = _check(_three_bus(), [0.0, 0.0])
    with pytest.raises(NetworkError, match="network.method: 'lindistflow' cannot model this net.*not radial"):
        network_data(district, m, base)


def test_flexible_loads_draw_reactive_power_like_the_loads_they_replace(demo_district):
    buses = [b.bus for b in demo_district.batteries]
    flex = {p.bus: p for p in place(demo_district.net, demo_district.groups, demo_district.config.assets)[0]}
    buses = sorted(set(buses) | set(flex))
    q = dict(zip(buses, device_q_per_p(demo_district, buses)))
    only_flex = [b for b in flex if b not in {x.bus for x in demo_district.batteries}]
    assert only_flex  # the demo has heat pumps on buses of their own
    for b in only_flex:
        load = demo_district.net.load.loc[flex[b].load]
        assert q[b] == pytest.approx(load.q_mvar / load.p_mw) and q[b] > 0
    assert all(q[b.bus] == 0.0 for b in demo_district.batteries)  # unity-power-factor batteries dominate
