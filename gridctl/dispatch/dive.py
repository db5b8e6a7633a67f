"""Diving from an LP relaxation to integer values: a MIP's first solution without branch and bound.

A dive solves the relaxation (integer columns continuous within their bounds), rounds and fixes
the more certain half of the fractional values (:func:`certain_half`: nearest an integer, by
count, ties in column order), solves the rest again warm, and repeats. By count, so a load the
relaxation runs at one fractional value over its whole window keeps intervals free to take its
energy (fixing every value as far from an integer at once left it unserved). The re-commitments
of held models prove their dive against the relaxation's bound
(:mod:`gridctl.dispatch.commitment`), and so does a perfect-foresight bound's MIP (:func:`dive`,
``dive`` of :func:`gridctl.dispatch.highs.solve`): where the dive's solution lies within the MIP
gap of the relaxation's bound, no branch and bound is run (the copper-plate bound of
2016-12-05..11: 1.3 s instead of 9.7 s, docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

INTEGRAL_TOL = 1e-6  # a value this close to an integer is integral
MAX_LPS = 24  # LPs a one-shot dive solves at most before it rounds what is left


def certain_half(x: np.ndarray) -> np.ndarray:
    """Positions of the half (rounded up) of ``x``'s fractional values nearest an integer, by
    count, ties in order of position."""
    distance = np.abs(x - np.round(x))
    fractional = np.flatnonzero(distance > INTEGRAL_TOL)
    return fractional[np.argsort(distance[fractional], kind="stable")][:(len(fractional) + 1) // 2]


@dataclass(frozen=True)
class Dive:
    """A dive in a HiGHS MIP (:func:`dive`): the relaxation's objective, a bound on every solution
    of the MIP, and the integer columns' bounds before it."""

    bound: float
    cols: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def restore(self, h: highspy.Highs) -> None:
        """``h``'s MIP as the dive found it: the columns integer in their bounds, no solution held."""
        n = len(self.cols)
        h.changeColsBounds(n, self.cols, self.lower, self.upper)
        h.changeColsIntegrality(n, self.cols, np.full(n, highspy.HighsVarType.kInteger))
        h.clearSolver()


def dive(h: highspy.Highs, integer: np.ndarray) -> Dive | None:
    """Dive in ``h``'s MIP from its relaxation until none of the ``integer`` columns is fractional
    (after :data:`MAX_LPS` LPs the rest is rounded half up and solved once more): ``h`` then holds
    the LP of those values solved (the columns continuous, fixed at them). None (``h``'s MIP
    restored) when the relaxation or a fixing has no solution."""
    cols = integer.astype(np.int32)
    lp = h.getLp()
    lower, upper = np.asarray(lp.col_lower_)[cols], np.asarray(lp.col_upper_)[cols]
    h.changeColsIntegrality(len(cols), cols, np.full(len(cols), highspy.HighsVarType.kContinuous))
    x = _solved(h, cols)
    made = Dive(h.getInfo().objective_function_value, cols, lower, upper)
    for n in range(MAX_LPS + 1):
        at = certain_half(x) if x is not None else []
        if not len(at):
            break
        if n == MAX_LPS:  # round what is left
            at = np.flatnonzero(np.abs(x - np.round(x)) > INTEGRAL_TOL)
        value = np.floor(x[at] + 0.5)
        h.changeColsBounds(len(at), cols[at], value, value)
        x = _solved(h, cols)
    if x is None:
        made.restore(h)
        return None
    return made


def _solved(h: highspy.Highs, cols: np.ndarray) -> np.ndarray | None:
    """Run ``h`` (an LP now); the values of ``cols``, or None without an optimum."""
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return np.asarray(h.getSolution().col_value)[cols]
