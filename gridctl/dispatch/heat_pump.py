"""Heat pump block: electric power, COP and a one-node thermal store with a comfort band.

Per interval ``t``: electric power ``0 <= p[t] <= p_max`` (kW, load-referenced) delivers
``cop[t] * p[t]`` kW of heat into a store (a water tank or the building's thermal mass) of
capacity ``C`` kWh/K whose temperature ``temp[t]`` (degC, at the interval's end) follows
``C * (temp[t] - temp[t-1]) = (cop[t] * p[t] - heat_demand[t] - ua * (temp[t-1] - ambient)) * dt``
from the mutable initial temperature (telemetry). The comfort band ``[temp_min, temp_max]`` and
the terminal target (end at least at ``temp_terminal_c``, default the initial temperature, so the
store is not drained at the horizon's end, and the same at the end of every local day the horizon
holds, ``day_ends``, so each day's heat is drawn that day; with ``day_end_cap`` also at most the target
there, so no day draws the next day's heat) are soft (``comfort`` and ``terminal`` penalties of
:mod:`gridctl.dispatch.soft`). With ``band_margin`` the band's bottom is raised by one interval of
worst-case heat demand (:func:`low_margin_k`, the mutable ``margin_k``). ``cop`` and ``heat_demand`` are
mutable parameters.

Data: the heat demand of a heat pump whose uncontrolled electric profile is known is that
profile times its COP (the heat the pump delivered). The COP follows the outdoor temperature
when a temperature series is given (:func:`cop_from_temperature`), else it is constant.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from gridctl.dispatch.inputs import HeatPumpParams
from gridctl.dispatch.soft import PENALTY, add_slack


def populate_heat_pump(blk: pyo.Block, T: pyo.Set, dt_h: float, hp: HeatPumpParams) -> None:
    """Fill ``blk`` with one heat pump's power, store temperature, dynamics and soft band."""
    C = hp.capacity_kwh_per_k
    blk.p_kw = pyo.Var(T, bounds=(0.0, hp.p_max_kw))
    blk.temp_c = pyo.Var(T)
    blk.cop = pyo.Param(T, initialize=lambda _, t: float(hp.cop[t]), mutable=True)
    blk.heat_demand_kw = pyo.Param(T, initialize=lambda _, t: float(hp.heat_demand_kw[t]), mutable=True)
    blk.temp_initial = pyo.Param(initialize=hp.temp_initial_c, mutable=True)
    first = T.first()

    def dynamics(_, t):
        prev = blk.temp_initial if t == first else blk.temp_c[T.prev(t)]
        heat = net_heat_kw(blk.cop[t] * blk.p_kw[t], blk.heat_demand_kw[t], prev, hp)
        return C * (blk.temp_c[t] - prev) == heat * dt_h

    blk.dynamics = pyo.Constraint(T, rule=dynamics)
    comfort = PENALTY["comfort"] * C * dt_h
    below = add_slack(blk, "below_k", T, limit="comfort_min", asset=hp.id, unit="K", penalty=comfort)
    above = add_slack(blk, "above_k", T, limit="comfort_max", asset=hp.id, unit="K", penalty=comfort)
    margin = low_margin_k(hp, dt_h)
    blk.margin_k = pyo.Param(T, initialize=lambda _, t: float(margin[t]), mutable=True)
    blk.band_min = pyo.Constraint(T, rule=lambda _, t: blk.temp_c[t] + below[t] >= hp.temp_min_c + blk.margin_k[t])
    blk.band_max = pyo.Constraint(T, rule=lambda _, t: blk.temp_c[t] - above[t] <= hp.temp_max_c)
    short = add_slack(blk, "terminal_short_k", None, limit="terminal_temp", asset=hp.id, unit="K",
                      penalty=PENALTY["terminal"] * C)
    target = hp.temp_initial_c if hp.temp_terminal_c is None else hp.temp_terminal_c
    blk.temp_terminal = pyo.Param(initialize=min(target, hp.temp_max_c), mutable=True)  # re-optimisations move it
    blk.terminal = pyo.Constraint(expr=blk.temp_c[T.last()] + short >= blk.temp_terminal)
    day_ends = [t for t in hp.day_ends if t != T.last()]  # the store ends each local day at the target too
    day_short = add_slack(blk, "day_end_short_k", T, limit="day_end_temp", asset=hp.id, unit="K",
                          penalty=PENALTY["terminal"] * C, dense=False)
    blk.day_end = pyo.Constraint(day_ends, rule=lambda _, t: blk.temp_c[t] + day_short[t] >= blk.temp_terminal)
    if hp.day_end_cap:
        day_excess = add_slack(blk, "day_end_excess_k", T, limit="day_end_temp_max", asset=hp.id, unit="K",
                               penalty=PENALTY["terminal"] * C, dense=False)
        blk.day_end_cap = pyo.Constraint(day_ends, rule=lambda _, t: blk.temp_c[t] - day_excess[t] <= blk.temp_terminal)


def low_margin_k(hp: HeatPumpParams, dt_h: float, cop=None, heat_demand_kw=None) -> np.ndarray:
    """Per interval, how far (K) above ``temp_min`` the plan keeps the store: the most it can fall below
    the plan in one interval, before the next setpoint can correct it, when the heat demand runs at the
    pump's full heat output ``p_max * cop`` (a demand profile at the pump's rating) instead of its forecast;
    0 where the forecast is at or above that, and everywhere without ``hp.band_margin``.
    ``cop``/``heat_demand_kw`` default to ``hp``'s."""
    if not hp.band_margin:
        return np.zeros(len(hp.cop))
    cop = hp.cop if cop is None else cop
    demand = hp.heat_demand_kw if heat_demand_kw is None else heat_demand_kw
    surprise = np.maximum(hp.p_max_kw * np.asarray(cop, float) - np.asarray(demand, float), 0.0)
    return np.minimum(surprise * dt_h / hp.capacity_kwh_per_k, hp.temp_max_c - hp.temp_min_c)


def net_heat_kw(heat_in_kw, heat_demand_kw, temp_c, hp: HeatPumpParams):
    """Heat (kW) into the store at temperature ``temp_c``: heat delivered minus demand minus standing loss."""
    return heat_in_kw - heat_demand_kw - hp.loss_kw_per_k * (temp_c - hp.ambient_c)


def cop_from_temperature(outdoor_c: np.ndarray, sink_c: float, carnot_efficiency: float = 0.45,
                         cop_max: float = 7.0) -> np.ndarray:
    """COP as a share of the Carnot COP ``(sink + 273.15) / (sink - outdoor)``, clipped to [1, cop_max].

    The lift is taken as at least 5 K so the Carnot limit stays finite.
    """
    lift = np.maximum(sink_c - np.asarray(outdoor_c, dtype=float), 5.0)
    return np.clip(carnot_efficiency * (sink_c + 273.15) / lift, 1.0, cop_max)
