"""Typed errors for bad input data, and reading a CSV file as text for row-by-row checks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


class DataError(Exception):
    """Bad input data; ``problems`` holds one line per problem (file, row, column, what is wrong)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems[:20]) + (f"\n... {len(problems) - 20} more" if len(problems) > 20 else ""))


def read_text_csv(path: str | Path, what: str) -> pd.DataFrame:
    """Every cell of a CSV file as text (nothing parsed, nothing taken for missing); a missing file
    raises :class:`DataError` naming ``what`` it should hold."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise DataError([f"{path}: {what} file not found"]) from None
