"""Jacobian sensitivities (any topology): the inverse of pandapower's Newton-Raphson power-flow
Jacobian at each interval's AC voltages maps injection changes to angle and magnitude changes,
and the branch-flow derivatives (``dSbr_dV``) map those to flow changes (see
:mod:`network_models.linear` for the model and its use).

Reuse: an interval whose complex bus voltages differ from the last linearised interval's by
less than ``REUSE_TOL_PU`` everywhere takes that interval's sensitivities (they change with the
state only to first order, so the difference is of second order in a change that small);
quiet hours of a day are linearised once.
"""

from __future__ import annotations

import numpy as np
import pandapower as pp
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from pandapower.pypower.dSbr_dV import dSbr_dV
from pandapower.pypower.dSbus_dV import dSbus_dV
from pandapower.pypower.idx_brch import F_BUS

from network_models.linear import (
    S_BASE_KVA,
    LinearGrid,
    _q_ratio,
    branch_labels,
    rated_power_kva,
    split_labels,
)

DENSE_MAX_BUSES = 400  # dense linear algebra up to this many internal buses
REUSE_TOL_PU = 2e-3  # largest voltage difference (complex, p.u.) at which an interval reuses a linearisation


def jacobian_sensitivities(net: pp.pandapowerNet, v_internal: np.ndarray, inj_buses, q_per_p=None) -> LinearGrid:
    """Sensitivities from the power-flow Jacobian at each row of ``v_internal``.

    ``net`` must hold pandapower's internal model of the AC runs that produced ``v_internal``
    (complex voltages in internal bus order, one row per interval): ``ac.internal`` and
    ``ac.v_internal`` of an :class:`~network_models.ac_check.AcCheckResult`.
    """
    inj_buses = np.asarray(inj_buses, dtype=int)
    ppc = net._ppc["internal"]
    lookup = net._pd2ppc_lookups["bus"]
    Ybus, Yf, Yt, branch = ppc["Ybus"], ppc["Yf"], ppc["Yt"], ppc["branch"]
    pv, pq = np.asarray(ppc["pv"], dtype=int), np.asarray(ppc["pq"], dtype=int)
    pvpq = np.r_[pv, pq]
    energised = np.isin(lookup[net.bus.index], np.r_[pvpq, ppc["ref"]]) & net.bus.in_service.to_numpy()
    buses = net.bus.index[energised].to_numpy()
    bus_rows = lookup[buses]
    labels = branch_labels(net)
    line_start, _ = net._pd2ppc_lookups["branch"]["line"]
    trafo_start, _ = net._pd2ppc_lookups["branch"].get("trafo", (0, 0))
    is_line, idx = split_labels(labels)
    br_rows = np.where(is_line, line_start + net.line.index.get_indexer(idx),
                       trafo_start + net.trafo.index.get_indexer(idx))
    q = _q_ratio(q_per_p, len(inj_buses))
    inj_rows = lookup[inj_buses]
    n_pvpq = len(pvpq)
    # right-hand sides: generator-referenced injection change per kW of load-referenced power
    rhs = np.zeros((n_pvpq + len(pq), len(inj_buses)))
    at_pvpq = {b: n for n, b in enumerate(pvpq)}
    at_pq = {b: n for n, b in enumerate(pq)}
    for c, b in enumerate(inj_rows):
        if b in at_pvpq:
            rhs[at_pvpq[b], c] = -1.0 / S_BASE_KVA
        if b in at_pq:
            rhs[n_pvpq + at_pq[b], c] = -q[c] / S_BASE_KVA
    n_t = v_internal.shape[0]
    dvm = np.zeros((n_t, len(buses), len(inj_buses)))
    dpf = np.zeros((n_t, len(labels), len(inj_buses)))
    dqf = np.zeros_like(dpf)
    n_bus = Ybus.shape[0]
    dense = n_bus <= DENSE_MAX_BUSES  # small nets: dense algebra beats sparse bookkeeping
    Yf, Yt, branch = Yf[br_rows], Yt[br_rows], branch[br_rows]
    from_rows = branch[:, F_BUS].real.astype(int)
    if dense:
        Ybus, Yf = Ybus.toarray(), Yf.toarray()
    last, v_last = -1, None
    for t in range(n_t):
        V = v_internal[t]
        if not np.isfinite(V).all():
            continue  # not converged: no sensitivities (rows are screened out)
        if v_last is not None and np.max(np.abs(V - v_last)) < REUSE_TOL_PU:
            dvm[t], dpf[t], dqf[t] = dvm[last], dpf[last], dqf[last]
            continue
        last, v_last = t, V
        if dense:
            dS_dVm, dS_dVa, dSf_dVa, dSf_dVm = _dense_derivatives(Ybus, Yf, from_rows, V)
        else:
            dS_dVm, dS_dVa = dSbus_dV(Ybus, V)
            dSf_dVa, dSf_dVm, *_ = dSbr_dV(branch, Yf, Yt, V)
        x = _solve_jacobian(dS_dVm, dS_dVa, pvpq, pq, rhs, dense)
        dva = np.zeros((n_bus, len(inj_buses)))
        dvm_all = np.zeros_like(dva)
        dva[pvpq] = x[:n_pvpq]
        dvm_all[pq] = x[n_pvpq:]
        dSf = (_matmul(dSf_dVa, dva, dense) + _matmul(dSf_dVm, dvm_all, dense)) * S_BASE_KVA
        dvm[t] = dvm_all[bus_rows]
        dpf[t] = dSf.real
        dqf[t] = dSf.imag
    return LinearGrid("sensitivity", buses, labels, inj_buses, rated_power_kva(net, labels), dvm, dpf, dqf)


