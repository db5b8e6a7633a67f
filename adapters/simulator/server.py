"""One pymodbus TCP server serving every simulated device under its own unit id.

Each device is a pymodbus ``SimDevice`` whose register block is the device's SunSpec image
and whose ``action`` runs on every request: it applies the device's faults, advances the
physics, checks and applies writes (refusals become Modbus exceptions) and refreshes the
served registers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from functools import partial
from typing import Self

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from adapters.simulator.clock import SimClock
from adapters.simulator.device import Refused, SimulatedDevice

log = logging.getLogger(__name__)
REGISTER_CODES = {3, 4, 6, 16, 22, 23}  # SunSpec devices have registers only: no coils, no inputs
WRITE_CODES = {6, 16, 22, 23}


class Simulator:
    """Simulated devices on one Modbus TCP port, with a small control API for faults."""

    def __init__(self, devices: Iterable[SimulatedDevice], clock: SimClock,
                 host: str = "127.0.0.1", port: int = 0):
        self.devices = {d.id: d for d in devices}
        units = [d.unit_id for d in self.devices.values()]
        duplicates = sorted({u for u in units if units.count(u) > 1})
        if duplicates:
            raise ValueError(f"unit ids {duplicates} are used by more than one device; give each its own")
        self.clock = clock
        self.host, self.port = host, port
        self._server: ModbusTcpServer | None = None

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
        self[device_id].faults.update(offline=False, delay_s=0.0, exception_code=None, stuck=False, sf_offset=0)

    async def request(self, unit_id: int, func_code: int, address: int, count: int,
                      values: list[int] | None = None) -> list[int]:
        """Serve one request in-process exactly as the TCP server would (faults, physics, write checks):
        the ``count`` registers from ``address`` after it. Raise :class:`Refused` with the Modbus exception
        code, or :class:`NoSuchIdException` when the unit does not answer (no device, or offline)."""
        device = next((d for d in self.devices.values() if d.unit_id == unit_id), None)
        if device is None:
            raise NoSuchIdException(f"no device with unit id {unit_id}")
        registers = [0] * len(device.image.regs)
        code = await _action(device, func_code, device.map.base, address, count, registers, values)
        if code is not None:
            raise Refused(int(code), f"{device.id}: function {func_code} at {address} answered with exception {code}")
        offset = address - device.map.base
        return registers[offset:offset + count]

    async def start(self) -> int:
        """Start serving in the background; return the bound TCP port."""
        sim_devices = [
            SimDevice(d.unit_id, simdata=[SimData(d.map.base, values=list(d.image.regs),
                                                  datatype=DataType.REGISTERS)],
                      action=partial(_action, d))
            for d in self.devices.values()
        ]
        self._server = ModbusTcpServer(sim_devices, address=(self.host, self.port), ignore_missing_devices=True)
        await self._server.serve_forever(background=True)
        self.port = self._server.transport.sockets[0].getsockname()[1]
        log.info("Modbus simulator serving %d devices on %s:%d", len(self.devices), self.host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
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


async def _action(device: SimulatedDevice, func_code: int, start_address: int, address: int,
                  count: int, registers: list[int], set_values: list[int] | list[bool] | None
                  ) -> ExcCodes | None:
    """pymodbus hook run before every access to ``device``'s registers."""
    faults = device.faults
    if func_code not in REGISTER_CODES:
        return ExcCodes.ILLEGAL_FUNCTION
    if faults.offline:
        raise NoSuchIdException(f"device {device.id} is offline")
    if faults.delay_s:
        await asyncio.sleep(faults.delay_s)
    if faults.exception_code:
        return ExcCodes(faults.exception_code)
    try:
        if set_values is not None and func_code in WRITE_CODES:
            device.write(address, [int(v) for v in set_values])
        else:
            device.sync()
    except Refused as exc:
        log.info("refused: %s", exc)
        return ExcCodes(exc.code)
    served = device.served_registers()
    registers[: len(served)] = served
    return None
