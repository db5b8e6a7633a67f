"""Replay on the simulator's device physics: in-process, and over Modbus TCP against a simulator
served on 127.0.0.1 (Modbus and its HTTP control endpoint on real sockets)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import numpy as np
import pytest
from ports import uvicorn_port
from test_replay import replay_district

from adapters.simulator import SimClock
from gridctl.config import ConfigError
from gridctl.control import pv_cap_kw
from gridctl.daemon import without_assets
from gridctl.devices import simulator
from gridctl.replay.actuals import load_actuals
from gridctl.replay.engine import replay_controller
from gridctl.replay.plant import ModbusTarget, open_plant
from gridctl.simulator_control import ControlServer
from gridctl.timegrid import local_day

DAY = date(2016, 7, 12)


@pytest.fixture(scope="module")
def naive(demo_district):
    """Without process loads: with them every decision builds a fresh model, which may break a tie
    between equally good plans (an EV's charging hours) differently when states are read in
    register steps; the persistent model keeps its basis (process loads over TCP:
    tests/test_simulator_process.py)."""
    district = replay_district(demo_district, naive_forecasts=True, reoptimise_every_min=180)
    return without_assets(district, {p.id for p in district.config.assets.process_load})


@pytest.fixture(scope="module")
def actuals(naive):
    return load_actuals(naive, local_day(DAY, naive.tz, naive.resolution_min))


@pytest.fixture(scope="module")
def in_process(naive, actuals):
    return replay_controller(naive, actuals, [DAY])


@contextmanager
def served(district, start) -> Iterator[ModbusTarget]:
    """What ``gridctl simulate --clock-start START --control-port N`` serves, on a thread of its own."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    sim = simulator(district, SimClock(start), "127.0.0.1", 0)
    port = asyncio.run_coroutine_threadsafe(sim.start(), loop).result(10)
    control = ControlServer(sim, "127.0.0.1", 0)
    serving = asyncio.run_coroutine_threadsafe(control.serve(), loop)
    while not control.started and not serving.done():
        time.sleep(0.02)
    try:
        yield ModbusTarget("127.0.0.1", port, f"http://127.0.0.1:{uvicorn_port(control)}")
    finally:
        control.should_exit = True
        serving.result(10)
        asyncio.run_coroutine_threadsafe(sim.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_battery_energy_balance_holds_with_the_configured_efficiencies(naive, in_process):
    op = in_process.operation
    for b in naive.config.assets.battery:
        soc, p = op[f"{b.id}.soc_kwh"].to_numpy(), op[f"{b.id}.p_kw"].to_numpy()
        assert (soc >= b.soc_min_kwh - 1e-6).all() and (soc <= b.soc_max_kwh + 1e-6).all()
        prev = np.concatenate([[b.soc_initial_kwh], soc[:-1]])
        stored = np.where(p > 0, p * b.eta_charge, p / b.eta_discharge) * 0.25
        np.testing.assert_allclose(soc, prev + stored, atol=1e-6, err_msg=b.id)
        assert np.abs(p).max() <= b.p_max_kw + 1e-6
    assert in_process.write_errors == 0
    socs = op[[f"{b.id}.soc_kwh" for b in naive.config.assets.battery]]
    assert (socs.max() - socs.min() > 500).all()  # the batteries were really used


def test_a_battery_stops_at_its_soc_limit_mid_interval(naive, actuals):
    bess = next(b for b in naive.config.assets.battery if b.id == "bess_works")
    room = 30.0  # kWh below the upper SoC limit: full power would store 2000 * 0.95 * 0.25 = 475 kWh
    with open_plant(naive, actuals.index[0], {bess.id: bess.soc_max_kwh - room}) as plant:
        p = plant.step({bess.id: 5 * bess.p_max_kw})  # clamped to the rating, then stopped by the physics
        assert p[bess.id] == pytest.approx(room / (bess.eta_charge * 0.25))
        assert plant.soc_kwh[bess.id] == pytest.approx(bess.soc_max_kwh)
        assert plant.step({bess.id: bess.p_max_kw})[bess.id] == 0.0  # full: the setpoint is clamped to 0


def test_modbus_replay_operates_like_the_in_process_one(naive, actuals, in_process):
    with served(naive, actuals.index[0]) as target:
        over_tcp = replay_controller(naive, actuals, [DAY], modbus=target)
    a, b = in_process.operation, over_tcp.operation
    assert over_tcp.write_errors == 0 and len(over_tcp.decisions) == len(in_process.decisions)
    # over Modbus the states are read in the registers' steps (SoC 0.01 %: 0.4 kWh of bess_park;
    # energy counters 1 Wh; temperatures 0.1 K) and re-optimisations start from those: under the
    # per-interval peak guard and the heat pumps' day-end targets this can move a battery charge by a
    # few intervals, never the day's totals
    batteries = naive.config.assets.battery
    stored = [sum(x[f"{bess.id}.soc_kwh"] for bess in batteries) for x in (a, b)]
    assert (abs(stored[1] - stored[0]) > 1.0).sum() <= 12  # at most three hours apart
    assert stored[1].iloc[-1] == pytest.approx(stored[0].iloc[-1], abs=1e-4 * sum(bess.e_max_kwh for bess in batteries))
    assert b.grid_import_kw.sum() == pytest.approx(a.grid_import_kw.sum(), rel=1e-3)
    assert b.emissions_kg.sum() == pytest.approx(a.emissions_kg.sum(), rel=1e-3)


def test_modbus_replay_needs_the_simulators_clock_at_its_start(naive, actuals):
    with served(naive, actuals.index[1]) as target, pytest.raises(ConfigError, match="--clock-start"):
        open_plant(naive, actuals.index[0], modbus=target)
    with pytest.raises(ConfigError, match="--modbus-control"):
        ModbusTarget.parse("127.0.0.1:5020")
    assert ModbusTarget.parse("local") == ModbusTarget()


def test_pv_cap_curtails_the_available_output_and_leaves_tiny_curtailment_uncapped():
    assert pv_cap_kw(1000.0, 600.0, 250.0) == 350.0
    assert pv_cap_kw(1000.0, 100.0, 250.0) == 0.0  # never a negative cap
    assert pv_cap_kw(1000.0, 600.0, 0.5) == 1000.0  # below 0.1 % of the rating: no cap
