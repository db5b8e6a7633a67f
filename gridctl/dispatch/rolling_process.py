"""Process loads in the persistent model: is the held plan the state the loads report?

The held model (:class:`gridctl.dispatch.intraday.IntradayDispatch`) keeps its past intervals at
what it planned, so it can serve a re-optimisation from interval ``k`` only when each process
load did what was planned: the same running state at ``k`` held for as long (up to the longest
minimum up/down time), and, in every window still open, the same starts. From the horizon's
first interval (a shifted horizon), the model holds the state it was built with only where it
bounds the on/off columns: another report of the same running state makes the same model when it
leaves the same bounds (e.g. a load off long enough before its first window opens). The energy delivered may
differ (counters, ramps): the window's energy row then asks for the reported rest on top of what
the fixed past intervals hold, as a rebuild would; a window already closed asks for what its fixed
intervals hold (a rebuild has no row for it). Otherwise a new model is built.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gridctl.dispatch.intraday import IntradayDispatch
from gridctl.dispatch.process_load import ProcessLoadParams, on_bounds
from gridctl.dispatch.soft import registry

STATIC = ("bus", "p_min_kw", "p_max_kw", "min_on_steps", "min_off_steps", "startup_cost", "group", "ramp_h")


def static_key(loads: list[ProcessLoadParams]) -> tuple:
    """What of the process loads a re-optimisation cannot change in place."""
    return tuple((p.id, *(getattr(p, f) for f in STATIC)) for p in loads)


def process_rows(d: IntradayDispatch, new_loads: list[ProcessLoadParams], k: int) -> dict[int, float] | None:
    """Right-hand sides (by HiGHS row) of the held windows' energy rows that make the held model
    the one of ``new_loads`` (parameters of the horizon from interval ``k``), or None when a load's
    reported state is not the held plan's."""
    rhs: dict[int, float] = {}
    for held, new in zip(d.inp.process_loads, new_loads):
        planned = _planned(d, held)
        if not (_same_state(held, new, planned, k) or k == 0 and _same_start(held, new, len(d.inp.index))):
            return None
        blk = d.model.process_load[held.id]
        open_windows = [w for w in held.windows if w.end > k]
        if len(open_windows) != len(new.windows):
            return None
        rest_kwh = dict(zip(open_windows, (nw.energy_kwh for nw in new.windows)))  # closed windows: nothing
        for w, nw in zip(open_windows, new.windows):
            starts = None if w.starts_left is None else w.starts_left - int(
                planned["start"][w.start:max(w.start, k)].sum() + 0.5)
            if (max(w.start - k, 0), w.end - k, starts) != (nw.start, nw.end, nw.starts_left):
                return None
        for i, w in enumerate(held.windows):
            past = slice(w.start, min(max(w.start, k), w.end))
            held_kwh = float(planned["p_kw"][past].sum()) * d.inp.dt_h - float(planned["ramp_kwh"][past].sum())
            rhs[d.row_of[id(blk.energy[i])]] = rest_kwh.get(w, 0.0) + held_kwh
    return rhs


def _planned(d: IntradayDispatch, held: ProcessLoadParams) -> dict[str, np.ndarray]:
    """The last solution's ``on``, ``start``, ``p_kw`` and ``ramp_kwh`` (zeros without a ramp) of one
    process load over the held horizon."""
    blk = d.model.process_load[held.id]
    n = len(d.inp.index)
    names = ("on", "start", "p_kw", "ramp_kwh") if held.ramp_h > 0 else ("on", "start", "p_kw")
    out = {name: d.last_values(d.columns(getattr(blk, name))) for name in names}
    out.setdefault("ramp_kwh", np.zeros(n))
    return out


def _same_state(held: ProcessLoadParams, new: ProcessLoadParams, planned: dict[str, np.ndarray], k: int) -> bool:
    """Whether the load reports, at ``k``, the running state the held plan had there, held as long
    (counted up to the longest minimum up/down time, beyond which it no longer binds)."""
    on = planned["on"][:k] > 0.5
    state = bool(on[-1]) if k else held.on_initial
    run = len(on) - (np.flatnonzero(on != state)[-1] + 1) if (on != state).any() else \
        len(on) + (held.steps_in_state if held.on_initial == state else 0)
    cap = max(held.min_on_steps, held.min_off_steps, 1)
    return new.on_initial == state and min(run, cap) == min(new.steps_in_state, cap)


def _same_start(held: ProcessLoadParams, new: ProcessLoadParams, n: int) -> bool:
    """Whether the model built from ``held``'s initial state is the one ``new``'s state makes over
    ``n`` intervals from the horizon's start: the same running state (the first switching row) and
    the same bounds on the on/off columns (:func:`on_bounds`)."""
    return held.on_initial == new.on_initial and all(
        np.array_equal(a, b) for a, b in zip(on_bounds(held, n), on_bounds(new, n)))


def adopt(d: IntradayDispatch, new_loads: list[ProcessLoadParams]) -> None:
    """The held loads take ``new_loads``' initial states, and their windows' unserved-energy
    slacks ``new_loads``' window names (a horizon written from its first interval, e.g. shifted:
    the same rows, other days)."""
    d.inp.process_loads = [dataclasses.replace(held, on_initial=new.on_initial, steps_in_state=new.steps_in_state)
                           for held, new in zip(d.inp.process_loads, new_loads)]
    for pl in new_loads:
        slack = d.model.process_load[pl.id].unserved_kwh
        labels = next(s.labels for s in registry(d.model) if s.slack is slack)
        labels.update({i: w.label or f"window {i}" for i, w in enumerate(pl.windows)})
