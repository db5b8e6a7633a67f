"""Network block: voltage band per bus and thermal limit per line and transformer, per interval.

Works on the model's per-bus flexible injection ``m.bus_flex_kw[bus, t]`` (load-referenced kW,
see :mod:`gridctl.dispatch.model`) and a linear grid model around an AC operating point
(:mod:`network_models.linear`): for monitored bus ``k`` and branch ``l``::

    v_min + tight_low[t, k] <= vm0[t, k] + sum_b dvm[t, k, b] * x[b, t] <= v_max - tight_high[t, k]
    |p0[t, l] + sum_b dpf[t, l, b] * x[b, t]| <= cap[t, l]

with ``cap = sqrt((S_rated * vm_from * L / 100)^2 - q0^2)``, ``L`` the loading limit less the
thermal margin, the learnt tightening and the AC difference between the branch's worse end and
its from end. Rows are built only where the flexibility can reach the limit: with every
injection at its bounds, a row that stays inside its limits is left out (numpy screening); rows
of one interval with identical sensitivities keep only their tightest bounds; each kept row is
one ``LinearExpression`` over the assets' variables (garbage collection paused).
Limits are soft (:mod:`gridctl.dispatch.soft`, ``voltage`` and ``thermal``), priced far above any
emission or cost gain, so a limit the flexibility cannot restore yields a plan and a report
instead of an infeasible model.

A new linear model of a held model's intervals (re-centred, :mod:`gridctl.network_plan`) is
written into its rows in place (:func:`renew_network_block`; same variables, new coefficients
and bounds, then :meth:`~gridctl.dispatch.intraday.IntradayDispatch.rewrite_rows`). A block
built with a ``margin`` also holds rows just out of reach, which rows that come within reach
under the new model take over; when an interval has too few, the model is rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC
from pyomo.core.expr.numeric_expr import LinearExpression
from pyomo.repn import generate_standard_repn

from gridctl.dispatch.highs import column_bounds
from gridctl.dispatch.soft import add_slack, registry
from network_models.linear import LinearGrid, OperatingPoint

PENALTY_PER_PU_H = 1e7  # objective units per p.u. of voltage violation and hour
PENALTY_PER_KWH = 100.0  # objective units per kW of flow above a thermal cap and hour
RENEW_MARGIN = 0.05  # rows kept out of reach by less than this share of their band, for re-centring in place


@dataclass(frozen=True)
class NetworkLimits:
    """Voltage band (p.u.), loading limit (%) and the margin kept below it (percentage points)."""

    v_min_pu: float = 0.95
    v_max_pu: float = 1.05
    max_loading_pct: float = 100.0
    thermal_margin_pct: float = 0.0


@dataclass
class Tightening:
    """Corrections learnt from AC checks, per interval and element, in the limits' units."""

    v_low: np.ndarray  # (T, n_bus) p.u. added to the lower voltage limit
    v_high: np.ndarray  # (T, n_bus) p.u. taken off the upper voltage limit
    loading: np.ndarray  # (T, n_branch) percentage points taken off the loading limit

    @classmethod
    def none(cls, n_t: int, grid: LinearGrid) -> Tightening:
        return cls(np.zeros((n_t, len(grid.buses))), np.zeros((n_t, len(grid.buses))),
                   np.zeros((n_t, len(grid.branches))))


@dataclass
class NetworkData:
    """Everything the block needs: linear model, operating point, limits and tightening."""

    grid: LinearGrid
    point: OperatingPoint
    limits: NetworkLimits
    tight: Tightening


def flex_terms(m: pyo.ConcreteModel, buses: list) -> tuple[list, np.ndarray, np.ndarray, np.ndarray]:
    """Linear form of ``m.bus_flex_kw``: per t the variables, their bus column and coefficient,
    plus the constant (T, n_bus) and the lowest/highest value each bus injection can take (from
    the variables' bounds now; the linear form, sums of the assets' powers, is found once per model)."""
    memo = m.__dict__.setdefault("_flex_terms", {})
    if tuple(buses) not in memo:
        memo[tuple(buses)] = _flex_form(m, buses)
    terms, const, flat, at, coefs = memo[tuple(buses)]
    lb, ub = column_bounds(flat)
    lo, hi = np.zeros_like(const), np.zeros_like(const)
    np.add.at(lo, at, np.minimum(coefs * lb, coefs * ub))  # in the order of the terms, as a sum term by term
    np.add.at(hi, at, np.maximum(coefs * lb, coefs * ub))
    return terms, const, lo + const, hi + const


