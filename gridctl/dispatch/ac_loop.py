"""AC verification loop: solve with the linear network block, check every interval with an AC
power flow, tighten each limit the AC check finds violated by the linear model's error there, and
re-solve, for at most ``rounds`` solves.

Leverage: rows are built only for buses and branches some flexible asset can move
(:mod:`network_models.leverage`: swinging its whole power range moves the voltage by at least
``LEVERAGE_MIN_PU`` or the loading by at least ``LEVERAGE_MIN_PCT`` points in some interval).
AC violations elsewhere are out of every asset's reach: no rows, no penalties, reported apart
(``violations_out_of_reach``) and not counted in ``violations``; the loop stops when no
reachable violation is left.

Tightening: where AC shows bus ``k`` below ``v_min`` in interval ``t``, the lower limit of that
row rises by ``vm_linear - vm_ac`` (what the linear model over-estimated) plus a small step;
likewise for ``v_max`` and for loading (percentage points). Corrections accumulate over rounds
and only ever apply to the element and interval where AC saw the violation. The linearisation
is made once and reused in every round (the tightening absorbs its error).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from gridctl.dispatch.highs import SolveResult, solve
from gridctl.dispatch.network import (
    NetworkData,
    Tightening,
    add_network_block,
    bus_flex_values,
    flex_terms,
)
from network_models.ac_check import AcCheckResult
from network_models.leverage import with_leverage

log = logging.getLogger(__name__)

STEP_PU = 1e-4  # extra tightening of a violated voltage limit, p.u.
STEP_PCT = 0.05  # extra tightening of a violated loading limit, percentage points
TOL = 1e-9
ROW_TOL_PU, ROW_TOL_PCT = 1e-5, 0.05  # a linear prediction this far beyond its row uses the row's slack
LEVERAGE_MIN_PU = 1e-3  # an asset's full power range moves a bus voltage at least this much (p.u.) ...
LEVERAGE_MIN_PCT = 1.0  # ... or a branch loading at least this many percentage points


@dataclass
class LoopResult:
    result: SolveResult
    ac: AcCheckResult
    rounds: int
    rows: dict  # rows of the network block in the last round
    network_build_s: float  # time spent building network blocks over all rounds


def tighten(data: NetworkData, x_kw: np.ndarray, ac: AcCheckResult) -> int:
    """Tighten every limit ``ac`` shows violated by the linear model's error at ``x_kw`` (unless the
    plan already breaks that row); return how many."""
    g, lim, tight = data.grid, data.limits, data.tight
    vm_lin, load_lin = g.predict(data.point, x_kw)
    vm_ac = ac.vm_pu[g.buses].to_numpy()
    load_ac = ac.loading_pct[g.branches].to_numpy()
    limit_pct = lim.max_loading_pct - lim.thermal_margin_pct - tight.loading
    with np.errstate(invalid="ignore"):  # NaN: interval did not converge
        # where the plan itself already breaks the row (its slack is used: the assets are at their
        # limits there), a tighter row changes nothing: those violations are reported, not chased
        low = (vm_ac < lim.v_min_pu - TOL) & (vm_lin >= lim.v_min_pu + tight.v_low - ROW_TOL_PU)
        high = (vm_ac > lim.v_max_pu + TOL) & (vm_lin <= lim.v_max_pu - tight.v_high + ROW_TOL_PU)
        over = (load_ac > lim.max_loading_pct + TOL) & (load_lin <= limit_pct + ROW_TOL_PCT)
    tight.v_low[low] += np.maximum(vm_lin - vm_ac, 0.0)[low] + STEP_PU
    tight.v_high[high] += np.maximum(vm_ac - vm_lin, 0.0)[high] + STEP_PU
    tight.loading[over] += np.maximum(load_ac - load_lin, 0.0)[over] + STEP_PCT
    return int(low.sum() + high.sum() + over.sum())


def leveraged(m: pyo.ConcreteModel, data: NetworkData) -> NetworkData:
    """``data`` restricted to the buses and branches the model's flexible injections can move."""
    _, _, x_lo, x_hi = flex_terms(m, list(m.FLEX_BUS))
    span = np.nan_to_num(x_hi - x_lo, posinf=1e15).max(axis=0) if len(x_lo) else np.zeros(len(m.FLEX_BUS))
    grid, point = with_leverage(data.grid, data.point, span, LEVERAGE_MIN_PU, LEVERAGE_MIN_PCT)
    return NetworkData(grid, point, data.limits, Tightening.none(len(m.T), grid))


def solve_network_aware(
    m: pyo.ConcreteModel,
    data: NetworkData,
    dt_h: float,
    check: Callable[[pyo.ConcreteModel], AcCheckResult],
    rounds: int,
    time_limit_s: float = 30.0,
    mip_gap: float = 1e-4,
    start: dict[str, float] | None = None,
) -> LoopResult:
    """Solve ``m`` with network rows from ``data`` (where assets have leverage) and verify with
    ``check`` (solved model -> AC check of its plan) for at most ``rounds`` rounds; the model holds
    the last solution and the AC result knows which elements were within reach. ``start``: a MIP
    start for every round (:func:`gridctl.dispatch.highs.solve`)."""
    t0 = time.perf_counter()
    data = leveraged(m, data)
    reach = (list(data.grid.buses), list(data.grid.branches))
    build_s = time.perf_counter() - t0
    for r in range(1, rounds + 1):
        t0 = time.perf_counter()
        rows = add_network_block(m, data, dt_h)
        build_s += time.perf_counter() - t0
        result = solve(m, time_limit_s, mip_gap, start)
        ac = check(m)
        ac.reach = reach
        log.info("AC round %d: %d violations within reach, %d out of reach, %d intervals solved",
                 r, ac.reachable_violations, ac.out_of_reach_violations(), ac.solved_intervals)
        if ac.reachable_violations == 0 or r == rounds:
            break
        tightened = tighten(data, bus_flex_values(m), ac)
        log.info("AC round %d: %d rows tightened", r, tightened)
        if tightened == 0:
            break  # violations only where no linear row exists (e.g. not converged) or already accepted
    return LoopResult(result, ac, r, rows, build_s)
