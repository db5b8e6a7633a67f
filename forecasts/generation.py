"""Forecasts of local generation other than PV, by the kind named in the series id (``<kind>/<name>``).

- ``wind``: persistence blended into the recent profile. The last measured output carries the
  first hours (weight ``exp(-lead / WIND_PERSISTENCE_H)``), the mean output at the same local
  time of day over the last ``PROFILE_DAYS`` days the rest; without a wind-speed forecast that
  is about what history predicts a day ahead.
- ``hydro``: run-of-river output follows the river's flow, which changes over days: the mean of
  the last day known at the issue time, flat.
- ``biomass`` and ``other`` units run as scheduled: each repeats its mean output at the same
  local time of day over the last ``PROFILE_DAYS`` days.
Forecasts are generator-referenced kW, never negative; with no history they are 0 (logged).
:class:`GenerationForecaster` serves ``pv/...`` series with the PV model and every other
series with these rules, so a wind, hydro or biomass unit is never forecast as PV.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from forecasts.base import history_before
from forecasts.pv import PvForecaster

log = logging.getLogger(__name__)

WIND_PERSISTENCE_H = 6.0
PROFILE_DAYS = 7
HYDRO_MEAN_DAYS = 1


def series_kind(series_id: str) -> str:
    """The kind prefix of a series id (``wind/WP7`` -> ``wind``)."""
    return series_id.split("/", 1)[0]


def time_of_day_profile(known: pd.DataFrame, horizon: pd.DatetimeIndex, timezone: str, days: int) -> pd.DataFrame:
    """Mean of ``known`` at each target's local time of day over the last ``days`` days (all-time mean where absent)."""
    recent = known.loc[known.index > known.index[-1] - pd.Timedelta(days=days)]
    local = recent.index.tz_convert(timezone)
    profile = recent.groupby(local.hour * 60 + local.minute).mean()
    target = horizon.tz_convert(timezone)
    out = profile.reindex(target.hour * 60 + target.minute)
    out.index = horizon
    return out.fillna(recent.mean())


class RuleForecaster:
    """Wind, hydro, biomass and other non-PV series by the rules of the module docstring."""

    def __init__(self, timezone: str, resolution_min: int = 15):
        self.timezone = timezone
        self.resolution_min = resolution_min
        self._history: pd.DataFrame | None = None

    def fit(self, history: pd.DataFrame) -> RuleForecaster:
        self._history = history
        return self

    def predict(self, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex) -> pd.DataFrame:
        if self._history is None:
            raise RuntimeError("RuleForecaster.predict called before fit")
        known = history_before(self._history, pd.Timestamp(issue_time), self.resolution_min)
        out = pd.DataFrame(0.0, index=horizon, columns=self._history.columns)
        if known.empty:
            log.info("no generation history before %s: non-PV generation forecast as 0", issue_time)
            return out
        profile = time_of_day_profile(known, horizon, self.timezone, PROFILE_DAYS)
        lead_h = ((horizon - pd.Timestamp(issue_time)) / pd.Timedelta(hours=1)).to_numpy()
        weight = np.exp(-np.maximum(lead_h, 0.0) / WIND_PERSISTENCE_H)[:, None]
        last_day = known.loc[known.index > known.index[-1] - pd.Timedelta(days=HYDRO_MEAN_DAYS)].mean()
        for kind, cols in pd.Series(known.columns, index=known.columns).groupby(series_kind):
            cols = list(cols)
            if kind == "wind":
                values = weight * known[cols].iloc[-1].to_numpy() + (1 - weight) * profile[cols].to_numpy()
            elif kind == "hydro":
                values = np.broadcast_to(last_day[cols].to_numpy(), (len(horizon), len(cols)))
            else:
                values = profile[cols].to_numpy()
            out[cols] = np.clip(values, 0.0, None)
        return out


class GenerationForecaster(PvForecaster):
    """Every local generation series: ``pv/...`` by the PV model, the others by :class:`RuleForecaster`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rules = RuleForecaster(self.timezone, self.resolution_min)
        self._solar: list[str] = []
        self._columns: list[str] = []

    def fit(self, history: pd.DataFrame) -> GenerationForecaster:
        self._columns = list(history.columns)
        self._solar = [c for c in self._columns if series_kind(c) == "pv"]
        if self._solar:
            super().fit(history[self._solar])
        self.rules.fit(history.drop(columns=self._solar))
        return self

    def predict(self, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex) -> pd.DataFrame:
        parts = [super().predict(issue_time, horizon)] if self._solar else []
        if len(self._columns) > len(self._solar):
            parts.append(self.rules.predict(issue_time, horizon))
        if not parts:
            return pd.DataFrame(index=horizon)
        if len(parts) == 1 and list(parts[0].columns) == self._columns:  # PV only: already the table
            return parts[0]
        return pd.concat(parts, axis=1)[self._columns]
