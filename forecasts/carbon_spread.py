"""How far a carbon-intensity forecast can be trusted, and an intensity that only trusts that far.

The spread of a forecast at a lead time is the root-mean-square error that the same forecaster
made recently at similar leads (:meth:`forecasts.carbon.CarbonForecaster.spread` gathers the
errors from data known at the issue time). :func:`risk_adjusted` shrinks a forecast toward its
horizon mean by ``k`` spreads (a soft threshold): a dip or peak smaller than ``k`` spreads is
not believed at all, a larger one only by its excess. An optimiser weighing the adjusted
intensity does not shift energy into a dip the forecaster usually misses, while the near leads,
where the forecast errs little, keep their shape.
"""

from __future__ import annotations

import numpy as np

LEAD_EDGES_H = np.array([0.5, 1.0, 2.0, 3.0, 6.0, 12.0, 24.0])  # bucket bounds: [0, 0.5), [0.5, 1), ... [24, inf) h


def lead_bucket(lead_h: np.ndarray) -> np.ndarray:
    """Bucket of each lead (hours; negative leads, the interval under way, count as the first)."""
    return np.searchsorted(LEAD_EDGES_H, np.asarray(lead_h, dtype=float), side="right")


def spread_by_lead(lead_h: np.ndarray, error: np.ndarray) -> np.ndarray:
    """Root-mean-square ``error`` per lead bucket; a bucket without errors takes the nearest
    shorter bucket's (the longer one's for the first); all zero when there are no errors."""
    error = np.asarray(error, dtype=float)
    ok = np.isfinite(error)
    bucket = lead_bucket(np.asarray(lead_h, dtype=float)[ok])
    n = len(LEAD_EDGES_H) + 1
    count = np.bincount(bucket, minlength=n)
    sq = np.bincount(bucket, weights=error[ok] ** 2, minlength=n)
    if not count.any():
        return np.zeros(n)
    rms = np.where(count > 0, np.sqrt(sq / np.maximum(count, 1)), np.nan)
    filled = np.flatnonzero(count > 0)
    nearest = filled[np.clip(np.searchsorted(filled, np.arange(n), side="right") - 1, 0, None)]
    return rms[nearest]


def blend_weights(lead_h: np.ndarray, change: np.ndarray, model_change: np.ndarray) -> np.ndarray:
    """Per lead bucket, the weight ``w`` in [0, 1] of a model's forecast change from the last value
    that fits the measured change best (least squares: ``last + w * model_change``); 1 without data."""
    ok = np.isfinite(change) & np.isfinite(model_change)
    bucket = lead_bucket(np.asarray(lead_h, dtype=float)[ok])
    n = len(LEAD_EDGES_H) + 1
    cross = np.bincount(bucket, weights=change[ok] * model_change[ok], minlength=n)
    sq = np.bincount(bucket, weights=model_change[ok] ** 2, minlength=n)
    return np.where(sq > 0, np.clip(cross / np.where(sq > 0, sq, 1.0), 0.0, 1.0), 1.0)


def spread_at(lead_h: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """The spread (one value per bucket, :func:`spread_by_lead`) at each lead in hours."""
    return np.asarray(spread, dtype=float)[lead_bucket(lead_h)]


def risk_adjusted(ci: np.ndarray, spread: np.ndarray, k: float) -> np.ndarray:
    """``ci`` shrunk toward its mean by ``k * spread`` per interval, never past the mean
    (``k = 0``: ``ci`` unchanged)."""
    ci = np.asarray(ci, dtype=float)
    if k == 0 or len(ci) == 0:
        return ci.copy()
    ref = ci.mean()
    deviation = ci - ref
    return ref + np.sign(deviation) * np.maximum(np.abs(deviation) - k * np.asarray(spread, dtype=float), 0.0)
