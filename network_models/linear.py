"""Linear grid models: bus voltages and branch flows as linear functions of bus injections.

The optimiser needs, for every interval ``t``, monitored bus ``k`` and branch ``l`` (in-service
lines and transformers)::

    vm[t, k]     = vm0[t, k] + sum_b dvm[t, k, b] * p[t, b]        (p.u.)
    p_from[t, l] = p0[t, l]  + sum_b dpf[t, l, b] * p[t, b]        (kW, at the from/hv end)
    q_from[t, l] = q0[t, l]  + sum_b dqf[t, l, b] * p[t, b]        (kvar)

where ``p[t, b]`` is the load-referenced active power (kW, + = consuming) that the controllable
devices add at injection bus ``b`` and ``(vm0, p0, q0)`` is an operating point, normally an AC
power flow of the same interval without that flexibility. Devices draw reactive power
``q = q_per_p[b] * p`` (``q_per_p = tan(acos(cos_phi))``, positive = inductive, 0 at unity power
factor), so every sensitivity is per kW of active power with its reactive share included.

Two models give the sensitivities (:class:`LinearGrid`):

- **LinDistFlow** (:func:`lindistflow`, radial nets only): branch flows are the sums of the
  injections downstream (lossless), and the voltage drops along the path from the slack by
  ``(r * P + x * Q) / V``. The topology honours open switches (line, transformer and bus-bus);
  buses joined by closed bus-bus switches are one node, and parallel branches between the same
  two nodes are one equivalent branch whose flow splits by admittance magnitude. Transformer
  impedances come from ``vk_percent``/``vkr_percent``; off-nominal tap ratios, shunts and line
  charging are ignored. The sensitivities are the same for every interval. A net with a loop
  raises ``ValueError``.
- **Jacobian sensitivities** (:func:`network_models.jacobian.jacobian_sensitivities`, any topology): the inverse of
  pandapower's Newton-Raphson power-flow Jacobian at each interval's AC voltages maps injection
  changes to angle and magnitude changes, and the branch-flow derivatives (``dSbr_dV``) map those
  to flow changes. First-order exact around the operating point, including losses, tap ratios,
  shunts and charging.

Both are linearisations: the error grows with the square of the distance from the operating
point. Loading is ``|S| / (S_rated * vm)`` (current-based, as pandapower reports it): the change
of the from end's ``|S|`` is added to the AC loading of the operating point, so where the other
end carries more current (charging of a lightly loaded cable) that difference stays at its
operating value. The optimiser bounds ``p_from`` with ``q_from`` held at its operating value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandapower as pp
import scipy.sparse as sp
import scipy.sparse.linalg as spla

S_BASE_KVA = 1000.0  # pandapower's internal base (1 MVA), in kVA


@dataclass
class LinearGrid:
    """Sensitivities of bus voltages and branch flows to load-referenced bus injections.

    Arrays have a leading time axis of length 1 (constant, LinDistFlow) or one per interval.
    """

    method: str
    buses: np.ndarray  # pandapower bus index per monitored bus
    branches: list[str]  # "line/<i>" and "trafo/<i>", as in AC check results
    inj_buses: np.ndarray  # pandapower bus index per injection column
    s_rated_kva: np.ndarray  # branch rating at 1 p.u. voltage (lines: sqrt(3) vn max_i df parallel)
    dvm: np.ndarray  # (T|1, n_bus, n_inj) p.u. per kW
    dpf: np.ndarray  # (T|1, n_branch, n_inj) kW per kW
    dqf: np.ndarray  # (T|1, n_branch, n_inj) kvar per kW

    def predict(self, point: OperatingPoint, p_kw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Voltages (T, n_bus) and loadings in % (T, n_branch) for injections ``p_kw`` (T, n_inj).

        Loading is the operating point's AC loading plus the change of ``|S|/(S_rated * vm)``.
        """
        p = np.asarray(p_kw, dtype=float)
        vm = point.vm_pu + np.einsum("tkb,tb->tk", self.dvm, p)
        pf = point.p_kw + np.einsum("tlb,tb->tl", self.dpf, p)
        qf = point.q_kvar + np.einsum("tlb,tb->tl", self.dqf, p)
        scale = 100.0 / (self.s_rated_kva * point.vm_from)
        loading = point.loading_pct + (np.hypot(pf, qf) - np.hypot(point.p_kw, point.q_kvar)) * scale
        return vm, loading


@dataclass
class OperatingPoint:
    """AC state per interval, aligned with a :class:`LinearGrid`'s buses and branches."""

    vm_pu: np.ndarray  # (T, n_bus)
    loading_pct: np.ndarray  # (T, n_branch)
    p_kw: np.ndarray  # (T, n_branch) from-end active flow
    q_kvar: np.ndarray  # (T, n_branch) from-end reactive flow
    vm_from: np.ndarray  # (T, n_branch) voltage at the from end, p.u.

    @classmethod
    def from_ac(cls, ac, grid: LinearGrid, net: pp.pandapowerNet) -> OperatingPoint:
        """Take the state from an :class:`~network_models.ac_check.AcCheckResult` of ``net``."""
        vm_all = ac.vm_pu.reindex(columns=net.bus.index)
        from_bus = branch_from_buses(net, grid.branches)
        return cls(
            vm_pu=ac.vm_pu[grid.buses].to_numpy(),
            loading_pct=ac.loading_pct[grid.branches].to_numpy(),
            p_kw=ac.p_from_kw[grid.branches].to_numpy(),
            q_kvar=ac.q_from_kvar[grid.branches].to_numpy(),
            vm_from=vm_all[from_bus].to_numpy(),
        )


