"""Dispatch with every asset kind on the demo district: cold day-ahead build and solve, warm
intraday re-solves (persistent HiGHS model), and MILP (no simultaneous charge/discharge) vs LP."""

import dataclasses
import statistics
import time
from datetime import date

import numpy as np

from gridctl.config import load_config
from gridctl.dispatch.highs import solve
from gridctl.dispatch.intraday import IntradayDispatch
from gridctl.dispatch.model import build_model
from gridctl.dispatch.network import add_network_block
from gridctl.district import District
from gridctl.forecast_issue import make_forecast
from gridctl.network_plan import network_data, zero_flex_table
from gridctl.plan_ac import check_schedule
from gridctl.planning import dispatch_inputs
from gridctl.timegrid import gate_time, local_day

DAY = date(2016, 1, 14)
RESOLVES = 24


def _cold(inp):
    t0 = time.perf_counter()
    m = build_model(inp)
    build_s = time.perf_counter() - t0
    res = solve(m)
    return build_s, res


def main() -> None:
    district = District.load(load_config())
    horizon = local_day(DAY, district.tz, district.resolution_min)
    fc = make_forecast(district, gate_time(DAY, district.tz, district.config.site.gate_time), horizon)
    full = dispatch_inputs(district, fc)
    inp = dataclasses.replace(full, process_loads=[])  # LP; process loads: bench_process
    build_s, res = _cold(inp)
    print(f"{DAY} day-ahead, {len(inp.batteries)} batteries, {len(inp.ev_chargers)} EV chargers, "
          f"{len(inp.heat_pumps)} heat pumps, {len(inp.pv_assets)} PV: {res.num_cols} cols x {res.num_rows} rows")
    print(f"  cold LP: build {build_s:.3f} s + hand-over {res.handover_s:.3f} s + solve {res.solve_s:.3f} s "
          f"= {build_s + res.handover_s + res.solve_s:.3f} s")
    milp = dataclasses.replace(inp, batteries=[dataclasses.replace(b, binary=True) for b in inp.batteries])
    mb, mres = _cold(milp)
    print(f"  cold MILP (battery_binary): build {mb:.3f} s + hand-over {mres.handover_s:.3f} s + solve "
          f"{mres.solve_s:.3f} s, objective {mres.objective:.1f} vs LP {res.objective:.1f}")

    _intraday(inp, "intraday")
    base = check_schedule(district, fc.groups, zero_flex_table(full))  # every asset of the district at 0
    _intraday(inp, "intraday + network rows",
              lambda m: print(f"    network rows: {add_network_block(m, network_data(district, m, base), inp.dt_h)}"))


def _intraday(inp, label, extend=None) -> None:
    t0 = time.perf_counter()
    d = IntradayDispatch(dataclasses.replace(inp), extend=extend)
    d.solve()
    first_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    latencies = []
    for k in range(1, RESOLVES + 1):
        plan = d.plan()
        soc = {b.id: float(plan[f"{b.id}.soc_kwh"].iloc[0]) * rng.uniform(0.97, 1.03) for b in inp.batteries}
        soc = {b.id: min(max(soc[b.id], b.soc_min_kwh), b.soc_max_kwh) for b in inp.batteries}
        t1 = time.perf_counter()
        d.update_forecasts(load_kw=inp.load_kw * rng.uniform(0.95, 1.05, len(inp.load_kw)),
                           ci_kg_per_kwh=inp.ci_kg_per_kwh * rng.uniform(0.95, 1.05, len(inp.load_kw)))
        d.set_state(k, battery_soc_kwh=soc)
        r = d.solve()
        latencies.append(time.perf_counter() - t1)
        assert r.status == "optimal"
    print(f"  {label}: first build + hand-over + solve {first_s:.3f} s; {RESOLVES} warm re-solves "
          f"(forecast update + state + solve): median {statistics.median(latencies):.4f} s, "
          f"max {max(latencies):.4f} s")


if __name__ == "__main__":
    main()
