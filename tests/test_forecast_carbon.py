"""Carbon forecaster: provider forecasts respect their issue time; else a profile model, no look-ahead."""

import numpy as np
import pandas as pd
import pytest

from forecasts.carbon import CarbonForecaster
from forecasts.load import GbmSettings

TZ = "Europe/Berlin"
FAST = GbmSettings(max_iter=30, min_history_days=21, max_train_rows=20_000, max_quantile_rows=5_000)
ISSUE = pd.Timestamp("2016-05-11T10:00Z")
HORIZON = pd.date_range("2016-05-11T22:00Z", periods=96, freq="15min")


def _measured(signal="marginal") -> pd.DataFrame:
    """Hourly measured intensity over six weeks, with a daily cycle."""
    idx = pd.date_range("2016-04-01", "2016-05-20", freq="h", tz="UTC", inclusive="left")
    ci = 0.4 + 0.1 * np.sin(2 * np.pi * idx.hour / 24) + np.random.default_rng(0).normal(0, 0.01, len(idx))
    return pd.DataFrame({"ci_kg_per_kwh": ci, "signal_type": signal, "resolution_min": 60, "zone": "DE",
                         "source": "test", "issued_at_utc": idx, "is_estimated": False}, index=idx)


def _provider(issued: str, value: float) -> pd.DataFrame:
    """A provider forecast of the horizon's hours, all issued at ``issued``."""
    idx = pd.date_range(HORIZON[0], HORIZON[-1], freq="h")
    frame = _measured().iloc[: len(idx)].copy()
    frame.index = idx
    frame["ci_kg_per_kwh"] = value
    frame["issued_at_utc"] = pd.Timestamp(issued)
    frame["is_estimated"] = True
    return frame


def test_provider_forecast_issued_before_the_issue_time_is_used():
    data = pd.concat([_measured(), _provider("2016-05-11T06:00Z", 0.3), _provider("2016-05-11T12:00Z", 0.9)])
    fc = CarbonForecaster(TZ, 60, settings=FAST).fit(data).predict(ISSUE, HORIZON[::4])
    assert fc["ci_kg_per_kwh"].to_numpy() == pytest.approx(0.3)  # the 12:00 issue came after 10:00
    assert set(fc["source"]) == {"provider"} and fc.attrs["signal_type"] == "marginal"


def test_profile_model_without_provider_rows_ignores_the_future():
    data = _measured("average_direct")
    before = CarbonForecaster(TZ, 15, settings=FAST).fit(data).predict(ISSUE, HORIZON)
    mutated = data.copy()
    mutated.loc[mutated.index >= ISSUE, "ci_kg_per_kwh"] = 5.0
    after = CarbonForecaster(TZ, 15, settings=FAST).fit(mutated).predict(ISSUE, HORIZON)
    pd.testing.assert_frame_equal(before, after)
    assert set(before["source"]) == {"profile"} and before.attrs["signal_type"] == "average_direct"
    assert before["ci_kg_per_kwh"].between(0.25, 0.55).all()


def test_mixed_signal_types_are_refused():
    data = pd.concat([_measured("marginal"), _measured("average_direct")])
    with pytest.raises(ValueError, match="signal types"):
        CarbonForecaster(TZ).fit(data)


def test_provider_rows_can_be_ignored():
    data = pd.concat([_measured(), _provider("2016-05-11T06:00Z", 0.3)])
    fc = CarbonForecaster(TZ, 60, settings=FAST, use_provider=False).fit(data).predict(ISSUE, HORIZON[::4])
    assert set(fc["source"]) == {"profile"} and not np.allclose(fc["ci_kg_per_kwh"], 0.3)
