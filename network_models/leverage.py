"""Which monitored buses and branches the flexible assets can move (rows only where they have leverage).

An asset has leverage on a bus when, swinging its whole power range, it moves the bus voltage by
at least ``min_dv_pu`` in some interval; on a branch when it moves its loading by at least
``min_dloading_pct`` percentage points (first order, from the linear model's sensitivities).
Limits elsewhere are outside every asset's reach: the optimiser gets no rows (and no penalties)
for them, and AC violations there are reported apart (``violations_out_of_reach``), not counted
against the plan.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from network_models.linear import LinearGrid, OperatingPoint


def reach(grid: LinearGrid, range_kw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Largest voltage change (p.u.) per bus and loading change (percentage points) per branch that
    the injections can cause over their ranges ``range_kw`` (n_inj), in any interval."""
    r = np.asarray(range_kw, dtype=float)
    dv = (np.abs(grid.dvm) @ r).max(axis=0)
    dl = (np.abs(grid.dpf) @ r).max(axis=0) * 100.0 / grid.s_rated_kva
    return dv, dl


def restrict(grid: LinearGrid, point: OperatingPoint, bus_mask: np.ndarray,
             branch_mask: np.ndarray) -> tuple[LinearGrid, OperatingPoint]:
    """The linear model and operating point of the masked buses and branches only."""
    branches = [b for b, keep in zip(grid.branches, branch_mask) if keep]
    sub = replace(grid, buses=grid.buses[bus_mask], branches=branches, s_rated_kva=grid.s_rated_kva[branch_mask],
                  dvm=grid.dvm[:, bus_mask], dpf=grid.dpf[:, branch_mask], dqf=grid.dqf[:, branch_mask])
    pt = OperatingPoint(point.vm_pu[:, bus_mask], point.loading_pct[:, branch_mask], point.p_kw[:, branch_mask],
                        point.q_kvar[:, branch_mask], point.vm_from[:, branch_mask])
    return sub, pt


def with_leverage(grid: LinearGrid, point: OperatingPoint, range_kw: np.ndarray, min_dv_pu: float,
                  min_dloading_pct: float) -> tuple[LinearGrid, OperatingPoint]:
    """:func:`restrict` to the buses and branches some injection has leverage on."""
    dv, dl = reach(grid, range_kw)
    return restrict(grid, point, dv >= min_dv_pu, dl >= min_dloading_pct)
