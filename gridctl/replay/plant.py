"""The devices replay controls: the Modbus simulator's device physics, one interval at a time.

Setpoints take the daemon's path: clamped to each asset's rating and SoC window
(:func:`gridctl.control.clamp`), then written by the SunSpec drivers of :mod:`adapters.drivers`
(signs, scale factors, revert timer) into the simulator's registers, which check and apply them
like any Modbus write. The simulated clock then advances one interval, and each device's energy
counter gives its average power over it (a battery that reaches an SoC limit mid-interval
delivers less than its setpoint).

- **In-process** (default): the simulator's device objects in this process. Writes reach the
  simulator's request handler without a socket (:class:`~adapters.drivers.loopback.LoopbackHost`);
  states are read from the objects exactly (energy counters, stored energy, EV session energy,
  store temperature).
- **Modbus TCP** (:class:`ModbusTarget`): the same drivers over a socket to ``gridctl simulate``
  (its clock advanced with ``POST /clock/advance`` on its control endpoint) or to a simulator
  started in this process on 127.0.0.1; states are read from the registers, so in their steps:
  SoC 0.01 %, store temperature 0.1 K, energy counters 1 Wh.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Self

import pandas as pd

from adapters.drivers import (
    BatteryDriver,
    DeviceError,
    EvChargerDriver,
    HeatPumpDriver,
    ModbusHost,
    ProcessLoadDriver,
    PvDriver,
    SunSpecDriver,
)
from adapters.drivers.loopback import LoopbackHost
from adapters.simulator import (
    SimBattery,
    SimClock,
    SimEvCharger,
    SimHeatPump,
    SimProcessLoad,
    SimPv,
    SimulatedDevice,
    Simulator,
)
from gridctl.config import ConfigError
from gridctl.control import charger_report, clamp
from gridctl.devices import drivers_on, ratings, simulated_devices
from gridctl.dispatch.inputs import ChargerReport
from gridctl.dispatch.process_load import ProcessReport
from gridctl.district import District
from gridctl.process_loads import ProcessTracker

log = logging.getLogger(__name__)
LOCAL = "local"


@dataclass(frozen=True)
class Reading:
    """One device's state: its energy counter ``energy_kwh`` (batteries: absorbed minus injected;
    loads: consumed; PV: produced), SoC (kWh), the charger's report of the vehicle connected now,
    store temperature (degC), or a process load's run state, seconds in it and starts counter."""

    energy_kwh: float
    soc_kwh: float | None = None
    ev: ChargerReport | None = None
    temp_c: float | None = None
    process: tuple[bool, float, int] | None = None


def device_reading(device: SimulatedDevice) -> Reading:
    """The exact state of an in-process simulated device, synchronised to its clock."""
    device.sync()
    if isinstance(device, SimBattery):
        return Reading((device.wh_absorbed - device.wh_injected) / 1000, soc_kwh=device.e_kwh)
    if isinstance(device, SimPv):
        return Reading(device.wh_injected / 1000)
    if isinstance(device, SimEvCharger):
        now = device.clock.now()
        i = device.session_at(now)
        if i is None:
            return Reading(device.wh_delivered / 1000, ev=ChargerReport(False))
        s = device.sessions[i]
        report = ChargerReport(True, device.delivered_kwh[i], s.energy_kwh, (s.depart - now) / pd.Timedelta(hours=1))
        return Reading(device.wh_delivered / 1000, ev=report)
    if isinstance(device, SimHeatPump):
        return Reading(device.wh_consumed / 1000, temp_c=device.temp_c)
    if isinstance(device, SimProcessLoad):
        return Reading(device.wh_consumed / 1000, process=(device.running, device.since_s, device.starts))
    raise TypeError(f"{device.id}: replay reads batteries, PV, EV chargers, heat pumps and process loads, not {device.model_name}")


