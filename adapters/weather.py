"""Reader of weather forecast tables (the forecasters' optional ``weather`` input).

CSV, one row per interval and issue: ``interval_start_utc`` and ``issued_at_utc`` (ISO 8601 with
offset; a forecast is used only by forecasts issued after it), then any of the value columns
``temp_air_c`` (air temperature, degC), ``ghi_w_m2`` (global horizontal irradiance, W/m2, mean
over the interval) and ``cloud_cover_pct`` (total cloud cover, %). Measured weather is a
forecast issued at its interval's end or later. In memory: indexed by UTC interval start, with
``issued_at_utc`` and the value columns present in the file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from adapters.errors import DataError, read_text_csv
from adapters.timestamps import duplicate_problems, parse_utc_column

KEY_COLUMNS = ["interval_start_utc", "issued_at_utc"]
# value column -> physically possible range (inclusive)
VALUE_RANGES = {"temp_air_c": (-60.0, 60.0), "ghi_w_m2": (0.0, 1500.0), "cloud_cover_pct": (0.0, 100.0)}


def read_weather_csv(path: str | Path) -> pd.DataFrame:
    """Read a weather forecast table; raise :class:`DataError` naming each bad row and column."""
    source = str(path)
    raw = read_text_csv(path, "weather")
    values = [c for c in VALUE_RANGES if c in raw.columns]
    missing = [c for c in KEY_COLUMNS if c not in raw.columns]
    if missing or not values:
        raise DataError([(f"{source}: needs columns {KEY_COLUMNS} and at least one of {list(VALUE_RANGES)}; "
                          f"found {list(raw.columns)}")])
    starts, problems = parse_utc_column(raw["interval_start_utc"], "interval_start_utc", source)
    issued, more = parse_utc_column(raw["issued_at_utc"], "issued_at_utc", source)
    problems += more
    out = pd.DataFrame({"issued_at_utc": issued.to_numpy()}, index=pd.DatetimeIndex(starts, name="interval_start_utc"))
    for column in values:
        number = pd.to_numeric(raw[column], errors="coerce")
        lo, hi = VALUE_RANGES[column]
        for pos in (number.isna() | (number < lo) | (number > hi)).to_numpy().nonzero()[0]:
            problems.append(f"{source}: row {pos + 2}, column {column!r}: {raw[column].iloc[pos]!r} is not a number "
                            f"in [{lo:g}, {hi:g}]")
        out[column] = number.to_numpy()
    problems += duplicate_problems(pd.DataFrame({"t": starts, "issued": issued}), source,
                                   "(interval_start_utc, issued_at_utc)")
    if problems:
        raise DataError(problems)
    return out.sort_index(kind="stable")
