"""Network-aware dispatch: linearisation accuracy against AC, build/solve/AC-check times by size.

Demo district (summer and winter day): the plan with the AC loop; linear-model error at the
plan's operating points for both linear models (max |dV| in p.u., max |d loading| in percentage
points, over every bus, branch and interval); one round's Pyomo build (dispatch model + network
block), hand-over, HiGHS solve, and the AC check of the day. Synthetic radial feeders of 500 and
2,000 buses (``network_models.synthetic``) with batteries along the feeder: the same times.
"""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pandas as pd

from gridctl.config import load_config
from gridctl.dispatch.highs import solve
from gridctl.dispatch.inputs import BatteryParams, DispatchInputs
from gridctl.dispatch.model import build_model
from gridctl.dispatch.network import NetworkData, NetworkLimits, Tightening, add_network_block
from gridctl.district import District
from gridctl.forecast_issue import make_forecast
from gridctl.network_plan import bus_flex_from_table, device_q_per_p, network_data, zero_flex_table
from gridctl.plan_ac import check_schedule
from gridctl.planning import dispatch_inputs, make_plan
from gridctl.timegrid import gate_time, local_day
from network_models.ac_check import Limits, ac_check
from network_models.jacobian import jacobian_sensitivities
from network_models.linear import OperatingPoint, lindistflow, linear_grid
from network_models.synthetic import radial_feeder

DAYS = (date(2016, 1, 14), date(2016, 7, 14))
HEADER = f"{'case':<22}{'buses':>6}{'rows':>8}{'cols':>8}{'net rows':>9}{'build s':>9}{'hand s':>8}{'solve s':>9}" \
         f"{'lin s':>7}{'AC96 s':>8}"


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def _round(case: str, n_bus: int, inp: DispatchInputs, make_data) -> str:
    """Build the dispatch model and one network block, solve once; a table row."""
    model, build_s = _timed(build_model, inp)
    (data, lin_s) = _timed(make_data, model)
    rows, net_s = _timed(add_network_block, model, data, inp.dt_h)
    res = solve(model)
    n_rows = rows["voltage_rows"] + rows["thermal_rows"]
    return (f"{case:<22}{n_bus:>6}{res.num_rows:>8}{res.num_cols:>8}{n_rows:>9}{build_s + net_s:>9.3f}"
            f"{res.handover_s:>8.3f}{res.solve_s:>9.3f}{lin_s:>7.3f}")


def demo() -> list[str]:
    district = District.load(load_config())
    _ = district.history, district.carbon
    rows = []
    for day in DAYS:
        plan, plan_s = _timed(make_plan, district, day)
        s = plan.summary
        print(f"{day}: plan {plan_s:.2f} s, {s['ac_check']['rounds']} round(s); AC violations baseline "
              f"{s['baseline_ac_check']['violations']} -> plan {s['ac_check']['violations']}; min V "
              f"{s['baseline_ac_check']['min_vm_pu']:.4f} -> {s['ac_check']['min_vm_pu']:.4f} p.u., max loading "
              f"{s['baseline_ac_check']['max_loading_pct']:.1f} -> {s['ac_check']['max_loading_pct']:.1f} %; "
              f"emissions {s['emissions_kg']:.0f} kg vs baseline {s['baseline_emissions_kg']:.0f} kg")
        cfg = district.config
        horizon = local_day(day, district.tz, district.resolution_min)
        fc = make_forecast(district, gate_time(day, district.tz, cfg.site.gate_time), horizon)
        inp = dispatch_inputs(district, fc)
        base, ac_s = _timed(check_schedule, district, fc.groups, zero_flex_table(inp))
        buses = sorted({a.bus for a in (*inp.batteries, *inp.ev_chargers, *inp.heat_pumps, *inp.process_loads,
                                        *inp.pv_assets)})
        x = bus_flex_from_table(plan.table, inp, buses)
        for method in ("sensitivity", "lindistflow"):
            grid = linear_grid(method, district.net, base, buses, device_q_per_p(district, buses))
            vm, loading = grid.predict(OperatingPoint.from_ac(base, grid, district.net), x)
            dv = np.nanmax(np.abs(vm - plan.ac.vm_pu[grid.buses].to_numpy()))
            dl = np.nanmax(np.abs(loading - plan.ac.loading_pct[grid.branches].to_numpy()))
            print(f"  accuracy {method:<12} max |dV| {dv:.5f} p.u., max |d loading| {dl:.3f} pp "
                  f"({len(grid.buses)} buses, {len(grid.branches)} branches, {len(x)} intervals)")
        row = _round(f"demo {day}", len(district.net.bus), inp, lambda m, b=base: network_data(district, m, b))
        rows.append(f"{row}{ac_s:>8.3f}")
    return rows


def synthetic(n_bus: int) -> str:
    """A feeder of ``n_bus`` buses (8 km deepest path, 13 MW evening peak, 4 MW PV), one 500 kW battery
    per 100 buses on its far half, loading limit 50 % so that the evening peak congests its head."""
    net = radial_feeder(n_bus, peak_load_mw=13.0, pv_mw=4.0)
    idx = pd.date_range("2016-01-14", periods=96, freq="15min", tz="UTC")
    h = np.arange(96) / 4.0
    load_shape = 0.45 + 0.25 * np.exp(-((h - 8) / 2.5) ** 2) + 0.55 * np.exp(-((h - 18.5) / 2.0) ** 2)
    pv_shape = np.clip(np.sin((h - 8) / 9 * np.pi), 0, None)
    ci = 0.45 + 0.15 * np.exp(-((h - 18.5) / 3.0) ** 2) - 0.2 * pv_shape
    loads = pd.DataFrame(np.outer(load_shape, net.load.p_mw * 1000), index=idx, columns=net.load.index)
    sgens = pd.DataFrame(np.outer(pv_shape, net.sgen.p_mw * 1000), index=idx, columns=net.sgen.index)
    limits = NetworkLimits(0.95, 1.05, 50.0)
    base, ac_s = _timed(ac_check, net, {"load": loads, "sgen": sgens},
                        Limits(limits.v_min_pu, limits.v_max_pu, limits.max_loading_pct))
    far = net.bus.index[n_bus // 2:].to_numpy()
    bat_buses = far[np.linspace(0, len(far) - 1, n_bus // 100).astype(int)]
    batteries = [BatteryParams(f"b{b}", int(b), 500.0, 100.0, 1900.0, 1000.0, 0.95, 0.95) for b in bat_buses]
    inp = DispatchInputs(index=idx, dt_h=0.25, load_kw=loads.sum(axis=1).to_numpy(),
                         pv_kw=sgens.sum(axis=1).to_numpy(), ci_kg_per_kwh=ci, batteries=batteries)
    _, jac_s = _timed(jacobian_sensitivities, base.internal, base.v_internal, sorted(bat_buses))
    print(f"radial {n_bus}: baseline AC violations {base.violations}; Jacobian sensitivities {jac_s:.2f} s "
          "(LinDistFlow used below)")

    def make_data(m):
        grid = lindistflow(net, list(m.FLEX_BUS))
        return NetworkData(grid, OperatingPoint.from_ac(base, grid, net), limits, Tightening.none(96, grid))

    return f"{_round(f'radial {n_bus}', n_bus, inp, make_data)}{ac_s:>8.3f}"


def main() -> None:
    rows = demo()
    rows += [synthetic(n) for n in (500, 2000)]
    print("one solve round (build = Pyomo dispatch model + network block; hand = standard-form hand-over;"
          " lin = linearisation; AC96 = AC check of 96 intervals)")
    print(HEADER)
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
