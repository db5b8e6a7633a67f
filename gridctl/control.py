"""Control layer: clamp, write, read back; device health with retry, backoff and events.

Devices are reached through the narrow :class:`Device` interface (telemetry in, setpoint out
with a read-back); ``gridctl.devices`` binds it to the Modbus/SunSpec drivers. Every setpoint
is clamped to the device's rating, its state-of-charge window and the ramp limit before it is
written, and every write re-arms the device's revert timer (watchdog): if the daemon stops
writing, the device falls back to its safe state by itself.

A failed access counts against the device; after ``offline_after`` consecutive failures it is
marked offline (alarm event) and the ``on_change`` callback runs (the daemon re-plans without
it). An offline device is retried with exponential backoff; the first successful access marks
it online again (event, re-plan with it). One device's failure never stops the others.

Setpoint records are write-ahead: the intent (device, source, requested and clamped value) is
journaled before the write, the result (read-back, error) right after it, device by device, so a
slow device never holds back another device's record and a crash leaves a record of every value
that may have reached a device. :meth:`Controller.safe_stop` hands every device its safe state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from gridctl.dispatch.inputs import ChargerReport
from gridctl.store.recorder import Recorder
from gridctl.store.repository import IN_FLIGHT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Telemetry:
    """Measured state of one device (load-referenced ``p_kw``; ``soc_kwh`` for storage; ``ev`` for
    a charger, what it reports of the vehicle connected; ``temp_c`` for a heat pump, its store
    temperature; ``process`` for a process load, its counters)."""

    p_kw: float
    soc_kwh: float | None = None
    ev: ChargerReport | None = None
    temp_c: float | None = None
    process: tuple[bool, float, float, int] | None = None  # process load: running, s in state, kWh counter, starts


NO_CURTAILMENT = 1e-3  # planned curtailment below this share of the rating leaves a PV plant uncapped


def pv_cap_kw(rated_kw: float, available_kw: float, curtailed_kw: float) -> float:
    """Output cap (kW) that curtails a PV plant producing ``available_kw`` by ``curtailed_kw``;
    its rating (no cap) when the plan curtails less than ``NO_CURTAILMENT`` of it."""
    return rated_kw if curtailed_kw <= NO_CURTAILMENT * rated_kw else max(available_kw - curtailed_kw, 0.0)


def charger_report(extra: dict) -> ChargerReport | None:
    """A charger's report from its driver's extra telemetry (``connected``, ``session_kwh``,
    ``request_kwh``, ``departure_s``; 0 request or departure: not announced); None for other devices."""
    if "connected" not in extra:
        return None
    if extra["connected"] != 1:
        return ChargerReport(False)
    departure_s = extra.get("departure_s") or 0.0
    return ChargerReport(True, extra.get("session_kwh") or 0.0, extra.get("request_kwh") or None,
                         departure_s / 3600.0 if departure_s > 0 else None)


class Device(Protocol):
    """What the control layer needs from a device driver (``endpoint``, optional: the connection it
    shares with other devices; devices without one share a single connection)."""

    id: str

    async def read(self) -> Telemetry:
        """Read telemetry; raise on any communication failure."""

    async def write(self, p_kw: float, revert_s: float) -> float:
        """Write a load-referenced power setpoint with a revert timer; return the read-back setpoint."""

    async def release(self) -> None:
        """Give the device back to its own control (no setpoint, no cap)."""

    async def close(self) -> None:
        """Release the connection."""


@dataclass(frozen=True)
class Rating:
    """Limits of one controllable asset (load-referenced kW; SoC window in kWh for storage)."""

    p_min_kw: float
    p_max_kw: float
    soc_min_kwh: float | None = None
    soc_max_kwh: float | None = None
    safe_kw: float | None = 0.0  # setpoint when no plan applies; None: leave the device to its own control

    def check(self, asset_id: str, p_kw: float) -> str | None:
        """Why ``p_kw`` is outside the rating, or None."""
        if not self.p_min_kw <= p_kw <= self.p_max_kw:
            return (f"{asset_id}: {p_kw} kW is outside the device rating "
                    f"[{self.p_min_kw}, {self.p_max_kw}] kW (load-referenced: + charges/consumes)")
        return None


def clamp(p_kw: float, rating: Rating, soc_kwh: float | None = None, last_kw: float | None = None,
          max_step_kw: float | None = None) -> float:
    """Safe setpoint: within the rating, no discharge below / charge above the SoC window, and at
    most ``max_step_kw`` away from the last written setpoint."""
    return clamps(p_kw, rating, soc_kwh, last_kw, max_step_kw)[0]


def clamps(p_kw: float, rating: Rating, soc_kwh: float | None = None, last_kw: float | None = None,
           max_step_kw: float | None = None) -> tuple[float, list[str]]:
    """:func:`clamp` and the limits that changed the value (``rating``, ``soc``, ``ramp``)."""
    applied = []
    p = min(max(float(p_kw), rating.p_min_kw), rating.p_max_kw)
    if p != p_kw:
        applied.append("rating")
    q = p
    if soc_kwh is not None and rating.soc_min_kwh is not None and soc_kwh <= rating.soc_min_kwh:
        q = max(q, 0.0)
    if soc_kwh is not None and rating.soc_max_kwh is not None and soc_kwh >= rating.soc_max_kwh:
        q = min(q, 0.0)
    if q != p:
        applied.append("soc")
    r = q
    if last_kw is not None and max_step_kw is not None:
        r = min(max(q, last_kw - max_step_kw), last_kw + max_step_kw)
    if r != q:
        applied.append("ramp")
    return r, applied


@dataclass
class DeviceState:
    """What the controller knows about one device."""

    online: bool = True
    failures: int = 0
    retry_at: pd.Timestamp | None = None
    telemetry: Telemetry | None = None
    telemetry_at: pd.Timestamp | None = None
    last_kw: float | None = None
    last_write_at: pd.Timestamp | None = None
    last_error: str | None = None
    errors_total: int = 0

    def as_dict(self) -> dict:
        t = self.telemetry
        return {"online": self.online, "failures": self.failures, "errors_total": self.errors_total,
                "p_kw": t.p_kw if t else None, "soc_kwh": t.soc_kwh if t else None,
                "telemetry_at": self.telemetry_at.isoformat() if self.telemetry_at is not None else None,
                "last_setpoint_kw": self.last_kw,
                "last_write_at": self.last_write_at.isoformat() if self.last_write_at is not None else None,
                "retry_at": self.retry_at.isoformat() if self.retry_at is not None else None,
                "last_error": self.last_error}


@dataclass
class ControlSettings:
    """Timing and safety settings (seconds of the daemon clock)."""

    io_timeout_s: float = 10.0  # real seconds; drivers bound their own retries below this
    revert_s: float = 1800.0
    retry_base_s: float = 5.0
    retry_max_s: float = 300.0
    offline_after: int = 3
    ramp_pct_per_s: float = 10.0


@dataclass
class WriteResult:
    asset_id: str
    requested_kw: float
    written_kw: float | None
    readback_kw: float | None
    ok: bool
    error: str | None = None
    clamps: tuple[str, ...] = ()


class Controller:
    """Reads and writes every device; keeps health state; records setpoints and events."""

    def __init__(self, devices: Mapping[str, Device], ratings: Mapping[str, Rating], records: Recorder,
                 now: Callable[[], pd.Timestamp], settings: ControlSettings | None = None,
                 on_change: Callable[[set[str]], None] | None = None):
        missing = sorted(set(devices) - set(ratings))
        if missing:
            raise ValueError(f"devices {missing} have no rating; every device needs a configured asset")
        self.devices = dict(devices)
        self.ratings = dict(ratings)
        self.records = records
        self.now = now
        self.settings = settings or ControlSettings()
        self.on_change = on_change
        self.state = {k: DeviceState() for k in self.devices}
        self._locks: dict[object, asyncio.Lock] = {}  # one device access at a time per connection (see _order)

    @property
    def offline(self) -> set[str]:
        return {k for k, s in self.state.items() if not s.online}

    def latest(self, name: str) -> dict[str, object]:
        """Latest value of the :class:`Telemetry` field ``name`` of every device that has reported one."""
        return {k: getattr(s.telemetry, name) for k, s in self.state.items()
                if s.telemetry is not None and getattr(s.telemetry, name) is not None}

    def _order(self, ids) -> list[str]:
        """Online devices first: a silent device (which costs a time-out) never delays the others
        behind the same connection.

        Accesses through one connection are sequential because a Modbus connection serves one
        request at a time; a request queued behind a silent unit would time out as well."""
        return sorted(ids, key=lambda k: not self.state[k].online)

    def _endpoint(self, asset_id: str) -> object:
        return getattr(self.devices[asset_id], "endpoint", None)

    def _by_endpoint(self, ids) -> list[list[str]]:
        """``ids`` grouped by connection, each group in :meth:`_order`: groups run concurrently, so
        a slow or dead gateway never delays devices behind other gateways."""
        groups: dict[object, list[str]] = {}
        for k in self._order(ids):
            groups.setdefault(self._endpoint(k), []).append(k)
        return list(groups.values())

    def _lock(self, asset_id: str) -> asyncio.Lock:
        return self._locks.setdefault(self._endpoint(asset_id), asyncio.Lock())

    def _due(self, asset_id: str) -> bool:
        st = self.state[asset_id]
        return st.online or st.retry_at is None or self.now() >= st.retry_at

    async def _call(self, asset_id: str, coro) -> object:
        """Run one device access with a timeout; update health; never raise."""
        st = self.state[asset_id]
        try:
            async with self._lock(asset_id):
                result = await asyncio.wait_for(coro, self.settings.io_timeout_s)
        except Exception as exc:  # noqa: BLE001 - any failure of one device is contained here
            self._failed(asset_id, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
            return None
        if not st.online:
            st.online = True
            self._event("info", "device_online", f"{asset_id}: answering again after {st.failures} failures",
                        asset_id)
            self._changed()
        st.failures, st.retry_at, st.last_error = 0, None, None
        return result

    def _failed(self, asset_id: str, error: str) -> None:
        st = self.state[asset_id]
        s = self.settings
        st.failures += 1
        st.errors_total += 1
        st.last_error = error
        delay = min(s.retry_base_s * 2 ** (st.failures - 1), s.retry_max_s)
        st.retry_at = self.now() + pd.Timedelta(seconds=delay)
        log.warning("device %s failed (%d in a row): %s; next try in %.0f s", asset_id, st.failures, error, delay)
        if st.online and st.failures >= s.offline_after:
            st.online = False
            self._event("alarm", "device_offline",
                        f"{asset_id}: offline after {st.failures} failed accesses ({error}); "
                        f"retrying with backoff, re-planning without it", asset_id)
            self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self.offline)

    def _event(self, severity: str, kind: str, message: str, asset_id: str | None = None) -> None:
        log.log(logging.WARNING if severity != "info" else logging.INFO, "%s: %s", kind, message)
        self.records.add_event(self.now().to_pydatetime(), severity, kind, message, asset_id)

    async def poll(self) -> dict[str, Telemetry]:
        """Read every device that is due; return the telemetry that arrived."""
        out = {}

        async def read(ids: list[str]) -> None:
            for k in ids:
                if not self._due(k):
                    continue
                tel = await self._call(k, self.devices[k].read())
                if tel is not None:
                    self.state[k].telemetry, self.state[k].telemetry_at = tel, self.now()
                    out[k] = tel

        await asyncio.gather(*(read(ids) for ids in self._by_endpoint(self.devices)))
        return {k: out[k] for k in self.devices if k in out}

    async def apply(self, interval_start: pd.Timestamp,
                    targets: Mapping[str, tuple[float | None, str]]) -> list[WriteResult]:
        """Clamp and write ``targets[asset_id] = (p_kw, source)`` (None: no write) and read back, each
        device's intent recorded before its write and its result right after; devices behind
        different connections are written concurrently."""
        groups = self._by_endpoint(k for k, (p, _) in targets.items() if k in self.devices and p is not None)

        async def write(ids: list[str]) -> list[WriteResult]:
            return [await self._write_one(k, *targets[k], interval_start) for k in ids]

        return [r for rs in await asyncio.gather(*(write(ids) for ids in groups)) for r in rs]

    def max_step_kw(self, asset_id: str) -> float | None:
        st = self.state[asset_id]
        if st.last_write_at is None:
            return None
        elapsed = (self.now() - st.last_write_at).total_seconds()
        r = self.ratings[asset_id]
        return self.settings.ramp_pct_per_s / 100 * max(abs(r.p_min_kw), abs(r.p_max_kw)) * elapsed

    async def _write_one(self, asset_id: str, p_kw: float, source: str, interval_start: pd.Timestamp,
                         ramp: bool = True) -> WriteResult:
        st = self.state[asset_id]
        at = self.now().to_pydatetime()
        if not self._due(asset_id):
            error = f"offline, next try {st.retry_at.isoformat()}"
            self.records.add_setpoint(at, interval_start.to_pydatetime(), asset_id, source, p_kw, None, None, False,
                                      error)
            return WriteResult(asset_id, p_kw, None, None, False, error)
        soc = st.telemetry.soc_kwh if st.telemetry else None
        safe, applied = clamps(p_kw, self.ratings[asset_id], soc, st.last_kw,
                               self.max_step_kw(asset_id) if ramp else None)
        self.records.add_setpoint(at, interval_start.to_pydatetime(), asset_id, source, p_kw, safe, None, False,
                                  IN_FLIGHT)  # intent, before the write
        result = await self._written(asset_id, p_kw, safe, tuple(applied))
        self.records.finish_setpoint(at, asset_id, result.readback_kw, result.ok, result.error)
        return result

    async def _written(self, asset_id: str, p_kw: float, safe: float, applied: tuple[str, ...]) -> WriteResult:
        st = self.state[asset_id]
        readback = await self._call(asset_id, self.devices[asset_id].write(safe, self.settings.revert_s))
        if readback is None:
            return WriteResult(asset_id, p_kw, safe, None, False, st.last_error, applied)
        st.last_kw, st.last_write_at = safe, self.now()
        r = self.ratings[asset_id]
        ok = abs(float(readback) - safe) <= max(0.01 * max(abs(r.p_min_kw), abs(r.p_max_kw)), 0.5)
        if not ok:
            st.errors_total += 1
            self._event("warning", "readback_mismatch", f"{asset_id}: wrote {safe:.1f} kW, read back {readback:.1f} kW",
                        asset_id)
        return WriteResult(asset_id, p_kw, safe, float(readback), ok, None if ok else "read-back differs", applied)

    async def safe_stop(self, interval_start: pd.Timestamp) -> dict[str, bool]:
        """Every answering device to its safe state: storage to its safe setpoint at once (no ramp),
        PV, EV chargers and heat pumps to their own control (no cap). Returns success per device."""
        out = {}
        for k in self._order(self.devices):
            if not self.state[k].online:
                out[k] = False
                continue
            r = self.ratings[k]
            if r.p_min_kw < 0 and r.safe_kw is not None:
                out[k] = (await self._write_one(k, r.safe_kw, "stop", interval_start, ramp=False)).ok
            else:
                out[k] = await self._call(k, self._release(k)) is not None
        return out

    async def _release(self, asset_id: str) -> bool:
        await self.devices[asset_id].release()
        return True

    async def close(self) -> None:
        """Wait for the device access in flight, then close every connection."""
        for lock in list(self._locks.values()):
            await lock.acquire()
        try:
            await asyncio.gather(*(d.close() for d in self.devices.values()), return_exceptions=True)
        finally:
            for lock in self._locks.values():
                lock.release()
