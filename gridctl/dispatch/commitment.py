"""Process loads' commitment proven against the LP relaxation's bound before a MIP is solved.

A re-commitment in the held model (:mod:`gridctl.dispatch.rolling`) first solves the LP
relaxation warm from the last basis (the on/off columns continuous within their bounds). Its
objective is a lower bound on every commitment's. Then it tries two commitments, each as the LP
of that commitment held (warm again): the last solution's (the plan in force, under the new
inputs) and the relaxation's on/off values rounded. The first whose objective lies within the
gap a MIP solve accepts (:func:`gridctl.dispatch.highs.gap_width`) of the bound is a MIP
solution of that gap, proven, with its dispatch and basis as a MIP solve and its polishing LP
leave them. Otherwise the MIP is solved as before. The relaxation is weaker than a MIP's bound
after cuts, so this proves what it can and leaves the rest to the MIP: over the 4 demo days
2016-07-11..14, 17 of 24 re-commitments in three or four warm LPs instead of a branch and bound.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from gridctl.dispatch.highs import OPTIMAL, SolverError, SolveResult, gap_width
from gridctl.dispatch.intraday import IntradayDispatch


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
    basis, rounded = d.h.getBasis(), d.commitment()
    candidates = [rounded] if carried is None else [
        {i: np.where(np.isnan(on), rounded[i], on) for i, on in carried.items()}, rounded]
    for commitment in candidates:
        d.hold(commitment)
        try:
            fixed = d.solve()
        except SolverError:
            continue
        gap = fixed.objective - relaxed.objective
        penalty = float(d.cost[d.soft_cols] @ d.last_values(d.soft_cols))
        if gap <= gap_width(d.h, fixed.objective, penalty, mip_gap):
            return dataclasses.replace(fixed, mip_gap=max(gap, 0.0) / max(abs(fixed.objective), 1.0))
    d.hold(None)
    d.relaxed_basis = basis
    return None


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
