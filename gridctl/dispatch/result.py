"""Read a solved dispatch model back into a plan table (the plan.csv columns of docs/conventions.md)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from gridctl.dispatch.inputs import DispatchInputs

Values = Callable[[pyo.Var, list], np.ndarray]


def pyomo_values(var: pyo.Var, index: list) -> np.ndarray:
    """Values held by the members ``index`` of ``var`` (NaN where none is; in one pass over its
    members when ``index`` lists all of them in their order)."""
    whole = len(var) == len(index) and list(var.keys()) == index
    members = var.values() if whole else (var[i] for i in index)
    return np.array([v.value for v in members], dtype=float)


class ColumnValues:
    """Values of Pyomo variables read from a solution vector ``x`` of the compiled model's columns
    (``col_of``: column of each variable data object by id; positions found once per variable and
    index); variables without a column are read from the model (:func:`pyomo_values`)."""

    def __init__(self, col_of: dict[int, int], x: np.ndarray | None = None, cache: dict | None = None):
        self._col_of = col_of
        self._cols: dict[int, tuple[list, np.ndarray | None]] = {} if cache is None else cache
        self.x = x

    def at(self, x: np.ndarray) -> ColumnValues:
        """The reader of solution ``x`` (sharing the positions found)."""
        return ColumnValues(self._col_of, x, self._cols)

    def __call__(self, var: pyo.Var, index: list) -> np.ndarray:
        known = self._cols.get(id(var))
        if known is None or known[0] != index:
            members = var.values() if len(var) == len(index) and list(var.keys()) == index else (var[i] for i in index)
            cols = [self._col_of.get(id(v)) for v in members]
            known = (list(index), None if None in cols else np.array(cols, dtype=np.int64))
            self._cols[id(var)] = known
        return pyomo_values(var, index) if known[1] is None else self.x[known[1]]


def plan_table(m: pyo.ConcreteModel, inp: DispatchInputs, values: Values = pyomo_values) -> pd.DataFrame:
    """One row per interval: forecasts, curtailment, grid import, emissions, asset powers and SoC
    (solution values read by ``values``)."""
    T = list(m.T)
    n = len(T)
    flex = np.zeros(n)
    assets = {}
    for b in inp.batteries:
        blk = m.battery[b.id]
        p = values(blk.p_ch, T) - values(blk.p_dis, T)
        flex += p
        assets[f"{b.id}.p_kw"] = p
        assets[f"{b.id}.soc_kwh"] = values(blk.soc, T)
    for e in inp.ev_chargers:
        p = values(m.ev[e.id].p_kw, T)
        flex += p
        assets[f"{e.id}.p_kw"] = p
    for h in inp.heat_pumps:
        p = values(m.heat_pump[h.id].p_kw, T)
        flex += p
        assets[f"{h.id}.p_kw"] = p
        assets[f"{h.id}.temp_c"] = values(m.heat_pump[h.id].temp_c, T)
        cop = m.heat_pump[h.id].cop
        assets[f"{h.id}.cop"] = np.fromiter((c.value for c in cop.values()), dtype=float, count=n)
    for pl in inp.process_loads:
        p = values(m.process_load[pl.id].p_kw, T)
        flex += p
        assets[f"{pl.id}.p_kw"] = p
    curtailed = np.zeros(n)
    pv = list(m.PV)
    by_pv = values(m.curtail, [(a, t) for a in pv for t in T]).reshape(len(pv), n)
    for a, curtailed_kw in zip(pv, by_pv):
        assets[f"{a}.curtailed_kw"] = curtailed_kw
        curtailed += curtailed_kw
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
