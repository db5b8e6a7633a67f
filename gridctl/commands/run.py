"""``gridctl run``: the daemon (scheduler, Modbus I/O, store, API and dashboard).

With ``[simulator] enabled`` the built-in Modbus simulator serves every configured asset on
``[simulator] host:port`` inside the daemon's process, running on the daemon clock.
SIGTERM or SIGINT stop it safely: the jobs stop, the write in flight finishes, every device
gets its safe state (battery 0 kW, PV uncapped, EV chargers and heat pumps to their own control),
Modbus connections close, records the store has not taken yet stay in the journal, then the API
and the simulator stop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys

import uvicorn

from adapters.drivers import HostPool
from adapters.simulator import Simulator
from gridctl import devices
from gridctl.api import create_app
from gridctl.clock import DaemonClock
from gridctl.config import Config, load_config
from gridctl.control import Controller, ControlSettings, DriverDevice
from gridctl.daemon import Daemon
from gridctl.devices import ratings
from gridctl.district import District
from gridctl.store import Store
from gridctl.store.db import Timeouts
from gridctl.store.journal import Journal
from gridctl.store.recorder import Recorder

log = logging.getLogger(__name__)
GIL_SWITCH_S = 0.001  # the event loop (ticks, API) waits at most this long for a planning thread's GIL


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log-json", action="store_true", help="one JSON object per log line ([daemon] log_json)")


class JsonFormatter(logging.Formatter):
    """Structured log lines: time, level, logger, message (and exception)."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname,
               "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out)


def configure_logging(as_json: bool) -> None:
    if as_json:
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
    for name in ("apscheduler.executors", "apscheduler.scheduler"):  # a line per job run is noise
        logging.getLogger(name).setLevel(logging.WARNING)


def simulator(district: District, clock: DaemonClock, port: int | None = None) -> Simulator:
    """The built-in simulator on the data clock, running at the daemon clock's speed."""
    return devices.simulator(district, devices.simulator_clock(district.config, clock.now(), clock.scale), port=port)


def device_io(district: District, pool: HostPool, port: int | None = None) -> dict[str, DriverDevice]:
    """The control interface of every configured asset, through its Modbus/SunSpec driver."""
    config = district.config
    e_max = {b.id: b.e_max_kwh for b in config.assets.battery}
    drivers = devices.drivers(config, pool, port=port, revert_s=int(config.daemon.watchdog_s))
    return {k: DriverDevice(d, e_max.get(k)) for k, d in drivers.items()}


def control_settings(config: Config) -> ControlSettings:
    d = config.daemon
    return ControlSettings(revert_s=d.watchdog_s, retry_base_s=d.retry_base_s, retry_max_s=d.retry_max_s,
                           offline_after=d.offline_after, ramp_pct_per_s=d.ramp_pct_per_s)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


async def serve(config: Config, district: District, store: Store) -> int:
    """Run until SIGTERM/SIGINT; return the exit code."""
    clock = DaemonClock(config.daemon.time_scale, data_year=config.daemon.data_year)
    sim = simulator(district, clock) if config.simulator.enabled else None
    if sim is not None:
        await sim.start()
    pool = HostPool()
    records = Recorder(store, Journal(config.resolve(config.store.journal), config.store.journal_max_records),
                       lambda: clock.now().to_pydatetime())
    controller = Controller(device_io(district, pool), ratings(district), records, clock.now,
                            control_settings(config))
    daemon = Daemon(config, district, store, controller, clock)
    server = _Server(uvicorn.Config(create_app(daemon), host=config.api.host, port=config.api.port,
                                    log_config=None, lifespan="off", access_log=False))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        api = asyncio.create_task(server.serve())
        while not server.started and not api.done():
            await asyncio.sleep(0.05)
        if api.done():
            await api
            raise OSError(f"the API could not start on {config.api.host}:{config.api.port}; is the port in use? "
                          "Change [api] port")
        print(f"gridctl running: dashboard at http://{config.api.host}:{config.api.port}/", flush=True)
        await daemon.start()  # the first plan shows on the dashboard when it is made
        await stop.wait()
        log.info("stopping")
    finally:
        await daemon.stop()
        pool.close()
        await asyncio.to_thread(records.close)
        server.should_exit = True
        if sim is not None:
            await sim.stop()
    return 0


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    configure_logging(args.log_json or config.daemon.log_json)
    sys.setswitchinterval(GIL_SWITCH_S)
    district = District.load(config)
    s = config.store
    store = Store(s.url, config.base_dir, Timeouts(s.connect_timeout_s, s.statement_timeout_s, s.sqlite_busy_timeout_s))
    try:
        return asyncio.run(serve(config, district, store))
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
