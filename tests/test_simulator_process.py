"""Process load (gridctl map 64903) in the simulator and its driver, over real Modbus TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pandas as pd
import pytest
from modbus_fixtures import FAST, START

from adapters.drivers import DeviceRejected, ModbusHost, ProcessLoadDriver
from adapters.simulator import ProcessLoadParams, SimClock, SimProcessLoad, Simulator
from adapters.sunspec import DeviceMap
from gridctl.control import Controller, ControlSettings, Rating
from gridctl.driver_device import DriverDevice
from gridctl.store import Store

PRESS = ProcessLoadParams("press", 41, p_min_kw=50.0, p_max_kw=200.0, ramp_s=60.0)


@asynccontextmanager
async def driven(interlocked: bool = False) -> AsyncIterator[tuple[Simulator, SimProcessLoad, ProcessLoadDriver]]:
    """The press served on an ephemeral port and its driver, discovered over TCP."""
    clock = SimClock(START)
    device = SimProcessLoad(PRESS, clock)
    device.interlocked = interlocked
    async with Simulator([device], clock) as sim:
        host = ModbusHost("127.0.0.1", sim.port, FAST)
        try:
            drv = ProcessLoadDriver(host, PRESS.unit_id, PRESS.id, p_max_kw=PRESS.p_max_kw, revert_s=7200)
            await drv.discover()
            yield sim, device, drv
        finally:
            host.close()


def test_map_64903_is_a_pysunspec2_model_with_its_points():
    model = DeviceMap.build([1, 64903]).model(64903)
    for name in ("St", "W", "WMinRtg", "WMaxRtg", "Ilk", "Starts", "StTms", "TotWh", "Run", "Rst", "WSet"):
        assert model.points[name].name == name


async def test_start_ramps_runs_at_setpoint_and_stops():
    async with driven() as (sim, _, drv):
        assert await drv.write_setpoint(120.0) == pytest.approx(120.0)
        sim.clock.advance(30)
        t = await drv.read_telemetry()
        assert t.p_kw == pytest.approx(60.0, abs=0.5)  # half-way up the 60 s ramp
        assert t.extra["running"] == 1 and t.extra["starts"] == 1
        sim.clock.advance(3570)  # one hour after the start: 30 s ramp energy short of 120 kWh
        t = await drv.read_telemetry()
        assert t.p_kw == pytest.approx(120.0)
        assert t.extra["energy_kwh"] == pytest.approx(120.0 - 120.0 * 30 / 3600, abs=0.01)
        assert await drv.write_setpoint(0.0) == 0.0
        sim.clock.advance(60)
        t = await drv.read_telemetry()
        assert t.p_kw == 0.0 and t.extra["running"] == 0 and t.extra["state_s"] == 60


async def test_a_power_below_the_running_minimum_is_refused():
    async with driven() as (_, device, drv):
        with pytest.raises(DeviceRejected) as refused:
            await drv.write_setpoint(20.0)
        assert refused.value.code == 3 and not device.running


async def test_interlock_refuses_a_start_which_is_not_written_again_until_it_clears():
    async with driven(interlocked=True) as (sim, device, drv):
        with pytest.raises(DeviceRejected) as refused:
            await drv.write_setpoint(200.0)
        assert refused.value.code == 4 and device.starts == 0
        sim.set_fault("press", offline=True)  # a request now would time out
        with pytest.raises(DeviceRejected):  # refused again by the driver: nothing sent
            await drv.write_setpoint(200.0)
        sim.clear_faults("press")
        assert device.image.get_raw(device.pt(64903, "WSetEna")) == 0
        t = await drv.read_telemetry()
        assert t.extra["interlock"] == 1 and drv.start_refused
        device.interlocked = False
        await drv.read_telemetry()
        assert await drv.write_setpoint(200.0) == pytest.approx(200.0)
        assert device.running and device.starts == 1


async def test_trip_stops_the_process_until_reset():
    async with driven() as (sim, device, drv):
        await drv.write_setpoint(200.0)
        sim.clock.advance(120)
        sim.set_fault("press", alarm=True)
        sim.clock.advance(10)
        t = await drv.read_telemetry()
        assert t.p_kw == 0.0 and not t.available and t.alarms == 2 and t.extra["running"] == 0
        with pytest.raises(DeviceRejected):
            await drv.write_setpoint(200.0)
        reset = drv.point(64903, "Rst")
        await drv.host.write(PRESS.id, PRESS.unit_id, reset.address, [1])
        t = await drv.read_telemetry()
        assert t.available and not drv.start_refused
        assert await drv.write_setpoint(200.0) == pytest.approx(200.0)
        assert device.starts == 2


async def test_control_layer_switches_the_load_and_sends_a_refused_start_once(tmp_path):
    async with driven(interlocked=True) as (sim, device, drv):
        clock = [pd.Timestamp("2026-06-01 10:00", tz="UTC")]  # daemon time, one interval per write
        store = Store(f"sqlite:///{tmp_path / 'control.sqlite'}")
        ctl = Controller({PRESS.id: DriverDevice(drv)}, {PRESS.id: Rating(0.0, PRESS.p_max_kw, safe_kw=None)},
                         store, lambda: clock[0], ControlSettings())
        now = clock[0]
        (refused,) = await ctl.apply(now, {PRESS.id: (150.0, "plan")})
        assert not refused.ok and "exception 4" in refused.error
        sim.set_fault("press", offline=True)  # a request would now time out: the next failure is the driver's own
        (again,) = await ctl.apply(now, {PRESS.id: (150.0, "plan")})
        assert not again.ok and "not retried" in again.error and device.starts == 0
        sim.clear_faults("press")
        device.interlocked = False
        tel = (await ctl.poll())[PRESS.id]
        assert tel.process == (False, 0.0, 0.0, 0)
        (started,) = await ctl.apply(now, {PRESS.id: (150.0, "plan")})
        assert started.ok and device.running and device.target_kw() == pytest.approx(150.0)
        clock[0] += pd.Timedelta(minutes=15)
        (stopped,) = await ctl.apply(clock[0], {PRESS.id: (0.0, "plan")})
        assert stopped.ok and not device.running and device.starts == 1
