"""Unserved flexible energy of a replayed operation: what the flexible assets needed and did not get.

- EV chargers: per session, the energy asked for minus the energy delivered between arrival and
  departure.
- Heat pumps: the heat their store could not supply, in electric kWh at the COP of the moment.
  The simulated store gives its heat demand whatever its temperature, so demand the pump and the
  store could not meet shows as the store falling below its band minimum ``temp_min_c``: every
  rise of the heat below the minimum (``capacity * (temp_min - temp)``, from one interval's end to
  the next) is heat not supplied. At the end of the replay, the heat the store holds less than at
  its start (down to the band minimum; below it is counted already) is owed too, at the period's
  mean COP. Heat moved through the store within its band (across midnight, say) counts nothing.
- Process loads: per local day, the energy asked for in their windows minus the energy delivered.
  An on/off load (``p_min_kw == p_max_kw``) runs whole intervals at its one power level, so what it
  is asked for is running time: each start's ramp (``p_max_kw * ramp_s / 2``, the energy a linear
  ramp from 0 draws less than full power) is part of a full run, not energy it missed. A trip or a
  run cut short still counts.
Positive parts only: over-delivery earns no credit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridctl.config import HeatPumpConfig, ProcessLoadConfig
from gridctl.replay.actuals import Actuals

UNSERVED_BASIS = ("EV chargers: per session, energy asked for minus energy delivered between arrival and "
                  "departure; heat pumps: heat the store could not supply (each rise of its heat below the band "
                  "minimum) plus the store's heat deficit at the end against its start, in electric kWh at the COP; "
                  "process loads: per local day, energy asked for in their windows minus energy delivered, an on/off "
                  "load's start ramps (p_max_kw * ramp_s / 2 each) counted as delivered; positive parts summed")


def heat_store_unserved_kwh(temp_c: np.ndarray, cop: np.ndarray, hp: HeatPumpConfig) -> float:
    """Electric kWh of the heat a store could not supply, given its temperature at each interval's end
    (starting from ``hp.temp_initial_c``) and the COP of each interval (see the module doc)."""
    below_kwh = hp.capacity_kwh_per_k * np.maximum(hp.temp_min_c - np.r_[hp.temp_initial_c, temp_c], 0.0)
    unmet = float((np.maximum(np.diff(below_kwh), 0.0) / cop).sum())
    deficit_kwh = hp.capacity_kwh_per_k * max(hp.temp_initial_c - max(float(temp_c[-1]), hp.temp_min_c), 0.0)
    return unmet + deficit_kwh / float(np.mean(cop))


def start_ramps_kwh(p_kw: np.ndarray, load: ProcessLoadConfig) -> np.ndarray:
    """Energy (kWh) an on/off process load's start ramps drew less than full power, in the
    interval of each start (a rise from 0 kW); zeros for a semi-continuous load, whose plan covers it."""
    if not load.on_off:
        return np.zeros(len(p_kw))
    starts = (p_kw > 0) & (np.r_[0.0, p_kw[:-1]] <= 0)
    return starts * load.p_max_kw * load.ramp_s / 7200.0


def unserved_by_asset_kwh(operation: pd.DataFrame, actuals: Actuals, dt_h: float, timezone: str,
                          heat_pumps: list[HeatPumpConfig],
                          process_loads: list[ProcessLoadConfig] | None = None) -> dict[str, float]:
    """Each flexible asset's unserved energy (kWh, see ``UNSERVED_BASIS``)."""
    days = operation.index.tz_convert(timezone).date
    stores = {hp.id: hp for hp in heat_pumps}
    loads = {p.id: p for p in process_loads or []}
    out = {}
    for a, requested in actuals.flex_kw.items():
        delivered = operation[f"{a}.p_kw"].to_numpy()
        if a in actuals.ev_sessions:
            out[a] = sum(max(s.energy_kwh - delivered[s.arrival:s.departure].sum() * dt_h, 0.0)
                         for s in actuals.ev_sessions[a])
        elif a in actuals.cop:
            out[a] = heat_store_unserved_kwh(operation[f"{a}.temp_c"].to_numpy(), actuals.cop[a], stores[a])
        else:
            ramps = start_ramps_kwh(delivered, loads[a]) if a in loads else 0.0
            gap = pd.Series((requested - delivered) * dt_h - ramps, index=operation.index)
            out[a] = float(gap.groupby(days).sum().clip(lower=0.0).sum())
    return out


def flexible_delivered_kwh(operation: pd.DataFrame, actuals: Actuals, dt_h: float) -> float:
    """Electric energy (kWh) the flexible loads drew."""
    return float(sum(operation[f"{a}.p_kw"].sum() for a in actuals.flex_kw) * dt_h)