async def driver_reading(driver: SunSpecDriver, e_max_kwh: float | None) -> Reading:
    """A device's state read over its driver (registers in their scale-factor steps; unset counters are 0)."""
    if isinstance(driver, BatteryDriver):
        v = await driver.read_values([(701, "TotWhAbs"), (701, "TotWhInj"), (713, "SoC")])
        return Reading(((v["TotWhAbs"] or 0.0) - (v["TotWhInj"] or 0.0)) / 1000, soc_kwh=v["SoC"] / 100 * e_max_kwh)
    if isinstance(driver, PvDriver):
        return Reading(((await driver.read_values([(701, "TotWhInj")]))["TotWhInj"] or 0.0) / 1000)
    if isinstance(driver, EvChargerDriver):
        v = await driver.read_values([(driver.model, p) for p in ("TotWh", "Conn", "SessWh", "SessReqWh", "DepRem")])
        extra = {"connected": v["Conn"], "session_kwh": (v["SessWh"] or 0.0) / 1000,
                 "request_kwh": (v["SessReqWh"] or 0.0) / 1000, "departure_s": v["DepRem"]}
        return Reading((v["TotWh"] or 0.0) / 1000, ev=charger_report(extra))
    if isinstance(driver, HeatPumpDriver):
        v = await driver.read_values([(driver.model, "TotWh"), (driver.model, "TmpSto")])
        return Reading((v["TotWh"] or 0.0) / 1000, temp_c=v["TmpSto"])
    if isinstance(driver, ProcessLoadDriver):
        v = await driver.read_values([(driver.model, p) for p in ("TotWh", "Run", "StTms", "Starts")])
        return Reading((v["TotWh"] or 0.0) / 1000, process=(v["Run"] == 1, v["StTms"] or 0.0, int(v["Starts"] or 0)))
    raise TypeError(f"{driver.device_id}: no replay reading for {type(driver).__name__}")


@dataclass(frozen=True)
class ModbusTarget:
    """Where replay reaches its devices over Modbus TCP: a running ``gridctl simulate`` at
    ``host:port`` whose clock it advances over ``control_url``, or (``host`` None) a simulator it
    starts in this process on a free port of 127.0.0.1."""

    host: str | None = None
    port: int = 0
    control_url: str | None = None

    @classmethod
    def parse(cls, address: str, control_url: str | None = None) -> ModbusTarget:
        """``local`` or ``HOST:PORT`` (then ``control_url`` is required); raise :class:`ConfigError`."""
        if address == LOCAL:
            return cls()
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError([f"--modbus {address!r}: give HOST:PORT of a running `gridctl simulate`, or {LOCAL}"])
        if not control_url:
            raise ConfigError([(f"--modbus {address}: also give --modbus-control http://HOST:CONTROL_PORT, the "
                               "control endpoint of that simulator (gridctl simulate --control-port), to advance its clock")])
        return cls(host, int(port), control_url.rstrip("/"))


def _http_json(url: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"content-type": "application/json"}, method="GET" if body is None else "POST")
    with urllib.request.urlopen(request, timeout=10) as rsp:
        return json.loads(rsp.read())


class Plant:
    """The simulated devices of every configured asset, stepped one interval per :meth:`step`.

    ``read`` gives a device's :class:`Reading` by asset id; ``advance`` moves the simulated clock.
    Use as a context manager (or call :meth:`close`)."""

    def __init__(self, district: District, runner: LoopRunner, drivers: dict[str, SunSpecDriver],
                 read: Callable[[str], Awaitable[Reading]], advance: Callable[[float], Awaitable[None]],
                 stop: Callable[[], Awaitable[None]] | None = None):
        self.runner, self.drivers, self.read, self.advance, self._stop = runner, drivers, read, advance, stop
        self.dt_s = district.resolution_min * 60.0
        self.ratings = ratings(district)
        self.battery_ids = [b.id for b in district.config.assets.battery]
        self.write_errors = 0
        self.process = ProcessTracker(district.config)
        self.states: dict[str, Reading] = runner.run(self._read_all())

    async def _read_all(self) -> dict[str, Reading]:
        return {a: await self.read(a) for a in self.drivers}

    @property
    def soc_kwh(self) -> dict[str, float]:
        """Each battery's stored energy (kWh) now."""
        return {a: self.states[a].soc_kwh for a in self.battery_ids}

    @property
    def ev_reports(self) -> dict[str, ChargerReport]:
        """Each charger's report now: vehicle connected, energy delivered to it, its request and departure."""
        return {a: r.ev for a, r in self.states.items() if r.ev is not None}

    @property
    def temp_c(self) -> dict[str, float]:
        """Each heat pump's store temperature (degC) now."""
        return {a: r.temp_c for a, r in self.states.items() if r.temp_c is not None}

    def process_reports(self, now: pd.Timestamp) -> dict[str, ProcessReport]:
        """Each process load's report at ``now``: running, for how long, energy and starts in its window."""
        return {a: self.process.report(a, now, r.process[0], r.process[1], r.energy_kwh, r.process[2])
                for a, r in self.states.items() if r.process is not None}

    def step(self, setpoints_kw: dict[str, float]) -> dict[str, float]:
        """Write ``setpoints_kw`` (load-referenced; PV: output caps), run one interval; return every
        asset's average power over it (kW; load-referenced, PV: output)."""
        return self.runner.run(self._step(setpoints_kw))

    async def _step(self, setpoints_kw: dict[str, float]) -> dict[str, float]:
        for asset, p_kw in setpoints_kw.items():
            safe = clamp(p_kw, self.ratings[asset], self.states[asset].soc_kwh)
            try:
                await self.drivers[asset].write_setpoint(safe)
            except DeviceError as exc:  # the device keeps its previous control, as it would in the daemon
                self.write_errors += 1
                log.warning("replay write of %.1f kW refused: %s", safe, exc)
        await self.advance(self.dt_s)
        before, self.states = self.states, await self._read_all()
        dt_h = self.dt_s / 3600.0
        return {a: (self.states[a].energy_kwh - before[a].energy_kwh) / dt_h for a in self.drivers}

    def close(self) -> None:
        try:
            if self._stop is not None:
                self.runner.run(self._stop())
        finally:
            self.runner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _local_simulator(district: District, start: pd.Timestamp, soc_kwh: dict[str, float] | None) -> Simulator:
    """The configured devices on a clock standing at ``start``, batteries at ``soc_kwh`` (default: configured)."""
    clock = SimClock(start)
    sim = Simulator(simulated_devices(district, clock), clock, host="127.0.0.1", port=0)
    for asset, soc in (soc_kwh or {}).items():
        sim[asset].e_kwh = soc
    return sim


