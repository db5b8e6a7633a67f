"""Replay of 7 days of the demo district (default config): seconds per simulated day by phase.

Then it replays the full year 2016-01-15..2016-12-31 as ``gridctl replay --start 2016-01-15 --end
2016-12-31`` does (one process, its forecasts and baselines in helper processes where a core is
spare) and prints its time; ``GRIDCTL_BENCH_FULL_YEAR=0`` skips it, ``--year-chunks K`` replays the
year in K chunks on K Dask workers instead (``gridctl replay --workers K --chunks K --warmup-days
2``, :mod:`gridctl.replay.chunks`).
``python -m benchmarks.bench_replay --modbus`` also replays the week with gridctl's devices over
Modbus TCP (a simulator on 127.0.0.1, forecasters already trained) and compares; ``--chunks K``
also replays the week in K chunks on K Dask workers.
"""

import argparse
import gc
import os
import time
from datetime import date, timedelta

import numpy as np
import pandas as pd

from forecasts import compiled_trees
from gridctl.config import load_config
from gridctl.district import District
from gridctl.forecasting import district_forecasters, issue_quantiles
from gridctl.replay.apart import prepare
from gridctl.replay.chunks import run_chunked
from gridctl.replay.plant import ModbusTarget
from gridctl.replay.run import ReplayResult, run_replay

START, END = date(2016, 7, 11), date(2016, 7, 17)
YEAR_START, YEAR_END = date(2016, 1, 15), date(2016, 12, 31)
WARMUP_DAYS = 2


def timed(district: District, modbus: ModbusTarget | None, start: date = START, end: date = END,
          chunks: int = 0) -> ReplayResult:
    t0, cpu0 = time.perf_counter(), time.process_time()
    ends = []  # seconds from the start to the end of each replayed day
    if chunks > 1:
        result = run_chunked(district, start, end, chunks, WARMUP_DAYS, n_workers=chunks)
        print(f"in {chunks} chunks on {chunks} Dask workers, each after the first warmed up {WARMUP_DAYS} days:")
    else:
        result = run_replay(district, start, end, modbus=modbus, baselines_apart=True,
                            on_day=lambda _: ends.append(time.perf_counter() - t0))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    s = result.summary
    days = s["days"]
    phases = ", ".join(f"{k} {v / days:.2f}" for k, v in s["timings_s"].items())
    print(f"{start}..{end} ({s['devices']} devices): {wall:.1f} s for {days} days ({wall / days:.2f} s/day; "
          f"{s['decisions']} decisions, re-optimising every {s['settings']['reoptimise_every_min']} min "
          f"(models: {s['models']['built']} built, {s['models']['shifted']} shifted, "
          f"{s['models']['updated_in_place']} updated in place); "
          f"{s['forecast_issues_apart']} forecast issues and {s['day_ahead_plans_apart']} day-ahead plans made "
          f"in a process of their own)")
    if len(ends) > 2:
        per_day = np.diff(ends)
        print(f"  gridctl's run: first day {ends[0]:.2f} s (models built, forecasters loaded, the headroom's past "
              f"issues made), then {np.median(per_day):.2f} s per day (median; {per_day.min():.2f}-{per_day.max():.2f}); "
              f"its end to the baselines' and the KPIs' end {wall - ends[-1]:.2f} s")
    print(f"  the replay's own process: {cpu:.1f} s of CPU ({cpu / days:.2f} s per simulated day; its helpers' not counted)")
    t = s["timings_s"]
    print(f"  s/day by phase: {phases}; gridctl's own decisions and control "
          f"{(t['forecast'] + t['optimise'] + t['bookkeeping']) / days:.2f} s/day")
    runs = ", ".join(f"{k} {v['emissions_adjusted_kg']:.0f}" for k, v in s["runs"].items())
    print(f"  emissions incl. stored-energy change, kg: {runs}; perfect-foresight reduction captured "
          f"{s['perfect_foresight_capture_pct']:.1f}%")
    return result


def train_forecasters(district: District, start: date, end: date) -> None:
    """Train the forecasters for every training cutoff the replay of ``start..end`` reads (its days
    and the headroom's look-back before them) and compile their trees, as a running daemon has
    them (timed apart from the replay)."""
    t0 = time.perf_counter()
    fc = district_forecasters(district)
    quantiles = issue_quantiles(district)
    first = start - timedelta(days=district.config.dispatch.headroom_days)
    for day in pd.date_range(first, end, freq="D"):
        issue = pd.Timestamp(day, tz=district.tz).tz_convert("UTC")
        horizon = pd.DatetimeIndex([issue])
        fc.load.predict_quantiles(issue, horizon, quantiles), fc.pv.predict(issue, horizon)
        fc.carbon.predict(issue, horizon)
    compiled_trees.settle()
    print(f"forecasters trained and their trees compiled for {first}..{end} in {time.perf_counter() - t0:.1f} s")


def main(modbus: bool = False, year_chunks: int = 0, chunks: int = 0) -> None:
    prepare()  # the replay helpers' fork server imports beside the district's load
    district = District.load(load_config())
    _ = district.history, district.carbon
    gc.collect()
    gc.freeze()  # as gridctl replay: the district's objects are not walked by every full collection
    train_forecasters(district, START, END)
    local = timed(district, None)
    if modbus:
        tcp = timed(district, ModbusTarget())
        io = (tcp.summary["timings_s"]["bookkeeping"] - local.summary["timings_s"]["bookkeeping"]) / tcp.summary["days"]
        print(f"  Modbus TCP device I/O adds {io:.2f} s per simulated day")
    if chunks > 1:
        timed(district, None, chunks=chunks)
    if os.environ.get("GRIDCTL_BENCH_FULL_YEAR") == "0":
        print(f"full-year replay {YEAR_START}..{YEAR_END} skipped (GRIDCTL_BENCH_FULL_YEAR=0)")
    else:
        how = f"in {year_chunks} chunks on Dask" if year_chunks > 1 else "in one process with its helpers"
        print(f"full-year replay {YEAR_START}..{YEAR_END} {how} (GRIDCTL_BENCH_FULL_YEAR=0 skips it) ...", flush=True)
        timed(district, None, YEAR_START, YEAR_END, chunks=year_chunks)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modbus", action="store_true", help="also replay over Modbus TCP and compare")
    parser.add_argument("--year-chunks", type=int, default=0,
                        help=f"replay {YEAR_START}..{YEAR_END} in this many chunks on Dask, not in one process")
    parser.add_argument("--chunks", type=int, default=0, help="also replay the week in this many chunks on Dask")
    args = parser.parse_args()
    main(args.modbus, args.year_chunks, args.chunks)
