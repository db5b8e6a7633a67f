"""Hourly forecast steps -> the weather table (:mod:`adapters.weather`), shared by the services.

Services stamp a step at its end ``t``: irradiance is the mean over the hour before ``t``,
temperature and cloud cover are values at ``t``. A row of the weather table is an interval
``[t - 1 h, t)``: GHI of step ``t``, temperature and cloud cover the mean of ``t - 1 h`` and
``t`` (the value at ``t`` for the first step). Steps with a missing value are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapters.providers.http import FeedError
from adapters.weather import VALUE_RANGES

STEP = pd.Timedelta(hours=1)


def hourly_weather(step_end_utc: pd.DatetimeIndex, temp_air_c, ghi_w_m2, cloud_cover_pct,
                   issued_at_utc: pd.Timestamp, source: str) -> pd.DataFrame:
    """The weather table of hourly steps ending at ``step_end_utc``; all issued at ``issued_at_utc``.
    A value outside its physical range is a :class:`FeedError` naming the step and column."""
    steps = pd.DataFrame({"temp_air_c": np.asarray(temp_air_c, dtype=float),
                          "ghi_w_m2": np.asarray(ghi_w_m2, dtype=float),
                          "cloud_cover_pct": np.asarray(cloud_cover_pct, dtype=float)},
                         index=pd.DatetimeIndex(step_end_utc).tz_convert("UTC"))
    for column, (lo, hi) in VALUE_RANGES.items():
        bad = steps[column].notna() & ~steps[column].between(lo, hi)
        if bad.any():
            t = steps.index[bad.to_numpy()][0]
            raise FeedError(f"{source}: step {t.isoformat()}, {column} = {steps.at[t, column]:g} is not in "
                                   f"[{lo:g}, {hi:g}] ({int(bad.sum())} such steps)")
    previous = steps.shift(1, freq=STEP).reindex(steps.index)
    for column in ("temp_air_c", "cloud_cover_pct"):
        steps[column] = pd.concat([steps[column], previous[column]], axis=1).mean(axis=1, skipna=True).where(
            steps[column].notna())
    out = steps.dropna()
    out.index = pd.DatetimeIndex(out.index - STEP, name="interval_start_utc")
    out.insert(0, "issued_at_utc", pd.Timestamp(issued_at_utc).tz_convert("UTC"))
    return out
