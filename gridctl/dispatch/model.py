"""The dispatch model: district power balance, grid connection, asset blocks, objective.

Per interval ``t`` (kW): ``import - export = load + sum(battery p) - (pv - curtailed)``.
Emissions ``sum(ci * import * dt)``; export earns no credit. Small penalties on curtailment and
battery throughput break ties. Assets are blocks (``m.battery[id]``); a network block can add
constraints on the same asset power expressions.
"""

from __future__ import annotations

import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from gridctl.dispatch.battery import populate_battery
from gridctl.dispatch.inputs import DispatchInputs


def build_model(inp: DispatchInputs) -> pyo.ConcreteModel:
    """Build the Pyomo dispatch model for one horizon."""
    with PauseGC():
        m = pyo.ConcreteModel(name="gridctl_dispatch")
        m.T = pyo.RangeSet(0, len(inp.index) - 1)
        T, dt = m.T, inp.dt_h
        m.grid_import = pyo.Var(T, bounds=(0.0, inp.import_limit_kw))
        m.grid_export = pyo.Var(T, bounds=(0.0, inp.export_limit_kw))
        params = {b.id: b for b in inp.batteries}
        m.battery = pyo.Block(list(params), rule=lambda blk, i: populate_battery(blk, T, dt, params[i]))
        m.PV = pyo.Set(initialize=[p.id for p in inp.pv_assets])
        avail = {(p.id, t): float(p.available_kw[t]) for p in inp.pv_assets for t in T}
        m.curtail = pyo.Var(m.PV, T, bounds=lambda _, a, t: (0.0, avail[a, t]))

        def balance(_, t):
            flex = sum(m.battery[b.id].p_kw[t] for b in inp.batteries)
            curtailed = sum(m.curtail[a, t] for a in m.PV)
            return m.grid_import[t] - m.grid_export[t] == (
                float(inp.load_kw[t]) + flex - float(inp.pv_kw[t]) + curtailed
            )

        m.balance = pyo.Constraint(T, rule=balance)
        m.emissions_kg = pyo.Expression(
            expr=sum(float(inp.ci_kg_per_kwh[t]) * dt * m.grid_import[t] for t in T)
        )
        m.penalties = pyo.Expression(
            expr=inp.curtailment_penalty_per_kwh * dt * sum(m.curtail[a, t] for a in m.PV for t in T)
            + inp.throughput_penalty_per_kwh * sum(m.battery[b.id].throughput_kwh for b in inp.batteries)
        )
        m.objective = pyo.Objective(expr=m.emissions_kg + m.penalties, sense=pyo.minimize)
    return m
