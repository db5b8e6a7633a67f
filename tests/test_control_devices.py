"""The control layer on a simulated battery and PV inverter over Modbus TCP, on an explicitly stepped
clock: clamped writes in the registers, setpoint records, health with backoff and events."""

from __future__ import annotations

import pandas as pd
import pytest
from modbus_fixtures import BATTERY, START, rig

from gridctl.control import (
    Controller,
    ControlSettings,
    Rating,
    charger_report,
    clamp,
    pv_cap_kw,
)
from gridctl.dispatch.inputs import ChargerReport
from gridctl.driver_device import DriverDevice
from gridctl.store import Store

RATINGS = {"bess_1": Rating(-2000.0, 2000.0, 400.0, 3800.0), "pv_1": Rating(0.0, 500.0, safe_kw=500.0)}


class Clock:
    """Daemon time that moves only when stepped."""

    def __init__(self):
        self.t = pd.Timestamp("2026-06-01 10:00", tz="UTC")

    def __call__(self) -> pd.Timestamp:
        return self.t


def _controller(r, tmp_path, **settings) -> tuple[Controller, Clock, list]:
    clock, changes = Clock(), []
    devices = {"bess_1": DriverDevice(r.battery, BATTERY.e_max_kwh), "pv_1": DriverDevice(r.pv)}
    store = Store(f"sqlite:///{tmp_path / 'control.sqlite'}")
    ctl = Controller(devices, RATINGS, store, clock, ControlSettings(**settings), on_change=changes.append)
    return ctl, clock, changes


def _wset_kw(r) -> float:
    return -r.sim[BATTERY.id].get(704, "WSet") / 1000


def test_clamp_edges():
    r = Rating(-100.0, 50.0, soc_min_kwh=10.0, soc_max_kwh=90.0)
    assert clamp(50.0, r) == 50.0 and clamp(-100.0, r) == -100.0 and clamp(60, r) == 50.0
    assert clamp(-30.0, r, soc_kwh=10.0) == 0.0 and clamp(-30.0, r, soc_kwh=9.0) == 0.0
    assert clamp(-30.0, r, soc_kwh=10.5) == -30.0  # above the floor: discharge allowed
    assert clamp(30.0, r, soc_kwh=90.0) == 0.0 and clamp(30.0, r, soc_kwh=89.5) == 30.0
    assert clamp(30.0, r, soc_kwh=10.0) == 30.0 and clamp(-30.0, r, soc_kwh=90.0) == -30.0
    assert clamp(-80.0, r, last_kw=-10.0, max_step_kw=20.0) == -30.0
    assert clamp(40.0, r, last_kw=45.0, max_step_kw=1.0) == 44.0
    assert clamp(40.0, r, last_kw=45.0) == 40.0 and clamp(40.0, r, max_step_kw=1.0) == 40.0
    assert clamp(-80.0, Rating(-100.0, 50.0), soc_kwh=0.0) == -80.0  # no SoC window: no SoC rule
    assert Rating(-1.0, 1.0).check("x", 1.0) is None and Rating(-1.0, 1.0).check("x", -1.0) is None
    assert Rating(-1.0, 1.0).check("x", -1.01) == ("x: -1.01 kW is outside the device rating [-1.0, 1.0] kW "
                                                   "(load-referenced: + charges/consumes)")


def test_pv_cap_and_charger_report():
    assert pv_cap_kw(500.0, 300.0, 0.5) == 500.0  # 0.1 % of the rating: not curtailed
    assert pv_cap_kw(500.0, 300.0, 0.6) == pytest.approx(299.4)
    assert pv_cap_kw(500.0, 300.0, 400.0) == 0.0
    assert charger_report({"temp_c": 40.0}) is None
    assert charger_report({"connected": 0, "session_kwh": 5.0}) == ChargerReport(False)
    assert charger_report({"connected": 1, "session_kwh": 12.0, "request_kwh": 30.0, "departure_s": 5400.0}) == \
        ChargerReport(True, 12.0, 30.0, 1.5)
    assert charger_report({"connected": 1, "session_kwh": None, "request_kwh": 0, "departure_s": 0}) == \
        ChargerReport(True, 0.0, None, None)
    assert charger_report({"connected": 1, "departure_s": 1.0}).hours_to_departure == pytest.approx(1 / 3600)


