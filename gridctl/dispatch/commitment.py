"""Process loads' commitment proven against the LP relaxation's bound before a MIP is solved.

A re-commitment in the held model (:mod:`gridctl.dispatch.rolling`) first solves the LP
relaxation warm from the last basis (the on/off columns continuous within their bounds). Its
objective is a lower bound on every commitment's. Then it tries two commitments, each as the LP
of that commitment held (warm again): the last solution's (the plan in force, under the new
inputs), then one found by diving from the relaxation (:func:`dived`: the more certain half of
the fractional on/off values by count rounded and fixed, the rest solved again, at most
:data:`DIVE_LPS` times, then the rest rounded; by count, so a load the relaxation spreads at one
value over its window keeps intervals free to take its energy). The first whose objective lies within the gap a
MIP solve accepts (:func:`gridctl.dispatch.highs.gap_width`) of the bound is a MIP solution of
that gap, proven, with its dispatch and basis as a MIP solve and its polishing LP leave them.
Otherwise the MIP is solved as before. The relaxation is weaker than a MIP's bound after cuts,
so this proves what it can and leaves the rest to the MIP: in replays of the demo week
2016-07-11..17 and of 2016-01-18..24, the MIP decided 5 and 2 of 35 re-commitments (7 and 3
when every value at most the median distance was fixed at once; 18 and 7 with the relaxation's
values rounded instead of dived for).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from gridctl.dispatch.dive import certain_half
from gridctl.dispatch.highs import OPTIMAL, SolverError, SolveResult, gap_width
from gridctl.dispatch.intraday import IntradayDispatch

DIVE_LPS = 4  # LPs a dive solves before it rounds what is left (docs/performance.md)


def certified_commitment(d: IntradayDispatch, mip_gap: float,
                         carried: dict[str, np.ndarray] | None = None) -> SolveResult | None:
    """A commitment proven within ``mip_gap`` (see module doc), held in ``d`` and solved: its result
    carries the proven gap; else None, with ``d``'s on/off columns integral and free again and the
    relaxation's basis kept (``d.relaxed_basis``) for the LP of the MIP's commitment.
    ``carried``: for a new or shifted model, the plan in force's on/off values over its horizon
    (NaN where it had none); by default a model that holds a solution carries its own."""
    if d.integer_count != len(d.model.process_load) * len(d.inp.index):  # other integers (battery binaries)
        return None
    carried = d.commitment() if carried is None and d.solved else carried
    d.relaxed_basis = None
    d.hold(None, relax=True)
    try:
        relaxed = d.solve()
    except SolverError:  # the MIP reports it
        relaxed = None
    if relaxed is None or relaxed.status != OPTIMAL:  # stopped early: no bound
        d.hold(None)
        return None
    basis, on = d.h.getBasis(), d.on_values()
    if carried is not None:
        proven = _proven(d, {i: np.where(np.isnan(c), np.round(on[i]), c) for i, c in carried.items()},
                         relaxed.objective, mip_gap)
        if proven is not None:
            return proven
    commitment = dived(d, on)
    proven = None if commitment is None else _proven(d, commitment, relaxed.objective, mip_gap)
    if proven is None:
        d.hold(None)
        d.relaxed_basis = basis
    return proven


def _proven(d: IntradayDispatch, commitment: dict[str, np.ndarray], bound: float, mip_gap: float
            ) -> SolveResult | None:
    """``commitment`` held in ``d`` and solved, with its proven gap, when its objective lies within
    the gap a MIP accepts of the relaxation's ``bound``; else None."""
    d.hold(commitment)
    try:
        fixed = d.solve()
    except SolverError:
        return None
    gap = fixed.objective - bound
    penalty = float(d.cost[d.soft_cols] @ d.last_values(d.soft_cols))
    if gap > gap_width(d.h, fixed.objective, penalty, mip_gap):
        return None
    return dataclasses.replace(fixed, mip_gap=max(gap, 0.0) / max(abs(fixed.objective), 1.0))


def dived(d: IntradayDispatch, on: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
    """A commitment (0/1 by load over ``d``'s horizon) dived for from the relaxation's on/off
    values ``on``: the half of the fractional values nearest 0 or 1 (by count, ties in load and
    interval order) are rounded (half up) and fixed, and the rest solved again (warm), until none is
    fractional or :data:`DIVE_LPS` LPs were solved; what is left is then rounded. None when a
    fixing leaves the relaxation without a solution. ``d`` holds the last LP's fixings."""
    names, ends = list(on), np.cumsum([len(v) for v in on.values()])[:-1]
    x = np.concatenate(list(on.values()))  # in load and interval order
    fixed = np.full(len(x), np.nan)
    for _ in range(DIVE_LPS):
        at = certain_half(x)
        if not len(at):
            break
        fixed[at] = x[at] >= 0.5
        d.hold(dict(zip(names, np.split(fixed, ends))))
        try:
            d.solve()
        except SolverError:
            return None
        on = d.on_values()
        x = np.concatenate([on[i] for i in names])
    return {i: np.round(v) for i, v in on.items()}


def carried_commitment(old: IntradayDispatch | None, new: IntradayDispatch) -> dict[str, np.ndarray] | None:
    """``old``'s on/off values at ``new``'s intervals (NaN where ``old`` has none), when both
    models hold the same process loads and ``old`` a solution."""
    if old is None or not old.solved or list(old.model.process_load) != list(new.model.process_load):
        return None
    return commitment_at(old, new.inp.index)


def commitment_at(d: IntradayDispatch, index: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """``d``'s last on/off values at the intervals of ``index`` (NaN where its horizon has none)."""
    at = d.inp.index.get_indexer(index)
    return {i: np.where(at >= 0, on[at], np.nan) for i, on in d.commitment().items()}
