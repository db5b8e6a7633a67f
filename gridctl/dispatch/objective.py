"""Objective modes of the dispatch model.

Terms (all over the horizon, ``dt`` in hours):
- ``m.emissions_kg = sum(ci[t] * import[t] * dt) - export_credit_factor * sum(ci[t] * export[t] * dt)``:
  exported energy may be credited with a share (0..1) of the grid's intensity, as displaced
  generation; the default 0 grants no credit. ``ci`` is ``ci_objective_kg_per_kwh`` of the inputs:
  the forecast of whatever signal the carbon data holds (average or marginal; the plan records
  which), risk-adjusted by the planner (:func:`forecasts.carbon_spread.risk_adjusted`); the plan's
  reported emissions use the forecast itself.
- ``m.cost = sum(price[t] * import[t] * dt) - export_price * sum(export[t] * dt)
  + peak_charge_per_kw * peak_import + demand charges + sum(battery degradation)``, in currency
  (demand charges: :mod:`gridctl.dispatch.demand`).
- ``m.penalties``: soft-limit slacks (:mod:`gridctl.dispatch.soft`), a small curtailment penalty,
  a tie-breaking battery-throughput penalty and, in emissions mode, demand charges' soft caps.
- stored-energy value at the horizon's end of batteries that use one (subtracted).
- start-up costs of process loads (:mod:`gridctl.dispatch.process_load`), in objective units.

Modes: ``emissions`` minimises ``emissions_kg``; ``cost`` minimises ``cost``; ``blend`` minimises
``cost + carbon_price_per_kg * emissions_kg`` (carbon priced in currency per kg). Penalties
and terminal values are added in every mode. Where an import price falls below the export
price (or an intensity below the export credit), drawing and feeding in at once pays; only the
grid limits' penalties then bound the plan, so keep ``price >= export_price``.
"""

from __future__ import annotations

import pyomo.environ as pyo

from gridctl.dispatch.demand import demand_terms, penalty_scale
from gridctl.dispatch.inputs import DispatchInputs
from gridctl.dispatch.soft import penalty_expr

MODES = ("emissions", "cost", "blend")


def add_objective(m: pyo.ConcreteModel, inp: DispatchInputs) -> None:
    """Add the emissions, cost and penalty expressions and the objective of ``inp.objective`` to ``m``."""
    if inp.objective not in MODES:
        raise ValueError(f"objective {inp.objective!r} is not one of {MODES}")
    T, dt = m.T, inp.dt_h
    batteries = [m.battery[b.id] for b in inp.batteries]
    m.emissions_kg = pyo.Expression(expr=sum(
        m.ci[t] * dt * (m.grid_import[t] - inp.export_credit_factor * m.grid_export[t]) for t in T
    ))
    peak = inp.peak_charge_per_kw * m.peak_import if inp.peak_charge_per_kw > 0 else 0.0
    charge_cost, charge_penalty = demand_terms(m, inp)
    m.cost = pyo.Expression(expr=sum(
        m.price[t] * dt * m.grid_import[t] - inp.export_price_per_kwh * dt * m.grid_export[t] for t in T
    ) + peak + charge_cost + sum(blk.degradation_cost for blk in batteries))
    m.penalties = pyo.Expression(
        expr=inp.curtailment_penalty_per_kwh * dt * sum(m.curtail[a, t] for a in m.PV for t in T)
        + inp.throughput_penalty_per_kwh * sum(blk.throughput_kwh for blk in batteries)
        + penalty_scale(inp) * penalty_expr(m) + charge_penalty
    )
    terminal_value = sum(blk.terminal_value for blk in batteries)
    main = {"emissions": m.emissions_kg, "cost": m.cost,
            "blend": m.cost + inp.carbon_price_per_kg * m.emissions_kg}[inp.objective]
    start_cost = sum(blk.start_cost for blk in m.process_load.values()) if hasattr(m, "process_load") else 0.0
    m.objective = pyo.Objective(expr=main + m.penalties - terminal_value + start_cost, sense=pyo.minimize)
