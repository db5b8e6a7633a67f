"""In-process device physics of replay: batteries that honour power and SoC limits, heat stores.

A setpoint (kW, load-referenced) is clipped to the power rating and to what the state of
charge allows over the interval; the SoC integrates ``eta_c * p`` when charging and
``p / eta_d`` when discharging. A heat pump's store temperature integrates the heat the pump
actually delivered minus the actual heat demand and standing loss (the dispatch block's model).
EV chargers need no state of their own: the energy delivered to a session is the applied power
summed since its arrival (:func:`ev_delivered_kwh`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridctl.config import BatteryConfig
from gridctl.dispatch.heat_pump import store_temperature
from gridctl.dispatch.inputs import EvSession, HeatPumpParams


@dataclass
class BatteryPhysics:
    """One battery's state and limits."""

    id: str
    p_max_kw: float
    soc_min_kwh: float
    soc_max_kwh: float
    eta_charge: float
    eta_discharge: float
    soc_kwh: float

    @classmethod
    def from_config(cls, cfg: BatteryConfig, soc_kwh: float | None = None) -> BatteryPhysics:
        return cls(cfg.id, cfg.p_max_kw, cfg.soc_min_kwh, cfg.soc_max_kwh, cfg.eta_charge, cfg.eta_discharge,
                   cfg.soc_initial_kwh if soc_kwh is None else soc_kwh)

    def apply(self, p_kw: float, dt_h: float) -> float:
        """Run at setpoint ``p_kw`` for ``dt_h`` hours within limits; return the power actually delivered."""
        p = min(max(p_kw, -self.p_max_kw), self.p_max_kw)
        if p >= 0:
            p = min(p, max(self.soc_max_kwh - self.soc_kwh, 0.0) / (self.eta_charge * dt_h))
            self.soc_kwh += p * self.eta_charge * dt_h
        else:
            p = max(p, -max(self.soc_kwh - self.soc_min_kwh, 0.0) * self.eta_discharge / dt_h)
            self.soc_kwh += p / self.eta_discharge * dt_h
        return p


def fleet(configs: list[BatteryConfig], soc_kwh: dict[str, float] | None = None) -> list[BatteryPhysics]:
    """Battery physics for every configured battery, at ``soc_kwh`` or the configured initial SoC."""
    soc = soc_kwh or {}
    return [BatteryPhysics.from_config(c, soc.get(c.id)) for c in configs]


@dataclass
class HeatStore:
    """One heat pump's store: temperature (degC) under actual COP and heat demand (``params`` on the replayed index)."""

    params: HeatPumpParams
    temp_c: float

    def apply(self, k: int, p_kw: float, dt_h: float) -> None:
        """Run replayed interval ``k`` at electric power ``p_kw``."""
        self.temp_c = store_temperature(self.temp_c, p_kw, k, self.params, dt_h)


def heat_stores(params: dict[str, HeatPumpParams]) -> list[HeatStore]:
    """A store per heat pump at its configured initial temperature."""
    return [HeatStore(hp, hp.temp_initial_c) for hp in params.values()]


def ev_delivered_kwh(sessions: dict[str, tuple[EvSession, ...]], p_kw: dict[str, np.ndarray], k: int,
                     dt_h: float) -> dict[str, float]:
    """Per charger with a vehicle connected since before interval ``k``: energy delivered to it so far (kWh)."""
    return {a: float(p_kw[a][s.arrival:k].sum() * dt_h)
            for a, ss in sessions.items() for s in ss if s.arrival < k < s.departure}
