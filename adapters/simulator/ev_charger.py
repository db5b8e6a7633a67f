"""Simulated EV charging point: model 1 and the gridctl map 64901 (``adapters/maps``).

Vehicles arrive and depart per the session list and take energy until their request is met;
``TotWh`` counts the energy delivered over all sessions.
Without remote control a connected vehicle charges at the rated power; with ``WSetEna`` it
charges at ``WSet`` (load-referenced W), which must be 0 or between ``WMinRtg`` and ``WMaxRtg``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import pandas as pd

from adapters.simulator.clock import SimClock
from adapters.simulator.device import ILLEGAL_VALUE, Refused, SimulatedDevice
from adapters.simulator.faults import Faults
from adapters.sunspec import RegisterImage

MODEL = 64901


@dataclass(frozen=True)
class EvSessionSpec:
    """One vehicle: plugged in from ``arrive`` to ``depart`` (UTC), asking for ``energy_kwh``."""

    arrive: pd.Timestamp
    depart: pd.Timestamp
    energy_kwh: float


@dataclass(frozen=True)
class EvChargerParams:
    id: str
    unit_id: int
    p_max_kw: float
    p_min_kw: float = 0.0
    sessions: tuple[EvSessionSpec, ...] = ()


class SimEvCharger(SimulatedDevice):
    models = (1, MODEL)
    model_name = "ev charging point"
    controls = ((MODEL, "WSet"),)
    pure_telemetry = True

    def __init__(self, params: EvChargerParams, clock: SimClock, faults: Faults | None = None):
        self.params = params
        self.sessions = sorted(params.sessions, key=lambda s: s.arrive)
        self._arrive_ns = [s.arrive.value for s in self.sessions]
        self.delivered_kwh = [0.0] * len(self.sessions)
        self.wh_delivered = 0.0  # energy counter over all sessions, Wh
        super().__init__(params.id, params.unit_id, clock, faults)

    def configure(self) -> None:
        w_max = self.params.p_max_kw * 1000
        self.set_sf(MODEL, "W_SF", w_max)
        self.set_raw(MODEL, "WSet_SF", 0)
        self.set(MODEL, "WMinRtg", self.params.p_min_kw * 1000)
        self.set(MODEL, "WMaxRtg", w_max)
        self.set_raw(MODEL, "Alrm", 0)
        for name, raw in (("WSetEna", 0), ("WSet", 0), ("WSetRvrt", 0), ("WSetEnaRvrt", 0), ("WSetRvrtTms", 0)):
            self.set_raw(MODEL, name, raw)
        for name in ("WSet", "WSetRvrt"):
            self.limit(MODEL, name, 0, w_max)

    def check_write(self, staged: RegisterImage) -> None:
        w_min = self.params.p_min_kw * 1000
        for name in ("WSet", "WSetRvrt"):
            w = staged.get(self.pt(MODEL, name))
            if w is not None and 0 < w < w_min:
                raise Refused(ILLEGAL_VALUE, f"{self.id}: {name}={w} W is below the minimum {w_min} W")

    def session_at(self, t: pd.Timestamp) -> int | None:
        """Index of the session whose vehicle is plugged in at ``t`` (one vehicle at a time)."""
        i = bisect.bisect_right(self._arrive_ns, t.value) - 1
        return i if i >= 0 and t < self.sessions[i].depart else None

    def _power_kw(self, t: pd.Timestamp) -> float:
        i = self.session_at(t)
        if i is None or self.sessions[i].energy_kwh - self.delivered_kwh[i] <= 1e-9:
            return 0.0
        w = self.control_value(MODEL, "WSet")
        return self.params.p_max_kw if w is None else w / 1000

    @property
    def p_kw(self) -> float:
        return self._power_kw(self._t)

    def step(self, t0: pd.Timestamp, dt_s: float) -> None:
        end = t0 + pd.Timedelta(seconds=dt_s)
        first = max(bisect.bisect_right(self._arrive_ns, t0.value) - 1, 0)
        near = self.sessions[first:bisect.bisect_left(self._arrive_ns, end.value)]
        edges = sorted({t for s in near for t in (s.arrive, s.depart) if t0 < t < end} | {end})
        t = t0
        for edge in edges:  # power is constant between session edges
            i = self.session_at(t)
            if i is not None:
                h = (edge - t).total_seconds() / 3600
                need = self.sessions[i].energy_kwh - self.delivered_kwh[i]
                energy = min(self._power_kw(t) * h, max(need, 0.0))
                self.delivered_kwh[i] += energy
                self.wh_delivered += 1000 * energy
            t = edge

    def publish_telemetry(self) -> None:
        i = self.session_at(self._t)
        p = self.p_kw
        self.set_raw(MODEL, "Conn", int(i is not None))
        self.set(MODEL, "W", p * 1000)
        self.set_raw(MODEL, "TotWh", int(self.wh_delivered) & 0xFFFF_FFFF)
        if i is None:
            self.set_raw(MODEL, "St", 0)
            for name in ("SessWh", "SessReqWh", "DepRem"):
                self.set_raw(MODEL, name, 0)
            return
        s = self.sessions[i]
        self.set_raw(MODEL, "St", 1 if p > 0 else 2 if s.energy_kwh - self.delivered_kwh[i] <= 1e-9 else 0)
        self.set_raw(MODEL, "SessWh", round(self.delivered_kwh[i] * 1000))
        self.set_raw(MODEL, "SessReqWh", round(s.energy_kwh * 1000))
        self.set_raw(MODEL, "DepRem", round((s.depart - self._t).total_seconds()))
