"""Typed errors for bad input data."""

from __future__ import annotations


class DataError(Exception):
    """Bad input data; ``problems`` holds one line per problem (file, row, column, what is wrong)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems[:20]) + (f"\n... {len(problems) - 20} more" if len(problems) > 20 else ""))
