"""Deferrable process load block (MILP) and the shared power budget of process groups.

Per load and interval ``t`` (``dt`` hours): the binary ``on[t]``, ``start[t]`` and ``stop[t]`` in
[0, 1] and the load-referenced power ``p[t]`` (kW). ``start`` and ``stop`` need no integrality of
their own: with ``on`` integral, the switching row makes them 0 or 1 except for a pair
``start = stop`` while ``on`` holds, which only tightens the rows below and costs start-up cost,
so dropping it keeps a plan feasible and no worse (HiGHS branches on ``on`` alone). Rows:

- ``p_min * on[t] <= p[t] <= p_max * on[t]`` (``p_min == p_max``: on/off at one level), and
  ``on[t] = 0`` outside the load's windows;
- ``on[t] - on[t-1] = start[t] - stop[t]`` and ``start[t] + stop[t] <= 1`` (``on[-1]``: the
  state at the horizon's start);
- minimum up time ``U`` intervals: ``sum(start[t-U+1..t]) <= on[t]``; minimum down time ``D``:
  ``sum(stop[t-D+1..t]) <= 1 - on[t]`` (a state held for less than ``U``/``D`` before the start
  is held on);
- per window ``w``: ``sum(p[t] * dt - ramp[t] for t in w) + unserved[w] = energy[w]`` (kWh,
  ``unserved`` a soft slack at the ``process_energy`` penalty, 10 per kWh) and
  ``sum(start[t] for t in w) <= starts_left[w]``: 1 for a contiguous (single-block) load,
  ``max_starts`` otherwise, less the starts already made in a window in progress;
- a load running at ``t`` started within the last ``L`` intervals, ``L`` the longest block its
  window's energy allows (valid for integer plans; tightens the LP relaxation);
- ``ramp[t] >= ramp_h / 2 * (p[t] - p_max * (1 - start[t]))``, ``ramp[t] >= 0`` (kWh): the energy
  a start misses while the device ramps linearly to ``p[t]`` over ``ramp_h`` hours (exact for a
  start, 0 otherwise; the energy row pushes it to its bound). Only with ``ramp_h > 0``: an on/off
  load (``ramp_h = 0``, see :func:`gridctl.process_loads.process_params`) cannot run part of an
  interval more, so its window asks for whole intervals and a start's ramp stays short;
- ``start_cost = startup_cost * sum(start[t])`` in objective units (kg CO2e in the emissions
  mode, currency in the cost and blend modes), added to the objective.

A group ``g`` with budget ``max_kw``: ``sum(p_l[t] for l in g) <= max_kw`` for every ``t``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from gridctl.dispatch.soft import PENALTY, add_slack

UNSERVED_PENALTY_PER_KWH = PENALTY["ev_energy"]
LONG_AGO = 10**6  # intervals: a state held "forever" before the horizon


@dataclass(frozen=True)
class ProcessWindow:
    """One window of a load within the horizon: intervals ``[start, end)``, the energy (kWh) to
    deliver in them and the starts still allowed there (None: no limit)."""

    start: int
    end: int
    energy_kwh: float
    starts_left: int | None = None
    label: str = ""


@dataclass(frozen=True)
class ProcessLoadParams:
    """A deferrable process load in model units (kW, kWh, intervals)."""

    id: str
    bus: int
    p_min_kw: float
    p_max_kw: float
    windows: tuple[ProcessWindow, ...]
    min_on_steps: int = 0
    min_off_steps: int = 0
    startup_cost: float = 0.0
    group: str | None = None
    on_initial: bool = False  # running at the horizon's start
    steps_in_state: int = LONG_AGO  # intervals the initial state has been held
    ramp_h: float = 0.0  # hours from a start to the target power (0: the plan ignores the ramp)


@dataclass(frozen=True)
class ProcessReport:
    """What a process load reports at re-optimisation: running or not, for how long (minutes),
    and the energy delivered and starts made in the window under way."""

    on: bool
    minutes_in_state: float = float(LONG_AGO)
    delivered_kwh: float = 0.0
    starts: int = 0


def allowed_steps(pl: ProcessLoadParams, n: int) -> np.ndarray:
    """Whether the load may run in each of ``n`` intervals (inside one of its windows)."""
    allowed = np.zeros(n, dtype=bool)
    for w in pl.windows:
        allowed[w.start:w.end] = True
    return allowed


def populate_process_load(blk: pyo.Block, T: pyo.Set, dt_h: float, pl: ProcessLoadParams) -> None:
    """Fill ``blk`` with one process load's binaries, power, switching, windows and start cost."""
    lb, ub = on_bounds(pl, len(T))
    blk.on = pyo.Var(T, within=pyo.Binary, bounds=lambda _, t: (float(lb[t]), float(ub[t])))
    blk.start = pyo.Var(T, within=pyo.UnitInterval)  # integral wherever ``on`` is (see module doc)
    blk.stop = pyo.Var(T, within=pyo.UnitInterval)
    blk.p_kw = pyo.Var(T, bounds=lambda _, t: (0.0, pl.p_max_kw * float(ub[t])))
    blk.p_lo = pyo.Constraint(T, rule=lambda _, t: blk.p_kw[t] >= pl.p_min_kw * blk.on[t])
    blk.p_hi = pyo.Constraint(T, rule=lambda _, t: blk.p_kw[t] <= pl.p_max_kw * blk.on[t])
    on0 = float(pl.on_initial)
    blk.switch = pyo.Constraint(T, rule=lambda _, t: blk.on[t] - (blk.on[t - 1] if t else on0)
                                == blk.start[t] - blk.stop[t])
    blk.one_switch = pyo.Constraint(T, rule=lambda _, t: blk.start[t] + blk.stop[t] <= 1)
    up, down = pl.min_on_steps, pl.min_off_steps
    blk.min_up = pyo.Constraint(T, rule=lambda _, t: _window_sum(blk.start, t, up) <= blk.on[t]
                                if up > 1 else pyo.Constraint.Skip)
    blk.min_down = pyo.Constraint(T, rule=lambda _, t: _window_sum(blk.stop, t, down) <= 1 - blk.on[t]
                                  if down > 1 else pyo.Constraint.Skip)
    W = list(range(len(pl.windows)))
    labels = {i: w.label or f"window {i}" for i, w in enumerate(pl.windows)}
    unserved = add_slack(blk, "unserved_kwh", W, limit="process_energy", asset=pl.id, unit="kWh",
                         penalty=UNSERVED_PENALTY_PER_KWH, labels=labels)
    ramp = _ramp_losses(blk, T, pl)
    blk.energy = pyo.Constraint(W, rule=lambda _, i: sum(
        blk.p_kw[t] * dt_h - ramp.get(t, 0.0) for t in range(pl.windows[i].start, pl.windows[i].end))
        + unserved[i] == pl.windows[i].energy_kwh)
    blk.starts = pyo.Constraint(W, rule=lambda _, i: _starts_row(blk, pl.windows[i]))
    recent = _recent_start_rows(pl, ub, dt_h)
    blk.recent_start = pyo.Constraint(list(recent), rule=lambda _, t: blk.on[t] <= _window_sum(blk.start, t, recent[t]))
    blk.start_cost = pyo.Expression(expr=pl.startup_cost * sum(blk.start[t] for t in T))


