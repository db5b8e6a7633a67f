"""A solve stopped before optimality with a feasible solution in hand yields a usable plan labelled
``time_limit`` (HiGHS interrupted after its first improving MIP solution, as a time limit would)."""

from __future__ import annotations

import numpy as np
import pytest
from test_dispatch import _inputs

from gridctl.dispatch.highs import (
    OPTIMAL,
    TIME_LIMIT,
    compile_model,
    integer_values,
    pass_model,
    run,
    set_start,
    solve,
)
from gridctl.dispatch.inputs import BatteryParams
from gridctl.dispatch.model import build_model
from gridctl.dispatch.result import plan_table


def _milp():
    ci = 0.3 + 0.2 * np.sin(np.arange(96) / 5.0) + 0.05 * np.cos(np.arange(96) * 1.7)
    batteries = [BatteryParams(f"b{i}", 0, 5.0 + i, 0.0, 20.0 + 3 * i, 10.0, 0.9, 0.95, binary=True) for i in range(4)]
    return _inputs(list(ci), [12.0] * 96, batteries=batteries, import_limit_kw=30.0)


def test_interrupted_solve_keeps_a_feasible_plan():
    inp = _milp()
    m = build_model(inp)
    repn = compile_model(m)
    h = pass_model(repn, time_limit_s=60.0, mip_gap=0.0)
    h.setOptionValue("presolve", "off")
    found = []
    h.cbMipImprovingSolution += lambda e: found.append(e.data_out.objective_function_value)
    h.cbMipInterrupt += lambda e: e.interrupt() if found else None
    res = run(h, repn)
    assert res.status == TIME_LIMIT and found
    assert res.objective == pytest.approx(found[-1] + repn.c_offset[0], rel=1e-9)
    table = plan_table(m, inp)
    for b in inp.batteries:  # the incumbent is a plan within every limit
        soc = table[f"{b.id}.soc_kwh"]
        assert soc.between(b.soc_min_kwh - 1e-6, b.soc_max_kwh + 1e-6).all()
        assert soc.iloc[-1] >= b.soc_initial_kwh - 1e-6
        p = table[f"{b.id}.p_kw"].to_numpy()
        prev = np.concatenate([[b.soc_initial_kwh], soc.to_numpy()[:-1]])
        np.testing.assert_allclose(soc, prev + np.where(p > 0, p * b.eta_charge, p / b.eta_discharge), atol=1e-6)
    optimum = solve(build_model(inp), mip_gap=0.0)
    assert optimum.status == OPTIMAL and optimum.objective <= res.objective + 1e-9



def test_a_mip_start_is_completed_into_the_first_solution():
    inp = _milp()
    optimum_model = build_model(inp)
    optimum = solve(optimum_model, mip_gap=0.0)
    start = integer_values(optimum_model)
    assert len(start) == 4 * 96 and set(start.values()) == {0.0, 1.0}  # each battery's charging binary
    m = build_model(inp)
    repn = compile_model(m)
    h = pass_model(repn, time_limit_s=60.0, mip_gap=0.0)
    set_start(h, repn.columns, start)
    found = []
    h.cbMipImprovingSolution += lambda e: found.append(e.data_out.objective_function_value)
    h.cbMipInterrupt += lambda e: e.interrupt() if found else None
    res = run(h, repn)  # stopped at its first solution: the start, its continuous columns solved
    assert res.status == TIME_LIMIT and len(found) == 1
    assert res.objective == pytest.approx(optimum.objective, rel=1e-9)
    assert integer_values(m) == start
    assert solve(build_model(inp), mip_gap=0.0, start=start).objective == pytest.approx(optimum.objective, rel=1e-9)


def test_a_held_model_keeps_its_time_limit_per_solve():
    """HiGHS 1.x measures ``time_limit`` from the instance's first run: a model held for days (a
    persistent dispatch model) would meet it after that much solving in all. Every solve of the
    held instance gets the whole limit: many solves, together far past it, all optimal."""
    inp = _inputs([0.3] * 8, [12.0] * 8, batteries=[BatteryParams("b", 0, 5.0, 0.0, 20.0, 10.0, 0.9, 0.95)])
    repn = compile_model(build_model(inp))
    limit_s = 0.02
    h = pass_model(repn, time_limit_s=limit_s, mip_gap=1e-4)
    solves = 0
    while h.getRunTime() < 5 * limit_s and solves < 20_000:
        h.clearSolver()  # a cold solve each time, so the clock moves
        assert run(h, repn).status == OPTIMAL
        solves += 1
    assert h.getRunTime() >= 5 * limit_s
    assert h.getOptionValue("time_limit")[1] == limit_s  # the option as it was set