def _dense_derivatives(Y: np.ndarray, Yf: np.ndarray, f: np.ndarray, V: np.ndarray):
    """Derivatives of bus injections and from-end branch flows w.r.t. voltage magnitude and angle
    (MATPOWER's complex-matrix formulas, dense): ``dS_dVm, dS_dVa, dSf_dVa, dSf_dVm``."""
    vn = V / np.abs(V)
    current = (Y * V[None, :]).sum(axis=1)  # elementwise, not BLAS: no thread start-up on small nets
    dS_dVm = V[:, None] * np.conj(Y * vn[None, :]) + np.diag(np.conj(current) * vn)
    dS_dVa = 1j * V[:, None] * np.conj(np.diag(current) - Y * V[None, :])
    i_f = (Yf * V[None, :]).sum(axis=1)
    at_from = np.zeros(Yf.shape, dtype=complex)
    rows = np.arange(len(f))
    at_from[rows, f] = 1.0
    dSf_dVa = 1j * (np.conj(i_f)[:, None] * at_from * V[None, :] - V[f][:, None] * np.conj(Yf * V[None, :]))
    dSf_dVm = V[f][:, None] * np.conj(Yf * vn[None, :]) + np.conj(i_f)[:, None] * at_from * vn[None, :]
    return dS_dVm, dS_dVa, dSf_dVa, dSf_dVm


def _matmul(a, b: np.ndarray, dense: bool) -> np.ndarray:
    return np.einsum("ij,jk->ik", a, b) if dense else a @ b


def _solve_jacobian(dS_dVm, dS_dVa, pvpq: np.ndarray, pq: np.ndarray, rhs: np.ndarray, dense: bool) -> np.ndarray:
    """Solve the Newton-Raphson Jacobian (rows P at pv+pq, Q at pq; columns angle, magnitude) for ``rhs``."""
    if dense:  # SuperLU on the sparse pattern: single-threaded, no BLAS thread contention
        J = sp.csc_matrix(np.block([[dS_dVa[np.ix_(pvpq, pvpq)].real, dS_dVm[np.ix_(pvpq, pq)].real],
                                    [dS_dVa[np.ix_(pq, pvpq)].imag, dS_dVm[np.ix_(pq, pq)].imag]]))
        return spla.splu(J).solve(rhs)
    J = sp.vstack([
        sp.hstack([dS_dVa[pvpq][:, pvpq].real, dS_dVm[pvpq][:, pq].real]),
        sp.hstack([dS_dVa[pq][:, pvpq].imag, dS_dVm[pq][:, pq].imag]),
    ]).tocsc()
    return spla.splu(J).solve(rhs)
