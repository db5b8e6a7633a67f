"""Calendar and lag features in local wall-clock time, computed only from data known at issue time.

A target interval starting at UTC ``t`` has a local wall time ``w``. Its lag of ``k`` days is the
measured value at wall time ``w - k days`` (first occurrence on the repeated DST hour), and is
used only if that interval had *ended* by the target's issue time. Window means cover the
intervals that ended in ``[issue - window, issue]``.
"""

from __future__ import annotations

import functools
from datetime import time

import holidays
import numpy as np
import pandas as pd

DAY_NS = pd.Timedelta(days=1).value


def day_ahead_issue_times(index: pd.DatetimeIndex, timezone: str, gate: time) -> pd.DatetimeIndex:
    """Issue time of each target interval: ``gate`` local time on the day before its local date."""
    local_date = index.tz_convert(timezone).tz_localize(None).normalize()
    gate_offset = pd.Timedelta(hours=gate.hour, minutes=gate.minute, seconds=gate.second)
    wall = local_date - pd.Timedelta(days=1) + gate_offset
    return wall.tz_localize(timezone, ambiguous=True, nonexistent="shift_forward").tz_convert("UTC")


def holiday_flags(index: pd.DatetimeIndex, timezone: str, country: str, subdivision: str | None) -> np.ndarray:
    """1.0 where the local date of an interval is a public holiday of ``country`` (``subdivision``)."""
    local = index.tz_convert(timezone)
    dates = holiday_dates(country, subdivision, tuple(sorted(set(local.year))))
    return local.tz_localize(None).normalize().isin(dates).astype(float)


@functools.lru_cache(maxsize=64)
def holiday_dates(country: str, subdivision: str | None, years: tuple[int, ...]) -> pd.DatetimeIndex:
    """The public holidays of ``country`` (``subdivision``) in ``years`` (built once per arguments:
    every forecast issue asks again)."""
    calendar = holidays.country_holidays(country, subdiv=subdivision, years=list(years))
    return pd.DatetimeIndex(sorted(calendar)) if calendar else pd.DatetimeIndex([])


def time_of_day_h(index: pd.DatetimeIndex, timezone: str) -> np.ndarray:
    """Local wall-clock hour of each interval start (e.g. 13.25 for 13:15)."""
    local = index.tz_convert(timezone)
    return (local.hour + local.minute / 60.0).to_numpy(dtype=float)


class WallClockHistory:
    """Known measurements indexed by local wall time, for lag look-ups that respect issue times."""

    def __init__(self, known: pd.DataFrame, timezone: str, resolution_min: int):
        self.timezone = timezone
        self.columns = list(known.columns)
        self._index = known.index
        utc_values = known.to_numpy(dtype=float)
        self._utc_values = utc_values
        self._utc_ends = (known.index + pd.Timedelta(minutes=resolution_min)).asi8
        finite = np.isfinite(utc_values)
        self._csum = np.vstack([np.zeros(len(self.columns)), np.cumsum(np.where(finite, utc_values, 0.0), axis=0)])
        self._ccount = np.vstack([np.zeros(len(self.columns)), np.cumsum(finite, axis=0)])

    @functools.cached_property
    def _by_wall(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Local wall times (ns, sorted; the first of a repeated DST hour), their values and the
        UTC ends (ns) of their intervals."""
        wall = self._index.tz_convert(self.timezone).tz_localize(None)
        first = ~wall.duplicated(keep="first")
        order = np.argsort(wall.asi8[first], kind="stable")
        return wall.asi8[first][order], self._utc_values[first][order], self._utc_ends[first][order]

    def _wall_ns(self, targets: pd.DatetimeIndex) -> np.ndarray:
        """Local wall time (ns) of each target."""
        return targets.tz_convert(self.timezone).tz_localize(None).asi8

    def lag(self, targets: pd.DatetimeIndex, days: int, issue: pd.DatetimeIndex) -> np.ndarray:
        """Values ``days`` local days before each target; NaN where unknown at that target's issue."""
        return self._known_at(self._wall_ns(targets) - days * DAY_NS, issue.asi8)

    def _known_at(self, wall_ns: np.ndarray, issue_ns: np.ndarray) -> np.ndarray:
        """Values at local wall times ``wall_ns`` whose interval had ended by ``issue_ns`` (else NaN)."""
        times, values, ends = self._by_wall
        out = np.full((len(wall_ns), len(self.columns)), np.nan)
        if len(times) == 0:
            return out
        pos = np.searchsorted(times, wall_ns).clip(max=len(times) - 1)
        found = (times[pos] == wall_ns) & (ends[pos] <= issue_ns)
        out[found] = values[pos[found]]
        return out

    def latest_lag(self, targets: pd.DatetimeIndex, issue: pd.DatetimeIndex, max_days: int = 7) -> tuple[np.ndarray, np.ndarray]:
        """Most recent same-wall-time value known at issue, and how many days back it lies."""
        out = np.full((len(targets), len(self.columns)), np.nan)
        days_back = np.full(len(targets), np.nan)
        wall_ns, issue_ns = self._wall_ns(targets), issue.asi8
        for k in range(1, max_days + 1):
            todo = np.isnan(days_back)
            if not todo.any():
                break
            lagged = self._known_at(wall_ns[todo] - k * DAY_NS, issue_ns[todo])
            found = np.isfinite(lagged).any(axis=1)
            rows = np.flatnonzero(todo)[found]
            out[rows] = lagged[found]
            days_back[rows] = k
        return out, days_back

    def window_mean(self, issue: pd.DatetimeIndex, window: pd.Timedelta) -> np.ndarray:
        """Mean of each series over intervals that ended within ``window`` before each issue time."""
        hi = np.searchsorted(self._utc_ends, issue.asi8, side="right")
        lo = np.searchsorted(self._utc_ends, (issue - window).asi8, side="right")
        total = self._csum[hi] - self._csum[lo]
        count = self._ccount[hi] - self._ccount[lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    def last_value(self, issue: pd.DatetimeIndex) -> np.ndarray:
        """Value of the last interval that ended by each issue time (NaN before the first)."""
        pos = np.searchsorted(self._utc_ends, issue.asi8, side="right") - 1
        if len(self._utc_values) == 0:
            return np.full((len(issue), len(self.columns)), np.nan)
        out = self._utc_values[np.maximum(pos, 0)].copy()
        out[pos < 0] = np.nan
        return out


def issued_before(forecasts: pd.DataFrame, column: str, targets: pd.DatetimeIndex, issue: pd.DatetimeIndex) -> np.ndarray:
    """Per target, ``column`` of the latest row for that interval issued strictly before its issue time.

    ``forecasts`` is indexed by UTC interval start and holds ``issued_at_utc``; NaN where no row
    had been issued yet.
    """
    left = pd.DataFrame({"t": targets, "issue": issue, "pos": np.arange(len(targets))}).sort_values("issue")
    right = pd.DataFrame(
        {"t": forecasts.index, "issued": forecasts["issued_at_utc"].to_numpy(), "v": forecasts[column].to_numpy(dtype=float)}
    ).sort_values("issued")
    right["issued"] = pd.to_datetime(right["issued"], utc=True)
    left["issue"] = pd.to_datetime(left["issue"], utc=True)
    merged = pd.merge_asof(left, right, left_on="issue", right_on="issued", by="t", allow_exact_matches=False)
    out = np.full(len(targets), np.nan)
    out[merged["pos"].to_numpy()] = merged["v"].to_numpy(dtype=float)
    return out
