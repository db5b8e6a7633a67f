"""The load headroom calibrated from the forecast's realised errors (``[dispatch] headroom_days``)."""

import warnings

import numpy as np
import pandas as pd
import pytest

from gridctl.cycle import decide
from gridctl.district import District
from gridctl.forecast_issue import make_forecast
from gridctl.forecasting import district_forecasters
from gridctl.headroom import (
    _day_errors,
    _measured_loads_kw,
    _nanquantile_higher,
    day_peak_so_far_kw,
    error_quantile_kw,
    load_headroom_kw,
    row_groups,
)
from gridctl.plan_ac import check_schedule
from gridctl.replay.sweep import district_with_config

NOW = pd.Timestamp("2016-01-23T16:00Z")  # under 28 days of history: seasonal naive, no quantile model


def with_headroom_days(base: District, days: int) -> District:
    cfg = base.config.model_copy(deep=True)
    cfg.dispatch.lookahead_h, cfg.dispatch.headroom_days = 0.0, days
    cfg.network.thermal_margin_pct = 0.0  # the headroom alone keeps the limits, no reserve below them
    return district_with_config(base, cfg)


def test_error_headroom_reads_nothing_issued_or_measured_after_the_issue(demo_district):
    """Loads after the issue time changed tenfold leave the headroom as it was."""
    horizon = pd.date_range(NOW, periods=16, freq="15min")
    district = with_headroom_days(demo_district, 3)
    before = error_quantile_kw(district, NOW, horizon, 0.9)
    changed = District(district.config, demo_district.net)
    history = demo_district.history.copy()
    later = history.index >= NOW - pd.Timedelta(minutes=14)  # the interval under way at NOW, and after
    history.loc[later, district.load_series] *= 10.0
    changed.__dict__.update(history=history, carbon=demo_district.carbon)
    after = error_quantile_kw(changed, NOW, horizon, 0.9)
    assert (before.to_numpy() > 0).any()
    pd.testing.assert_frame_equal(before, after)


def test_seen_errors_keep_the_feeder_within_limits_where_the_forecaster_has_no_quantiles(demo_district):
    """On short history the load forecaster has no quantile model, so its P90 is its median and the
    network rows keep no headroom: the evening peak's realised loads then overload the feeder the
    plan counted on. With the headroom calibrated from the last two weeks' realised errors the
    plan keeps it within its limits at the realised loads."""
    now = pd.Timestamp("2016-01-19T17:00Z")  # 18:00 CET, a Tuesday
    block = pd.date_range(now, periods=16, freq="15min")
    counts = {}
    for days in (0, 14):
        district = with_headroom_days(demo_district, days)
        plan = decide(district, now, {}).plan
        fc = make_forecast(district, now, plan.table.index)
        rows = row_groups(district, fc, fc.groups.index)[district.load_series]
        assert (rows.to_numpy() > fc.groups[district.load_series].to_numpy()).any() == (days > 0)
        counts[days] = check_schedule(district, demo_district.history.loc[block], plan.table.loc[block]).violations
    assert counts[0] > 0 and counts[14] == 0


@pytest.mark.parametrize("q", [0.1, 0.5, 0.8, 0.9, 0.95])
def test_the_pooled_error_quantile_is_numpys_nanquantile(q):
    rng = np.random.default_rng(7)
    errors = rng.normal(size=(96, 3, 70))
    errors[rng.random(errors.shape) < 0.3] = np.nan
    errors[5, 1, :] = np.nan  # no known error at a lead
    errors[7, 0, :-1] = np.nan  # one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanquantile(errors, q, axis=2, method="higher")
    np.testing.assert_array_equal(_nanquantile_higher(errors, q), expected)


def test_a_decisions_own_issue_serves_the_headroom_later_with_the_same_errors(demo_district, monkeypatch):
    """The median load forecast a decision issued gives the headroom of the days after its errors
    without a second issue, and the same numbers a second issue gives."""
    issued = pd.Timestamp("2016-07-12T09:00Z")
    district = with_headroom_days(demo_district, 2)
    make_forecast(district, issued, pd.date_range(issued, periods=120, freq="15min"))
    load = district_forecasters(district).load
    issues, predict_issues = [], load.predict_issues
    monkeypatch.setattr(load, "predict_issues", lambda ts, *a: issues.extend(ts) or predict_issues(ts, *a))
    served = _day_errors(district, issued)
    assert issues == [] and not np.isnan(served).all()
    again = _day_errors(with_headroom_days(demo_district, 2), issued)
    assert issues == [issued]
    np.testing.assert_array_equal(again, served)


def test_headroom_and_row_loads_are_the_frame_computations(demo_district):
    """The issue's upper loads are the forecaster's P90 or the median plus the errors' quantile, where
    higher; the headroom (row sums of numpy arrays) and the row groups equal the frame arithmetic they replace."""
    now = pd.Timestamp("2016-07-12T09:00Z")
    fc = make_forecast(demo_district, now, pd.date_range(now, periods=60, freq="15min"))
    loads = demo_district.load_series
    own = district_forecasters(demo_district).load.predict_quantiles(now, fc.groups.index, (0.5, 0.9))[0.9]
    upper = np.maximum(own, fc.groups[loads] + error_quantile_kw(demo_district, now, fc.groups.index, 0.9))
    rows = fc.groups.assign(**{c: np.maximum(upper[c].to_numpy(), fc.groups[c].to_numpy()) for c in loads})
    pd.testing.assert_frame_equal(row_groups(demo_district, fc, fc.groups.index), rows)
    headroom = (rows[loads].sum(axis=1) - fc.groups[loads].sum(axis=1)).to_numpy()
    assert headroom.max() > 0
    np.testing.assert_array_equal(load_headroom_kw(demo_district, fc), headroom)


def test_day_peak_is_the_frame_computation(demo_district):
    """The day's peak import so far, from numpy row sums, is the frame arithmetic's (gaps count as 0)."""
    now = pd.Timestamp("2016-07-12T13:00Z")
    history = demo_district.history.copy()
    history.iloc[history.index.get_indexer([now - pd.Timedelta(hours=2)]), 0] = np.nan  # a gap in a load series
    district = District(demo_district.config, demo_district.net)
    district.__dict__.update(history=history, carbon=demo_district.carbon)
    day = history.loc[(history.index >= pd.Timestamp("2016-07-11T22:00Z")) & (history.index < now)]
    expected = float((day[district.load_series].sum(axis=1) - day[district.pv_series].sum(axis=1)).max())
    assert day_peak_so_far_kw(district, now, now) == expected > 0


def test_measured_loads_read_once_are_the_reindexed_history_and_follow_a_new_one(demo_district):
    """The loads kept as an array per history are the history's reindexed rows (NaN where none), and a
    district given a new history (the live daemon's newest measurements) reads the new one."""
    district = District(demo_district.config, demo_district.net)
    district.__dict__.update(history=demo_district.history, carbon=demo_district.carbon)
    starts = pd.date_range(demo_district.history.index[-48], periods=96, freq="15min")  # past the history's end
    expected = demo_district.history[district.load_series].reindex(starts).to_numpy(dtype=float)
    assert np.isnan(expected).any() and np.isfinite(expected).any()
    np.testing.assert_array_equal(_measured_loads_kw(district, starts.asi8), expected)
    changed = demo_district.history.copy()
    changed[district.load_series] *= 2.0
    district.__dict__["history"] = changed
    np.testing.assert_array_equal(_measured_loads_kw(district, starts.asi8), 2.0 * expected)
