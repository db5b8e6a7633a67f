"""The demo day-ahead dispatch with five process loads as a MILP: solve time and gap, and what the
LP relaxation (the same model with its binaries relaxed to [0, 1]) would have planned instead."""

import time
from datetime import date

import numpy as np
import pyomo.environ as pyo

from gridctl.config import load_config
from gridctl.dispatch.highs import solve
from gridctl.dispatch.model import build_model
from gridctl.district import District
from gridctl.forecast_issue import make_forecast
from gridctl.planning import dispatch_inputs
from gridctl.timegrid import gate_time, local_day

DAY = date(2016, 7, 14)
FRACTIONAL = 1e-4  # an on-state further than this from 0 and 1 is fractional
# three more loads at the works bus, beside the demo's press line and compressors
EXTRA = [
    {"id": "kiln", "p_min_kw": 120.0, "p_max_kw": 120.0, "run_h": 4.0, "window": ["00:00", "12:00"],
     "contiguous": True, "startup_cost": 20.0},
    {"id": "chiller", "p_min_kw": 30.0, "p_max_kw": 90.0, "energy_kwh": 600.0, "window": ["06:00", "20:00"],
     "min_on_min": 60, "min_off_min": 60, "max_starts": 2, "startup_cost": 2.0},
    {"id": "mixer", "p_min_kw": 60.0, "p_max_kw": 60.0, "run_h": 2.0, "window": ["10:00", "18:00"],
     "min_on_min": 45, "min_off_min": 45, "max_starts": 2, "startup_cost": 5.0, "group": "works"},
]


def _district() -> District:
    cfg = load_config()
    bus = cfg.assets.process_load[0].bus
    raw = cfg.model_dump(exclude={"base_dir"})
    raw["assets"]["process_load"] += [{"bus": bus, "unit_id": 60 + i, **x} for i, x in enumerate(EXTRA)]
    return District.load(type(cfg).model_validate({**raw, "base_dir": cfg.base_dir}))


def main() -> None:
    district = _district()
    horizon = local_day(DAY, district.tz, district.resolution_min)
    inp = dispatch_inputs(district, make_forecast(district, gate_time(DAY, district.tz, district.config.site.gate_time),
                                                  horizon))
    t0 = time.perf_counter()
    milp = build_model(inp)
    build_s = time.perf_counter() - t0
    res = solve(milp, district.config.dispatch.time_limit_s, district.config.dispatch.mip_gap)
    print(f"{DAY}: {len(inp.process_loads)} process loads as a MILP ({res.num_cols} cols x {res.num_rows} rows): "
          f"build {build_s:.3f} s + hand-over {res.handover_s:.3f} s + solve {res.solve_s:.3f} s = "
          f"{build_s + res.handover_s + res.solve_s:.3f} s, {res.status}, gap {res.mip_gap:.2e}, "
          f"objective {res.objective:.2f}")
    lp = build_model(inp)
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(lp)
    rel = solve(lp)
    print(f"  LP relaxation: objective {rel.objective:.2f} ({res.objective - rel.objective:.2f} below the MILP), "
          f"solve {rel.handover_s + rel.solve_s:.3f} s")
    for pl in inp.process_loads:
        on = np.array([pyo.value(lp.process_load[pl.id].on[t]) for t in lp.T])
        p = np.array([pyo.value(lp.process_load[pl.id].p_kw[t]) for t in lp.T])
        frac = (on > FRACTIONAL) & (on < 1 - FRACTIONAL)
        below = (p > 1e-6) & (p < pl.p_min_kw - 1e-6)
        starts = float(sum(pyo.value(lp.process_load[pl.id].start[t]) for t in lp.T))
        runs = int(np.count_nonzero(np.diff(np.r_[0, (p > 1e-6).astype(int)]) == 1))
        print(f"    {pl.id}: {frac.sum()} fractional on-states (e.g. {np.round(on[frac][:3], 2).tolist()}), "
              f"{below.sum()} intervals below p_min_kw, {runs} running blocks for {starts:.2f} counted starts")


if __name__ == "__main__":
    main()
