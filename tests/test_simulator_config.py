"""The configured district as simulated devices and drivers (gridctl.devices)."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import signal
import sys

import pandas as pd
import pytest

from adapters.drivers import BatteryDriver, HostPool, PvDriver, SunSpecDriver, Timing
from adapters.simulator import (
    SimBattery,
    SimEvCharger,
    SimHeatPump,
    SimMeter,
    SimProcessLoad,
    SimPv,
)
from adapters.sunspec import RegisterImage
from gridctl import devices as gridctl_devices
from gridctl.cli import build_parser
from gridctl.config import ConfigError, parse_config
from gridctl.devices import drivers, simulated_devices, simulator, simulator_clock

T0 = pd.Timestamp("2016-06-01 10:00", tz="UTC")


def test_every_configured_asset_becomes_a_device_with_its_unit_id(demo_district):
    config = demo_district.config
    devices = {d.id: d for d in simulated_devices(demo_district, simulator_clock(config, T0, speed=0))}
    assets = config.assets.all()
    assert {a.id: a.unit_id for a in assets} == {i: d.unit_id for i, d in devices.items() if i != "meter"}
    assert devices["meter"].unit_id == config.simulator.meter_unit_id and isinstance(devices["meter"], SimMeter)
    kinds = {SimBattery: config.assets.battery, SimPv: config.assets.pv,
             SimEvCharger: config.assets.ev_charger, SimHeatPump: config.assets.heat_pump}
    for kind, items in kinds.items():
        assert all(isinstance(devices[a.id], kind) for a in items)
    b = config.assets.battery[0]
    assert devices[b.id].e_kwh == pytest.approx(b.soc_initial_kwh)


def test_a_chargers_sessions_are_listed_once_per_district_and_follow_a_changed_placement(demo_district):
    clock = simulator_clock(demo_district.config, T0, speed=0)
    chargers = [d for d in simulated_devices(demo_district, clock) if isinstance(d, SimEvCharger)]
    again = {d.id: d for d in simulated_devices(demo_district, clock) if isinstance(d, SimEvCharger)}
    placed = {p.cfg.id: p for p in demo_district.flexible_placement[0]}
    for charger in chargers:  # the same parameters for every plant, equal to freshly listed ones
        assert again[charger.id].params is charger.params
        assert charger.params == gridctl_devices._listed_ev_params(demo_district, placed[charger.id])
    first = placed[chargers[0].id]
    moved = dataclasses.replace(first, cfg=first.cfg.model_copy(update={"p_max_kw": 1.5 * first.p_max_kw}))
    assert gridctl_devices._ev_params(demo_district, moved) == gridctl_devices._listed_ev_params(demo_district, moved)
    assert gridctl_devices._ev_params(demo_district, moved).p_max_kw == moved.p_max_kw != first.p_max_kw


def test_pure_telemetry_writes_only_the_registers_found_at_construction(demo_district, monkeypatch):
    """A device with pure telemetry leaves it unpublished for reads of none of its registers; those
    are found once, so no state may make it write others."""
    clock = simulator_clock(demo_district.config, T0, speed=0)
    devices = [d for d in simulated_devices(demo_district, clock) if d.pure_telemetry]
    assert {type(d).__name__ for d in devices} == {"SimBattery", "SimPv", "SimEvCharger", "SimProcessLoad"}
    written = []
    store = RegisterImage.set_raw
    monkeypatch.setattr(RegisterImage, "set_raw", lambda image, point, raw: (
        written.append((point.address - image.map.base, point.size)), store(image, point, raw)))
    for step in range(48):  # two days: vehicles come and go, PV rises and sets, processes start and stop
        clock.advance(3600)
        for device in devices:
            device.sync()
            if isinstance(device, SimProcessLoad):
                device.running = not device.running
            written.clear()
            device.publish_telemetry()
            assert written and all(all(device._measured[i:i + n]) for i, n in written), (device.id, step)

def test_pv_rating_and_profile_come_from_the_net_and_history(demo_district):
    devices = {d.id: d for d in simulated_devices(demo_district, simulator_clock(demo_district.config, T0, speed=0))}
    for placed in demo_district.pv_assets:
        params = devices[placed.cfg.id].params
        assert params.p_rated_kw == pytest.approx(demo_district.net.sgen.p_mw[placed.sgen] * 1000)
        expected = demo_district.history[placed.series_id] * placed.share
        pd.testing.assert_series_equal(params.profile, expected, check_names=False)
        assert devices[placed.cfg.id].output_kw(T0) == pytest.approx(min(expected.asof(T0), params.p_rated_kw))


def test_simulator_clock_runs_on_the_data_year(demo_config):
    clock = simulator_clock(demo_config, pd.Timestamp("2026-02-28 12:00", tz="UTC"), speed=0)
    assert clock.now() == pd.Timestamp(f"{demo_config.daemon.data_year}-02-28 12:00", tz="UTC")


def test_faults_from_config_are_checked_and_applied(demo_district):
    raw = demo_district.config.model_dump(exclude={"base_dir"})
    bad = parse_config({**raw, "simulator": {**raw["simulator"], "faults": {"nope": {"offline": True}}}})
    demo_district.config, original = bad, demo_district.config
    try:
        with pytest.raises(ConfigError, match="simulator.faults.nope: no device"):
            simulated_devices(demo_district, simulator_clock(bad, T0, speed=0))
        typo = parse_config({**raw, "simulator": {**raw["simulator"], "faults": {"bess_park": {"ofline": True}}}})
        demo_district.config = typo
        with pytest.raises(ConfigError, match="simulator.faults.bess_park.ofline: unknown fault"):
            simulated_devices(demo_district, simulator_clock(typo, T0, speed=0))
        good = parse_config({**raw, "simulator": {**raw["simulator"], "faults": {"bess_park": {"delay_s": 0.5}}}})
        demo_district.config = good
        devices = {d.id: d for d in simulated_devices(demo_district, simulator_clock(good, T0, speed=0))}
        assert devices["bess_park"].faults.delay_s == 0.5 and not devices["bess_depot"].faults.delay_s
    finally:
        demo_district.config = original


async def test_drivers_read_every_configured_device_over_tcp(demo_district):
    config = demo_district.config
    clock = simulator_clock(config, T0, speed=0)
    sim = simulator(demo_district, clock, "127.0.0.1", 0)
    await sim.start()
    pool = HostPool(Timing(timeout_s=0.5, retries=1))
    try:
        found = drivers(config, pool, port=sim.port)
        assert set(found) == set(sim.devices) - {"meter"}
        for device_id, driver in found.items():
            await driver.discover()
            t = await driver.read_telemetry()
            assert t.device_id == device_id and t.available
            if isinstance(driver, BatteryDriver):
                assert t.soc_pct == pytest.approx(sim[device_id].soc_pct)
            if isinstance(driver, PvDriver):
                assert t.p_kw == pytest.approx(sim[device_id].output_kw(T0), abs=driver.rating_kw * 1e-3)
        meter = SunSpecDriver(pool.get("127.0.0.1", sim.port), config.simulator.meter_unit_id, "meter")
        await meter.discover()
        w = (await meter.read_values([(203, "W")]))["W"]
        assert w / 1000 == pytest.approx(sim["meter"].p_kw, abs=10 ** (meter.mirror.sf(meter.point(203, "W"))))
    finally:
        pool.close()
        await sim.stop()


def test_simulate_command_is_registered():
    args = build_parser().parse_args(["simulate", "--host", "127.0.0.1", "--port", "5021"])
    assert args.command == "simulate" and args.port == 5021 and args._module.__name__ == "gridctl.commands.simulate"


async def test_gridctl_simulate_serves_the_configured_devices_until_terminated():
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gridctl.cli", "simulate", "--port", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        lines = []
        while not (lines and lines[-1].startswith("serving")):
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=120)
            assert line, f"gridctl simulate ended early: {lines}"
            lines.append(line.decode())
        port = int(re.search(r"on 127\.0\.0\.1:(\d+)", lines[-1]).group(1))
        assert any("unit   1: bess_park (battery" in line for line in lines)
        pool = HostPool(Timing(timeout_s=1.0))
        driver = BatteryDriver(pool.get("127.0.0.1", port), 1, "bess_park", p_max_kw=2000.0)
        await driver.discover()
        assert (await driver.read_telemetry()).soc_pct == pytest.approx(50.0, abs=0.1)
        pool.close()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
