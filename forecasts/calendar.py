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
HOUR_NS = pd.Timedelta(hours=1).value
MINUTE_NS = pd.Timedelta(minutes=1).value


def day_ahead_issue_times(index: pd.DatetimeIndex, timezone: str, gate: time) -> pd.DatetimeIndex:
    """Issue time of each target interval: ``gate`` local time on the day before its local date."""
    local_date = index.tz_convert(timezone).tz_localize(None).normalize()
    gate_offset = pd.Timedelta(hours=gate.hour, minutes=gate.minute, seconds=gate.second)
    wall = local_date - pd.Timedelta(days=1) + gate_offset
    return wall.tz_localize(timezone, ambiguous=True, nonexistent="shift_forward").tz_convert("UTC")


def holiday_flags(index: pd.DatetimeIndex, timezone: str, country: str, subdivision: str | None) -> np.ndarray:
    """1.0 where the local date of an interval is a public holiday of ``country`` (``subdivision``),
    from the holidays of the years of the local dates (as numbers of days since 1970-01-01)."""
    local_days = local_wall_ns(index, timezone) // DAY_NS
    if len(local_days) == 0:
        return np.zeros(0)
    years = _years(np.array([local_days.min(), local_days.max()]))
    if years[1] - years[0] > 1:  # a year between the first and the last: only the years present
        years = np.unique(_years(local_days))
    days = holiday_days(country, subdivision, tuple(sorted(set(years.tolist()))))
    if len(days) == 0:
        return np.zeros(len(local_days))
    at = np.searchsorted(days, local_days).clip(max=len(days) - 1)
    return (days[at] == local_days).astype(float)


def _years(days: np.ndarray) -> np.ndarray:
    """The year of each day (counted from 1970-01-01)."""
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


@functools.lru_cache(maxsize=64)
def holiday_days(country: str, subdivision: str | None, years: tuple[int, ...]) -> np.ndarray:
    """The public holidays of ``country`` (``subdivision``) in ``years``, as days since 1970-01-01
    (built once per arguments: every forecast issue asks again)."""
    calendar = holidays.country_holidays(country, subdiv=subdivision, years=list(years))
    return np.array(sorted(calendar), dtype="datetime64[D]").astype(np.int64)


def local_wall_ns(index: pd.DatetimeIndex, timezone: str) -> np.ndarray:
    """Local wall time (ns since 1970-01-01 on the local clock) of each instant of ``index``."""
    return index.tz_convert(timezone).tz_localize(None).asi8


def time_of_day_h(index: pd.DatetimeIndex, timezone: str) -> np.ndarray:
    """Local wall-clock hour of each interval start (e.g. 13.25 for 13:15)."""
    return wall_hour_of_day(local_wall_ns(index, timezone))


def wall_hour_of_day(wall_ns: np.ndarray) -> np.ndarray:
    """Hour of day of local wall times (ns), whole minutes as fractions (13.25 for 13:15)."""
    of_day_ns = wall_ns % DAY_NS
    return of_day_ns // HOUR_NS + (of_day_ns % HOUR_NS) // MINUTE_NS / 60.0


