"""Seasonal-naive forecasts use only data from intervals that ended before the issue time."""

import numpy as np
import pandas as pd
import pytest

from forecasts.base import history_before
from forecasts.seasonal_naive import SeasonalNaive


def _history(days=20):
    idx = pd.date_range("2016-07-01", periods=days * 96, freq="15min", tz="UTC")
    rng = np.random.default_rng(1)
    return pd.DataFrame({"a": rng.random(len(idx)), "b": rng.random(len(idx))}, index=idx)


def test_history_before_excludes_unfinished_interval():
    h = _history()
    issue = pd.Timestamp("2016-07-10T12:00Z")
    kept = history_before(h, issue, 15)
    assert kept.index.max() == pd.Timestamp("2016-07-10T11:45Z")


@pytest.mark.parametrize("period", [1, 7])
def test_forecast_unchanged_when_future_data_is_mutated(period):
    h = _history()
    issue = pd.Timestamp("2016-07-15T10:00Z")
    horizon = pd.date_range("2016-07-15T22:00Z", periods=96, freq="15min")
    before = SeasonalNaive(period, "Europe/Berlin").fit(h).predict(issue, horizon)
    mutated = h.copy()
    mutated.loc[mutated.index >= issue] = 1e6  # intervals not yet ended at the issue time
    after = SeasonalNaive(period, "Europe/Berlin").fit(mutated).predict(issue, horizon)
    pd.testing.assert_frame_equal(before, after)
    assert (before < 1e6).all().all()


def test_weekly_naive_takes_same_local_time_last_week():
    h = _history()
    issue = pd.Timestamp("2016-07-15T10:00Z")
    horizon = pd.date_range("2016-07-15T22:00Z", periods=4, freq="15min")
    fc = SeasonalNaive(7, "Europe/Berlin").fit(h).predict(issue, horizon)
    assert fc["a"].to_numpy() == pytest.approx(h["a"].reindex(horizon - pd.Timedelta(days=7)).to_numpy())


def test_daily_naive_across_dst_keeps_local_time():
    idx = pd.date_range("2016-10-25", "2016-11-02", freq="15min", tz="Europe/Berlin", inclusive="left").tz_convert("UTC")
    local_hour = idx.tz_convert("Europe/Berlin").hour
    h = pd.DataFrame({"a": local_hour.astype(float)}, index=idx)
    horizon = pd.date_range(pd.Timestamp("2016-10-31", tz="Europe/Berlin").tz_convert("UTC"), periods=96, freq="15min")
    fc = SeasonalNaive(1, "Europe/Berlin").fit(h).predict(pd.Timestamp("2016-10-30T11:00Z"), horizon)
    assert fc["a"].to_numpy() == pytest.approx(horizon.tz_convert("Europe/Berlin").hour.astype(float))
