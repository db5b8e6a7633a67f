"""Revert timers of PV, EV charger and heat pump in the simulator: when writes stop, each device
returns to its safe state by itself (PV uncapped, EV at full power, heat pump on its thermostat)."""

from __future__ import annotations

import pytest
from modbus_fixtures import PV_PROFILE, START, rig
from test_simulator_flexible import EV, H, served

from adapters.drivers import EvChargerDriver, HeatPumpDriver
from adapters.simulator import HeatPumpParams, SimClock, SimEvCharger, SimHeatPump


async def test_pv_cap_is_lifted_when_its_revert_timer_expires():
    async with rig() as r:
        r.pv.revert_s = 300
        await r.pv.write_setpoint(100.0)
        r.sim.clock.advance(200)
        t = await r.pv.read_telemetry()
        assert (t.p_kw, t.setpoint_kw, t.revert_remaining_s) == (pytest.approx(100.0), pytest.approx(100.0), 100)
        r.sim.clock.advance(200)
        t = await r.pv.read_telemetry()
        assert t.p_kw == pytest.approx(PV_PROFILE.iloc[0]) and t.revert_remaining_s == 0  # 300 kW: uncapped
        assert r.sim["pv_1"].cap_kw() == pytest.approx(500.0)


async def test_ev_charger_returns_to_full_power_when_its_revert_timer_expires():
    clock = SimClock(START + H)  # the vehicle is connected
    async with served(SimEvCharger(EV, clock)) as host:
        ev = EvChargerDriver(host, EV.unit_id, EV.id, p_max_kw=EV.p_max_kw, revert_s=600)
        await ev.discover()
        await ev.write_setpoint(5.0)
        clock.advance(300)
        assert (await ev.read_telemetry()).p_kw == pytest.approx(5.0)
        clock.advance(600)  # expired after 300 s more: 300 s at 5 kW, 300 s at 22 kW
        t = await ev.read_telemetry()
        assert t.p_kw == pytest.approx(22.0)
        assert t.extra["session_kwh"] == pytest.approx((600 * 5.0 + 300 * 22.0) / 3600, abs=1e-3)  # register: Wh


async def test_heat_pump_returns_to_its_thermostat_when_its_revert_timer_expires():
    clock = SimClock(START)
    hp = HeatPumpParams("hp_1", 31, p_max_kw=10.0, cop=3.0, capacity_kwh_per_k=10.0, temp_initial_c=45.0,
                        loss_kw_per_k=0.0)
    async with served(SimHeatPump(hp, clock)) as host:
        driver = HeatPumpDriver(host, hp.unit_id, hp.id, p_max_kw=hp.p_max_kw, revert_s=600)
        await driver.discover()
        await driver.write_setpoint(6.0)
        clock.advance(300)
        assert (await driver.read_telemetry()).p_kw == pytest.approx(6.0)
        clock.advance(600)
        t = await driver.read_telemetry()
        own = SimHeatPump(hp, SimClock(START))  # the same pump never written to, at the same temperature
        own.temp_c = t.extra["temp_c"]
        assert t.p_kw == pytest.approx(own.p_kw) and t.p_kw != pytest.approx(6.0) and t.setpoint_kw is None
        # 600 s at 6 kW, then its own control: the store gained COP x energy
        heat_kwh = 3.0 * (600 * 6.0 + 300 * own.p_kw) / 3600
        assert t.extra["temp_c"] == pytest.approx(45.0 + heat_kwh / 10.0, abs=0.05)
