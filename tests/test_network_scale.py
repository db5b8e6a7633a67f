"""Scale measures of the network-aware dispatch: rows only where assets have leverage, violations
out of reach reported apart, AC re-checks only of intervals whose injections changed."""

import numpy as np
import pandapower as pp
import pandas as pd
import pytest

from gridctl.dispatch.ac_loop import leveraged, solve_network_aware
from gridctl.dispatch.inputs import BatteryParams, DispatchInputs
from gridctl.dispatch.model import build_model
from gridctl.dispatch.network import NetworkData, NetworkLimits, Tightening
from gridctl.dispatch.result import plan_table
from network_models.ac_check import Limits, ac_check
from network_models.jacobian import jacobian_sensitivities
from network_models.linear import OperatingPoint

IDX = pd.date_range("2016-07-14", periods=4, freq="1h", tz="UTC")
LIMITS = Limits(0.95, 1.05, 100.0)


def _two_feeders():
    """Feeder A: slack - bus 1 - bus 2 (battery, 2 MW load); feeder B: slack - bus 3 with a load far
    too large for its cable (under-voltage no asset of feeder A can touch)."""
    net = pp.create_empty_network()
    b = [pp.create_bus(net, vn_kv=20.0) for _ in range(4)]
    pp.create_ext_grid(net, b[0], vm_pu=1.0)
    for f, t, km in ((0, 1, 1.0), (1, 2, 1.0), (0, 3, 12.0)):
        pp.create_line_from_parameters(net, b[f], b[t], length_km=km, r_ohm_per_km=0.3, x_ohm_per_km=0.1,
                                       c_nf_per_km=0.0, max_i_ka=0.4)
    pp.create_load(net, b[2], p_mw=2.0)
    pp.create_load(net, b[3], p_mw=9.0)
    pp.create_storage(net, b[2], p_mw=0.0, max_e_mwh=10.0)
    return net


def _check(net, battery_kw):
    n = len(battery_kw)
    inj = {"load": pd.DataFrame({0: 2000.0, 1: 9000.0}, index=IDX[:n]),
           "storage": pd.DataFrame({0: np.asarray(battery_kw, float)}, index=IDX[:n])}
    return ac_check(net, inj, LIMITS)


def test_violations_no_asset_can_touch_get_no_rows_and_are_reported_apart():
    net = _two_feeders()
    base = _check(net, np.zeros(4))
    assert base.intervals.voltage_violations.min() >= 1  # bus 3 is below 0.95 p.u. in every interval
    bat = BatteryParams("b", 2, 1000.0, 0.0, 4000.0, 2000.0, 1.0, 1.0)
    inp = DispatchInputs(index=IDX, dt_h=1.0, load_kw=np.full(4, 11000.0), pv_kw=np.zeros(4),
                         ci_kg_per_kwh=np.array([0.1, 0.5, 0.1, 0.5]), batteries=[bat])
    m = build_model(inp)
    grid = jacobian_sensitivities(base.internal, base.v_internal, [2])
    data = NetworkData(grid, OperatingPoint.from_ac(base, grid, net), NetworkLimits(0.95, 1.05, 100.0),
                       Tightening.none(4, grid))
    kept = leveraged(m, data).grid
    assert 2 in set(kept.buses) and 3 not in set(kept.buses)  # feeder B: no leverage, no rows
    assert "line/2" not in kept.branches
    loop = solve_network_aware(m, data, 1.0, lambda model: _check(net, plan_table(model, inp)["b.p_kw"]), rounds=3)
    summary = loop.ac.summary()
    assert summary["violations"] == 0 and summary["violations_out_of_reach"] == loop.ac.violations >= 4
    assert loop.rounds == 1  # nothing reachable to chase
    assert "network" in [c.local_name for c in m.component_objects()]


def test_ac_check_solves_only_intervals_whose_injections_changed():
    net = _two_feeders()
    first = _check(net, [0.0, 100.0, 200.0, 300.0])
    again = _check(net, [0.0, 100.0, 200.0, 300.0])
    assert again.solved_intervals == 0
    np.testing.assert_array_equal(again.v_internal, first.v_internal)
    changed = _check(net, [0.0, 100.0, 250.0, 300.0])
    assert changed.solved_intervals == 1
    fresh = ac_check(_two_feeders_copy(net), {"load": pd.DataFrame({0: 2000.0, 1: 9000.0}, index=IDX),
                                               "storage": pd.DataFrame({0: [0.0, 100.0, 250.0, 300.0]}, index=IDX)},
                     LIMITS)
    assert changed.vm_pu.to_numpy() == pytest.approx(fresh.vm_pu.to_numpy(), abs=1e-9)


def _two_feeders_copy(net):
    """The same net with a changed impedance nowhere relevant: a different structure, so a new model."""
    other = _two_feeders()
    other.line.loc[2, "c_nf_per_km"] = 1e-9
    return other
