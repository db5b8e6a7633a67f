"""Rolling re-optimisation through one persistent dispatch model, updated in place.

A re-optimisation plans the remaining horizon ``[now, end)``. While ``end`` stays the same
(the horizon only loses its first intervals, e.g. hourly re-optimisations until local midnight),
:class:`RollingDispatch` keeps one :class:`~gridctl.dispatch.intraday.IntradayDispatch` built
for the first such horizon and, for each later one, writes the new inputs into it: forecasts,
measured states at ``now`` (they fix the state columns of the interval before), terminal targets,
import and export limits, demand charges' running peaks, and EV sessions (column bounds, and
the energy rows of the held sessions, rewritten in place for a stay the held model has no row
for: :mod:`gridctl.dispatch.rolling_ev`). Intervals before ``now`` are held at what was decided
(see :mod:`gridctl.dispatch.intraday`), so the free part of the model is the model a rebuild
would make of ``[now, end)``: same optimum (the test proves it on a demo day).

Process loads make a decision a MIP. Between re-commitments, an in-place re-optimisation holds
their on/off plan (the last MIP solution's, :meth:`IntradayDispatch.hold`) and re-dispatches
everything else, their power included, as an LP warm from the last basis: the commitment is
re-solved (a MIP) at every model build, once ``recommit_h`` hours have passed since the last,
and whenever the held commitment leaves the LP without a solution; renewed rows (re-centred
network rows) keep it held. Each MIP solve is followed by the LP of its commitment, whose basis
the next held re-optimisations start from.

When the horizon's end moves (local midnight: the horizon now runs through the day after
tomorrow), the held model is shifted onto the new horizon when it is as long, with the same
local day ends (heat stores' daily targets) and demand-charge periods: every input is written
anew from its first interval, the EV sessions' and network rows are rewritten for the new
horizon and the process loads' windows must lie where the held ones do, starting in a state
that makes the same model (:mod:`gridctl.dispatch.rolling_process`; a rebuild has the same rows
then); the commitment is re-solved, as after a build.

A new model is built when the horizon's end moves and no shift serves it, when a static
parameter differs (asset ratings, limits, objective settings), when a charger reports more
sessions than the held model has rows for, or a process load reports a state the held plan did
not have (:mod:`gridctl.dispatch.rolling_process`). Network rows are added by ``extend`` at each build.
When they are re-centred (:mod:`gridctl.network_plan`), ``renew`` writes the new coefficients
and bounds into the held model's rows (:func:`gridctl.dispatch.network.renew_network_block`,
:meth:`IntradayDispatch.rewrite_rows`; the basis is kept); a new model is built only when an
interval needs more rows than the held model has for it. A model built within a day is shorter
than the next local midnight's horizon, so the model a build replaces is kept (the longest of
those replaced: the day's first after two builds within the day) and shifted at that midnight
when it can be (the December week 2016-12-05..11 built 2 models instead of 14).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from gridctl.dispatch.commitment import carried_commitment, certified_commitment, commitment_at
from gridctl.dispatch.demand import held_values
from gridctl.dispatch.event_limits import event_limits_key
from gridctl.dispatch.grid import per_interval
from gridctl.dispatch.highs import SolverError, SolveResult
from gridctl.dispatch.inputs import DispatchInputs
from gridctl.dispatch.intraday import IntradayDispatch
from gridctl.dispatch.result import ColumnValues, plan_table
from gridctl.dispatch.rolling_ev import SessionRows, rewrite_sessions, session_rows, with_spare_rows
from gridctl.dispatch.rolling_process import adopt, process_rows, static_key

STATIC_BATTERY = ("bus", "p_max_kw", "soc_min_kwh", "soc_max_kwh", "eta_charge", "eta_discharge",
                  "terminal_value_per_kwh", "degradation_cost_per_kwh", "binary")
STATIC_HEAT_PUMP = ("bus", "p_max_kw", "capacity_kwh_per_k", "temp_min_c", "temp_max_c", "loss_kw_per_k", "ambient_c")
STATIC_INPUTS = ("dt_h", "curtailment_penalty_per_kwh",
                 "throughput_penalty_per_kwh", "objective", "export_price_per_kwh", "export_credit_factor",
                 "carbon_price_per_kg", "peak_charge_per_kw", "demand_charges")


@dataclasses.dataclass
class RollingSolve:
    """One re-optimisation: solver result, model and inputs holding the solution, the first free interval."""

    result: SolveResult
    model: pyo.ConcreteModel
    window: DispatchInputs  # inputs of the held model's whole horizon (forecasts as of this solve)
    start: int  # index in ``window`` of the horizon's first interval
    rebuilt: bool
    build_s: float  # build (and hand-over) of a new model, or writing the new inputs into the held one
    objective: float  # objective of the horizon ``[now, end)`` alone (fixed past intervals left out)
    extension: object  # what ``extend`` returned at the build (e.g. network row counts; ``renew`` updates them)
    values: ColumnValues  # the solution's values by variable, read from the solver's columns

    def table(self) -> pd.DataFrame:
        """The plan table of the horizon (cut at the start)."""
        return plan_table(self.model, self.window, self.values).iloc[self.start:]


class RollingDispatch:
    """Holds the persistent model between re-optimisations (see module doc)."""

    def __init__(self) -> None:
        self.held: IntradayDispatch | None = None
        self.context: tuple | None = None
        self.extension: object = None
        self.retired: tuple[IntradayDispatch, object] | None = None  # a model (and extension) a build replaced: _longer
        self.builds = 0
        self.updates = 0
        self.renewals = 0  # in-place updates that rewrote rows (``renew``)
        self.shifts = 0  # in-place updates onto a new horizon (module doc)
        self.committed_at: pd.Timestamp | None = None  # horizon start of the last MIP solve

    def solve(self, inp: DispatchInputs, extend: Callable[[pyo.ConcreteModel], object] | None = None,
              context: object = None, time_limit_s: float = 30.0, mip_gap: float = 1e-4,
              recommit_h: float = 0.0, renew: Callable[[pyo.ConcreteModel, int], list | None] | None = None,
              renewed: bool = True) -> RollingSolve:
        """Optimise ``inp``'s horizon in the held model when it covers it or can be shifted onto
        it, else in a new one (``extend`` adds rows, e.g. the network's, to a new model before its
        hand-over; a ``context`` (e.g. another district) or solver settings other than the last
        ones always build a new model). ``renew(model, k)`` writes the rows ``extend`` adds into
        the held model in place for ``inp``'s horizon (``k``: index of its first interval there)
        and returns the constraints it changed, or None when it cannot (a new model is built
        then); it is called at a shift, and in a held horizon when the rows were ``renewed``
        (e.g. re-centred network rows). In place, process loads keep the last commitment for
        ``recommit_h`` hours (0: every decision re-solves it), renewed rows or not."""
        t0 = time.perf_counter()
        context = (context, time_limit_s, mip_gap)
        same = _same(context, self.context)
        k = self._offset(inp) if same else None
        latest = self.held
        shifted = k is None and same and (self._shiftable(inp) or self._revive(inp))
        carried = None
        if shifted:  # the latest plan's on/off values where the new horizon overlaps it (none after a failure)
            carried = commitment_at(latest, inp.index) if latest is not None else None
            self.held.inp.index, k = inp.index, 0
        rebuilt = k is None or not self._write(inp, k, shifted) or not self._renew(renew, k, renewed or shifted)
        if rebuilt:
            def extend_and_keep(m: pyo.ConcreteModel) -> None:
                self.extension = extend(m) if extend is not None else None

            retired = (self.held, self.extension)
            built = IntradayDispatch(with_spare_rows(inp), time_limit_s, mip_gap, extend_and_keep)
            previous, self.held, k = self.held, built, 0
            self.retired = _longer(retired, self.retired)
            carried = carried if shifted else carried_commitment(previous, self.held)
            self.context = context
            self.builds += 1
        else:
            self.updates += 1
            self.shifts += shifted
        d = self.held
        now = inp.index[0]
        commits = recommit_h > 0 and len(inp.process_loads) > 0
        holding = (commits and not rebuilt and not shifted and self.committed_at is not None
                   and now - self.committed_at < pd.Timedelta(hours=recommit_h))
        d.hold(d.commitment() if holding else None)
        build_s = time.perf_counter() - t0
        try:
            result = certified_commitment(d, mip_gap, carried) if inp.process_loads and not holding else None
            if result is None:
                result = self._run(d, holding)
                if commits and not d.held:
                    result = _polish(d, result)
            if commits and result.mip_gap is not None:  # the commitment was solved
                self.committed_at = now
            result.solve_s = time.perf_counter() - t0 - build_s  # every run, a proof tried or not
        except SolverError:
            self.held = None  # the next re-optimisation starts from a new model
            raise
        return RollingSolve(result, d.model, d.inp, k, rebuilt, build_s, d.free_objective(), self.extension, d.values)

    @staticmethod
    def _run(d: IntradayDispatch, holding: bool) -> SolveResult:
        """Solve; a held commitment the new inputs leave without a solution is re-solved."""
        try:
            return d.solve()
        except SolverError:
            if not holding:
                raise
        d.hold(None)
        return d.solve()

    def _renew(self, renew: Callable[[pyo.ConcreteModel, int], list | None] | None, k: int, due: bool) -> bool:
        """Rewrite the held model's rows ``renew`` changes when ``due`` (True), or False when it cannot."""
        if renew is None or not due:
            return True
        cons = renew(self.held.model, k)
        if cons is None:
            return False
        self.held.rewrite_rows(cons)
        self.renewals += 1
        return True

    def _offset(self, inp: DispatchInputs) -> int | None:
        """Position of ``inp``'s horizon in the held model's, when it is a tail of it with the same statics."""
        d = self.held
        if d is None or len(inp.index) == 0 or _static(inp) != _static(d.inp):
            return None
        window = d.inp.index
        k = len(window) - len(inp.index)
        if k < 0 or not window[k:].equals(inp.index):
            return None
        return k

    def _revive(self, inp: DispatchInputs) -> bool:
        """Hold the model the last build replaced, and retire the held one, when that model can be
        shifted onto ``inp``'s horizon (a build within a day, e.g. for network rows, made a shorter
        model than the next local midnight's horizon: the day's first model serves it again)."""
        if self.retired is None:
            return False
        current, (self.held, self.extension) = (self.held, self.extension), self.retired
        if self._shiftable(inp):
            self.retired = current
            return True
        self.held, self.extension = current
        return False

    def _shiftable(self, inp: DispatchInputs) -> bool:
        """Whether the held model can be shifted onto ``inp``'s horizon (module doc): solved, as
        long, with the same statics, local day ends and demand-charge periods."""
        d = self.held
        return (d is not None and d.solved and len(inp.index) == len(d.inp.index) and _static(inp) == _static(d.inp)
                and [h.day_ends for h in inp.heat_pumps] == [h.day_ends for h in d.inp.heat_pumps]
                and [c.periods for c in inp.demand_charges] == [c.periods for c in d.inp.demand_charges])

    def _write(self, inp: DispatchInputs, k: int, shifted: bool = False) -> bool:
        """Write ``inp`` (the horizon from interval ``k`` of the held model; ``shifted``: the
        whole horizon, new) into the held model; False (nothing written) when a process load or
        an EV session cannot be served there."""
        d = self.held
        process = process_rows(d, inp.process_loads, k)
        if process is None:
            return False
        ev = {}
        for held, new in zip(d.inp.ev_chargers, inp.ev_chargers):
            rows = session_rows(d, held, new, k, anew=shifted)
            if rows is None:
                return False
            ev[held.id] = rows
        with d.batch():  # one write into HiGHS
            self._store(inp, k, process, ev)
        if k == 0:
            adopt(d, inp.process_loads)
        return True

    def _store(self, inp: DispatchInputs, k: int, process: dict, ev: dict[str, SessionRows]) -> None:
        """Store ``inp``'s numbers, the process loads' ``process`` right-hand sides and the EV
        sessions' ``ev`` rows and bounds in the held model from interval ``k`` on (see :meth:`_write`)."""
        d, m = self.held, self.held.model

        def pad(past, new):  # the held model's values before k, the new ones from k
            return np.concatenate([np.asarray(past, float)[:k], np.asarray(new, float)])

        d.update_forecasts(
            load_kw=pad(d.inp.load_kw, inp.load_kw), pv_kw=pad(d.inp.pv_kw, inp.pv_kw),
            ci_kg_per_kwh=pad(d.inp.ci_kg_per_kwh, inp.ci_kg_per_kwh),
            ci_objective_kg_per_kwh=pad(d.inp.ci_objective_kg_per_kwh, inp.ci_objective_kg_per_kwh),
            price_per_kwh=pad(d.inp.price_per_kwh, inp.price_per_kwh),
            pv_available_kw={p.id: pad(np.zeros(k), p.available_kw) for p in inp.pv_assets},
            heat_demand_kw={h.id: pad(np.zeros(k), h.heat_demand_kw) for h in inp.heat_pumps},
            cop={h.id: pad(np.ones(k), h.cop) for h in inp.heat_pumps})
        d.set_state(k, battery_soc_kwh={b.id: b.soc_initial_kwh for b in inp.batteries},
                    heat_pump_temp_c={h.id: h.temp_initial_c for h in inp.heat_pumps})
        n = len(d.inp.index)
        for name in ("import", "export"):
            if hasattr(m, f"{name}_limit_kw"):
                limit = pad(per_interval(getattr(d.inp, f"{name}_limit_kw"), n),
                            per_interval(getattr(inp, f"{name}_limit_kw"), n - k))
                d.param_store.store(getattr(m, f"{name}_limit_kw"), range(n), limit)
                setattr(d.inp, f"{name}_limit_kw", limit)
        targets = []
        for b in inp.batteries:
            if b.terminal_value_per_kwh is None:
                target = b.soc_initial_kwh if b.soc_terminal_min_kwh is None else b.soc_terminal_min_kwh
                targets.append((m.battery[b.id].soc_terminal, min(target, b.soc_max_kwh)))
        for h in inp.heat_pumps:
            target = h.temp_initial_c if h.temp_terminal_c is None else h.temp_terminal_c
            targets.append((m.heat_pump[h.id].temp_terminal, min(target, h.temp_max_c)))
        targets += held_values(m, inp, k)  # demand charges: floors, windows off before k
        col_bounds, row_rhs = {}, dict(process)
        for charger_id, rows in ev.items():
            rewrite_sessions(d, charger_id, rows.moves)
            col_bounds.update(rows.col_bounds)
            row_rhs.update(rows.row_rhs)
        for j, (lo, hi) in col_bounds.items():  # also on the variables: the network rows' reach reads them
            d.repn.columns[j].setlb(lo)
            d.repn.columns[j].setub(hi)
        d.set_values(targets, col_bounds, row_rhs)


