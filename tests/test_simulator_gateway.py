"""The simulator's Modbus TCP server as a gateway: framing, unknown units, counts, identification.

Raw asyncio sockets send the bytes; pymodbus' client reads the answers where it can.
"""

from __future__ import annotations

import asyncio
import logging
import struct

import pandas as pd
import pytest
from modbus_fixtures import BATTERY, FAST, START, rig
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.constants import DeviceInformation

from adapters.drivers import BatteryDriver, DeviceTimeout, ModbusHost
from adapters.simulator import SimBattery, SimClock, Simulator
from gridctl.control import Controller, ControlSettings, Rating
from gridctl.driver_device import DriverDevice
from gridctl.store import Store

READ_SUNS = struct.pack(">HHHBBHH", 7, 0, 6, BATTERY.unit_id, 3, 40000, 2)  # a valid request: 2 registers
MALFORMED = {
    "protocol id 1": struct.pack(">HHHBBHH", 1, 1, 6, 1, 3, 40000, 2),
    "garbage": b"GET / HTTP/1.1\r\nHost: gridctl\r\n\r\n",
    "length beyond 254": struct.pack(">HHHBBHH", 1, 0, 0x0400, 1, 3, 40000, 2),
    "length too short for the function": struct.pack(">HHHBBH", 1, 0, 4, 1, 3, 40000),
    "length too long for the function": struct.pack(">HHHBBHHH", 1, 0, 8, 1, 3, 40000, 2, 0),
    "byte count beyond the frame": struct.pack(">HHHBBHHBH", 1, 0, 9, 1, 16, 40000, 2, 4, 1),
}


