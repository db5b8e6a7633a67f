"""Bookkeeping of one controller's actual operation over the replayed intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridctl.replay.actuals import Actuals


class Recorder:
    """Collects delivered powers (batteries, flexible loads), SoC, heat-store temperatures and
    curtailment per interval (states at the interval's end)."""

    def __init__(self, actuals: Actuals, battery_ids: list[str], pv_ids: list[str]):
        n = len(actuals.index)
        self.actuals = actuals
        self.p_kw = {a: np.zeros(n) for a in [*battery_ids, *actuals.flex_kw]}
        self.soc_kwh = {b: np.zeros(n) for b in battery_ids}
        self.curtailed_kw = {a: np.zeros(n) for a in pv_ids}
        self.temp_c: dict[str, np.ndarray] = {}

    def record(self, k: int, p_kw: dict[str, float], soc_kwh: dict[str, float], curtailed_kw: dict[str, float],
               temp_c: dict[str, float] | None = None) -> None:
        for a, v in p_kw.items():
            self.p_kw[a][k] = v
        for b, v in soc_kwh.items():
            self.soc_kwh[b][k] = v
        for h, v in (temp_c or {}).items():
            self.temp_c.setdefault(h, np.full(len(self.actuals.index), np.nan))[k] = v
        for a, v in curtailed_kw.items():
            self.curtailed_kw[a][k] = v

    def table(self, dt_h: float) -> pd.DataFrame:
        """Per interval: actual inflexible load, PV, curtailment, grid import, intensity, emissions, asset powers,
        SoC, store temperatures."""
        return operation_table(self.actuals, self.p_kw, self.soc_kwh, self.curtailed_kw, dt_h, self.temp_c)


def operation_table(
    actuals: Actuals,
    p_kw: dict[str, np.ndarray],
    soc_kwh: dict[str, np.ndarray],
    curtailed_kw: dict[str, np.ndarray],
    dt_h: float,
    temp_c: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Actual operation; ``grid_import_kw = load_kw + sum(p_kw) - (pv_kw - pv_curtailed_kw)`` in every row;
    ``<heat pump>.temp_c``: its store's temperature at the interval's end (degC)."""
    n = len(actuals.index)
    curtailed = sum(curtailed_kw.values(), np.zeros(n))
    flex = sum(p_kw.values(), np.zeros(n))
    df = pd.DataFrame(
        {"load_kw": actuals.load_kw, "pv_kw": actuals.pv_kw, "pv_curtailed_kw": curtailed,
         "ci_kg_per_kwh": actuals.ci_kg_per_kwh},
        index=actuals.index,
    )
    df["grid_import_kw"] = df.load_kw + flex - (df.pv_kw - df.pv_curtailed_kw)
    df["emissions_kg"] = np.maximum(df.grid_import_kw, 0.0) * df.ci_kg_per_kwh * dt_h
    for suffix, values in (("p_kw", p_kw), ("soc_kwh", soc_kwh), ("curtailed_kw", curtailed_kw),
                           ("temp_c", temp_c or {})):
        for asset, series in values.items():
            df[f"{asset}.{suffix}"] = series
    df.index.name = "interval_start"
    return df
