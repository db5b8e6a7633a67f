"""Demand charges: the month's peak import within a time-of-use window, priced per kW.

Per charge ``c`` and local month ``mo`` of the horizon (a period), with ``W`` the period's window
intervals (kW, interval means)::

    peak[c, mo] >= floor[c, mo]                    (the month's running peak so far)
    peak[c, mo] >= on[c, mo, t] * import[t]        for t in W

and the objective adds ``weight[c] * (peak[c, mo] - floor[c, mo])``: only the peak the horizon adds
to what the month already reached is charged, so a re-optimisation or the next day never pays
for the running peak again, nor shaves below it. ``floor`` and ``on`` are mutable parameters: a
persistent model (:mod:`gridctl.dispatch.rolling`) moves the floor to the newly measured running
peak and sets ``on`` to 0 for intervals before its first free one (their import is in the floor
already, as measured). In ``cost`` and ``blend`` modes the term is part of ``m.cost``; in
``emissions`` mode (a soft cap) part of ``m.penalties``.

A kWh taken from a soft limit (a battery's terminal target, an EV session's energy) can lower
one interval's import by ``1 / dt`` kW, worth up to ``sum(weight) / dt``; so that soft limits still
dominate (:mod:`gridctl.dispatch.soft`), their penalties are scaled by :func:`penalty_scale`.
"""

from __future__ import annotations

import pyomo.environ as pyo

from gridctl.dispatch.inputs import DispatchInputs
from gridctl.dispatch.soft import PENALTY


def populate_demand_charges(m: pyo.ConcreteModel, inp: DispatchInputs) -> None:
    """Add the peak variables, floors and window rows of ``inp.demand_charges`` to ``m``."""
    keys = [(c.name, month) for c in inp.demand_charges for month, _ in c.periods]
    floors = {(c.name, month): float(f) for c in inp.demand_charges for (month, _), f in zip(c.periods, c.floor_kw)}
    rows = [(c.name, month, t) for c in inp.demand_charges for month, window in c.periods for t in window]
    m.DEMAND = pyo.Set(initialize=keys, dimen=2, ordered=True)
    m.DEMAND_T = pyo.Set(initialize=rows, dimen=3, ordered=True)
    m.demand_floor_kw = pyo.Param(m.DEMAND, initialize=floors, mutable=True)
    m.demand_on = pyo.Param(m.DEMAND_T, initialize=1.0, mutable=True)
    m.demand_peak_kw = pyo.Var(m.DEMAND, within=pyo.NonNegativeReals)
    m.demand_floor = pyo.Constraint(m.DEMAND, rule=lambda _, c, mo: m.demand_peak_kw[c, mo] >= m.demand_floor_kw[c, mo])
    m.demand_window = pyo.Constraint(
        m.DEMAND_T, rule=lambda _, c, mo, t: m.demand_peak_kw[c, mo] >= m.demand_on[c, mo, t] * m.grid_import[t])


def demand_terms(m: pyo.ConcreteModel, inp: DispatchInputs) -> tuple:
    """(cost term, penalty term): the charges' weighted peak above the floors, in ``m.cost``
    (cost and blend modes) or in ``m.penalties`` (emissions mode)."""
    weight = {c.name: c.weight_per_kw for c in inp.demand_charges}
    term = sum(weight[c] * (m.demand_peak_kw[c, mo] - m.demand_floor_kw[c, mo]) for c, mo in m.DEMAND)
    return (0.0, term) if inp.objective == "emissions" else (term, 0.0)


def penalty_scale(inp: DispatchInputs) -> float:
    """Factor on every soft-limit penalty: 1 without demand charges, else large enough that the
    smallest penalty per kWh exceeds what that kWh could save in demand charges."""
    return 1.0 + sum(c.weight_per_kw for c in inp.demand_charges) / (min(PENALTY.values()) * inp.dt_h)


def held_values(m: pyo.ConcreteModel, inp: DispatchInputs, k: int) -> list[tuple[pyo.Param, float]]:
    """Parameter values that make a model built for a longer horizon hold ``inp`` (the horizon from
    its interval ``k``): the new floors, and windows off before ``k``."""
    floors = {(c.name, month): f for c in inp.demand_charges for (month, _), f in zip(c.periods, c.floor_kw)}
    out = [(m.demand_floor_kw[key], floors[key]) for key in m.DEMAND if key in floors]
    return out + [(m.demand_on[c, mo, t], 1.0 if t >= k else 0.0) for c, mo, t in m.DEMAND_T]
