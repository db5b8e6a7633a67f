"""EV charging point block, and how sessions are derived from data.

Model (per charger): power ``p[t]`` in kW, load-referenced, ``0 <= p <= p_max`` while a vehicle is
connected (``[arrival, departure)``) and 0 otherwise. Per session ``s``:
``sum(p[t] * dt for t in s) + unserved[s] == energy_kwh`` (never more than requested), with
``unserved`` a soft slack (``ev_energy`` penalty): a session that cannot get its energy yields a
plan with its shortfall reported, not an error. ``spare_rows`` add energy rows without a session
(``unserved == 0``), which a persistent model rewrites for sessions that appear later.
``p_min_kw`` applies while connected, reduced per session to what its energy allows (a charger
cannot be forced to overfill).

Sessions from data (:func:`sessions_from_profile`): an uncontrolled charging profile is cut into
blocks of charging intervals (gaps up to ``merge_gap_steps`` zero intervals merged); each block
is one session arriving at the block's first interval, asking for the block's energy, and
staying ``dwell_steps`` intervals (at least until the block ends, at most to the horizon's end).
The no-flexibility baseline of a charger is :func:`immediate_charging`: full power from arrival
until the energy is delivered.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from gridctl.dispatch.inputs import EvChargerParams, EvSession
from gridctl.dispatch.soft import PENALTY, add_slack


def populate_ev(blk: pyo.Block, T: pyo.Set, dt_h: float, ev: EvChargerParams) -> None:
    """Fill ``blk`` with one charging point's power, session energy rows and unserved-energy slacks."""
    problems = check_sessions(ev, len(T))
    if problems:
        raise ValueError("; ".join(problems))
    p_min = np.zeros(len(T))
    p_max = np.zeros(len(T))
    for s in ev.sessions:
        steps = s.departure - s.arrival
        p_max[s.arrival:s.departure] = ev.p_max_kw
        p_min[s.arrival:s.departure] = min(ev.p_min_kw, s.energy_kwh / (steps * dt_h))
    blk.p_kw = pyo.Var(T, bounds=lambda _, t: (float(p_min[t]), float(p_max[t])))
    S = range(len(ev.sessions) + ev.spare_rows)
    labels = {i: s.label or f"session {i}" for i, s in enumerate(ev.sessions)}
    unserved = add_slack(blk, "unserved_kwh", list(S), limit="ev_energy", asset=ev.id, unit="kWh",
                         penalty=PENALTY["ev_energy"], labels=labels)

    def energy(_, i):
        if i >= len(ev.sessions):  # a spare row: no session (yet)
            return unserved[i] == 0.0
        s = ev.sessions[i]
        return sum(blk.p_kw[t] for t in range(s.arrival, s.departure)) * dt_h + unserved[i] == s.energy_kwh

    blk.energy = pyo.Constraint(list(S), rule=energy)


def sessions_from_profile(power_kw: np.ndarray, dt_h: float, dwell_steps: int,
                          merge_gap_steps: int = 4, tol_kw: float = 1e-6) -> list[EvSession]:
    """Sessions implied by an uncontrolled charging profile over one horizon (see module doc)."""
    charging = np.flatnonzero(np.asarray(power_kw) > tol_kw)
    if charging.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(charging) > merge_gap_steps + 1)
    starts = np.r_[charging[0], charging[breaks + 1]]
    ends = np.r_[charging[breaks], charging[-1]] + 1
    n = len(power_kw)
    sessions = []
    for a, e in zip(starts, ends):
        energy = float(np.sum(power_kw[a:e]) * dt_h)
        sessions.append(EvSession(int(a), int(min(max(e, a + dwell_steps), n)), energy))
    # a session may not outstay the next arrival (one vehicle at a time)
    return [
        EvSession(s.arrival, min(s.departure, nxt.arrival), s.energy_kwh)
        for s, nxt in zip(sessions, sessions[1:] + [EvSession(n, n, 0.0)])
    ]


def immediate_charging(ev: EvChargerParams, n: int, dt_h: float) -> np.ndarray:
    """Uncontrolled charging: full power from arrival until the session's energy is delivered."""
    p = np.zeros(n)
    for s in ev.sessions:
        left = s.energy_kwh
        for t in range(s.arrival, s.departure):
            p[t] = min(ev.p_max_kw, left / dt_h)
            left -= p[t] * dt_h
    return p


def remaining_energy_kwh(requested_kwh: float, delivered_kwh: float) -> float:
    """Energy (kWh) a session in progress still asks for: requested minus delivered, never negative."""
    return max(requested_kwh - delivered_kwh, 0.0)


def reported_sessions(sessions: list[EvSession], n: int, connected: bool, delivered_kwh: float = 0.0,
                      requested_kwh: float | None = None, departure: int | None = None,
                      stay: int | None = None) -> list[EvSession]:
    """A charger's sessions over ``n`` intervals after its report at the horizon's start.

    The expected session under way at the start (arrival 0) gives way to what the charger
    reports: nothing when no vehicle is connected; else one session from the start to the
    announced ``departure`` (else the expected session's, else ``stay`` intervals) asking for the
    announced request minus ``delivered_kwh`` (else the expected session's remaining energy).
    Later sessions arrive no earlier than that departure (one vehicle at a time).
    """
    expected = next((s for s in sessions if s.arrival == 0), None)
    later = [s for s in sessions if s.arrival > 0]
    if not connected:
        return later
    if departure is None:
        departure = expected.departure if expected else (stay or n)
    departure = min(max(departure, 1), n)
    if requested_kwh is not None:
        energy = remaining_energy_kwh(requested_kwh, delivered_kwh)
    else:
        energy = expected.energy_kwh if expected else 0.0
    label = expected.label if expected else "connected vehicle"
    out = [EvSession(0, departure, energy, label)]
    for s in later:
        if max(s.arrival, departure) < s.departure:
            out.append(EvSession(max(s.arrival, departure), s.departure, s.energy_kwh, s.label))
    return out


def check_sessions(ev: EvChargerParams, n: int) -> list[str]:
    """Problems with a charger's sessions (out of the horizon, empty, overlapping)."""
    problems = []
    last = 0
    for i, s in enumerate(sorted(ev.sessions, key=lambda s: s.arrival)):
        if not 0 <= s.arrival < s.departure <= n:
            problems.append(f"{ev.id} session {i}: arrival {s.arrival} / departure {s.departure} outside [0, {n}]")
        if s.arrival < last:
            problems.append(f"{ev.id} session {i}: arrives before the previous session departs; one vehicle at a time")
        if s.energy_kwh < 0:
            problems.append(f"{ev.id} session {i}: negative energy {s.energy_kwh} kWh")
        last = s.departure
    return problems