async def _host(host: str, port: int) -> ModbusHost:
    """A client for ``host:port`` (pymodbus clients belong to the event loop they are made in)."""
    return ModbusHost(host, port)


async def _discover(drivers: dict[str, SunSpecDriver]) -> None:
    for driver in drivers.values():
        await driver.discover()


class LoopRunner:
    """Runs the plant's coroutines on one event loop. Unlike :class:`asyncio.Runner` it installs no
    SIGINT handler: a Ctrl-C raises ``KeyboardInterrupt`` where it lands (``asyncio.Runner`` cancels
    the step instead, and a step that absorbs the cancellation, e.g. in ``asyncio.wait_for``, would
    lose the interrupt and the replay would run on)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)  # as asyncio.Runner: the current loop of this thread until closed

    def run(self, coro):
        """Run ``coro`` to completion and return its result."""
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        """Cancel what still runs on the loop (e.g. a simulator's server), then close it."""
        try:
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            self.loop.close()


def open_plant(district: District, start: pd.Timestamp, soc_kwh: dict[str, float] | None = None,
               modbus: ModbusTarget | None = None) -> Plant:
    """The devices at ``start`` (the first replayed interval): in-process, or over Modbus TCP."""
    revert_s = int(district.config.daemon.watchdog_s)
    runner = LoopRunner()
    try:
        if modbus is None:
            sim = _local_simulator(district, start, soc_kwh)
            drivers = drivers_on(district.config, LoopbackHost(sim), revert_s)
            runner.run(_discover(drivers))

            async def read(asset: str) -> Reading:
                return device_reading(sim[asset])

            async def advance(seconds: float) -> None:
                sim.clock.advance(seconds)

            return Plant(district, runner, drivers, read, advance)
        return _modbus_plant(district, runner, start, soc_kwh, modbus, revert_s)
    except BaseException:
        runner.close()
        raise


def _modbus_plant(district: District, runner: LoopRunner, start: pd.Timestamp,
                  soc_kwh: dict[str, float] | None, target: ModbusTarget, revert_s: int) -> Plant:
    sim = None
    if target.host is None:
        sim = _local_simulator(district, start, soc_kwh)
        host = runner.run(_host("127.0.0.1", runner.run(sim.start())))

        async def advance(seconds: float) -> None:
            sim.clock.advance(seconds)
    else:
        if soc_kwh:
            raise ConfigError(["replay over a running simulator starts from its devices' states; give no initial SoC"])
        clock = _http_json(f"{target.control_url}/clock")
        if pd.Timestamp(clock["now"]) != start or clock["speed"]:
            raise ConfigError([(f"--modbus: the simulator's clock is at {clock['now']} (speed {clock['speed']}), the "
                               f"replay starts at {start.isoformat()}; start it with `gridctl simulate --clock-start "
                               f"{start.isoformat()} --control-port N` (the same config)")])
        host = runner.run(_host(target.host, target.port))

        async def advance(seconds: float) -> None:
            _http_json(f"{target.control_url}/clock/advance", {"seconds": seconds})

    drivers = drivers_on(district.config, host, revert_s)
    e_max = {b.id: b.e_max_kwh for b in district.config.assets.battery}

    async def read(asset: str) -> Reading:
        return await driver_reading(drivers[asset], e_max.get(asset))

    async def stop() -> None:
        host.close()
        if sim is not None:
            await sim.stop()

    try:
        runner.run(_discover(drivers))
    except BaseException:
        runner.run(stop())
        raise
    return Plant(district, runner, drivers, read, advance, stop)
