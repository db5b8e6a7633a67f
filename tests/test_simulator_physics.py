"""Device physics of the simulator, driven and observed over real Modbus TCP."""

from __future__ import annotations

import pandas as pd
import pytest
from modbus_fixtures import BATTERY, PV_PROFILE, rig
from pymodbus.client import AsyncModbusTcpClient

from adapters.drivers import DeviceRejected
from adapters.errors import DataError
from adapters.simulator import Faults


async def test_charge_setpoint_raises_soc_by_the_stored_energy():
    async with rig() as r:
        assert await r.battery.write_setpoint(800.0) == pytest.approx(800.0)
        for _ in range(4):  # one simulated hour, read every quarter hour
            r.sim.clock.advance(900)
            t = await r.battery.read_telemetry()
            assert t.p_kw == pytest.approx(800.0)
        expected_kwh = BATTERY.e_max_kwh * 0.5 + 800.0 * BATTERY.eta_charge * 1.0
        assert t.soc_pct / 100 * BATTERY.e_max_kwh == pytest.approx(expected_kwh, rel=0.005)
        assert r.sim["bess_1"].e_kwh == pytest.approx(expected_kwh, rel=1e-9)


async def test_discharge_stops_at_soc_min_and_counts_ac_energy():
    async with rig() as r:
        await r.battery.write_setpoint(-2000.0)
        r.sim.clock.advance(2 * 3600)
        t = await r.battery.read_telemetry()
        assert t.soc_pct == pytest.approx(BATTERY.soc_min_pct)
        assert t.p_kw == 0.0  # empty: the accepted power drops to zero
        injected_kwh = (await r.battery.read_values([(701, "TotWhInj")]))["TotWhInj"] / 1000
        stored_out = BATTERY.e_max_kwh * (BATTERY.soc_initial_pct - BATTERY.soc_min_pct) / 100
        assert injected_kwh == pytest.approx(stored_out * BATTERY.eta_discharge, abs=0.001)


async def test_over_rating_setpoint_is_refused_with_illegal_data_value():
    async with rig() as r:
        await r.battery.write_setpoint(500.0)
        with pytest.raises(DeviceRejected) as err:
            await r.battery.write_setpoint(2500.0)
        assert err.value.code == 3
        t = await r.battery.read_telemetry()
        assert t.setpoint_kw == pytest.approx(500.0) and t.p_kw == pytest.approx(500.0)


async def test_writes_outside_writable_points_or_symbols_are_refused():
    async with rig() as r:
        soc = r.battery.point(713, "SoC")
        with pytest.raises(DeviceRejected) as err:
            await r.host.write("bess_1", 1, soc.address, [1234])
        assert err.value.code == 2  # illegal data address: SoC is read-only
        ena = r.battery.point(704, "WSetEna")
        with pytest.raises(DeviceRejected) as err:
            await r.host.write("bess_1", 1, ena.address, [7])
        assert err.value.code == 3  # 7 is not an enum value of WSetEna


async def test_revert_timer_expiry_returns_to_the_safe_setpoint():
    async with rig() as r:
        r.battery.revert_s = 300
        await r.battery.write_setpoint(1000.0)
        r.sim.clock.advance(200)
        t = await r.battery.read_telemetry()
        assert t.p_kw == pytest.approx(1000.0) and t.revert_remaining_s == 100
        r.sim.clock.advance(200)
        t = await r.battery.read_telemetry()
        assert t.p_kw == 0.0 and t.setpoint_kw == 0.0 and t.revert_remaining_s == 0
        charged = 1000.0 * BATTERY.eta_charge * 300 / 3600  # only until the expiry
        assert r.sim["bess_1"].e_kwh == pytest.approx(BATTERY.e_max_kwh * 0.5 + charged, rel=1e-9)


async def test_a_limit_set_after_a_write_holds_for_the_next_write_of_the_same_registers():
    async with rig() as r:
        await r.battery.write_setpoint(1500.0)  # the write's checks are kept for its registers ...
        r.sim["bess_1"].limit(704, "WSet", -1e6, 1e6)  # ... until a limit changes (W)
        with pytest.raises(DeviceRejected) as err:
            await r.battery.write_setpoint(1500.0)
        assert err.value.code == 3
        assert await r.battery.write_setpoint(800.0) == pytest.approx(800.0)


