"""Load forecaster: no look-ahead, holidays learned, ordered quantiles, logged fallback."""

import logging
import pickle
from dataclasses import replace
from datetime import date, time

import numpy as np
import pandas as pd

from forecasts import load
from forecasts.load import GbmSettings, LoadForecaster
from forecasts.seasonal_naive import SeasonalNaive
from gridctl.timegrid import gate_time, local_day

TZ = "Europe/Berlin"
FAST = GbmSettings(max_iter=40, min_history_days=21, retrain_days=7, max_train_rows=30_000, max_quantile_rows=10_000)


def _load(start="2016-03-01", end="2016-05-20", seed=0) -> pd.DataFrame:
    """Two office-like series: daytime peak on working days, low on Sundays and public holidays."""
    idx = pd.date_range(pd.Timestamp(start, tz=TZ), pd.Timestamp(end, tz=TZ), freq="15min", inclusive="left").tz_convert("UTC")
    local = idx.tz_convert(TZ)
    hour = local.hour + local.minute / 60
    holidays = pd.to_datetime(["2016-03-25", "2016-03-28", "2016-05-05", "2016-05-16"])
    off = (local.dayofweek == 6) | local.tz_localize(None).normalize().isin(holidays)
    shape = 1.0 + np.where(off, 0.0, 2.0 * np.exp(-((hour - 13) / 4) ** 2))
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"load/a": 100 * shape * rng.normal(1, 0.03, len(idx)),
                         "load/b": 40 * shape * rng.normal(1, 0.03, len(idx))}, index=idx)


def _day(day: str) -> tuple[pd.Timestamp, pd.DatetimeIndex]:
    """Day-ahead issue time (12:00 the day before) and the local day's intervals."""
    d = date.fromisoformat(day)
    return gate_time(d, TZ, time(12)), local_day(d, TZ, 15)


def _forecaster() -> LoadForecaster:
    return LoadForecaster(TZ, 15, time(12), "DE", None, FAST)


def test_forecast_unchanged_when_data_at_or_after_issue_is_mutated():
    history = _load()
    issue, horizon = _day("2016-05-12")
    before = _forecaster().fit(history).predict_quantiles(issue, horizon)
    mutated = history.copy()
    mutated.loc[mutated.index >= issue] *= 5.0
    after = _forecaster().fit(mutated).predict_quantiles(issue, horizon)
    for q in before:
        pd.testing.assert_frame_equal(before[q], after[q])


def test_holiday_is_forecast_where_last_week_misleads():
    history = _load()
    issue, horizon = _day("2016-05-16")  # Whit Monday; the Monday before was a working day
    actual = history.loc[horizon]
    model = _forecaster().fit(history).predict(issue, horizon)
    naive = SeasonalNaive(7, TZ).fit(history).predict(issue, horizon)
    model_mae = (model - actual).abs().to_numpy().mean()
    naive_mae = (naive - actual).abs().to_numpy().mean()
    assert model_mae < 0.5 * naive_mae


def test_quantiles_are_ordered_and_bracket_the_median():
    history = _load()
    issue, horizon = _day("2016-05-11")
    q = _forecaster().fit(history).predict_quantiles(issue, horizon)
    assert (q[0.1] <= q[0.5]).all().all() and (q[0.5] <= q[0.9]).all().all()
    assert (q[0.9] - q[0.1]).to_numpy().mean() > 0


def test_short_history_falls_back_to_seasonal_naive_and_says_why(caplog):
    history = _load(end="2016-03-15")
    issue, horizon = _day("2016-03-14")
    forecaster = _forecaster().fit(history)
    with caplog.at_level(logging.WARNING):
        fc = forecaster.predict(issue, horizon)
    pd.testing.assert_frame_equal(fc, SeasonalNaive(7, TZ).fit(history).predict(issue, horizon))
    assert "need 21 days" in forecaster.fallback_reason
    assert "seasonal naive" in caplog.text


def test_equal_forecasters_share_trained_models_and_changed_data_does_not():
    history = _load()
    issue, _ = _day("2016-05-12")
    first = _forecaster().fit(history).models.get(history, issue)
    assert _forecaster().fit(history.copy()).models.get(history, issue) is first
    changed = history * 1.01
    assert _forecaster().fit(changed).models.get(changed, issue) is not first


def test_prediction_threads_are_the_forecasters_and_change_no_number(monkeypatch):
    """Forecasters differing only in ``predict_threads`` share trained models (it is no part of a
    model's identity), predict with their own thread count, and give the same forecasts."""
    history = _load()
    issue, horizon = _day("2016-05-12")
    one = LoadForecaster(TZ, 15, time(12), "DE", None, FAST).fit(history)
    two = LoadForecaster(TZ, 15, time(12), "DE", None, replace(FAST, predict_threads=2)).fit(history)
    assert two.models.get(history, issue) is one.models.get(history, issue)
    threads = []
    real = load.tree_predict
    monkeypatch.setattr(load, "tree_predict", lambda model, x, n: threads.append(n) or real(model, x, n))
    expected = one.predict_quantiles(issue, horizon)
    assert set(threads) == {1}
    threads.clear()
    got = two.predict_quantiles(issue, horizon)
    assert threads and set(threads) == {2}
    for q in expected:
        pd.testing.assert_frame_equal(got[q], expected[q])


def test_the_plans_quantile_is_trained_with_the_median_and_saved_with_it():
    """A tail quantile named in the settings is fitted at training (so the saved model holds it)
    and is the model a first-use fit makes: the same forecasts."""
    history = _load()
    issue, horizon = _day("2016-05-12")
    eager = LoadForecaster(TZ, 15, time(12), "DE", None, replace(FAST, tail_quantiles=(0.9,))).fit(history)
    trained = eager.models.get(history, issue)
    assert set(trained.models) == {0.5, 0.9}
    assert set(pickle.loads(pickle.dumps(trained)).models) == {0.5, 0.9}
    lazy = _forecaster().fit(history)  # its 0.9 model fitted on first use (here or by an earlier test)
    expected = lazy.predict_quantiles(issue, horizon, (0.5, 0.9))
    got = eager.predict_quantiles(issue, horizon, (0.5, 0.9))
    for q in expected:
        pd.testing.assert_frame_equal(got[q], expected[q])


def test_issues_forecast_in_one_batch_are_the_forecasts_issued_one_by_one(monkeypatch):
    """Past issues forecast together (across a retraining and before the model's first cutoff)
    are bit for bit the single issues, and each model's trees run once for its issues."""
    history = _load()
    forecaster = _forecaster().fit(history)
    issues = [pd.Timestamp("2016-03-14T11:00Z"), pd.Timestamp("2016-05-03T00:00Z"),
              pd.Timestamp("2016-05-08T07:15Z"), pd.Timestamp("2016-05-12T23:45Z")]
    models = {id(forecaster.models.get(history, t)) for t in issues[1:]}
    assert forecaster.models.get(history, issues[0]) is None and len(models) == 2  # naive, then two models
    runs = []
    real = load.tree_predict
    monkeypatch.setattr(load, "tree_predict", lambda model, x, n: runs.append(len(x)) or real(model, x, n))
    batch = forecaster.predict_issues(issues, 96, (0.5, 0.9))
    assert runs == [2 * 96 * 2, 2 * 96 * 2, 96 * 2, 96 * 2]  # per model, both quantiles over its issues' rows
    for t, got in zip(issues, batch):
        expected = forecaster.predict_quantiles(t, pd.date_range(t, periods=96, freq="15min"), (0.5, 0.9))
        for q in expected:
            pd.testing.assert_frame_equal(got[q], expected[q], check_exact=True)
