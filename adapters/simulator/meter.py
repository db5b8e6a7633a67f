"""Simulated meter at the grid connection (SunSpec models 1 and 203).

``W`` is the sum of the other simulated devices' powers plus an optional inflexible base load,
load-referenced: positive = the district draws from the upstream grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from adapters.simulator.clock import SimClock
from adapters.simulator.device import SimulatedDevice
from adapters.simulator.faults import Faults
from adapters.simulator.pv import StepProfile


@dataclass(frozen=True)
class MeterParams:
    id: str
    unit_id: int
    p_max_kw: float  # largest |power| the meter must show
    base_load_kw: pd.Series | None = None  # inflexible demand behind the meter, UTC interval starts


class SimMeter(SimulatedDevice):
    models = (1, 203)
    model_name = "grid meter"

    def __init__(self, params: MeterParams, clock: SimClock, devices: Sequence[SimulatedDevice],
                 faults: Faults | None = None):
        self.params = params
        self.metered = list(devices)
        self.wh_imported = self.wh_exported = 0.0
        self.base_load = None if params.base_load_kw is None else StepProfile(params.base_load_kw)
        super().__init__(params.id, params.unit_id, clock, faults)

    def configure(self) -> None:
        self.set_sf(203, "W_SF", self.params.p_max_kw * 1000)
        self.set_raw(203, "TotWh_SF", 0)
        self.set_raw(203, "Hz_SF", -2)
        self.set(203, "Hz", 50.0)

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

    def publish_telemetry(self) -> None:
        w = self.p_kw * 1000
        self.set(203, "W", w)
        for phase in ("WphA", "WphB", "WphC"):
            self.set(203, phase, w / 3)
        self.set_raw(203, "TotWhImp", int(self.wh_imported) & 0xFFFF_FFFF)
        self.set_raw(203, "TotWhExp", int(self.wh_exported) & 0xFFFF_FFFF)
