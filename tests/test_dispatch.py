"""Dispatch optima that can be computed by hand."""

import numpy as np
import pandas as pd
import pytest

from gridctl.dispatch.highs import solve
from gridctl.dispatch.inputs import BatteryParams, CurtailablePv, DispatchInputs
from gridctl.dispatch.model import build_model
from gridctl.dispatch.result import plan_table


def _inputs(ci, load, pv=None, batteries=(), pv_assets=(), **kw):
    n = len(ci)
    idx = pd.date_range("2016-07-14", periods=n, freq="1h", tz="UTC")
    return DispatchInputs(index=idx, dt_h=1.0, load_kw=np.array(load, float),
                          pv_kw=np.zeros(n) if pv is None else np.array(pv, float),
                          ci_kg_per_kwh=np.array(ci, float), batteries=list(batteries),
                          pv_assets=list(pv_assets), **kw)


def test_battery_shifts_energy_from_clean_to_dirty_hour():
    # 1 h intervals, load 10 kW; intensity 0.1 then 0.5 kg/kWh; battery 5 kW, 10 kWh, empty at start,
    # eta 0.9 each way. Charging 5 kWh stores 4.5; discharging all of it delivers 4.05 kWh.
    # Terminal target = initial (0), so it may end empty.
    bat = BatteryParams("b", 0, 5.0, 0.0, 10.0, 0.0, 0.9, 0.9)
    inp = _inputs([0.1, 0.5], [10, 10], batteries=[bat], throughput_penalty_per_kwh=0.0)
    m = build_model(inp)
    res = solve(m)
    table = plan_table(m, inp)
    assert res.status == "optimal"
    assert table["b.p_kw"].to_numpy() == pytest.approx([5.0, -4.05], abs=1e-6)
    expected = 15 * 0.1 + (10 - 4.05) * 0.5
    assert res.objective == pytest.approx(expected, rel=1e-9)
    assert table.emissions_kg.sum() == pytest.approx(expected, rel=1e-9)


def test_cycle_is_unprofitable_below_break_even_spread():
    # round-trip efficiency 0.81: shifting pays only if ci_high * 0.81 > ci_low
    bat = BatteryParams("b", 0, 5.0, 0.0, 10.0, 0.0, 0.9, 0.9)
    inp = _inputs([0.42, 0.5], [10, 10], batteries=[bat])  # 0.5 * 0.81 = 0.405 < 0.42
    m = build_model(inp)
    solve(m)
    assert plan_table(m, inp)["b.p_kw"].abs().max() == pytest.approx(0.0, abs=1e-6)


def test_pv_curtailed_only_when_export_limit_binds():
    pv = CurtailablePv("pv", 0, np.array([30.0, 30.0]))
    inp = _inputs([0.3, 0.3], [10, 10], pv=[30, 30], pv_assets=[pv], export_limit_kw=15.0)
    m = build_model(inp)
    solve(m)
    table = plan_table(m, inp)
    assert table["pv.curtailed_kw"].to_numpy() == pytest.approx([5.0, 5.0], abs=1e-6)
    assert table.grid_import_kw.to_numpy() == pytest.approx([-15.0, -15.0], abs=1e-6)


def test_terminal_soc_target_is_met():
    bat = BatteryParams("b", 0, 5.0, 0.0, 10.0, 6.0, 0.95, 0.95)
    inp = _inputs([0.9, 0.1, 0.9], [10, 10, 10], batteries=[bat])
    m = build_model(inp)
    solve(m)
    assert plan_table(m, inp)["b.soc_kwh"].iloc[-1] >= 6.0 - 1e-6


def test_nan_input_is_rejected():
    with pytest.raises(ValueError, match="ci_kg_per_kwh contains NaN"):
        _inputs([0.1, float("nan")], [1, 1])
