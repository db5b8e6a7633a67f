"""The daemon against the Modbus simulator over real TCP, on an accelerated clock."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from dataclasses import dataclass

import pandas as pd
import pytest
from apscheduler.triggers.interval import IntervalTrigger
from daemon_rig import stepped_daemon

from adapters.drivers import HostPool, Timing
from gridctl import forecasting
from gridctl.clock import ClockTrigger, DaemonClock
from gridctl.commands.run import attach_site_data, control_settings, device_io, simulator
from gridctl.control import Controller, Rating, clamp
from gridctl.daemon import Daemon, without_assets
from gridctl.devices import ratings
from gridctl.store import Store
from gridctl.store.journal import Journal
from gridctl.store.recorder import Recorder

START = "2026-11-25T11:35:00Z"  # data clock: 2016-11-25 11:35, before the demo plan discharges
BATTERIES = {"bess_park", "bess_depot", "bess_works"}
PVS = {"pv_park", "pv_works"}
FAST_IO = Timing(timeout_s=1.0, retries=0)  # an offline unit must not hold the shared connection long


@dataclass
class Running:
    daemon: Daemon
    sim: object
    store: Store
    records: Recorder

    def flushed(self) -> Store:
        """The store once every record journaled so far is in it."""
        assert self.records.flush(), "the store did not take the journaled records"
        return self.store


@contextlib.asynccontextmanager
async def running_daemon(district, tmp_path, scale: float = 180.0, start: str = START, store_url: str | None = None,
                         seed_history: bool = False, **daemon_settings):
    """A daemon with the simulator on a free port, a SQLite store in ``tmp_path`` and a fast clock
    (without ``seed_history`` it plans on the configured history up to now, not a seeded store)."""
    cfg = district.config
    settings = {"telemetry_s": 60.0, "intraday_lead_s": 300.0, "retry_base_s": 30.0, "retry_max_s": 120.0,
                "misfire_grace_s": 600.0, **daemon_settings}
    config = cfg.model_copy(update={"daemon": cfg.daemon.model_copy(update=settings), "measurements":
                                    cfg.measurements.model_copy(update={"seed_history": seed_history})})
    clock = DaemonClock(scale, pd.Timestamp(start), data_year=2016)
    sim = simulator(district, clock, port=0)
    port = await sim.start()
    store = await asyncio.to_thread(Store, store_url or f"sqlite:///{tmp_path / 'gridctl.sqlite'}")
    records = Recorder(store, Journal(tmp_path / "journal.sqlite"), lambda: clock.now().to_pydatetime())
    pool = HostPool(FAST_IO)
    controller = Controller(device_io(district, pool, port), ratings(district), records, clock.now,
                            control_settings(config))
    daemon = Daemon(config, district, store, controller, clock)
    attach_site_data(daemon, district, store, pool, port)
    await daemon.start()
    try:
        yield Running(daemon, sim, store, records)
    finally:
        await daemon.stop(safe=False)
        pool.close()
        await sim.stop()
        await asyncio.to_thread(records.close)
        store.close()


async def wait_for(check, timeout_s: float = 30.0, what: str = "condition"):
    """Poll ``check()`` until it returns something other than None, False or an empty list."""
    for _ in range(int(timeout_s / 0.1)):
        result = check()
        if result is not None and result is not False and not (isinstance(result, list) and not result):
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def setpoints(store: Store) -> pd.DataFrame:
    return pd.DataFrame(store.page("setpoints", limit=5000).items)


def test_clamp_rating_soc_window_and_ramp():
    r = Rating(-1000.0, 1000.0, soc_min_kwh=200.0, soc_max_kwh=1900.0)
    assert clamp(1500.0, r) == 1000.0
    assert clamp(-1500.0, r) == -1000.0
    assert clamp(-500.0, r, soc_kwh=200.0) == 0.0  # no discharge at the SoC floor
    assert clamp(500.0, r, soc_kwh=1900.0) == 0.0  # no charge at the SoC ceiling
    assert clamp(800.0, r, soc_kwh=1000.0, last_kw=0.0, max_step_kw=300.0) == 300.0
    assert "outside the device rating" in r.check("b", 1000.5)
    assert r.check("b", -1000.0) is None


def test_clock_trigger_fires_on_daemon_clock_boundaries():
    clock = DaemonClock(60.0, pd.Timestamp("2026-11-25T10:07:00Z"), data_year=2016)
    trigger = ClockTrigger(IntervalTrigger(minutes=15, start_date=pd.Timestamp("2026-11-25T10:15:00Z")), clock)
    now = pd.Timestamp.now(tz="UTC").to_pydatetime()
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first)
    assert clock.to_clock(first).floor("15min") == pd.Timestamp("2026-11-25T10:15:00Z")  # never early
    assert clock.to_clock(second).floor("15min") == pd.Timestamp("2026-11-25T10:30:00Z")
    assert clock.to_clock(second) - pd.Timestamp("2026-11-25T10:30:00Z") < pd.Timedelta(milliseconds=1)
    assert (second - first).total_seconds() == pytest.approx(15.0, abs=1e-3)  # 15 min at 60x
    assert clock.data_time(pd.Timestamp("2026-11-25T10:07:00Z")) == pd.Timestamp("2016-11-25T10:07:00Z")


def test_without_assets_keeps_data_and_drops_the_asset(demo_district):
    d = without_assets(demo_district, {"bess_depot"})
    assert [b.cfg.id for b in d.batteries] == ["bess_park", "bess_works"]
    assert d.history is demo_district.history
    assert len(demo_district.batteries) == 3


async def test_setpoints_reach_the_simulator_registers(demo_district, tmp_path):
    async with stepped_daemon(demo_district, tmp_path) as run:
        first = run.daemon.current_interval()
        plan = run.flushed().plan_row(first.to_pydatetime())
        assert plan is not None, "the daemon plans at start when no plan covers now"
        # the next interval's tick writes that interval's plan values into the simulated devices
        nxt = await run.next_interval()
        df = run.setpoints()
        rows = df[(pd.to_datetime(df.interval_start) == nxt) & df.ok]
        assert set(rows.asset_id) >= BATTERIES | PVS
        _, values = run.flushed().plan_row(nxt.to_pydatetime())
        for b in BATTERIES:
            written = rows.set_index("asset_id").written_kw[b]
            assert written == pytest.approx(values[f"{b}.p_kw"], abs=1.0)
            # SunSpec sign: WSet is positive when discharging; the register holds the last value written
            # (records reach the store through the journal, so a later tick may have written by now)
            state = run.daemon.controller.state[b]
            await wait_for(lambda b=b, state=state: abs(run.sim[b].get(704, "WSet") + state.last_kw * 1000) <= 1000,
                           what=f"{b}'s register to hold its last setpoint")
            assert run.sim[b].get(704, "WSetEna") == 1
            assert run.sim[b].get(704, "WSetRvrtTms") == run.daemon.config.daemon.watchdog_s
        # the tick also booked the interval that ended: grid import and each load-referenced asset
        ledger = pd.DataFrame(run.flushed().page("emissions").items)
        booked = ledger[pd.to_datetime(ledger.interval_start) == first].set_index("asset_id")
        assert {"grid", *BATTERIES} <= set(booked.index) and not PVS & set(booked.index)
        assert (booked.emissions_kg == booked.energy_kwh * booked.ci_kg_per_kwh).all()
        assert booked.emissions_kg["grid"] > 0


async def test_device_offline_and_back(demo_district, tmp_path):
    async with stepped_daemon(demo_district, tmp_path) as run:
        store, sim = run.store, run.sim
        await run.next_interval()
        sim.set_fault("bess_depot", offline=True)
        while not run.events("device_offline"):
            await run.next_interval()
        offline = run.events("device_offline")
        assert offline[0]["asset_id"] == "bess_depot"
        # re-planned without it, and the others are still written
        assert any(p["excluded"] == ["bess_depot"] for p in store.page("plans").items)
        nxt = await run.next_interval()
        df = run.setpoints()
        written = df[(pd.to_datetime(df.interval_start) == nxt) & df.ok]
        assert set(written.asset_id) >= (BATTERIES | PVS) - {"bess_depot"} and "bess_depot" not in set(written.asset_id)
        assert not run.daemon.controller.state["bess_depot"].online
        sim.clear_faults("bess_depot")
        while not run.events("device_online"):
            await run.next_interval()
        nxt = await run.next_interval()  # its retry has re-planned with it: written again
        df = run.setpoints()
        assert not df[(df.asset_id == "bess_depot") & df.ok & (pd.to_datetime(df.interval_start) == nxt)].empty
        assert any(p["excluded"] == [] for p in store.page("plans").items[-1:])
        failed = df.query("asset_id == 'bess_depot' and not ok")
        assert len(failed) >= 1 and failed.error.notna().all()


async def test_solver_failure_keeps_the_last_valid_plan(demo_district, tmp_path):
    async with running_daemon(demo_district, tmp_path, scale=10.0) as run:
        daemon, store = run.daemon, run.store
        valid = run.flushed().latest_plan()
        cfg = demo_district.config
        starved = copy.copy(demo_district)  # same net and data, a solver time limit nothing can meet
        starved.config = cfg.model_copy(update={"dispatch": cfg.dispatch.model_copy(update={"time_limit_s": 1e-9})})
        forecasting._FITTED[starved] = forecasting.district_forecasters(demo_district)
        daemon._districts[frozenset()] = starved
        await daemon.intraday()
        latest = run.flushed().latest_plan()
        assert latest["status"] == "failed" and latest["version"] == valid["version"] + 1
        assert [e for e in store.page("events").items if e["kind"] == "solver_failed"]
        await daemon.tick()
        run.flushed()
        last = pd.DataFrame(store.page("setpoints").items).groupby("asset_id").last()
        assert set(last.loc[list(BATTERIES), "source"]) == {"plan"}  # the last valid plan stays in force
        version, _ = store.plan_row(daemon.current_interval().to_pydatetime())
        assert version == valid["version"]
