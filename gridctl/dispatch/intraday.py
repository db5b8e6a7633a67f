"""Intraday re-optimisation: one dispatch model kept in HiGHS and updated in place.

:class:`IntradayDispatch` builds the model of a horizon once, hands it to HiGHS once, and then,
for every re-solve, only changes numbers in the HiGHS model and re-runs it warm from the last
basis:

- forecasts (load, PV, intensity, price, PV available, heat demand, COP) are mutable Pyomo
  parameters; after an update the rows of every constraint that holds parameters (found once,
  when the model is handed over) get new bounds and coefficients, the objective new costs and the
  columns new bounds;
- the state at the current interval ``k`` (battery SoC, heat-store temperature) fixes the state
  column of interval ``k - 1`` (or the initial-state parameter when ``k == 0``);
- intervals before ``k`` are fixed: their columns are held at the last solution (what was
  dispatched) and rows that only involve them are released, so past forecast errors cannot make
  the model infeasible. Rows linking past and future (EV session energy, peak import) stay, so
  energy already delivered and the peak already drawn count.

Rows and columns whose components are indexed by the time set ``m.T`` are "timed"; others (a
session's unserved energy, the peak import) are never fixed.

Process loads' binaries make a re-solve a MIP without a warm basis; their measured states are
the held plan's or the model is rebuilt (:mod:`gridctl.dispatch.rolling_process`). ``hold`` fixes
their on/off columns at a commitment (e.g. the last MIP solution's) and makes them continuous, so
a re-solve under a held commitment is an LP, warm from the last basis.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable

import highspy
import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from gridctl.dispatch.ev import remaining_energy_kwh
from gridctl.dispatch.heat_pump import low_margin_k
from gridctl.dispatch.highs import SolveResult, column_bounds, compile_model, pass_model, run
from gridctl.dispatch.inputs import DispatchInputs, checked_series
from gridctl.dispatch.model import build_model
from gridctl.dispatch.param_store import ParamStore
from gridctl.dispatch.param_terms import ParamTerms, params_of
from gridctl.dispatch.result import ColumnValues, plan_table
from gridctl.dispatch.row_coefficients import RowCoefficients
from gridctl.dispatch.soft import soft_columns

UNTIMED = np.iinfo(np.int64).max


class IntradayDispatch:
    """A persistent dispatch model over ``inp``'s horizon (see module doc).

    Typical cycle: ``d = IntradayDispatch(inp); d.solve()``; then at each interval
    ``d.update_forecasts(...)``, ``d.set_state(k, battery_soc_kwh=..., heat_pump_temp_c=...)``,
    ``d.solve()`` and ``d.plan()`` (the plan table from interval ``k`` on).
    """

    def __init__(self, inp: DispatchInputs, time_limit_s: float = 30.0, mip_gap: float = 1e-4,
                 extend: Callable[[pyo.ConcreteModel], None] | None = None):
        t0 = time.perf_counter()
        self.inp = dataclasses.replace(inp)  # forecast updates replace arrays of this copy only
        self.model = build_model(inp)
        if extend is not None:  # e.g. network rows on m.bus_flex_kw, added before the hand-over
            extend(self.model)
        self.build_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        with PauseGC():
            self.repn = compile_model(self.model)
            self.h = pass_model(self.repn, time_limit_s, mip_gap)
            self._index_columns()
            self._index_rows()
        self.handover_s = time.perf_counter() - t1
        self.start = 0
        self._offset = float(self.repn.c_offset[0])
        self._x: np.ndarray | None = None
        self._state_cols: dict[int, float] = {}
        self._row_shift: dict[int, float] = {}
        self._col_bounds: dict[int, tuple[float, float]] = {}  # column -> (lb, ub) replacing the model's
        self._row_rhs: dict[int, float] = {}  # equality row -> right-hand side replacing the model's
        self._held: tuple[np.ndarray, np.ndarray] | None = None  # on/off columns and their held values
        self._relaxed = False  # whether the on/off columns are continuous in HiGHS
        self._batch: set[int] | None = None  # changed parameters of the updates gathered by ``batch``
        self._pushed: dict[str, np.ndarray] = {}  # bounds and costs last written into HiGHS
        self.param_store = ParamStore()  # indexed parameters are written only through it (it reports what moved)
        # the relaxation's basis of a commitment left to the MIP (:mod:`gridctl.dispatch.commitment`),
        # where the LP of the MIP's commitment starts: HiGHS keeps no basis after a MIP
        self.relaxed_basis: highspy.HighsBasis | None = None

    # ---- structure, found once -------------------------------------------------------------
    def _index_columns(self) -> None:
        m, cols = self.model, self.repn.columns
        self.col_of = {id(v): j for j, v in enumerate(cols)}
        self._columns: dict[int, np.ndarray] = {}  # by id of a variable indexed by interval (``columns``)
        self.values = ColumnValues(self.col_of)  # the last solution's values by variable
        self.col_time = np.array([_time_of(v, m.T) for v in cols], dtype=np.int64)
        self.col_lb, self.col_ub = column_bounds(cols)
        self.integer_count = sum(v.is_integer() for v in cols)
        self.soft_cols = soft_columns(m, self.col_of)  # the soft limits' slacks (a MIP's gap is measured without them)
        # columns whose bounds hold mutable parameters, by parameter (the data object of an indexed one)
        self.param_cols: dict[int, list[int]] = {}
        for j, v in enumerate(cols):
            for p in params_of(v.lower, data=True) | params_of(v.upper, data=True):
                self.param_cols.setdefault(p, []).append(j)

    def _index_rows(self) -> None:
        A = self.repn.A.tocsr()
        self._rewritten = RowCoefficients(self.h, A, self.col_of)
        n_rows = A.shape[0]
        times = self.col_time[A.indices]
        # a row is past once every column it holds is; untimed columns keep it active forever
        self.row_time = np.full(n_rows, -1, dtype=np.int64)
        nonempty = np.diff(A.indptr) > 0
        self.row_time[nonempty] = np.maximum.reduceat(times, A.indptr[:-1][nonempty])
        inf = highspy.kHighsInf
        sense = np.array([r.bound_type for r in self.repn.rows], dtype=int)
        rhs = np.asarray(self.repn.rhs, dtype=float)
        self.row_lo = np.where(sense > 0, -inf, rhs)
        self.row_hi = np.where(sense < 0, inf, rhs)
        self.sense = sense
        self.row_of = {id(r.constraint): i for i, r in enumerate(self.repn.rows)}
        self._rows_of: dict[int, list[int]] = {}  # a ranged constraint has two rows, one per bound
        for i, r in enumerate(self.repn.rows):
            self._rows_of.setdefault(id(r.constraint), []).append(i)
        # rows that hold mutable parameters (looked for in constraint components whose first row
        # holds one): their coefficients, constant and bound as expressions, evaluated when those change
        with_params = set()
        for con in self.model.component_objects(pyo.Constraint, active=True, descend_into=True):
            first = next(iter(con.values()), None)
            if first is not None and params_of(first.expr):
                with_params.add(id(con))
        rows = [(i, r.constraint) for i, r in enumerate(self.repn.rows)
                if id(r.constraint.parent_component()) in with_params and params_of(r.constraint.expr)]
        self.cost = np.asarray(self.repn.c.toarray()[0], dtype=float) if len(self.repn.columns) else np.zeros(0)
        self.params = ParamTerms(rows, self.sense, self.model.objective.expr, self.col_of)

    # ---- updates ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def batch(self):
        """Gather the updates made inside into one write into HiGHS, when the block ends."""
        self._batch = set()
        try:
            yield
        finally:
            changed, self._batch = self._batch, None
        self._refresh(changed)

    def update_forecasts(self, load_kw=None, pv_kw=None, ci_kg_per_kwh=None, price_per_kwh=None,
                         pv_available_kw: dict | None = None, heat_demand_kw: dict | None = None,
                         cop: dict | None = None, ci_objective_kg_per_kwh=None) -> None:
        """Replace forecasts over the whole horizon (arrays of its length; dicts by asset id);
        the objective weighs ``ci_objective_kg_per_kwh`` (default: ``ci_kg_per_kwh``)."""
        m, inp = self.model, self.inp
        if ci_kg_per_kwh is not None:
            inp.ci_kg_per_kwh = checked_series("ci_kg_per_kwh", ci_kg_per_kwh, len(inp.index))
            ci_objective_kg_per_kwh = ci_kg_per_kwh if ci_objective_kg_per_kwh is None else ci_objective_kg_per_kwh
        for name, param, values in (("load_kw", m.load_kw, load_kw), ("pv_kw", m.pv_kw, pv_kw),
                                    ("ci_objective_kg_per_kwh", m.ci, ci_objective_kg_per_kwh),
                                    ("price_per_kwh", m.price, price_per_kwh)):
            if values is not None:
                values = checked_series(name, values, len(inp.index))
                self.param_store.store(param, range(len(values)), values)
                setattr(inp, name, values)
        for aid, values in (pv_available_kw or {}).items():
            self.param_store.store(m.pv_available, [(aid, t) for t in range(len(values))], values)
        for attr, updates in (("heat_demand_kw", heat_demand_kw), ("cop", cop)):
            for aid, values in (updates or {}).items():
                param = getattr(m.heat_pump[aid], attr)
                self.param_store.store(param, range(len(values)), values)
        times = range(len(m.T))  # m.T's members, without iterating a Pyomo set
        for h in inp.heat_pumps:  # the band's margin follows the heat demand and COP
            if h.id in (heat_demand_kw or {}) or h.id in (cop or {}):
                blk = m.heat_pump[h.id]
                cop_now, demand_now = (self.param_store.last(p, times) for p in (blk.cop, blk.heat_demand_kw))
                self.param_store.store(blk.margin_k, times, low_margin_k(h, inp.dt_h, cop_now, demand_now))
        self._refresh(set())

    def set_state(self, start: int | pd.Timestamp, battery_soc_kwh: dict[str, float] | None = None,
                  heat_pump_temp_c: dict[str, float] | None = None,
                  ev_delivered_kwh: dict[str, float] | None = None) -> None:
        """Make interval ``start`` (index or interval start) the first free one, with measured states.

        ``ev_delivered_kwh``: per charger, the energy delivered so far to the vehicle connected at
        ``start`` (replaces the planned energy of that session's past intervals). A battery SoC
        outside ``[soc_min, soc_max]`` is taken at the nearest bound, so the model stays feasible.
        """
        k = start if isinstance(start, int) else int(self.inp.index.get_loc(pd.Timestamp(start)))
        if not 0 <= k < len(self.inp.index):
            raise ValueError(f"start {start} is outside the horizon {self.inp.index[0]} .. {self.inp.index[-1]}")
        if k > 0 and self._x is None:
            raise ValueError("solve once before fixing past intervals")
        self.start = k
        m = self.model
        limits = {b.id: (b.soc_min_kwh, b.soc_max_kwh) for b in self.inp.batteries}
        states = [(m.battery[b].soc, m.battery[b].soc_initial, float(np.clip(v, *limits[b])))
                  for b, v in (battery_soc_kwh or {}).items()]
        states += [(m.heat_pump[h].temp_c, m.heat_pump[h].temp_initial, v) for h, v in (heat_pump_temp_c or {}).items()]
        self._state_cols = {}
        changed = set()
        for var, initial, value in states:
            if k == 0:
                initial.set_value(float(value))
                changed.add(id(initial))
            else:
                self._state_cols[self.col_of[id(var[k - 1])]] = float(value)
        self._row_shift = {}
        for ev_id, delivered in (ev_delivered_kwh or {}).items():
            self._shift_session(ev_id, k, float(delivered))
        self._refresh(changed)

    def set_values(self, values: list[tuple[pyo.Param, float]], col_bounds: dict[int, tuple[float, float]] | None = None,
                   row_rhs: dict[int, float] | None = None) -> None:
        """Set scalar mutable parameters (``(param, value)`` pairs, e.g. terminal targets) and replace the
        bounds of free columns and the right-hand side of equality rows (by HiGHS index; replaces
        earlier replacements)."""
        for param, value in values:
            param.set_value(float(value))
        self._col_bounds = dict(col_bounds or {})
        self._row_rhs = dict(row_rhs or {})
        self._refresh({id(p) for p, _ in values})

    def rewrite_rows(self, cons: list) -> None:
        """Write the numbers of constraints changed in place (``con.set_value``: a ``LinearExpression``
        body over the variables the row was built on, no mutable parameters) into HiGHS: the
        coefficients that moved (:mod:`gridctl.dispatch.row_coefficients`) and the bounds; the basis is kept."""
        for con in cons:
            body, rows = con.body, self._rows_of[id(con)]
            self._rewritten.write(rows, body.linear_vars, body.linear_coefs)
            for i in rows:
                if self.sense[i] <= 0:
                    self.row_lo[i] = float(con.lower) - body.constant
                if self.sense[i] >= 0:
                    self.row_hi[i] = float(con.upper) - body.constant
        self._apply_bounds()

    def last_values(self, cols: list[int] | np.ndarray) -> np.ndarray:
        """The last solution's values of ``cols``."""
        return self._x[cols]

    def commitment(self) -> dict[str, np.ndarray]:
        """The last solution's on/off state (0 or 1) of each process load over the whole horizon."""
        return {i: np.round(on) for i, on in self.on_values().items()}

    def on_values(self) -> dict[str, np.ndarray]:
        """The last solution's on/off columns of each process load over the whole horizon, as solved."""
        return {i: self._x[self._on_cols(i)] for i in self.model.process_load}

    def hold(self, on_by_load: dict[str, np.ndarray] | None, relax: bool = False) -> None:
        """Fix the process loads' on/off columns at ``on_by_load`` (0/1 arrays over this model's
        horizon; NaN leaves a column free within its bounds) and solve them as continuous (an LP
        when no other integers are left); None leaves them all free, as integers again or, with
        ``relax``, continuous (the LP relaxation)."""
        cols = np.concatenate([self._on_cols(i) for i in self.model.process_load] or [[]]).astype(np.int32)
        continuous = on_by_load is not None or relax
        if continuous != self._relaxed:
            kind = highspy.HighsVarType.kContinuous if continuous else highspy.HighsVarType.kInteger
            self.h.changeColsIntegrality(len(cols), cols, np.full(len(cols), kind.value, np.uint8))
            self._relaxed = continuous
        self._held = None
        if on_by_load is not None:
            values = np.concatenate([np.asarray(on_by_load[i], float) for i in self.model.process_load] or [[]])
            fixed = ~np.isnan(values)
            self._held = (cols[fixed], values[fixed])
        self._apply_bounds()

    @property
    def solved(self) -> bool:
        """Whether the model holds a solution."""
        return self._x is not None

    @property
    def held(self) -> bool:
        """Whether the process loads' commitment is held (see :meth:`hold`)."""
        return self._held is not None

    def columns(self, var) -> np.ndarray:
        """HiGHS columns of a variable indexed by interval, over the horizon (found once per variable)."""
        if id(var) not in self._columns:
            self._columns[id(var)] = np.array([self.col_of[id(var[t])] for t in range(len(self.inp.index))], np.int64)
        return self._columns[id(var)]

    def _on_cols(self, load_id: str) -> np.ndarray:
        return self.columns(self.model.process_load[load_id].on)

    def _shift_session(self, ev_id: str, k: int, delivered_kwh: float) -> None:
        """Move the energy row of the session in progress at ``k`` by planned-minus-delivered energy."""
        blk, params = self.model.ev[ev_id], next(e for e in self.inp.ev_chargers if e.id == ev_id)
        for i, s in enumerate(params.sessions):
            if s.arrival < k < s.departure:
                cols = [self.col_of[id(blk.p_kw[t])] for t in range(s.arrival, k)]
                planned = float(self._x[cols].sum() * self.inp.dt_h)
                delivered = s.energy_kwh - remaining_energy_kwh(s.energy_kwh, delivered_kwh)
                self._row_shift[self.row_of[id(blk.energy[i])]] = planned - delivered

    def _refresh(self, changed: set[int]) -> None:
        """Push the values of the ``changed`` parameters (ids of scalar ones and of data objects)
        and of those ``param_store`` wrote into HiGHS (row bounds and coefficients, costs, column
        bounds) and apply the bounds of the current start (inside ``batch``: once, when it ends)."""
        changed = changed | self.param_store.moved
        self.param_store.moved = set()
        if self._batch is not None:
            self._batch |= changed
            return
        h, inf, t = self.h, highspy.kHighsInf, self.params
        t.update(changed)
        q = t.values()
        coefs = q[t.coef_q]
        moved = np.flatnonzero(coefs != t.last_coefs)
        for n in moved:
            h.changeCoeff(int(t.coef_row[n]), int(t.coef_col[n]), float(coefs[n]))
        t.last_coefs = coefs
        rhs = q[t.bound_q] - q[t.const_q]
        sense = self.sense[t.rows]  # 0: equality, -1: body >= lower, +1: body <= upper
        self.row_lo[t.rows] = np.where(sense > 0, -inf, rhs)
        self.row_hi[t.rows] = np.where(sense < 0, inf, rhs)
        self.cost[t.cost_col] = q[t.cost_q]
        self._offset = float(q[t.offset_q])
        cols = self._moved("cost", self.cost)
        if len(cols):
            h.changeColsCost(len(cols), cols, self.cost[cols])
        cols = sorted({j for p in changed for j in self.param_cols.get(p, ())})
        self.col_lb[cols], self.col_ub[cols] = column_bounds([self.repn.columns[j] for j in cols])
        self._apply_bounds()

    def _apply_bounds(self) -> None:
        k = self.start
        lb, ub = self.col_lb.copy(), self.col_ub.copy()
        row_lo, row_hi = self.row_lo.copy(), self.row_hi.copy()
        if k > 0:
            past = self.col_time < k
            lb[past] = ub[past] = self._x[past]
            free = self.row_time < k
            row_lo[free], row_hi[free] = -highspy.kHighsInf, highspy.kHighsInf
        if self._held is not None:
            cols, values = self._held
            lb[cols] = ub[cols] = values
        for j, value in self._state_cols.items():
            lb[j] = ub[j] = value
        for j, (lo, hi) in self._col_bounds.items():
            if self.col_time[j] >= k:
                lb[j], ub[j] = lo, hi
        for row, shift in self._row_shift.items():
            row_lo[row] += shift
            row_hi[row] += shift
        for row, rhs in self._row_rhs.items():
            row_lo[row] = row_hi[row] = rhs
        cols = np.union1d(self._moved("col_lb", lb), self._moved("col_ub", ub)).astype(np.int32)
        if len(cols):
            self.h.changeColsBounds(len(cols), cols, lb[cols], ub[cols])
        # only the rows whose bounds moved (the demo week's and 2016-01-18..24's decisions are the same
        # as with every row written, for a third of the time)
        rows = np.union1d(self._moved("row_lo", row_lo), self._moved("row_hi", row_hi)).astype(np.int32)
        if len(rows):
            self.h.changeRowsBounds(len(rows), rows, row_lo[rows], row_hi[rows])

    def _moved(self, name: str, values: np.ndarray) -> np.ndarray:
        """Indices where ``values`` differ from those last written into HiGHS under ``name``
        (all at the first write); ``values`` are taken as written."""
        last = self._pushed.get(name)
        self._pushed[name] = values.copy()
        moved = np.arange(len(values)) if last is None else np.flatnonzero(values != last)
        return moved.astype(np.int32)

    # ---- solve and read --------------------------------------------------------------------
    def solve(self) -> SolveResult:
        """Re-solve warm from the last basis; the solution is loaded into the Pyomo model (and
        :attr:`values` reads it)."""
        result = run(self.h, self.repn, loaded=self._x, soft=(self.soft_cols, self.cost[self.soft_cols]))
        self._x = np.asarray(self.h.getSolution().col_value)
        self.values = self.values.at(self._x)
        result.objective = float(self.h.getInfo().objective_function_value + self._offset)
        return result

    def free_objective(self) -> float:
        """Objective of the last solution without the cost of the fixed (past) columns: the
        objective a model of the remaining horizon alone has at the same solution."""
        past = self.col_time < self.start
        return float(self.h.getInfo().objective_function_value + self._offset - self.cost[past] @ self._x[past])

    def plan(self) -> pd.DataFrame:
        """The plan table (plan.csv columns) of the intervals from the current start on."""
        return plan_table(self.model, self.inp, self.values).iloc[self.start:]


def _time_of(v, T) -> int:
    comp = v.parent_component()
    if not comp.is_indexed():
        return UNTIMED
    index_set = comp.index_set()
    if index_set is T:
        return int(v.index())
    subsets = list(index_set.subsets()) if hasattr(index_set, "subsets") else []
    if len(subsets) > 1 and subsets[-1] is T:
        return int(v.index()[-1])
    return UNTIMED
