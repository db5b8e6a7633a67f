"""Deferrable process loads as a MILP (real HiGHS): windows, contiguity, min on/off, starts, groups."""

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest

from gridctl.dispatch.highs import solve
from gridctl.dispatch.inputs import DispatchInputs
from gridctl.dispatch.model import build_model
from gridctl.dispatch.process_load import ProcessLoadParams, ProcessWindow, window_report
from tests.dispatch_case import solve_case

DT_H = 0.25
N = 96


def _inputs(ci: np.ndarray, loads: list[ProcessLoadParams], groups: dict[str, float] | None = None) -> DispatchInputs:
    index = pd.date_range("2016-06-01", periods=len(ci), freq="15min", tz="Europe/Berlin")
    return DispatchInputs(index=index, dt_h=DT_H, load_kw=np.full(len(ci), 50.0), pv_kw=np.zeros(len(ci)),
                          ci_kg_per_kwh=ci, process_loads=loads, process_group_max_kw=groups or {})


def _carbon(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 0.3 + 0.2 * np.sin(np.arange(N) / 7.0) + 0.1 * rng.random(N)


def _press(**kw) -> ProcessLoadParams:
    """On/off 40 kW for 3 h (12 intervals) within 08:00-16:00 (intervals 32..63)."""
    args = {"id": "press", "bus": 1, "p_min_kw": 40.0, "p_max_kw": 40.0,
            "windows": (ProcessWindow(32, 64, 40.0 * 3, starts_left=1),)}
    return ProcessLoadParams(**{**args, **kw})


def test_contiguous_block_lands_on_cleanest_three_hours():
    ci = _carbon(3)
    res, table, found = solve_case(_inputs(ci, [_press()]))
    p = table["press.p_kw"].to_numpy()
    on = np.flatnonzero(p > 1e-6)
    assert len(on) == 12 and on[-1] - on[0] == 11  # one block of 3 h, never split
    assert np.allclose(p[on], 40.0)
    best = min(range(32, 64 - 12 + 1), key=lambda s: ci[s:s + 12].sum())  # brute force over the window
    assert on[0] == best
    assert res.mip_gap is not None and not found


def test_contiguity_holds_where_free_running_would_split():
    ci = np.full(N, 0.5)
    ci[34:40] = 0.1  # two clean stretches of 1.5 h, apart: free running takes both
    ci[50:56] = 0.1
    free = solve_case(_inputs(ci, [_press(windows=(ProcessWindow(32, 64, 120.0),))]))[1]["press.p_kw"].to_numpy()
    assert np.allclose(free[34:40], 40.0) and np.allclose(free[50:56], 40.0)
    one = solve_case(_inputs(ci, [_press()]))[1]["press.p_kw"].to_numpy()
    on = np.flatnonzero(one > 1e-6)
    assert len(on) == 12 and on[-1] - on[0] == 11


def _alternating() -> np.ndarray:
    ci = np.full(N, 0.6)
    ci[32:64:2] = 0.1  # every other interval is clean
    return ci


def test_min_on_off_and_max_starts_hold_where_the_relaxation_breaks_them():
    ci = _alternating()
    pl = ProcessLoadParams("mixer", 1, 20.0, 20.0, (ProcessWindow(32, 64, 20.0 * 2, starts_left=2),),
                           min_on_steps=4, min_off_steps=4)
    inp = _inputs(ci, [pl])
    relaxed = build_model(inp)
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(relaxed)
    solve(relaxed)
    on_lp = np.array([pyo.value(relaxed.process_load["mixer"].on[t]) for t in range(N)])
    assert ((on_lp > 1e-6) & (on_lp < 1 - 1e-6)).any()  # fractional on-states: not a schedule

    _, table, _ = solve_case(inp)
    on = table["mixer.p_kw"].to_numpy() > 1e-6
    edges = np.flatnonzero(np.diff(np.r_[0, on.astype(int), 0]))
    runs, gaps = edges[1::2] - edges[0::2], edges[2::2] - edges[1:-1:2]
    assert on.sum() == 8 and (runs >= 4).all() and (gaps >= 4).all()
    assert len(runs) <= 2
    report = window_report(pl, table["mixer.p_kw"].to_numpy(), DT_H, inp.index)[0]
    assert report["starts"] == len(runs) and report["unserved_kwh"] == 0.0


def test_start_cost_trades_against_emissions():
    ci = _alternating()
    pl = ProcessLoadParams("kiln", 1, 20.0, 20.0, (ProcessWindow(32, 64, 20.0),))
    free = solve_case(_inputs(ci, [pl]))[1]["kiln.p_kw"].to_numpy() > 1e-6
    assert np.count_nonzero(np.diff(np.r_[0, free.astype(int)]) == 1) == 4  # four clean single intervals
    costly = ProcessLoadParams("kiln", 1, 20.0, 20.0, (ProcessWindow(32, 64, 20.0),), startup_cost=50.0)
    on = solve_case(_inputs(ci, [costly]))[1]["kiln.p_kw"].to_numpy() > 1e-6
    assert np.count_nonzero(np.diff(np.r_[0, on.astype(int)]) == 1) == 1


def test_semi_continuous_power_is_zero_or_within_its_range_and_groups_share_a_budget():
    ci = _carbon(5)
    ci[40:48] = 0.05  # both loads want the same clean two hours
    a = ProcessLoadParams("comp_a", 1, 10.0, 30.0, (ProcessWindow(32, 64, 40.0),), group="works")
    b = ProcessLoadParams("comp_b", 2, 10.0, 30.0, (ProcessWindow(32, 64, 40.0),), group="works")
    _, table, found = solve_case(_inputs(ci, [a, b], {"works": 35.0}))
    pa, pb = table["comp_a.p_kw"].to_numpy(), table["comp_b.p_kw"].to_numpy()
    assert (pa + pb <= 35.0 + 1e-6).all()
    for p in (pa, pb):
        assert ((p < 1e-6) | ((p >= 10.0 - 1e-6) & (p <= 30.0 + 1e-6))).all()
        assert p.sum() * DT_H == pytest.approx(40.0)
    assert not found
    unbudgeted = solve_case(_inputs(ci, [a, b]))[1]
    assert (unbudgeted["comp_a.p_kw"] + unbudgeted["comp_b.p_kw"]).max() > 35.0  # the budget binds


def test_request_beyond_the_window_is_reported_unserved():
    pl = _press(windows=(ProcessWindow(32, 40, 400.0, starts_left=1),))
    inp = _inputs(_carbon(1), [pl])
    _, table, found = solve_case(inp)
    report = window_report(pl, table["press.p_kw"].to_numpy(), DT_H, inp.index)[0]
    assert report["delivered_kwh"] == pytest.approx(80.0) and report["unserved_kwh"] == pytest.approx(320.0)
    assert [v["limit"] for v in found] == ["process_energy"]
    balance = table.load_kw + table["press.p_kw"] - table.pv_kw
    assert np.allclose(table.grid_import_kw, balance)


def test_a_semi_continuous_plan_adds_what_each_start_ramp_misses():
    # 10-30 kW, 40 kWh in 08:00-16:00, a one-minute ramp: clean stretches apart make it start twice
    ci = np.full(N, 0.5)
    ci[36:39] = 0.1
    ci[52:55] = 0.1
    ramp_h = 60 / 3600
    pl = ProcessLoadParams("comp", 1, 10.0, 30.0, (ProcessWindow(32, 64, 40.0),), ramp_h=ramp_h)
    _, table, found = solve_case(_inputs(ci, [pl]))
    p = table["comp.p_kw"].to_numpy()
    starts = np.flatnonzero((p > 1e-6) & (np.r_[0.0, p[:-1]] < 1e-6))
    assert len(starts) >= 2 and not found
    # the device ramps linearly to p over the first minute of a start: it misses p * ramp_h / 2 there
    delivered = p.sum() * DT_H - (p[starts] * ramp_h / 2).sum()
    assert delivered == pytest.approx(40.0, abs=1e-6)
