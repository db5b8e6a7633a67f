"""EV sessions in the persistent model: the held energy rows that serve the sessions reported now.

Each session of the held model (:class:`gridctl.dispatch.intraday.IntradayDispatch`) has an
energy row over the power columns of its stay. A re-optimisation from interval ``k`` serves a new
session by the held row of the same stay (same departure, and the same arrival or a stay under way
at ``k``): its right-hand side asks for the session's energy on top of what the fixed past
intervals planned. A session without such a row (a vehicle announcing another departure, a
forecast arrival that moved) takes the row of a held session no new one matches, rewritten in
place over the columns of its stay (:func:`rewrite_sessions`: the Pyomo constraint and its
coefficients in HiGHS; the basis is kept), else one of the :data:`SPARE_ROWS` spare rows each
charger's model is built with (:func:`with_spare_rows`). Then the other unmatched rows are cut
back to their past intervals, so none reaches into a new stay. Rows left unmatched ask for what
their fixed intervals hold (nothing unserved). Only when more sessions need rows than the
charger's held model has is a new model built.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from pyomo.core.expr.numeric_expr import LinearExpression

from gridctl.dispatch.inputs import DispatchInputs, EvChargerParams, EvSession
from gridctl.dispatch.intraday import IntradayDispatch
from gridctl.dispatch.soft import registry

SPARE_ROWS = 2  # energy rows per charger for sessions that appear after the model's build


def with_spare_rows(inp: DispatchInputs) -> DispatchInputs:
    """``inp`` with :data:`SPARE_ROWS` spare energy rows for each charger (same optimum)."""
    return dataclasses.replace(inp, ev_chargers=[dataclasses.replace(e, spare_rows=SPARE_ROWS)
                                                 for e in inp.ev_chargers])


@dataclasses.dataclass
class SessionRows:
    """What serves one charger's new sessions in the held model: column bounds, energy-row
    right-hand sides (by HiGHS index) and the held rows to rewrite (slot -> stay in the held horizon)."""

    col_bounds: dict[int, tuple[float, float]]
    row_rhs: dict[int, float]
    moves: dict[int, EvSession]


def session_rows(d: IntradayDispatch, held: EvChargerParams, new: EvChargerParams, k: int,
                 anew: bool = False) -> SessionRows | None:
    """The :class:`SessionRows` that make the held charger's model the one of ``new``'s sessions
    (intervals from ``k`` on), or None when a new session finds no held row (see module doc);
    ``anew``: a shifted horizon (``k`` 0), every session takes a row rewritten for it."""
    blk = d.model.ev[held.id]
    col = d.columns(blk.p_kw)
    n, dt = len(d.inp.index) - k, d.inp.dt_h
    p_min, p_max = np.zeros(n), np.zeros(n)
    row_rhs: dict[int, float] = {}
    matched: dict[int, EvSession] = {}
    unmatched = []
    for s in new.sessions:
        a, e = k + s.arrival, k + s.departure
        i = None if anew else next((i for i, h in enumerate(held.sessions) if i not in matched and h.departure == e
                                    and (h.arrival == a or (s.arrival == 0 and h.arrival < k))), None)
        if i is None:
            unmatched.append(s)
        else:
            matched[i] = s
            planned_kwh = float(d.last_values(col[held.sessions[i].arrival:k]).sum()) * dt  # in the fixed past
            row_rhs[d.row_of[id(blk.energy[i])]] = s.energy_kwh + planned_kwh
        p_max[s.arrival:s.departure] = new.p_max_kw
        p_min[s.arrival:s.departure] = min(new.p_min_kw, s.energy_kwh / ((s.departure - s.arrival) * dt))
    free = [i for i in range(len(held.sessions) + held.spare_rows) if i not in matched]  # spares last
    if len(unmatched) > len(free):
        return None
    moves = {}
    for i, s in zip(free, unmatched):
        moves[i] = dataclasses.replace(s, arrival=k + s.arrival, departure=k + s.departure)
        row_rhs[d.row_of[id(blk.energy[i])]] = s.energy_kwh
    for i in free[len(unmatched):]:  # sessions gone or over: what was planned, nothing unserved
        if i >= len(held.sessions):
            break  # spare rows left
        h = held.sessions[i]
        if moves and h.departure > k:  # cut back to its past, out of the new stays
            moves[i] = dataclasses.replace(h, departure=max(h.arrival, k), energy_kwh=0.0)
        planned_kwh = float(d.last_values(col[h.arrival:min(k, h.departure)]).sum()) * dt
        row_rhs[d.row_of[id(blk.energy[i])]] = planned_kwh
    cols = {int(col[k + t]): (float(p_min[t]), float(p_max[t])) for t in range(n)}
    return SessionRows(cols, row_rhs, moves)


def rewrite_sessions(d: IntradayDispatch, charger_id: str, moves: dict[int, EvSession]) -> None:
    """Rewrite the held energy rows of ``moves`` (slot -> stay in the held horizon) over the power
    columns of their new stays, in the Pyomo model and in HiGHS, and keep the stays and labels."""
    if not moves:
        return
    at = next(n for n, e in enumerate(d.inp.ev_chargers) if e.id == charger_id)
    held = d.inp.ev_chargers[at]
    blk, dt = d.model.ev[charger_id], d.inp.dt_h
    col = d.columns(blk.p_kw)
    labels = next(s.labels for s in registry(d.model) if s.slack is blk.unserved_kwh)
    sessions = list(held.sessions)
    for i, s in sorted(moves.items()):  # spare rows (after the sessions) taken in order
        old = sessions[i] if i < len(sessions) else EvSession(0, 0, 0.0)
        stay = range(s.arrival, s.departure)
        body = LinearExpression(constant=0.0, linear_coefs=[dt] * len(stay) + [1.0],
                                linear_vars=[blk.p_kw[t] for t in stay] + [blk.unserved_kwh[i]])
        blk.energy[i].set_value((s.energy_kwh, body, s.energy_kwh))
        row = d.row_of[id(blk.energy[i])]
        for t in range(old.arrival, old.departure):
            d.h.changeCoeff(row, int(col[t]), 0.0)
        for t in stay:
            d.h.changeCoeff(row, int(col[t]), dt)
        if i < len(sessions):
            sessions[i] = s
        else:
            sessions.append(s)
        labels[i] = s.label or f"session {i}"
    chargers = list(d.inp.ev_chargers)  # a new list: the held inputs share theirs with the inputs they copied
    spare = held.spare_rows - (len(sessions) - len(held.sessions))
    chargers[at] = dataclasses.replace(held, sessions=tuple(sessions), spare_rows=spare)
    d.inp.ev_chargers = chargers
