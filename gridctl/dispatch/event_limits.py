"""Grid-operator limits per interval (OpenADR ``IMPORT_CAPACITY_LIMIT`` / ``EXPORT_CAPACITY_LIMIT``).

``import[t] <= event_import_limit_kw[t] + over[t]`` (likewise export) for every interval with a
finite limit. The slack's penalty, ``EVENT_PENALTY`` per kWh over the limit, is a hundred times
the configured connection limit's and dominates every other term and soft limit of the objective
(EV energy and comfort at 10, terminal targets at 2 per kWh), so the plan meets the operator's
limit whenever any plan can (a hard limit where feasible) and breaks it only by what no
flexibility can avoid; :func:`gridctl.dispatch.soft.violations` reports every interval where it
does (``event_import_limit`` / ``event_export_limit``, kW).
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from gridctl.dispatch.inputs import DispatchInputs
from gridctl.dispatch.soft import add_slack

EVENT_PENALTY = 1e4  # objective units per kWh over an operator's limit


def add_event_limits(m: pyo.ConcreteModel, inp: DispatchInputs) -> None:
    """Add the per-interval import and export limits of ``inp`` (NaN: no limit) to ``m``."""
    for name, limits, var in (("import", inp.event_import_limit_kw, m.grid_import),
                              ("export", inp.event_export_limit_kw, m.grid_export)):
        if limits is None or not np.isfinite(limits).any():
            continue
        over = add_slack(m, f"event_{name}_over", m.T, limit=f"event_{name}_limit", asset="grid", unit="kW",
                         penalty=EVENT_PENALTY * inp.dt_h)

        def rule(_, t, v=var, o=over, lim=limits):
            return v[t] <= float(lim[t]) + o[t] if np.isfinite(lim[t]) else pyo.Constraint.Skip

        m.add_component(f"event_{name}_limit", pyo.Constraint(m.T, rule=rule))


def event_limits_key(inp: DispatchInputs) -> tuple:
    """The finite event limits of ``inp`` by interval start (a held model with other ones is rebuilt)."""
    out = []
    for limits in (inp.event_import_limit_kw, inp.event_export_limit_kw):
        finite = [] if limits is None else [(inp.index[t], float(v)) for t, v in enumerate(limits) if np.isfinite(v)]
        out.append(tuple(finite))
    return tuple(out)
