"""PV forecaster: zero at night, never above clear sky, learns the plant's bias, no look-ahead; plant fit."""

from datetime import date, time

import numpy as np
import pandas as pd
import pytest

from forecasts.load import GbmSettings
from forecasts.pv import ClearSkyModel, PvForecaster, PvPlant, fit_plants
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
    forecaster = _forecaster().fit(history)
    fc = forecaster.predict(issue, horizon)
    plants = forecaster.plants(issue)
    assert plants != PLANTS  # the bound is that of the plants fitted on history, not the configured ones
    bound = CLEAR.power(horizon, plants)
    assert (fc.to_numpy() <= bound.to_numpy() + 1e-9).all()
    for series, plant in plants.items():
        sun_time = horizon + pd.Timedelta(minutes=plant.clock_offset_min)
        night = CLEAR.solar_position(sun_time)["elevation"].to_numpy() < 0
        assert night.any() and (fc[series].to_numpy()[night] == 0).all()
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


def test_plant_fit_recovers_orientation_clock_offset_and_kwp():
    """An east-facing plant whose clock runs 45 minutes behind, seen through clouds, is found from its output."""
    true = PvPlant(300.0, 20, 105, 14, clock_offset_min=45)
    actual = ClearSkyModel(53.59, 11.45, {"pv/roof": true})
    idx = pd.date_range("2016-03-01", "2016-07-01", freq="15min", inclusive="left", tz="UTC")
    rng = np.random.default_rng(1)
    days = idx.normalize().unique()
    clear_day = rng.random(len(days)) < 0.3
    cloud = pd.Series(np.where(clear_day, 1.0, rng.uniform(0.1, 0.8, len(days))), index=days).reindex(idx.normalize())
    history = actual.power(idx).mul(cloud.to_numpy(), axis=0) * rng.normal(1.0, 0.02, (len(idx), 1))
    prior = ClearSkyModel(53.59, 11.45, {"pv/roof": PvPlant(500.0, 30, 180, 14)})
    fitted = fit_plants(history, prior)["pv/roof"]
    assert (fitted.azimuth_deg, fitted.tilt_deg, fitted.clock_offset_min) == (105, 20, 45)
    assert fitted.kwp == pytest.approx(300.0, rel=0.08)
    assert fitted.losses_pct == 14


def test_plant_fit_keeps_the_configured_plant_on_short_history():
    history = _measured(end="2016-05-20")  # 19 days: fewer than two blocks of 14
    assert fit_plants(history, CLEAR) == PLANTS
