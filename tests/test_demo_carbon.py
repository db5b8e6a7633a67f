"""The demo's carbon data: measured intensity plus hourly provider forecasts with day-ahead-sized errors."""

import numpy as np
import pandas as pd
import pytest

from forecasts.carbon import split_provider_rows


@pytest.fixture(scope="module")
def rows(demo_district):
    measured, provider = split_provider_rows(demo_district.carbon)
    lead_h = (provider.index - pd.DatetimeIndex(provider.issued_at_utc)).total_seconds() / 3600
    error = provider.ci_kg_per_kwh.to_numpy() - measured.ci_kg_per_kwh.reindex(provider.index).to_numpy()
    return measured, provider, np.asarray(lead_h), error


def test_measured_series_is_one_row_per_interval_with_the_uba_mean(rows):
    measured = rows[0]
    assert len(measured) == 366 * 96 and measured.index.is_unique
    assert 0.45 < measured.ci_kg_per_kwh.mean() < 0.58  # demand-weighted mean is 0.516


def test_provider_forecasts_are_issued_before_their_intervals_hourly_48h_ahead(rows):
    _, provider, lead_h, _ = rows
    assert lead_h.min() == pytest.approx(0.25) and lead_h.max() == pytest.approx(48.0)
    assert pd.DatetimeIndex(provider.issued_at_utc.unique()).minute.unique().tolist() == [45]  # hh:45 for hh+1:00


def test_provider_error_grows_with_lead_and_stays_realistic(rows):
    measured, _, lead_h, error = rows
    mean = measured.ci_kg_per_kwh.mean()
    first_hour = np.abs(error[lead_h <= 1]).mean() / mean
    day_ahead = np.abs(error[(lead_h > 24) & (lead_h <= 36)]).mean() / mean
    assert 0.01 < first_hour < day_ahead < 0.08
    assert abs(error.mean()) < 0.01  # unbiased


def test_the_forecaster_uses_the_latest_provider_issue(demo_district, rows):
    from gridctl.forecasting import district_forecasters

    _, provider, _, _ = rows
    issue = pd.Timestamp("2016-07-12T10:05Z")
    horizon = pd.date_range("2016-07-12T10:00Z", periods=8, freq="15min")
    fc = district_forecasters(demo_district).carbon.predict(issue, horizon)
    latest = provider[pd.to_datetime(provider.issued_at_utc, utc=True) == pd.Timestamp("2016-07-12T09:45Z")]
    assert set(fc.source) == {"provider"}
    np.testing.assert_allclose(fc.ci_kg_per_kwh.to_numpy(), latest.ci_kg_per_kwh.reindex(horizon).to_numpy())
