"""Two gateways: 20 batteries behind a healthy one, 2 behind one that accepts and never answers.

Prints how long the controller takes to write the healthy gateway's devices while the stalled
gateway's requests run into their time-out, against the whole write cycle.
"""

import asyncio
import contextlib
import logging
import tempfile
import time
from collections.abc import AsyncIterator

import pandas as pd

from adapters.drivers import HostPool, Timing
from adapters.simulator import BatteryParams, SimBattery, SimClock, Simulator
from gridctl.config import parse_config
from gridctl.control import Controller, ControlSettings, Rating
from gridctl.devices import drivers
from gridctl.driver_device import DriverDevice
from gridctl.store import Store

N_GOOD, N_STALLED = 20, 2
START = pd.Timestamp("2016-06-01 10:00", tz="UTC")


@contextlib.asynccontextmanager
async def stalled_gateway() -> AsyncIterator[int]:
    """A TCP server on a free loopback port that accepts connections, reads requests, never answers."""
    tasks: dict[asyncio.Task, asyncio.StreamWriter] = {}

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks[asyncio.current_task()] = writer
        with contextlib.suppress(ConnectionError):
            while await reader.read(1024):
                pass
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in tasks.values():  # the readers see the end of the stream and return
            writer.close()
        await asyncio.gather(*tasks, return_exceptions=True)


def battery(asset_id: str, unit_id: int, port: int | None = None) -> dict:
    """A battery asset of 100 kW / 400 kWh (behind the default gateway unless ``port`` is given)."""
    return {"id": asset_id, "bus": 1, "p_max_kw": 100.0, "e_max_kwh": 400.0, "unit_id": unit_id,
            **({"port": port} if port else {})}


async def _run() -> None:
    clock = SimClock(START)
    good = [SimBattery(BatteryParams(f"good_{u}", u, 100.0, 400.0), clock) for u in range(1, N_GOOD + 1)]
    async with Simulator(good, clock) as sim, stalled_gateway() as stalled_port:
        assets = [battery(f"stalled_{u}", u, stalled_port) for u in range(1, N_STALLED + 1)]
        assets += [battery(d.id, d.unit_id) for d in good]
        config = parse_config({"simulator": {"port": sim.port}, "assets": {"battery": assets}})
        pool = HostPool(Timing(timeout_s=1.0, retries=0))
        found = drivers(config, pool)
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(f"sqlite:///{tmp}/bench.sqlite")
            controller = Controller({k: DriverDevice(d, 400.0) for k, d in found.items()},
                                    {k: Rating(-100.0, 100.0) for k in found}, store, lambda: START,
                                    ControlSettings(ramp_pct_per_s=100.0))
            for d in (d for k, d in found.items() if k.startswith("good")):  # one at a time: no queue time-outs
                await d.discover()
            t0 = time.perf_counter()
            task = asyncio.create_task(controller.apply(START, {k: (50.0, "plan") for k in found}))
            while not all(d.control_value(704, "WSet") == -50_000 for d in good):
                await asyncio.sleep(0.001)
            t_good = time.perf_counter() - t0
            await task
            t_all = time.perf_counter() - t0
            await controller.close()
            pool.close()
            store.close()
    print(f"{N_GOOD} devices on a healthy gateway written in {t_good:.3f} s while {N_STALLED} devices on a "
          f"stalled gateway time out (whole write cycle {t_all:.3f} s, time-out 1 s per request)")


def main() -> None:
    logging.getLogger("gridctl.control").setLevel(logging.ERROR)  # the stalled devices' failures are expected
    asyncio.run(_run())


if __name__ == "__main__":
    main()
