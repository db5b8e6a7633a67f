"""The daemon's site data: carbon feed rows and MQTT samples reach the store's measured series
(in the background thread), averaged per interval; nothing stamped after an interval's end leaks in."""

from __future__ import annotations

import pandas as pd
import pytest

from adapters.mqtt import Sample
from gridctl.clock import DaemonClock
from gridctl.live_measurements import LiveMeasurements
from gridctl.measurements import catalogue
from gridctl.site_data import SiteData
from gridctl.store import Store
from gridctl.store.series import forecast_rows, forecast_table, measured_frame

T0 = pd.Timestamp("2026-12-02T10:00:00Z")


@pytest.fixture
def site(demo_district, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'site.sqlite'}")
    clock = DaemonClock(1.0, T0, data_year=0)
    data = SiteData(demo_district.config, demo_district, store, clock, lambda *event: None)
    known = catalogue(demo_district.config, demo_district.load_series, demo_district.pv_series)
    data.live = LiveMeasurements(demo_district.config, store, known, None, lambda *event: None)  # no meter
    yield data, store
    data.close()
    store.close()


def test_carbon_feed_rows_become_measured_values_and_provider_forecasts(site):
    data, store = site
    idx = pd.date_range(T0 - pd.Timedelta(hours=1), periods=8, freq="15min")
    frame = pd.DataFrame({"ci_kg_per_kwh": [0.4 + 0.01 * i for i in range(8)], "resolution_min": 15,
                          "issued_at_utc": [T0] * 8}, index=idx)
    data.store_feed_rows("em", "carbon", frame)
    data.close()  # waits for the background thread
    series = data.config.measurements.carbon_series
    measured = measured_frame(store, [series], None, T0 + pd.Timedelta(hours=2), quantity="ci_kg_per_kwh")[series]
    assert measured.index.tolist() == idx[:4].tolist()  # ended by their issue time: measured
    assert measured.tolist() == pytest.approx([0.40, 0.41, 0.42, 0.43])
    ahead = forecast_rows(store, series, T0.to_pydatetime(), T0.to_pydatetime(),
                          (T0 + pd.Timedelta(hours=2)).to_pydatetime())
    assert ahead.value.tolist() == pytest.approx([0.44, 0.45, 0.46, 0.47])  # issued before their start: forecasts


def test_mqtt_samples_are_averaged_per_interval_and_stored_after_it_ends(site):
    data, store = site
    for minute, value in ((1, 100.0), (7, 200.0), (14, 300.0), (16, 999.0)):
        data.add_sample(Sample("load/G0-A", T0 + pd.Timedelta(minutes=minute), value, "site/load"))
    data.add_sample(Sample("unknown/series", T0, 1.0, "site/x"))  # not in the catalogue: dropped
    data.after_tick(T0 + pd.Timedelta(minutes=15), T0 + pd.Timedelta(minutes=15))
    data.close()
    got = measured_frame(store, ["load/G0-A"], None, T0 + pd.Timedelta(hours=1))["load/G0-A"]
    assert got.to_dict() == {T0: pytest.approx(200.0)}  # the 10:15 sample waits for its interval to end


def test_weather_feed_rows_become_forecasts_of_the_weather_series(site):
    data, store = site
    idx = pd.DatetimeIndex(pd.date_range(T0, periods=3, freq="1h"), name="interval_start_utc")
    frame = pd.DataFrame({"issued_at_utc": [T0 - pd.Timedelta(hours=2)] * 3, "temp_air_c": [4.0, 5.0, 6.0],
                          "ghi_w_m2": [0.0, 120.0, None]}, index=idx)
    data.store_feed_rows("open-meteo", "weather", frame)
    data.close()
    table = forecast_table(store, data.config.measurements.weather_series, T0.to_pydatetime())
    assert table.temp_air_c.tolist() == [4.0, 5.0, 6.0]
    assert table.ghi_w_m2.tolist()[:2] == [0.0, 120.0]
