"""Days across workers: one replay window split into chunks of consecutive days, replayed in
parallel on Dask and joined into one result.

Chunk ``i`` keeps the days ``[start_i, end_i]`` but is replayed from ``warmup_days`` days before
``start_i`` (the first chunk from the window's start, as the sequential replay), so its devices
(battery SoC, EV sessions, heat-store temperatures) and its day-ahead plan come out of gridctl's
own operation before the kept days; the warm-up days are then trimmed off. Every chunk's
decisions plan as the sequential replay's do: through tomorrow, with the warm-down at the
window's end only, ending at the window's starting SoC.

The hand-over is an approximation: a chunk starts its warm-up from the configured (or given)
initial SoC, not from the SoC the previous chunk ended with, and re-converges during the warm-up.
Forecasts do not depend on where a replay starts (each is issued from the history known at its
issue time). Baselines run per chunk with the same warm-up: ``none`` and ``self-consumption``
converge like gridctl; the perfect-foresight bounds optimise each chunk (warm-up included) on
its own, ending at the initial SoC, so they are a chunk-wise bound. KPIs and AC checks are then
computed once over the joined window, as a sequential replay computes them; ``timings_s`` and
``decisions`` include the warm-up days' work, and the joined result keeps no per-decision list.
Progress is counted in days, each reported by its worker when replayed (warm-up days included);
beside the bar, the chunk whose baselines run after its days.
"""

from __future__ import annotations

import dataclasses
import time as timer
from datetime import date, timedelta

import pandas as pd

from gridctl.config import Config, ConfigError
from gridctl.district import District
from gridctl.replay.actuals import load_actuals
from gridctl.replay.baseline_runs import run_baselines
from gridctl.replay.cluster import Units, dask_map, progress_reporter
from gridctl.replay.engine import ControllerRun, Timings, replay_controller
from gridctl.replay.run import (
    CONTROLLER,
    ReplayResult,
    evaluate,
    replay_days,
    replay_index,
)
from gridctl.replay.sweep import worker_district


@dataclasses.dataclass(frozen=True)
class Chunk:
    """Kept days ``start..end`` (inclusive), replayed from ``warmup_start``."""

    warmup_start: date
    start: date
    end: date


def split_window(days: list[date], chunks: int, warmup_days: int) -> list[Chunk]:
    """``days`` in ``chunks`` runs of consecutive days (as even as whole days allow), each but the
    first warmed up ``warmup_days`` days; raise :class:`ConfigError` for impossible counts."""
    if chunks < 1 or warmup_days < 0:
        raise ConfigError([f"--chunks {chunks} / --warmup-days {warmup_days}: give at least 1 chunk and 0 or more days"])
    if chunks > len(days):
        raise ConfigError([f"--chunks {chunks}: the window has only {len(days)} days; use at most {len(days)}"])
    size, extra = divmod(len(days), chunks)
    out, first = [], 0
    for i in range(chunks):
        last = first + size + (i < extra) - 1
        warm = days[first] - timedelta(days=warmup_days if i else 0)
        out.append(Chunk(warm, days[first], days[last]))
        first = last + 1
    return out


def run_chunk(config: Config, chunk: Chunk, plan_end: pd.Timestamp, soc_kwh: dict[str, float] | None,
              topic: str | None = None) -> tuple[ControllerRun, dict[str, pd.DataFrame], dict[str, str]]:
    """Replay ``chunk`` (warm-up included) with its baselines; return gridctl's run and every run's
    operation, trimmed to the kept days, and the baselines that failed, with why (in a Dask
    worker: the district is loaded once per process; each day gridctl replayed, warm-up included,
    is reported on ``topic``)."""
    district = worker_district(config)
    days = replay_days(chunk.warmup_start, chunk.end)
    actuals = load_actuals(district, replay_index(district, days))
    report = progress_reporter(topic)
    controller = replay_controller(district, actuals, days, soc_kwh, plan_end=plan_end, on_day=report)
    if report is not None:
        report(f"baselines of {chunk.start}..{chunk.end}")
    runs, failed = run_baselines(district, actuals, soc_kwh, controller.timings)
    kept = actuals.index >= replay_index(district, [chunk.start])[0]
    runs = {name: op[kept] for name, op in runs.items()}
    trimmed = ControllerRun(controller.operation[kept], controller.planned[kept],
                            {d: p for d, p in controller.day_ahead.items() if d >= chunk.start},
                            [], controller.timings, controller.write_errors)
    return trimmed, runs, {name: f"{chunk.start}..{chunk.end}: {why}" for name, why in failed.items()}


def run_chunked(district: District, start: date, end: date, chunks: int, warmup_days: int,
                n_workers: int | None = None, scheduler: str | None = None,
                soc_kwh: dict[str, float] | None = None, progress: bool = False) -> ReplayResult:
    """Replay ``start..end`` as ``chunks`` chunks on Dask (see module doc) and join them into one result."""
    t_start = timer.perf_counter()
    days = replay_days(start, end)
    index = replay_index(district, days)
    plan_end = index[-1] + pd.Timedelta(minutes=district.resolution_min)
    split = split_window(days, chunks, warmup_days)
    tasks = [(district.config, c, plan_end, soc_kwh) for c in split]
    replayed = sum((c.end - c.warmup_start).days + 1 for c in split)  # warm-up days included
    parts = dask_map(run_chunk, tasks, Units(replayed, "day"), scheduler, n_workers, progress)
    controller = join_controllers([c for c, _, _ in parts])
    failed = {name: why for _, _, f in parts for name, why in f.items()}  # a baseline failed in a chunk: left out
    runs = {name: pd.concat([r[name] for _, r, _ in parts]) for name in parts[0][1] if name not in failed}
    return evaluate(district, days, load_actuals(district, index), {CONTROLLER: controller.operation, **runs},
                    controller, soc_kwh, t_start, failed)


def join_controllers(parts: list[ControllerRun]) -> ControllerRun:
    """Chunks' runs in order as one: tables concatenated, timings and counts summed."""
    timings = Timings()
    for p in parts:
        for f in dataclasses.fields(Timings):
            setattr(timings, f.name, getattr(timings, f.name) + getattr(p.timings, f.name))
    return ControllerRun(pd.concat([p.operation for p in parts]), pd.concat([p.planned for p in parts]),
                         {d: plan for p in parts for d, plan in p.day_ahead.items()}, [], timings,
                         sum(p.write_errors for p in parts))
