"""AC power-flow check of a schedule: apply each interval's injections and run pandapower.

Injections are given per element table (``load``, ``sgen``, ``storage``) in kW with pandapower's
signs (loads and storage load-referenced, sgens generator-referenced). Reactive power keeps each
element's base power factor (``q = p * q_mvar / p_mw`` of the net's base case; storage at unity).
The Newton-Raphson solver is lightsim2grid's when it is installed, else pandapower's.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import pandapower as pp
import pandas as pd
from pandapower.pypower.idx_brch import F_BUS, T_BUS
from pandapower.powerflow import LoadflowNotConverged
from pandapower.pypower.idx_bus import BASE_KV, BUS_TYPE, NONE

from network_models.loading import NetworkError
from network_models.validate import NOT_CONVERGED

try:  # optional, much faster Newton-Raphson backend (C++)
    from lightsim2grid.newtonpf import newtonpf_new as _newtonpf

    BACKEND = "lightsim2grid"
except ImportError:  # pragma: no cover - depends on the installation
    from pandapower.pypower.newtonpf import newtonpf as _newtonpf

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
    p_from_kw: pd.DataFrame = field(repr=False)  # branch flow at the from (hv) end, same columns as loading
    q_from_kvar: pd.DataFrame = field(repr=False)
    v_internal: np.ndarray = field(repr=False)  # complex bus voltages in pandapower's internal order
    internal: pp.pandapowerNet = field(repr=False)  # the net holding that internal model (see internal_model)

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


def internal_model(net: pp.pandapowerNet) -> pp.pandapowerNet:
    """A copy of ``net`` solved once by pandapower, holding its internal model (``net._ppc``):
    admittance matrices, bus types and the element-to-internal-bus lookups."""
    net = copy.deepcopy(net)
    try:
        pp.runpp(net, numba=False, max_iteration=30)
    except LoadflowNotConverged:
        raise NetworkError([NOT_CONVERGED]) from None
    return net


def ac_check(net: pp.pandapowerNet, injections: dict[str, pd.DataFrame], limits: Limits) -> AcCheckResult:
    """Run one AC power flow per interval (rows of the injection tables) and summarise limits.

    pandapower builds the internal model (admittances, bus types) once; each interval then only
    changes the bus power injections and is solved by Newton-Raphson (lightsim2grid's C++ solver
    when installed, else pandapower's), warm-started from the previous interval. Bus voltages,
    branch flows and loadings are computed from the solved voltages as pandapower computes them.
    """
    model = internal_model(net)
    ppci = model._ppc["internal"]
    index = next(iter(injections.values())).index
    sbus = np.tile(ppci["Sbus"], (len(index), 1))
    for table, df in injections.items():
        sbus -= _injection_change(model, table, df)
    V, converged = _solve_all(model, sbus)
    return _results(model, index, V, converged, limits)


def _injection_change(net: pp.pandapowerNet, table: str, df: pd.DataFrame) -> np.ndarray:
    """Change of the internal bus injection (p.u., load-referenced) per interval from new element powers."""
    el = net[table].loc[df.columns]
    q_per_p = _power_factor(net[table]).reindex(df.columns).fillna(0.0).to_numpy()
    factor = (el.scaling.to_numpy() if "scaling" in el else 1.0) * el.in_service.to_numpy()
    sign = -1.0 if table in ("sgen", "gen") else 1.0  # generator-referenced tables inject
    p_mw = df.to_numpy() / 1000.0
    dp = (p_mw - el.p_mw.to_numpy()) * factor * sign
    q_mvar = el.q_mvar.to_numpy() if "q_mvar" in el else 0.0  # gen: reactive power is solved (PV bus)
    dq = (p_mw * q_per_p - q_mvar) * factor * sign
    rows = net._pd2ppc_lookups["bus"][el.bus.to_numpy()]
    n_bus = len(net._ppc["internal"]["bus"])
    out = np.zeros((len(df), n_bus), dtype=complex)
    np.add.at(out.T, rows, (dp + 1j * dq).T)
    return out / net._ppc["internal"]["baseMVA"]


def _solve_all(net: pp.pandapowerNet, sbus: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ppci = net._ppc["internal"]
    Ybus = ppci["Ybus"].tocsc()
    ref, pv, pq = (np.asarray(ppci[k], dtype=np.int64) for k in ("ref", "pv", "pq"))
    options = {**net._options, "max_iteration": 20, "tolerance_mva": 1e-8}
    V = np.full(sbus.shape, np.nan, dtype=complex)
    converged = np.zeros(len(sbus), dtype=bool)
    v0 = ppci["V"].copy()
    for k in range(len(sbus)):
        try:
            v, ok, *_ = _newtonpf(Ybus, sbus[k], v0, ref, pv, pq, ppci, options)
        except (RuntimeError, ValueError, ArithmeticError, np.linalg.LinAlgError):  # solver failure: not converged
            ok = False
        if ok:
            V[k], converged[k], v0 = v, True, v
    return V, converged


def _results(net: pp.pandapowerNet, index: pd.DatetimeIndex, V: np.ndarray, converged: np.ndarray,
             limits: Limits) -> AcCheckResult:
    ppci = net._ppc["internal"]
    lookup = net._pd2ppc_lookups["bus"]
    energised = net.bus.in_service.to_numpy() & (ppci["bus"][lookup[net.bus.index], BUS_TYPE] != NONE)
    vm_df = pd.DataFrame(np.abs(V[:, lookup[net.bus.index[energised]]]), index=index,
                         columns=net.bus.index[energised])
    rows, labels, rating = _branch_rows(net)
    br = ppci["branch"][rows]
    f, t = br[:, F_BUS].real.astype(int), br[:, T_BUS].real.astype(int)
    base = ppci["baseMVA"]
    Sf = V[:, f] * np.conj((ppci["Yf"][rows] @ V.T).T) * base
    St = V[:, t] * np.conj((ppci["Yt"][rows] @ V.T).T) * base
    kv = ppci["bus"][:, BASE_KV]
    i_f = np.abs(Sf) / (np.sqrt(3) * np.abs(V[:, f]) * kv[f])
    i_t = np.abs(St) / (np.sqrt(3) * np.abs(V[:, t]) * kv[t])
    load_df = pd.DataFrame(np.maximum(i_f * rating[:, 0], i_t * rating[:, 1]) * 100.0, index=index, columns=labels)
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
        p_from_kw=pd.DataFrame(Sf.real * 1e3, index=index, columns=labels),
        q_from_kvar=pd.DataFrame(Sf.imag * 1e3, index=index, columns=labels),
        v_internal=V,
        internal=net,
    )


def _branch_rows(net: pp.pandapowerNet) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Internal branch rows of in-service lines and transformers, their labels and the factors
    turning from/to currents (kA) into loading (per unit of rating), as pandapower defines them."""
    in_service = np.flatnonzero(net._ppc["internal"]["branch_is"]) if "branch_is" in net._ppc["internal"] else None
    internal_row = {int(r): n for n, r in enumerate(in_service)} if in_service is not None else None
    rows, labels, rating = [], [], []
    lookups = net._pd2ppc_lookups["branch"]
    for table in ("line", "trafo"):
        if table not in lookups:
            continue
        start, _ = lookups[table]
        df = net[table]
        for pos, (i, el) in enumerate(df.iterrows()):
            if not el.in_service:
                continue
            r = start + pos
            rows.append(internal_row[r] if internal_row is not None else r)
            labels.append(f"{table}/{i}")
            if table == "line":
                inv = 1.0 / (el.max_i_ka * el.df * el.parallel)
                rating.append((inv, inv))
            else:
                rating.append((el.vn_hv_kv * np.sqrt(3) / el.sn_mva, el.vn_lv_kv * np.sqrt(3) / el.sn_mva))
    return np.array(rows, dtype=int), labels, np.array(rating, dtype=float).reshape(-1, 2)


def _power_factor(df: pd.DataFrame) -> pd.Series:
    """Base-case ``q/p`` ratio per element (0 where p is 0 or q is missing)."""
    if "q_mvar" not in df:
        return pd.Series(0.0, index=df.index)
    ratio = df.q_mvar / df.p_mw.where(df.p_mw != 0)
    return ratio.replace([np.inf, -np.inf], np.nan).fillna(0.0)
