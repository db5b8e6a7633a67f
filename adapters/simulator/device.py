"""Base of every simulated device: register image, revert timers, write checks, faults.

A device owns a :class:`RegisterImage`. Physics advance lazily to the simulator clock on every
request; the telemetry (measured values, revert timers' remaining seconds) is written into the
image when registers are read after the state changed, so requests that read nothing (writes,
state reads of in-process replays) do not encode it. A device whose telemetry only reads its state
(:attr:`~SimulatedDevice.pure_telemetry`) leaves its measured values unwritten also for a read
of none of their registers (a control's readback); they are written at the next read that serves
them, from the state then. Remote writes are checked against the
device's writable points, enum symbols and ratings before anything is stored: a write that
breaks a rule is refused as a whole.
"""

from __future__ import annotations

import math
from typing import ClassVar, NamedTuple

import pandas as pd

from adapters.simulator.clock import SimClock
from adapters.simulator.faults import Faults
from adapters.sunspec import DeviceMap, PointDef, RegisterImage, fit_sf

ILLEGAL_ADDRESS, ILLEGAL_VALUE = 2, 3
SOFTWARE_VERSION = "gridctl-sim 1"


class Refused(Exception):
    """A request the device answers with a Modbus exception ``code``."""

    def __init__(self, code: int, reason: str):
        self.code = code
        super().__init__(reason)


class WriteSpan(NamedTuple):
    """What a write of one register span touches: per point its allowed raw values (empty: any)
    and engineering limits, the points' names and the controls whose revert timer it restarts
    (prefix, timer setting)."""

    checks: list[tuple[PointDef, set[int], tuple[float, float] | None]]
    names: frozenset[str]
    arming: list[tuple[str, PointDef]]


