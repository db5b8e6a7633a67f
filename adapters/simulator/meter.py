"""Simulated three-phase meter at the grid connection (SunSpec models 1 and 203).

``W`` is the sum of the other simulated devices' powers plus an optional inflexible base load,
load-referenced: positive = the district draws from the upstream grid. The phases are
balanced: per-phase powers are ``W`` split into whole register steps that add up to ``W``
exactly; voltages follow the bus voltage ``v_pu`` x ``v_nom_kv`` (set by whoever runs the grid
model); currents are apparent power over phase voltage at power factor ``pf``. The energy
counters (``TotWhImp``, ``TotWhExp``) start at one register step, never read 0 (SunSpec's "not
implemented") and, with ``TotWh_SF`` chosen for the rating, cannot wrap within ten years.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from adapters.simulator.clock import SimClock
from adapters.simulator.device import SimulatedDevice
from adapters.simulator.faults import Faults
from adapters.simulator.pv import StepProfile
from adapters.sunspec import fit_sf
from adapters.sunspec.image import raw_range

V_RANGE_PU = (0.8, 1.2)  # voltages and currents fit registers over this band of the nominal voltage
COUNTER_YEARS = 10
PHASES = ("A", "B", "C")


@dataclass(frozen=True)
class MeterParams:
    """A meter: largest |power| it must show, nominal line-to-line voltage, power factor."""

    id: str
    unit_id: int
    p_max_kw: float  # largest |power| the meter must show (beyond it, readings saturate)
    base_load_kw: pd.Series | None = None  # inflexible demand behind the meter, UTC interval starts
    v_nom_kv: float = 0.4  # nominal line-to-line voltage of the bus it measures
    v_pu: float = 1.0  # initial bus voltage, per unit of v_nom_kv
    pf: float = 0.98  # displacement power factor of the metered flow (inductive)
    hz: float = 50.0


def split_phases(raw: int) -> list[int]:
    """Three whole register steps that add up to ``raw`` exactly (balanced phases)."""
    q, r = divmod(raw, 3)
    return [q + (i < r) for i in range(3)]


class SimMeter(SimulatedDevice):
    models = (1, 203)
    model_name = "grid meter"

    def __init__(self, params: MeterParams, clock: SimClock, devices: Sequence[SimulatedDevice],
                 faults: Faults | None = None):
        if not 0 < params.pf <= 1:
            raise ValueError(f"meter {params.id!r}: power factor {params.pf} is outside (0, 1]")
        self.params = params
        self.metered = list(devices)
        self.v_pu = params.v_pu
        self.wh_imported = self.wh_exported = 0.0
        self.base_load = None if params.base_load_kw is None else StepProfile(params.base_load_kw)
        super().__init__(params.id, params.unit_id, clock, faults)

    def configure(self) -> None:
        p = self.params
        va_max = p.p_max_kw * 1000 / p.pf
        v_lo, v_hi = (pu * p.v_nom_kv * 1000 for pu in V_RANGE_PU)
        for sf, max_abs, digits in (("W_SF", p.p_max_kw * 1000, 0), ("VA_SF", va_max, 0), ("VAR_SF", va_max, 0),
                                    ("V_SF", v_hi, 1), ("A_SF", va_max / (v_lo / math.sqrt(3)), 1)):
            self.set_sf(203, sf, max_abs, digits)
        self.set_raw(203, "PF_SF", -1)
        self.set_raw(203, "Hz_SF", -2)
        self.set(203, "Hz", p.hz)
        self.set_raw(203, "Evt", 0)
        counter = self.pt(203, "TotWhImp")
        ten_years_wh = p.p_max_kw * 1000 * 24 * 365.25 * COUNTER_YEARS
        self.set_raw(203, "TotWh_SF", max(1, fit_sf(ten_years_wh, counter)))
        self.wh_imported = self.wh_exported = 10.0 ** self.image.sf(counter)  # one register step

    @property
    def p_kw(self) -> float:
        base = 0.0 if self.base_load is None else self.base_load.at(self._t)
        return base + sum(d.p_kw for d in self.metered)

    def step(self, t0: pd.Timestamp, dt_s: float) -> None:
        for device in self.metered:
            device.sync()
        wh = self.p_kw * dt_s / 3.6
        if wh > 0:
            self.wh_imported += wh
        else:
            self.wh_exported -= wh

    def _put(self, name: str, value: float, phases: bool = False) -> int:
        """Store ``value`` (saturated to the register's range) and, with ``phases``, its split into
        ``<name>phA``..``phC``; return the stored raw value."""
        point = self.pt(203, name)
        lo, hi = raw_range(point)
        raw = min(max(self.image.to_raw(point, value), lo), hi)
        self.image.set_raw(point, raw)
        if phases:
            for phase, part in zip(PHASES, split_phases(raw), strict=True):
                self.set_raw(203, f"{name}ph{phase}", part)
        return raw

    def publish_telemetry(self) -> None:
        p = self.params
        w = self.p_kw * 1000
        va = abs(w) / p.pf
        v_ll = self.v_pu * p.v_nom_kv * 1000
        v_ln = v_ll / math.sqrt(3)
        self._put("W", w, phases=True)
        self._put("VA", va, phases=True)
        self._put("VAR", math.sqrt(max(va * va - w * w, 0.0)), phases=True)
        for name in ("PF", "PFphA", "PFphB", "PFphC"):
            self._put(name, math.copysign(100 * p.pf, w))
        self._put("A", va / v_ln if v_ln > 0 else 0.0, phases=True)
        for name in ("PhV", "PhVphA", "PhVphB", "PhVphC"):
            self._put(name, v_ln)
        for name in ("PPV", "PhVphAB", "PhVphBC", "PhVphCA"):
            self._put(name, v_ll)
        for name, wh in (("TotWhImp", self.wh_imported), ("TotWhExp", self.wh_exported)):
            point = self.pt(203, name)
            self.image.set_raw(point, int(wh / 10.0 ** self.image.sf(point)))
