"""Simulated PV inverter: SunSpec models 1, 701, 702, 704.

Output follows the available-power profile, capped by 702 ``WMax`` and by model 704
``WMaxLimPct`` (% of ``WMax``) while ``WMaxLimPctEna`` is enabled: curtailment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from adapters.simulator.clock import SimClock
from adapters.simulator.der import INV_RUNNING, INV_SLEEPING, INV_THROTTLED, SimDer
from adapters.simulator.faults import Faults


@dataclass(frozen=True)
class PvParams:
    """A PV plant: rating and available power (kW, generator-referenced, UTC interval starts)."""

    id: str
    unit_id: int
    p_rated_kw: float
    profile: pd.Series


class StepProfile:
    """A profile's values held from each label (UTC interval start) until the next, looked up fast."""

    def __init__(self, profile: pd.Series, default: float = 0.0):
        if not profile.index.is_monotonic_increasing:
            raise ValueError("profile index must be sorted")
        self._ns = profile.index.as_unit("ns").asi8  # as Timestamp.value, whatever unit the index holds
        self._values = profile.to_numpy(dtype=float)
        self.default = default
        self._held = (0, -1, default)  # [from_ns, until_ns) and the value held there, as last looked up

    def at(self, t: pd.Timestamp) -> float:
        """The value for the interval containing ``t`` (``default`` before the first label)."""
        return self.at_ns(t.value)

    def at_ns(self, t_ns: int) -> float:
        """:meth:`at` of a time given in nanoseconds since the epoch (UTC); successive times mostly
        fall in the interval looked up last, which is kept."""
        lo, hi, value = self._held
        if lo <= t_ns < hi:
            return value
        i = int(np.searchsorted(self._ns, t_ns, side="right")) - 1
        value = self.default if i < 0 else float(self._values[i])
        ns = self._ns
        self._held = (int(ns[i]) if i >= 0 else -(2**63), int(ns[i + 1]) if i + 1 < len(ns) else 2**63, value)
        return value


class SimPv(SimDer):
    models = (1, 701, 702, 704)
    model_name = "pv inverter"
    controls = ((704, "WMaxLimPct"),)
    pure_telemetry = True
    extra_writable = ((702, "WMax"),)

    def __init__(self, params: PvParams, clock: SimClock, faults: Faults | None = None):
        if not params.profile.index.is_monotonic_increasing:
            raise ValueError(f"PV {params.id!r}: profile index must be sorted")
        self.params = params
        self.profile = StepProfile(params.profile)
        self.wh_injected = 0.0
        super().__init__(params.id, params.unit_id, clock, faults)

    def configure(self) -> None:
        w_max = self.params.p_rated_kw * 1000
        self.configure_ac(w_max)
        self.set_raw(704, "WMaxLimPct_SF", -1)
        for name, raw in (("WMaxLimPctEna", 0), ("WMaxLimPct", 1000), ("WMaxLimPctRvrt", 1000),
                          ("WMaxLimPctEnaRvrt", 0), ("WMaxLimPctRvrtTms", 0)):
            self.set_raw(704, name, raw)
        for name in ("WMaxLimPct", "WMaxLimPctRvrt"):
            self.limit(704, name, 0, 100)

    def available_kw(self, t: pd.Timestamp) -> float:
        return min(max(self.profile.at(t), 0.0), self.params.p_rated_kw)

    def cap_kw(self) -> float:
        w_max_kw = self.w_max_w / 1000
        pct = self.control_value(704, "WMaxLimPct")
        return w_max_kw if pct is None else pct / 100 * w_max_kw

    def output_kw(self, t: pd.Timestamp) -> float:
        return 0.0 if self.tripped else min(self.available_kw(t), self.cap_kw())

    @property
    def p_kw(self) -> float:
        return -self.output_kw(self._t)

    def step(self, t0: pd.Timestamp, dt_s: float) -> None:
        self.wh_injected += self.output_kw(t0) * dt_s / 3.6

    def publish_telemetry(self) -> None:
        available, out = self.available_kw(self._t), self.output_kw(self._t)
        state = INV_SLEEPING if available <= 0 else INV_THROTTLED if out < available else INV_RUNNING
        self.publish_ac(out * 1000, state, self.wh_injected, 0.0)
