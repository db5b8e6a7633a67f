"""Point and quantile forecast error metrics (NaN pairs are ignored)."""

from __future__ import annotations

import numpy as np


def _pairs(forecast, actual) -> tuple[np.ndarray, np.ndarray]:
    f, a = np.asarray(forecast, dtype=float), np.asarray(actual, dtype=float)
    ok = np.isfinite(f) & np.isfinite(a)
    return f[ok], a[ok]


def mae(forecast, actual) -> float:
    """Mean absolute error, in the unit of the series."""
    f, a = _pairs(forecast, actual)
    return float(np.mean(np.abs(f - a)))


def rmse(forecast, actual) -> float:
    """Root mean squared error, in the unit of the series."""
    f, a = _pairs(forecast, actual)
    return float(np.sqrt(np.mean((f - a) ** 2)))


def nmae(forecast, actual) -> float:
    """MAE divided by the mean absolute actual value (0.1 = 10 %)."""
    f, a = _pairs(forecast, actual)
    return float(np.mean(np.abs(f - a)) / np.mean(np.abs(a)))


def skill(score: float, reference_score: float) -> float:
    """Skill of an error score against a reference: ``1 - score / reference`` (0.2 = 20 % better)."""
    return float(1.0 - score / reference_score)


def pinball(forecast, actual, quantile: float) -> float:
    """Mean pinball (quantile) loss of a ``quantile`` forecast."""
    f, a = _pairs(forecast, actual)
    diff = a - f
    return float(np.mean(np.maximum(quantile * diff, (quantile - 1) * diff)))
