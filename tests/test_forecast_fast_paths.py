"""The forecasters' fast paths give the numbers of the straightforward computations they replace."""

import holidays
import numpy as np
import pandas as pd
import pytest

from forecasts.base import history_before, rows_after
from forecasts.calendar import (
    WallClockHistory,
    holiday_flags,
    issued_before,
    lead_h,
    local_wall_ns,
    time_of_day_h,
    wall_weekday,
)
from forecasts.carbon import CarbonForecaster
from forecasts.load import GbmSettings, tree_predict
from forecasts.pv import ClearSkyModel, PvPlant

TZ = "Europe/Berlin"


def _rows(n: int, codes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.integers(0, codes, n).astype(float), rng.normal(size=(n, 3))])
    x[rng.random(x.shape) < 0.05] = np.nan  # missing values take their learned branch
    x[:, 0] = rng.integers(0, codes, n)
    return x, x[:, 0] * 2.0 + np.nan_to_num(x[:, 1]) + rng.normal(0, 0.1, n)


@pytest.mark.parametrize("threads", [1, 2, 0])  # 0: OpenMP's default
@pytest.mark.parametrize("loss", [{"loss": "squared_error"}, {"loss": "quantile", "quantile": 0.9}])
def test_tree_predict_is_sklearns_predict(loss, threads, monkeypatch):
    x, y = _rows(3000, 4)
    model = GbmSettings(max_iter=30).regressor(**loss).fit(x, y)
    rows, _ = _rows(500, 4, seed=1)
    unseen = rows.copy()
    unseen[:3, 0] = 7.0  # a code the model never saw: sklearn's own encoding (and predict) decides
    expected = model.predict(rows), model.predict(unseen)
    calls = []
    monkeypatch.setattr(model, "predict", lambda x: calls.append(len(x)) or type(model).predict(model, x))
    np.testing.assert_array_equal(tree_predict(model, rows, threads), expected[0])
    assert calls == []  # the trees summed directly
    np.testing.assert_array_equal(tree_predict(model, unseen, threads), expected[1])
    assert calls == [len(unseen)]


def _lag_by_reindex(known: pd.DataFrame, targets: pd.DatetimeIndex, days: int, issue: pd.DatetimeIndex) -> np.ndarray:
    """The look-up by pandas reindexing on local wall time (first of a repeated hour)."""
    wall = known.index.tz_convert(TZ).tz_localize(None)
    first = ~wall.duplicated(keep="first")
    values = pd.DataFrame(known.to_numpy(dtype=float)[first], index=wall[first]).reindex(
        targets.tz_convert(TZ).tz_localize(None) - pd.Timedelta(days=days)).to_numpy()
    ends = pd.Series(known.index[first] + pd.Timedelta(minutes=15), index=wall[first]).reindex(
        targets.tz_convert(TZ).tz_localize(None) - pd.Timedelta(days=days))
    values[~(pd.DatetimeIndex(ends).asi8 <= issue.asi8) | ends.isna().to_numpy()] = np.nan
    return values


@pytest.mark.parametrize("start", ["2016-03-20", "2016-10-23"])  # over the spring and autumn clock changes
def test_wall_clock_lags_are_the_reindexed_ones(start):
    index = pd.date_range(pd.Timestamp(start, tz=TZ), periods=14 * 96, freq="15min").tz_convert("UTC")
    rng = np.random.default_rng(3)
    known = pd.DataFrame(rng.normal(size=(len(index), 2)), index=index, columns=["a", "b"])
    known.iloc[rng.random(len(index)) < 0.1, 0] = np.nan
    targets = index[6 * 96:]
    issue = targets - pd.to_timedelta(rng.integers(0, 3 * 96, len(targets)) * 15, unit="min")
    wall, wall_ns = WallClockHistory(known, TZ, 15), local_wall_ns(targets, TZ)
    for days in (1, 2, 7):
        np.testing.assert_array_equal(wall.lag(wall_ns, days, issue.asi8), _lag_by_reindex(known, targets, days, issue))
    latest, days_back = wall.latest_lag(wall_ns, issue.asi8)
    for k in range(1, 8):
        at = days_back == k
        np.testing.assert_array_equal(latest[at], _lag_by_reindex(known, targets[at], k, issue[at]))
    assert not np.isnan(latest).all()


