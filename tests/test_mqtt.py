"""MQTT subscriber against the Mosquitto broker on 127.0.0.1:1883 (a unique topic prefix per
test), and through a loopback TCP proxy that drops the connection to prove reconnection."""

from __future__ import annotations

import asyncio
import uuid

import aiomqtt
import pandas as pd
import pytest

from adapters.mqtt import MqttSubscriber, PayloadError, parse_payload

BROKER = ("127.0.0.1", 1883)
ARRIVED = pd.Timestamp("2026-12-02T12:00:07Z")
WAIT_S = 20.0  # upper bound for the broker round trip, not a speed assertion


def test_payload_formats():
    assert parse_payload(b'{"ts": "2026-12-02T13:00:05+01:00", "value": 412.5}', ARRIVED) == (
        pd.Timestamp("2026-12-02T12:00:05Z"), 412.5)
    assert parse_payload(b"  -3.25 ", ARRIVED) == (ARRIVED, -3.25)
    assert parse_payload(b'{"value": 7}', ARRIVED) == (ARRIVED, 7.0)
    for bad, why in ((b"abc", "neither a number"), (b"NaN", "finite"), (b'{"value": "12"}', "finite"),
                     (b'{"ts": "2026-12-02T12:00:00", "value": 1}', "UTC offset"), (b"true", "finite"),
                     (b'{"ts": "yesterday", "value": 1}', "UTC offset"), (b"\xff\xfe", "UTF-8")):
        with pytest.raises(PayloadError, match=why):
            parse_payload(bad, ARRIVED)


async def _until(predicate) -> None:
    async with asyncio.timeout(WAIT_S):
        while not predicate():
            await asyncio.sleep(0.02)


async def _publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    async with aiomqtt.Client(BROKER[0], port) as client:
        for topic, payload in messages:
            await client.publish(topic, payload, qos=1)


async def test_samples_reach_the_callback_and_bad_payloads_are_counted():
    prefix = f"gridctl-test/{uuid.uuid4().hex}"
    samples = []
    sub = MqttSubscriber(*BROKER, {f"{prefix}/meter/p": "meter/p_kw", f"{prefix}/pv/+": "pv/p_kw"},
                         samples.append, now=lambda: ARRIVED)
    task = asyncio.create_task(sub.run())
    try:
        await asyncio.wait_for(sub.subscribed.wait(), WAIT_S)
        await _publish(BROKER[1], [(f"{prefix}/meter/p", b'{"ts": "2026-12-02T11:59:00Z", "value": 812.0}'),
                                   (f"{prefix}/meter/p", b"not a number"),
                                   (f"{prefix}/pv/a", b"120.5"),
                                   (f"{prefix}/meter/p", b'{"value": null}'),
                                   (f"{prefix}/meter/p", b"815")])
        await _until(lambda: sub.stats.received == 5)
    finally:
        task.cancel()
    assert [(s.series_id, s.ts_utc, s.value) for s in samples] == [
        ("meter/p_kw", pd.Timestamp("2026-12-02T11:59:00Z"), 812.0), ("pv/p_kw", ARRIVED, 120.5),
        ("meter/p_kw", ARRIVED, 815.0)]
    assert sub.stats.bad == 2 and sub.stats.connects == 1


async def test_a_failing_consumer_does_not_stop_the_loop():
    prefix = f"gridctl-test/{uuid.uuid4().hex}"
    seen = []

    def consumer(sample):
        seen.append(sample.value)
        raise RuntimeError("store down")

    sub = MqttSubscriber(*BROKER, {f"{prefix}/x": "x"}, consumer)
    task = asyncio.create_task(sub.run())
    try:
        await asyncio.wait_for(sub.subscribed.wait(), WAIT_S)
        await _publish(BROKER[1], [(f"{prefix}/x", b"1"), (f"{prefix}/x", b"2")])
        await _until(lambda: len(seen) == 2)
    finally:
        task.cancel()
    assert seen == [1.0, 2.0]


class DroppingProxy:
    """Loopback TCP proxy to the broker; :meth:`drop` closes every proxied connection."""

    def __init__(self):
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader, writer):
        up_reader, up_writer = await asyncio.open_connection(*BROKER)
        self.writers += [writer, up_writer]

        async def pipe(src, dst):
            try:
                while data := await src.read(4096):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def drop(self) -> None:
        for w in self.writers:
            w.close()
        self.writers.clear()


async def test_reconnects_after_the_connection_drops():
    prefix = f"gridctl-test/{uuid.uuid4().hex}"
    proxy = DroppingProxy()
    port = await proxy.start()
    samples = []
    sub = MqttSubscriber("127.0.0.1", port, {f"{prefix}/x": "x"}, samples.append, reconnect_s=0.1)
    task = asyncio.create_task(sub.run())
    try:
        await asyncio.wait_for(sub.subscribed.wait(), WAIT_S)
        await _publish(BROKER[1], [(f"{prefix}/x", b"1")])
        await _until(lambda: len(samples) == 1)
        proxy.drop()
        await _until(lambda: sub.stats.connects == 2 and sub.subscribed.is_set())
        await _publish(BROKER[1], [(f"{prefix}/x", b"2")])
        await _until(lambda: len(samples) == 2)
    finally:
        task.cancel()
        proxy.server.close()
    assert [s.value for s in samples] == [1.0, 2.0] and sub.stats.last_error