async def _exchange(port: int, frame: bytes) -> bytes:
    """Send ``frame`` on a new connection; the bytes received until the server closes it (b"" if it
    closes without answering) or until an answer arrived."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(frame)
        await writer.drain()
        return await asyncio.wait_for(reader.read(300), timeout=5)
    finally:
        writer.close()


@pytest.mark.parametrize("name", MALFORMED)
async def test_malformed_frame_closes_the_connection_and_a_new_one_is_answered(name):
    async with rig() as r:
        reader, writer = await asyncio.open_connection("127.0.0.1", r.sim.port)
        writer.write(MALFORMED[name])
        await writer.drain()
        assert await asyncio.wait_for(reader.read(300), timeout=5) == b""  # closed, no answer
        assert reader.at_eof()
        writer.close()
        answer = await _exchange(r.sim.port, READ_SUNS)
        assert answer == struct.pack(">HHHBBB", 7, 0, 7, BATTERY.unit_id, 3, 4) + b"SunS"


async def test_unknown_unit_gets_gateway_exception_or_silence_logged_once(caplog):
    clock = SimClock(START)
    async with Simulator([SimBattery(BATTERY, clock)], clock) as sim:
        caplog.set_level(logging.INFO, logger="adapters.simulator.gateway")
        for unit in (0, 55, 247, 255, 55, 55):
            answer = await _exchange(sim.port, struct.pack(">HHHBBHH", 9, 0, 6, unit, 3, 40000, 2))
            assert answer == struct.pack(">HHHBBB", 9, 0, 3, unit, 0x83, 0x0B)
        assert sum("unit id 55" in m for m in caplog.messages) == 1
    async with Simulator([SimBattery(BATTERY, clock)], clock, unknown_unit="silent") as sim:
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        writer.write(struct.pack(">HHHBBHH", 9, 0, 6, 55, 3, 40000, 2) + READ_SUNS)
        answer = await asyncio.wait_for(reader.readexactly(13), timeout=5)
        writer.close()
        assert answer[:2] == struct.pack(">H", 7)  # only the known unit answered
    with pytest.raises(ValueError, match="unknown_unit"):
        Simulator([], clock, unknown_unit="loud")


@pytest.mark.parametrize("frame", [
    struct.pack(">HHHBBHH", 3, 0, 6, 1, 3, 40000, 0),  # read 0 registers
    struct.pack(">HHHBBHH", 3, 0, 6, 1, 3, 40000, 126),  # read 126 registers
    struct.pack(">HHHBBHHB", 3, 0, 7, 1, 16, 40000, 0, 0),  # write 0 registers
    struct.pack(">HHHBBHHBHH", 3, 0, 11, 1, 16, 40000, 1, 4, 0, 0),  # byte count contradicts count
])
async def test_bad_register_counts_get_exception_3(frame):
    async with rig() as r:
        answer = await _exchange(r.sim.port, frame)
        assert answer[7:] == bytes((frame[7] | 0x80, 3))


async def test_identification_names_the_simulated_device():
    async with rig() as r:
        client = AsyncModbusTcpClient("127.0.0.1", port=r.sim.port, timeout=2)
        await client.connect()
        try:
            rsp = await client.read_device_information(read_code=DeviceInformation.REGULAR, device_id=1)
            assert rsp.information[0] == b"gridctl" and rsp.information[5] == b"battery"
            assert rsp.information[6] == BATTERY.id.encode()
            rsp = await client.read_device_information(read_code=DeviceInformation.SPECIFIC, object_id=6,
                                                       device_id=11)
            assert rsp.information == {6: b"pv_1"}
            rsp = await client.report_device_id(device_id=11)
            assert rsp.identifier == b"gridctl pv inverter pv_1" and rsp.status
            rsp = await client.diag_query_data(b"\x12\x34", device_id=1)
            assert rsp.message == b"\x12\x34"
        finally:
            client.close()
        assert b"Pymodbus" not in await _exchange(r.sim.port, struct.pack(">HHHBB", 5, 0, 2, 1, 17))


async def test_a_unit_behind_the_gateway_that_never_answers_goes_offline_with_one_event(tmp_path):
    clock = SimClock(START)
    async with Simulator([SimBattery(BATTERY, clock)], clock) as sim:
        host = ModbusHost("127.0.0.1", sim.port, FAST)
        missing = BatteryDriver(host, 55, "bess_gone", p_max_kw=100.0)  # no device under unit 55
        with pytest.raises(DeviceTimeout, match="exception 11"):
            await missing.discover()
        store = Store(f"sqlite:///{tmp_path / 'events.sqlite'}")
        now = [pd.Timestamp(START)]
        controller = Controller({"bess_gone": DriverDevice(missing, 200.0)}, {"bess_gone": Rating(-100.0, 100.0)},
                                store, lambda: now[0], ControlSettings(retry_base_s=1.0, offline_after=3))
        try:
            for _ in range(6):
                await controller.poll()
                now[0] += pd.Timedelta(minutes=10)
            events = [e["kind"] for e in store.page("events", asset_id="bess_gone").items]
            assert events == ["device_offline"] and controller.offline == {"bess_gone"}
        finally:
            host.close()
            store.close()



async def test_single_mask_and_read_write_functions_reach_the_device():
    async with rig() as r:
        battery = r.sim["bess_1"]
        ena, mod = battery.pt(704, "WSetEna").address, battery.pt(704, "WSetMod").address
        client = AsyncModbusTcpClient("127.0.0.1", port=r.sim.port, timeout=2)
        await client.connect()
        try:
            assert not (await client.write_register(mod, 1, device_id=1)).isError()
            rsp = await client.mask_write_register(address=ena, and_mask=0, or_mask=1, device_id=1)
            assert not rsp.isError() and battery.get(704, "WSetEna") == 1
            rsp = await client.readwrite_registers(read_address=ena, read_count=1, write_address=ena, values=[0],
                                                   device_id=1)
            assert rsp.registers == [0] and battery.get(704, "WSetEna") == 0
            rsp = await client.write_register(ena, 7, device_id=1)  # not an enum value
            assert rsp.isError() and rsp.exception_code == 3
        finally:
            client.close()