def branch_labels(net: pp.pandapowerNet) -> list[str]:
    """Labels of the in-service lines and transformers, in AC-check order."""
    return [f"line/{i}" for i in net.line.index[net.line.in_service]] + [
        f"trafo/{i}" for i in net.trafo.index[net.trafo.in_service]
    ]


def split_labels(labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Whether each label is a line, and its table index."""
    kinds, idx = zip(*(lab.split("/") for lab in labels)) if labels else ((), ())
    return np.array(kinds) == "line", np.array(idx, dtype=int)


def branch_from_buses(net: pp.pandapowerNet, labels: list[str]) -> np.ndarray:
    """From bus (lines) or high-voltage bus (transformers) of each labelled branch."""
    is_line, idx = split_labels(labels)
    out = np.empty(len(labels), dtype=int)
    out[is_line] = net.line.from_bus.reindex(idx[is_line]).to_numpy()
    out[~is_line] = net.trafo.hv_bus.reindex(idx[~is_line]).to_numpy()
    return out


def rated_power_kva(net: pp.pandapowerNet, labels: list[str]) -> np.ndarray:
    """Branch ratings at 1 p.u. voltage: lines ``sqrt(3) vn max_i_ka df parallel``, transformers ``sn``."""
    is_line, idx = split_labels(labels)
    out = np.empty(len(labels))
    ln = net.line.reindex(idx[is_line])
    vn = net.bus.vn_kv.reindex(ln.from_bus).to_numpy()
    out[is_line] = np.sqrt(3) * vn * (ln.max_i_ka * ln.df * ln.parallel).to_numpy() * 1000.0
    out[~is_line] = net.trafo.sn_mva.reindex(idx[~is_line]).to_numpy() * 1000.0
    return out


def tan_phi(cos_phi: np.ndarray | float) -> np.ndarray:
    """Reactive per active power for a power factor (sign of ``cos_phi``: negative = capacitive)."""
    c = np.asarray(cos_phi, dtype=float)
    if np.any((np.abs(c) <= 0) | (np.abs(c) > 1)):
        raise ValueError(f"power factor must be in (0, 1] (negative: capacitive), got {cos_phi!r}")
    return np.sign(c) * np.sqrt(1.0 - c**2) / np.abs(c)


def _q_ratio(q_per_p, n: int) -> np.ndarray:
    return np.zeros(n) if q_per_p is None else np.broadcast_to(np.asarray(q_per_p, dtype=float), (n,))


# --------------------------------------------------------------------------- LinDistFlow


def _find(parent: dict[int, int], b: int) -> int:
    while parent[b] != b:
        parent[b] = parent[parent[b]]
        b = parent[b]
    return b


def _nodes(net: pp.pandapowerNet) -> dict[int, int]:
    """Map every in-service bus to its node (buses joined by closed bus-bus switches share one)."""
    parent = {int(b): int(b) for b in net.bus.index[net.bus.in_service]}
    sw = net.switch[(net.switch.et == "b") & net.switch.closed]
    for a, b in zip(sw.bus, sw.element):
        if a in parent and b in parent:
            parent[_find(parent, int(a))] = _find(parent, int(b))
    return {b: _find(parent, b) for b in parent}


def _edges(net: pp.pandapowerNet, node: dict[int, int]) -> list[tuple[str, int, int, int, complex]]:
    """Closed, in-service branches as ``(label, from_node, to_node, table index, z in p.u.)``."""
    open_sw = net.switch[~net.switch.closed.astype(bool)]
    open_lines = set(open_sw.element[open_sw.et == "l"])
    open_trafos = set(open_sw.element[open_sw.et == "t"])
    out = []
    for i, ln in net.line[net.line.in_service].iterrows():
        if i in open_lines or ln.from_bus not in node or ln.to_bus not in node:
            continue
        z_base = net.bus.vn_kv[ln.from_bus] ** 2 / (S_BASE_KVA / 1000.0)
        z = (ln.r_ohm_per_km + 1j * ln.x_ohm_per_km) * ln.length_km / ln.parallel / z_base
        out.append((f"line/{i}", node[ln.from_bus], node[ln.to_bus], i, z))
    for i, tr in net.trafo[net.trafo.in_service].iterrows():
        if i in open_trafos or tr.hv_bus not in node or tr.lv_bus not in node:
            continue
        scale = (S_BASE_KVA / 1000.0) / tr.sn_mva / tr.parallel
        r = tr.vkr_percent / 100.0 * scale
        z_abs = tr.vk_percent / 100.0 * scale
        out.append((f"trafo/{i}", node[tr.hv_bus], node[tr.lv_bus], i, complex(r, np.sqrt(max(z_abs**2 - r**2, 0.0)))))
    return out


def lindistflow(net: pp.pandapowerNet, inj_buses, q_per_p=None) -> LinearGrid:
    """LinDistFlow sensitivities of a radial net for injections at ``inj_buses``.

    Raises ``ValueError`` when the closed, in-service topology has a loop or the slack is not unique.
    """
    inj_buses = np.asarray(inj_buses, dtype=int)
    node = _nodes(net)
    slack = net.ext_grid[net.ext_grid.in_service]
    if len(slack) != 1:
        raise ValueError(f"LinDistFlow needs exactly one in-service external grid, found {len(slack)}")
    root = node[int(slack.bus.iloc[0])]
    edges = _edges(net, node)
    groups: dict[frozenset, list[int]] = {}
    for n, (_, a, b, _, _) in enumerate(edges):
        if a != b:
            groups.setdefault(frozenset((a, b)), []).append(n)
    adj: dict[int, list[frozenset]] = {}
    for key in groups:
        for v in key:
            adj.setdefault(v, []).append(key)
    # breadth-first tree from the slack node; a group reaching a visited node closes a loop
    order, parent_group, seen = [root], {}, {root}
    for v in order:
        for key in adj.get(v, []):
            (w,) = key - {v}
            if key == parent_group.get(v):
                continue
            if w in seen:
                labels = [edges[n][0] for n in groups[key]]
                raise ValueError(f"net is not radial: {labels} close a loop; use the Jacobian sensitivities")
            seen.add(w)
            parent_group[w] = key
            order.append(w)
    pos = {v: n for n, v in enumerate(order)}
    n_nodes = len(order)
    # child-of matrix C[parent, child]; subtree incidence E = (I - C)^-1 (E[c, n]: n below c's edge)
    children = np.array([pos[w] for w in order[1:]])
    parents = np.array([pos[next(iter(parent_group[w] - {w}))] for w in order[1:]])
    C = sp.csr_matrix((np.ones(len(children)), (parents, children)), shape=(n_nodes, n_nodes))
    M = (sp.identity(n_nodes, format="csr") - C).tocsr()
    z_edge = np.zeros(n_nodes, dtype=complex)  # equivalent impedance of the edge above each node
    for w in order[1:]:
        z_edge[pos[w]] = 1.0 / sum(1.0 / edges[n][4] for n in groups[parent_group[w]])
    inj_nodes = np.array([pos[node[int(b)]] if node.get(int(b)) in pos else -1 for b in inj_buses])
    if (inj_nodes < 0).any():
        raise ValueError(f"injection buses {inj_buses[inj_nodes < 0].tolist()} are not connected to the slack")
    rhs = np.zeros((n_nodes, len(inj_buses)))
    rhs[inj_nodes, np.arange(len(inj_buses))] = 1.0
    E_inj = spla.spsolve_triangular(M, rhs, lower=False)  # flow of each node's edge per unit injection
    q = _q_ratio(q_per_p, len(inj_buses))
    drop = (z_edge.real[:, None] + z_edge.imag[:, None] * q[None, :]) * E_inj / S_BASE_KVA
    dv_node = -spla.spsolve_triangular(M.T.tocsr(), drop, lower=True)  # sum of drops along each path
    buses = np.array([b for b in net.bus.index if node.get(int(b)) in pos], dtype=int)
    dvm = dv_node[[pos[node[int(b)]] for b in buses]]
    labels = branch_labels(net)
    dpf = np.zeros((len(labels), len(inj_buses)))
    dqf = np.zeros_like(dpf)
    row = {lab: n for n, lab in enumerate(labels)}
    for w in order[1:]:
        members = groups[parent_group[w]]
        y = np.array([abs(1.0 / edges[n][4]) for n in members])
        for n, share in zip(members, y / y.sum()):
            label, a, _, _, _ = edges[n]
            sign = 1.0 if a != w else -1.0  # + when the branch's from end is the upstream node
            dpf[row[label]] = sign * share * E_inj[pos[w]]
            dqf[row[label]] = sign * share * E_inj[pos[w]] * q
    return LinearGrid("lindistflow", buses, labels, inj_buses, rated_power_kva(net, labels),
                      dvm[None], dpf[None], dqf[None])


def linear_grid(method: str, net: pp.pandapowerNet, ac, inj_buses, q_per_p=None) -> LinearGrid:
    """The configured linear model (``"lindistflow"`` or ``"sensitivity"``) around AC result ``ac``."""
    if method == "lindistflow":
        return lindistflow(net, inj_buses, q_per_p)
    if method == "sensitivity":
        from network_models.jacobian import (
            jacobian_sensitivities,  # the Jacobian model builds on this module
        )

        return jacobian_sensitivities(ac.internal, ac.v_internal, inj_buses, q_per_p)
    raise ValueError(f"unknown linear network method {method!r}; use 'lindistflow' or 'sensitivity'")
