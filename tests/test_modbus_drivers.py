"""Client drivers against the simulator over real TCP: discovery, faults, typed errors."""

from __future__ import annotations

import asyncio
import socket

import pytest
from modbus_fixtures import BATTERY, FAST, PV, rig

from adapters.drivers import (
    BatteryDriver,
    DeviceProtocolError,
    DeviceRejected,
    DeviceTimeout,
    DeviceUnreachable,
    ModbusHost,
    Timing,
    poll_all,
    write_all,
)


async def test_discovery_finds_the_model_chain():
    async with rig() as r:
        assert [m.model_id for m in r.battery.map.models] == [1, 701, 702, 704, 713, 802]
        assert [m.model_id for m in r.pv.map.models] == [1, 701, 702, 704]
        assert r.battery.raw(1, "Mn") == "gridctl" and r.battery.raw(1, "SN") == BATTERY.id
        assert r.battery.rating_kw == BATTERY.p_max_kw and r.pv.rating_kw == PV.p_rated_kw


async def test_offline_device_times_out_within_the_bound_and_recovers():
    async with rig() as r:
        r.sim.set_fault("bess_1", offline=True)
        with pytest.raises(DeviceTimeout):
            await asyncio.wait_for(r.battery.read_telemetry(), timeout=FAST.bound_s + 0.5)
        assert (await r.pv.read_telemetry()).available  # other units on the same connection still answer
        r.sim.clear_faults("bess_1")
        assert (await r.battery.read_telemetry()).soc_pct == pytest.approx(BATTERY.soc_initial_pct)


async def test_slow_device_times_out_only_beyond_the_timeout():
    async with rig() as r:
        r.sim.set_fault("bess_1", delay_s=FAST.timeout_s / 4)
        assert (await r.battery.read_telemetry()).available
        r.sim.set_fault("bess_1", delay_s=FAST.timeout_s * 3)
        with pytest.raises(DeviceTimeout):
            await r.battery.read_telemetry()
        r.sim.clear_faults("bess_1")
        await asyncio.sleep(FAST.timeout_s * 3)  # let the late answers arrive and be discarded
        assert (await r.battery.read_telemetry()).soc_pct == pytest.approx(BATTERY.soc_initial_pct)


async def test_exception_fault_raises_device_rejected():
    async with rig() as r:
        r.sim.set_fault("bess_1", exception_code=4)
        with pytest.raises(DeviceRejected) as err:
            await r.battery.read_telemetry()
        assert err.value.code == 4 and err.value.device_id == "bess_1"


async def test_stuck_values_freeze_telemetry_while_physics_go_on():
    async with rig() as r:
        await r.battery.write_setpoint(1000.0)
        r.sim.set_fault("bess_1", stuck=True)
        r.sim.clock.advance(3600)
        assert (await r.battery.read_telemetry()).soc_pct == pytest.approx(50.0)
        r.sim.clear_faults("bess_1")
        assert (await r.battery.read_telemetry()).soc_pct == pytest.approx(50.0 + 1000 * 0.95 / 40, abs=0.01)


async def test_wrong_scale_factor_is_detected():
    async with rig() as r:
        r.sim.set_fault("bess_1", sf_offset=1)
        with pytest.raises(DeviceProtocolError, match="scale factor"):
            await r.battery.read_telemetry()  # SoC reads 500 %
        fresh = BatteryDriver(r.host, BATTERY.unit_id, BATTERY.id, p_max_kw=BATTERY.p_max_kw)
        with pytest.raises(DeviceProtocolError, match="differs from the configured"):
            await fresh.discover()  # rating reads 20 MW


async def test_garbage_bytes_do_not_kill_the_server():
    async with rig() as r:
        for garbage in (b"\x00\x01\x00\x00\x00\x06\x01\x63\x00\x00\x00\x01",  # unknown function code
                        b"\xde\xad\xbe\xef" * 64, b"\x00\x01\x00\x00\xff\xff\x01\x03", b"GET / HTTP/1.0\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", r.sim.port), timeout=1) as s:
                s.sendall(garbage)
                await asyncio.sleep(0.05)
        t = await r.battery.read_telemetry()
        assert t.available and t.soc_pct == pytest.approx(BATTERY.soc_initial_pct)


