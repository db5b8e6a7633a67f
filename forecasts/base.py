"""The forecaster interface and the one function that enforces no look-ahead."""

from __future__ import annotations

from typing import Protocol

import pandas as pd


class Forecaster(Protocol):
    """Anything with ``fit`` and ``predict`` over wide series tables."""

    def fit(self, history: pd.DataFrame) -> Forecaster:
        """Learn from history (rows known before the first issue time it will be asked for)."""

    def predict(self, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex) -> pd.DataFrame:
        """Forecast every fitted series for the interval starts in ``horizon``."""


def history_before(history: pd.DataFrame, issue_time: pd.Timestamp, resolution_min: int) -> pd.DataFrame:
    """Rows of ``history`` whose interval had *ended* by ``issue_time`` (no look-ahead).

    Every forecaster receives its history through this function.
    """
    cutoff = pd.Timestamp(issue_time) - pd.Timedelta(minutes=resolution_min)
    if history.index.is_monotonic_increasing:  # the rows up to the cutoff, found without a mask over all of them
        return history.iloc[:history.index.searchsorted(cutoff, side="right")]
    return history.loc[history.index <= cutoff]


def rows_after(frame: pd.DataFrame, since: pd.Timestamp) -> pd.DataFrame:
    """The rows of ``frame`` stamped after ``since`` (of a sorted table: a slice, found without a mask)."""
    if frame.index.is_monotonic_increasing:
        return frame.iloc[frame.index.searchsorted(since, side="right"):]
    return frame.loc[frame.index > since]
