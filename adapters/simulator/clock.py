"""The simulator's clock: stands still until advanced (tests, replay) or runs at a given speed."""

from __future__ import annotations

import time

import pandas as pd


class SimClock:
    """Simulated UTC time: ``start`` + manual advances + ``speed`` x elapsed wall-clock time."""

    def __init__(self, start: pd.Timestamp | str, speed: float = 0.0):
        start = pd.Timestamp(start)
        if start.tzinfo is None:
            raise ValueError(f"SimClock start {start} has no time zone; give a tz-aware timestamp")
        self._start = start.tz_convert("UTC")
        self._offset_s = 0.0
        self._speed = float(speed)
        self._t0 = time.monotonic()
        self._at = self._start  # the time it stands at (speed 0), as of the last advance

    def now(self) -> pd.Timestamp:
        """Current simulated time (UTC)."""
        if not self._speed:
            return self._at
        return self._start + pd.Timedelta(seconds=self._offset_s + (time.monotonic() - self._t0) * self._speed)

    @property
    def speed(self) -> float:
        """Simulated seconds per wall-clock second (0: stands still until advanced)."""
        return self._speed

    def advance(self, seconds: float) -> None:
        """Move simulated time forward by ``seconds``."""
        if seconds < 0:
            raise ValueError(f"cannot advance the clock by {seconds} s; time only runs forward")
        self._offset_s += seconds
        self._at = self._start + pd.Timedelta(seconds=self._offset_s)
