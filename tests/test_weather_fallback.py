"""A stale weather feed: a ``feed_stale`` alarm, the load and PV forecasters without weather, and the
plan record says so (``weather_source``); fresh again -> the weather forecasts are used again."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gridctl import forecasting
from gridctl.feed_config import FeedsConfig
from gridctl.feeds import FeedManager
from gridctl.live_history import KnownDistrict
from gridctl.store import Store
from gridctl.store.series import SeriesRow, upsert_forecasts
from tests.loopback_http import LoopbackHTTP

FORECAST = (200, {"Content-Type": "application/octet-stream"},
            (Path(__file__).parent / "data" / "providers" / "openmeteo_forecast.fb").read_bytes())
WALL = pd.Timestamp("2026-12-02T05:50Z")  # the recorded answer's issue time
DATA_NOW = pd.Timestamp("2016-06-01 10:07", tz="UTC")


def _weather_rows(store: Store) -> None:
    """Stored temperature and irradiance forecasts of the data clock's day, issued before its now."""
    issued = (DATA_NOW - pd.Timedelta(hours=6)).to_pydatetime()
    steps = pd.date_range(DATA_NOW.floor("D"), periods=96, freq="15min")
    upsert_forecasts(store, [SeriesRow("weather", q, t.to_pydatetime(), v, issued) for t in steps
                             for q, v in (("temp_air_c", 18.0), ("ghi_w_m2", 400.0))], "openmeteo")


def test_a_stale_weather_feed_takes_the_weather_out_of_the_forecasts_and_the_plan_says_so(demo_district, tmp_path):
    now, events = [WALL], []
    with LoopbackHTTP() as server:
        server.routes["/v1/forecast"] = FORECAST
        feeds = FeedsConfig(attempts=1, source=[{"id": "wx", "kind": "openmeteo", "base_url": f"{server.url}/v1/forecast",
                                                 "max_age_s": 600.0}])
        manager = FeedManager.from_config(demo_district.config.model_copy(update={"feeds": feeds}),
                                          on_rows=lambda *rows: None, on_event=lambda *e: events.append(e),
                                          now=lambda: now[0])
        assert manager.fetch_sync("wx")
        fresh = manager.weather_source()
        server.silent, now[0] = True, WALL + pd.Timedelta(seconds=700)
        assert not manager.fetch_sync("wx")
        stale = manager.weather_source()
        server.silent, now[0] = False, now[0] + pd.Timedelta(seconds=60)
        assert manager.fetch_sync("wx")
        back = manager.weather_source()
    assert [e[:2] for e in events] == [("alarm", "feed_stale"), ("info", "feed_recovered")]
    assert fresh.weather and not stale.weather and back.weather and "every weather feed is stale" in stale.reason

    store = Store(f"sqlite:///{tmp_path / 'gridctl.sqlite'}")
    try:
        _weather_rows(store)
        known = KnownDistrict(demo_district, store, 6.0, lambda *e: None)
        seen = []
        for source in (fresh, stale, back):
            district, rebuilt = known.at(DATA_NOW, weather=source)
            fitted = forecasting.district_forecasters(district)
            seen.append((rebuilt, district.weather is None, fitted.load.weather is None, fitted.pv.weather is None,
                         known.record()["weather_source"]))
    finally:
        store.close()
    assert [s[:4] for s in seen] == [(True, False, False, False), (True, True, True, True),
                                     (True, False, False, False)]  # each switch rebuilds the forecasters
    assert seen[1][4] == {"source": "no_weather", "reason": stale.reason}
    assert seen[2][4]["source"] == "weather" and "wx fresh" in seen[2][4]["reason"]
