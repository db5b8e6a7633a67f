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
from pandapower.pypower.idx_brch import F_BUS, T_BUS
from pandapower.pypower.idx_bus import BASE_KV, BUS_TYPE, NONE

from network_models.ac_model import BACKEND, copy_net, internal_model, model_memo, solve_intervals


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
    model = internal_model(net, key)
    ppci = model._ppc["internal"]
    index = next(iter(injections.values())).index
    sbus = np.tile(ppci["Sbus"], (len(index), 1))
    for table, df in injections.items():
        sbus -= _injection_change(model, table, df)
    V, converged, runs = solve_intervals(model, sbus)
    result = _results(model, index, V, converged, limits)
    result.solved_intervals = runs
    return result


def _injection_change(net: pp.pandapowerNet, table: str, df: pd.DataFrame) -> np.ndarray:
    """Change of the internal bus injection (p.u., load-referenced) per interval from new element powers."""
    m = _injection_map(net, table, tuple(df.columns))
    p_mw = df.to_numpy() / 1000.0
    dp = (p_mw - m.p0_mw) * m.factor
    dq = (p_mw * m.q_per_p - m.q0_mvar) * m.factor
    out = np.zeros((len(df), m.n_bus), dtype=complex)
    np.add.at(out.T, m.rows, (dp + 1j * dq).T)
    return out / m.base_mva


@dataclass(frozen=True)
class _InjectionMap:
    """How the elements ``columns`` of one table of an internal model reach its bus injections."""

    rows: np.ndarray  # internal bus of each element
    factor: np.ndarray  # scaling * in service * sign (-1: generator-referenced)
    p0_mw: np.ndarray
    q0_mvar: np.ndarray | float
    q_per_p: np.ndarray  # base-case power factor ratio
    n_bus: int
    base_mva: float


def _injection_map(net: pp.pandapowerNet, table: str, columns: tuple) -> _InjectionMap:
    """The :class:`_InjectionMap` of ``columns`` (made once per internal model, table and columns)."""
    maps = model_memo(net)
    key = ("injection", table, columns)
    if key not in maps:
        el = net[table].loc[list(columns)]
        sign = -1.0 if table in ("sgen", "gen") else 1.0  # generator-referenced tables inject
        scaling = el.scaling.to_numpy() if "scaling" in el else 1.0
        maps[key] = _InjectionMap(
            rows=net._pd2ppc_lookups["bus"][el.bus.to_numpy()],
            factor=scaling * el.in_service.to_numpy() * sign,
            p0_mw=el.p_mw.to_numpy(),
            q0_mvar=el.q_mvar.to_numpy() if "q_mvar" in el else 0.0,  # gen: reactive power is solved (PV bus)
            q_per_p=_power_factor(net[table]).reindex(list(columns)).fillna(0.0).to_numpy(),
            n_bus=len(net._ppc["internal"]["bus"]),
            base_mva=float(net._ppc["internal"]["baseMVA"]))
    return maps[key]


def _results(net: pp.pandapowerNet, index: pd.DatetimeIndex, V: np.ndarray, converged: np.ndarray,
             limits: Limits) -> AcCheckResult:
    ppci = net._ppc["internal"]
    lookup = net._pd2ppc_lookups["bus"]
    memo = model_memo(net)
    if "result_layout" not in memo:
        memo["result_layout"] = _result_layout(net)
    buses, rows, labels, rating, yf, yt = memo["result_layout"]
    vm = np.abs(V[:, lookup[buses]])
    br = ppci["branch"][rows]
    f, t = br[:, F_BUS].real.astype(int), br[:, T_BUS].real.astype(int)
    base = ppci["baseMVA"]
    Sf = V[:, f] * np.conj((yf @ V.T).T) * base
    St = V[:, t] * np.conj((yt @ V.T).T) * base
    kv = ppci["bus"][:, BASE_KV]
    i_f = np.abs(Sf) / (np.sqrt(3) * np.abs(V[:, f]) * kv[f])
    i_t = np.abs(St) / (np.sqrt(3) * np.abs(V[:, t]) * kv[t])
    loading = np.maximum(i_f * rating[:, 0], i_t * rating[:, 1]) * 100.0
    with np.errstate(invalid="ignore"):  # NaN (not converged) is no violation
        v_viol = ((vm < limits.v_min_pu - 1e-9) | (vm > limits.v_max_pu + 1e-9)).sum(axis=1)
        l_viol = (loading > limits.max_loading_pct + 1e-9).sum(axis=1)
    vm_df = pd.DataFrame(vm, index=index, columns=buses)
    load_df = pd.DataFrame(loading, index=index, columns=labels)
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
        p_from_kw=pd.DataFrame(Sf.real * 1e3, index=index, columns=labels),
        q_from_kvar=pd.DataFrame(Sf.imag * 1e3, index=index, columns=labels),
        v_internal=V,
        internal=net,
        limits=limits,
    )


