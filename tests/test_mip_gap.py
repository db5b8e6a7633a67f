"""A MIP's relative gap is measured without the soft limits' penalties: a limit out of reach must
not widen what HiGHS accepts (gridctl/dispatch/highs.py)."""

import numpy as np
import pyomo.environ as pyo
import pytest

from gridctl.dispatch.highs import MIP_OPTIONS, compile_model, pass_model, solve
from gridctl.dispatch.soft import add_slack


def _knapsack(out_of_reach_kwh: float) -> tuple[pyo.ConcreteModel, np.ndarray]:
    """Pick items (values ``v``) within three capacities; a soft limit short by ``out_of_reach_kwh``
    whatever is picked adds 1e4 per kWh to the objective."""
    rng = np.random.default_rng(3)
    n = 60
    v, w = rng.integers(10, 100, n), rng.integers(10, 100, (3, n))
    m = pyo.ConcreteModel()
    m.I = pyo.RangeSet(0, n - 1)
    m.x = pyo.Var(m.I, within=pyo.Binary)
    m.cap = pyo.Constraint(range(3), rule=lambda m, k: sum(int(w[k, i]) * m.x[i] for i in m.I) <= int(w[k].sum() // 3))
    short = add_slack(m, "short_kwh", None, limit="test", asset=None, unit="kWh", penalty=1e4)
    m.floor = pyo.Constraint(expr=short >= out_of_reach_kwh)
    m.objective = pyo.Objective(expr=-sum(int(v[i]) * m.x[i] for i in m.I) + 1e4 * short)
    return m, v


def _picked_value(m: pyo.ConcreteModel, v: np.ndarray) -> int:
    return int(sum(v[i] * round(m.x[i].value) for i in m.I))


def test_a_penalty_out_of_reach_does_not_widen_the_gap():
    exact, v = _knapsack(0.0)
    solve(exact, mip_gap=1e-9)
    best = _picked_value(exact, v)
    inflated, _ = _knapsack(100.0)  # 1e6 of penalty: a 1e-4 gap on it would accept 100 of value lost
    result = solve(inflated, mip_gap=1e-4)
    assert inflated.short_kwh.value == 100.0
    assert best - _picked_value(inflated, v) <= 1e-4 * best  # integer values: the optimum itself
    assert result.objective == pytest.approx(-_picked_value(inflated, v) + 1e6)


def test_the_heuristics_left_out_keep_the_optimum():
    """:data:`MIP_OPTIONS` only shorten the search: HiGHS holds them, and the knapsack's proven
    optimum (gap 0) is the one HiGHS finds with its defaults."""
    model, v = _knapsack(0.0)
    h = pass_model(compile_model(model), 30.0, 0.0)
    for name, value in MIP_OPTIONS.items():
        held = h.getOptionValue(name)  # highspy returns it with a status
        assert (held[1] if isinstance(held, tuple) else held) == value
    h.run()
    without = h.getInfo().objective_function_value
    h.resetOptions()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.clearSolver()
    h.run()
    assert h.getInfo().objective_function_value == pytest.approx(without, abs=1e-9)
    solve(model, mip_gap=0.0)
    assert -_picked_value(model, v) == pytest.approx(without, abs=1e-9)
