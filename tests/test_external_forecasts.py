"""Forecasts from outside: POST /api/forecasts, the forecast file, MQTT (the loopback Mosquitto), and
the external forecast used while fresh."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid

import aiomqtt
import httpx
import pandas as pd
import pytest
from test_daemon import running_daemon, wait_for

from forecasts.load import LoadForecaster
from forecasts.seasonal_naive import SeasonalNaive
from gridctl.api import create_app
from gridctl.clock import DaemonClock
from gridctl.control import Controller
from gridctl.daemon import Daemon
from gridctl.external_forecasts import ExternalOverlay, ForecastFile, ingest_forecasts
from gridctl.feed_config import FeedsConfig
from gridctl.measurements import BatchError
from gridctl.store import Store
from gridctl.store.series import forecast_rows

TOKEN = "s3cret-token"
NOW = pd.Timestamp("2016-06-01 10:07", tz="UTC")


def external_config(config):
    sources = config.forecast_sources.model_copy(update={"external": {"vendor/load": "load_kw"},
                                                          "source": {"load_kw": "external"}, "max_age_h": 6.0})
    return config.model_copy(update={"forecast_sources": sources})


def rows(issued: str, start: str, values: list[float], series: str = "vendor/load") -> list[dict]:
    idx = pd.date_range(start, periods=len(values), freq="15min", tz="UTC")
    return [{"series_id": series, "quantity": "load_kw", "interval_start_utc": t.isoformat(), "value": v,
             "issued_at_utc": issued} for t, v in zip(idx, values)]


def test_a_fresh_external_forecast_replaces_the_own_one_and_a_stale_one_does_not(demo_district, tmp_path):
    config = external_config(demo_district.config)
    store = Store(f"sqlite:///{tmp_path / 'gridctl.sqlite'}")
    try:
        batch = rows("2016-06-01T09:00:00Z", "2016-06-01T10:00:00Z", [9000.0, 9100.0, 9200.0, 9300.0])
        assert ingest_forecasts(store, batch, config, NOW, "api") == 4
        assert ingest_forecasts(store, batch, config, NOW, "api") == 0  # resent: changes nothing
        with pytest.raises(BatchError) as bad:
            ingest_forecasts(store, rows("2016-06-01T11:00:00Z", "2016-06-01T12:00:00Z", [1.0])
                             + rows("2016-06-01T09:00:00Z", "2016-06-01T12:00:00Z", [-1.0])
                             + rows("2016-06-01T09:00:00Z", "2016-06-01T12:00:00Z", [1.0], "nope"), config, NOW, "api")
        assert [p.split(":")[0] for p in bad.value.problems] == ["row 0", "row 1", "row 2"]
        stored = forecast_rows(store, "vendor/load", NOW.to_pydatetime(), NOW.floor("D").to_pydatetime(),
                               (NOW + pd.Timedelta(days=1)).to_pydatetime())
    finally:
        store.close()
    history = demo_district.history[demo_district.load_series]
    own = SeasonalNaive(7, demo_district.tz).fit(history.loc[:"2016-06-01 09:45"])
    overlay = ExternalOverlay(own, "load_kw", pd.Timedelta(hours=6))
    overlay.rows = stored
    horizon = pd.date_range("2016-06-01T10:00Z", periods=8, freq="15min")
    fresh = overlay.predict(NOW, horizon)
    assert list(fresh.sum(axis=1).iloc[:4].round(6)) == [9000.0, 9100.0, 9200.0, 9300.0]  # groups scaled to the total
    assert fresh.iloc[4:].equals(own.predict(NOW, horizon).iloc[4:])  # not covered: the own forecast
    assert overlay.used.startswith("external (issued 2016-06-01T09:00:00+00:00, 4 of 8")
    late = NOW + pd.Timedelta(hours=7)
    assert overlay.predict(late, horizon).equals(own.predict(late, horizon))
    assert "stale" in overlay.used
    # the quantiles planning asks for (median and headroom) follow the external total alike
    short = LoadForecaster(demo_district.tz).fit(history.loc["2016-05-20":"2016-06-01 09:45"])  # seasonal naive
    quantiles = ExternalOverlay(short, "load_kw", pd.Timedelta(hours=6))
    quantiles.rows = stored
    both = quantiles.predict_quantiles(NOW, horizon, (0.5, 0.9))
    own_median = short.predict_quantiles(NOW, horizon, (0.5,))[0.5]
    for q in (0.5, 0.9):
        assert list(both[q].sum(axis=1).iloc[:4].round(6)) == [9000.0, 9100.0, 9200.0, 9300.0]
        assert both[q].iloc[4:].equals(own_median.iloc[4:])
    assert quantiles.used.startswith("external (issued 2016-06-01T09:00:00+00:00, 4 of 8")


async def test_post_forecasts_round_trip(demo_district, tmp_path, monkeypatch):
    config = external_config(demo_district.config)
    store = Store(f"sqlite:///{tmp_path / 'gridctl.sqlite'}")
    clock = DaemonClock(1.0, pd.Timestamp("2026-06-01T10:07:00Z"), data_year=2016)
    daemon = Daemon(config, demo_district, store, Controller({}, {}, store, clock.now), clock)
    monkeypatch.setenv("GRIDCTL_API_TOKEN", TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(daemon)),
                                     base_url="http://gridctl") as client:
            good = rows("2016-06-01T10:00:00Z", "2016-06-01T10:15:00Z", [5000.0, 5100.0])
            assert (await client.post("/api/forecasts", json={"rows": good})).status_code == 401
            bad = rows("2016-06-01T12:00:00Z", "2016-06-01T12:15:00Z", [1.0])  # issued after now
            r = await client.post("/api/forecasts", json={"rows": good + bad}, headers=auth)
            assert r.status_code == 422 and r.json()["detail"][0].startswith("row 2: issued_at_utc")
            r = await client.post("/api/forecasts", json={"rows": good}, headers=auth)
            assert r.json() == {"rows": 2, "written": 2}
    finally:
        store.close()


async def test_the_daemon_plans_with_a_fresh_external_forecast_and_says_so(demo_district, tmp_path):
    district = copy.copy(demo_district)
    district.config = external_config(demo_district.config)
    store = Store(f"sqlite:///{tmp_path / 'gridctl.sqlite'}")  # the store running_daemon opens
    data_now = pd.Timestamp("2016-11-25 11:35", tz="UTC")  # test_daemon.START on the data clock
    try:
        batch = rows("2016-11-25T11:00:00Z", "2016-11-25T11:30:00Z", [7000.0] * 16)
        ingest_forecasts(store, batch, district.config, data_now, "vendor")
    finally:
        store.close()
    async with running_daemon(district, tmp_path) as run:
        plan = run.flushed().latest_plan()  # the start plan, once the store took it from the journal
    assert plan["kind"] == "intraday"
    assert plan["summary"]["forecast_sources"]["load_kw"].startswith("external (issued 2016-11-25T11:00:00+00:00")


def test_the_forecast_file_is_read_again_when_it_changes_and_a_bad_one_stores_nothing(demo_district, tmp_path):
    path = tmp_path / "vendor.csv"
    config = external_config(demo_district.config)
    config = config.model_copy(update={"forecast_sources": config.forecast_sources.model_copy(
        update={"file": str(path)})})
    store = Store(f"sqlite:///{tmp_path / 'gridctl.sqlite'}")
    events = []
    forecast_file = ForecastFile(config, lambda *e: events.append(e))

    def stored() -> list[float]:
        return forecast_rows(store, "vendor/load", NOW.to_pydatetime(), NOW.floor("D").to_pydatetime(),
                             (NOW + pd.Timedelta(days=1)).to_pydatetime()).value.tolist()

    try:
        pd.DataFrame(rows("2016-06-01T09:00:00Z", "2016-06-01T10:00:00Z", [9000.0, 9100.0])).to_csv(path, index=False)
        assert forecast_file.poll(store, NOW) == 2 and stored() == [9000.0, 9100.0]
        assert forecast_file.poll(store, NOW) is None  # unchanged: not read again
        bad = rows("2016-06-01T09:30:00Z", "2016-06-01T10:00:00Z", [9500.0, float("nan")])
        path.write_text(json.dumps({"rows": bad}).replace("NaN", '"x"'))
        path.rename(path := path.with_suffix(".json"))
        forecast_file.path = path  # a JSON file in its place
        assert forecast_file.poll(store, NOW) == 0 and stored() == [9000.0, 9100.0]  # nothing of it stored
        assert events[-1][:2] == ("warning", "forecast_file_rejected") and "row 1: value 'x'" in events[-1][2]
        path.write_text(json.dumps({"rows": bad[:1]}))
        assert forecast_file.poll(store, NOW) == 1 and stored() == [9500.0]  # the newer issue wins
    finally:
        store.close()


async def test_forecasts_over_mqtt_reach_the_store_and_bad_messages_are_counted(demo_district, tmp_path):
    topic = f"gridctl-test/{uuid.uuid4().hex}/vendor-load"
    config = external_config(demo_district.config)
    config = config.model_copy(update={"feeds": FeedsConfig(mqtt={"enabled": True, "forecast_topics": {
        topic: "vendor/load"}})})
    store = Store(f"sqlite:///{tmp_path / 'gridctl.sqlite'}")
    clock = DaemonClock(1.0, pd.Timestamp("2026-06-01T10:07:00Z"), data_year=2016)
    daemon = Daemon(config, demo_district, store, Controller({}, {}, store, clock.now), clock)
    good = {"issued_at_utc": "2016-06-01T09:00:00Z",
            "rows": [{"interval_start_utc": "2016-06-01T10:00:00Z", "value": 8000.0},
                     {"interval_start_utc": "2016-06-01T10:15:00Z", "value": 8100.0}]}
    try:
        await daemon.feeds.start()
        await asyncio.wait_for(daemon.feeds.mqtt.subscribed.wait(), 30.0)
        async with aiomqtt.Client("127.0.0.1", 1883) as client:
            await client.publish(topic, b"not json", qos=1)
            await client.publish(topic, json.dumps({**good, "issued_at_utc": "2016-06-02T00:00:00Z"}), qos=1)
            await client.publish(topic, json.dumps(good), qos=1)
        await wait_for(lambda: daemon.feeds.mqtt.stats.received >= 3, what="three messages")
        daemon.site.drain()
        got = forecast_rows(store, "vendor/load", NOW.to_pydatetime(), NOW.floor("D").to_pydatetime(),
                            (NOW + pd.Timedelta(days=1)).to_pydatetime())
        assert got.value.tolist() == [8000.0, 8100.0]
        assert daemon.feeds.status()["mqtt"]["failures"] == 2  # not JSON; issued after now
    finally:
        await daemon.feeds.stop()
        daemon.site.close()
        store.close()
