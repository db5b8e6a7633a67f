"""Parsing of ISO 8601 interval-start columns into UTC, with row-numbered problems."""

from __future__ import annotations

import pandas as pd


def parse_utc_column(values: pd.Series, column: str, source: str) -> tuple[pd.Series, list[str]]:
    """Parse ISO 8601 stamps that carry an offset; naive or unparsable rows are reported.

    Row numbers in messages are 1-based file lines (header = line 1).
    """
    problems: list[str] = []
    text = values.astype(str).str.strip()
    has_offset = text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True)
    parsed = pd.to_datetime(text.where(has_offset), utc=True, errors="coerce", format="ISO8601")
    for pos in (~has_offset).to_numpy().nonzero()[0]:
        problems.append(
            f"{source}: row {pos + 2}, column {column!r}: {text.iloc[pos]!r} has no UTC offset; "
            "write ISO 8601 with an offset (e.g. 2016-07-14T10:00:00+00:00)"
        )
    bad = has_offset & parsed.isna()
    for pos in bad.to_numpy().nonzero()[0]:
        problems.append(f"{source}: row {pos + 2}, column {column!r}: {text.iloc[pos]!r} is not a valid time stamp")
    return parsed, problems


def duplicate_problems(keys: pd.DataFrame, source: str, what: str) -> list[str]:
    """One line per repeated key row (all but the first occurrence)."""
    dup = keys.duplicated(keep="first").to_numpy().nonzero()[0]
    return [f"{source}: row {pos + 2}: duplicate {what} {tuple(keys.iloc[pos])}" for pos in dup]
