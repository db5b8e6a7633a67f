"""Non-PV generation forecasts by kind: wind persistence into profile, hydro flat, biomass as scheduled."""

import numpy as np
import pandas as pd
import pytest

from forecasts.generation import WIND_PERSISTENCE_H, RuleForecaster


@pytest.fixture
def history():
    idx = pd.date_range("2021-03-01", periods=10 * 96, freq="15min", tz="UTC")
    hours = idx.hour + idx.minute / 60
    night = (hours < 4).astype(float)
    return pd.DataFrame({
        "wind/WP7": 200.0 + 100.0 * night + np.arange(len(idx)) % 3,  # windy nights
        "biomass/BM1": np.where(hours >= 8, 30.0, 10.0),  # a daily schedule
        "hydro/Hydro2": np.linspace(50.0, 80.0, len(idx)),  # rising river
    }, index=idx)


def test_rules_by_kind(history):
    issue = pd.Timestamp("2021-03-09T12:00Z")  # gate time, the day before
    horizon = pd.date_range("2021-03-10T00:00Z", periods=96, freq="15min")
    fc = RuleForecaster("UTC").fit(history).predict(issue, horizon)
    known = history.loc[:issue - pd.Timedelta(minutes=15)]
    # wind: the last measured value, turning into the time-of-day profile of the last week with lead time
    w = np.exp(-((horizon - issue) / pd.Timedelta(hours=1)).to_numpy() / WIND_PERSISTENCE_H)
    recent = known["wind/WP7"].iloc[-7 * 96:]
    profile = recent.groupby(recent.index.hour * 60 + recent.index.minute).mean()
    expected = w * known["wind/WP7"].iloc[-1] + (1 - w) * profile.reindex(horizon.hour * 60 + horizon.minute).to_numpy()
    assert fc["wind/WP7"].to_numpy() == pytest.approx(expected)
    assert fc["wind/WP7"][horizon.hour < 4].mean() > 280.0  # windy nights stay windy, never 0 as PV would be
    # biomass: its schedule (10 kW before 08:00, 30 kW after), at night too
    assert fc["biomass/BM1"][horizon.hour < 8].to_numpy() == pytest.approx(10.0)
    assert fc["biomass/BM1"][horizon.hour >= 8].to_numpy() == pytest.approx(30.0)
    # hydro: the last day's mean, flat
    assert fc["hydro/Hydro2"].to_numpy() == pytest.approx(known["hydro/Hydro2"].iloc[-96:].mean())


def test_no_look_ahead(history):
    issue = pd.Timestamp("2021-03-05T12:00Z")
    horizon = pd.date_range(issue, periods=8, freq="15min")
    changed = history.copy()
    changed.loc[changed.index >= issue] = 1e6
    a = RuleForecaster("UTC").fit(history).predict(issue, horizon)
    b = RuleForecaster("UTC").fit(changed).predict(issue, horizon)
    pd.testing.assert_frame_equal(a, b)
