"""Seasonal-naive forecasts: the value at the same local time of day, whole periods earlier.

For a target interval starting at local wall time ``w``, the forecast is the measured value at
wall time ``w - k * period_days`` for the smallest ``k >= 1`` whose interval had ended by the
issue time. Lags are taken in local wall-clock time, so the profile stays aligned across DST
changes; a wall time that does not exist or repeats on a DST day uses its first occurrence,
and a missing lag falls back to the next older period.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasts.base import history_before

MAX_PERIODS_BACK = 8


class SeasonalNaive:
    """Seasonal-naive forecaster (``period_days=7``: same weekday last week; ``1``: yesterday)."""

    def __init__(self, period_days: int, timezone: str, resolution_min: int = 15):
        self.period_days = period_days
        self.timezone = timezone
        self.resolution_min = resolution_min
        self._history: pd.DataFrame | None = None

    def fit(self, history: pd.DataFrame) -> SeasonalNaive:
        self._history = history
        return self

    def predict(self, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex) -> pd.DataFrame:
        if self._history is None:
            raise RuntimeError("SeasonalNaive.predict called before fit")
        known = history_before(self._history, issue_time, self.resolution_min)
        by_wall = known.copy()
        by_wall.index = known.index.tz_convert(self.timezone).tz_localize(None)
        by_wall = by_wall[~by_wall.index.duplicated(keep="first")]
        wall = horizon.tz_convert(self.timezone).tz_localize(None)
        out = pd.DataFrame(np.nan, index=horizon, columns=known.columns)
        for k in range(1, MAX_PERIODS_BACK + 1):
            todo = out.isna().any(axis=1).to_numpy()
            if not todo.any():
                break
            lagged = by_wall.reindex(wall[todo] - pd.Timedelta(days=k * self.period_days))
            out.iloc[todo] = out.iloc[todo].fillna(pd.DataFrame(lagged.to_numpy(), columns=known.columns, index=out.index[todo]))
        if out.isna().any().any():
            missing = out.columns[out.isna().any()].tolist()
            raise ValueError(
                f"not enough history before {issue_time} for a seasonal-naive forecast of {missing} "
                f"(need {self.period_days * MAX_PERIODS_BACK} days)"
            )
        return out
