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
import socket
import sys
from typing import TYPE_CHECKING

from gridctl.config import Config, load_config

if TYPE_CHECKING:
    from adapters.drivers import HostPool
    from adapters.simulator import Simulator
    from gridctl.clock import DaemonClock
    from gridctl.control import ControlSettings
    from gridctl.daemon import Daemon
    from gridctl.district import District
    from gridctl.driver_device import DriverDevice
    from gridctl.live_measurements import LiveMeasurements
    from gridctl.store import Store

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
    """The built-in simulator on the data clock, running at the daemon clock's speed (every device on one port)."""
    from gridctl import devices

    return devices.simulator(district, devices.simulator_clock(district.config, clock.now(), clock.scale), port=port)


def simulators(district: District, clock: DaemonClock) -> list[Simulator]:
    """The built-in simulator of every configured endpoint (one for the default demo), on the data clock."""
    from gridctl import devices

    return devices.simulators(district, devices.simulator_clock(district.config, clock.now(), clock.scale))


def device_io(district: District, pool: HostPool, port: int | None = None) -> dict[str, DriverDevice]:
    """The control interface of every configured asset, through its Modbus/SunSpec driver."""
    from gridctl import devices
    from gridctl.driver_device import DriverDevice

    config = district.config
    e_max = {b.id: b.e_max_kwh for b in config.assets.battery}
    drivers = devices.drivers(config, pool, port=port, revert_s=int(config.daemon.watchdog_s))
    return {k: DriverDevice(d, e_max.get(k)) for k, d in drivers.items()}


def live_measurements(district: District, store: Store, pool: HostPool, report, port: int | None = None,
                      config: Config | None = None) -> LiveMeasurements:
    """Measured series of the daemon: the grid-connection meter (``[measurements] meter``) through
    the shared connection of its endpoint (``port`` moves the default gateway, as in :func:`device_io`)."""
    from adapters.drivers import SunSpecDriver
    from gridctl import devices
    from gridctl.live_measurements import LiveMeasurements
    from gridctl.measurements import catalogue
    from gridctl.meter import MeterReader

    config = config or district.config
    meter = None
    if config.measurements.meter:
        modbus = pool.get(*devices.meter_endpoint(config, port=port))
        meter = MeterReader(SunSpecDriver(modbus, devices.meter_unit_id(config), "meter"))
    known = catalogue(config, district.load_series, district.pv_series)
    return LiveMeasurements(config, store, known, meter, report)


def attach_site_data(daemon: Daemon, district: District, store: Store, pool: HostPool,
                     port: int | None = None) -> None:
    """Give the daemon its measured series (meter) and, with ``[measurements] demo_feed``, the demo feed."""
    from gridctl.live_history import DemoFeed

    daemon.site.live = live_measurements(district, store, pool, daemon.event, port, daemon.config)
    if daemon.config.measurements.demo_feed:
        daemon.site.feed = DemoFeed(district, store, daemon.site.live.known)


def control_settings(config: Config) -> ControlSettings:
    from gridctl.control import ControlSettings

    d = config.daemon
    return ControlSettings(revert_s=d.watchdog_s, retry_base_s=d.retry_base_s, retry_max_s=d.retry_max_s,
                           offline_after=d.offline_after, ramp_pct_per_s=d.ramp_pct_per_s)


def _api_server(app, config: Config):
    """uvicorn without its own signal handling (the daemon owns SIGTERM/SIGINT)."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):
            yield

    return Server(uvicorn.Config(app, host=config.api.host, port=config.api.port, log_config=None,
                                 lifespan="off", access_log=False))


def port_problems(config: Config) -> list[str]:
    """The configured TCP ports this process would listen on that are taken (checked before loading)."""
    wanted = [("api", config.api.host, config.api.port)]
    if config.simulator.enabled:
        wanted.append(("simulator", config.simulator.host, config.simulator.port))
    problems = []
    for section, host, port in wanted:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError as exc:
                problems.append(f"[{section}] port {port} on {host} cannot be used ({exc.strerror}); "
                                f"stop what listens there or set [{section}] port")
    return problems


async def serve(config: Config, district: District, store: Store) -> int:
    """Run until SIGTERM/SIGINT; return the exit code."""
    from adapters.drivers import HostPool
    from gridctl.api import create_app
    from gridctl.clock import DaemonClock
    from gridctl.control import Controller
    from gridctl.daemon import Daemon
    from gridctl.devices import ratings
    from gridctl.store.journal import Journal
    from gridctl.store.recorder import Recorder

    clock = DaemonClock(config.daemon.time_scale, data_year=config.daemon.data_year)
    sims = simulators(district, clock) if config.simulator.enabled else []
    for sim in sims:
        await sim.start()
    pool = HostPool()
    records = Recorder(store, Journal(config.resolve(config.store.journal), config.store.journal_max_records),
                       lambda: clock.now().to_pydatetime())
    controller = Controller(device_io(district, pool), ratings(district), records, clock.now,
                            control_settings(config))
    daemon = Daemon(config, district, store, controller, clock)
    attach_site_data(daemon, district, store, pool)
    server = _api_server(create_app(daemon), config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        api = asyncio.create_task(server.serve())
        while not server.started and not api.done():
            await asyncio.sleep(0.05)
        if api.done():
            if not api.cancelled():
                api.exception()  # retrieved: uvicorn has logged why
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
        for sim in sims:
            await sim.stop()
    return 0


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    configure_logging(args.log_json or config.daemon.log_json)
    busy = port_problems(config)
    for line in busy:
        print(f"error: {line}", file=sys.stderr)
    if busy:
        return 1
    from gridctl.district import District
    from gridctl.store import Store
    from gridctl.store.db import Timeouts

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
