"""Simulated battery: SunSpec models 1, 701, 702, 704, 713, 802.

Setpoint: model 704 ``WSet`` (W, SunSpec sign: positive = discharging) or ``WSetPct`` (% of
``WMax``) per ``WSetMod``, active while ``WSetEna`` is enabled; otherwise the battery idles.
The accepted power is limited by 702 ``WMax`` and ``WChaRteMax`` (charging) or
``WDisChaRteMax`` (discharging), and is 0 while 802 ``SetOp`` is DISCONNECT, ``SetInvState`` is
not STARTED or an alarm is latched (802 ``AlmRst`` = 1 resets it). The stored energy integrates
the accepted power with charge/discharge efficiencies and stops at the SoC limits.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from adapters.simulator.clock import SimClock
from adapters.simulator.der import INV_OFF, INV_RUNNING, INV_STANDBY, INV_THROTTLED, SimDer
from adapters.simulator.faults import Faults

DC_VOLTAGE_V = 800.0  # nominal battery voltage, used for the Ah rating and current
W_SET_WATTS = 1
CONNECT, DISCONNECT = 1, 2  # 802 SetOp
INVERTER_STOPPED, INVERTER_STANDBY, INVERTER_STARTED = 1, 2, 3  # 802 SetInvState
STATE_DISCONNECTED, STATE_CONNECTED, STATE_FAULT = 1, 3, 99  # 802 State
EVT1_OVER_TEMP_ALARM = 1 << 1


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
    pure_telemetry = True
    extra_writable = ((704, "WSetMod"), (704, "WSetPct"), (704, "WSetPctRvrt"), (702, "WMax"),
                      (702, "WChaRteMax"), (702, "WDisChaRteMax"), (802, "SetOp"), (802, "SetInvState"),
                      (802, "AlmRst"))
    charge_max_w = discharge_max_w = 0.0  # 702 WChaRteMax, WDisChaRteMax as last written
    set_op, inverter_command = CONNECT, INVERTER_STARTED  # 802 SetOp, SetInvState as last written

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
        for name, raw in (("LocRemCtl", 0), ("Typ", 4), ("Evt2", 0), ("EvtVnd1", 0), ("EvtVnd2", 0),
                          ("SetOp", CONNECT), ("SetInvState", INVERTER_STARTED), ("AlmRst", 0)):
            self.set_raw(802, name, raw)
        for name in ("WChaRteMax", "WDisChaRteMax"):
            self.limit(702, name, 0, w_max)
        self.limit(802, "AlmRst", 0, 1)
        self.charge_max_w = self.discharge_max_w = w_max

    def applied(self, names: set[str]) -> None:
        super().applied(names)
        self.charge_max_w = self.get(702, "WChaRteMax")
        self.discharge_max_w = self.get(702, "WDisChaRteMax")
        self.set_op = self.image.get_raw(self.pt(802, "SetOp"))
        self.inverter_command = self.image.get_raw(self.pt(802, "SetInvState"))
        if self.image.get_raw(self.pt(802, "AlmRst")) == 1:
            self.faults.alarm = False
            self.set_raw(802, "AlmRst", 0)

    def connected(self) -> bool:
        return self.set_op == CONNECT

    @property
    def running(self) -> bool:
        """Connected, started and without a latched alarm: able to take a setpoint."""
        return self.connected() and self.inverter_command == INVERTER_STARTED and not self.tripped

    def target_w(self) -> float:
        """The commanded power in SunSpec sign (+ = discharging), 0 when not under control."""
        if self.control_value(704, "WSet") is None:
            return 0.0
        if self.image.get_raw(self.pt(704, "WSetMod")) == W_SET_WATTS:
            return self.get(704, "WSet") or 0.0
        pct = self.get(704, "WSetPct")
        return 0.0 if pct is None else pct / 100 * self.w_max_w

    @property
    def p_kw(self) -> float:
        """Accepted power, load-referenced (+ = charging): 0 when not running or at the SoC limit it
        would cross, else the setpoint within the 702 limits."""
        if not self.running:
            return 0.0
        w = self.target_w()
        w = min(w, self.w_max_w, self.discharge_max_w) if w > 0 else max(w, -self.w_max_w, -self.charge_max_w)
        p = -w / 1000
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
        self.publish_ac(w, self._inverter_state(w), self.wh_injected, self.wh_absorbed)
        state = STATE_FAULT if self.tripped else STATE_CONNECTED if self.connected() else STATE_DISCONNECTED
        self.set_raw(802, "State", state)
        self.set_raw(802, "Evt1", EVT1_OVER_TEMP_ALARM if self.tripped else 0)
        self.set(713, "WHAvail", max(self.e_kwh - self.e_min_kwh, 0) * 1000)
        self.set(713, "SoC", self.soc_pct)
        self.set(802, "SoC", self.soc_pct)
        self.set(802, "W", w)
        self.set(802, "A", w / DC_VOLTAGE_V)
        self.set_raw(802, "ChaSt", self._charge_state(w))

    def _inverter_state(self, w: float) -> int:
        """701 InvSt (a latched alarm shows as FAULT in :meth:`publish_ac`)."""
        if self.inverter_command == INVERTER_STOPPED:
            return INV_OFF
        if not w:
            return INV_STANDBY
        return INV_THROTTLED if abs(w) < abs(self.target_w()) - 1e-6 else INV_RUNNING

    def _charge_state(self, w: float) -> int:
        if self.e_kwh >= self.e_max_kwh - 1e-9:
            return 5  # FULL
        if self.e_kwh <= self.e_min_kwh + 1e-9:
            return 2  # EMPTY
        return 4 if w < 0 else 3 if w > 0 else 6  # CHARGING / DISCHARGING / HOLDING
