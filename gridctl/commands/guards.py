"""Checks a command makes before its expensive work: output folder writable, dates inside the data.

Each raises :class:`gridctl.config.ConfigError` (exit 2) with one line naming the option, what is
wrong and what to give instead.
"""

from __future__ import annotations

import argparse
import os
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from gridctl.config import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from gridctl.district import District

# seasonal-naive forecasts (the fallback with little history, and the baselines of `forecast
# evaluate`) need the same weekday one week earlier
HISTORY_DAYS = 7


def iso_date(text: str) -> date:
    """A ``YYYY-MM-DD`` option value as a date (argparse type)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write YYYY-MM-DD") from None


def check_order(start: date, end: date) -> None:
    """Raise when ``end`` is before ``start``."""
    if end < start:
        raise ConfigError([f"--end {end} is before --start {start}; give an end date on or after the start"])


def output_dir(path: Path, option: str = "--out") -> None:
    """Raise when ``path`` cannot become a writable folder (it is a file, or a parent is not writable)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError([f"{option} {path}: is a file, not a folder; give a folder (it is created if missing)"])
    existing = next(p for p in [path, *path.parents] if p.exists())
    if not existing.is_dir():
        raise ConfigError([(f"{option} {path}: {existing} is a file, so the folder cannot be created; "
                           "give another folder")])
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError([f"{option} {path}: {existing} is not writable; give a folder you can write to"])


def _full_days(index: pd.DatetimeIndex, timezone: str, resolution_min: int) -> tuple[date, date]:
    """First and last local day that ``index`` (UTC interval starts) covers from midnight to midnight."""
    import pandas as pd

    first = index.min().tz_convert(timezone)
    end = (index.max() + pd.Timedelta(minutes=resolution_min)).tz_convert(timezone)
    first_day = first.date() if first == first.normalize() else first.date() + timedelta(days=1)
    last_day = end.date() - timedelta(days=1)
    return first_day, last_day


def data_days(district: District) -> tuple[date, date]:
    """First local day with enough history before its gate time, and the last day with measured data."""
    firsts, lasts = zip(*(_full_days(frame.index, district.tz, district.resolution_min)
                          for frame in (district.history, district.measured_carbon)))
    return max(firsts) + timedelta(days=HISTORY_DAYS), min(lasts)


def check_days(district: District, **days: date) -> None:
    """Raise when a day given (option name -> date, e.g. ``start=...``) lies outside :func:`data_days`."""
    first, last = data_days(district)
    for option, day in days.items():
        if not first <= day <= last:
            raise ConfigError([(f"--{option} {day}: outside the data; give a day from {first} to {last} ({district.tz}; "
                               f"the first {HISTORY_DAYS} days of data are the history the forecasts need)")])
