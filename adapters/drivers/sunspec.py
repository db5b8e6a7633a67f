"""Client side of a SunSpec device: discover its model chain, read points, write controls.

The driver keeps a mirror :class:`RegisterImage` of the device. Discovery walks the model
chain from the ``SunS`` marker and reads every model once (so static points and scale factors
are known); later reads refresh only the spans holding the points asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

from adapters.drivers.connection import MAX_READ, MAX_WRITE, ModbusHost
from adapters.drivers.errors import DeviceProtocolError, DeviceReadbackMismatch, DeviceRejected
from adapters.sunspec import (
    BASE_ADDRESS,
    END_MODEL_ID,
    SUNS_MARKER,
    DeviceMap,
    ModelLayout,
    PointDef,
    RegisterImage,
    model_layout,
)
from adapters.sunspec.image import encode_checked

BASE_ADDRESSES = (BASE_ADDRESS, 0, 50000)  # where SunSpec devices put the marker
PLAUSIBLE_FACTOR = 1.1  # a measured power beyond this multiple of the rating is a wrong reading


@dataclass(slots=True)
class Telemetry:
    """One reading of a device, in gridctl's units and signs (load-referenced) (a plain record, built on every poll)."""

    device_id: str
    time: datetime  # UTC, when the reading was taken
    p_kw: float  # load-referenced (+ = consuming) for storage and loads, generator-referenced for PV
    available: bool  # connected, running and under remote control
    alarms: int  # raw alarm bits, 0 = none
    setpoint_kw: float | None  # active remote setpoint in the same sign as p_kw; None when not enabled
    revert_remaining_s: int | None  # seconds until the device falls back to its safe setpoint
    soc_pct: float | None = None
    extra: dict[str, float | None] = field(default_factory=dict)


def now_utc() -> datetime:
    """The present time, UTC (a reading's time stamp)."""
    return datetime.now(UTC)


def spans(points: Iterable[PointDef], max_count: int = MAX_READ) -> list[tuple[int, int]]:
    """Fewest (address, count) reads, each at most ``max_count`` registers, covering ``points``."""
    out: list[list[int]] = []
    for p in sorted(points, key=lambda p: p.address):
        end = p.address + p.size
        if out and end - out[-1][0] <= max_count:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([p.address, end])
    return [(start, end - start) for start, end in out]


