"""SunSpec conformance of every simulated unit, checked with the SunSpec Alliance's client (pysunspec2)."""

from __future__ import annotations

import asyncio
import math

import pandas as pd
import pytest
import sunspec2.device
from modbus_fixtures import BATTERY, START
from sunspec2.modbus.client import SunSpecModbusClientDeviceTCP

from adapters.drivers import BatteryDriver, ModbusHost
from adapters.simulator import SimBattery, SimClock, Simulator
from adapters.sunspec.layout import MAPS_DIR
from gridctl.devices import simulated_devices

T0 = pd.Timestamp("2016-07-11 12:00", tz="UTC")


def _points(group) -> list:
    """Every point of a pysunspec2 model or group, its repeating groups included."""
    points = list(group.points.values())
    for sub in group.groups.values():
        for g in sub if isinstance(sub, list) else [sub]:
            points += _points(g)
    return points


def _scan(port: int, unit_id: int) -> SunSpecModbusClientDeviceTCP:
    if str(MAPS_DIR) not in sunspec2.device.model_defs_path:
        sunspec2.device.model_defs_path.append(str(MAPS_DIR))
    device = SunSpecModbusClientDeviceTCP(slave_id=unit_id, ipaddr="127.0.0.1", ipport=port, timeout=2)
    try:
        device.scan()
    finally:
        device.close()
    return device


async def test_every_mandatory_point_of_every_unit_is_implemented_and_the_meter_is_consistent(demo_district):
    clock = SimClock(T0)
    devices = simulated_devices(demo_district, clock)
    clock.advance(3600)  # energy flowed, counters moved
    async with Simulator(devices, clock) as sim:
        scans = {d.id: await asyncio.to_thread(_scan, sim.port, d.unit_id) for d in devices}
    for device in devices:
        scanned = scans[device.id]
        models = [m for key, ms in scanned.models.items() if isinstance(key, int) for m in ms]
        assert sorted(m.model_id for m in models) == sorted(device.models)
        for model in models:
            missing = [p.pdef["name"] for p in _points(model) if p.pdef.get("mandatory") == "M" and p.value is None]
            assert not missing, f"{device.id} model {model.model_id}: mandatory points not implemented: {missing}"
            refused = [p.pdef["name"] for p in _points(model) if p.pdef.get("access") == "RW"
                       and p.value is not None and device.pt(model.model_id, p.pdef["name"]) not in device._writable]
            assert not refused, f"{device.id} model {model.model_id}: implemented RW points not writable: {refused}"

    meter = scans["meter"].models[203][0]
    slack = demo_district.net.ext_grid.iloc[0]
    v_ll = slack.vm_pu * demo_district.net.bus.vn_kv[slack.bus] * 1000
    w_lsb, v_lsb, a_lsb = (10.0 ** getattr(meter, sf).value for sf in ("W_SF", "V_SF", "A_SF"))
    assert w_lsb <= 1000  # at least 1 kW resolution
    assert meter.W.cvalue != 0 and sim["meter"].p_kw * 1000 == pytest.approx(meter.W.cvalue, abs=w_lsb / 2)
    assert abs(sum(getattr(meter, f"Wph{p}").cvalue for p in "ABC") - meter.W.cvalue) <= w_lsb
    assert abs(sum(getattr(meter, f"VAph{p}").cvalue for p in "ABC") - meter.VA.cvalue) <= w_lsb
    assert meter.VA.cvalue ** 2 == pytest.approx(meter.W.cvalue ** 2 + meter.VAR.cvalue ** 2, rel=0.01)
    assert abs(meter.PPV.cvalue - v_ll) <= v_lsb
    for p in "ABC":
        v_ln = getattr(meter, f"PhVph{p}").cvalue
        assert abs(v_ln - v_ll / math.sqrt(3)) <= v_lsb
        assert getattr(meter, f"Aph{p}").cvalue == pytest.approx(getattr(meter, f"VAph{p}").cvalue / v_ln,
                                                                 abs=a_lsb + 10.0 ** meter.VA_SF.value / v_ln)
    assert meter.TotWh_SF.value > 0  # kWh or coarser: ten years at the rating fit the acc32 counter
    assert meter.TotWhImp.value >= 1 and meter.TotWhExp.value >= 1  # never 0, SunSpec's "not implemented"
    imported = meter.TotWhImp.cvalue - 10.0 ** meter.TotWh_SF.value
    assert imported == pytest.approx(max(sim["meter"].p_kw, 0) * 1000, abs=10.0 ** meter.TotWh_SF.value)


async def test_wmax_limits_the_battery_and_alm_rst_clears_its_alarm():
    clock = SimClock(START)
    async with Simulator([SimBattery(BATTERY, clock)], clock) as sim:
        host = ModbusHost("127.0.0.1", sim.port)
        driver = BatteryDriver(host, BATTERY.unit_id, BATTERY.id, p_max_kw=BATTERY.p_max_kw, revert_s=7200)
        try:
            await driver.discover()
            assert await driver.write_setpoint(-1500.0) == -1500.0  # discharge 1.5 MW
            assert (await driver.read_telemetry()).p_kw == -1500.0
            wmax = driver.point(702, "WMax")
            await host.write(BATTERY.id, BATTERY.unit_id, wmax.address, [driver.mirror.to_raw(wmax, 600_000)])
            limited = await driver.read_telemetry()
            assert limited.p_kw == -600.0 and limited.setpoint_kw == -1500.0  # WSet stays, power follows WMax
            assert (await driver.read_values([(701, "InvSt")]))["InvSt"] == 4  # THROTTLED
            clock.advance(3600)
            soc_pct = (await driver.read_telemetry()).soc_pct
            assert soc_pct == pytest.approx(BATTERY.soc_initial_pct - 600 / 0.95 / 40, abs=0.01)

            sim.set_fault("bess_1", alarm=True)
            tripped = await driver.read_telemetry()
            assert tripped.p_kw == 0.0 and not tripped.available and tripped.alarms
            assert (await driver.read_values([(802, "Evt1")]))["Evt1"] == 2  # OVER_TEMP_ALARM
            reset = driver.point(802, "AlmRst")
            await host.write(BATTERY.id, BATTERY.unit_id, reset.address, [1])
            cleared = await driver.read_telemetry()
            assert cleared.available and cleared.alarms == 0 and cleared.p_kw == -600.0
            assert (await driver.read_values([(802, "AlmRst"), (802, "Evt1")])) == {"AlmRst": 0, "Evt1": 0}

            set_op = driver.point(802, "SetOp")
            await host.write(BATTERY.id, BATTERY.unit_id, set_op.address, [2])  # DISCONNECT
            assert (await driver.read_telemetry()).p_kw == 0.0
            await host.write(BATTERY.id, BATTERY.unit_id, set_op.address, [1])  # CONNECT
            assert (await driver.read_telemetry()).p_kw == -600.0
        finally:
            host.close()
