"""Local days, gate times and interval grids (UTC inside, site time zone at the edges)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd


def local_day(day: date, timezone: str, resolution_min: int) -> pd.DatetimeIndex:
    """UTC interval starts of one local calendar day (92, 96 or 100 quarter-hours)."""
    start = pd.Timestamp(datetime.combine(day, time(0)), tz=timezone)
    end = pd.Timestamp(datetime.combine(day + timedelta(days=1), time(0)), tz=timezone)
    return pd.date_range(start.tz_convert("UTC"), end.tz_convert("UTC"), freq=f"{resolution_min}min",
                         inclusive="left", name="interval_start")


def gate_time(day: date, timezone: str, gate: time) -> pd.Timestamp:
    """UTC instant of the day-ahead gate for ``day``: ``gate`` local time on the previous day."""
    return pd.Timestamp(datetime.combine(day - timedelta(days=1), gate), tz=timezone).tz_convert("UTC")


def local_day_ends(index: pd.DatetimeIndex, timezone: str) -> tuple[int, ...]:
    """Positions in ``index`` of the last interval of each local day it holds (complete or not)."""
    days = index.tz_convert(timezone).date
    return tuple(i for i in range(len(days)) if i == len(days) - 1 or days[i + 1] != days[i])
