"""Measurements and forecasts over MQTT (aiomqtt): subscribe to configured topics, each mapped to a series id.

Payload of a message (UTF-8), one sample each:

* a JSON object ``{"ts": "2026-12-02T12:00:05+00:00", "value": 412.5}``: ``ts`` is ISO 8601 with
  a UTC offset (``Z`` allowed); without ``ts`` the sample is stamped on arrival;
* a plain number (``412.5``), stamped on arrival.

Forecast topics carry rows instead (:func:`parse_rows`): a JSON list of objects or ``{"rows":
[...]}``, handed to ``on_rows(series_id, rows)`` as they are (the consumer validates them).

Anything else (not a finite number, a ``ts`` without offset, a value that is not a number) is a
bad payload: counted in :class:`MqttStats`, logged (the first ten, then every hundredth) and
dropped; it never stops the loop. A lost connection is retried every ``reconnect_s`` seconds
for ever, and the subscriptions are renewed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import aiomqtt
import pandas as pd

log = logging.getLogger(__name__)


class PayloadError(ValueError):
    """A payload that is not a sample; the message says why."""


@dataclass(frozen=True)
class Sample:
    """One measured value of a series."""

    series_id: str
    ts_utc: pd.Timestamp
    value: float
    topic: str


@dataclass
class MqttStats:
    """Counters and state of one subscriber (for health and metrics)."""

    received: int = 0
    bad: int = 0
    connected: bool = False
    connects: int = 0
    last_message_utc: pd.Timestamp | None = None
    last_error: str = ""


def parse_payload(payload: bytes, arrived_utc: pd.Timestamp) -> tuple[pd.Timestamp, float]:
    """(UTC time stamp, value) of one payload; :class:`PayloadError` when it is not a sample."""
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise PayloadError("not UTF-8 text") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        raise PayloadError(f"{text[:40]!r} is neither a number nor a JSON object") from None
    ts = arrived_utc
    if isinstance(doc, dict):
        if "ts" in doc:
            try:
                stamp = pd.Timestamp(doc["ts"]) if isinstance(doc["ts"], str) else None
            except ValueError:
                stamp = None
            if stamp is None or stamp.tzinfo is None:
                raise PayloadError(f"'ts' {doc['ts']!r} is not ISO 8601 with a UTC offset")
            ts = stamp.tz_convert("UTC")
        doc = doc.get("value")
    if isinstance(doc, bool) or not isinstance(doc, (int, float)) or not math.isfinite(doc):
        raise PayloadError(f"value {doc!r} is not a finite number")
    return ts, float(doc)


def parse_rows(payload: bytes) -> list[dict]:
    """The rows of a forecast message: a JSON list of objects or ``{"rows": [...]}`` (an
    ``issued_at_utc`` beside ``rows`` applies to rows without their own); :class:`PayloadError` else."""
    try:
        doc = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PayloadError("not a JSON document") from None
    rows = doc.get("rows") if isinstance(doc, dict) else doc
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise PayloadError('give a non-empty list of rows or {"rows": [...]}')
    issued = doc.get("issued_at_utc") if isinstance(doc, dict) else None
    return [{"issued_at_utc": issued, **r} if issued is not None else r for r in rows]


def _utc_now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


class MqttSubscriber:
    """Subscribes to ``topics`` (topic or wildcard -> series id) and hands each good sample to
    ``on_sample``. Run :meth:`run` as a task; cancel it to stop."""

    def __init__(self, host: str, port: int, topics: dict[str, str], on_sample: Callable[[Sample], None], *,
                 username: str = "", password: str = "", reconnect_s: float = 5.0,
                 now: Callable[[], pd.Timestamp] = _utc_now, forecast_topics: dict[str, str] | None = None,
                 on_rows: Callable[[str, list[dict]], None] | None = None):
        self.host, self.port, self.topics, self.on_sample = host, port, dict(topics), on_sample
        self.forecast_topics, self.on_rows = dict(forecast_topics or {}), on_rows
        self.username, self.password, self.reconnect_s, self.now = username or None, password or None, reconnect_s, now
        self.stats = MqttStats()
        self.subscribed = asyncio.Event()  # set while subscribed (tests and health wait on it)

    def series_of(self, topic: aiomqtt.Topic) -> str | None:
        """Series id of the first configured topic (or wildcard) the message's topic matches."""
        return next((series for pattern, series in self.topics.items() if topic.matches(pattern)), None)

    def handle(self, topic: aiomqtt.Topic, payload: bytes) -> Sample | None:
        """Parse one message and pass the sample (or a forecast topic's rows) on; a bad payload (or
        rows ``on_rows`` refuses with a ``ValueError``) is counted and logged."""
        self.stats.received += 1
        arrived = self.now()
        self.stats.last_message_utc = arrived
        series = self.series_of(topic)
        forecast = next((s for pattern, s in self.forecast_topics.items() if topic.matches(pattern)), None)
        data = payload if isinstance(payload, bytes) else str(payload).encode()
        try:
            if forecast is not None and self.on_rows is not None:
                self.on_rows(forecast, parse_rows(data))
                return None
            if series is None:
                raise PayloadError("topic is not mapped to a series")
            ts, value = parse_payload(data, arrived)
        except ValueError as exc:  # PayloadError, or rows the consumer refuses
            self._bad(topic, exc)
            return None
        sample = Sample(series, ts, value, topic.value)
        try:
            self.on_sample(sample)
        except Exception:  # the consumer's failure must not stop the subscription
            log.exception("mqtt: handling a sample of %s failed", series)
        return sample

    def _bad(self, topic: aiomqtt.Topic, exc: Exception) -> None:
        self.stats.bad += 1
        if self.stats.bad <= 10 or self.stats.bad % 100 == 0:
            log.warning("mqtt: bad payload #%d on %s: %s", self.stats.bad, topic.value, exc)

    @property
    def patterns(self) -> list[str]:
        """Every subscribed topic (measurements, then forecasts)."""
        return [*self.topics, *self.forecast_topics]

    async def probe(self, timeout_s: float = 10.0) -> str | None:
        """Connect once and subscribe; ``None`` when that works, else why not (one line)."""
        try:
            async with asyncio.timeout(timeout_s), aiomqtt.Client(self.host, self.port, username=self.username,
                                                                  password=self.password) as client:
                for pattern in self.patterns:
                    await client.subscribe(pattern, qos=1)
        except (aiomqtt.MqttError, TimeoutError) as exc:
            return f"broker {self.host}:{self.port}: {exc or f'no answer within {timeout_s:g} s'}"
        return None

    async def run(self) -> None:
        """Connect, subscribe, handle messages; reconnect after every failure (until cancelled)."""
        while True:
            try:
                async with aiomqtt.Client(self.host, self.port, username=self.username, password=self.password) as client:
                    for pattern in self.patterns:
                        await client.subscribe(pattern, qos=1)
                    self.stats.connected, self.stats.connects = True, self.stats.connects + 1
                    self.subscribed.set()
                    log.info("mqtt: subscribed to %d topic(s) on %s:%d", len(self.patterns), self.host, self.port)
                    async for message in client.messages:
                        self.handle(message.topic, message.payload)
            except aiomqtt.MqttError as exc:
                self.stats.last_error = str(exc)
                log.warning("mqtt: connection to %s:%d lost or refused (%s); retrying in %g s",
                            self.host, self.port, exc, self.reconnect_s)
            finally:
                self.stats.connected = False
                self.subscribed.clear()
            await asyncio.sleep(self.reconnect_s)
