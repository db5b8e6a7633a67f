"""Append-only hash chain of ledger rows: each row's hash covers its content and the previous
row's hash, so editing, reordering or deleting any row breaks the chain from there on."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import numpy as np

GENESIS = "0" * 64
HASHED = ["seq", "interval_start", "grouping", "group_id", "version", "energy_kwh", "import_kwh",
          "location_kg", "market_kg", "ci_kg_per_kwh", "signal_type", "ci_source", "ci_issued_at",
          "estimated", "method", "inputs", "booked_at"]


def _plain(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def config_hash(config) -> str:
    """SHA-256 of a validated configuration (every key, defaults included) as JSON."""
    return hashlib.sha256(config.model_dump_json().encode("utf-8")).hexdigest()


def row_hash(prev_hash: str, row: Mapping) -> str:
    """SHA-256 of the previous hash and the row's hashed fields as canonical JSON."""
    content = json.dumps({k: _plain(row.get(k)) for k in HASHED}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def link(rows: list[dict], last_seq: int, last_hash: str) -> list[dict]:
    """Number the new rows after ``last_seq`` and chain them to ``last_hash`` (in place; returned)."""
    prev = last_hash
    for i, row in enumerate(rows, start=last_seq + 1):
        row["seq"] = i
        row["prev_hash"] = prev
        row["hash"] = prev = row_hash(prev, row)
    return rows


def _where(row: Mapping) -> str:
    return (f"row seq {row['seq']} ({_plain(row['interval_start'])}, {row['grouping']}/{row['group_id']} "
            f"v{row['version']})")


def verify(rows: Iterable[Mapping]) -> tuple[int, list[str]]:
    """(rows checked, one line per problem) for rows in ``seq`` order."""
    problems: list[str] = []
    prev_seq, prev_hash, n = 0, GENESIS, 0
    for row in rows:
        n += 1
        if row["seq"] != prev_seq + 1:
            problems.append(f"rows seq {prev_seq + 1}..{row['seq'] - 1} are missing (deleted after booking)")
        elif row["prev_hash"] != prev_hash:
            problems.append(f"{_where(row)}: does not follow row seq {prev_seq} (the chain is broken there)")
        if row_hash(row["prev_hash"], row) != row["hash"]:
            problems.append(f"{_where(row)}: content does not match its hash (edited after booking)")
        prev_seq, prev_hash = row["seq"], row["hash"]
    return n, problems