class SunSpecDriver:
    """A SunSpec device with unit id ``unit_id`` behind ``host``.

    ``rating_kw``: the configured rating; discovery fails with :class:`DeviceProtocolError` when
    the device reports another one. ``revert_s``: revert-timer seconds armed by every write.
    """

    required_models: ClassVar[tuple[int, ...]] = (1,)

    def __init__(self, host: ModbusHost, unit_id: int, device_id: str, rating_kw: float | None = None,
                 revert_s: int = 900):
        self.host, self.unit_id, self.device_id = host, unit_id, device_id
        self.expected_rating_kw = rating_kw
        self.revert_s = int(revert_s)
        self._map: DeviceMap | None = None
        self._mirror: RegisterImage | None = None
        self._plans: dict[tuple, tuple] = {}  # read and write plans by the points they cover
        self._max_w: float | None = None  # largest plausible |W|, from the (static) rating

    @property
    def rating_kw(self) -> float:
        """The device's own power rating, kW."""
        raise NotImplementedError

    @property
    def map(self) -> DeviceMap:
        if self._map is None:
            raise RuntimeError(f"{self.device_id}: call discover() first")
        return self._map

    @property
    def mirror(self) -> RegisterImage:
        _ = self.map
        return self._mirror

    @property
    def discovered(self) -> bool:
        return self._map is not None

    async def _read(self, address: int, count: int) -> list[int]:
        return await self.host.read(self.device_id, self.unit_id, address, count)

    async def discover(self) -> DeviceMap:
        """Find the ``SunS`` marker, walk the model chain, read every model once."""
        base = await self._find_base()
        models, address = [], base + 2
        for _ in range(64):
            model_id, length = await self._read(address, 2)
            if model_id == END_MODEL_ID:
                break
            models.append(self._place(model_id, address, length))
            address += 2 + length
        else:
            raise DeviceProtocolError(self.device_id, "no end marker after 64 models")
        found = [m.model_id for m in models]
        missing = [m for m in self.required_models if m not in found]
        if missing:
            raise DeviceProtocolError(self.device_id, f"models {missing} missing; device has {found}")
        self._map = DeviceMap(tuple(models), base)
        self._mirror = RegisterImage(self._map)
        self._plans.clear()
        self._max_w = None
        for model in models:
            await self.refresh(model.points.values())
        self.check()
        return self._map

    async def _find_base(self) -> int:
        for base in BASE_ADDRESSES:
            try:
                if tuple(await self._read(base, 2)) == SUNS_MARKER:
                    return base
            except DeviceRejected:
                continue
        raise DeviceProtocolError(self.device_id, f"no SunSpec marker 'SunS' at {BASE_ADDRESSES}")

    def _place(self, model_id: int, address: int, length: int) -> ModelLayout:
        try:
            layout = model_layout(model_id, address)
        except KeyError:  # a model without a definition here: keep its place, skip its points
            return ModelLayout(model_id, f"model_{model_id}", address, length, {})
        if layout.length != length:
            raise DeviceProtocolError(self.device_id, f"model {model_id} has length {length}, its "
                                                      f"definition {layout.length}")
        return layout

    def check(self) -> None:
        """Raise :class:`DeviceProtocolError` when the device's rating contradicts the configured one."""
        expected = self.expected_rating_kw
        if expected is not None and abs(self.rating_kw - expected) > 0.01 * expected:
            raise DeviceProtocolError(
                self.device_id, f"device rating {self.rating_kw:g} kW differs from the configured "
                                f"{expected:g} kW; fix the config or the device's scale factors")

    def plausible_power(self, w: float | None) -> float:
        """``w`` (W) when it can be a real reading of this device, else :class:`DeviceProtocolError`."""
        if self._max_w is None:
            self._max_w = PLAUSIBLE_FACTOR * self.rating_kw * 1000
        if w is None or abs(w) > self._max_w:
            raise DeviceProtocolError(self.device_id, f"implausible power {w} W for a {self.rating_kw:g} kW "
                                                      "device; check its scale factors")
        return w

    def read_plan(self, points: Iterable[PointDef]) -> list[tuple[int, int]]:
        """The reads that cover ``points``, with their scale factors when those come at no extra
        request (the others stay as read at discovery)."""
        points = list(points)
        needed = spans(points)
        sfs = {sf for p in points if (sf := self.map.sf_point(p)) is not None}
        with_sfs = spans([*points, *sfs])
        return with_sfs if len(with_sfs) == len(needed) else needed

    async def refresh(self, points: Iterable[PointDef]) -> None:
        """Read the registers of ``points`` (see :meth:`read_plan`) into the mirror."""
        await self._load(self.read_plan(points))

    async def _load(self, plan: list[tuple[int, int]]) -> None:
        mirror, read = self._mirror, self.host.read
        for address, count in plan:
            mirror.load(address, await read(self.device_id, self.unit_id, address, count))

    def point(self, model: int | str, name: str) -> PointDef:
        return self.map.point(model, name)

    def value(self, model: int | str, name: str) -> float | None:
        """Scaled value of a point as last read."""
        return self.mirror.get(self.point(model, name))

    def raw(self, model: int | str, name: str) -> int | float | str | None:
        return self.mirror.get_raw(self.point(model, name))

    async def read_values(self, names: Iterable[tuple[int | str, str]]) -> dict[str, float | None]:
        """Read points ``(model, name)`` now; return their scaled values by name."""
        key = names if isinstance(names, tuple) else tuple(names)
        plan = self._plans.get(key)
        if plan is None:
            points = [self.point(m, n) for m, n in key]
            plan = self._plans[key] = ([n for _, n in key], points, self.read_plan(points))
        mirror, read = self._mirror, self.host.read
        for address, count in plan[2]:  # as in _load, without one more coroutine per poll
            mirror.load(address, await read(self.device_id, self.unit_id, address, count))
        return dict(zip(plan[0], mirror.values(plan[1]), strict=True))

    async def write_control(self, model: int | str, prefix: str, value: float, safe_value: float | None,
                            revert_s: int, extra_raw: dict[str, int] | None = None) -> float:
        """Set a revertable control and read it back.

        Writes ``<prefix>Ena`` = enabled, ``<prefix>`` = ``value``, ``<prefix>RvrtTms`` =
        ``revert_s`` and the values applied when that timer expires: ``<prefix>Rvrt`` =
        ``safe_value`` with ``<prefix>EnaRvrt`` enabled, or, when ``safe_value`` is None, control
        disabled (the device's own logic). One request (with ``extra_raw`` points in between), so
        the revert timer restarts with every setpoint. Returns the value read back.
        """
        extra_raw, mirror = extra_raw or {}, self.mirror
        points, (address, count), plan = self._control_plan(model, prefix, tuple(extra_raw))
        target = points[prefix]
        raws = (1, int(safe_value is not None), int(revert_s), mirror.to_raw(target, value),  # in plan order
                mirror.to_raw(points[prefix + "Rvrt"], safe_value or 0.0), *extra_raw.values())
        registers = mirror.span(address, count)  # registers in between keep their values
        for point, raw in zip(points.values(), raws, strict=True):
            offset = point.address - address
            try:
                registers[offset:offset + point.size] = encode_checked(point, raw)
            except ValueError as exc:
                raise ValueError(f"{self.device_id}: {exc}") from None
        await self.host.write(self.device_id, self.unit_id, address, registers)
        await self._load(plan)
        readback = mirror.get(target)
        if readback is None or abs(readback - value) > self._resolution(target):
            raise DeviceReadbackMismatch(self.device_id, f"{prefix} written {value}, reads back {readback}")
        return readback

    async def release_control(self, model: int | str, prefix: str) -> None:
        """Disable a revertable control (``<prefix>Ena`` = 0: the device's own logic, no cap) and
        read it back."""
        point = self.point(model, prefix + "Ena")
        await self.host.write(self.device_id, self.unit_id, point.address, [0])
        await self.refresh([point])
        if self.mirror.get_raw(point) != 0:
            raise DeviceReadbackMismatch(self.device_id, f"{prefix}Ena written 0, reads back {self.mirror.get_raw(point)}")

    def _control_plan(self, model: int | str, prefix: str, extra: tuple[str, ...]
                      ) -> tuple[dict[str, PointDef], tuple[int, int], list[tuple[int, int]]]:
        """The points of a control write, the one span written and the reads that check it."""
        key = (model, prefix, *extra)
        if key not in self._plans:
            names = [prefix + s for s in ("Ena", "EnaRvrt", "RvrtTms", "", "Rvrt")] + list(extra)
            points = {n: self.point(model, n) for n in names}
            (span,) = spans(points.values(), max_count=MAX_WRITE)
            self._plans[key] = (points, span, self.read_plan([*points.values(), self.point(model, prefix + "RvrtRem")]))
        return self._plans[key]

    def _resolution(self, point: PointDef) -> float:
        return 0.5 * 10.0 ** (self.mirror.sf(point) or 0) + 1e-9
