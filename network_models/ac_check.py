"""AC power-flow check of a schedule: apply each interval's injections and run pandapower.

Injections are given per element table (``load``, ``sgen``, ``storage``) in kW with pandapower's
signs (loads and storage load-referenced, sgens generator-referenced). Reactive power keeps each
element's base power factor (``q = p * q_mvar / p_mw`` of the net's base case; storage at unity).
The power flow uses lightsim2grid's solver when it is installed, else pandapower's Newton-Raphson.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import pandapower as pp
import pandas as pd

try:  # optional, much faster Newton-Raphson backend
    import lightsim2grid  # noqa: F401

    BACKEND = "lightsim2grid"
except ImportError:  # pragma: no cover - depends on the installation
    BACKEND = "pandapower"


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

    def summary(self) -> dict:
        return {
            "min_vm_pu": round(self.min_vm_pu, 5),
            "max_vm_pu": round(self.max_vm_pu, 5),
            "max_loading_pct": round(self.max_loading_pct, 3),
            "violations": int(self.violations),
            "not_converged": int(self.not_converged),
            "backend": self.backend,
        }


def with_storage(net: pp.pandapowerNet, units: list[tuple[str, int, float, float]]) -> tuple[pp.pandapowerNet, list[int]]:
    """Copy of ``net`` with one storage per ``(name, bus, p_max_kw, e_max_kwh)``; returns the copy and indices."""
    net = copy.deepcopy(net)
    idx = [
        pp.create_storage(net, bus=bus, p_mw=0.0, max_e_mwh=e_kwh / 1000.0, name=name,
                          max_p_mw=p_kw / 1000.0, min_p_mw=-p_kw / 1000.0)
        for name, bus, p_kw, e_kwh in units
    ]
    return net, idx


def ac_check(net: pp.pandapowerNet, injections: dict[str, pd.DataFrame], limits: Limits) -> AcCheckResult:
    """Run one AC power flow per interval (rows of the injection tables) and summarise limits."""
    net = copy.deepcopy(net)
    index = next(iter(injections.values())).index
    pf = {
        table: _power_factor(net[table]).reindex(df.columns).fillna(0.0).to_numpy()
        for table, df in injections.items()
    }
    lines = net.line.index[net.line.in_service]
    trafos = net.trafo.index[net.trafo.in_service]
    vm = np.full((len(index), len(net.bus)), np.nan)
    loading = np.full((len(index), len(lines) + len(trafos)), np.nan)
    converged = np.zeros(len(index), dtype=bool)
    for k in range(len(index)):
        for table, df in injections.items():
            p_mw = df.iloc[k].to_numpy() / 1000.0
            net[table].loc[df.columns, "p_mw"] = p_mw
            net[table].loc[df.columns, "q_mvar"] = p_mw * pf[table]
        try:
            pp.runpp(net, lightsim2grid=BACKEND == "lightsim2grid", init="results" if k else "auto",
                     numba=False)
        except pp.LoadflowNotConverged:
            continue
        converged[k] = True
        vm[k] = net.res_bus.vm_pu.to_numpy()
        loading[k] = np.concatenate(
            [net.res_line.loading_percent.loc[lines].to_numpy(), net.res_trafo.loading_percent.loc[trafos].to_numpy()]
        )
    bus_cols = net.bus.index
    vm_df = pd.DataFrame(vm, index=index, columns=bus_cols)
    energised = vm_df.notna().any()  # isolated buses have no result
    vm_df = vm_df.loc[:, energised]
    load_df = pd.DataFrame(loading, index=index,
                           columns=[f"line/{i}" for i in lines] + [f"trafo/{i}" for i in trafos])
    v_viol = ((vm_df < limits.v_min_pu - 1e-9) | (vm_df > limits.v_max_pu + 1e-9)).sum(axis=1)
    l_viol = (load_df > limits.max_loading_pct + 1e-9).sum(axis=1)
    intervals = pd.DataFrame(
        {
            "min_vm_pu": vm_df.min(axis=1),
            "max_vm_pu": vm_df.max(axis=1),
            "max_loading_pct": load_df.max(axis=1),
            "voltage_violations": v_viol,
            "loading_violations": l_viol,
            "converged": converged,
        },
        index=index,
    )
    return AcCheckResult(
        min_vm_pu=float(np.nanmin(vm_df.to_numpy())) if converged.any() else float("nan"),
        max_vm_pu=float(np.nanmax(vm_df.to_numpy())) if converged.any() else float("nan"),
        max_loading_pct=float(np.nanmax(load_df.to_numpy())) if converged.any() else float("nan"),
        violations=int(v_viol.sum() + l_viol.sum()),
        not_converged=int((~converged).sum()),
        backend=BACKEND,
        intervals=intervals,
        vm_pu=vm_df,
        loading_pct=load_df,
    )


def _power_factor(df: pd.DataFrame) -> pd.Series:
    """Base-case ``q/p`` ratio per element (0 where p is 0 or q is missing)."""
    if "q_mvar" not in df:
        return pd.Series(0.0, index=df.index)
    ratio = df.q_mvar / df.p_mw.where(df.p_mw != 0)
    return ratio.replace([np.inf, -np.inf], np.nan).fillna(0.0)
