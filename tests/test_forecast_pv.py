"""PV forecaster: zero at night, never above clear sky, learns the plant's bias, no look-ahead."""

from datetime import date, time

import numpy as np
import pandas as pd
import pytest

from forecasts.load import GbmSettings
from forecasts.pv import ClearSkyModel, PvForecaster, PvPlant
from gridctl.timegrid import gate_time, local_day

TZ = "Europe/Berlin"
FAST = GbmSettings(max_iter=40, max_leaf_nodes=15, min_samples_leaf=200, min_history_days=14, retrain_days=7,
                   max_train_rows=20_000)
PLANTS = {"pv/roof": PvPlant(500.0, 30, 180, 14), "pv/east": PvPlant(200.0, 20, 100, 10)}
CLEAR = ClearSkyModel(53.59, 11.45, PLANTS)


def _measured(start="2016-05-01", end="2016-06-15", factor=0.6, seed=0) -> pd.DataFrame:
    """Clear-sky output times a random daily cloudiness, times a plant factor, with noise."""
    idx = pd.date_range(pd.Timestamp(start, tz=TZ), pd.Timestamp(end, tz=TZ), freq="15min", inclusive="left").tz_convert("UTC")
    rng = np.random.default_rng(seed)
    day = idx.tz_convert(TZ).tz_localize(None).normalize()
    cloud = pd.Series(rng.uniform(0.3, 1.0, len(day.unique())), index=day.unique()).reindex(day).to_numpy()
    noise = rng.normal(1.0, 0.05, (len(idx), len(PLANTS)))
    return CLEAR.power(idx).mul(cloud * factor, axis=0) * noise


def _day(day: str) -> tuple[pd.Timestamp, pd.DatetimeIndex]:
    """Day-ahead issue time (12:00 the day before) and the local day's intervals."""
    d = date.fromisoformat(day)
    return gate_time(d, TZ, time(12)), local_day(d, TZ, 15)


def _forecaster() -> PvForecaster:
    return PvForecaster(CLEAR, TZ, 15, time(12), FAST)


def test_zero_at_night_and_never_above_clear_sky():
    history = _measured(factor=1.4)  # measured above the modelled clear sky tempts the model upwards
    issue, horizon = _day("2016-06-10")
    fc = _forecaster().fit(history).predict(issue, horizon)
    bound = CLEAR.power(horizon)
    assert (fc.to_numpy() <= bound.to_numpy() + 1e-9).all()
    elevation = CLEAR.solar_position(horizon)["elevation"].to_numpy()
    assert (fc.to_numpy()[elevation < 0] == 0).all()
    assert (fc.to_numpy() >= 0).all() and fc.to_numpy().max() > 0


def test_learns_the_plants_bias_against_the_clear_sky_model():
    history = _measured(factor=0.5)
    issue, horizon = _day("2016-06-12")
    fc = _forecaster().fit(history).predict(issue, horizon)
    ratio = fc.sum() / CLEAR.power(horizon).sum()
    assert ratio.to_numpy() == pytest.approx(0.5 * 0.65, rel=0.25)  # factor x mean daily cloudiness


def test_forecast_unchanged_when_data_at_or_after_issue_is_mutated():
    history = _measured()
    issue, horizon = _day("2016-06-08")
    before = _forecaster().fit(history).predict(issue, horizon)
    mutated = history.copy()
    mutated.loc[mutated.index >= issue] = 0.0
    after = _forecaster().fit(mutated).predict(issue, horizon)
    pd.testing.assert_frame_equal(before, after)


def test_short_history_uses_yesterday_capped_at_clear_sky():
    history = _measured(end="2016-05-08", factor=1.4)
    issue, horizon = _day("2016-05-07")
    forecaster = _forecaster().fit(history)
    fc = forecaster.predict(issue, horizon)
    assert "need 14 days" in forecaster.fallback_reason
    assert (fc.to_numpy() <= CLEAR.power(horizon).to_numpy() + 1e-9).all()