async def test_each_write_restarts_the_revert_timer():
    async with rig() as r:
        r.battery.revert_s = 300
        await r.battery.write_setpoint(1000.0)
        r.sim.clock.advance(250)
        await r.battery.write_setpoint(1000.0)
        r.sim.clock.advance(250)
        assert (await r.battery.read_telemetry()).p_kw == pytest.approx(1000.0)


async def test_pv_follows_profile_and_honours_curtailment():
    async with rig() as r:
        assert (await r.pv.read_telemetry()).p_kw == pytest.approx(PV_PROFILE.iloc[0])
        assert await r.pv.write_setpoint(250.0) == pytest.approx(250.0)
        t = await r.pv.read_telemetry()
        assert t.p_kw == pytest.approx(250.0) and t.setpoint_kw == pytest.approx(250.0)
        r.sim.clock.advance(900)
        assert (await r.pv.read_telemetry()).p_kw == pytest.approx(250.0)  # 400 available, capped
        r.sim.clock.advance(900)
        assert (await r.pv.read_telemetry()).p_kw == 0.0  # nothing available
        injected = (await r.pv.read_values([(701, "TotWhInj")]))["TotWhInj"]
        assert injected == pytest.approx(250.0 * 0.5 * 1000, abs=1)


async def test_coil_requests_are_answered_with_illegal_function():
    async with rig() as r:
        client = AsyncModbusTcpClient("127.0.0.1", port=r.sim.port, timeout=1)
        await client.connect()
        try:
            rsp = await client.read_coils(40000, count=8, device_id=BATTERY.unit_id)
            assert rsp.isError() and rsp.exception_code == 1
            rsp = await client.write_coil(40080, True, device_id=BATTERY.unit_id)
            assert rsp.isError() and rsp.exception_code == 1
        finally:
            client.close()
        assert (await r.battery.read_telemetry()).p_kw == 0.0


def test_fault_settings_are_checked():
    faults = Faults()
    faults.update(delay_s=0.2, stuck=True)
    assert faults.delay_s == 0.2 and faults.stuck
    with pytest.raises(DataError) as err:
        Faults.from_dict({"offline": "yes", "exception_code": 9, "delay_s": -1, "sf_ofset": 1}, "faults.x")
    assert sorted(err.value.problems) == sorted([
        ("faults.x.sf_ofset: unknown fault; use one of "
         "['alarm', 'delay_s', 'exception_code', 'offline', 'sf_offset', 'stuck']"),
        "faults.x.offline: 'yes' is not true or false",
        "faults.x.delay_s: -1 is not a delay; use seconds >= 0",
        "faults.x.exception_code: 9 is not a Modbus exception code; use one of [1, 2, 3, 4, 5, 6, 10, 11]",
    ])


@pytest.mark.parametrize("unit", ["ns", "us", "s"])
def test_a_profile_holds_each_value_through_its_interval_whatever_the_unit_of_its_index(unit):
    """A profile read from Parquet or built by pandas 2 may hold microseconds or seconds."""
    from adapters.simulator.pv import StepProfile

    starts = pd.date_range("2016-07-11", periods=4, freq="15min", tz="UTC")
    profile = StepProfile(pd.Series([1.0, 2.0, 3.0, 4.0], index=starts.as_unit(unit)), default=-1.0)
    assert [profile.at(t + pd.Timedelta(minutes=14)) for t in starts] == [1.0, 2.0, 3.0, 4.0]
    assert profile.at(starts[0] - pd.Timedelta(seconds=1)) == -1.0


def test_a_profile_kept_at_its_last_interval_still_answers_times_out_of_order():
    """Lookups that leave the interval looked up last, forwards, backwards and at its edges."""
    from adapters.simulator.pv import StepProfile

    starts = pd.date_range("2016-07-11", periods=3, freq="15min", tz="UTC")
    profile = StepProfile(pd.Series([1.0, 2.0, 3.0], index=starts), default=-1.0)
    second = pd.Timedelta(seconds=1)
    times = [starts[1], starts[2] - second, starts[2], starts[1], starts[0] - second, starts[0], starts[2] + 10 * second,
             starts[1] - second]
    assert [profile.at(t) for t in times] == [2.0, 2.0, 3.0, 2.0, -1.0, 1.0, 3.0, 1.0]


async def test_a_controls_readback_leaves_the_telemetry_to_the_next_read_that_serves_it():
    async with rig() as r:
        battery = r.sim["bess_1"]
        await r.battery.write_setpoint(1000.0)  # its readback serves no measured value ...
        assert not battery._published
        assert (await r.battery.read_telemetry()).p_kw == pytest.approx(1000.0)  # ... the next read does
        assert battery._published
