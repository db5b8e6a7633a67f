"""EV charging points, heat pumps (gridctl maps) and the grid meter, over real Modbus TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pandas as pd
import pytest
from modbus_fixtures import BATTERY, FAST, PV, START

from adapters.drivers import (
    DeviceRejected,
    EvChargerDriver,
    HeatPumpDriver,
    ModbusHost,
    SunSpecDriver,
)
from adapters.simulator import (
    EvChargerParams,
    EvSessionSpec,
    HeatPumpParams,
    MeterParams,
    SimBattery,
    SimClock,
    SimEvCharger,
    SimHeatPump,
    SimMeter,
    SimPv,
    SimulatedDevice,
    Simulator,
)

H = pd.Timedelta(hours=1)
EV = EvChargerParams("ev_1", 21, p_max_kw=22.0, p_min_kw=4.2,
                     sessions=(EvSessionSpec(START + H, START + 5 * H, 50.0),))


@asynccontextmanager
async def served(*devices: SimulatedDevice) -> AsyncIterator[ModbusHost]:
    """``devices`` on an ephemeral port, and a connection to them."""
    async with Simulator(devices, devices[0].clock) as sim:
        host = ModbusHost("127.0.0.1", sim.port, FAST)
        try:
            yield host
        finally:
            host.close()


async def test_ev_session_arrives_charges_to_its_request_and_departs():
    clock = SimClock(START)
    async with served(SimEvCharger(EV, clock)) as host:
        ev = EvChargerDriver(host, EV.unit_id, EV.id, p_max_kw=EV.p_max_kw, revert_s=7200)
        await ev.discover()
        t = await ev.read_telemetry()
        assert t.extra["connected"] == 0 and t.p_kw == 0
        clock.advance(3600)
        t = await ev.read_telemetry()
        assert t.extra["connected"] == 1 and t.p_kw == pytest.approx(22.0)  # uncontrolled: full power
        assert t.extra["request_kwh"] == pytest.approx(50.0) and t.extra["departure_s"] == 4 * 3600
        assert await ev.write_setpoint(10.0) == pytest.approx(10.0)
        clock.advance(3600)
        assert (await ev.read_telemetry()).extra["session_kwh"] == pytest.approx(10.0)
        for below_min_or_over_rating in (2.0, 30.0):
            with pytest.raises(DeviceRejected) as err:
                await ev.write_setpoint(below_min_or_over_rating)
            assert err.value.code == 3
        await ev.write_setpoint(22.0)
        clock.advance(2 * 3600)  # 44 kWh possible, 40 kWh still requested
        t = await ev.read_telemetry()
        assert t.extra["session_kwh"] == pytest.approx(50.0) and t.p_kw == 0
        clock.advance(3600)
        assert (await ev.read_telemetry()).extra["connected"] == 0


async def test_heat_pump_store_heats_by_cop_times_energy():
    clock = SimClock(START)
    hp = HeatPumpParams("hp_1", 31, p_max_kw=10.0, cop=3.0, capacity_kwh_per_k=10.0, temp_initial_c=45.0,
                        loss_kw_per_k=0.0)
    async with served(SimHeatPump(hp, clock)) as host:
        driver = HeatPumpDriver(host, hp.unit_id, hp.id, p_max_kw=hp.p_max_kw, revert_s=7200)
        await driver.discover()
        await driver.write_setpoint(5.0)
        clock.advance(3600)
        t = await driver.read_telemetry()
        assert t.p_kw == pytest.approx(5.0)
        assert t.extra["temp_c"] == pytest.approx(45.0 + 3.0 * 5.0 / 10.0)  # 15 kWh heat into 10 kWh/K
        with pytest.raises(DeviceRejected):
            await driver.write_setpoint(12.0)


async def test_heat_pump_blocked_by_sg_ready_still_holds_the_comfort_limit():
    clock = SimClock(START)
    demand = pd.Series([6.0], index=[START])
    hp = HeatPumpParams("hp_1", 31, p_max_kw=10.0, capacity_kwh_per_k=10.0, temp_initial_c=45.0,
                        loss_kw_per_k=0.0, heat_demand_kw=demand)
    async with served(SimHeatPump(hp, clock)) as host:
        driver = HeatPumpDriver(host, hp.unit_id, hp.id)
        await driver.discover()
        assert await driver.write_sg_ready(1) == 1
        clock.advance(8 * 3600)  # 48 kWh drawn: 45 -> 40.2 degC, pump blocked
        t = await driver.read_telemetry()
        assert t.p_kw == 0 and t.extra["temp_c"] == pytest.approx(40.2, abs=0.05)
        clock.advance(4 * 3600)
        assert 39.9 <= (await driver.read_telemetry()).extra["temp_c"] <= 40.2
        with pytest.raises(ValueError, match="SG-Ready state"):
            await driver.write_sg_ready(5)


async def test_meter_sums_devices_and_base_load():
    clock = SimClock(START)
    battery, pv = SimBattery(BATTERY, clock), SimPv(PV, clock)
    meter = SimMeter(MeterParams("meter", 90, p_max_kw=10_000.0, base_load_kw=pd.Series([1000.0], index=[START])),
                     clock, [battery, pv])
    async with served(battery, pv, meter) as host:
        driver = SunSpecDriver(host, 90, "meter")
        await driver.discover()
        assert (await driver.read_values([(203, "W")]))["W"] == pytest.approx((1000.0 - 300.0) * 1000, abs=1000)
        battery.image.set_raw(battery.pt(704, "WSetEna"), 1)
        battery.image.set(battery.pt(704, "WSet"), -500_000)  # charge 500 kW
        clock.advance(60)
        assert (await driver.read_values([(203, "W")]))["W"] == pytest.approx((1000 + 500 - 300) * 1000, abs=1000)
