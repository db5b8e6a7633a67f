"""Deferrable process loads of the district: placement at their bus, windows over a horizon, reports.

Each ``[[assets.process_load]]`` adds a load at its bus (on top of the inflexible load
forecast). Every occurrence of its window that touches the horizon becomes a
:class:`~gridctl.dispatch.process_load.ProcessWindow` asking for the configured energy; a window
cut by the horizon's start or end asks for the share of the energy that its part inside the
horizon has of the whole window, unless the load reported what it delivered in the window under
way (then: the rest). On/off loads ask for whole intervals (rounded to the nearest); a
semi-continuous load's plan adds what each start's ramp (``ramp_s``) misses.
"""

from __future__ import annotations

import functools
import math
from datetime import datetime, timedelta

import numpy as np
import pandapower as pp
import pandas as pd

from gridctl.config import Config
from gridctl.config_process import ProcessLoadConfig
from gridctl.dispatch.process_load import (
    LONG_AGO,
    ProcessLoadParams,
    ProcessReport,
    ProcessWindow,
    window_report,
)
from network_models.loading import find_element


def placement_problems(net: pp.pandapowerNet, config: Config) -> list[str]:
    """Process loads whose bus is not a bus of the net."""
    problems = []
    for i, p in enumerate(config.assets.process_load):
        try:
            find_element(net, "bus", p.bus)
        except KeyError as exc:
            problems.append(f"assets.process_load.{i}.bus: {exc.args[0]} ({p.id!r}); use a bus index or name of the net")
    return problems


def occurrences(cfg: ProcessLoadConfig, index: pd.DatetimeIndex, tz: str) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """(start, end) of every window of ``cfg`` that overlaps ``index`` (UTC-aware stamps)."""
    if cfg.window is None:
        spans = tuple((w.start, w.end) for w in cfg.windows)
    else:
        first = index[0].tz_convert(tz).date() - timedelta(days=1)
        days = (index[-1].tz_convert(tz).date() - first).days + 1
        start, end = cfg.window
        spans = tuple((datetime.combine(day, start), datetime.combine(day + timedelta(days=int(end <= start)), end))
                      for day in (first + timedelta(days=k) for k in range(days)))
    utc = index.values  # numpy datetime64 (UTC): compared without pandas's per-call overhead
    return [(ws, we) for ws, we in _localised(spans, tz)
            if ((utc >= ws.to_datetime64()) & (utc < we.to_datetime64())).any()]


@functools.lru_cache(maxsize=64)
def _localised(spans: tuple[tuple[datetime, datetime], ...], tz: str) -> tuple[tuple[pd.Timestamp, pd.Timestamp], ...]:
    """``spans`` (local wall-clock starts and ends) as stamps in ``tz`` (found once: every decision
    of a day asks for the same windows)."""
    return tuple(tuple(pd.Timestamp(x).tz_localize(tz, ambiguous=False, nonexistent="shift_forward") for x in span)
                 for span in spans)


