"""Request handling of the simulator, as a Modbus TCP gateway in front of its devices does it.

Register functions (3, 4 read; 6, 16 write; 22 mask write; 23 read/write) reach the device's
register image through :func:`access` (faults, physics, write checks). Identification answers
name the device: 17 (report server id) and 43/14 (read device identification, pymodbus'
encoding); 8 answers sub-function 0 (return query data). A unit id without a device is
answered with exception 0x0B (gateway target failed to respond) or not at all, logged once.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Literal

from pymodbus.constants import DeviceInformation, ExcCodes
from pymodbus.pdu.device import DeviceInformationFactory, ModbusDeviceIdentification
from pymodbus.pdu.mei_message import ReadDeviceInformationResponse
from pymodbus.pdu.other_message import ReportDeviceIdResponse

from adapters.simulator.device import SOFTWARE_VERSION, Refused, SimulatedDevice

log = logging.getLogger(__name__)
MAX_READ, MAX_WRITE, MAX_READ_WRITE = 125, 123, 121
UnknownUnit = Literal["gateway", "silent"]
UNKNOWN_UNIT_ANSWERS: tuple[UnknownUnit, ...] = ("gateway", "silent")


class Silent(Exception):
    """The unit does not answer (offline device)."""


async def access(device: SimulatedDevice, func_code: int, address: int, count: int,
                 values: list[int] | None = None) -> list[int]:
    """Read ``count`` registers from ``address`` or write ``values`` there, as the device does.

    Raises :class:`Refused` (Modbus exception) or :class:`Silent` (no answer).
    """
    faults = device.faults
    if faults.offline:
        raise Silent(f"device {device.id} is offline")
    if faults.delay_s:
        await asyncio.sleep(faults.delay_s)
    if faults.exception_code:
        raise Refused(faults.exception_code, f"{device.id}: exception {faults.exception_code} (fault)")
    if values is not None:
        device.write(address, values)
        return []
    device.sync()
    return device.read(address, count)


def identity(device: SimulatedDevice) -> ModbusDeviceIdentification:
    """Device identification objects (function 43/14) of a simulated device."""
    return ModbusDeviceIdentification(info_name={
        "VendorName": "gridctl", "ProductCode": device.model_name, "MajorMinorRevision": SOFTWARE_VERSION,
        "ProductName": f"gridctl simulated {device.model_name}", "ModelName": device.model_name,
        "UserApplicationName": device.id,
    })


def _exception(func_code: int, code: int) -> bytes:
    return bytes((func_code | 0x80, code))


class Gateway:
    """Answers request PDUs for the simulated devices by unit id."""

    def __init__(self, devices: Iterable[SimulatedDevice], unknown_unit: UnknownUnit = "gateway"):
        if unknown_unit not in UNKNOWN_UNIT_ANSWERS:
            raise ValueError(f"unknown_unit {unknown_unit!r}; use one of {list(UNKNOWN_UNIT_ANSWERS)}")
        self.units = {d.unit_id: d for d in devices}
        self.unknown_unit = unknown_unit
        self._identities = {u: identity(d) for u, d in self.units.items()}
        self._logged: set[int] = set()

    async def serve(self, unit_id: int, pdu: bytes) -> bytes | None:
        """The answer PDU to a well-formed request ``pdu`` for ``unit_id`` (None: no answer)."""
        func_code = pdu[0]
        device = self.units.get(unit_id)
        if device is None:
            if unit_id not in self._logged:
                self._logged.add(unit_id)
                log.info("Modbus request for unit id %d: no such device (%s)", unit_id,
                         "answered with exception 0x0B" if self.unknown_unit == "gateway" else "no answer")
            return None if self.unknown_unit == "silent" else _exception(func_code, ExcCodes.GATEWAY_NO_RESPONSE)
        try:
            return await self._answer(device, func_code, pdu)
        except Refused as exc:
            log.info("refused: %s", exc)
            return _exception(func_code, exc.code)
        except Silent:
            return None

    async def _answer(self, device: SimulatedDevice, func_code: int, pdu: bytes) -> bytes:
        if func_code in (3, 4):
            address, count = struct.unpack_from(">HH", pdu, 1)
            _check_count(count, MAX_READ)
            regs = await access(device, func_code, address, count)
            return struct.pack(f">BB{count}H", func_code, 2 * count, *regs)
        if func_code == 6:
            address, value = struct.unpack_from(">HH", pdu, 1)
            await access(device, func_code, address, 1, [value])
            return pdu
        if func_code == 16:
            address, count, size = struct.unpack_from(">HHB", pdu, 1)
            _check_count(count, MAX_WRITE, size)
            await access(device, func_code, address, count, list(struct.unpack_from(f">{count}H", pdu, 6)))
            return pdu[:5]
        if func_code == 22:
            address, and_mask, or_mask = struct.unpack_from(">HHH", pdu, 1)
            current, = await access(device, 3, address, 1)
            await access(device, func_code, address, 1, [(current & and_mask) | (or_mask & ~and_mask & 0xFFFF)])
            return pdu
        if func_code == 23:
            read_address, read_count, address, count, size = struct.unpack_from(">HHHHB", pdu, 1)
            _check_count(read_count, MAX_READ)
            _check_count(count, MAX_READ_WRITE, size)
            await access(device, func_code, address, count, list(struct.unpack_from(f">{count}H", pdu, 10)))
            regs = await access(device, 3, read_address, read_count)
            return struct.pack(f">BB{read_count}H", func_code, 2 * read_count, *regs)
        return self._diagnostics(device, func_code, pdu)

    def _diagnostics(self, device: SimulatedDevice, func_code: int, pdu: bytes) -> bytes:
        """Functions 8/0 (echo), 17 and 43/14 (identification); others: exception 1."""
        if device.faults.offline:
            raise Silent(device.id)
        if func_code == 8 and pdu[1:3] == b"\x00\x00":
            return pdu
        if func_code == 17:
            rsp = ReportDeviceIdResponse(identifier=f"gridctl {device.model_name} {device.id}".encode())
            return bytes((17,)) + rsp.encode()
        if func_code == 43 and pdu[1] == 14:
            return self._device_identification(device, pdu[2], pdu[3])
        raise Refused(ExcCodes.ILLEGAL_FUNCTION, f"{device.id}: function {func_code} is not supported")

    def _device_identification(self, device: SimulatedDevice, read_code: int, object_id: int) -> bytes:
        if read_code not in tuple(DeviceInformation):
            raise Refused(ExcCodes.ILLEGAL_VALUE, f"{device.id}: read device id code {read_code}")
        ident = SimpleNamespace(Identity=self._identities[device.unit_id])
        information = DeviceInformationFactory.get(ident, read_code, object_id)
        if read_code == DeviceInformation.SPECIFIC and not information.get(object_id):
            raise Refused(ExcCodes.ILLEGAL_ADDRESS, f"{device.id}: no identification object {object_id}")
        if not information:  # a start object beyond the last one: start again at 0
            information = DeviceInformationFactory.get(ident, read_code, 0)
        return bytes((43,)) + ReadDeviceInformationResponse(read_code, information).encode()


def _check_count(count: int, max_count: int, size: int | None = None) -> None:
    """Exception 3 for a register count outside 1..``max_count`` or a byte count that contradicts it."""
    if not 1 <= count <= max_count or (size is not None and size != 2 * count):
        raise Refused(ExcCodes.ILLEGAL_VALUE, f"register count {count} (byte count {size}) outside 1..{max_count}")
