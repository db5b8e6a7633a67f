"""The dispatch model: district power balance, grid connection, asset blocks, objective.

Per interval ``t`` (kW): ``import - export = load + sum(asset p) - (pv - curtailed)`` where the
assets are batteries (``m.battery[id]``), EV charging points (``m.ev[id]``), heat pumps
(``m.heat_pump[id]``) and process loads (``m.process_load[id]``, MILP), each a block exposing a
load-referenced ``p_kw[t]``. Forecasts (load, PV, intensity, price) are mutable parameters so an
intraday re-solve can update them in place.
The grid connection is in :mod:`gridctl.dispatch.grid`, demand charges in
:mod:`gridctl.dispatch.demand`, the objective in
:mod:`gridctl.dispatch.objective`; soft limits in :mod:`gridctl.dispatch.soft`.
``m.bus_flex_kw[bus, t]`` is the load-referenced power all assets add at each net bus (curtailed
PV counts as added load); :mod:`gridctl.dispatch.network` bounds voltages and flows with it.
"""

from __future__ import annotations

import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from gridctl.dispatch.battery import populate_battery
from gridctl.dispatch.demand import populate_demand_charges
from gridctl.dispatch.ev import populate_ev
from gridctl.dispatch.event_limits import add_event_limits
from gridctl.dispatch.grid import populate_grid
from gridctl.dispatch.heat_pump import populate_heat_pump
from gridctl.dispatch.inputs import DispatchInputs
from gridctl.dispatch.objective import add_objective
from gridctl.dispatch.process_load import add_process_groups, populate_process_load


def _series_param(T: pyo.Set, values) -> pyo.Param:
    return pyo.Param(T, initialize=lambda _, t: float(values[t]), mutable=True)


def _flex_by_bus(m: pyo.ConcreteModel, inp: DispatchInputs) -> dict[int, list]:
    """Per net bus, the load-referenced power each asset adds there (functions of ``t``); network
    blocks constrain their sum ``m.bus_flex_kw[bus, t]``."""
    out: dict[int, list] = {}
    for blocks, params in ((m.battery, inp.batteries), (m.ev, inp.ev_chargers), (m.heat_pump, inp.heat_pumps),
                           (m.process_load, inp.process_loads)):
        for a in params:
            out.setdefault(a.bus, []).append(blocks[a.id].p_kw.__getitem__)
    for p in inp.pv_assets:
        out.setdefault(p.bus, []).append(lambda t, a=p.id: m.curtail[a, t])
    return out


def build_model(inp: DispatchInputs) -> pyo.ConcreteModel:
    """Build the Pyomo dispatch model for one horizon."""
    with PauseGC():
        m = pyo.ConcreteModel(name="gridctl_dispatch")
        m.T = pyo.RangeSet(0, len(inp.index) - 1)
        T, dt = m.T, inp.dt_h
        m.load_kw = _series_param(T, inp.load_kw)
        m.pv_kw = _series_param(T, inp.pv_kw)
        m.ci = _series_param(T, inp.ci_objective_kg_per_kwh)
        m.price = _series_param(T, inp.price_per_kwh)
        populate_grid(m, inp)
        populate_demand_charges(m, inp)
        add_event_limits(m, inp)
        params = {b.id: b for b in inp.batteries}
        m.battery = pyo.Block(list(params), rule=lambda blk, i: populate_battery(blk, T, dt, params[i]))
        evs = {e.id: e for e in inp.ev_chargers}
        m.ev = pyo.Block(list(evs), rule=lambda blk, i: populate_ev(blk, T, dt, evs[i]))
        hps = {h.id: h for h in inp.heat_pumps}
        m.heat_pump = pyo.Block(list(hps), rule=lambda blk, i: populate_heat_pump(blk, T, dt, hps[i]))
        pls = {p.id: p for p in inp.process_loads}
        m.process_load = pyo.Block(list(pls), rule=lambda blk, i: populate_process_load(blk, T, dt, pls[i]))
        add_process_groups(m, inp.process_loads, inp.process_group_max_kw)
        m.PV = pyo.Set(initialize=[p.id for p in inp.pv_assets])
        m.pv_available = pyo.Param(m.PV, T, mutable=True,
                                   initialize={(p.id, t): float(p.available_kw[t]) for p in inp.pv_assets for t in T})
        m.curtail = pyo.Var(m.PV, T, bounds=lambda _, a, t: (0.0, m.pv_available[a, t]))
        flexible = [*m.battery.values(), *m.ev.values(), *m.heat_pump.values(), *m.process_load.values()]

        def balance(_, t):
            flex = sum(blk.p_kw[t] for blk in flexible)
            curtailed = sum(m.curtail[a, t] for a in m.PV)
            return m.grid_import[t] - m.grid_export[t] == m.load_kw[t] + flex - m.pv_kw[t] + curtailed

        m.balance = pyo.Constraint(T, rule=balance)
        by_bus = _flex_by_bus(m, inp)
        m.FLEX_BUS = pyo.Set(initialize=sorted(by_bus))
        m.bus_flex_kw = pyo.Expression(m.FLEX_BUS, T, rule=lambda _, bus, t: sum(term(t) for term in by_bus[bus]))
        add_objective(m, inp)
    return m