def _flex_form(m: pyo.ConcreteModel, buses: list) -> tuple:
    """Per t the variables, bus columns and coefficients of ``m.bus_flex_kw``, its constant
    (T, n_bus), and every term flat: variables, (t, column) and coefficients."""
    const = np.zeros((len(m.T), len(buses)))
    terms, flat, tt, cc = [], [], [], []
    for t in m.T:
        vars_t, cols, coefs = [], [], []
        for c, bus in enumerate(buses):
            repn = generate_standard_repn(m.bus_flex_kw[bus, t].expr, compute_values=True)
            const[t, c] = repn.constant
            vars_t += repn.linear_vars
            cols += [c] * len(repn.linear_vars)
            coefs += repn.linear_coefs
        terms.append((vars_t, np.array(cols, dtype=int), np.array(coefs, dtype=float)))
        flat += vars_t
        tt += [t] * len(vars_t)
        cc += cols
    coefs = np.concatenate([c for _, _, c in terms]) if terms else np.zeros(0)
    return terms, const, flat, (np.array(tt, dtype=int), np.array(cc, dtype=int)), coefs


def _reach(sens: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest change of ``sum_b sens[t, r, b] * x[t, b]`` for ``lo <= x <= hi``
    (``sens`` may have a time axis of length 1; infinite bounds count as 1e15 kW)."""
    lo = np.nan_to_num(lo, neginf=-1e15, posinf=1e15)[:, :, None]
    hi = np.nan_to_num(hi, neginf=-1e15, posinf=1e15)[:, :, None]
    pos, neg = np.maximum(sens, 0.0), np.minimum(sens, 0.0)
    return (pos @ lo + neg @ hi)[:, :, 0], (pos @ hi + neg @ lo)[:, :, 0]


def row_bounds(data: NetworkData) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bounds on the linear change of each voltage (T, n_bus) and branch flow (T, n_branch)."""
    g, pt, lim, tight = data.grid, data.point, data.limits, data.tight
    v_lo = lim.v_min_pu + tight.v_low - pt.vm_pu
    v_hi = lim.v_max_pu - tight.v_high - pt.vm_pu
    ends = pt.loading_pct - 100.0 * np.hypot(pt.p_kw, pt.q_kvar) / (g.s_rated_kva * pt.vm_from)
    limit = lim.max_loading_pct - lim.thermal_margin_pct - tight.loading - ends
    s_cap = np.maximum(limit, 0.0) / 100.0 * g.s_rated_kva * pt.vm_from
    cap = np.sqrt(np.maximum(s_cap**2 - pt.q_kvar**2, 0.0))
    return v_lo, v_hi, -cap - pt.p_kw, cap - pt.p_kw


def _within_reach(sens: np.ndarray, lo: np.ndarray, hi: np.ndarray, x_lo: np.ndarray, x_hi: np.ndarray,
                  margin: float = 0.0) -> np.ndarray:
    """(T, n_element) whether the flexibility can push a row past a finite bound (or to within
    ``margin`` times its band of one)."""
    reach_lo, reach_hi = _reach(sens, x_lo, x_hi)
    near = margin * (hi - lo)
    return np.isfinite(lo) & np.isfinite(hi) & ((reach_lo < lo + near) | (reach_hi > hi - near))


def _groups(sens: np.ndarray, lo: np.ndarray, hi: np.ndarray, keep: np.ndarray):
    """The rows ``keep`` marks, grouped: rows of one interval with the same sensitivities (e.g.
    cable sections in series with the same assets below them) are one row with the tightest
    bounds. Returns every kept row's interval, element and group, and each group's first kept row
    and bounds."""
    sens = np.broadcast_to(sens, (len(lo), *sens.shape[1:]))
    tt, ee = np.nonzero(keep)
    if len(tt) == 0:
        return tt, ee, tt, tt, lo[tt, ee], hi[tt, ee]
    key = np.column_stack([tt, np.round(sens[tt, ee], 12)])
    _, first, group = np.unique(key, axis=0, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    lo_g = np.full(len(first), -np.inf)
    hi_g = np.full(len(first), np.inf)
    np.maximum.at(lo_g, group, lo[tt, ee])
    np.minimum.at(hi_g, group, hi[tt, ee])
    return tt, ee, group, first, lo_g, hi_g


def _kinds(data: NetworkData):
    """Per row kind: name, sensitivities, bounds, unit, price per unit and hour, element names."""
    g = data.grid
    v_lo, v_hi, p_lo, p_hi = row_bounds(data)
    return (("voltage", g.dvm, v_lo, v_hi, "p.u.", PENALTY_PER_PU_H, [f"bus {b}" for b in g.buses]),
            ("thermal", g.dpf, p_lo, p_hi, "kW", PENALTY_PER_KWH, g.branches))


def _numbers(terms: tuple, s: np.ndarray, const: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, float, float]:
    """Coefficients (over the interval's flexibility variables) and bounds of a row with
    sensitivities ``s``."""
    _, cols, coefs = terms
    c = float(s @ const)
    return s[cols] * coefs, (float(lo) - c if np.isfinite(lo) else -np.inf), (float(hi) - c if np.isfinite(hi) else np.inf)


def _row(terms: tuple, numbers: tuple[np.ndarray, float, float], below, above) -> tuple:
    """``(lower, body, upper)`` of a row of :func:`_numbers` (its slacks ``below`` and ``above``)."""
    coefs, lower, upper = numbers
    body = LinearExpression(constant=0.0, linear_coefs=[*coefs.tolist(), 1.0, -1.0],
                            linear_vars=[*terms[0], below, above])
    return lower, body, upper


def _same(a: tuple[np.ndarray, float, float], b: tuple[np.ndarray, float, float]) -> bool:
    return a[1:] == b[1:] and np.array_equal(a[0], b[0])


def add_network_block(m: pyo.ConcreteModel, data: NetworkData, dt_h: float, margin: float = 0.0) -> dict:
    """(Re)place ``m.network`` with the rows of ``data`` and add its slack penalties to the objective.
    ``margin`` adds spare rows, without bounds, after them: one per group of rows out of the
    flexibility's reach by less than that share of their band (:func:`renew_network_block` gives
    them to rows that come within reach).

    Returns the number of voltage and thermal rows built (spare rows not counted).
    """
    remove_network_block(m)
    buses = _buses(m, data)
    counts = {}
    with PauseGC():
        terms, const, x_lo, x_hi = flex_terms(m, buses)
        blk = m.network = pyo.Block()
        blk.row_keys = {}  # per kind: interval and element of each row
        blk.row_counts = counts  # rows with bounds (of the intervals renewed, after a renewal)
        blk.row_numbers = {}  # per kind: the coefficients and bounds each row holds (:func:`_numbers`)
        penalty_terms = []
        for kind, sens, lo, hi, unit, price, names in _kinds(data):
            keep = _within_reach(sens, lo, hi, x_lo, x_hi)
            tt, ee, _, first, lo_k, hi_k = _groups(sens, lo, hi, keep)
            tt, ee = tt[first], ee[first]
            counts[f"{kind}_rows"] = len(tt)
            if margin > 0:
                ts, es, _, spare, _, _ = _groups(sens, lo, hi, _within_reach(sens, lo, hi, x_lo, x_hi, margin) & ~keep)
                tt, ee = np.concatenate([tt, ts[spare]]), np.concatenate([ee, es[spare]])
                lo_k, hi_k = (np.concatenate([b, np.full(len(spare), np.nan)]) for b in (lo_k, hi_k))
            sens = np.broadcast_to(sens, (len(terms), *sens.shape[1:]))
            idx = range(len(tt))
            labels = {i: f"{names[e]} interval {t}" for i, (t, e) in enumerate(zip(tt, ee))}
            below = add_slack(blk, f"{kind}_below", idx, limit=kind, asset=None, unit=unit, penalty=price * dt_h,
                              labels=labels)
            above = add_slack(blk, f"{kind}_above", idx, limit=kind, asset=None, unit=unit, penalty=price * dt_h,
                              labels=labels)
            numbers = [_numbers(terms[t], sens[t, e], const[t], lo_k[i], hi_k[i]) for i, (t, e) in enumerate(zip(tt, ee))]
            exprs = [_row(terms[t], numbers[i], below[i], above[i]) for i, t in enumerate(tt)]
            blk.add_component(f"{kind}_rows", pyo.Constraint(idx, rule=lambda _, i, rows=exprs: rows[i]))
            blk.row_keys[kind] = (tt, ee)
            blk.row_numbers[kind] = numbers
            penalty_terms += [(price * dt_h, v) for i in idx for v in (below[i], above[i])]
        blk.penalty = pyo.Expression(expr=LinearExpression(
            constant=0.0, linear_coefs=[p for p, _ in penalty_terms], linear_vars=[v for _, v in penalty_terms]))
        m.__dict__["_objective_without_network"] = m.objective.expr
        m.objective.set_value(m.objective.expr + blk.penalty)
    return counts


def renew_network_block(m: pyo.ConcreteModel, data: NetworkData, start: int) -> list | None:
    """Write ``data`` (a linear model of intervals ``start`` on, e.g. re-centred) into the rows
    ``m.network`` holds for those intervals, in place, so they bound what a new block of ``data``
    would: each row :func:`add_network_block` would build now takes its own row if the model holds
    it, else a row of the same interval and kind it would not build (all rows of an interval are
    on the same variables); every row takes its element's new sensitivities, and the rows no
    longer needed lose their bounds. Only rows whose coefficients or bounds move are written (a
    re-centring moves those of the next hours). Returns the rows rewritten, or None (nothing
    written) when an interval has fewer rows than it would build now."""
    buses = _buses(m, data)
    blk = m.network
    with PauseGC():
        terms, const, x_lo, x_hi = flex_terms(m, buses)
        terms, const, x_lo, x_hi = terms[start:], const[start:], x_lo[start:], x_hi[start:]
        writes, keys = [], {}
        for kind, sens, lo, hi, _, _, names in _kinds(data):
            held_t, held_e = blk.row_keys[kind]
            tt, ee, group, first, lo_g, hi_g = _groups(sens, lo, hi, _within_reach(sens, lo, hi, x_lo, x_hi))
            of = np.full(lo.shape, -1)
            of[tt, ee] = group
            rows = np.flatnonzero(held_t >= start)
            t = held_t[rows] - start
            slots = _slots(t, held_e[rows], of, tt[first], ee[first])
            if slots is None:
                return None
            e, row_group = slots
            sens = np.broadcast_to(sens, (len(terms), *sens.shape[1:]))
            row_lo, row_hi = (np.append(b, np.nan)[row_group] for b in (lo_g, hi_g))  # -1: no bounds
            cons = getattr(blk, f"{kind}_rows")
            below, above = getattr(blk, f"{kind}_below"), getattr(blk, f"{kind}_above")
            held = blk.row_numbers[kind]
            for n, i in enumerate(rows.tolist()):
                numbers = _numbers(terms[t[n]], sens[t[n], e[n]], const[t[n]], row_lo[n], row_hi[n])
                if not _same(numbers, held[i]):
                    writes.append((cons[i], _row(terms[t[n]], numbers, below[i], above[i]), held, i, numbers))
            new_e = held_e.copy()
            new_e[rows] = e
            keys[kind] = (held_t, new_e, {int(i): f"{names[new_e[i]]} interval {held_t[i]}" for i in rows}, len(first))
        for con, row, held, i, numbers in writes:
            con.set_value(row)
            held[i] = numbers
        for kind, (held_t, new_e, labels, n_rows) in keys.items():
            blk.row_keys[kind] = (held_t, new_e)
            blk.row_counts[f"{kind}_rows"] = n_rows
            for soft in registry(m):
                if soft.slack.parent_block() is blk and soft.limit == kind:
                    soft.labels.update(labels)
    return [con for con, *_ in writes]


def _slots(t: np.ndarray, e: np.ndarray, of: np.ndarray, first_t: np.ndarray, first_e: np.ndarray):
    """Elements and groups (-1: none) for rows at intervals ``t`` holding elements ``e`` such that
    every group (``of``: group of each interval and element, -1 for none; ``first_t``, ``first_e``:
    its first row) has one row: the first row of its group, else a row of no group (or a second
    of one) at its interval. None when an interval has too few rows."""
    e = e.copy()
    group = of[t, e]
    _, own = np.unique(group, return_index=True)
    spare = np.ones(len(group), dtype=bool)
    spare[own] = False
    group[spare | (group < 0)] = -1
    free: dict[int, list[int]] = {}
    for n in np.flatnonzero(group < 0):
        free.setdefault(int(t[n]), []).append(n)
    for g in np.setdiff1d(np.arange(len(first_t)), group):
        rows = free.get(int(first_t[g]))
        if not rows:
            return None
        n = rows.pop()
        e[n], group[n] = first_e[g], g
    return e, group


def _buses(m: pyo.ConcreteModel, data: NetworkData) -> list:
    buses = list(m.FLEX_BUS)
    if list(data.grid.inj_buses) != buses:
        raise ValueError(f"linear model injection buses {list(data.grid.inj_buses)} differ from the model's {buses}")
    return buses


def remove_network_block(m: pyo.ConcreteModel) -> None:
    """Take ``m.network`` (if any) out of the model, the objective and the soft-limit registry."""
    if not hasattr(m, "network"):
        return
    blk = m.network
    registry(m)[:] = [s for s in registry(m) if s.slack.parent_block() is not blk]
    m.objective.set_value(m.__dict__.pop("_objective_without_network"))
    m.del_component(blk)


def bus_flex_values(m: pyo.ConcreteModel) -> np.ndarray:
    """Solved ``m.bus_flex_kw`` as an array (T, n_bus) in ``m.FLEX_BUS`` order."""
    return np.array([[pyo.value(m.bus_flex_kw[b, t]) for b in m.FLEX_BUS] for t in m.T], dtype=float).reshape(
        len(m.T), len(m.FLEX_BUS))
