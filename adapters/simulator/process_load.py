"""Simulated deferrable process load: model 1 and the gridctl map 64903 (``adapters/maps``).

``Run`` = RUN starts the process: its power ramps linearly from 0 to the target over ``RmpTms``
seconds, then follows the target: ``WSet`` while ``WSetEna`` is enabled (0 or within
[``WMinRtg``, ``WMaxRtg``]), else ``WMaxRtg``. ``Run`` = STOP stops it at once. While the
interlock is active (``interlocked``, set at run time) a start is refused with Modbus exception
4 (server device failure); a running process keeps running. The ``alarm`` fault trips it: it
stops, shows FAULT with the TRIP alarm and refuses starts until ``Rst`` = 1 is written.
``Starts`` counts starts, ``StTms`` the seconds since the last start or stop, ``TotWh`` energy.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from adapters.simulator.clock import SimClock
from adapters.simulator.device import ILLEGAL_VALUE, Refused, SimulatedDevice
from adapters.simulator.faults import Faults
from adapters.sunspec import RegisterImage

MODEL = 64903
DEVICE_FAILURE = 4  # Modbus exception of a refused start
STOP, RUN = 0, 1
OFF, RUNNING, RAMPING, INTERLOCKED, FAULT = 0, 1, 2, 3, 4
ALARM_INTERLOCK, ALARM_TRIP = 1, 2


@dataclass(frozen=True)
class ProcessLoadParams:
    id: str
    unit_id: int
    p_min_kw: float
    p_max_kw: float
    ramp_s: float = 60.0  # from a start to the target power


class SimProcessLoad(SimulatedDevice):
    models = (1, MODEL)
    model_name = "process load"
    controls = ((MODEL, "WSet"),)
    pure_telemetry = True
    extra_writable = ((MODEL, "Run"), (MODEL, "Rst"))

    def __init__(self, params: ProcessLoadParams, clock: SimClock, faults: Faults | None = None):
        self.params = params
        self.interlocked = False
        self.running = False
        self.starts = 0
        self.since_s = 0.0  # seconds since the last start or stop
        self.wh_consumed = 0.0
        super().__init__(params.id, params.unit_id, clock, faults)

    def configure(self) -> None:
        w_min, w_max = self.params.p_min_kw * 1000, self.params.p_max_kw * 1000
        self.set_sf(MODEL, "W_SF", w_max)
        raws = {"WSet_SF": 0, "RmpTms": round(self.params.ramp_s), "Run": STOP, "Rst": 0, "WSetEna": 0, "WSet": 0,
                "WSetRvrt": 0, "WSetEnaRvrt": 0, "WSetRvrtTms": 0}
        for name, raw in raws.items():
            self.set_raw(MODEL, name, raw)
        self.set(MODEL, "WMinRtg", w_min)
        self.set(MODEL, "WMaxRtg", w_max)
        self.limit(MODEL, "WSet", 0, w_max)
        self.limit(MODEL, "WSetRvrt", 0, w_max)

    @property
    def tripped(self) -> bool:
        return self.faults.alarm

    def check_write(self, staged: RegisterImage) -> None:
        w_min = self.params.p_min_kw * 1000
        low = {n: w for n in ("WSet", "WSetRvrt") if 0 < (w := staged.get(self.pt(MODEL, n)) or 0.0) < w_min}
        if low:
            raise Refused(ILLEGAL_VALUE, f"{self.id}: {low} W below the running minimum {w_min} W")
        if staged.get_raw(self.pt(MODEL, "Run")) == RUN and not self.running:
            if self.tripped:
                raise Refused(DEVICE_FAILURE, f"{self.id}: start refused, tripped (write Rst = 1 to reset)")
            if self.interlocked:
                raise Refused(DEVICE_FAILURE, f"{self.id}: start refused, interlock active")

    def applied(self, names: set[str]) -> None:
        if "Rst" in names and self.image.get_raw(self.pt(MODEL, "Rst")) == 1:
            self.faults.alarm = False
            self.set_raw(MODEL, "Rst", 0)
        run = self.image.get_raw(self.pt(MODEL, "Run")) == RUN
        if run != self.running:
            self.running, self.since_s = run, 0.0
            self.starts += int(run)

    def target_kw(self) -> float:
        """Power the process settles at while running (kW)."""
        w = self.control_value(MODEL, "WSet")
        return self.params.p_max_kw if w is None else w / 1000

    @property
    def p_kw(self) -> float:
        if not self.running or self.tripped:
            return 0.0
        share = min(self.since_s / self.params.ramp_s, 1.0) if self.params.ramp_s > 0 else 1.0
        return self.target_kw() * share

    def step(self, t0: pd.Timestamp, dt_s: float) -> None:
        if self.running and self.tripped:
            self.running, self.since_s = False, 0.0
            self.set_raw(MODEL, "Run", STOP)
        ramp_left = max(self.params.ramp_s - self.since_s, 0.0) if self.running else 0.0
        ramp = min(ramp_left, dt_s)
        start_kw = self.p_kw
        self.since_s += dt_s
        mean_ramp_kw = (start_kw + self.p_kw) / 2 if ramp else 0.0  # linear within the ramp
        self.wh_consumed += (mean_ramp_kw * ramp + self.p_kw * (dt_s - ramp)) / 3.6

    def publish_telemetry(self) -> None:
        p_kw = self.p_kw
        ramping = self.running and self.since_s < self.params.ramp_s
        state = FAULT if self.tripped else RAMPING if ramping else RUNNING if self.running else (
            INTERLOCKED if self.interlocked else OFF)
        self.set_raw(MODEL, "St", state)
        self.set_raw(MODEL, "Alrm", ALARM_INTERLOCK * self.interlocked + ALARM_TRIP * self.tripped)
        self.set_raw(MODEL, "Ilk", int(self.interlocked))
        self.set(MODEL, "W", p_kw * 1000)
        self.set_raw(MODEL, "Starts", self.starts & 0xFFFF_FFFF)
        self.set_raw(MODEL, "StTms", int(self.since_s))
        self.set_raw(MODEL, "TotWh", int(self.wh_consumed) & 0xFFFF_FFFF)