def _row_extreme(ufunc: np.ufunc, values: np.ndarray) -> np.ndarray:
    """Per row, the smallest (``np.fmin``) or largest (``np.fmax``) value, NaN skipped (NaN where none)."""
    return ufunc.reduce(values, axis=1) if values.shape[1] else np.full(len(values), np.nan)


def _result_layout(net: pp.pandapowerNet) -> tuple:
    """What the results of an internal model read, found once per model: the energised buses,
    then :func:`_branch_rows` and the from- and to-end rows of ``Yf`` and ``Yt`` for them."""
    ppci, lookup = net._ppc["internal"], net._pd2ppc_lookups["bus"]
    energised = net.bus.in_service.to_numpy() & (ppci["bus"][lookup[net.bus.index], BUS_TYPE] != NONE)
    rows, labels, rating = _branch_rows(net)  # labels as an index: each result's tables reuse it
    return net.bus.index[energised], rows, pd.Index(labels), rating, ppci["Yf"][rows], ppci["Yt"][rows]


def _branch_rows(net: pp.pandapowerNet) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Internal branch rows of in-service lines and transformers, their labels and the factors
    turning from/to currents (kA) into loading (per unit of rating), as pandapower defines them."""
    ppci = net._ppc["internal"]
    in_service = np.flatnonzero(ppci["branch_is"]) if "branch_is" in ppci else None
    to_internal = np.full(len(net._ppc["branch"]), -1, dtype=int)
    to_internal[in_service if in_service is not None else np.arange(len(to_internal))] = \
        np.arange(len(in_service) if in_service is not None else len(to_internal))
    rows, labels, rating = [], [], []
    lookups = net._pd2ppc_lookups["branch"]
    for table in ("line", "trafo"):
        if table not in lookups:
            continue
        start, _ = lookups[table]
        df = net[table]
        pos = np.flatnonzero(df.in_service.to_numpy(dtype=bool))
        el = df.iloc[pos]
        rows.append(to_internal[start + pos])
        labels += [f"{table}/{i}" for i in el.index]
        if table == "line":
            inv = 1.0 / (el.max_i_ka * el.df * el.parallel).to_numpy()
            rating.append(np.column_stack([inv, inv]))
        else:
            rating.append(np.column_stack([el.vn_hv_kv * np.sqrt(3) / el.sn_mva, el.vn_lv_kv * np.sqrt(3) / el.sn_mva]))
    return (np.concatenate(rows).astype(int) if rows else np.zeros(0, dtype=int), labels,
            np.concatenate(rating).astype(float).reshape(-1, 2) if rating else np.zeros((0, 2)))


def _power_factor(df: pd.DataFrame) -> pd.Series:
    """Base-case ``q/p`` ratio per element (0 where p is 0 or q is missing)."""
    if "q_mvar" not in df:
        return pd.Series(0.0, index=df.index)
    ratio = df.q_mvar / df.p_mw.where(df.p_mw != 0)
    return ratio.replace([np.inf, -np.inf], np.nan).fillna(0.0)