async def test_writes_are_clamped_recorded_and_ramped(tmp_path):
    async with rig() as r:
        ctl, clock, _ = _controller(r, tmp_path, ramp_pct_per_s=1.0)  # 20 kW per second
        tel = await ctl.poll()
        assert set(tel) == {"bess_1", "pv_1"}
        assert tel["bess_1"].soc_kwh == pytest.approx(2000.0, abs=1.0)  # 50 % of 4 MWh
        assert ctl.latest("soc_kwh") == {"bess_1": tel["bess_1"].soc_kwh}
        assert ctl.max_step_kw("bess_1") is None  # never written: no ramp reference
        res = await ctl.apply(START, {"bess_1": (-2500.0, "plan"), "pv_1": (350.0, "plan"), "nope": (1.0, "plan")})
        assert [(x.asset_id, x.requested_kw, x.written_kw, x.ok) for x in res] == [
            ("bess_1", -2500.0, -2000.0, True), ("pv_1", 350.0, 350.0, True)]
        assert res[0].readback_kw == pytest.approx(-2000.0) and _wset_kw(r) == pytest.approx(-2000.0)
        assert r.sim["pv_1"].get(704, "WMaxLimPct") == pytest.approx(70.0)
        clock.t += pd.Timedelta(seconds=10)
        assert ctl.max_step_kw("bess_1") == pytest.approx(200.0)
        res = await ctl.apply(START, {"bess_1": (1000.0, "override"), "pv_1": (None, "plan")})
        assert [(x.asset_id, x.written_kw) for x in res] == [("bess_1", -1800.0)]
        assert _wset_kw(r) == pytest.approx(-1800.0)
        rows = pd.DataFrame(ctl.records.page("setpoints", limit=100).items)
        assert list(rows.source) == ["plan", "plan", "override"]
        assert list(rows.written_kw) == [-2000.0, 350.0, -1800.0] and rows.ok.all()
        assert ctl.state["bess_1"].as_dict() == {
            "online": True, "failures": 0, "errors_total": 0, "p_kw": tel["bess_1"].p_kw, "soc_kwh": tel["bess_1"].soc_kwh,
            "telemetry_at": START.replace(year=2026).isoformat(), "last_setpoint_kw": -1800.0,
            "last_write_at": clock.t.isoformat(), "retry_at": None, "last_error": None}
        assert tel["pv_1"].soc_kwh is None and tel["pv_1"].p_kw == pytest.approx(300.0, abs=1.0)  # PV output
        ctl.records.close()


async def test_soc_window_applies_to_every_write(tmp_path):
    async with rig() as r:
        ctl, clock, _ = _controller(r, tmp_path)  # ramp 10 %/s: 200 kW per second
        unit = r.sim["bess_1"]
        unit.e_kwh = unit.e_min_kwh  # 10 % of 4 MWh = 400 kWh, the rating's floor
        await ctl.poll()
        res = await ctl.apply(START, {"bess_1": (-700.0, "plan")})
        assert (res[0].written_kw, res[0].ok) == (0.0, True) and _wset_kw(r) == 0.0
        unit.e_kwh = unit.e_max_kwh  # 95 %: 3800 kWh, the ceiling
        clock.t += pd.Timedelta(seconds=10)
        await ctl.poll()
        res = await ctl.apply(START, {"bess_1": (700.0, "plan")})
        assert res[0].written_kw == 0.0 and _wset_kw(r) == 0.0
        clock.t += pd.Timedelta(seconds=10)
        res = await ctl.apply(START, {"bess_1": (-700.0, "plan")})
        assert res[0].written_kw == -700.0 and _wset_kw(r) == pytest.approx(-700.0)
        ctl.records.close()


