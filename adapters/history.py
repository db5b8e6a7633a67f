"""Reader and writer of the history table (measurements).

Canonical CSV, one row per interval and series: ``interval_start_utc`` (ISO 8601 with offset),
``series_id`` (asset or group, e.g. ``load/G1-A``), ``quantity`` (``p_kw``), ``value``.
In memory the table is *wide*: UTC interval-start index, one float column per series (kW).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from adapters.errors import DataError
from adapters.timestamps import duplicate_problems, parse_utc_column

HISTORY_COLUMNS = ["interval_start_utc", "series_id", "quantity", "value"]
KNOWN_QUANTITIES = {"p_kw"}


def read_history_csv(path: str | Path) -> pd.DataFrame:
    """Read a canonical history CSV into the wide form; raise :class:`DataError` listing bad rows."""
    source = str(path)
    try:
        raw = pd.read_csv(path, dtype={"series_id": str, "quantity": str, "value": str})
    except FileNotFoundError:
        raise DataError([f"{source}: history file not found"]) from None
    missing = [c for c in HISTORY_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError([f"{source}: missing columns {missing}; expected {HISTORY_COLUMNS}"])
    stamps, problems = parse_utc_column(raw["interval_start_utc"], "interval_start_utc", source)
    values = pd.to_numeric(raw["value"], errors="coerce")
    for pos in values.isna().to_numpy().nonzero()[0]:
        problems.append(f"{source}: row {pos + 2}, column 'value': {raw['value'].iloc[pos]!r} is not a number")
    for pos in (~raw["quantity"].isin(KNOWN_QUANTITIES)).to_numpy().nonzero()[0]:
        problems.append(
            f"{source}: row {pos + 2}, column 'quantity': {raw['quantity'].iloc[pos]!r} is not one of "
            f"{sorted(KNOWN_QUANTITIES)}"
        )
    keys = pd.DataFrame({"t": stamps, "series_id": raw["series_id"]})
    problems += duplicate_problems(keys, source, "(interval_start_utc, series_id)")
    if problems:
        raise DataError(problems)
    wide = pd.DataFrame({"t": stamps, "s": raw["series_id"], "v": values}).pivot(index="t", columns="s", values="v")
    wide.index.name = "interval_start_utc"
    wide.columns.name = None
    return wide.sort_index()


def write_history_csv(wide: pd.DataFrame, path: str | Path) -> None:
    """Write the wide history form as a canonical long CSV."""
    long = wide.rename_axis("interval_start_utc").reset_index().melt(
        id_vars="interval_start_utc", var_name="series_id", value_name="value"
    )
    long.insert(2, "quantity", "p_kw")
    long["interval_start_utc"] = long["interval_start_utc"].map(lambda t: t.isoformat())
    long.to_csv(path, index=False)


def check_regular(wide: pd.DataFrame, resolution_min: int, source: str = "history") -> list[str]:
    """Report gaps, NaNs and off-grid stamps in a wide history table."""
    problems: list[str] = []
    step = pd.Timedelta(minutes=resolution_min)
    idx = wide.index
    off_grid = idx[(idx - idx.normalize()) % step != pd.Timedelta(0)]
    if len(off_grid):
        problems.append(f"{source}: {len(off_grid)} stamps not on the {resolution_min}-min grid, first {off_grid[0]}")
    gaps = np.flatnonzero(np.diff(idx.asi8) > step.value)
    for g in gaps[:10]:
        problems.append(f"{source}: gap after {idx[g].isoformat()} (next stamp {idx[g + 1].isoformat()})")
    nan_counts = wide.isna().sum()
    for series_id, n in nan_counts[nan_counts > 0].items():
        problems.append(f"{source}: series {series_id!r} has {n} missing values")
    return problems
