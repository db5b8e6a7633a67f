"""Modbus round trips over 127.0.0.1: 100 simulated batteries behind one connection.

Driver overhead: each device's set + read back and telemetry through the drivers against a bare
pymodbus client sending the very same requests (recorded from the drivers) to the same server.
The two take turns device by device (each going first every other time), so both see the same
machine load and caches; the ratio is the
median driver time over the median bare time (1.0 = no overhead), in wall-clock and in process
CPU time (client and server share this process).
"""

import asyncio
import statistics
import time

import pandas as pd
from pymodbus.client import AsyncModbusTcpClient

from adapters.drivers import BatteryDriver, ModbusHost
from adapters.simulator import BatteryParams, SimBattery, SimClock, Simulator

N_DEVICES = 100
ROUNDS = 20


class _Recorder:
    """A host stand-in that records each request of a driver and forwards it."""

    def __init__(self, host: ModbusHost):
        self.host, self.requests = host, []

    async def read(self, device_id: str, unit_id: int, address: int, count: int) -> list[int]:
        self.requests.append((unit_id, address, count, None))
        return await self.host.read(device_id, unit_id, address, count)

    async def write(self, device_id: str, unit_id: int, address: int, values: list[int]) -> None:
        self.requests.append((unit_id, address, len(values), values))
        await self.host.write(device_id, unit_id, address, values)


async def _bare(client: AsyncModbusTcpClient, requests: list) -> None:
    for unit_id, address, count, values in requests:
        if values is None:
            rsp = await client.read_holding_registers(address, count=count, device_id=unit_id)
        else:
            rsp = await client.write_registers(address, values, device_id=unit_id)
        assert not rsp.isError()


async def _timed(op) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    await op()
    return time.perf_counter() - t0, time.process_time() - c0


async def _ratios(driver_ops: list, bare_ops: list) -> tuple[float, float, float]:
    """Median driver and bare time per device (wall, s) and both ratios (wall, CPU)."""
    samples: dict[str, list[tuple[float, float]]] = {"driver": [], "bare": []}
    for r in range(ROUNDS):
        for i, ops in enumerate(zip(driver_ops, bare_ops, strict=True)):
            order = ("driver", "bare") if (r + i) % 2 else ("bare", "driver")  # neither always goes first
            for name in order:
                samples[name].append(await _timed(ops[name == "bare"]))
    (d_wall, d_cpu), (b_wall, b_cpu) = ([statistics.median(x[k] for x in samples[n]) for k in (0, 1)]
                                        for n in ("driver", "bare"))
    return d_wall, b_wall, d_wall / b_wall, d_cpu / b_cpu


async def _run() -> None:
    clock = SimClock(pd.Timestamp("2016-06-01", tz="UTC"))
    batteries = [SimBattery(BatteryParams(f"bess_{u}", u, 500.0, 1000.0), clock) for u in range(1, N_DEVICES + 1)]
    async with Simulator(batteries, clock) as sim:
        host = ModbusHost("127.0.0.1", sim.port)
        drivers = [BatteryDriver(host, b.unit_id, b.id, p_max_kw=500.0) for b in batteries]
        t0 = time.perf_counter()
        await asyncio.gather(*(d.discover() for d in drivers))
        discover_s = time.perf_counter() - t0
        ops = {"set + read back": [lambda d=d, i=i: d.write_setpoint(100.0 + i) for i, d in enumerate(drivers)],
               "read telemetry": [d.read_telemetry for d in drivers]}
        recorded = {}
        for name, driver_ops in ops.items():
            recorded[name] = []
            for d, op in zip(drivers, driver_ops, strict=True):
                d.host = _Recorder(host)
                await op()
                recorded[name].append(d.host.requests)
                d.host = host
        assert [await d.write_setpoint(100.0 + i) for i, d in enumerate(drivers)] == [100.0 + i for i in range(N_DEVICES)]
        assert [(await d.read_telemetry()).p_kw for d in drivers] == [100.0 + i for i in range(N_DEVICES)]
        client = AsyncModbusTcpClient("127.0.0.1", port=sim.port, timeout=1.0, retries=0)
        await client.connect()
        results = {name: await _ratios(driver_ops, [lambda r=r: _bare(client, r) for r in recorded[name]])
                   for name, driver_ops in ops.items()}
        client.close()
        host.close()
    print(f"{N_DEVICES} devices, one TCP connection: discover {discover_s:.3f} s")
    for name, (driver_s, bare_s, wall_ratio, cpu_ratio) in results.items():
        print(f"{name} ({len(recorded[name][0])} requests/device, median of {ROUNDS * N_DEVICES}): drivers "
              f"{driver_s * 1000:.2f} ms/device, bare pymodbus {bare_s * 1000:.2f} ms/device: ratio "
              f"{wall_ratio:.2f}x wall clock, {cpu_ratio:.2f}x CPU time")


def main() -> None:
    asyncio.run(_run())


if __name__ == "__main__":
    main()
