"""Grid connection block: import and export power, soft limits, optional peak-import variable.

``m.grid_import[t]`` and ``m.grid_export[t]`` (kW, both >= 0) meet the district balance. A finite
import (export) limit, one number or one per interval, is soft: ``import[t] <= limit[t] + over[t]`` with the ``grid_limit`` penalty of
:mod:`gridctl.dispatch.soft`; the limits are mutable parameters indexed by interval (``m.import_limit_kw``,
``m.export_limit_kw``), so a re-optimisation can move them in place. With a peak-import charge, ``m.peak_import >= import[t]`` for every
``t`` and the objective charges ``peak_charge_per_kw * m.peak_import``.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from gridctl.dispatch.inputs import DispatchInputs
from gridctl.dispatch.soft import PENALTY, add_slack


def per_interval(limit_kw: float | np.ndarray, n: int) -> np.ndarray:
    """A limit given as one number or per interval, as an array of ``n`` intervals."""
    return np.broadcast_to(np.asarray(limit_kw, dtype=float), (n,)).copy()


def populate_grid(m: pyo.ConcreteModel, inp: DispatchInputs) -> None:
    """Add grid import/export variables, their soft limits and the peak-import variable to ``m``."""
    T, dt = m.T, inp.dt_h
    m.grid_import = pyo.Var(T, within=pyo.NonNegativeReals)
    m.grid_export = pyo.Var(T, within=pyo.NonNegativeReals)
    for var, limit, name in ((m.grid_import, inp.import_limit_kw, "import"), (m.grid_export, inp.export_limit_kw, "export")):
        limit = per_interval(limit, len(T))
        if np.isfinite(limit).all():
            over = add_slack(m, f"{name}_over", T, limit=f"{name}_limit", asset="grid", unit="kW",
                             penalty=PENALTY["grid_limit"] * dt)
            lim = pyo.Param(T, initialize=dict(enumerate(limit.tolist())), mutable=True)
            m.add_component(f"{name}_limit_kw", lim)
            m.add_component(f"{name}_limit", pyo.Constraint(T, rule=lambda _, t, v=var, o=over, lim=lim: v[t] <= lim[t] + o[t]))
    if inp.peak_charge_per_kw > 0:
        m.peak_import = pyo.Var(within=pyo.NonNegativeReals)
        m.peak_def = pyo.Constraint(T, rule=lambda _, t: m.peak_import >= m.grid_import[t])
