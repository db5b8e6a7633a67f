"""Battery extensions: binary charge/discharge exclusion, terminal value, degradation cost."""

import pytest
from test_dispatch import _inputs

from gridctl.dispatch.highs import solve
from gridctl.dispatch.inputs import BatteryParams
from gridctl.dispatch.model import build_model
from gridctl.dispatch.result import plan_table


def _solve(inp):
    m = build_model(inp)
    res = solve(m)
    return res, plan_table(m, inp), m


@pytest.mark.parametrize("binary, expected_import", [(False, 5 - 0.9 * (4.5 - 1.0)), (True, 1 / 0.9)])
def test_binary_forbids_burning_energy_at_negative_price(binary, expected_import):
    # price -0.1/kWh pays for every kWh drawn; the battery (1 kWh of room, 5 kW, 90 %/90 %) ends
    # full; no export (else import + export would be unbounded). The LP charges at 5 kW and discharges at the same time to burn the excess; the MILP
    # can only charge the 1/0.9 kWh that fit.
    bat = BatteryParams("b", 0, 5.0, 0.0, 1.0, 0.0, 0.9, 0.9, binary=binary)
    inp = _inputs([0.3], [0.0], batteries=[bat], objective="cost", price_per_kwh=[-0.1],
                  throughput_penalty_per_kwh=0.0, import_limit_kw=100.0, export_limit_kw=0.0)
    res, table, _ = _solve(inp)
    assert table.grid_import_kw.iloc[0] == pytest.approx(expected_import, abs=1e-6)
    assert table["b.soc_kwh"].iloc[0] == pytest.approx(1.0, abs=1e-6)
    assert (res.mip_gap is not None) == binary


@pytest.mark.parametrize("value, expected_p", [(0.3, -(5.0 - 1.0) * 0.9), (0.5, 0.0)])
def test_terminal_value_decides_whether_to_discharge(value, expected_p):
    # discharging 1 stored kWh delivers 0.9 kWh and saves 0.45 kg at 0.5 kg/kWh: worth it when the
    # stored kWh is valued at 0.3 at the end, not at 0.5
    bat = BatteryParams("b", 0, 10.0, 1.0, 10.0, 5.0, 0.9, 0.9, terminal_value_per_kwh=value)
    inp = _inputs([0.5], [10.0], batteries=[bat], throughput_penalty_per_kwh=0.0)
    _, table, _ = _solve(inp)
    assert table["b.p_kw"].iloc[0] == pytest.approx(expected_p, abs=1e-6)


@pytest.mark.parametrize("degradation, cycles", [(0.05, True), (0.15, False)])
def test_degradation_cost_against_price_spread(degradation, cycles):
    # lossless battery, prices 0.1 then 0.3: a kWh cycled saves 0.2 and costs 2 kWh of throughput
    bat = BatteryParams("b", 0, 5.0, 0.0, 10.0, 0.0, 1.0, 1.0, degradation_cost_per_kwh=degradation)
    inp = _inputs([0.3, 0.3], [10.0, 10.0], batteries=[bat], objective="cost", price_per_kwh=[0.1, 0.3])
    _, table, _ = _solve(inp)
    assert table["b.p_kw"].to_numpy() == pytest.approx([5.0, -5.0] if cycles else [0.0, 0.0], abs=1e-6)


def test_unreachable_terminal_target_is_reported():
    bat = BatteryParams("b", 0, 1.0, 0.0, 10.0, 0.0, 1.0, 1.0, soc_terminal_min_kwh=3.0)
    inp = _inputs([0.1, 0.1], [0.0, 0.0], batteries=[bat])
    _, table, m = _solve(inp)
    assert table["b.soc_kwh"].iloc[-1] == pytest.approx(2.0, abs=1e-6)
    assert m.battery["b"].terminal_short.value == pytest.approx(1.0, abs=1e-6)