def _polish(d: IntradayDispatch, mip: SolveResult) -> SolveResult:
    """After a MIP solve, the LP of its commitment: a basis the next held re-optimisations start
    warm from (HiGHS keeps none after a MIP), and a dispatch no worse than the MIP's."""
    d.hold(d.commitment())
    if d.relaxed_basis is not None:  # the relaxation's basis lies closer than none
        d.h.setBasis(d.relaxed_basis)
        d.relaxed_basis = None
    lp = d.solve()
    return dataclasses.replace(mip, objective=lp.objective)


def _longer(replaced: tuple, kept: tuple | None) -> tuple | None:
    """The model (and extension) to keep for a shift at the next midnight: the one a build just
    replaced, when solved, unless the one kept is longer (two builds within a day leave the day's
    first model kept, the only one as long as the next midnight's horizon)."""
    if replaced[0] is None or not replaced[0].solved:
        return kept
    if kept is not None and len(kept[0].inp.index) > len(replaced[0].inp.index):
        return kept
    return replaced


def _same(a: tuple, b: tuple | None) -> bool:
    """The same context object and the same solver settings."""
    return b is not None and a[0] is b[0] and a[1:] == b[1:]


def _static(inp: DispatchInputs) -> tuple:
    """Everything of ``inp`` a re-optimisation cannot change in place."""
    return (
        tuple(getattr(inp, f) for f in STATIC_INPUTS),
        bool(np.isfinite(inp.import_limit_kw).all()), bool(np.isfinite(inp.export_limit_kw).all()),  # values move in place
        event_limits_key(inp),
        tuple((b.id, *(getattr(b, f) for f in STATIC_BATTERY)) for b in inp.batteries),
        tuple((h.id, *(getattr(h, f) for f in STATIC_HEAT_PUMP)) for h in inp.heat_pumps),
        tuple((p.id, p.bus) for p in inp.pv_assets),
        tuple((e.id, e.bus, e.p_max_kw, e.p_min_kw) for e in inp.ev_chargers),
        static_key(inp.process_loads), tuple(sorted(inp.process_group_max_kw.items())),
    )
