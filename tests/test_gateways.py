"""Device addresses: each asset at its own Modbus TCP endpoint; a stalled gateway delays no other."""

from __future__ import annotations

import asyncio
import re
import signal

import pandas as pd

from adapters.drivers import BatteryDriver, DeviceError, HostPool, Timing
from adapters.simulator import BatteryParams, SimBattery, SimClock, Simulator
from benchmarks.bench_gateways import battery, stalled_gateway
from gridctl.commands.check import print_endpoint_warnings
from gridctl.config import DEFAULT_CONFIG_PATH, ConfigError, load_config, parse_config
from gridctl.control import Controller, ControlSettings, Rating
from gridctl.devices import drivers, endpoints
from gridctl.driver_device import DriverDevice
from gridctl.store import Store
from tests.test_daemon_process import GRIDCTL, free_port

START = pd.Timestamp("2016-06-01 10:00", tz="UTC")
STALL_TIMING = Timing(timeout_s=1.0, retries=0)  # each request to the stalled gateway costs 1 s


def test_assets_default_to_the_simulator_gateway_and_unit_ids_are_unique_per_endpoint():
    config = parse_config({"assets": {"battery": [battery("a", 1), battery("b", 1, port=1502)]}})
    assert endpoints(config) == {"a": ("127.0.0.1", 5020), "b": ("127.0.0.1", 1502)}
    try:
        parse_config({"assets": {"battery": [battery("a", 1), battery("b", 1, port=5020)]}})
    except ConfigError as exc:
        assert "unit_id 1 at 127.0.0.1:5020 used by both 'a' and 'b'" in exc.problems[0]
    else:
        raise AssertionError("two devices with one unit id behind one endpoint must be rejected")


async def test_a_stalled_gateway_never_delays_devices_on_another(tmp_path):
    clock = SimClock(START)
    good = [SimBattery(BatteryParams(f"good_{i}", i, 100.0, 400.0), clock) for i in (1, 2)]
    async with Simulator(good, clock) as sim, stalled_gateway() as stalled_port:
        # the stalled gateway's devices come first: a sequential controller would wait for them
        config = parse_config({"simulator": {"port": sim.port}, "assets": {"battery": [
            battery("stalled_1", 1, stalled_port), battery("stalled_2", 2, stalled_port),
            battery("good_1", 1), battery("good_2", 2)]}})
        pool = HostPool(STALL_TIMING)
        found = drivers(config, pool)
        assert found["good_1"].host is found["good_2"].host  # one connection per host:port
        assert found["stalled_1"].host is not found["good_1"].host
        store = Store(f"sqlite:///{tmp_path / 'gridctl.sqlite'}")
        now = [START]
        controller = Controller({k: DriverDevice(d, 400.0) for k, d in found.items()},
                                {k: Rating(-100.0, 100.0) for k in found}, store, lambda: now[0],
                                ControlSettings(retry_base_s=1.0, retry_max_s=1.0, ramp_pct_per_s=100.0))
        try:
            for tick, p_kw in enumerate((40.0, -30.0, 20.0)):
                targets = {k: (p_kw, "plan") for k in found}
                task = asyncio.create_task(controller.apply(now[0], targets))
                for _ in range(200):  # until both good batteries hold the new setpoint
                    if all(d.control_value(704, "WSet") == -p_kw * 1000 for d in good):
                        break
                    await asyncio.sleep(0.01)
                else:
                    raise AssertionError(f"tick {tick}: the good gateway's devices were not written")
                assert not task.done(), "the good devices must not wait for the stalled gateway"
                results = {r.asset_id: r for r in await task}
                assert results["good_1"].ok and results["good_2"].ok
                assert results["good_1"].readback_kw == p_kw
                assert not results["stalled_1"].ok and not results["stalled_2"].ok
                now[0] += pd.Timedelta(minutes=15)  # the next tick: the stalled devices are due again
            rows = pd.DataFrame(store.page("setpoints", limit=100).items)
            assert rows[rows.asset_id.str.startswith("good")].ok.sum() == 6
        finally:
            await controller.close()
            pool.close()
            store.close()


def test_check_warns_about_unreachable_endpoints_with_the_asset_id(tmp_path, capsys):
    path = tmp_path / "config.toml"
    path.write_text('[simulator]\nenabled = false\nport = 9\n[measurements]\nmeter = false\n'
                    '[[assets.battery]]\nid = "far_bess"\nbus = 1\np_max_kw = 10.0\ne_max_kwh = 20.0\n'
                    'unit_id = 1\n')
    print_endpoint_warnings(str(path))
    err = capsys.readouterr().err
    assert "warning: 127.0.0.1:9 unreachable" in err and "far_bess" in err


async def test_simulate_serves_one_gateway_per_configured_endpoint(tmp_path):
    gateway, second = free_port(), free_port()
    text = DEFAULT_CONFIG_PATH.read_text()
    text, n = re.subn(r'^(id = "bess_works")$', rf"\1\nport = {second}", text, count=1, flags=re.MULTILINE)
    assert n == 1
    path = tmp_path / "config.toml"
    path.write_text(text)
    proc = await asyncio.create_subprocess_exec(GRIDCTL, "simulate", "--config", str(path), "--port", str(gateway),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        lines = []
        while not lines or "gateway(s)" not in lines[-1]:  # until every gateway is announced
            line = (await asyncio.wait_for(proc.stdout.readline(), 120)).decode()
            assert line, "".join(lines)
            lines.append(line)
        assert f"serving 1 devices on 127.0.0.1:{second}" in "".join(lines), "".join(lines)
        config = load_config(path)
        pool = HostPool(Timing(timeout_s=2.0, retries=0))
        found = drivers(config, pool, port=gateway)
        try:
            for asset_id in ("bess_works", "bess_park"):  # each answers at its own endpoint
                await found[asset_id].discover()
                assert (await found[asset_id].read_telemetry()).soc_pct is not None
            moved = BatteryDriver(pool.get("127.0.0.1", gateway), 3, "bess_works_on_gateway", p_max_kw=1000.0)
            try:
                await moved.discover()
            except DeviceError:
                pass
            else:
                raise AssertionError("bess_works must not answer on the default gateway")
        finally:
            pool.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
