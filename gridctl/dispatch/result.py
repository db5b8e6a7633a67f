"""Read a solved dispatch model back into a plan table (the plan.csv columns of docs/conventions.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from gridctl.dispatch.inputs import DispatchInputs


def _values(var, index: list) -> np.ndarray:
    """Solution values of ``var`` at ``index`` (read directly: every column holds one after a solve;
    in one pass over its members when ``index`` lists all of them in their order)."""
    whole = len(var) == len(index) and list(var.keys()) == index
    members = var.values() if whole else (var[i] for i in index)
    return np.fromiter((v.value for v in members), dtype=float, count=len(index))


def plan_table(m: pyo.ConcreteModel, inp: DispatchInputs) -> pd.DataFrame:
    """One row per interval: forecasts, curtailment, grid import, emissions, asset powers and SoC."""
    T = list(m.T)
    n = len(T)
    flex = np.zeros(n)
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
        cop = m.heat_pump[h.id].cop
        assets[f"{h.id}.cop"] = np.fromiter((pyo.value(c) for c in cop.values()), dtype=float, count=n)
    for pl in inp.process_loads:
        p = _values(m.process_load[pl.id].p_kw, T)
        flex += p
        assets[f"{pl.id}.p_kw"] = p
    curtailed = np.zeros(n)
    pv = list(m.PV)
    by_pv = _values(m.curtail, [(a, t) for a in pv for t in T]).reshape(len(pv), n)
    for a, values in zip(pv, by_pv):
        assets[f"{a}.curtailed_kw"] = values
        curtailed += values
    load_kw, pv_kw = np.asarray(inp.load_kw, dtype=float), np.asarray(inp.pv_kw, dtype=float)
    losses_kw = np.zeros(n)
    # recompute the net import from the balance, so the row identity holds exactly
    grid_import_kw = load_kw + flex - (pv_kw - curtailed) + losses_kw
    columns = {"ci_kg_per_kwh": np.asarray(inp.ci_kg_per_kwh, dtype=float), "load_kw": load_kw, "pv_kw": pv_kw,
               "pv_curtailed_kw": curtailed, "losses_kw": losses_kw, "grid_import_kw": grid_import_kw,
               "emissions_kg": interval_emissions(grid_import_kw, inp), **assets}
    df = pd.DataFrame(columns, index=inp.index)  # built at once: a column at a time costs more than the rest
    df.index.name = "interval_start"
    return df


def interval_emissions(grid_import_kw: np.ndarray, inp: DispatchInputs) -> np.ndarray:
    """Emissions per interval (kg): import times intensity, export credited by ``export_credit_factor``."""
    net = np.where(grid_import_kw > 0, grid_import_kw, inp.export_credit_factor * grid_import_kw)
    return net * inp.ci_kg_per_kwh * inp.dt_h