async def test_unknown_host_raises_device_unreachable():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = ModbusHost("127.0.0.1", port, Timing(timeout_s=0.1, retries=1, backoff_s=0.01))
    with pytest.raises(DeviceUnreachable):
        await BatteryDriver(closed, 1, "nowhere").discover()
    closed.close()


async def test_reconnects_after_the_server_restarts():
    async with rig() as r:
        await r.sim.stop()
        with pytest.raises((DeviceUnreachable, DeviceTimeout)):
            await r.battery.read_telemetry()
        await r.sim.start()  # same port
        assert (await r.battery.read_telemetry()).available


async def test_missing_model_is_a_protocol_error():
    async with rig() as r:
        with pytest.raises(DeviceProtocolError, match=r"models \[713\] missing"):
            await BatteryDriver(r.host, PV.unit_id, PV.id).discover()  # a PV inverter is no battery


async def _fake_device(reply, requests: list[bytes] | None = None):
    """A TCP server answering every Modbus request with ``reply(tid, unit, pdu)`` bytes (closing the
    connection instead when they are empty); ``requests`` collects the request PDUs."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while header := await reader.readexactly(7):
                pdu = await reader.readexactly(int.from_bytes(header[4:6], "big") - 1)
                if requests is not None:
                    requests.append(pdu)
                answer = reply(header[:2], header[6:7], pdu)
                if not answer:
                    break
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _frame(tid: bytes, unit: bytes, pdu: bytes) -> bytes:
    return tid + b"\x00\x00" + (len(pdu) + 1).to_bytes(2, "big") + unit + pdu


@pytest.mark.parametrize("reply, error", [
    (lambda tid, unit, pdu: _frame(tid, unit, b"\x03\x02\x53\x75"), DeviceProtocolError),  # 1 register, not 2
    (lambda tid, unit, pdu: _frame(tid, unit, b"\x03\x04SunS"[:3]), DeviceUnreachable),  # truncated: dropped
    (lambda tid, unit, pdu: b"\xff" * 12, DeviceTimeout),  # not Modbus at all
    (lambda tid, unit, pdu: _frame(tid, unit, b"\x83\x02"), DeviceRejected),  # exception: illegal address
])
async def test_malformed_answers_raise_typed_errors(reply, error):
    server = await _fake_device(reply)
    host = ModbusHost("127.0.0.1", server.sockets[0].getsockname()[1], FAST)
    try:
        with pytest.raises(error):
            await asyncio.wait_for(host.read("fake", 1, 40000, 2), timeout=FAST.bound_s + 1.0)
    finally:
        host.close()
        server.close()


@pytest.mark.parametrize("reply, error", [
    (lambda tid, unit, pdu: _frame(tid, unit, b"\x83\x0b"), DeviceTimeout),  # gateway: target failed to respond
    (lambda tid, unit, pdu: _frame(tid, unit, b"\x83\x0a"), DeviceUnreachable),  # gateway: path unavailable
    (lambda tid, unit, pdu: b"", DeviceUnreachable),  # the device closes the connection
])
async def test_gateway_exceptions_and_closed_connections_are_retried_then_typed(reply, error):
    requests: list[bytes] = []
    server = await _fake_device(reply, requests)
    host = ModbusHost("127.0.0.1", server.sockets[0].getsockname()[1], FAST)
    try:
        with pytest.raises(error):
            await host.read("fake", 1, 40000, 2)
        assert len(requests) == FAST.retries + 1  # every attempt reached the device
    finally:
        host.close()
        server.close()


async def test_fleet_polls_and_writes_all_and_reports_failures_per_device():
    async with rig() as r:
        fleet = {"bess_1": BatteryDriver(r.host, BATTERY.unit_id, BATTERY.id, p_max_kw=BATTERY.p_max_kw),
                 "pv_1": r.pv}
        r.sim.set_fault("pv_1", exception_code=6)  # busy: retried, then reported
        written = await write_all(fleet, {"bess_1": -300.0, "pv_1": 100.0})
        assert written["bess_1"] == pytest.approx(-300.0)
        assert isinstance(written["pv_1"], DeviceRejected) and written["pv_1"].code == 6
        r.sim.clear_faults("pv_1")
        polled = await poll_all(fleet)
        assert polled["bess_1"].p_kw == pytest.approx(-300.0) and polled["pv_1"].p_kw == pytest.approx(300.0)
        with pytest.raises(KeyError, match="unknown devices"):
            await write_all(fleet, {"nope": 1.0})
