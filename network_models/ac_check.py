"""AC power-flow check of a schedule: apply each interval's injections and run pandapower.

Injections are given per element table (``load``, ``sgen``, ``gen``, ``storage``) in kW with
pandapower's signs (loads and storage load-referenced, sgens and gens generator-referenced).
Reactive power keeps each element's base power factor (``q = p * q_mvar / p_mw`` of the net's
base case; storage at unity; a ``gen`` holds its voltage, its reactive power is solved).
The Newton-Raphson solver is lightsim2grid's when it is installed, else pandapower's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandapower as pp
import pandas as pd

from network_models.ac_model import BACKEND, copy_net
from network_models.ac_state import AcState, solve_state


@dataclass
class Limits:
    v_min_pu: float = 0.95
    v_max_pu: float = 1.05
    max_loading_pct: float = 100.0


@dataclass
class AcCheckResult:
    """Summary of an AC check; ``intervals`` has per-interval extremes and violation counts."""

    min_vm_pu: float
    max_vm_pu: float
    max_loading_pct: float
    violations: int
    not_converged: int
    backend: str
    intervals: pd.DataFrame = field(repr=False)
    vm_pu: pd.DataFrame = field(repr=False)
    loading_pct: pd.DataFrame = field(repr=False)
    p_from_kw: pd.DataFrame = field(repr=False)  # branch flow at the from (hv) end, same columns as loading
    q_from_kvar: pd.DataFrame = field(repr=False)
    v_internal: np.ndarray = field(repr=False)  # complex bus voltages in pandapower's internal order
    internal: pp.pandapowerNet = field(repr=False)  # the net holding that internal model (see internal_model)
    limits: Limits = field(default_factory=Limits, repr=False)
    solved_intervals: int = 0  # intervals that needed a Newton-Raphson run (the rest were solved before)
    reach: tuple[list, list[str]] | None = field(default=None, repr=False)  # buses, branches assets can move

    def out_of_reach_violations(self) -> int:
        """Violations at buses and branches outside :attr:`reach` (0 when no reach is set)."""
        if self.reach is None:
            return 0
        buses, branches = self.reach
        vm = self.vm_pu.drop(columns=list(buses), errors="ignore")
        loading = self.loading_pct.drop(columns=list(branches), errors="ignore")
        with np.errstate(invalid="ignore"):
            v = int(((vm < self.limits.v_min_pu - 1e-9) | (vm > self.limits.v_max_pu + 1e-9)).to_numpy().sum())
            return v + int((loading > self.limits.max_loading_pct + 1e-9).to_numpy().sum())

    def interval_table(self) -> pd.DataFrame:
        """Per interval: lowest and highest voltage with their bus, highest loading with its
        element (``line/<i>``, ``trafo/<i>``), violation counts, convergence (NaN/empty where not converged)."""
        out = self.intervals[["min_vm_pu", "max_vm_pu", "max_loading_pct"]].copy()
        for col, frame, pick in (("min_vm_bus", self.vm_pu, np.nanargmin), ("max_vm_bus", self.vm_pu, np.nanargmax),
                                 ("max_loading_element", self.loading_pct, np.nanargmax)):
            values = frame.to_numpy()
            ok = np.isfinite(values).any(axis=1) if values.shape[1] else np.zeros(len(values), dtype=bool)
            labels = np.full(len(values), "", dtype=object)
            if ok.any():
                labels[ok] = frame.columns.to_numpy()[pick(values[ok], axis=1)]
            out[col] = labels
        out = out[["min_vm_pu", "min_vm_bus", "max_vm_pu", "max_vm_bus", "max_loading_pct", "max_loading_element"]]
        return out.join(self.intervals[["voltage_violations", "loading_violations", "converged"]])

    @property
    def reachable_violations(self) -> int:
        """Violations the flexible assets can act on (all of them when no :attr:`reach` is set)."""
        return int(self.violations) - self.out_of_reach_violations()

    def summary(self) -> dict:
        out_of_reach = self.out_of_reach_violations()
        return {
            "min_vm_pu": round(self.min_vm_pu, 5),
            "max_vm_pu": round(self.max_vm_pu, 5),
            "max_loading_pct": round(self.max_loading_pct, 3),
            "violations": int(self.violations) - out_of_reach,
            "violations_out_of_reach": out_of_reach,
            "not_converged": int(self.not_converged),
            "backend": self.backend,
        }


def with_storage(net: pp.pandapowerNet, units: list[tuple[str, int, float, float]]) -> tuple[pp.pandapowerNet, list[int]]:
    """Copy of ``net`` with one storage per ``(name, bus, p_max_kw, e_max_kwh)``; returns the copy and indices."""
    net = copy_net(net)
    idx = [
        pp.create_storage(net, bus=bus, p_mw=0.0, max_e_mwh=e_kwh / 1000.0, name=name,
                          max_p_mw=p_kw / 1000.0, min_p_mw=-p_kw / 1000.0)
        for name, bus, p_kw, e_kwh in units
    ]
    return net, idx


def ac_check(net: pp.pandapowerNet, injections: dict[str, pd.DataFrame], limits: Limits,
             key: str | None = None) -> AcCheckResult:
    """Run one AC power flow per interval (rows of the injection tables) and summarise limits.

    pandapower builds the internal model (admittances, bus types) once; each interval then only
    changes the bus power injections and is solved by Newton-Raphson (lightsim2grid's C++ solver
    when installed, else pandapower's), warm-started from the previous interval. Bus voltages,
    branch flows and loadings are computed from the solved voltages as pandapower computes them.
    The internal model is built once per network structure and intervals whose injections were
    solved before are not solved again (:mod:`network_models.ac_model`); ``key``: the net's
    :func:`network_models.ac_model.fingerprint`, when the caller keeps it (a net it never changes).
    """
    index = next(iter(injections.values())).index
    arrays = {table: (tuple(df.columns), df.to_numpy()) for table, df in injections.items()}
    return check_state(solve_state(net, arrays, key), index, limits)


def check_state(state: AcState, index: pd.DatetimeIndex, limits: Limits) -> AcCheckResult:
    """The tables and summary of the solved intervals ``state`` (rows: ``index``) against ``limits``."""
    vm, loading, converged = state.vm_pu, state.loading_pct, state.converged
    with np.errstate(invalid="ignore"):  # NaN (not converged) is no violation
        v_viol = ((vm < limits.v_min_pu - 1e-9) | (vm > limits.v_max_pu + 1e-9)).sum(axis=1)
        l_viol = (loading > limits.max_loading_pct + 1e-9).sum(axis=1)
    vm_df = pd.DataFrame(vm, index=index, columns=state.buses)
    load_df = pd.DataFrame(loading, index=index, columns=state.branches)
    intervals = pd.DataFrame(
        {
            "min_vm_pu": _row_extreme(np.fmin, vm),
            "max_vm_pu": _row_extreme(np.fmax, vm),
            "max_loading_pct": _row_extreme(np.fmax, loading),
            "voltage_violations": v_viol,
            "loading_violations": l_viol,
            "converged": converged,
        },
        index=index,
    )
    ok = converged.any()
    return AcCheckResult(
        min_vm_pu=float(np.nanmin(vm_df.to_numpy())) if ok else float("nan"),
        max_vm_pu=float(np.nanmax(vm_df.to_numpy())) if ok else float("nan"),
        max_loading_pct=float(np.nanmax(load_df.to_numpy())) if ok else float("nan"),
        violations=int(v_viol.sum() + l_viol.sum()),
        not_converged=int((~converged).sum()),
        backend=BACKEND,
        intervals=intervals,
        vm_pu=vm_df,
        loading_pct=load_df,
        p_from_kw=pd.DataFrame(state.s_from_mva.real * 1e3, index=index, columns=state.branches),
        q_from_kvar=pd.DataFrame(state.s_from_mva.imag * 1e3, index=index, columns=state.branches),
        v_internal=state.v_internal,
        internal=state.internal,
        limits=limits,
        solved_intervals=state.solved_intervals,
    )


def _row_extreme(ufunc: np.ufunc, values: np.ndarray) -> np.ndarray:
    """Per row, the smallest (``np.fmin``) or largest (``np.fmax``) value, NaN skipped (NaN where none)."""
    return ufunc.reduce(values, axis=1) if values.shape[1] else np.full(len(values), np.nan)