def test_history_before_slices_a_sorted_table_as_the_mask_does():
    index = pd.date_range("2016-07-01", periods=500, freq="15min", tz="UTC")
    history = pd.DataFrame({"a": np.arange(500.0)}, index=index)
    issue = pd.Timestamp("2016-07-03T10:07Z")
    expected = history.loc[history.index <= issue - pd.Timedelta(minutes=15)]
    pd.testing.assert_frame_equal(history_before(history, issue, 15), expected)
    shuffled = history.sample(frac=1.0, random_state=0)  # unsorted: the mask
    pd.testing.assert_frame_equal(history_before(shuffled, issue, 15).sort_index(), expected, check_freq=False)


def test_kept_solar_positions_and_clear_sky_output_are_computed_ones():
    plants = {"pv/a": PvPlant(100.0, 30, 180, 14), "pv/b": PvPlant(50.0, 20, 100, 10, 30.0)}
    kept = ClearSkyModel(53.59, 11.45, plants)
    first = pd.date_range("2016-07-11T22:00Z", periods=150, freq="15min")
    later = pd.date_range("2016-07-12T09:00Z", periods=150, freq="15min")  # overlaps the first
    for index in (first, later, later[::-1]):
        fresh = ClearSkyModel(53.59, 11.45, plants)
        pd.testing.assert_frame_equal(kept.solar_position(index), fresh.solar_position(index))
        pd.testing.assert_frame_equal(kept.power(index), fresh.power(index))


@pytest.mark.parametrize("start", ["2016-03-26", "2016-10-29", "2016-12-24"])  # clock changes, a year's end
@pytest.mark.parametrize("tz", [TZ, "America/New_York"])
def test_calendar_features_from_wall_times_are_pandas_ones(start, tz):
    index = pd.date_range(start, periods=12 * 96, freq="15min", tz="UTC")
    local = index.tz_convert(tz)
    np.testing.assert_array_equal(time_of_day_h(index, tz), (local.hour + local.minute / 60.0).to_numpy(dtype=float))
    np.testing.assert_array_equal(wall_weekday(local_wall_ns(index, tz)), local.dayofweek.to_numpy(dtype=float))
    issue = index - pd.to_timedelta(np.random.default_rng(1).integers(-900, 10**6, len(index)), unit="s")
    np.testing.assert_array_equal(lead_h(index, issue.asi8), (index - issue).total_seconds().to_numpy() / 3600.0)
    for country, subdivision in (("DE", None), ("DE", "BY"), ("US", None)):
        dates = pd.DatetimeIndex(sorted(holidays.country_holidays(country, subdiv=subdivision,
                                                                  years=sorted(set(local.year)))))
        expected = local.tz_localize(None).normalize().isin(dates).astype(float)
        np.testing.assert_array_equal(holiday_flags(index, tz, country, subdivision), expected)


def test_rows_after_slices_a_sorted_table_as_the_mask_does():
    history = pd.DataFrame({"a": np.arange(500.0)}, index=pd.date_range("2016-07-01", periods=500, freq="15min", tz="UTC"))
    since = pd.Timestamp("2016-07-03T10:00Z")
    expected = history.loc[history.index > since]
    pd.testing.assert_frame_equal(rows_after(history, since), expected)
    shuffled = history.sample(frac=1.0, random_state=0)  # unsorted: the mask
    pd.testing.assert_frame_equal(rows_after(shuffled, since).sort_index(), expected, check_freq=False)


def test_latest_provider_rows_are_the_frame_computation():
    """The provider's latest value issued before an issue, read from arrays, is the frame computation's."""
    rng = np.random.default_rng(5)
    measured = pd.date_range("2016-07-01", periods=96 * 4, freq="15min", tz="UTC")
    starts = measured[96:].repeat(3)[rng.random(3 * 96 * 3) < 0.8]  # up to three provider issues per interval
    issued = starts - pd.to_timedelta(rng.integers(1, 48, len(starts)) * 30, unit="min")
    carbon = pd.concat([
        pd.DataFrame({"ci_kg_per_kwh": rng.random(len(measured)), "issued_at_utc": measured}, index=measured),
        pd.DataFrame({"ci_kg_per_kwh": rng.random(len(starts)), "issued_at_utc": issued}, index=starts),
    ]).assign(signal_type="average", resolution_min=15)
    forecaster = CarbonForecaster(TZ).fit(carbon)
    provider = forecaster._provider
    rows = carbon.loc[carbon["issued_at_utc"] < carbon.index, ["ci_kg_per_kwh", "issued_at_utc"]]
    pd.testing.assert_frame_equal(provider, rows.sort_values("issued_at_utc", kind="stable").sort_index(kind="stable"))
    for issue_time in pd.date_range("2016-07-01T20:00Z", periods=12, freq="170min"):
        horizon = pd.date_range(issue_time.ceil("15min"), periods=150, freq="15min")
        window = provider.loc[(provider.index >= horizon.min()) & (provider.index <= horizon.max())]
        known = window[window.issued_at_utc < issue_time]
        expected = known[~known.index.duplicated(keep="last")]["ci_kg_per_kwh"].reindex(horizon).to_numpy(dtype=float)
        assert np.isfinite(expected).any() and np.isnan(expected).any()
        np.testing.assert_array_equal(forecaster._latest_provider_rows(issue_time, horizon), expected)
    before_any = pd.date_range(measured[0], periods=8, freq="15min")  # no provider row: NaN
    np.testing.assert_array_equal(forecaster._latest_provider_rows(measured[0], before_any), np.full(8, np.nan))


