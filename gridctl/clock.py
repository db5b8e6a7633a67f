"""The daemon's clocks.

* **Daemon clock** (``now``): wall time, optionally started at another instant and run faster
  (``[daemon] time_scale``) so tests and demos see many intervals in little real time.
  :class:`ClockTrigger` fires APScheduler jobs at instants of this clock.
* **Data clock** (``data_time``): the instant whose data feeds forecasts. With
  ``[daemon] data_year`` set (the demo data is 2016), it is the daemon clock shifted by a whole
  number of days fixed at start: the same UTC month-day-time in that year at start (a shift that
  stays constant, so it is monotonic and invertible; a run across 29 February drifts by a day).
  A day in 2026 thus runs on the same calendar day of 2016. Scheduling, the store and the API use the daemon clock; only forecasts and
  history look-ups use the data clock. Around daylight-saving changes the two years' local days
  differ by an hour for a few days (the shift is per UTC instant).
"""

from __future__ import annotations

import math
import time
from datetime import datetime

import pandas as pd
from apscheduler.triggers.base import BaseTrigger


class DaemonClock:
    """UTC time ``start + time_scale * (real time since creation)``, with a data-clock mapping."""

    def __init__(self, time_scale: float = 1.0, start: pd.Timestamp | None = None, data_year: int = 0):
        if time_scale <= 0:
            raise ValueError(f"time_scale {time_scale}: must be > 0")
        self.scale = float(time_scale)
        self._real0 = time.time()
        self._start = pd.Timestamp(start).tz_convert("UTC") if start is not None else pd.Timestamp(self._real0, unit="s", tz="UTC")
        self._shift = self._start - _same_day_in(self._start, data_year) if data_year else pd.Timedelta(0)
        self.data_year = data_year

    def now(self) -> pd.Timestamp:
        """Current daemon time (UTC)."""
        return self.to_clock(time.time())

    def to_clock(self, real: float | datetime) -> pd.Timestamp:
        """Daemon time at real instant ``real`` (POSIX seconds or aware datetime)."""
        r = real.timestamp() if isinstance(real, datetime) else real
        return (self._start + pd.Timedelta(seconds=(r - self._real0) * self.scale)).floor("us")

    def to_real(self, t: datetime) -> datetime:
        """Real (aware) instant at which the daemon clock shows ``t`` (or a microsecond after it, never
        before: a job fired for an interval start must see that interval)."""
        elapsed = (pd.Timestamp(t) - self._start).total_seconds() / self.scale
        return datetime.fromtimestamp(math.ceil((self._real0 + elapsed) * 1e6 + 1) / 1e6).astimezone()

    def real_seconds(self, clock_seconds: float) -> float:
        """Real seconds that pass while the daemon clock advances ``clock_seconds``."""
        return clock_seconds / self.scale

    def data_time(self, t: pd.Timestamp | pd.DatetimeIndex):
        """Data-clock instant(s) of daemon time ``t``."""
        return t - self._shift

    def wall_time(self, t: pd.Timestamp | pd.DatetimeIndex):
        """Daemon time of data-clock instant(s) ``t``."""
        return t + self._shift


class ClockTrigger(BaseTrigger):
    """Fire ``inner`` (a trigger evaluated in daemon-clock time) at the matching real instants."""

    def __init__(self, inner: BaseTrigger, clock: DaemonClock):
        self.inner = inner
        self.clock = clock

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        prev = None
        if previous_fire_time is not None:  # whole seconds: float round trips must not re-fire a time
            prev = self.clock.to_clock(previous_fire_time).round("s").to_pydatetime()
        nxt = self.inner.get_next_fire_time(prev, self.clock.to_clock(now).to_pydatetime())
        return None if nxt is None else self.clock.to_real(nxt)

    def __str__(self) -> str:
        return f"clock[{self.inner}]" if self.clock.scale == 1 else f"clock x{self.clock.scale:g}[{self.inner}]"


def _same_day_in(t: pd.Timestamp, year: int) -> pd.Timestamp:
    """``t`` with its year replaced (29 February becomes the 28th in a common year)."""
    try:
        return t.replace(year=year)
    except ValueError:
        return t.replace(year=year, day=28)
