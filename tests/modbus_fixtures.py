"""A rig for Modbus tests: simulated devices on an ephemeral 127.0.0.1 port and drivers for them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pandas as pd

from adapters.drivers import BatteryDriver, ModbusHost, PvDriver, Timing
from adapters.simulator import BatteryParams, PvParams, SimBattery, SimClock, SimPv, Simulator

START = pd.Timestamp("2016-06-01 10:00", tz="UTC")
BATTERY = BatteryParams("bess_1", unit_id=1, p_max_kw=2000.0, e_max_kwh=4000.0)
PV_PROFILE = pd.Series([300.0, 400.0, 0.0], index=pd.date_range(START, periods=3, freq="15min"))
PV = PvParams("pv_1", unit_id=11, p_rated_kw=500.0, profile=PV_PROFILE)
FAST = Timing(timeout_s=0.25, retries=1, backoff_s=0.02)


@dataclass
class Rig:
    sim: Simulator
    host: ModbusHost
    battery: BatteryDriver
    pv: PvDriver


@asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    """A battery (unit 1) and a PV inverter (unit 11) served and discovered over TCP."""
    clock = SimClock(START)
    async with Simulator([SimBattery(BATTERY, clock), SimPv(PV, clock)], clock) as sim:
        host = ModbusHost("127.0.0.1", sim.port, FAST)
        battery = BatteryDriver(host, BATTERY.unit_id, BATTERY.id, p_max_kw=BATTERY.p_max_kw, revert_s=7200)
        pv = PvDriver(host, PV.unit_id, PV.id, rating_kw=PV.p_rated_kw, revert_s=7200)
        try:
            await battery.discover()
            await pv.discover()
            yield Rig(sim, host, battery, pv)
        finally:
            host.close()
