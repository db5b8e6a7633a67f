"""Drivers without a socket: a :class:`~adapters.drivers.connection.ModbusHost` stand-in that hands each
request to an in-process :class:`~adapters.simulator.Simulator`.

The simulator answers through the same request handler as its TCP server (faults, physics,
write checks), so drivers see the same registers, scale factors and exceptions as over Modbus TCP.
"""

from __future__ import annotations

from adapters.drivers.errors import DeviceRejected, DeviceTimeout
from adapters.simulator import Refused, Silent, Simulator

READ_HOLDING, WRITE_MULTIPLE = 3, 16


class LoopbackHost:
    """The devices of ``sim``, reached by unit id like a Modbus TCP host."""

    def __init__(self, sim: Simulator):
        self.sim = sim

    def __repr__(self) -> str:
        return f"LoopbackHost({len(self.sim.devices)} simulated devices)"

    async def read(self, device_id: str, unit_id: int, address: int, count: int) -> list[int]:
        """Holding registers ``address`` .. ``address + count - 1`` of one unit."""
        return await self._request(device_id, unit_id, READ_HOLDING, address, count, None)

    async def write(self, device_id: str, unit_id: int, address: int, values: list[int]) -> None:
        """Write ``values`` from ``address`` (function code 16)."""
        await self._request(device_id, unit_id, WRITE_MULTIPLE, address, len(values), values)

    async def _request(self, device_id: str, unit_id: int, func_code: int, address: int, count: int,
                       values: list[int] | None) -> list[int]:
        try:
            return await self.sim.request(unit_id, func_code, address, count, values)
        except Refused as exc:
            raise DeviceRejected(device_id, _what(func_code, address, count), exc.code) from None
        except Silent:
            raise DeviceTimeout(device_id, f"{_what(func_code, address, count)}: no answer") from None

    def close(self) -> None:
        """Nothing to release."""


def _what(func_code: int, address: int, count: int) -> str:
    """A request as an error names it."""
    return f"function {func_code}, {count} registers at {address}"
