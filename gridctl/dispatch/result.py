"""Read a solved dispatch model back into a plan table (DESIGN.md's plan.csv columns)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from gridctl.dispatch.inputs import DispatchInputs


def _values(var, index) -> np.ndarray:
    return np.array([pyo.value(var[i]) for i in index], dtype=float)


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
    for a in m.PV:
        assets[f"{a}.curtailed_kw"] = _values(m.curtail, [(a, t) for t in T])
    # recompute the net import from the balance, so the row identity holds exactly
    df["grid_import_kw"] = df.load_kw + flex - (df.pv_kw - df.pv_curtailed_kw) + df.losses_kw
    df["emissions_kg"] = np.maximum(df.grid_import_kw, 0.0) * df.ci_kg_per_kwh * inp.dt_h
    for name, values in assets.items():
        df[name] = values
    df.index.name = "interval_start"
    return df
