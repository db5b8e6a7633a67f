"""Hand a Pyomo model to HiGHS through Pyomo's standard-form compiler and ``highspy``.

This path (``LinearStandardFormCompiler`` + ``Highs.passModel``, garbage collection paused)
is several times faster than constraint-by-constraint interfaces (see PERFORMANCE.md).
Solution values are written back into the Pyomo variables.

A MIP's relative gap is measured on its objective without the soft limits' penalties
(:mod:`gridctl.dispatch.soft`): a limit out of the assets' reach adds a large constant-like
penalty, and a relative gap on that sum would accept, say, 100 kWh of a process load left
unserved as "within 1e-4". When HiGHS stops at a gap wider than ``mip_gap`` times the objective
without penalties, it is run again from its solution with that width as an absolute gap.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import sys
import time
from dataclasses import dataclass

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from gridctl.dispatch import dive as diving
from gridctl.dispatch.soft import soft_columns

OPTIMAL = "optimal"
TIME_LIMIT = "time_limit"  # best solution found within the limit
INFEASIBLE = "infeasible"
FAILED = "failed"


THREADS = 1  # threads of HiGHS's task scheduler (see :func:`_first_instance`)


def _first_instance() -> None:
    """Make this process's first ``Highs()`` and run it on a one-column LP: HiGHS prints its banner
    to stdout at the first instance, before any option can be set (stdout is on /dev/null here),
    and starts its task scheduler at the first run with that run's ``threads``, for the process's
    lifetime. One thread: the dispatch MIPs are solved at the root, where a second thread took as
    long and 40 % more CPU (docs/performance.md), a core the daemon's other work or a replay's
    helper process runs on; and a process forked later (a replay's helpers) inherits no worker
    threads it would lack. Where the scheduler already runs (HiGHS used before this import), it
    is left as it is."""
    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
            libc.fflush(None)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", THREADS)
    h.passModel(one_column_lp())
    h.run()  # kError, and nothing changed, where a scheduler of another size runs already


def one_column_lp() -> highspy.HighsLp:
    """The smallest LP HiGHS runs: one column in [0, 1], no rows."""
    lp = highspy.HighsLp()
    lp.num_col_, lp.col_cost_, lp.col_lower_, lp.col_upper_ = 1, [0.0], [0.0], [1.0]
    lp.a_matrix_.start_ = [0, 0]
    return lp


_first_instance()


class SolverError(Exception):
    """HiGHS returned no usable solution."""


@dataclass
class SolveResult:
    status: str
    objective: float
    handover_s: float
    solve_s: float
    mip_gap: float | None
    num_rows: int
    num_cols: int


def solve(model: pyo.ConcreteModel, time_limit_s: float = 30.0, mip_gap: float = 1e-4,
          start: dict[str, float] | None = None, dive: bool = False) -> SolveResult:
    """Solve ``model`` (one active minimisation objective) and load the solution into it.
    ``start``: values of integer variables by name (:func:`integer_values` of a related model),
    handed to HiGHS as a partial MIP start: it completes them into a first solution, or drops
    them when they admit none. Without one and with ``dive``, a MIP first dives from its relaxation
    (:func:`gridctl.dispatch.dive.dive`): a dived solution within the gap of the relaxation's bound
    is the result, proven without branch and bound. The result is a solution within ``mip_gap``
    either way.

    Raises :class:`SolverError` when HiGHS finds no feasible solution.
    """
    t0 = time.perf_counter()
    with PauseGC():
        repn = compile_model(model)
        h = pass_model(repn, time_limit_s, mip_gap)
        soft = soft_columns(model, {id(v): j for j, v in enumerate(repn.columns)})
        if start:
            set_start(h, repn.columns, start)
        soft = (soft, repn.c.toarray()[0][soft])
        proven = _proven_dive(h, repn, soft, mip_gap) if dive and not start else None
    if proven is not None:
        return dataclasses.replace(run(h, repn, handover_s=time.perf_counter() - t0), mip_gap=proven)
    return run(h, repn, handover_s=time.perf_counter() - t0, soft=soft)


def _proven_dive(h: highspy.Highs, repn, soft: tuple[np.ndarray, np.ndarray], mip_gap: float) -> float | None:
    """After a dive in ``h``'s MIP (:func:`gridctl.dispatch.dive.dive`): the gap its solution is
    proven within when that is within ``mip_gap`` (module doc), ``h`` holding its LP; else None,
    ``h`` holding the MIP as it was (none without integer columns)."""
    integer = np.flatnonzero([v.is_integer() for v in repn.columns])
    made = diving.dive(h, integer) if len(integer) else None
    if made is None:
        return None
    x = np.asarray(h.getSolution().col_value)
    objective = h.getInfo().objective_function_value
    gap = objective - made.bound
    if gap > gap_width(h, objective + float(repn.c_offset[0]), float(soft[1] @ x[soft[0]]), mip_gap):
        made.restore(h)
        return None
    return max(gap, 0.0) / max(abs(objective + float(repn.c_offset[0])), 1.0)


def integer_values(model: pyo.ConcreteModel) -> dict[str, float]:
    """The solved values of ``model``'s integer variables (rounded), by name: a MIP start for a
    model with the same integer variables (:func:`solve`)."""
    return {v.name: float(round(v.value)) for v in model.component_data_objects(pyo.Var, descend_into=True)
            if v.is_integer() and v.value is not None}


def set_start(h: highspy.Highs, columns, start: dict[str, float]) -> None:
    """Hand HiGHS the values ``start`` holds for the integer variables among ``columns`` (a
    compiled model's) as a partial solution: a MIP start it completes (see :func:`solve`)."""
    at = [(j, start[v.name]) for j, v in enumerate(columns) if v.is_integer() and v.name in start]
    if at:
        index, value = zip(*at)
        h.setSolution(len(at), np.array(index, dtype=np.int32), np.array(value, dtype=float))


def compile_model(model: pyo.ConcreteModel):
    """Pyomo's standard form of ``model``: ``repn.A``, ``rhs``, ``rows`` (constraint, sense), ``columns``, ``c``."""
    return LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=pyo.minimize)


def run(h: highspy.Highs, repn, handover_s: float = 0.0, loaded: np.ndarray | None = None,
        soft: tuple[np.ndarray, np.ndarray] | None = None) -> SolveResult:
    """Run HiGHS on its current model (warm when it holds a basis) and load the solution into
    ``repn``'s Pyomo variables (``loaded``: the column values they hold, so only those that moved are
    written). ``soft``: the soft limits' slack columns and their costs, so a MIP's gap is measured
    without them (module doc). Raises :class:`SolverError` when there is no usable solution."""
    t1 = time.perf_counter()
    limit_s = _option(h, "time_limit")
    # HiGHS 1.x holds time_limit against its clock since the instance was made, so a held model
    # would meet it after that much solving over days: the limit counts from this run on
    h.setOptionValue("time_limit", h.getRunTime() + limit_s)
    try:
        h.run()
        if soft is not None:
            _close_penalty_gap(h, float(repn.c_offset[0]), *soft, limit_s - (time.perf_counter() - t1))
    finally:
        h.setOptionValue("time_limit", limit_s)
    solve_s = time.perf_counter() - t1
    status = h.getModelStatus()
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if status == highspy.HighsModelStatus.kOptimal:
        label = OPTIMAL
    elif status in (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kInterrupt) and has_solution:
        label = TIME_LIMIT
    elif status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        raise SolverError(f"dispatch model is infeasible ({h.modelStatusToString(status)})")
    else:
        raise SolverError(f"HiGHS returned no usable solution ({h.modelStatusToString(status)})")
    values = np.asarray(h.getSolution().col_value)
    columns = repn.columns
    for j in range(len(values)) if loaded is None else np.flatnonzero(values != loaded).tolist():
        columns[j].set_value(float(values[j]), skip_validation=True)
    for var, expr in repn.eliminated_vars:
        var.set_value(pyo.value(expr), skip_validation=True)
    is_mip = info.mip_node_count >= 0  # -1 after an LP solve
    return SolveResult(
        status=label,
        objective=float(info.objective_function_value + repn.c_offset[0]),
        handover_s=handover_s,
        solve_s=solve_s,
        mip_gap=float(info.mip_gap) if is_mip else None,
        num_rows=repn.A.shape[0],
        num_cols=repn.A.shape[1],
    )


def _close_penalty_gap(h: highspy.Highs, offset: float, soft_cols: np.ndarray, soft_cost: np.ndarray,
                       left_s: float) -> None:
    """After a MIP run: when its gap is wider than ``mip_rel_gap`` times the objective without the
    soft limits' penalties, run again from its solution with that width as an absolute gap
    (until the first run's time limit, ``left_s`` seconds away); the options are restored after."""
    info = h.getInfo()
    if info.mip_node_count < 0 or info.primal_solution_status != 2:  # an LP, or no solution to start from
        return
    x = np.asarray(h.getSolution().col_value)
    objective = info.objective_function_value
    rel_gap = _option(h, "mip_rel_gap")
    width = gap_width(h, objective + offset, float(soft_cost @ x[soft_cols]), rel_gap)
    abs_gap = _option(h, "mip_abs_gap")
    if objective - info.mip_dual_bound <= width or left_s <= 0:
        return
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", width)
    h.setSolution(len(x), np.arange(len(x), dtype=np.int32), x)
    try:
        h.run()  # the time limit the first run was given holds: HiGHS's clock runs on
    finally:
        h.setOptionValue("mip_rel_gap", rel_gap)
        h.setOptionValue("mip_abs_gap", abs_gap)


def gap_width(h: highspy.Highs, objective: float, penalty: float, rel_gap: float) -> float:
    """The absolute gap a MIP solution is accepted at: ``rel_gap`` times HiGHS's objective of its
    last run and times ``objective`` less the soft limits' ``penalty`` (module doc), the smaller."""
    solver = h.getInfo().objective_function_value
    return rel_gap * min(max(abs(solver), 1.0), max(abs(objective - penalty), 1.0))


def _option(h: highspy.Highs, name: str) -> float:
    """A numeric option's value (highspy returns it with a status)."""
    value = h.getOptionValue(name)
    return float(value[1] if isinstance(value, tuple) else value)


def column_bounds(columns) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the Pyomo variables ``columns`` (infinite where none)."""
    inf = highspy.kHighsInf
    pairs = [v.bounds for v in columns]  # both bounds in one call (one look at the domain)
    lb = np.array([-inf if lo is None else lo for lo, _ in pairs], dtype=float)
    ub = np.array([inf if hi is None else hi for _, hi in pairs], dtype=float)
    return lb, ub


# MIP primal heuristics left out: the dispatch MIPs (process loads' commitment, the perfect-foresight
# bounds) are solved at the root node, where these two cost 20-40 % of the time and found no solution
# the others miss (docs/performance.md). A HiGHS that lacks an option has nothing to switch off.
MIP_OPTIONS = {"mip_heuristic_run_feasibility_jump": False, "mip_heuristic_run_root_reduced_cost": False}


def pass_model(repn, time_limit_s: float, mip_gap: float) -> highspy.Highs:
    """A HiGHS instance holding ``repn`` (bounds of rows by sense), with time limit, MIP gap and
    :data:`MIP_OPTIONS` set."""
    n_rows, n_cols = repn.A.shape
    inf = highspy.kHighsInf
    mult = np.array([m for _, m in repn.rows], dtype=int)
    rhs = np.asarray(repn.rhs, dtype=float)
    row_lower = np.where(mult >= 0, np.where(mult == 0, rhs, -inf), rhs)
    row_upper = np.where(mult <= 0, np.where(mult == 0, rhs, inf), rhs)
    col_lower, col_upper = column_bounds(repn.columns)
    integer = np.array([v.is_integer() for v in repn.columns], dtype=bool)
    A = repn.A.tocsc()
    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.col_cost_ = np.asarray(repn.c.toarray()[0] if n_cols else [], dtype=float)
    lp.col_lower_ = col_lower
    lp.col_upper_ = col_upper
    lp.row_lower_ = row_lower
    lp.row_upper_ = row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    if integer.any():
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integer]
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    for name, value in MIP_OPTIONS.items():
        h.setOptionValue(name, value)  # kError, and nothing set, where this HiGHS has no such option
    h.passModel(lp)
    return h
