"""Linear grid models against AC power flow, and the topology LinDistFlow sees."""

import copy

import numpy as np
import pandapower as pp
import pandas as pd
import pytest

from network_models.ac_check import Limits, ac_check
from network_models.jacobian import jacobian_sensitivities
from network_models.linear import OperatingPoint, lindistflow, tan_phi

IDX = pd.date_range("2016-07-14", periods=3, freq="15min", tz="UTC")


def _feeder_with_tie():
    """Slack 0 - 1 - 2 and 0 - 3 - 2: a ring opened by the switch on line 3-2 (bus 2 fed via 1)."""
    net = pp.create_empty_network()
    b = [pp.create_bus(net, vn_kv=20.0) for _ in range(4)]
    pp.create_ext_grid(net, b[0], vm_pu=1.02)
    kw = {"std_type": "NA2XS2Y 1x185 RM/25 12/20 kV"}
    pp.create_line(net, b[0], b[1], length_km=3.0, **kw)  # line 0
    pp.create_line(net, b[1], b[2], length_km=2.0, **kw)  # line 1
    pp.create_line(net, b[0], b[3], length_km=4.0, **kw)  # line 2
    tie = pp.create_line(net, b[3], b[2], length_km=1.0, **kw)  # line 3
    pp.create_switch(net, b[2], tie, et="l", closed=False)
    pp.create_switch(net, b[1], 1, et="l", closed=True)
    for bus, p in ((1, 1.5), (2, 2.0), (3, 1.0)):
        pp.create_load(net, bus, p_mw=p, q_mvar=0.3 * p)
    return net


def _ac(net, extra_kw):
    """AC check with the net's loads plus ``extra_kw`` (rows: intervals, columns: buses 1..3) as storage."""
    net = copy.deepcopy(net)
    st = [pp.create_storage(net, bus, p_mw=0.0, max_e_mwh=1.0) for bus in (1, 2, 3)]
    loads = pd.DataFrame(np.tile(net.load.p_mw.to_numpy() * 1000, (len(IDX), 1)), index=IDX, columns=net.load.index)
    storage = pd.DataFrame(extra_kw, index=IDX, columns=st)
    return ac_check(net, {"load": loads, "storage": storage}, Limits())


def test_ac_check_matches_pandapower_runpp():
    net = _feeder_with_tie()
    res = _ac(net, np.array([[0, 0, 0], [500, -800, 300], [0, 1500, 0]], float))
    ref = copy.deepcopy(net)
    pp.create_storage(ref, 2, p_mw=1.5, max_e_mwh=1.0)
    pp.runpp(ref)
    assert res.vm_pu.iloc[2].to_numpy() == pytest.approx(ref.res_bus.vm_pu[res.vm_pu.columns].to_numpy(), abs=1e-9)
    assert res.loading_pct.iloc[2].to_numpy() == pytest.approx(ref.res_line.loading_percent.to_numpy(), abs=1e-6)
    assert res.p_from_kw.iloc[2].to_numpy() == pytest.approx(ref.res_line.p_from_mw.to_numpy() * 1e3, abs=1e-3)


def test_open_switch_decides_which_path_feeds_a_bus():
    net = _feeder_with_tie()
    via_1 = lindistflow(net, [2])
    # bus 2 hangs below line 0 and line 1; the open tie (line 3) carries nothing
    flows = dict(zip(via_1.branches, via_1.dpf[0, :, 0]))
    assert flows == pytest.approx({"line/0": 1.0, "line/1": 1.0, "line/2": 0.0, "line/3": 0.0})
    # move the open point: open line 1, close the tie; now bus 2 is fed through bus 3
    net.switch.loc[net.switch.element == 3, "closed"] = True
    net.switch.loc[net.switch.element == 1, "closed"] = False
    via_3 = lindistflow(net, [2])
    flows = dict(zip(via_3.branches, via_3.dpf[0, :, 0]))
    # line 3 runs 3 -> 2, the flow to bus 2 enters at its from end: +1
    assert flows == pytest.approx({"line/0": 0.0, "line/1": 0.0, "line/2": 1.0, "line/3": 1.0})
    bus1 = list(via_3.buses).index(1)
    assert via_1.dvm[0, bus1, 0] < 0 and via_3.dvm[0, bus1, 0] == 0.0
    # both closed: a loop, which LinDistFlow refuses
    net.switch["closed"] = True
    with pytest.raises(ValueError, match="not radial"):
        lindistflow(net, [2])


@pytest.mark.parametrize("method", ["lindistflow", "sensitivity"])
def test_linear_model_tracks_ac_power_flow(method):
    net = _feeder_with_tie()
    zero = np.zeros((len(IDX), 3))
    base = _ac(net, zero)
    step = np.array([[300.0, -400.0, 200.0], [-500.0, 800.0, 0.0], [0.0, 0.0, -600.0]])
    moved = _ac(net, step)
    buses = [1, 2, 3]
    grid = lindistflow(net, buses) if method == "lindistflow" else jacobian_sensitivities(
        base.internal, base.v_internal, buses)
    point = OperatingPoint.from_ac(base, grid, net)
    vm, loading = grid.predict(point, step)
    vm_ac = moved.vm_pu[grid.buses].to_numpy()
    load_ac = moved.loading_pct[grid.branches].to_numpy()
    change_v = np.abs(point.vm_pu - vm_ac).max()
    share = 0.1 if method == "lindistflow" else 0.01  # first-order exact: error far below the change
    assert np.abs(vm - vm_ac).max() < share * change_v
    # loading: the change of up to 8.5 percentage points is tracked within 0.5 (the far end of a
    # lightly loaded cable, where charging current dominates, is held at its operating value)
    assert np.abs(point.loading_pct - load_ac).max() > 4.0
    assert np.abs(loading - load_ac).max() < 0.5


def test_reactive_power_from_power_factor_deepens_the_drop():
    net = _feeder_with_tie()
    unity = lindistflow(net, [2])
    inductive = lindistflow(net, [2], q_per_p=tan_phi(0.9))
    bus2 = list(unity.buses).index(2)
    assert inductive.dvm[0, bus2, 0] < unity.dvm[0, bus2, 0] < 0
    assert tan_phi(0.9) == pytest.approx(np.tan(np.arccos(0.9)))
    with pytest.raises(ValueError, match="power factor"):
        tan_phi(1.2)
