"""Metrics and the walk-forward scorer."""

import numpy as np
import pandas as pd
import pytest

from forecasts import metrics
from forecasts.evaluate import Target, score, walk_forward


def test_metrics_on_known_values():
    f, a = np.array([1.0, 2.0, 5.0]), np.array([1.0, 4.0, 2.0])
    assert metrics.mae(f, a) == pytest.approx(5 / 3)
    assert metrics.rmse(f, a) == pytest.approx(np.sqrt(13 / 3))
    assert metrics.nmae(f, a) == pytest.approx((5 / 3) / (7 / 3))
    assert metrics.skill(1.0, 4.0) == pytest.approx(0.75)
    assert metrics.pinball(f, a, 0.9) == pytest.approx((0.9 * 2 + 0.1 * 3) / 3)


def test_walk_forward_scores_models_against_baselines():
    idx = pd.date_range("2016-07-01", periods=96 * 3, freq="15min", tz="UTC")
    actual = pd.Series(np.arange(len(idx), dtype=float), index=idx)
    seen = []

    def perfect(issue, horizon):
        seen.append(issue)
        return actual.reindex(horizon)

    def off_by_two(issue, horizon):
        return actual.reindex(horizon) + 2.0

    days = [(idx[96 * d] - pd.Timedelta(hours=12), idx[96 * d: 96 * (d + 1)]) for d in (1, 2)]
    results = walk_forward([Target("load", actual, {"forecast": perfect, "naive": off_by_two})], days)
    table = score(results, ["naive"]).set_index("model")
    assert seen == [d[0] for d in days]
    assert table.loc["forecast", "mae"] == 0 and table.loc["naive", "mae"] == pytest.approx(2.0)
    assert table.loc["forecast", "skill_vs_naive"] == pytest.approx(1.0)
    assert len(results) == 2 * 2 * 96

