"""Solve a small dispatch case and read back its plan and violated soft limits (shared by asset tests)."""

from gridctl.dispatch.highs import solve
from gridctl.dispatch.model import build_model
from gridctl.dispatch.result import plan_table
from gridctl.dispatch.soft import violations


def solve_case(inp):
    """``(SolveResult, plan table, violations)`` of the dispatch model of ``inp``."""
    m = build_model(inp)
    res = solve(m)
    return res, plan_table(m, inp), violations(m, inp.index)
