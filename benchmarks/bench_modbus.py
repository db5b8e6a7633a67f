"""Modbus round trips over 127.0.0.1: 100 simulated batteries behind one connection.

Driver overhead: the drivers' set + read back and telemetry against a bare pymodbus client
sending the very same requests (recorded from the drivers) to the same server; the ratio is
driver time / bare time (1.0 = no overhead), best of ``ROUNDS`` rounds taken in turns.
"""

import asyncio
import time

import pandas as pd
from pymodbus.client import AsyncModbusTcpClient

from adapters.drivers import BatteryDriver, ModbusHost
from adapters.simulator import BatteryParams, SimBattery, SimClock, Simulator

N_DEVICES = 100
ROUNDS = 30


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


async def _best(*runs) -> list[tuple[float, float]]:
    """Fastest wall-clock and process CPU time of each of ``runs``, taking turns so that all see
    the same machine load (client and server share this process: CPU time is their whole cost)."""
    best = [(float("inf"), float("inf"))] * len(runs)
    for _ in range(ROUNDS):
        for i, run in enumerate(runs):
            t0, c0 = time.perf_counter(), time.process_time()
            await run()
            wall_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
            best[i] = (min(best[i][0], wall_s), min(best[i][1], cpu_s))
    return best


async def _run() -> None:
    clock = SimClock(pd.Timestamp("2016-06-01", tz="UTC"))
    batteries = [SimBattery(BatteryParams(f"bess_{u}", u, 500.0, 1000.0), clock) for u in range(1, N_DEVICES + 1)]
    async with Simulator(batteries, clock) as sim:
        host = ModbusHost("127.0.0.1", sim.port)
        drivers = [BatteryDriver(host, b.unit_id, b.id, p_max_kw=500.0) for b in batteries]
        t0 = time.perf_counter()
        await asyncio.gather(*(d.discover() for d in drivers))
        discover_s = time.perf_counter() - t0

        async def set_and_read_back() -> list[float]:
            return [await d.write_setpoint(100.0 + i) for i, d in enumerate(drivers)]

        async def telemetry() -> list:
            return [await d.read_telemetry() for d in drivers]

        recorded = {}
        for name, run in (("set", set_and_read_back), ("telemetry", telemetry)):
            recorder = _Recorder(host)
            for d in drivers:
                d.host = recorder
            await run()
            recorded[name] = recorder.requests
            for d in drivers:
                d.host = host
        assert await set_and_read_back() == [100.0 + i for i in range(N_DEVICES)]
        assert [t.p_kw for t in await telemetry()] == [100.0 + i for i in range(N_DEVICES)]
        client = AsyncModbusTcpClient("127.0.0.1", port=sim.port, timeout=1.0, retries=0)
        await client.connect()
        results = {}
        for name, run in (("set", set_and_read_back), ("telemetry", telemetry)):
            driver_s, bare_s = await _best(run, lambda name=name: _bare(client, recorded[name]))
            results[name] = (driver_s, bare_s, len(recorded[name]) // N_DEVICES)
        client.close()
        host.close()
    print(f"{N_DEVICES} devices, one TCP connection: discover {discover_s:.3f} s")
    for name, label in (("set", "set + read back"), ("telemetry", "read telemetry")):
        (driver_s, driver_cpu_s), (bare_s, bare_cpu_s), per_device = results[name]
        print(f"{label} ({per_device} requests/device): drivers {driver_s:.3f} s "
              f"({driver_s / N_DEVICES * 1000:.2f} ms/device), bare pymodbus {bare_s:.3f} s: ratio "
              f"{driver_s / bare_s:.2f}x wall clock, {driver_cpu_s / bare_cpu_s:.2f}x CPU time")


def main() -> None:
    asyncio.run(_run())


if __name__ == "__main__":
    main()