class SimulatedDevice:
    """One simulated device; subclasses define models, ratings and physics."""

    models: ClassVar[tuple[int, ...]]
    model_name: ClassVar[str]
    # (model id, prefix) of each setpoint with a revert timer: <prefix>Ena, <prefix>,
    # <prefix>Rvrt, <prefix>EnaRvrt, <prefix>RvrtTms, <prefix>RvrtRem
    controls: ClassVar[tuple[tuple[int, str], ...]] = ()
    # further remotely writable points: (model id, name)
    extra_writable: ClassVar[tuple[tuple[int, str], ...]] = ()
    # whether publish_telemetry only reads the device's state and writes the same registers whatever
    # the state: then its measured values wait for a read that serves them (module doc)
    pure_telemetry: ClassVar[bool] = False

    def __init__(self, device_id: str, unit_id: int, clock: SimClock, faults: Faults | None = None):
        if not 1 <= unit_id <= 247:
            raise ValueError(f"device {device_id!r}: unit id {unit_id} is outside 1..247")
        self.id = device_id
        self.unit_id = unit_id
        self.clock = clock
        self.faults = faults or Faults()
        self.map = DeviceMap.build(list(self.models))
        self._points: dict[tuple[int | str, str], PointDef] = {}
        self.image = RegisterImage(self.map)
        self.limits: dict[PointDef, tuple[float, float]] = {}
        self._t = clock.now()
        self._remaining = {prefix: 0.0 for _, prefix in self.controls}
        self._writable = {self.pt(m, n) for m, n in self.extra_writable}
        for model, prefix in self.controls:
            for suffix in ("Ena", "", "Rvrt", "EnaRvrt", "RvrtTms"):
                self._writable.add(self.pt(model, prefix + suffix))
        self._by_address = {p.address: p for p in self._writable}
        self._spans: dict[tuple[int, int], WriteSpan] = {}  # what a write of (address, count) touches
        # per control: the names whose write restarts its revert timer, and the timer's setting
        self._arming = [(prefix, {prefix + "Ena", prefix, prefix + "RvrtTms"}, self.pt(model, prefix + "RvrtTms"))
                        for model, prefix in self.controls]
        self._timers = [(prefix, self.pt(model, prefix + "RvrtRem")) for model, prefix in self.controls]
        self._sf_points = [p for m in self.map.models for p in m.points.values() if p.type == "sunssf"]
        self._set_common()
        self.configure()
        self._measured = self._telemetry_registers() if self.pure_telemetry else None
        self.publish()

    # --- register helpers -------------------------------------------------------------------
    def pt(self, model: int | str, name: str) -> PointDef:
        point = self._points.get((model, name))
        if point is None:
            point = self._points[(model, name)] = self.map.point(model, name)
        return point

    def get(self, model: int | str, name: str) -> float | None:
        return self.image.get(self.pt(model, name))

    def set(self, model: int | str, name: str, value: float | None) -> None:
        point = self.pt(model, name)
        if value is None:
            self.image.set_raw(point, None)
        else:
            self.image.set(point, value)

    def set_raw(self, model: int | str, name: str, raw: int | str | None) -> None:
        self.image.set_raw(self.pt(model, name), raw)

    def set_sf(self, model: int | str, sf_name: str, max_abs: float, digits: int = 0) -> None:
        """Choose the scale factor ``sf_name`` so that ``max_abs`` fits every point it scales."""
        points = [p for p in self.map.model(model).points.values() if p.sf == sf_name]
        self.set_raw(model, sf_name, max(fit_sf_all(max_abs, points, digits)))

    def limit(self, model: int | str, name: str, lo: float, hi: float) -> None:
        """Refuse writes of ``name`` outside [lo, hi] (engineering units)."""
        self.limits[self.pt(model, name)] = (lo, hi)
        self._spans.clear()  # their checks hold the limits

    def control_value(self, model: int, prefix: str) -> float | None:
        """The effective value of a control: its setpoint when enabled, else None."""
        if self.image.get_raw(self.pt(model, prefix + "Ena")) != 1:
            return None
        return self.get(model, prefix)

    def _set_common(self) -> None:
        self.set_raw(1, "Mn", "gridctl")
        self.set_raw(1, "Md", self.model_name)
        self.set_raw(1, "Vr", SOFTWARE_VERSION[:16])
        self.set_raw(1, "SN", self.id[:32])

    # --- subclass hooks ---------------------------------------------------------------------
    def configure(self) -> None:
        """Set static points, scale factors, initial controls and write limits."""

    def step(self, t0: pd.Timestamp, dt_s: float) -> None:
        """Advance the physics by ``dt_s`` seconds from ``t0`` under the current setpoints."""

    def publish_telemetry(self) -> None:
        """Write measured values into the image."""

    def check_write(self, staged: RegisterImage) -> None:
        """Raise :class:`Refused` when the staged registers break a device-specific rule."""

    def applied(self, names: set[str]) -> None:
        """React to an accepted remote write of the points ``names`` (already in the image)."""

    @property
    def p_kw(self) -> float:
        """Present power at the grid connection, load-referenced (+ = consuming)."""
        return 0.0

    # --- request handling -------------------------------------------------------------------
    def sync(self) -> None:
        """Run the physics up to the clock's present (the telemetry follows at the next :meth:`read`)."""
        now = self.clock.now()
        if now <= self._t:  # no simulated time passed since the last sync (a clock standing still)
            self._published = False
            return
        dt, t = (now - self._t).total_seconds(), self._t
        self._t = now
        while dt > 0:
            h = min([dt] + [r for r in self._remaining.values() if r > 0])
            self.step(t, h)
            dt -= h
            if dt > 0:  # the next step's start (pandas arithmetic, not needed after the last one)
                t += pd.Timedelta(seconds=h)
            for prefix, rem in self._remaining.items():
                if rem > 0:
                    self._remaining[prefix] = rem - h if rem - h > 1e-9 else 0.0
                    if not self._remaining[prefix]:
                        self._revert(prefix)
        self._published = False

    def publish(self) -> None:
        """Write the revert timers' remaining seconds and (unless stuck) the telemetry into the image."""
        self._published = True
        self._publish_timers()
        if not self.faults.stuck:
            self.publish_telemetry()

    def _publish_timers(self) -> None:
        for prefix, point in self._timers:
            self.image.set_raw(point, math.ceil(self._remaining[prefix]))

    def _telemetry_registers(self) -> list[bool]:
        """Per register of the image: whether :meth:`publish_telemetry` writes it (one publish into
        a copy of the image that marks what is written)."""
        image = self.image
        self.image = marking = _MarkedImage(image)
        try:
            self.publish_telemetry()
        finally:
            self.image = image
        return marking.written

    def _publish_for(self, offset: int, count: int) -> None:
        """:meth:`publish` before serving ``count`` registers from ``offset``; when none of them holds
        a measured value of a device with pure telemetry, only the timers (the values wait, module doc)."""
        measured = self._measured
        if measured is not None and 0 <= offset and offset + count <= len(measured) and not any(
                measured[offset:offset + count]):
            self._publish_timers()
        else:
            self.publish()

    def _revert(self, prefix: str) -> None:
        model = next(m for m, p in self.controls if p == prefix)
        for target, source in ((prefix, prefix + "Rvrt"), (prefix + "Ena", prefix + "EnaRvrt")):
            raw = self.image.get_raw(self.pt(model, source))
            if raw is not None:
                self.set_raw(model, target, raw)

    def write(self, address: int, values: list[int]) -> None:
        """Apply a remote write of ``values`` at ``address`` or raise :class:`Refused`."""
        self.sync()
        span = self._span(address, len(values))
        staged = self.image.copy()
        staged.load(address, values)
        for point, symbols, bounds in span.checks:
            _check_point(self.id, staged, point, symbols, bounds)
        self.check_write(staged)
        self.image.load(address, values)
        for prefix, timer in span.arming:
            self._remaining[prefix] = float(self.image.get_raw(timer) or 0)
        self.applied(span.names)
        self._published = False

    def _span(self, address: int, count: int) -> WriteSpan:
        span = self._spans.get((address, count))
        if span is None:
            touched = self._points_in(address, count)
            names = frozenset(p.name for p in touched)
            span = self._spans[(address, count)] = WriteSpan(
                [(p, set(p.symbols.values()), self.limits.get(p)) for p in touched], names,
                [(prefix, timer) for prefix, arming, timer in self._arming if not names.isdisjoint(arming)])
        return span

    def _points_in(self, address: int, count: int) -> list[PointDef]:
        touched, a = [], address
        while a < address + count:
            point = self._by_address.get(a)
            if point is None or a + point.size > address + count:
                raise Refused(ILLEGAL_ADDRESS, f"{self.id}: register {a} is not a writable point")
            touched.append(point)
            a += point.size
        return touched

    def read(self, address: int, count: int) -> list[int]:
        """``count`` registers from ``address`` as served; exception 2 outside the map."""
        offset = address - self.map.base
        if not self._published:
            self._publish_for(offset, count)
        if offset < 0 or offset + count > len(self.image.regs):
            raise Refused(ILLEGAL_ADDRESS, f"{self.id}: registers {address}..{address + count - 1} are "
                                           f"outside {self.map.base}..{self.map.base + len(self.image.regs) - 1}")
        if not self.faults.sf_offset:
            return self.image.regs[offset:offset + count]
        return self._sf_faulty()[offset:offset + count]

    def _sf_faulty(self) -> list[int]:
        """The registers with the scale-factor fault applied."""
        regs = list(self.image.regs)
        for p in self._sf_points:
            sf = self.image.get_raw(p)
            if sf is not None:
                regs[p.address - self.map.base] = (sf + self.faults.sf_offset) & 0xFFFF
        return regs


