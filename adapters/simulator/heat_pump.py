"""Simulated heat pump with a heat store: model 1 and the gridctl map 64902 (``adapters/maps``).

The store temperature integrates heat in (COP x electrical power) minus heat demand minus
standing losses; ``TotWh`` counts the electrical energy consumed. Outside the comfort band the
pump overrides any command (full power below ``temp_min_c``, off above ``temp_max_c``). Otherwise it runs at ``WSet`` while ``WSetEna`` is
enabled, else per its SG-Ready state: 1 blocked, 2 thermostat, 3 thermostat 2 K higher,
4 forced on.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd

from adapters.simulator.clock import SimClock
from adapters.simulator.device import SimulatedDevice
from adapters.simulator.faults import Faults
from adapters.simulator.pv import StepProfile

MODEL = 64902
MAX_STEP_S = 60.0  # integration step of the thermal model
HYSTERESIS_K = 1.0
SG_BLOCKED, SG_NORMAL, SG_RECOMMENDED, SG_FORCED = 1, 2, 3, 4


@dataclass(frozen=True)
class HeatPumpParams:
    id: str
    unit_id: int
    p_max_kw: float
    cop: float | pd.Series = 3.0  # constant, or per interval (UTC interval starts)
    capacity_kwh_per_k: float = 2.0
    temp_min_c: float = 40.0
    temp_max_c: float = 55.0
    temp_initial_c: float = 47.5
    loss_kw_per_k: float = 0.005
    ambient_c: float = 15.0
    heat_demand_kw: pd.Series | None = None  # thermal kW drawn from the store, UTC interval starts


@functools.lru_cache(maxsize=1024)
def _ns(seconds: float) -> int:
    """``seconds`` as pandas adds them to a timestamp, in nanoseconds (the same offsets recur every step)."""
    return pd.Timedelta(seconds=seconds).value


class SimHeatPump(SimulatedDevice):
    models = (1, MODEL)
    model_name = "heat pump"
    controls = ((MODEL, "WSet"),)
    extra_writable = ((MODEL, "SGReady"),)

    def __init__(self, params: HeatPumpParams, clock: SimClock, faults: Faults | None = None):
        self.params = params
        self.temp_c = params.temp_initial_c
        self._on = False
        self.wh_consumed = 0.0  # electrical energy counter, Wh
        self.demand = None if params.heat_demand_kw is None else StepProfile(params.heat_demand_kw)
        self.cop = StepProfile(params.cop, default=1.0) if isinstance(params.cop, pd.Series) else None
        super().__init__(params.id, params.unit_id, clock, faults)

    def configure(self) -> None:
        p = self.params
        w_max = p.p_max_kw * 1000
        self.set_sf(MODEL, "W_SF", w_max)
        self.set_raw(MODEL, "WSet_SF", 0)
        self.set_raw(MODEL, "Tmp_SF", -1)
        self.set(MODEL, "WMaxRtg", w_max)
        self.set(MODEL, "TmpMin", p.temp_min_c)
        self.set(MODEL, "TmpMax", p.temp_max_c)
        self.set_raw(MODEL, "Alrm", 0)
        for name, raw in (("SGReady", SG_NORMAL), ("WSetEna", 0), ("WSet", 0), ("WSetRvrt", 0),
                          ("WSetEnaRvrt", 0), ("WSetRvrtTms", 0)):
            self.set_raw(MODEL, name, raw)
        for name in ("WSet", "WSetRvrt"):
            self.limit(MODEL, name, 0, w_max)

    def _thermostat(self, target_c: float) -> bool:
        if self.temp_c < target_c - HYSTERESIS_K:
            self._on = True
        elif self.temp_c > target_c + HYSTERESIS_K:
            self._on = False
        return self._on

    @property
    def p_kw(self) -> float:
        return self._power_kw(self.control_value(MODEL, "WSet"), self.image.get_raw(self.pt(MODEL, "SGReady")))

    def _power_kw(self, w_set: float | None, sg: int | None) -> float:
        """Electrical power (kW) at the present store temperature under the command ``w_set`` (W,
        None: not enabled) and the SG-Ready state ``sg``."""
        p = self.params
        if self.temp_c >= p.temp_max_c:
            return 0.0
        if self.temp_c <= p.temp_min_c:
            return p.p_max_kw
        if w_set is not None:
            return w_set / 1000
        mid = (p.temp_min_c + p.temp_max_c) / 2
        if sg == SG_BLOCKED:
            return 0.0
        if sg == SG_FORCED:
            return p.p_max_kw
        target = mid + (2.0 if sg == SG_RECOMMENDED else 0.0)
        return p.p_max_kw if self._thermostat(target) else 0.0

    def step(self, t0: pd.Timestamp, dt_s: float) -> None:
        p, done, t0_ns, demand_kw, cop_profile = self.params, 0.0, t0.value, self.demand, self.cop
        w_set, sg = self.control_value(MODEL, "WSet"), self.image.get_raw(self.pt(MODEL, "SGReady"))  # no write within a step
        while done < dt_s:
            h = min(MAX_STEP_S, dt_s - done)
            t_ns = t0_ns + _ns(done)
            demand = 0.0 if demand_kw is None else demand_kw.at_ns(t_ns)
            cop = p.cop if cop_profile is None else cop_profile.at_ns(t_ns)
            p_kw = self._power_kw(w_set, sg)
            self.wh_consumed += p_kw * h / 3.6
            heat = cop * p_kw - demand - p.loss_kw_per_k * (self.temp_c - p.ambient_c)
            self.temp_c += heat * h / 3600 / p.capacity_kwh_per_k
            done += h

    def publish_telemetry(self) -> None:
        p_kw = self.p_kw
        blocked = self.image.get_raw(self.pt(MODEL, "SGReady")) == SG_BLOCKED
        self.set_raw(MODEL, "St", 1 if p_kw > 0 else 2 if blocked else 0)
        self.set(MODEL, "W", p_kw * 1000)
        self.set(MODEL, "TmpSto", self.temp_c)
        self.set_raw(MODEL, "TotWh", int(self.wh_consumed) & 0xFFFF_FFFF)
