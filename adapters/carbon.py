"""Reader and writer of carbon-intensity series in the canonical CSV form (docs/conventions.md).

Columns: ``interval_start_utc``, ``resolution_min``, ``value``, ``unit`` (``kg_per_kwh``,
``g_per_kwh`` or ``lbs_per_mwh``, converted to kg/kWh on read), ``signal_type``
(``average_lifecycle``, ``average_direct`` or ``marginal``), ``zone``, ``source``,
``issued_at_utc`` (when the value became known) and ``is_estimated``.

In memory a series is a DataFrame indexed by UTC interval start with ``ci_kg_per_kwh``,
``signal_type``, ``resolution_min``, ``zone``, ``source``, ``issued_at_utc`` and ``is_estimated``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from adapters.errors import DataError, read_text_csv
from adapters.timestamps import duplicate_problems, parse_utc_column

CARBON_COLUMNS = [
    "interval_start_utc", "resolution_min", "value", "unit", "signal_type",
    "zone", "source", "issued_at_utc", "is_estimated",
]
# kg CO2 per kWh for one unit of each accepted unit
UNIT_TO_KG_PER_KWH = {
    "kg_per_kwh": 1.0,
    "g_per_kwh": 1e-3,
    "lbs_per_mwh": 0.45359237 / 1000.0,
}
SIGNAL_TYPES = ("average_lifecycle", "average_direct", "marginal")


def read_carbon_csv(path: str | Path) -> pd.DataFrame:
    """Read a canonical carbon CSV; raise :class:`DataError` naming each bad row and column."""
    source = str(path)
    raw = read_text_csv(path, "carbon-intensity")
    missing = [c for c in CARBON_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError([f"{source}: missing columns {missing}; expected {CARBON_COLUMNS}"])
    starts, problems = parse_utc_column(raw["interval_start_utc"], "interval_start_utc", source)
    issued, more = parse_utc_column(raw["issued_at_utc"], "issued_at_utc", source)
    problems += more
    value = pd.to_numeric(raw["value"], errors="coerce")
    for pos in (value.isna() | (value < 0)).to_numpy().nonzero()[0]:
        problems.append(
            f"{source}: row {pos + 2}, column 'value': {raw['value'].iloc[pos]!r} is not a non-negative number"
        )
    factor = raw["unit"].map(UNIT_TO_KG_PER_KWH)
    for pos in factor.isna().to_numpy().nonzero()[0]:
        problems.append(
            f"{source}: row {pos + 2}, column 'unit': {raw['unit'].iloc[pos]!r} is not one of "
            f"{sorted(UNIT_TO_KG_PER_KWH)}"
        )
    for pos in (~raw["signal_type"].isin(SIGNAL_TYPES)).to_numpy().nonzero()[0]:
        problems.append(
            f"{source}: row {pos + 2}, column 'signal_type': {raw['signal_type'].iloc[pos]!r} is not one of "
            f"{list(SIGNAL_TYPES)}"
        )
    resolution = pd.to_numeric(raw["resolution_min"], errors="coerce")
    for pos in (resolution.isna() | (resolution <= 0)).to_numpy().nonzero()[0]:
        problems.append(
            f"{source}: row {pos + 2}, column 'resolution_min': {raw['resolution_min'].iloc[pos]!r} "
            "is not a positive number of minutes"
        )
    keys = pd.DataFrame({"t": starts, "signal": raw["signal_type"], "issued": issued})
    problems += duplicate_problems(keys, source, "(interval_start_utc, signal_type, issued_at_utc)")
    if problems:
        raise DataError(problems)
    out = pd.DataFrame(
        {
            "ci_kg_per_kwh": (value * factor).to_numpy(),
            "signal_type": raw["signal_type"].to_numpy(),
            "resolution_min": resolution.astype(int).to_numpy(),
            "zone": raw["zone"].to_numpy(),
            "source": raw["source"].to_numpy(),
            "issued_at_utc": issued.to_numpy(),
            "is_estimated": raw["is_estimated"].str.lower().isin(["true", "1", "yes"]).to_numpy(),
        },
        index=pd.DatetimeIndex(starts, name="interval_start_utc"),
    )
    return out.sort_index(kind="stable")


def write_carbon_csv(series: pd.DataFrame, path: str | Path) -> None:
    """Write an in-memory carbon series in the canonical CSV form (unit kg_per_kwh)."""
    out = pd.DataFrame(
        {
            "interval_start_utc": [t.isoformat() for t in series.index],
            "resolution_min": series["resolution_min"].to_numpy(),
            "value": series["ci_kg_per_kwh"].round(6).to_numpy(),
            "unit": "kg_per_kwh",
            "signal_type": series["signal_type"].to_numpy(),
            "zone": series["zone"].to_numpy(),
            "source": series["source"].to_numpy(),
            "issued_at_utc": [t.isoformat() for t in series["issued_at_utc"]],
            "is_estimated": series["is_estimated"].map(lambda b: "true" if b else "false").to_numpy(),
        }
    )
    out.to_csv(path, index=False)
