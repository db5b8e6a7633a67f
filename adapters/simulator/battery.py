"""Simulated battery: SunSpec models 1, 701, 702, 704, 713, 802.

Setpoint: model 704 ``WSet`` (W, SunSpec sign: positive = discharging) or ``WSetPct`` (% of
``WMax``) per ``WSetMod``, active while ``WSetEna`` is enabled; otherwise the battery idles.
The stored energy integrates the accepted power with charge/discharge efficiencies and stops at
the SoC limits.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from adapters.simulator.clock import SimClock
from adapters.simulator.der import INV_RUNNING, INV_STANDBY, SimDer
from adapters.simulator.faults import Faults

DC_VOLTAGE_V = 800.0  # nominal battery voltage, used for the Ah rating and current
W_SET_WATTS = 1


@dataclass(frozen=True)
class BatteryParams:
    """Ratings of a battery; SoC limits in % of ``e_max_kwh``."""

    id: str
    unit_id: int
    p_max_kw: float
    e_max_kwh: float
    soc_min_pct: float = 10.0
    soc_max_pct: float = 95.0
    soc_initial_pct: float = 50.0
    eta_charge: float = 0.95
    eta_discharge: float = 0.95


class SimBattery(SimDer):
    models = (1, 701, 702, 704, 713, 802)
    model_name = "battery"
    controls = ((704, "WSet"),)
    extra_writable = ((704, "WSetMod"), (704, "WSetPct"), (704, "WSetPctRvrt"))

    def __init__(self, params: BatteryParams, clock: SimClock, faults: Faults | None = None):
        self.params = params
        self.e_kwh = params.e_max_kwh * params.soc_initial_pct / 100
        self.wh_injected = self.wh_absorbed = 0.0
        super().__init__(params.id, params.unit_id, clock, faults)

    @property
    def e_min_kwh(self) -> float:
        return self.params.e_max_kwh * self.params.soc_min_pct / 100

    @property
    def e_max_kwh(self) -> float:
        return self.params.e_max_kwh * self.params.soc_max_pct / 100

    @property
    def soc_pct(self) -> float:
        return 100 * self.e_kwh / self.params.e_max_kwh

    def configure(self) -> None:
        p = self.params
        w_max, wh = p.p_max_kw * 1000, p.e_max_kwh * 1000
        self.configure_ac(w_max, ("WMaxRtg", "WChaRteMaxRtg", "WDisChaRteMaxRtg", "WMax", "WChaRteMax",
                                  "WDisChaRteMax"))
        self.set_raw(704, "WSet_SF", 0)
        self.set_raw(704, "WSetPct_SF", -1)
        for name, raw in (("WSetEna", 0), ("WSetMod", W_SET_WATTS), ("WSet", 0), ("WSetRvrt", 0),
                          ("WSetEnaRvrt", 1), ("WSetRvrtTms", 0)):
            self.set_raw(704, name, raw)
        for name in ("WSet", "WSetRvrt"):
            self.limit(704, name, -w_max, w_max)
        for name in ("WSetPct", "WSetPctRvrt"):
            self.limit(704, name, -100, 100)
        self.set_sf(713, "WH_SF", wh)
        self.set_raw(713, "Pct_SF", -2)
        self.set(713, "WHRtg", wh)
        self.set(713, "SoH", 100)
        self.set_raw(713, "Sta", 0)
        self.set_sf(802, "AHRtg_SF", wh / DC_VOLTAGE_V)
        self.set(802, "AHRtg", wh / DC_VOLTAGE_V)
        self.set_sf(802, "WHRtg_SF", wh)
        self.set(802, "WHRtg", wh)
        self.set_sf(802, "WChaDisChaMax_SF", w_max)
        self.set(802, "WChaRteMax", w_max)
        self.set(802, "WDisChaRteMax", w_max)
        for name, value in (("SoC_SF", -2), ("SoH_SF", 0), ("V_SF", 0), ("CellV_SF", -3), ("DoD_SF", 0)):
            self.set_raw(802, name, value)
        self.set(802, "SoCMax", p.soc_max_pct)
        self.set(802, "SoCMin", p.soc_min_pct)
        self.set(802, "SoH", 100)
        self.set(802, "V", DC_VOLTAGE_V)
        self.set_sf(802, "A_SF", w_max / DC_VOLTAGE_V, digits=1)
        self.set_sf(802, "AMax_SF", w_max / DC_VOLTAGE_V)
        self.set_sf(802, "W_SF", w_max)
        for name, raw in (("LocRemCtl", 0), ("Typ", 4), ("State", 3), ("Evt1", 0), ("Evt2", 0),
                          ("EvtVnd1", 0), ("EvtVnd2", 0), ("SetOp", 1), ("SetInvState", 3)):
            self.set_raw(802, name, raw)

    def target_w(self) -> float:
        """The commanded power in SunSpec sign (+ = discharging), 0 when not under control."""
        if self.control_value(704, "WSet") is None:
            return 0.0
        if self.image.get_raw(self.pt(704, "WSetMod")) == W_SET_WATTS:
            return self.get(704, "WSet") or 0.0
        pct = self.get(704, "WSetPct")
        return 0.0 if pct is None else pct / 100 * self.params.p_max_kw * 1000

    @property
    def p_kw(self) -> float:
        """Accepted power, load-referenced (+ = charging): 0 at the SoC limit it would cross."""
        p = -self.target_w() / 1000
        if (p > 0 and self.e_kwh >= self.e_max_kwh - 1e-9) or (p < 0 and self.e_kwh <= self.e_min_kwh + 1e-9):
            return 0.0
        return p

    def step(self, t0: pd.Timestamp, dt_s: float) -> None:
        p, h = self.p_kw, dt_s / 3600
        if p > 0:
            stored = min(p * self.params.eta_charge * h, self.e_max_kwh - self.e_kwh)
            self.wh_absorbed += 1000 * stored / self.params.eta_charge
        elif p < 0:
            stored = -min(-p / self.params.eta_discharge * h, self.e_kwh - self.e_min_kwh)
            self.wh_injected += -1000 * stored * self.params.eta_discharge
        else:
            return
        self.e_kwh += stored

    def publish_telemetry(self) -> None:
        w = -self.p_kw * 1000
        self.publish_ac(w, INV_RUNNING if w else INV_STANDBY, self.wh_injected, self.wh_absorbed)
        self.set(713, "WHAvail", max(self.e_kwh - self.e_min_kwh, 0) * 1000)
        self.set(713, "SoC", self.soc_pct)
        self.set(802, "SoC", self.soc_pct)
        self.set(802, "W", w)
        self.set(802, "A", w / DC_VOLTAGE_V)
        self.set_raw(802, "ChaSt", self._charge_state(w))

    def _charge_state(self, w: float) -> int:
        if self.e_kwh >= self.e_max_kwh - 1e-9:
            return 5  # FULL
        if self.e_kwh <= self.e_min_kwh + 1e-9:
            return 2  # EMPTY
        return 4 if w < 0 else 3 if w > 0 else 6  # CHARGING / DISCHARGING / HOLDING