def wall_weekday(wall_ns: np.ndarray) -> np.ndarray:
    """Day of the week of local wall times (ns; Monday 0.0 ... Sunday 6.0)."""
    return ((wall_ns // DAY_NS + 3) % 7).astype(float)  # 1970-01-01 was a Thursday


def lead_h(targets: pd.DatetimeIndex, issue_ns: np.ndarray) -> np.ndarray:
    """Hours from each issue time (ns) to its target, as ``(targets - issue).total_seconds() / 3600``."""
    return (targets.asi8 - issue_ns) / 1_000_000_000 / 3600.0


class WallClockHistory:
    """Known measurements indexed by local wall time, for lag look-ups that respect issue times."""

    def __init__(self, known: pd.DataFrame, timezone: str, resolution_min: int):
        self.timezone = timezone
        self.columns = list(known.columns)
        self._index = known.index
        utc_values = known.to_numpy(dtype=float)
        self._utc_values = utc_values
        self._utc_ends = known.index.asi8 + pd.Timedelta(minutes=resolution_min).value
        finite = np.isfinite(utc_values)
        measured = utc_values if finite.all() else np.where(finite, utc_values, 0.0)
        self._csum = np.vstack([np.zeros(len(self.columns)), np.cumsum(measured, axis=0)])
        # None: every value measured, so a window's count is its number of rows
        self._ccount = None if measured is utc_values else np.vstack([np.zeros(len(self.columns)), np.cumsum(finite, axis=0)])

    @functools.cached_property
    def _by_wall(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Local wall times (ns, sorted; the first of a repeated DST hour), their values and the
        UTC ends (ns) of their intervals."""
        times, first = np.unique(local_wall_ns(self._index, self.timezone), return_index=True)
        return times, self._utc_values[first], self._utc_ends[first]

    def lag(self, wall_ns: np.ndarray, days: int, issue_ns: np.ndarray) -> np.ndarray:
        """Values ``days`` local days before each target (at local wall time ``wall_ns``:
        :func:`local_wall_ns`); NaN where unknown at that target's issue (ns)."""
        return self._known_at(wall_ns - days * DAY_NS, issue_ns)

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

    def latest_lag(self, wall_ns: np.ndarray, issue_ns: np.ndarray, max_days: int = 7) -> tuple[np.ndarray, np.ndarray]:
        """Most recent same-wall-time value known at issue (ns) of each target (at local wall time
        ``wall_ns``), and how many days back it lies."""
        out = np.full((len(wall_ns), len(self.columns)), np.nan)
        days_back = np.full(len(wall_ns), np.nan)
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

    def window_mean(self, issue_ns: np.ndarray, window: pd.Timedelta) -> np.ndarray:
        """Mean of each series over intervals that ended within ``window`` before each issue time (ns)."""
        hi = np.searchsorted(self._utc_ends, issue_ns, side="right")
        lo = np.searchsorted(self._utc_ends, issue_ns - window.value, side="right")
        total = self._csum[hi] - self._csum[lo]
        count = (hi - lo)[:, None].astype(float) if self._ccount is None else self._ccount[hi] - self._ccount[lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    def last_value(self, issue_ns: np.ndarray) -> np.ndarray:
        """Value of the last interval that ended by each issue time (ns; NaN before the first)."""
        pos = np.searchsorted(self._utc_ends, issue_ns, side="right") - 1
        if len(self._utc_values) == 0:
            return np.full((len(issue_ns), len(self.columns)), np.nan)
        out = self._utc_values[np.maximum(pos, 0)].copy()
        out[pos < 0] = np.nan
        return out


def issued_before(forecasts: pd.DataFrame, column: str, targets: pd.DatetimeIndex, issue: pd.DatetimeIndex) -> np.ndarray:
    """Per target, ``column`` of the latest row for that interval issued strictly before its issue time.

    ``forecasts`` is indexed by UTC interval start and holds ``issued_at_utc``; NaN where no row
    had been issued yet (of rows issued at the same time for the same interval, the later in the
    table). Only the rows for intervals from the first target to the last and issued before the
    last issue time are looked at, so the cost follows the targets, not the table's length.
    """
    out = np.full(len(targets), np.nan)
    if len(targets) == 0 or len(forecasts) == 0:
        return out
    at = pd.DatetimeIndex(forecasts.index).as_unit("ns")  # one resolution for every key merged on
    issued = pd.DatetimeIndex(pd.to_datetime(forecasts["issued_at_utc"], utc=True)).as_unit("ns")
    rows = np.flatnonzero((at >= targets.min()) & (at <= targets.max()) & (issued < issue.max()))
    left = pd.DataFrame({"t": targets.as_unit("ns"), "issue": pd.to_datetime(issue, utc=True).as_unit("ns"),
                         "pos": np.arange(len(targets))}).sort_values("issue", kind="stable")
    right = pd.DataFrame({"t": at[rows], "issued": issued[rows], "v": forecasts[column].to_numpy(dtype=float)[rows]}
                         ).sort_values("issued", kind="stable")
    merged = pd.merge_asof(left, right, left_on="issue", right_on="issued", by="t", allow_exact_matches=False)
    out[merged["pos"].to_numpy()] = merged["v"].to_numpy(dtype=float)
    return out
