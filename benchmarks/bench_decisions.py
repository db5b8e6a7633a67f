"""Intraday decisions on the demo district: the persistent model updated in place vs a rebuild.

Hourly decisions over one local day (as replay makes them; process loads following the plan;
after a day of untimed decisions, as in a running daemon or replay), each made twice from the same measured states: through :class:`gridctl.dispatch.rolling.RollingDispatch` and by rebuilding
the model. Prints the median and mean optimisation time (model build or update, hand-over and
solve) and whole decision (forecasts, inputs, optimisation, plan table) of each path; the means
count the persistent path's builds after the first. The forecasters' trees are compiled after the
first hour (:mod:`forecasts.compiled_trees`), as a running daemon's are within hours of a model's
training.
"""

import statistics
import time

import pandas as pd

from forecasts import compiled_trees
from gridctl.config import load_config
from gridctl.cycle import decide
from gridctl.dispatch.rolling import RollingDispatch
from gridctl.district import District
from gridctl.forecasting import district_forecasters
from gridctl.process_loads import reports_from_operation

DAY_START = pd.Timestamp("2016-07-11T22:00Z")  # local midnight of 12 July


def _timed(district, now, soc, reports, rolling=None):
    t0 = time.perf_counter()
    decision = decide(district, now, soc, rolling=rolling, process_reports=reports)
    s = decision.plan.summary
    return decision, s["build_s"] + s["solve_s"], time.perf_counter() - t0


def main() -> None:
    district = District.load(load_config())
    district_forecasters(district)
    for hour in range(24):  # a day of decisions before: the past forecasts headroom and carbon weights read are held
        decide(district, DAY_START - pd.Timedelta(hours=24 - hour), {})
    rolling = RollingDispatch()
    soc = {b.cfg.id: b.cfg.soc_initial_kwh for b in district.batteries}
    times = {"persistent": ([], []), "rebuild": ([], [])}
    first, operation = None, None
    for hour in range(24):
        now = DAY_START + pd.Timedelta(hours=hour)
        reports = None if operation is None else reports_from_operation(district.config, operation, now)
        kept, opt, total = _timed(district, now, soc, reports, rolling)
        if hour == 0:
            first = opt
        else:
            times["persistent"][0].append(opt)
            times["persistent"][1].append(total)
        _, opt, total = _timed(district, now, soc, reports)
        times["rebuild"][0].append(opt)
        times["rebuild"][1].append(total)
        if hour == 0:  # the day's models are loaded: compiled now, as a running daemon has done within hours
            compiled_trees.settle()
        nxt = now + pd.Timedelta(hours=1)
        done = kept.plan.table.loc[now:nxt].iloc[:-1]
        operation = done if operation is None else pd.concat([operation, done])
        soc = {b: float(kept.plan.table.loc[nxt, f"{b}.soc_kwh"]) for b in soc}
    print(f"24 hourly decisions from {DAY_START} ({rolling.builds} model build, {rolling.updates} in-place updates; "
          f"the build took {first:.3f} s)")
    for path, (opt, total) in times.items():
        print(f"  {path}: median optimisation {1000 * statistics.median(opt):.1f} ms "
              f"(mean {1000 * statistics.mean(opt):.1f} ms), "
              f"median decision incl. forecasts {1000 * statistics.median(total):.1f} ms "
              f"(mean {1000 * statistics.mean(total):.1f} ms)")


if __name__ == "__main__":
    main()
