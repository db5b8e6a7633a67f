"""The solved AC state of a schedule as arrays: element injections applied to the internal model,
one Newton-Raphson run per interval (:func:`network_models.ac_model.solve_intervals`), then the
energised buses' voltages and the in-service branches' flows and loadings, computed from the
solved voltages as pandapower computes them. :func:`network_models.ac_check.ac_check` builds its
tables from this state; a caller needing only voltages and loadings (one interval of a control
tick) reads them here without the tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandapower as pp
import pandas as pd
from pandapower.pypower.idx_brch import F_BUS, T_BUS
from pandapower.pypower.idx_bus import BASE_KV, BUS_TYPE, NONE

from network_models.ac_model import internal_model, model_memo, solve_intervals

# per element table (``load``, ``sgen``, ``gen``, ``storage``): its elements' indices and their
# power (kW, pandapower's signs) per interval (rows) and element (columns)
Injections = Mapping[str, tuple[tuple, np.ndarray]]


@dataclass(frozen=True)
class AcState:
    """Per interval (rows): the solved voltages and what the checks read from them."""

    internal: pp.pandapowerNet  # the internal model solved (:func:`network_models.ac_model.internal_model`)
    v_internal: np.ndarray  # complex bus voltages in internal order (NaN where not converged)
    converged: np.ndarray
    solved_intervals: int  # intervals that needed a Newton-Raphson run
    buses: pd.Index  # the energised buses, columns of ``vm_pu``
    branches: pd.Index  # in-service lines and transformers (``line/<i>``, ``trafo/<i>``), columns of the flows
    vm_pu: np.ndarray
    loading_pct: np.ndarray
    s_from_mva: np.ndarray  # complex branch flow at the from (hv) end


def solve_state(net: pp.pandapowerNet, injections: Injections, key: str | None = None) -> AcState:
    """Solve every interval of ``injections`` on ``net`` (``key``: its fingerprint when the caller
    keeps it, :func:`network_models.ac_model.internal_model`)."""
    model = internal_model(net, key)
    n = len(next(iter(injections.values()))[1])
    sbus = np.tile(model._ppc["internal"]["Sbus"], (n, 1))
    for table, (elements, p_kw) in injections.items():
        sbus -= _injection_change(model, table, elements, p_kw)
    V, converged, runs = solve_intervals(model, sbus)
    memo = model_memo(model)
    if "result_layout" not in memo:
        memo["result_layout"] = _result_layout(model)
    buses, rows, branches, rating, yf, yt = memo["result_layout"]
    ppci = model._ppc["internal"]
    vm = np.abs(V[:, model._pd2ppc_lookups["bus"][buses]])
    br = ppci["branch"][rows]
    f, t = br[:, F_BUS].real.astype(int), br[:, T_BUS].real.astype(int)
    base = ppci["baseMVA"]
    Sf = V[:, f] * np.conj((yf @ V.T).T) * base
    St = V[:, t] * np.conj((yt @ V.T).T) * base
    kv = ppci["bus"][:, BASE_KV]
    i_f = np.abs(Sf) / (np.sqrt(3) * np.abs(V[:, f]) * kv[f])
    i_t = np.abs(St) / (np.sqrt(3) * np.abs(V[:, t]) * kv[t])
    loading = np.maximum(i_f * rating[:, 0], i_t * rating[:, 1]) * 100.0
    return AcState(model, V, converged, runs, buses, branches, vm, loading, Sf)


def _injection_change(net: pp.pandapowerNet, table: str, elements: tuple, p_kw: np.ndarray) -> np.ndarray:
    """Change of the internal bus injection (p.u., load-referenced) per interval from new element powers."""
    m = _injection_map(net, table, elements)
    p_mw = p_kw / 1000.0
    dp = (p_mw - m.p0_mw) * m.factor
    dq = (p_mw * m.q_per_p - m.q0_mvar) * m.factor
    out = np.zeros((len(p_kw), m.n_bus), dtype=complex)
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
