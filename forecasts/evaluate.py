"""Walk-forward evaluation: issue forecasts day by day and score them against what happened.

Each model is a callable ``(issue_time, horizon) -> pd.Series`` (one value per interval of the
target, e.g. the district's summed load); forecasters get history only through their own
``history_before``, so a walk-forward run is as blind to the future as live operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd

from forecasts import metrics

ModelFn = Callable[[pd.Timestamp, pd.DatetimeIndex], pd.Series]


@dataclass
class Target:
    """What to forecast: the measured series and the models (first: the forecaster, then baselines)."""

    name: str
    actual: pd.Series
    models: dict[str, ModelFn]


def summed(forecaster, column: str | None = None) -> ModelFn:
    """Model function of a fitted forecaster: one column of its forecast, or the sum of all."""
    def run(issue_time: pd.Timestamp, horizon: pd.DatetimeIndex) -> pd.Series:
        frame = forecaster.predict(issue_time, horizon)
        return frame[column] if column else frame.sum(axis=1)
    return run


def walk_forward(targets: list[Target], issues: Iterable[tuple[pd.Timestamp, pd.DatetimeIndex]]) -> pd.DataFrame:
    """Long table: ``target``, ``model``, ``issue_time``, ``interval_start``, ``forecast``, ``actual``."""
    parts = []
    for issue_time, horizon in issues:
        for target in targets:
            actual = target.actual.reindex(horizon).to_numpy()
            for name, model in target.models.items():
                parts.append(pd.DataFrame({
                    "target": target.name, "model": name, "issue_time": issue_time, "interval_start": horizon,
                    "forecast": model(issue_time, horizon).to_numpy(dtype=float), "actual": actual,
                }))
    return pd.concat(parts, ignore_index=True)


def score(results: pd.DataFrame, baselines: list[str]) -> pd.DataFrame:
    """MAE, RMSE, nMAE per target and model, and the skill (MAE) against each baseline model."""
    rows = []
    for (target, model), grp in results.groupby(["target", "model"], sort=False):
        rows.append({
            "target": target, "model": model, "mae": metrics.mae(grp.forecast, grp.actual),
            "rmse": metrics.rmse(grp.forecast, grp.actual), "nmae": metrics.nmae(grp.forecast, grp.actual),
        })
    table = pd.DataFrame(rows)
    for base in baselines:
        ref = table[table.model == base].set_index("target")["mae"]
        table[f"skill_vs_{base}"] = [
            metrics.skill(m, ref[t]) if t in ref.index else float("nan") for t, m in zip(table.target, table["mae"])
        ]
    return table