def _ramp_losses(blk: pyo.Block, T: pyo.Set, pl: ProcessLoadParams) -> dict:
    """``ramp[t]`` (kWh) per interval where the load may run, when it has a ramp (see module doc)."""
    if pl.ramp_h <= 0:
        return {}
    blk.ramp_kwh = pyo.Var(T, bounds=(0.0, pl.p_max_kw * pl.ramp_h / 2))
    blk.ramp_row = pyo.Constraint(T, rule=lambda _, t: blk.ramp_kwh[t] >= pl.ramp_h / 2 * (
        blk.p_kw[t] - pl.p_max_kw * (1 - blk.start[t])))
    return {t: blk.ramp_kwh[t] for t in T}


def _window_sum(var: pyo.Var, t: int, steps: int):
    return sum(var[k] for k in range(max(0, t - steps + 1), t + 1))


def _recent_start_rows(pl: ProcessLoadParams, may_run: np.ndarray, dt_h: float) -> dict[int, int]:
    """Per interval ``t`` of a window that opens with the load off, the longest block ``L`` its
    energy allows (``energy / (p_min * dt)`` intervals): running at ``t`` means a start within the
    last ``L`` intervals. Valid for every integer plan, these rows cut fractional plans that
    spread a block thinly (they tighten the LP relaxation)."""
    rows = {}
    for w in pl.windows:
        off_before = not may_run[w.start - 1] if w.start > 0 else not pl.on_initial
        longest = math.floor(w.energy_kwh / (pl.p_min_kw * dt_h) + 1e-9)
        if off_before and longest < w.end - w.start:
            rows.update({t: longest for t in range(w.start, w.end)})
    return rows


