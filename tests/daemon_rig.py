"""A daemon rig driven by explicit steps: no wall-clock waits, so results do not depend on machine load.

The daemon clock and the simulator clock stand still until :meth:`SteppedDaemon.step` moves both
by the same amount; jobs run when a test calls them (``tick``, ``poll``, ``intraday``, ...) or,
for scheduler tests, through :func:`run_job` and the scheduler's own events (:class:`JobEvents`). Devices are the
built-in Modbus simulator over real TCP and the store is SQLite in the test's directory.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pandas as pd

from adapters.drivers import HostPool, Timing
from adapters.simulator import SimClock, Simulator
from gridctl import devices
from gridctl.clock import DaemonClock
from gridctl.commands.run import control_settings, device_io
from gridctl.control import Controller
from gridctl.daemon import Daemon
from gridctl.devices import ratings
from gridctl.store import Store
from gridctl.store.journal import Journal
from gridctl.store.recorder import Recorder

START = "2026-11-25T11:35:00Z"  # data clock: 2016-11-25 11:35, before the demo plan discharges
FAST_IO = Timing(timeout_s=1.0, retries=0)  # an offline unit must not hold the shared connection long
GUARD_S = 300.0  # only against a hang: every wait ends on a scheduler event


class JobEvents:
    """Scheduler events of one job, awaitable."""

    def __init__(self, scheduler, job_id: str, mask: int):
        self.seen: list = []
        self._new = asyncio.Event()
        scheduler.add_listener(self._on, mask)
        self.job_id = job_id

    def _on(self, ev) -> None:
        if ev.job_id == self.job_id:
            self.seen.append(ev)
            self._new.set()

    async def next(self, code: int):
        """The next event of kind ``code`` (events already seen count)."""
        while True:
            hits = [e for e in self.seen if e.code == code]
            if hits:
                self.seen.remove(hits[0])
                return hits[0]
            self._new.clear()
            await asyncio.wait_for(self._new.wait(), GUARD_S)


class SteppedClock(DaemonClock):
    """A daemon clock that shows ``start`` until stepped (same data-clock mapping as :class:`DaemonClock`)."""

    def __init__(self, start: pd.Timestamp, data_year: int = 2016):
        super().__init__(1.0, start, data_year)
        self._now = self._start

    def now(self) -> pd.Timestamp:
        return self._now

    def step(self, seconds: float) -> None:
        self._now += pd.Timedelta(seconds=seconds)


@dataclass
class SteppedDaemon:
    daemon: Daemon
    sim: Simulator
    store: Store
    records: Recorder
    clock: SteppedClock
    sim_clock: SimClock
    replans: list[str]  # re-plans the daemon asked for (device changes), run at the next poll

    def step(self, seconds: float) -> None:
        """Move the daemon's and the simulator's clocks forward by ``seconds``."""
        self.clock.step(seconds)
        self.sim_clock.advance(seconds)

    async def poll(self) -> None:
        """The poll job, then the re-plans it asked for (as the scheduler would run them)."""
        await self.daemon.poll()
        while self.replans:
            self.replans.clear()
            await self.daemon.intraday()

    async def next_interval(self) -> pd.Timestamp:
        """Step to the next interval start, polling every ``telemetry_s`` on the way, then poll and run
        the tick there (as the scheduler's jobs would); return that interval's start."""
        d = self.daemon
        nxt = d.current_interval() + d.res
        every = pd.Timedelta(seconds=d.config.daemon.telemetry_s)
        while self.clock.now() + every < nxt:
            self.step(every.total_seconds())
            await self.poll()
        self.step((nxt - self.clock.now()).total_seconds())
        await self.poll()
        await d.tick()
        return nxt

    def flushed(self) -> Store:
        """The store, once it has taken every journaled record."""
        assert self.records.flush(), "the store did not take the journaled records"
        return self.store

    def setpoints(self) -> pd.DataFrame:
        return pd.DataFrame(self.flushed().page("setpoints", limit=5000).items)

    def events(self, kind: str) -> list[dict]:
        return [e for e in self.flushed().page("events", limit=5000).items if e["kind"] == kind]


@contextlib.asynccontextmanager
async def stepped_daemon(district, tmp_path, start: str = START, plan: bool = True, seed_history: bool = False,
                         **daemon_settings) -> AsyncIterator[SteppedDaemon]:
    """A daemon on a :class:`SteppedClock` with the simulator on a free port; with ``plan`` it reads
    the devices, plans and writes the first setpoints as :meth:`Daemon.start` does, without starting
    the scheduler."""
    cfg = district.config
    settings = {"telemetry_s": 60.0, "intraday_lead_s": 300.0, "retry_base_s": 30.0, "retry_max_s": 120.0,
                "misfire_grace_s": 600.0, **daemon_settings}
    config = cfg.model_copy(update={"daemon": cfg.daemon.model_copy(update=settings), "measurements":
                                    cfg.measurements.model_copy(update={"seed_history": seed_history})})
    clock = SteppedClock(pd.Timestamp(start))
    sim_clock = devices.simulator_clock(config, clock.now(), speed=0.0)
    sim = devices.simulator(district, sim_clock, port=0)
    port = await sim.start()
    store = Store(f"sqlite:///{tmp_path / 'gridctl.sqlite'}")
    pool = HostPool(FAST_IO)
    records = Recorder(store, Journal(tmp_path / "journal.sqlite"), lambda: clock.now().to_pydatetime())
    controller = Controller(device_io(district, pool, port), ratings(district), records, clock.now,
                            control_settings(config))
    daemon = Daemon(config, district, store, controller, clock)
    run = SteppedDaemon(daemon, sim, store, records, clock, sim_clock, [])
    daemon.request_replan = run.replans.append  # no scheduler: the rig runs them
    try:
        if plan:
            await run.poll()
            await daemon.intraday()
            await daemon.tick()
        yield run
    finally:
        await daemon.stop()
        pool.close()
        await sim.stop()
        records.close()
        store.close()
