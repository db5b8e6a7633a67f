"""Many devices at once: concurrent polls and writes that report failures per device, never raise.

Drivers behind the same :class:`~adapters.drivers.connection.ModbusHost` share its connection
(requests queue on it); drivers behind different hosts run in parallel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol

from adapters.drivers.errors import DeviceError
from adapters.drivers.sunspec import Telemetry


class Driver(Protocol):
    device_id: str
    discovered: bool

    async def discover(self) -> object: ...
    async def read_telemetry(self) -> Telemetry: ...
    async def write_setpoint(self, kw: float) -> float: ...


async def _discovered(driver: Driver) -> Driver:
    if not driver.discovered:
        await driver.discover()
    return driver


async def poll_all(drivers: Mapping[str, Driver]) -> dict[str, Telemetry | DeviceError]:
    """Telemetry of every device (discovering it first if needed), or the error it raised."""

    async def one(driver: Driver) -> Telemetry | DeviceError:
        try:
            return await (await _discovered(driver)).read_telemetry()
        except DeviceError as exc:
            return exc

    return dict(zip(drivers, await asyncio.gather(*(one(d) for d in drivers.values())), strict=True))


async def write_all(drivers: Mapping[str, Driver], setpoints_kw: Mapping[str, float]
                    ) -> dict[str, float | DeviceError | ValueError]:
    """Write each setpoint (load-referenced kW) to its device; the read-back value or the error.

    A ValueError means the setpoint cannot be represented in the device's registers.
    """
    unknown = sorted(set(setpoints_kw) - set(drivers))
    if unknown:
        raise KeyError(f"setpoints for unknown devices {unknown}; known: {sorted(drivers)}")

    async def one(device_id: str, kw: float) -> float | DeviceError | ValueError:
        try:
            return await (await _discovered(drivers[device_id])).write_setpoint(kw)
        except (DeviceError, ValueError) as exc:
            return exc

    ids = list(setpoints_kw)
    return dict(zip(ids, await asyncio.gather(*(one(i, setpoints_kw[i]) for i in ids)), strict=True))
