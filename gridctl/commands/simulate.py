"""``gridctl simulate [--host 127.0.0.1] [--port 5020] [--control-port N] [--clock-start TIME]``: serve
every configured device over Modbus TCP (SunSpec maps, one unit id per device) until interrupted,
one gateway per configured distinct host:port (assets' ``host``/``port``, the meter's; the rest on
the default gateway, ``[simulator]`` or ``--host``/``--port``), like the site;
with ``--control-port`` also the HTTP control endpoint (faults, clock: :mod:`gridctl.simulator_control`);
with ``--clock-start`` simulated time starts there and stands still until advanced over that endpoint
(``gridctl replay --modbus``)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from datetime import datetime

from gridctl.config import load_config


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=None, help="address of the default gateway (default: [simulator] host)")
    p.add_argument("--port", default=None, type=int, help="TCP port of the default gateway (default: [simulator] port)")
    p.add_argument("--control-port", default=None, type=int,
                   help="serve the HTTP control endpoint (faults, clock) on this port of the same host")
    p.add_argument("--clock-start", default=None, type=_timestamp, metavar="TIME",
                   help="simulated time to start at (ISO 8601 with offset, e.g. 2016-07-11T00:00+02:00); the "
                        "clock then stands still until POST /clock/advance (default: now in [daemon] data_year, "
                        "running at [daemon] time_scale)")


def _timestamp(text: str):
    """An ISO 8601 time with a UTC offset, as a pandas Timestamp."""
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time; write e.g. 2016-07-11T00:00+02:00")
    if t.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset; write e.g. 2016-07-11T00:00+02:00")
    import pandas as pd

    return pd.Timestamp(t)


async def _serve(sims: list, control_port: int | None) -> None:

    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    started = []
    try:
        for sim in sims:
            try:
                await sim.start()
            except OSError as exc:
                raise OSError(f"cannot serve on {sim.host}:{sim.port}: {exc}") from exc
            started.append(sim)
        await _announce(sims, control_port, stop)
    finally:
        for sim in started:
            await sim.stop()


async def _announce(sims: list, control_port: int | None, stop: asyncio.Event) -> None:
    """Print what every gateway serves, run the control endpoint (on the first gateway's host) until stopped."""
    from gridctl.simulator_control import ControlServer

    gateway = sims[0]
    control = None if control_port is None else ControlServer(sims, gateway.host, control_port)
    task = None if control is None else asyncio.create_task(control.serve())
    for sim in sims:
        for device in sim.devices.values():
            print(f"{sim.host}:{sim.port} unit {device.unit_id:3d}: {device.id} ({device.model_name}, models "
                  f"{', '.join(str(m) for m in device.models)})")
        print(f"serving {len(sim.devices)} devices on {sim.host}:{sim.port}", flush=True)
    print(f"{len(sims)} gateway(s), simulated time {gateway.clock.now():%Y-%m-%d %H:%M} UTC; Ctrl-C stops", flush=True)
    try:
        if control is not None:
            while not control.started and not task.done():
                await asyncio.sleep(0.05)
            if task.done():
                raise OSError(f"the control endpoint could not start on port {control_port}")
            print(f"control endpoint at http://{gateway.host}:{control_port}/devices", flush=True)
        await stop.wait()
    finally:
        if control is not None:
            control.should_exit = True
            await task


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from adapters.simulator import SimClock
    from gridctl.devices import simulator_clock, simulators
    from gridctl.district import District

    district = District.load(config)
    clock = simulator_clock(config) if args.clock_start is None else SimClock(args.clock_start)
    sims = simulators(district, clock, args.host, args.port)
    try:
        asyncio.run(_serve(sims, args.control_port))
    except (OSError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
