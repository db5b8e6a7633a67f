"""The feed layer: [feeds] config, FeedManager freshness against a real loopback provider,
the carbon-source rule, /metrics gauges and ``gridctl check --feeds``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasts.carbon import CarbonForecaster
from gridctl.api.metrics import Metrics
from gridctl.cli import main
from gridctl.config import ConfigError, parse_config
from gridctl.feed_source import carbon_source
from gridctl.feeds import FeedManager, FeedSpec
from tests.loopback_http import LoopbackHTTP

DATA = Path(__file__).parent / "data" / "providers"
GB = (200, {"Content-Type": "application/json"}, (DATA / "gb_intensity.json").read_bytes())


def feeds_config(url: str, **extra) -> dict:
    return {"feeds": {"attempts": 1, "timeout_s": 5.0, "source": [
        {"id": "gb", "kind": "gb_carbon", "base_url": url, "interval_s": 300.0, "max_age_s": 3600.0, **extra}]}}


class ManualClock:
    def __init__(self, start: str):
        self.t = pd.Timestamp(start)

    def __call__(self) -> pd.Timestamp:
        return self.t


def test_config_section_defaults_and_errors():
    assert parse_config({}).feeds.source == [] and not parse_config({}).feeds.mqtt.enabled
    with pytest.raises(ConfigError, match=r"feed 'em' of kind 'electricitymaps' needs zone, key_env"):
        parse_config({"feeds": {"source": [{"id": "em", "kind": "electricitymaps"}]}})
    with pytest.raises(ConfigError, match=r"repeated: \['a'\]"):
        parse_config({"feeds": {"source": [{"id": "a", "kind": "gb_carbon"}, {"id": "a", "kind": "gb_carbon"}]}})
    with pytest.raises(ConfigError, match="ENTSOE_ENDPOINT_URL"):
        parse_config({"feeds": {"source": [{"id": "e", "kind": "entsoe", "zone": "DE_LU", "key_env": "K",
                                            "base_url": "http://x"}]}})
    with pytest.raises(ConfigError, match="no topics"):
        parse_config({"feeds": {"mqtt": {"enabled": True}}})
    with pytest.raises(ConfigError, match=r"feeds\.source\.0\.colour: unknown key"):
        parse_config({"feeds": {"source": [{"id": "g", "kind": "gb_carbon", "colour": "red"}]}})


def test_missing_key_variable_is_one_line():
    config = parse_config({"feeds": {"source": [{"id": "em", "kind": "electricitymaps", "zone": "DE",
                                                 "key_env": "GRIDCTL_TEST_EM_TOKEN"}]}})
    with pytest.raises(ConfigError, match=r"feeds\.source\.em\.key_env: environment variable "
                                          r"'GRIDCTL_TEST_EM_TOKEN' is not set"):
        FeedManager.from_config(config, lambda *a: None, lambda *a: None, env={})


def test_stale_then_recovered_against_a_loopback_provider():
    clock = ManualClock("2026-12-02T12:00Z")
    rows, events = [], []
    with LoopbackHTTP() as server:
        server.routes["/intensity/"] = GB
        config = parse_config(feeds_config(server.url))
        manager = FeedManager.from_config(config, lambda *r: rows.append(r), lambda *e: events.append(e), now=clock)
        assert manager.fetch_sync("gb") and manager.check() == []
        feed_id, signal, frame = rows[-1]
        assert (feed_id, signal, len(frame)) == ("gb", "carbon", 6)
        st = manager.status()["gb"]
        assert st["newest_issued"] == "2026-12-02T12:00:00+00:00" and st["newest_row"] == "2026-12-02T13:30:00+00:00"
        assert not st["stale"] and carbon_source(manager.status()).provider

        server.silent = True  # the provider goes quiet
        clock.t += pd.Timedelta(minutes=30)
        assert not manager.fetch_sync("gb") and manager.check() == []  # failing, not yet too old
        assert manager.status()["gb"]["last_error"] == "GB Carbon Intensity: HTTP 503"
        clock.t += pd.Timedelta(minutes=31)
        assert not manager.fetch_sync("gb")
        assert manager.check() == [("gb", "feed_stale")] and manager.check() == []  # once
        severity, kind, message = events[-1]
        assert (severity, kind) == ("alarm", "feed_stale") and "3660 s old > max_age 3600 s" in message
        decision = manager.carbon_source()
        assert not decision.provider and "every carbon feed is stale (gb 3660 s > 3600 s)" in decision.reason

        server.silent = False  # back
        clock.t += pd.Timedelta(minutes=5)
        assert manager.fetch_sync("gb")
        assert manager.check() == [("gb", "feed_recovered")] and events[-1][:2] == ("info", "feed_recovered")
        assert manager.carbon_source().provider and manager.status()["gb"]["failures"] == 0
    metrics = Metrics(lambda: {"feeds": manager.status()}).render().decode()
    assert 'gridctl_feed_stale{feed="gb"} 0.0' in metrics and 'gridctl_feed_age_seconds{feed="gb"}' in metrics


def test_a_feed_that_never_answers_goes_stale_from_the_start():
    clock = ManualClock("2026-12-02T12:00Z")
    events = []
    manager = FeedManager({"x": FeedSpec("weather", "openmeteo", 60.0, 600.0, lambda now: 1 / 0)},
                          lambda *r: None, lambda *e: events.append(e), now=clock)
    assert not manager.fetch_sync("x") and manager.status()["x"]["last_error"] == "ZeroDivisionError: division by zero"
    clock.t += pd.Timedelta(seconds=601)
    assert manager.check() == [("x", "feed_stale")]
    assert carbon_source(manager.status()).provider  # a weather feed does not decide the carbon source


def test_carbon_source_rule():
    fresh = {"signal": "carbon", "stale": False, "age_s": 10.0, "max_age_s": 3600.0}
    stale = {"signal": "carbon", "stale": True, "age_s": 4000.0, "max_age_s": 3600.0}
    weather = {"signal": "weather", "stale": True, "age_s": 9e9, "max_age_s": 1.0}
    assert carbon_source({}).provider and "no carbon feed" in carbon_source({}).reason
    assert carbon_source({"a": stale, "b": fresh, "w": weather}).provider
    decision = carbon_source({"a": stale, "w": weather})
    assert decision.name == "profile" and decision.reason == "every carbon feed is stale (a 4000 s > 3600 s): profile model"
    assert carbon_source({"b": fresh}, use_provider=False).name == "profile"


def test_profile_fallback_ignores_provider_rows():
    idx = pd.date_range("2026-11-01", periods=96 * 3, freq="15min", tz="UTC")
    measured = pd.DataFrame({"ci_kg_per_kwh": 0.3 + 0.1 * np.sin(np.arange(len(idx)) / 20), "signal_type": "average_lifecycle",
                             "resolution_min": 15, "zone": "DE", "source": "t", "issued_at_utc": idx + pd.Timedelta("15min"),
                             "is_estimated": False}, index=idx)
    horizon = pd.date_range(idx[-1] + pd.Timedelta("15min"), periods=8, freq="15min")
    provider = measured.iloc[:8].copy()
    provider.index, provider["ci_kg_per_kwh"], provider["issued_at_utc"] = horizon, 9.0, idx[-1]
    fc = CarbonForecaster("Europe/Berlin", 15, use_provider=True).fit(pd.concat([measured, provider]))
    issue = horizon[0]
    with_provider = fc.predict(issue, horizon)
    assert (with_provider.source == "provider").all() and (with_provider.ci_kg_per_kwh == 9.0).all()
    fallback = fc.predict(issue, horizon, use_provider=False)
    assert (fallback.source == "profile").all() and (fallback.ci_kg_per_kwh < 1.0).all()


def test_check_feeds_exit_codes(tmp_path, capsys):
    with LoopbackHTTP() as server:
        server.routes["/intensity/"] = GB
        good = tmp_path / "good.toml"
        good.write_text(f'[feeds]\nattempts = 1\n[[feeds.source]]\nid = "gb"\nkind = "gb_carbon"\n'
                        f'base_url = "{server.url}"\n')
        assert main(["check", "--config", str(good), "--feeds"]) == 0
        assert "1 feed(s) answered" in capsys.readouterr().out
        server.silent = True
        assert main(["check", "--config", str(good), "--feeds"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: feed gb: GB Carbon Intensity: HTTP 503"]
    unset = tmp_path / "unset.toml"
    unset.write_text('[[feeds.source]]\nid = "em"\nkind = "electricitymaps"\nzone = "DE"\nkey_env = "GRIDCTL_NO_SUCH_VAR"\n')
    assert main(["check", "--config", str(unset), "--feeds"]) == 2
    assert "environment variable 'GRIDCTL_NO_SUCH_VAR' is not set" in capsys.readouterr().err


def test_status_is_json_serialisable():
    manager = FeedManager({"x": FeedSpec("carbon", "gb_carbon", 60.0, 600.0, lambda now: pd.DataFrame())},
                          lambda *r: None, lambda *e: None, now=ManualClock("2026-12-02T12:00Z"))
    json.dumps(manager.status())


def test_check_feeds_probes_the_broker(tmp_path, capsys):
    cfg = tmp_path / "mqtt.toml"
    cfg.write_text('[feeds.mqtt]\nenabled = true\nport = 1883\ntopics = { "gridctl-probe/x" = "x" }\n')
    assert main(["check", "--config", str(cfg), "--feeds"]) == 0
    cfg.write_text('[feeds.mqtt]\nenabled = true\nport = 9\ntopics = { "gridctl-probe/x" = "x" }\n')
    assert main(["check", "--config", str(cfg), "--feeds"]) == 1
    assert capsys.readouterr().err.startswith("error: feed mqtt: broker 127.0.0.1:9: ")
