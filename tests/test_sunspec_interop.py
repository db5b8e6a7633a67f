"""pysunspec2's own client reads and writes the simulator over real TCP."""

from __future__ import annotations

import asyncio

import pytest
from modbus_fixtures import BATTERY, PV_PROFILE, rig
from sunspec2.modbus.client import SunSpecModbusClientDeviceTCP


def _scan(port: int, unit_id: int) -> SunSpecModbusClientDeviceTCP:
    device = SunSpecModbusClientDeviceTCP(slave_id=unit_id, ipaddr="127.0.0.1", ipport=port, timeout=2)
    device.scan()
    return device


async def test_pysunspec2_discovers_battery_and_reads_scaled_values():
    async with rig() as r:
        device = await asyncio.to_thread(_scan, r.sim.port, BATTERY.unit_id)
        assert [k for k in device.models if isinstance(k, int)] == [1, 701, 702, 704, 713, 802]
        assert device.common[0].Mn.value == "gridctl" and device.common[0].SN.value == "bess_1"
        assert device.DERStorageCapacity[0].SoC.cvalue == pytest.approx(BATTERY.soc_initial_pct)
        assert device.battery[0].SoC.cvalue == pytest.approx(BATTERY.soc_initial_pct)
        assert device.DERStorageCapacity[0].WHRtg.cvalue == pytest.approx(BATTERY.e_max_kwh * 1000)
        assert device.DERCapacity[0].WMaxRtg.cvalue == pytest.approx(BATTERY.p_max_kw * 1000)
        assert device.DERMeasureAC[0].W.cvalue == 0


async def test_pysunspec2_writes_a_setpoint_and_reads_w():
    async with rig() as r:
        def charge(port: int) -> float:
            device = _scan(port, BATTERY.unit_id)
            ctl = device.DERCtlAC[0]
            ctl.WSetMod.value = 1  # watts
            ctl.WSet.cvalue = -300_000  # SunSpec sign: negative = charging
            ctl.WSetEna.value = 1
            ctl.write()
            device.DERMeasureAC[0].read()
            return device.DERMeasureAC[0].W.cvalue

        assert await asyncio.to_thread(charge, r.sim.port) == pytest.approx(-300_000)
        assert r.sim["bess_1"].p_kw == pytest.approx(300.0)


async def test_pysunspec2_discovers_pv_and_reads_w():
    async with rig() as r:
        device = await asyncio.to_thread(_scan, r.sim.port, 11)
        assert [k for k in device.models if isinstance(k, int)] == [1, 701, 702, 704]
        assert device.DERMeasureAC[0].W.cvalue == pytest.approx(PV_PROFILE.iloc[0] * 1000)
        assert device.DERMeasureAC[0].W_SF.value == r.sim["pv_1"].image.get_raw(r.sim["pv_1"].pt(701, "W_SF"))
