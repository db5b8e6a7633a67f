"""Soft limits: penalised, non-negative slack variables, so the dispatch model always has a plan.

Every limit that can conflict with another (EV energy by departure, comfort band, terminal
state, import/export caps, network limits) is written ``body + slack >= limit`` (or ``<=`` with
``- slack``) and the slack is charged in the objective. The penalties below are in objective
units per unit of violation; they are chosen to dominate every real term of the objective
(carbon intensities stay below 2 kg/kWh, prices below 2 currency/kWh), so a limit is only
violated when it cannot be met, never to save emissions or money (with demand charges they are
scaled up to stay so, :func:`gridctl.dispatch.demand.penalty_scale`):

- ``ev_energy``: 10 per kWh not delivered by departure;
- ``comfort``: 10 per kWh of thermal energy below/above the comfort band, per hour
  (``10 * capacity_kwh_per_k`` per kelvin-hour);
- ``terminal``: 2 per kWh missing from a storage's terminal target (battery SoC, thermal store),
  above the largest value a stored kWh can earn within the horizon;
- ``grid_limit``: 100 per kWh above the import or export limit (kW over the limit times hours).

:func:`violations` lists every slack above a tolerance after a solve, with its size and unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from gridctl.dispatch.result import Values, pyomo_values

PENALTY = {"ev_energy": 10.0, "comfort": 10.0, "terminal": 2.0, "grid_limit": 100.0}
TOLERANCE = 1e-6


@dataclass(frozen=True)
class SoftLimit:
    """A registered slack: what limit it relaxes, for which asset, in which unit, at what price."""

    limit: str
    asset: str | None
    unit: str
    slack: pyo.Var
    penalty: float  # objective units per unit of slack (already weighted by the interval length)
    labels: dict = field(default_factory=dict)  # slack index -> label for the report


def add_slack(blk: pyo.Block, name: str, index, *, limit: str, asset: str | None, unit: str,
              penalty: float, labels: dict | None = None, dense: bool = True) -> pyo.Var:
    """Add a non-negative slack ``blk.<name>`` over ``index`` (``None``: scalar; ``dense=False``: only
    the members used are made) and register it."""
    var = pyo.Var(within=pyo.NonNegativeReals) if index is None else pyo.Var(index, within=pyo.NonNegativeReals,
                                                                             dense=dense)
    blk.add_component(name, var)
    registry(blk.model()).append(SoftLimit(limit, asset, unit, var, penalty, labels or {}))
    return var


def registry(m: pyo.ConcreteModel) -> list[SoftLimit]:
    """The model's list of soft limits (created on first use)."""
    if "_soft_limits" not in m.__dict__:
        m.__dict__["_soft_limits"] = []
    return m.__dict__["_soft_limits"]


def penalty_expr(m: pyo.ConcreteModel):
    """Sum of every registered slack times its penalty."""
    return sum(s.penalty * s.slack[i] for s in registry(m) for i in s.slack)


def soft_columns(m: pyo.ConcreteModel, col_of: dict[int, int]) -> np.ndarray:
    """Solver columns (``col_of``: column by ``id`` of a variable) of every registered slack."""
    cols = [col_of[id(v)] for s in registry(m) for v in s.slack.values() if id(v) in col_of]
    return np.asarray(cols, dtype=np.int32)


def violations(m: pyo.ConcreteModel, index: pd.DatetimeIndex, tol: float = TOLERANCE,
               values: Values = pyomo_values) -> list[dict]:
    """Every violated soft limit after a solve: limit, asset, where (interval or label), size, unit
    (slack values read by ``values``, NaN where none; default: those the model holds)."""
    out = []
    keys_of = m.__dict__.setdefault("_soft_keys", {})  # a model's slacks keep their members
    for s in registry(m):
        time_indexed = s.slack.is_indexed() and s.slack.index_set() is m.T
        keys = keys_of.get(id(s.slack))
        if keys is None:
            keys = keys_of[id(s.slack)] = list(s.slack.keys())
        sizes = values(s.slack, keys)
        for n in np.flatnonzero(sizes > tol):  # NaN: a slack the solver never saw
            i = keys[n]
            item = {"limit": s.limit, "asset": s.asset, "size": round(float(sizes[n]), 6), "unit": s.unit}
            if time_indexed:
                item["interval_start"] = index[i].isoformat()
            elif i is not None:
                item["where"] = s.labels.get(i, str(i))
            out.append(item)
    return out
