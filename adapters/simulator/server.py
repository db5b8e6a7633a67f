"""The simulator's Modbus TCP server: every simulated device under its own unit id on one port.

An asyncio server with the simulator's own framing (:mod:`adapters.simulator.mbap`: malformed
frames close the connection) in front of a :class:`~adapters.simulator.gateway.Gateway`, which
applies the device's faults, advances its physics, checks and applies writes (refusals become
Modbus exceptions) and answers unknown unit ids as a gateway does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Self

from adapters.simulator.clock import SimClock
from adapters.simulator.device import SimulatedDevice
from adapters.simulator.faults import Faults
from adapters.simulator.gateway import Gateway, Silent, UnknownUnit, access
from adapters.simulator.mbap import ModbusConnection

log = logging.getLogger(__name__)


class Simulator:
    """Simulated devices on one Modbus TCP port, with a small control API for faults."""

    def __init__(self, devices: Iterable[SimulatedDevice], clock: SimClock,
                 host: str = "127.0.0.1", port: int = 0, unknown_unit: UnknownUnit = "gateway"):
        self.devices = {d.id: d for d in devices}
        units = [d.unit_id for d in self.devices.values()]
        duplicates = sorted({u for u in units if units.count(u) > 1})
        if duplicates:
            raise ValueError(f"unit ids {duplicates} are used by more than one device; give each its own")
        self.clock = clock
        self.host, self.port = host, port
        self.gateway = Gateway(self.devices.values(), unknown_unit)
        self._server: asyncio.Server | None = None
        self._connections: set[ModbusConnection] = set()

    def __getitem__(self, device_id: str) -> SimulatedDevice:
        try:
            return self.devices[device_id]
        except KeyError:
            raise KeyError(f"no simulated device {device_id!r}; have {sorted(self.devices)}") from None

    def set_fault(self, device_id: str, **faults: object) -> None:
        """Change faults of a device, e.g. ``set_fault("bess_1", offline=True)``."""
        self[device_id].faults.update(**faults)

    def clear_faults(self, device_id: str) -> None:
        """Make a device healthy again."""
        self[device_id].faults.update(**Faults().__dict__)

    async def request(self, unit_id: int, func_code: int, address: int, count: int,
                      values: list[int] | None = None) -> list[int]:
        """Serve one register request in-process exactly as the TCP server would (faults, physics,
        write checks): the ``count`` registers read from ``address`` (nothing for a write). Raise
        :class:`Refused` with the Modbus exception code, or :class:`Silent` when the unit does not answer."""
        device = self.gateway.units.get(unit_id)
        if device is None:
            raise Silent(f"no device with unit id {unit_id}")
        return await access(device, func_code, address, count, values)

    async def start(self) -> int:
        """Start serving in the background; return the bound TCP port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._connection, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("Modbus simulator serving %d devices on %s:%d", len(self.devices), self.host, self.port)
        return self.port

    def _connection(self) -> ModbusConnection:
        connection = ModbusConnection(self.gateway.serve, self._connections.discard)
        self._connections.add(connection)
        return connection

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for connection in list(self._connections):
                connection.close()
            await self._server.wait_closed()
            self._server = None

    async def serve_forever(self) -> None:
        """Serve until cancelled."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

