"""A device's registers as a plain list, with typed and scaled access to its points.

The simulator serves one image per device; a client driver keeps a mirror image that it fills
with the register spans it reads. Both use the same codec (``sunspec2.mb``) and the same
scale-factor rule: value = raw * 10**sf, with ``sf`` read from the scale-factor point.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

from sunspec2 import mb, mdef

from adapters.sunspec.layout import END_MODEL_ID, SUNS_MARKER, DeviceMap, PointDef

_INT_RANGES = {
    mdef.TYPE_INT16: (-0x8000, 0x7FFF), mdef.TYPE_SUNSSF: (-10, 10),
    mdef.TYPE_INT32: (-0x8000_0000, 0x7FFF_FFFF), mdef.TYPE_INT64: (-(2**63), 2**63 - 1),
}
_UNSIGNED_TYPES = {
    mdef.TYPE_UINT16, mdef.TYPE_UINT32, mdef.TYPE_UINT64, mdef.TYPE_ENUM16, mdef.TYPE_ENUM32,
    mdef.TYPE_ACC16, mdef.TYPE_ACC32, mdef.TYPE_ACC64, mdef.TYPE_BITFIELD16, mdef.TYPE_BITFIELD32,
    mdef.TYPE_COUNT,
}
_UNSIGNED_BITS = {1: 16, 2: 32, 4: 64}
# integer types of one or two registers: (registers, signed, raw value meaning "not implemented")
_INTEGERS = {
    mdef.TYPE_INT16: (1, True, 0x8000), mdef.TYPE_SUNSSF: (1, True, 0x8000), mdef.TYPE_UINT16: (1, False, 0xFFFF),
    mdef.TYPE_ENUM16: (1, False, 0xFFFF), mdef.TYPE_BITFIELD16: (1, False, 0xFFFF), mdef.TYPE_ACC16: (1, False, 0),
    mdef.TYPE_COUNT: (1, False, 0xFFFF), mdef.TYPE_INT32: (2, True, 0x8000_0000),
    mdef.TYPE_UINT32: (2, False, 0xFFFF_FFFF), mdef.TYPE_ENUM32: (2, False, 0xFFFF_FFFF),
    mdef.TYPE_BITFIELD32: (2, False, 0xFFFF_FFFF), mdef.TYPE_ACC32: (2, False, 0),
}


def encode(point: PointDef, raw: float | str) -> list[int]:
    """Registers holding ``raw`` (an unscaled value of the point's type)."""
    integer = _INTEGERS.get(point.type)
    if integer is not None:
        size = integer[0]
        raw = int(raw) & ((1 << 16 * size) - 1)  # two's complement for negative values
        return [raw] if size == 1 else [raw >> 16, raw & 0xFFFF]
    info = mb.point_type_info[point.type]
    data = info.to_data(raw, point.size * 2)
    return list(struct.unpack(f">{point.size}H", data))


def decode(point: PointDef, regs: Sequence[int], offset: int = 0) -> int | float | str | None:
    """The unscaled value of the point held in ``regs`` from ``offset``, None when not implemented."""
    integer = _INTEGERS.get(point.type)
    if integer is not None:  # the common case, without the codec's byte packing
        size, signed, unimpl = integer
        raw = regs[offset] if size == 1 else (regs[offset] << 16) | regs[offset + 1]
        if raw == unimpl:
            return None
        return raw - (1 << 16 * size) if signed and raw >> (16 * size - 1) else raw
    info = mb.point_type_info[point.type]
    value = info.data_to(struct.pack(f">{point.size}H", *regs[offset:offset + point.size]))
    return value if info.is_impl(value) else None


def raw_range(point: PointDef) -> tuple[int, int]:
    """Smallest and largest implemented raw value of an integer point."""
    if point.type in _INT_RANGES:
        lo, hi = _INT_RANGES[point.type]
        return lo + (point.type != mdef.TYPE_SUNSSF), hi
    return 0, 2 ** _UNSIGNED_BITS[point.size] - 2


# integer types of one or two registers: (smallest, largest implemented raw value, registers)
_LIMITS = {t: (*raw_range(PointDef("", 0, 0, size, t, None, "R")), size) for t, (size, _, _) in _INTEGERS.items()}


def fit_sf(max_abs: float, point: PointDef, digits: int = 0) -> int:
    """Smallest exponent so that ``max_abs`` fits the point, but at most ``-digits`` decimals."""
    hi = raw_range(point)[1]
    sf = -digits
    while max_abs / 10.0**sf > hi:
        sf += 1
    return sf


class RegisterImage:
    """All registers of one device from its base address, initialised to 'not implemented'."""

    def __init__(self, device_map: DeviceMap):
        self.map = device_map
        self.regs = [0] * device_map.size
        self.regs[0:2] = SUNS_MARKER
        for model in device_map.models:
            self._put(model.address, [model.model_id, model.length])
            for point in model.points.values():
                if point.name not in ("ID", "L"):
                    self._put(point.address, encode_unimpl(point))
        self._put(device_map.end_marker, [END_MODEL_ID, 0])

    def copy(self) -> RegisterImage:
        """An independent image with the same registers."""
        other = object.__new__(RegisterImage)
        other.map, other.regs = self.map, list(self.regs)
        return other

    def _put(self, address: int, values: Sequence[int]) -> None:
        i = address - self.map.base
        self.regs[i:i + len(values)] = values

    def load(self, address: int, values: Sequence[int]) -> None:
        """Copy registers read from (or written to) the device at ``address``."""
        i = address - self.map.base
        if i < 0 or i + len(values) > len(self.regs):
            raise IndexError(f"registers {address}..{address + len(values) - 1} are outside the map")
        self.regs[i:i + len(values)] = values

    def span(self, address: int, count: int) -> list[int]:
        i = address - self.map.base
        return self.regs[i:i + count]

    def get_raw(self, point: PointDef) -> int | float | str | None:
        return decode(point, self.regs, point.address - self.map.base)

    def set_raw(self, point: PointDef, raw: float | str | None) -> None:
        """Store an unscaled value (None: 'not implemented'); integers are range-checked."""
        values = encode_unimpl(point) if raw is None else encode_checked(point, raw)
        i = point.address - self.map.base
        self.regs[i:i + len(values)] = values

    def sf(self, point: PointDef) -> int | None:
        """The point's scale-factor exponent (0 for unscaled points, None when unimplemented)."""
        if point.sf_address is not None:  # a sunssf register: int16, 0x8000 = not implemented
            raw = self.regs[point.sf_address - self.map.base]
            return None if raw == 0x8000 else raw - 0x10000 if raw & 0x8000 else raw
        if point.sf is None:
            return 0
        if isinstance(point.sf, int):
            return point.sf
        return self.get_raw(self.map.sf_point(point))

    def get(self, point: PointDef) -> float | None:
        """The scaled value (None when the point or its scale factor is not implemented)."""
        raw = decode(point, self.regs, point.address - self.map.base)
        sf = self.sf(point)
        if raw is None or sf is None:
            return None
        return raw * 10.0**sf if sf else raw

    def values(self, points: Sequence[PointDef]) -> list[float | None]:
        """The scaled values of ``points``, as :meth:`get` gives them, in one pass."""
        regs, base, out = self.regs, self.map.base, []
        for point in points:
            raw, sf = decode(point, regs, point.address - base), point.sf
            if raw is not None and sf is not None:
                if point.sf_address is not None:  # a sunssf register, as in :meth:`sf`
                    sf = regs[point.sf_address - base]
                    sf = None if sf == 0x8000 else sf - 0x10000 if sf & 0x8000 else sf
                elif not isinstance(sf, int):
                    sf = self.sf(point)
                raw = None if sf is None else raw * 10.0**sf if sf else raw
            out.append(raw)
        return out

    def to_raw(self, point: PointDef, value: float) -> int:
        """The raw integer that represents ``value`` under the point's current scale factor."""
        sf = self.sf(point)
        if sf is None:
            raise ValueError(f"scale factor {point.sf} of {point.name} is not implemented")
        raw = value / 10.0**sf
        if not math.isfinite(raw):
            raise ValueError(f"{point.name}: {value} is not a finite number")
        return round(raw)

    def set(self, point: PointDef, value: float) -> None:
        """Store a scaled value (rounded to the point's resolution)."""
        self.set_raw(point, self.to_raw(point, value))


def encode_checked(point: PointDef, raw: float | str) -> list[int]:
    """Registers holding ``raw``; ValueError when an integer does not fit the point's type."""
    limits = _LIMITS.get(point.type)
    if limits is not None:  # the common case, checked and encoded in one step
        lo, hi, size = limits
        raw = int(raw)
        if not lo <= raw <= hi:
            raise ValueError(f"{point.name}={raw} does not fit {point.type}")
        if size == 1:
            return [raw & 0xFFFF]
        raw &= 0xFFFF_FFFF
        return [raw >> 16, raw & 0xFFFF]
    if point.type in _INT_RANGES or point.type in _UNSIGNED_TYPES:
        lo, hi = raw_range(point)
        if not lo <= int(raw) <= hi:
            raise ValueError(f"{point.name}={raw} does not fit {point.type}")
    return encode(point, raw)


def encode_unimpl(point: PointDef) -> list[int]:
    """Registers holding the 'not implemented' value of the point's type."""
    data = mb.create_unimpl_value(point.type, point.size * 2)
    return list(struct.unpack(f">{point.size}H", data))
