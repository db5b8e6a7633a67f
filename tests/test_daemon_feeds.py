"""The daemon with a carbon feed served by a real loopback HTTP server and an MQTT topic on the
loopback Mosquitto, on an accelerated clock: a published measurement reaches the store's measured
series and the next forecast (it feeds ``load/G0-A``); the
provider goes quiet -> ``feed_stale`` is stored and plans fall back to the profile model and say
so; it comes back -> ``feed_recovered`` and plans use provider forecasts again."""

from __future__ import annotations

import asyncio
import copy
import uuid
from pathlib import Path

import aiomqtt
import pandas as pd

import gridctl.daemon
from gridctl.api.dashboard import dashboard_data
from gridctl.feed_config import FeedsConfig
from gridctl.store import Store
from gridctl.store.series import measured_frame
from tests.loopback_http import LoopbackHTTP
from tests.test_daemon import running_daemon, wait_for

GB = (200, {"Content-Type": "application/json"},
      (Path(__file__).parent / "data" / "providers" / "gb_intensity.json").read_bytes())
START = "2026-11-25T13:05:00Z"  # after the gate time: no day-ahead plan during the test
SCALE = 180.0


def events(store: Store, kind: str, after: pd.Timestamp) -> list[dict]:
    return [e for e in store.page("events", limit=5000).items if e["kind"] == kind and pd.Timestamp(e["ts"]) > after]


def plan_after(store: Store, ts: str) -> dict | None:
    later = [p for p in store.page("plans", limit=5000).items
             if p["kind"] == "intraday" and pd.Timestamp(p["created_at"]) > pd.Timestamp(ts)]
    return later[0] if later else None


async def test_stale_feed_switches_plans_to_the_profile_model_and_back(demo_district, tmp_path, monkeypatch):
    cfg = demo_district.config
    histories = []  # (data-clock now, the history the forecasters get) of every intraday cycle
    decide = gridctl.daemon.decide

    def recording(known, now, *args, **kwargs):
        histories.append((pd.Timestamp(now), known.history["load/G0-A"].copy()))
        return decide(known, now, *args, **kwargs)

    monkeypatch.setattr(gridctl.daemon, "decide", recording)
    with LoopbackHTTP() as provider:
        provider.routes["/intensity/"] = GB
        topic = f"gridctl-test/{uuid.uuid4().hex}/meter"
        feeds = FeedsConfig(attempts=1, source=[{"id": "gb", "kind": "gb_carbon", "base_url": provider.url,
                                                 "interval_s": 300.0, "max_age_s": 1200.0}],
                            mqtt={"enabled": True, "topics": {topic: "site/mqtt_kw"}, "max_age_s": 1e6})
        district = copy.copy(demo_district)  # same net, data and trained forecasters; feeds configured
        district.config = cfg.model_copy(update={"feeds": feeds, "measurements": cfg.measurements.model_copy(
            update={"series": {"site/mqtt_kw": "p_kw"}, "forecast_inputs": {"load/G0-A": "site/mqtt_kw"}})})
        async with running_daemon(district, tmp_path, scale=SCALE, start=START, telemetry_s=120.0) as run:
            daemon, store, clock = run.daemon, run.store, run.daemon.clock
            run.flushed()
            first = store.latest_plan("intraday")["summary"]["carbon_source"]
            assert first["source"] == "provider" and first["intervals"].get("provider", 0) > 0
            await wait_for(lambda: daemon.feeds.status()["gb"]["rows_total"] > 0, what="first fetch")
            assert len(daemon.feed_frames["gb"]) == 6
            await asyncio.wait_for(daemon.feeds.mqtt.subscribed.wait(), 30.0)
            async with aiomqtt.Client("127.0.0.1", 1883) as client:
                await client.publish(topic, b'{"ts": "2026-11-25T13:00:00Z", "value": 812.5}', qos=1)
            sample = await wait_for(lambda: daemon.feed_samples.get("site/mqtt_kw"), what="the MQTT sample")
            assert (sample.ts_utc, sample.value) == (pd.Timestamp("2026-11-25T13:00:00Z"), 812.5)
            assert daemon.status()["feeds"]["mqtt"]["rows_total"] == 1
            interval = pd.Timestamp("2016-11-25T13:00:00Z")  # the sample's interval on the data clock

            def stored() -> float | None:
                got = measured_frame(store, ["site/mqtt_kw"], interval, interval + pd.Timedelta(minutes=15))
                return None if got.empty else got["site/mqtt_kw"].iloc[0]

            assert await wait_for(stored, 60.0, "the MQTT interval mean in the store") == 812.5  # after its tick
            since = len(histories)  # a cycle under way may have read the store before the sample's tick
            fed = await wait_for(lambda: next((i for i, (_, h) in enumerate(histories) if i >= since
                                               and interval in h.index and h.loc[interval] == 812.5), None),
                                 60.0, "a forecast fed the measured mean")
            # the measured series feeds load/G0-A's forecast from then on
            assert all(h.loc[interval] == 812.5 for _, h in histories[fed:] if interval in h.index)

            provider.silent, silenced = True, clock.now()
            stale = (await wait_for(lambda: events(store, "feed_stale", silenced), 60.0, "feed_stale"))[0]
            assert stale["severity"] == "alarm" and "feed gb (gb_carbon) is stale" in stale["message"]
            assert daemon.status()["feeds"]["gb"]["last_error"] == "GB Carbon Intensity: HTTP 503"
            fallback = (await wait_for(lambda: plan_after(store, stale["ts"]), 60.0, "a plan after feed_stale"))
            source = fallback["summary"]["carbon_source"]
            assert source["source"] == "profile" and set(source["intervals"]) == {"profile"}
            assert "every carbon feed is stale" in source["reason"]

            provider.silent, restored = False, clock.now()
            back = (await wait_for(lambda: events(store, "feed_recovered", restored), 60.0, "feed_recovered"))[0]
            again = (await wait_for(lambda: plan_after(store, back["ts"]), 60.0, "a plan after feed_recovered"))
            assert again["summary"]["carbon_source"]["source"] == "provider"
            assert "gridctl_feed_stale{feed=\"gb\"} 0.0" in daemon.metrics.render().decode()
            panel = dashboard_data(daemon)["feeds"]["gb"]  # the dashboard's feed panel
            assert panel["kind"] == "gb_carbon" and not panel["stale"] and panel["last_success"]
