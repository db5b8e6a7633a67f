"""pandapower's internal power-flow model of a net, built once per network structure, and
Newton-Raphson solutions reused for injection vectors already solved.

An AC check of a plan runs the same net many times (the state without flexibility, every round
of the AC loop, the baseline): the internal model (admittance matrices, bus types, lookups) is
built by one ``pandapower.runpp`` per distinct net (:func:`fingerprint` of its element tables)
and kept (``MODELS_KEPT``), and the voltages of every solved interval are kept per model by the
exact bytes of its bus-injection vector (``SOLUTIONS_KEPT``): an interval whose injections did
not change between rounds is not solved again.
"""

from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict

import numpy as np
import pandapower as pp
import pandas as pd
from pandapower.powerflow import LoadflowNotConverged
from pandapower.pypower.idx_bus import SL_FAC

from network_models.loading import NetworkError
from network_models.validate import NOT_CONVERGED

try:  # optional, much faster Newton-Raphson backend (C++, KLU)
    from lightsim2grid.algorithm import NR_KLU, NRSing_KLU

    BACKEND = "lightsim2grid"
except ImportError:  # pragma: no cover - depends on the installation
    from pandapower.pypower.newtonpf import newtonpf as _newtonpf

    BACKEND = "pandapower"

MODELS_KEPT = 2
SOLUTIONS_KEPT = 1000  # per model: about 10 days of 15-minute intervals
_TABLES = ("bus", "line", "trafo", "trafo3w", "switch", "ext_grid", "gen", "sgen", "load", "storage", "shunt",
           "impedance", "ward", "xward", "dcline")
_MODELS: OrderedDict[str, tuple[pp.pandapowerNet, OrderedDict[bytes, np.ndarray], dict]] = OrderedDict()


def copy_net(net: pp.pandapowerNet) -> pp.pandapowerNet:
    """Deep copy of ``net`` sharing its (read-only, large) ``profiles`` tables."""
    profiles = net.get("profiles")
    return copy.deepcopy(net, {id(profiles): profiles} if profiles is not None else {})


def fingerprint(net: pp.pandapowerNet) -> str:
    """Digest of the numbers and flags of every element table (what the internal model depends on)."""
    h = hashlib.blake2b(digest_size=16)
    for name in _TABLES:
        df = net.get(name)
        if isinstance(df, pd.DataFrame) and len(df):
            h.update(name.encode())
            h.update(_bytes(df.index.to_numpy()))
            for column, dtype in df.dtypes.items():
                if dtype.kind in "biuf":
                    h.update(str(column).encode())
                    h.update(_bytes(df[column].to_numpy()))
    return h.hexdigest()


def _bytes(values: np.ndarray) -> bytes:
    """The values' bytes (objects, e.g. a nullable column's, through pandas' stable hash)."""
    return pd.util.hash_array(values).tobytes() if values.dtype == object else np.ascontiguousarray(values).tobytes()


def internal_model(net: pp.pandapowerNet, key: str | None = None) -> pp.pandapowerNet:
    """A copy of ``net`` solved once by pandapower, holding its internal model (``net._ppc``):
    admittance matrices, bus types and the element-to-internal-bus lookups (cached per structure;
    ``key``: the net's :func:`fingerprint`, when the caller keeps it for a net it never changes)."""
    key = key or fingerprint(net)
    if key in _MODELS:
        _MODELS.move_to_end(key)
        return _MODELS[key][0]
    model = copy_net(net)
    try:
        pp.runpp(model, numba=False, max_iteration=30)
    except LoadflowNotConverged:
        raise NetworkError([NOT_CONVERGED]) from None
    _MODELS[key] = (model, OrderedDict(), {})
    while len(_MODELS) > MODELS_KEPT:
        _MODELS.popitem(last=False)
    return model


def model_memo(model: pp.pandapowerNet) -> dict:
    """A dict kept with an :func:`internal_model` while it is cached, for what callers derive from it."""
    return next((memo for m, _, memo in _MODELS.values() if m is model), {})


def solve_intervals(model: pp.pandapowerNet, sbus: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Solve every row of ``sbus`` (internal bus injections, p.u.) on an :func:`internal_model`.

    Returns voltages (NaN where not converged), convergence flags and how many rows needed a
    Newton-Raphson run (the others were solved before with the same injections).
    """
    solved = next((s for m, s, _ in _MODELS.values() if m is model), OrderedDict())
    ppci = model._ppc["internal"]
    memo = model_memo(model)
    if "newton" not in memo:
        options = {**model._options, "max_iteration": 20, "tolerance_mva": 1e-8}
        memo["newton"] = (ppci["Ybus"].tocsc(), *(np.asarray(ppci[k], dtype=np.int64) for k in ("ref", "pv", "pq")),
                          _newton(ppci, options))
    Ybus, ref, pv, pq, newton = memo["newton"]
    V = np.full(sbus.shape, np.nan, dtype=complex)
    converged = np.zeros(len(sbus), dtype=bool)
    v0, runs = ppci["V"].copy(), 0
    for k in range(len(sbus)):
        key = hashlib.blake2b(sbus[k].tobytes(), digest_size=16).digest()
        if key in solved:
            V[k], converged[k] = solved[key], True
            v0 = solved[key]
            continue
        runs += 1
        try:
            v, ok = newton(Ybus, sbus[k], v0, ref, pv, pq)
        except (RuntimeError, ValueError, ArithmeticError, np.linalg.LinAlgError):  # solver failure: not converged
            ok = False
        if ok:
            V[k], converged[k], v0 = v, True, v
            solved[key] = v
    while len(solved) > SOLUTIONS_KEPT:
        solved.popitem(last=False)
    return V, converged, runs


def _newton(ppci: dict, options: dict):
    """Newton-Raphson ``(Ybus, Sbus, V0, ref, pv, pq) -> (V, converged)``: one lightsim2grid KLU
    solver kept with the internal model for every interval it solves (its sparse analysis is
    reused), else pandapower's."""
    max_it, tol = options["max_iteration"], options["tolerance_mva"]
    if BACKEND != "lightsim2grid":  # pragma: no cover - depends on the installation
        return lambda *a: tuple(_newtonpf(*a, ppci, options)[:2])
    solver = NR_KLU() if options.get("distributed_slack", False) else NRSing_KLU()
    weights = ppci["bus"][:, SL_FAC].astype(np.float64)

    def run(Ybus, Sbus, V0, ref, pv, pq):
        solver.solve(Ybus, V0, Sbus, ref, weights, pv, pq, max_it, tol)
        return solver.get_Vm() * np.exp(1j * solver.get_Va()), bool(solver.converged())

    return run