class _MarkedImage(RegisterImage):
    """A copy of an image that marks the registers stored into it (:attr:`written`)."""

    def __init__(self, image: RegisterImage):
        self.map, self.regs = image.map, list(image.regs)
        self.written = [False] * len(self.regs)

    def set_raw(self, point: PointDef, raw: float | str | None) -> None:
        super().set_raw(point, raw)
        offset = point.address - self.map.base
        self.written[offset:offset + point.size] = [True] * point.size


def _check_point(device_id: str, staged: RegisterImage, point: PointDef, symbols: set[int],
                 bounds: tuple[float, float] | None) -> None:
    """Raise :class:`Refused` when the staged value of ``point`` is not one of ``symbols`` (when
    it has any) or is outside ``bounds``."""
    raw = staged.get_raw(point)
    if raw is None:
        return
    if symbols and raw not in symbols:
        raise Refused(ILLEGAL_VALUE, f"{device_id}: {point.name}={raw} is not one of {point.symbols}")
    if bounds is not None:
        lo, hi = bounds
        value = staged.get(point)
        if not lo <= value <= hi:
            raise Refused(ILLEGAL_VALUE, f"{device_id}: {point.name}={value} is outside [{lo}, {hi}]")


def fit_sf_all(max_abs: float, points: list[PointDef], digits: int) -> list[int]:
    """Per point, the smallest exponent that fits ``max_abs`` (at most ``digits`` decimals)."""
    return [fit_sf(max_abs, p, digits) for p in points] or [-digits]