@pytest.mark.parametrize("gaps", [False, True])
def test_window_means_are_the_prefix_sums_of_measured_values(gaps):
    """Window means (from prefix sums; counted by rows where every value is measured) equal those of
    the measured values' and counts' prefix sums, with and without gaps; wall times keep the first
    of a repeated hour."""
    index = pd.date_range(pd.Timestamp("2016-10-25", tz=TZ), periods=10 * 96, freq="15min").tz_convert("UTC")
    rng = np.random.default_rng(4)
    values = rng.normal(size=(len(index), 3))
    if gaps:
        values[rng.random(values.shape) < 0.1] = np.nan
    wall = WallClockHistory(pd.DataFrame(values, index=index), TZ, 15)
    issue = index[::7] + pd.Timedelta(minutes=15)
    finite = np.isfinite(values)
    csum = np.vstack([np.zeros(3), np.cumsum(np.where(finite, values, 0.0), axis=0)])
    ccount = np.vstack([np.zeros(3), np.cumsum(finite, axis=0)])
    for window in (pd.Timedelta(hours=3), pd.Timedelta(days=1), pd.Timedelta(days=14)):
        ends = index.asi8 + pd.Timedelta(minutes=15).value
        hi = np.searchsorted(ends, issue.asi8, side="right")
        lo = np.searchsorted(ends, (issue - window).asi8, side="right")
        count = ccount[hi] - ccount[lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            expected = np.where(count > 0, (csum[hi] - csum[lo]) / np.maximum(count, 1), np.nan)
        np.testing.assert_array_equal(wall.window_mean(issue.asi8, window), expected)
    times, kept, _ = wall._by_wall
    local = index.tz_convert(TZ).tz_localize(None)
    first = ~local.duplicated(keep="first")
    np.testing.assert_array_equal(times, np.sort(local.asi8[first]))
    np.testing.assert_array_equal(kept, values[first][np.argsort(local.asi8[first], kind="stable")])


def test_rows_issued_before_are_the_latest_issued_strictly_before_each_target_issue():
    """``issued_before`` on a long table (intervals far outside the targets' span, several issues
    per interval, some issued after every issue time) against a row-by-row search."""
    rng = np.random.default_rng(4)
    slots = pd.date_range("2016-01-01", periods=3000, freq="15min", tz="UTC")
    t = slots[rng.integers(0, len(slots), 20000)]
    issued = t - pd.to_timedelta(rng.integers(-4 * 60, 48 * 60, len(t)), unit="min")
    table = pd.DataFrame({"v": rng.normal(size=len(t)), "issued_at_utc": issued}, index=t)
    table = table.iloc[np.argsort(issued.asi8, kind="stable")]  # issue order, as a feed arrives
    targets = slots[1000:1300][rng.permutation(300)]
    issue = targets - pd.to_timedelta(rng.integers(0, 36 * 60, len(targets)), unit="min")
    expected = np.full(len(targets), np.nan)
    for k, (target, at) in enumerate(zip(targets, issue)):
        rows = table[(table.index == target) & (table["issued_at_utc"] < at)]
        if len(rows):
            latest = rows["issued_at_utc"].to_numpy()
            expected[k] = rows["v"].to_numpy()[np.flatnonzero(latest == latest.max())[-1]]  # ties: the later row
    got = issued_before(table, "v", targets, issue)
    assert np.isnan(expected).sum() > 10 and (~np.isnan(expected)).sum() > 200
    np.testing.assert_array_equal(got, expected)
    assert np.isnan(issued_before(table.iloc[:0], "v", targets, issue)).all()