def process_params(config: Config, net: pp.pandapowerNet, index: pd.DatetimeIndex,
                   reports: dict[str, ProcessReport] | None = None) -> list[ProcessLoadParams]:
    """Model parameters of every process load over ``index`` (see module doc); ``reports`` by id."""
    dt_h = config.site.resolution_min / 60.0
    out = []
    for cfg in config.assets.process_load:
        report = (reports or {}).get(cfg.id)
        windows = [_window(cfg, index, ws, we, dt_h, report) for ws, we in occurrences(cfg, index, config.site.timezone)]
        steps = config.site.resolution_min
        out.append(ProcessLoadParams(
            id=cfg.id, bus=find_element(net, "bus", cfg.bus), p_min_kw=cfg.p_min_kw, p_max_kw=cfg.p_max_kw,
            windows=tuple(windows), min_on_steps=math.ceil(cfg.min_on_min / steps),
            min_off_steps=math.ceil(cfg.min_off_min / steps), startup_cost=cfg.startup_cost, group=cfg.group,
            on_initial=bool(report and report.on),
            steps_in_state=int(report.minutes_in_state // steps) if report else LONG_AGO,
            ramp_h=0.0 if cfg.on_off else cfg.ramp_s / 3600.0,  # on/off: whole intervals only
        ))
    return out


def _window(cfg: ProcessLoadConfig, index: pd.DatetimeIndex, ws: pd.Timestamp, we: pd.Timestamp, dt_h: float,
            report: ProcessReport | None) -> ProcessWindow:
    utc = index.values
    inside = np.flatnonzero((utc >= ws.to_datetime64()) & (utc < we.to_datetime64()))
    whole_steps = (we - ws).total_seconds() / 3600 / dt_h
    under_way = ws < index[0]
    if under_way and report is not None:  # in 10 Wh steps: counters read in Wh or exactly plan alike
        energy, done = max(round(cfg.requested_kwh - report.delivered_kwh, 2), 0.0), report.starts
    else:
        energy, done = cfg.requested_kwh * min(len(inside) / whole_steps, 1.0), 0
    if cfg.on_off:
        step_kwh = cfg.p_max_kw * dt_h
        energy = round(energy / step_kwh) * step_kwh
    limits = [n - done for n, use in ((1, cfg.contiguous), (cfg.max_starts, cfg.max_starts is not None)) if use]
    return ProcessWindow(int(inside[0]), int(inside[-1]) + 1, energy,
                         max(min(limits), 0) if limits else None, label=ws.isoformat())


def add_load_elements(net: pp.pandapowerNet, config: Config) -> list[int]:
    """Add one load element per process load (0 kW, unity power factor) to ``net``; their indices."""
    return [pp.create_load(net, bus=find_element(net, "bus", p.bus), p_mw=0.0, name=p.id)
            for p in config.assets.process_load]


def process_report(table: pd.DataFrame, loads: list[ProcessLoadParams], dt_h: float) -> list[dict]:
    """Per process load and window: requested, delivered and unserved energy (kWh) and starts of
    the ``<id>.p_kw`` columns of ``table`` (a plan or a replayed operation)."""
    return [row for pl in loads for row in window_report(pl, table[f"{pl.id}.p_kw"].to_numpy(), dt_h, table.index)]


class ProcessTracker:
    """Each process load's report (:class:`ProcessReport`) from its device counters: the energy
    and starts counted since the first reading in the window under way, whether it runs and for
    how long it has been in that state."""

    def __init__(self, config: Config):
        self.config = config
        self._marks: dict[str, tuple[pd.Timestamp, float, int]] = {}  # window start, counters there

    def report(self, asset_id: str, now: pd.Timestamp, running: bool, state_s: float, energy_kwh: float,
               starts: int) -> ProcessReport:
        """The report of ``asset_id`` at ``now`` from its counters (kWh, starts) read then."""
        cfg = next(p for p in self.config.assets.process_load if p.id == asset_id)
        at = pd.DatetimeIndex([pd.Timestamp(now).floor(f"{self.config.site.resolution_min}min")])
        window = occurrences(cfg, at, self.config.site.timezone)
        if not window:
            self._marks.pop(asset_id, None)
            return ProcessReport(running, state_s / 60.0)
        mark = self._marks.get(asset_id)
        if mark is None or mark[0] != window[0][0]:
            mark = self._marks[asset_id] = (window[0][0], energy_kwh, starts)
        return ProcessReport(running, state_s / 60.0, energy_kwh - mark[1], starts - mark[2])


def reports_from_operation(config: Config, operation: pd.DataFrame, now: pd.Timestamp) -> dict[str, ProcessReport]:
    """What each process load would report at ``now`` had it run as ``operation`` says (``<id>.p_kw``
    per interval start, intervals before ``now``; e.g. a plan followed exactly)."""
    step = pd.Timedelta(minutes=config.site.resolution_min)
    out = {}
    for cfg in config.assets.process_load:
        p = operation[f"{cfg.id}.p_kw"].loc[:now - step].to_numpy()
        on = p > 1e-6
        changed = np.flatnonzero(on != on[-1])
        held_steps = len(on) - (changed[-1] + 1) if len(changed) else LONG_AGO
        window = occurrences(cfg, pd.DatetimeIndex([now]), config.site.timezone)
        n = int(((operation.index >= window[0][0]) & (operation.index < now)).sum()) if window else 0
        starts = on & ~np.r_[False, on[:-1]]
        out[cfg.id] = ProcessReport(bool(on[-1]), held_steps * step.total_seconds() / 60.0,
                                    float(p[len(p) - n:].sum() * step.total_seconds() / 3600.0) if n else 0.0,
                                    int(starts[len(starts) - n:].sum()) if n else 0)
    return out