async def test_failed_and_slow_accesses_are_recorded(tmp_path):
    async with rig() as r:
        ctl, clock, _ = _controller(r, tmp_path)
        r.sim.set_fault("bess_1", offline=True)
        res = await ctl.apply(START, {"bess_1": (-300.0, "plan")})
        error = ctl.state["bess_1"].last_error
        assert error.startswith("DeviceTimeout: bess_1: ")
        assert [(x.asset_id, x.requested_kw, x.written_kw, x.readback_kw, x.ok, x.error) for x in res] == [
            ("bess_1", -300.0, -300.0, None, False, error)]
        row = ctl.records.page("setpoints").items[-1]
        assert (row["requested_kw"], row["written_kw"], row["readback_kw"], row["ok"], row["error"]) == (
            -300.0, -300.0, None, False, error)
        assert ctl.state["bess_1"].last_kw is None  # nothing reached the device: no ramp reference
        r.sim.clear_faults("bess_1")
        clock.t += pd.Timedelta(seconds=60)
        await ctl.apply(START, {"bess_1": (-300.0, "plan")})
        row = ctl.records.page("setpoints").items[-1]
        assert (row["readback_kw"], row["ok"], row["error"]) == (pytest.approx(-300.0), True, None)
        # an access slower than io_timeout_s is abandoned and counted (last: its late answer is not awaited)
        ctl.settings.io_timeout_s = 0.02
        r.sim.set_fault("bess_1", delay_s=0.05)
        await ctl.poll()
        assert ctl.state["bess_1"].last_error == "TimeoutError" and ctl.state["bess_1"].failures == 1
        ctl.records.close()


async def test_offline_backoff_and_return(tmp_path):
    async with rig() as r:
        ctl, clock, changes = _controller(r, tmp_path, retry_base_s=5.0, retry_max_s=12.0, offline_after=2)
        r.sim.set_fault("bess_1", offline=True)
        await ctl.poll()
        st = ctl.state["bess_1"]
        assert (st.online, st.failures, st.retry_at) == (True, 1, clock.t + pd.Timedelta(seconds=5))
        assert changes == [] and ctl.offline == set()
        await ctl.poll()  # still counted online: tried at every poll until offline_after failures
        assert (st.online, st.failures, st.retry_at) == (False, 2, clock.t + pd.Timedelta(seconds=10))
        assert changes == [{"bess_1"}] and ctl.offline == {"bess_1"}
        clock.t += pd.Timedelta(seconds=5)
        await ctl.poll()  # offline and not due yet: no access, no new failure
        assert st.failures == 2
        events = ctl.records.page("events").items
        assert [(e["kind"], e["severity"], e["asset_id"]) for e in events] == [("device_offline", "alarm", "bess_1")]
        res = await ctl.apply(START, {"bess_1": (100.0, "plan"), "pv_1": (500.0, "plan")})
        assert res[0].asset_id == "pv_1" and res[0].ok  # online devices first
        assert (res[1].ok, res[1].written_kw, res[1].error) == (False, None, f"offline, next try {st.retry_at.isoformat()}")
        clock.t += pd.Timedelta(seconds=5)
        await ctl.poll()
        assert (st.failures, st.retry_at) == (3, clock.t + pd.Timedelta(seconds=12))  # 20 s capped at retry_max_s
        assert st.errors_total == 3 and "DeviceTimeout" in st.last_error
        r.sim.clear_faults("bess_1")
        clock.t += pd.Timedelta(seconds=12)
        await ctl.poll()
        assert (st.online, st.failures, st.retry_at, st.last_error) == (True, 0, None, None)
        assert changes == [{"bess_1"}, set()]
        events = [(e["severity"], e["kind"], e["message"], e["asset_id"]) for e in ctl.records.page("events").items]
        assert events[1] == ("info", "device_online", "bess_1: answering again after 3 failures", "bess_1")
        assert events[0][2].startswith("bess_1: offline after 2 failed accesses (DeviceTimeout: ")
        assert st.errors_total == 3
        ctl.records.close()
