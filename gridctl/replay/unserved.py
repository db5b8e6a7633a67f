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
Positive parts only: over-delivery earns no credit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridctl.config import HeatPumpConfig
from gridctl.replay.actuals import Actuals

UNSERVED_BASIS = ("EV chargers: per session, energy asked for minus energy delivered between arrival and "
                  "departure; heat pumps: heat the store could not supply (each rise of its heat below the band "
                  "minimum) plus the store's heat deficit at the end against its start, in electric kWh at the COP; "
                  "process loads: per local day, energy asked for in their windows minus energy delivered; "
                  "positive parts summed")


def heat_store_unserved_kwh(temp_c: np.ndarray, cop: np.ndarray, hp: HeatPumpConfig) -> float:
    """Electric kWh of the heat a store could not supply, given its temperature at each interval's end
    (starting from ``hp.temp_initial_c``) and the COP of each interval (see the module doc)."""
    below_kwh = hp.capacity_kwh_per_k * np.maximum(hp.temp_min_c - np.r_[hp.temp_initial_c, temp_c], 0.0)
    unmet = float((np.maximum(np.diff(below_kwh), 0.0) / cop).sum())
    deficit_kwh = hp.capacity_kwh_per_k * max(hp.temp_initial_c - max(float(temp_c[-1]), hp.temp_min_c), 0.0)
    return unmet + deficit_kwh / float(np.mean(cop))


def unserved_by_asset_kwh(operation: pd.DataFrame, actuals: Actuals, dt_h: float, timezone: str,
                          heat_pumps: list[HeatPumpConfig]) -> dict[str, float]:
    """Each flexible asset's unserved energy (kWh, see ``UNSERVED_BASIS``)."""
    days = operation.index.tz_convert(timezone).date
    stores = {hp.id: hp for hp in heat_pumps}
    out = {}
    for a, requested in actuals.flex_kw.items():
        delivered = operation[f"{a}.p_kw"].to_numpy()
        if a in actuals.ev_sessions:
            out[a] = sum(max(s.energy_kwh - delivered[s.arrival:s.departure].sum() * dt_h, 0.0)
                         for s in actuals.ev_sessions[a])
        elif a in actuals.cop:
            out[a] = heat_store_unserved_kwh(operation[f"{a}.temp_c"].to_numpy(), actuals.cop[a], stores[a])
        else:
            gap = pd.Series((requested - delivered) * dt_h, index=operation.index)
            out[a] = float(gap.groupby(days).sum().clip(lower=0.0).sum())
    return out


def flexible_delivered_kwh(operation: pd.DataFrame, actuals: Actuals, dt_h: float) -> float:
    """Electric energy (kWh) the flexible loads drew."""
    return float(sum(operation[f"{a}.p_kw"].sum() for a in actuals.flex_kw) * dt_h)
