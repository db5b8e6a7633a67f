"""Modbus round trips over 127.0.0.1: 100 simulated batteries behind one connection."""

import asyncio
import time

import pandas as pd

from adapters.drivers import BatteryDriver, ModbusHost
from adapters.simulator import BatteryParams, SimBattery, SimClock, Simulator

N_DEVICES = 100


async def _run() -> None:
    clock = SimClock(pd.Timestamp("2016-06-01", tz="UTC"))
    batteries = [SimBattery(BatteryParams(f"bess_{u}", u, 500.0, 1000.0), clock) for u in range(1, N_DEVICES + 1)]
    async with Simulator(batteries, clock) as sim:
        host = ModbusHost("127.0.0.1", sim.port)
        drivers = [BatteryDriver(host, b.unit_id, b.id, p_max_kw=500.0) for b in batteries]
        t0 = time.perf_counter()
        await asyncio.gather(*(d.discover() for d in drivers))
        t1 = time.perf_counter()
        readback = await asyncio.gather(*(d.write_setpoint(100.0 + i) for i, d in enumerate(drivers)))
        t2 = time.perf_counter()
        telemetry = await asyncio.gather(*(d.read_telemetry() for d in drivers))
        t3 = time.perf_counter()
        host.close()
    assert readback == [100.0 + i for i in range(N_DEVICES)]
    assert [t.p_kw for t in telemetry] == readback
    print(f"{N_DEVICES} devices, one TCP connection: discover {t1 - t0:.3f} s, "
          f"set + read back {t2 - t1:.3f} s ({(t2 - t1) / N_DEVICES * 1000:.2f} ms/device), "
          f"read telemetry {t3 - t2:.3f} s")


def main() -> None:
    asyncio.run(_run())


if __name__ == "__main__":
    main()