def _starts_row(blk: pyo.Block, w: ProcessWindow):
    if w.starts_left is None:
        return pyo.Constraint.Skip
    return sum(blk.start[t] for t in range(w.start, w.end)) <= w.starts_left


def on_bounds(pl: ProcessLoadParams, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of ``on`` over ``n`` intervals: 0 outside the windows; a state held for less than the
    minimum up (down) time before the start is held on (off) until that time is reached."""
    ub = allowed_steps(pl, n).astype(float)
    lb = np.zeros(n)
    if pl.on_initial:
        lb[:max(pl.min_on_steps - pl.steps_in_state, 0)] = 1.0
        lb *= ub
    else:
        ub[:max(pl.min_off_steps - pl.steps_in_state, 0)] = 0.0
    return lb, ub


def add_process_groups(m: pyo.ConcreteModel, loads: list[ProcessLoadParams], max_kw: dict[str, float]) -> None:
    """Bound the summed power of each group's loads by its budget (``m.process_group[g, t]``)."""
    members = {g: [pl.id for pl in loads if pl.group == g] for g in max_kw}
    groups = [g for g, ids in members.items() if ids]
    m.PROCESS_GROUP = pyo.Set(initialize=groups)
    m.process_group = pyo.Constraint(m.PROCESS_GROUP, m.T, rule=lambda _, g, t: sum(
        m.process_load[i].p_kw[t] for i in members[g]) <= max_kw[g])


def immediate_running(pl: ProcessLoadParams, n: int, dt_h: float) -> np.ndarray:
    """No flexibility: full power from each window's start until its energy is delivered."""
    p = np.zeros(n)
    for w in pl.windows:
        full, rest_kwh = divmod(w.energy_kwh + 1e-9, pl.p_max_kw * dt_h)
        steps = min(int(full), w.end - w.start)
        p[w.start:w.start + steps] = pl.p_max_kw
        if steps < w.end - w.start and rest_kwh / dt_h >= pl.p_min_kw:  # a last, partial interval
            p[w.start + steps] = rest_kwh / dt_h
    return p


def window_report(pl: ProcessLoadParams, p_kw: np.ndarray, dt_h: float, index) -> list[dict]:
    """Per window: requested, delivered and unserved energy (kWh) and the starts of the plan ``p_kw``."""
    on = p_kw > 1e-6
    before = np.r_[pl.on_initial, on[:-1]]
    starts = on & ~before
    out = []
    for w in pl.windows:
        delivered = float(p_kw[w.start:w.end].sum() * dt_h)
        out.append({"asset": pl.id, "window_start": index[w.start].isoformat(),
                    "window_end": (index[w.end - 1] + pd.Timedelta(hours=dt_h)).isoformat(),
                    "requested_kwh": round(w.energy_kwh, 3), "delivered_kwh": round(delivered, 3),
                    "unserved_kwh": round(max(w.energy_kwh - delivered, 0.0), 3),
                    "starts": int(starts[w.start:w.end].sum())})
    return out
