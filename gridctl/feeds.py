"""Live feeds: scheduled provider fetches and the MQTT measurement route, with freshness.

A :class:`FeedManager` runs each ``[[feeds.source]]`` fetch (the provider clients are
synchronous, so a fetch runs in a worker thread), hands the rows to ``on_rows(feed_id, signal,
frame)`` (``signal`` is ``carbon`` for the canonical carbon frame, ``weather`` for the weather
table; called from the worker thread) and tracks per feed the last attempt, the last success,
the newest row (interval start), the newest information (issue time; MQTT: message arrival)
and its age. A feed whose newest information is older than its ``max_age_s`` (or that never
delivered, counted from the manager's start) is stale: ``on_event("alarm", "feed_stale", msg)``
once when it becomes stale, ``on_event("info", "feed_recovered", msg)`` once when fresh again.
A failed fetch (after the client's retries) is logged and counted; nothing is raised.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from adapters.mqtt import MqttSubscriber, Sample
from adapters.providers.http import FeedError
from gridctl.config import Config
from gridctl.feed_clients import Fetch, fetcher, secret
from gridctl.feed_source import CarbonSource, WeatherSource, carbon_source, weather_source

log = logging.getLogger(__name__)
CHECK_S = 60.0  # freshness is also checked this often (daemon clock seconds), besides after each fetch

OnRows = Callable[[str, str, pd.DataFrame], None]
OnEvent = Callable[[str, str, str], None]
OnSample = Callable[[Sample], None]


def _utc_now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def _iso(t: pd.Timestamp | None) -> str | None:
    return None if t is None else t.isoformat()


@dataclass(frozen=True)
class FeedSpec:
    """One provider feed: the table it writes (``carbon`` or ``weather``), its kind, period, stale
    age and fetch function."""

    signal: str
    kind: str
    interval_s: float
    max_age_s: float
    fetch: Fetch


@dataclass
class FeedState:
    """Freshness of one feed."""

    id: str
    signal: str  # "carbon", "weather" or "measurements"
    kind: str
    max_age_s: float
    started_utc: pd.Timestamp
    last_attempt_utc: pd.Timestamp | None = None
    last_success_utc: pd.Timestamp | None = None
    newest_row_utc: pd.Timestamp | None = None
    newest_issued_utc: pd.Timestamp | None = None
    rows_total: int = 0
    failures: int = 0  # consecutive failed fetches
    last_error: str = ""
    stale: bool = False

    def age_s(self, now: pd.Timestamp) -> float:
        """Seconds since the newest information (since the start when nothing arrived yet)."""
        return max((now - (self.newest_issued_utc or self.started_utc)).total_seconds(), 0.0)

    def as_dict(self, now: pd.Timestamp) -> dict:
        return {"signal": self.signal, "kind": self.kind, "stale": self.stale, "age_s": round(self.age_s(now), 1),
                "max_age_s": self.max_age_s, "last_attempt": _iso(self.last_attempt_utc),
                "last_success": _iso(self.last_success_utc), "newest_row": _iso(self.newest_row_utc),
                "newest_issued": _iso(self.newest_issued_utc), "rows_total": self.rows_total,
                "failures": self.failures, "last_error": self.last_error}


class FeedManager:
    """Fetch jobs, the MQTT subscriber and the freshness of every configured feed."""

    def __init__(self, feeds: Mapping[str, FeedSpec], on_rows: OnRows, on_event: OnEvent,
                 now: Callable[[], pd.Timestamp] = _utc_now, mqtt: MqttSubscriber | None = None,
                 mqtt_max_age_s: float = 900.0):
        self.on_rows, self.on_event, self.now = on_rows, on_event, now
        started = now()
        self.specs = dict(feeds)
        self.states = {k: FeedState(k, s.signal, s.kind, s.max_age_s, started) for k, s in self.specs.items()}
        self.mqtt = mqtt
        if mqtt is not None:
            self.states["mqtt"] = FeedState("mqtt", "measurements", "mqtt", mqtt_max_age_s, started)
        self._mqtt_task: asyncio.Task | None = None

    @classmethod
    def from_config(cls, config: Config, on_rows: OnRows, on_event: OnEvent, on_sample: OnSample | None = None,
                    now: Callable[[], pd.Timestamp] = _utc_now, env: Mapping[str, str] = os.environ,
                    on_forecast: Callable[[str, list[dict]], None] | None = None) -> FeedManager:
        """The manager of ``[feeds]``; :class:`gridctl.config.ConfigError` when a key variable is unset.
        ``on_forecast(series_id, rows)`` takes the rows of ``[feeds.mqtt] forecast_topics`` messages
        (a ``ValueError`` counts the message as bad)."""
        cfg = config.feeds
        specs = {f.id: FeedSpec(f.signal, f.kind, f.interval_s, f.max_age_s, fetcher(f, cfg, config.site, env))
                 for f in cfg.source}
        mqtt = None
        if cfg.mqtt.enabled:
            m = cfg.mqtt
            user = secret("mqtt", "username_env", m.username_env, env) if m.username_env else ""
            password = secret("mqtt", "password_env", m.password_env, env) if m.password_env else ""
            mqtt = MqttSubscriber(m.host, m.port, m.topics, on_sample or (lambda sample: None), username=user,
                                  password=password, reconnect_s=m.reconnect_s, now=now,
                                  forecast_topics=m.forecast_topics, on_rows=on_forecast)
        return cls(specs, on_rows, on_event, now, mqtt, cfg.mqtt.max_age_s)

    @property
    def enabled(self) -> bool:
        return bool(self.states)

    # -- fetching ---------------------------------------------------------------------------
    def fetch_sync(self, feed_id: str) -> bool:
        """Fetch one feed now, hand its rows on and update its freshness; True on success."""
        state = self.states[feed_id]
        now = self.now()
        state.last_attempt_utc = now
        try:
            frame = self.specs[feed_id].fetch(now)
            self.on_rows(feed_id, state.signal, frame)
        except Exception as exc:  # noqa: BLE001 - a failing feed never stops the daemon
            state.failures += 1
            state.last_error = str(exc) if isinstance(exc, FeedError) else f"{type(exc).__name__}: {exc}"
            log.warning("feed %s: fetch failed (%d in a row): %s", feed_id, state.failures, state.last_error)
            return False
        state.failures, state.last_error = 0, ""
        state.last_success_utc = now
        state.rows_total += len(frame)
        if len(frame):
            state.newest_row_utc = max(frame.index.max(), state.newest_row_utc or frame.index.max())
            issued = pd.DatetimeIndex(frame["issued_at_utc"])
            issued = issued[issued <= now]
            if len(issued):
                state.newest_issued_utc = max(issued.max(), state.newest_issued_utc or issued.max())
        log.info("feed %s: %d rows, newest %s", feed_id, len(frame), _iso(state.newest_row_utc))
        return True

    async def fetch(self, feed_id: str) -> bool:
        """:meth:`fetch_sync` in a worker thread, then a freshness check."""
        ok = await asyncio.to_thread(self.fetch_sync, feed_id)
        self.check()
        return ok

    def probe(self) -> list[str]:
        """Fetch every provider feed once; one line per failing feed (``gridctl check --feeds``)."""
        failing = []
        for feed_id in self.specs:
            if not self.fetch_sync(feed_id):
                failing.append(f"feed {feed_id}: {self.states[feed_id].last_error}")
            elif self.states[feed_id].rows_total == 0:
                failing.append(f"feed {feed_id}: the provider answered with no rows")
        if self.mqtt is not None and (problem := asyncio.run(self.mqtt.probe())):
            failing.append(f"feed mqtt: {problem}")
        return failing

    # -- MQTT -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Count ages from now (when nothing arrived yet) and start the MQTT subscriber, if configured."""
        now = self.now()
        for state in self.states.values():
            state.started_utc = now
        if self.mqtt is not None and self._mqtt_task is None:
            self._mqtt_task = asyncio.create_task(self.mqtt.run(), name="mqtt")

    async def stop(self) -> None:
        if self._mqtt_task is not None:
            self._mqtt_task.cancel()
            await asyncio.gather(self._mqtt_task, return_exceptions=True)
            self._mqtt_task = None

    def _sync_mqtt(self) -> None:
        if self.mqtt is None:
            return
        state, stats = self.states["mqtt"], self.mqtt.stats
        state.newest_issued_utc = state.last_success_utc = stats.last_message_utc
        state.rows_total, state.failures = stats.received - stats.bad, stats.bad
        state.last_error = "" if stats.connected else (stats.last_error or "not connected")

    # -- freshness --------------------------------------------------------------------------
    def check(self) -> list[tuple[str, str]]:
        """Emit ``feed_stale`` / ``feed_recovered`` for every feed whose state changed; return them."""
        self._sync_mqtt()
        now, changes = self.now(), []
        for feed_id, state in self.states.items():
            age = state.age_s(now)
            stale = age > state.max_age_s
            if stale == state.stale:
                continue
            state.stale = stale
            if stale:
                msg = (f"feed {feed_id} ({state.kind}) is stale: newest information {age:.0f} s old > max_age "
                       f"{state.max_age_s:.0f} s" + (f"; last error: {state.last_error}" if state.last_error else ""))
                self.on_event("alarm", "feed_stale", msg)
                changes.append((feed_id, "feed_stale"))
            else:
                self.on_event("info", "feed_recovered", f"feed {feed_id} ({state.kind}) is fresh again "
                              f"(newest information {age:.0f} s old)")
                changes.append((feed_id, "feed_recovered"))
        return changes

    async def check_async(self) -> None:
        self.check()

    def status(self) -> dict[str, dict]:
        """Freshness of every feed by id (for /health, /metrics and the planning source)."""
        self._sync_mqtt()
        now = self.now()
        return {k: s.as_dict(now) for k, s in self.states.items()}

    def carbon_source(self, use_provider: bool = True) -> CarbonSource:
        """Whether plans may use provider carbon forecasts now (see :func:`gridctl.feed_source.carbon_source`)."""
        self.check()
        return carbon_source(self.status(), use_provider)

    def weather_source(self) -> WeatherSource:
        """Whether the load and PV forecasters may use weather forecasts now (:func:`gridctl.feed_source.weather_source`)."""
        self.check()
        return weather_source(self.status())

    def jobs(self) -> list[tuple[str, Callable[[], Awaitable[None]], float]]:
        """(job id, coroutine function, period in daemon-clock seconds) of every scheduled job."""
        out: list[tuple[str, Callable[[], Awaitable[None]], float]] = [
            (f"feed:{feed_id}", self._job(feed_id), spec.interval_s) for feed_id, spec in self.specs.items()]
        if self.states:
            out.append(("feeds:freshness", self.check_async, CHECK_S))
        return out

    def _job(self, feed_id: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await self.fetch(feed_id)
        run.__name__ = f"feed_{feed_id}"
        return run
