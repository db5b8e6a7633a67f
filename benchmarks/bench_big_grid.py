"""Network-aware planning on SimBench MV/LV grids of 5,000+ and 10,000+ buses.

``1-MVLV-rural-all-2-sw`` (5,481 buses) with 8 batteries and ``1-MVLV-urban-all-2-sw`` (10,458
buses) with 6, each 250 kW / 500 kWh at the LV busbar of one of the LV grids lowest in voltage; history and carbon "demo"; day 2016-07-14. Prints buses, LP rows x cols,
each stage's seconds, AC rounds, violations and peak memory (process maximum resident set).

Slow (minutes: loading SimBench and fitting forecasters), so ``python -m benchmarks`` runs it
only with ``GRIDCTL_BENCH_BIG=1``; ``python -m benchmarks.bench_big_grid [CODE ...]`` always does.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from datetime import date

import pandapower as pp

from gridctl.config import parse_config
from gridctl.dispatch.highs import compile_model
from gridctl.dispatch.model import build_model
from gridctl.district import District
from gridctl.forecast_issue import make_forecast
from gridctl.network_plan import network_data, zero_flex_table
from gridctl.plan_ac import check_schedule
from gridctl.planning import dispatch_inputs, make_plan
from gridctl.timegrid import gate_time, local_day
from network_models.sources import simbench_grid

GRIDS = {"1-MVLV-rural-all-2-sw": 8, "1-MVLV-urban-all-2-sw": 6}
DAY = date(2016, 7, 14)
BATTERY_KW, BATTERY_KWH = 250.0, 500.0


def battery_buses(code: str, n: int) -> list[str]:
    """The LV busbar (transformer secondary) of each of the ``n`` LV grids lowest in voltage
    (static base case): community batteries at the substations of the weakest LV grids."""
    net = simbench_grid(code)
    pp.runpp(net, numba=False)
    bus = net.bus.assign(vm=net.res_bus.vm_pu, grid=net.bus.name.str.split(" ").str[0])
    lowest = bus[bus.vn_kv < 1.0].groupby("grid").vm.min().sort_values()
    busbar = net.trafo.lv_bus[net.bus.vn_kv[net.trafo.lv_bus].to_numpy() < 1.0]
    by_grid = bus.loc[busbar].drop_duplicates("grid").set_index("grid").name
    return by_grid.reindex(lowest.index).dropna().head(n).tolist()


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def _peak_mb() -> float:
    """The process's peak resident memory so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(code: str, n_batteries: int) -> None:
    buses = battery_buses(code, n_batteries)
    config = parse_config({"network": {"source": f"simbench:{code}"}, "assets": {"battery": [
        {"id": f"b{i}", "bus": b, "p_max_kw": BATTERY_KW, "e_max_kwh": BATTERY_KWH, "unit_id": i + 1}
        for i, b in enumerate(buses)]}})
    district, load_s = _timed(District.load, config)
    _, data_s = _timed(lambda: (district.history, district.carbon))
    peak_data = _peak_mb()
    tz, res = district.tz, district.resolution_min
    issue, horizon = gate_time(DAY, tz, config.site.gate_time), local_day(DAY, tz, res)
    fc, forecast_s = _timed(make_forecast, district, issue, horizon)
    peak_forecast = _peak_mb()
    plan, plan_s = _timed(make_plan, district, DAY)
    peak_plan = _peak_mb()
    s = plan.summary
    repn = compile_model(plan.model)
    inp = dispatch_inputs(district, fc)
    zero = zero_flex_table(inp)
    fresh = zero.copy()
    fresh.iloc[:, 0] = 1.0  # injections not solved before: a full 96-interval AC check on the cached model
    _, ac_s = _timed(check_schedule, district, fc.groups, fresh)
    base = check_schedule(district, fc.groups, zero)
    _, lin_s = _timed(network_data, district, build_model(inp), base)
    ac, rows = s["ac_check"], s["network_rows"]
    print(f"{code}: {len(district.net.bus)} buses, {len(district.net.line)} lines, {n_batteries} batteries; "
          f"LP {repn.A.shape[0]} rows x {repn.A.shape[1]} cols ({rows.get('voltage_rows', 0)} voltage + "
          f"{rows.get('thermal_rows', 0)} thermal rows)")
    print(f"  load net {load_s:.1f} s, history+carbon {data_s:.1f} s, forecasts (fit + predict) {forecast_s:.1f} s")
    print(f"  plan after forecasts {plan_s:.2f} s: {ac['rounds']} AC round(s), build {s['build_s']:.2f} s per round, "
          f"solve {s['solve_s']:.2f} s; one 96-interval AC check {ac_s:.2f} s; linearisation {lin_s:.2f} s")
    print(f"  AC violations baseline {s['baseline_ac_check']['violations']} -> plan {ac['violations']} "
          f"(out of every asset's reach: {ac['violations_out_of_reach']}); emissions {s['emissions_kg']:.0f} kg vs "
          f"baseline {s['baseline_emissions_kg']:.0f} kg")
    print(f"  peak memory (process, cumulative): {peak_data:.0f} MB after loading net and data, {peak_forecast:.0f} MB "
          f"after forecasts, {peak_plan:.0f} MB after the plan")


def main(codes: list[str] | None = None) -> None:
    if codes is None and os.environ.get("GRIDCTL_BENCH_BIG") != "1":
        print("skipped (minutes): GRIDCTL_BENCH_BIG=1 python -m benchmarks, or python -m benchmarks.bench_big_grid")
        return
    for code in codes or list(GRIDS):
        run(code, GRIDS.get(code, 8))


if __name__ == "__main__":
    main(sys.argv[1:] or list(GRIDS))
