"""Read a solved dispatch model back into a plan table (the plan.csv columns of docs/conventions.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from gridctl.dispatch.inputs import DispatchInputs


def _values(var, index) -> np.ndarray:
    """Solution values of ``var`` at ``index`` (read directly: every column holds one after a solve)."""
    return np.fromiter((var[i].value for i in index), dtype=float, count=len(index))


def plan_table(m: pyo.ConcreteModel, inp: DispatchInputs) -> pd.DataFrame:
    """One row per interval: forecasts, curtailment, grid import, emissions, asset powers and SoC."""
    T = list(m.T)
    curtailed = np.zeros(len(T))
    for a in m.PV:
        curtailed += _values(m.curtail, [(a, t) for t in T])
    df = pd.DataFrame(
        {
            "ci_kg_per_kwh": inp.ci_kg_per_kwh,
            "load_kw": inp.load_kw,
            "pv_kw": inp.pv_kw,
            "pv_curtailed_kw": curtailed,
            "losses_kw": 0.0,
        },
        index=inp.index,
    )
    flex = np.zeros(len(T))
    assets = {}
    for b in inp.batteries:
        blk = m.battery[b.id]
        p = _values(blk.p_ch, T) - _values(blk.p_dis, T)
        flex += p
        assets[f"{b.id}.p_kw"] = p
        assets[f"{b.id}.soc_kwh"] = _values(blk.soc, T)
    for e in inp.ev_chargers:
        p = _values(m.ev[e.id].p_kw, T)
        flex += p
        assets[f"{e.id}.p_kw"] = p
    for h in inp.heat_pumps:
        p = _values(m.heat_pump[h.id].p_kw, T)
        flex += p
        assets[f"{h.id}.p_kw"] = p
        assets[f"{h.id}.temp_c"] = _values(m.heat_pump[h.id].temp_c, T)
        assets[f"{h.id}.cop"] = np.fromiter((pyo.value(m.heat_pump[h.id].cop[t]) for t in T), dtype=float, count=len(T))
    for pl in inp.process_loads:
        p = _values(m.process_load[pl.id].p_kw, T)
        flex += p
        assets[f"{pl.id}.p_kw"] = p
    for a in m.PV:
        assets[f"{a}.curtailed_kw"] = _values(m.curtail, [(a, t) for t in T])
    # recompute the net import from the balance, so the row identity holds exactly
    df["grid_import_kw"] = df.load_kw + flex - (df.pv_kw - df.pv_curtailed_kw) + df.losses_kw
    df["emissions_kg"] = interval_emissions(df.grid_import_kw.to_numpy(), inp)
    for name, values in assets.items():
        df[name] = values
    df.index.name = "interval_start"
    return df


def interval_emissions(grid_import_kw: np.ndarray, inp: DispatchInputs) -> np.ndarray:
    """Emissions per interval (kg): import times intensity, export credited by ``export_credit_factor``."""
    net = np.where(grid_import_kw > 0, grid_import_kw, inp.export_credit_factor * grid_import_kw)
    return net * inp.ci_kg_per_kwh * inp.dt_h
