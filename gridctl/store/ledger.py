"""The ledger table: append-only, hash-chained rows (never purged by retention)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import func, insert, select

from gridctl.ledger.book import ROW_COLUMNS
from gridctl.ledger.chain import GENESIS, link
from gridctl.store.models import LedgerEntry
from gridctl.store.repository import Store

COMPARED = ["energy_kwh", "import_kwh", "location_kg", "market_kg", "ci_kg_per_kwh", "estimated"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
COLUMNS = ["seq", *ROW_COLUMNS, "version", "booked_at", "prev_hash", "hash"]


def _record(row: dict) -> dict:
    out = {}
    for k, v in row.items():
        if isinstance(v, pd.Timestamp):
            v = v.to_pydatetime()
        elif v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
            v = None
        elif hasattr(v, "item"):
            v = v.item()
        out[k] = v
    return out


def _same(old: LedgerEntry, new: dict) -> bool:
    for k in COMPARED:
        a, b = getattr(old, k), new[k]
        if (a is None) != (b is None) or (a is not None and abs(float(a) - float(b)) > 1e-9):
            return False
    return True


def append(store: Store, rows: pd.DataFrame, booked_at: datetime) -> int:
    """Book ``rows`` (``gridctl.ledger.book.ROW_COLUMNS``); return the number of rows appended.

    A row whose (interval, grouping, group) is already booked with the same figures is skipped
    (re-booking is idempotent); different figures are appended as the next version, the earlier
    versions stay. Each new row is chained to the last one (:mod:`gridctl.ledger.chain`)."""
    if rows.empty:
        return 0
    new = [_record(r) for r in rows.to_dict("records")]
    lo, hi = min(r["interval_start"] for r in new), max(r["interval_start"] for r in new)
    with store.session.begin() as s:
        current: dict[tuple, LedgerEntry] = {}
        for old in s.scalars(select(LedgerEntry).where(LedgerEntry.interval_start.between(lo, hi))
                             .order_by(LedgerEntry.seq)):
            current[(old.interval_start, old.grouping, old.group_id)] = old
        fresh = []
        for r in new:
            old = current.get((r["interval_start"], r["grouping"], r["group_id"]))
            if old is not None and _same(old, r):
                continue
            fresh.append({**r, "version": 1 if old is None else old.version + 1, "booked_at": booked_at})
        last = s.execute(select(LedgerEntry.seq, LedgerEntry.hash).order_by(LedgerEntry.seq.desc()).limit(1)).first()
        link(fresh, last.seq if last else 0, last.hash if last else GENESIS)
        if fresh:
            s.execute(insert(LedgerEntry), fresh)
    return len(fresh)


def chained_rows(store: Store, batch: int = 5000) -> Iterator[dict]:
    """Every ledger row in ``seq`` order, as plain dicts (for :func:`gridctl.ledger.chain.verify`)."""
    with store.session() as s:
        for rec in s.scalars(select(LedgerEntry).order_by(LedgerEntry.seq).execution_options(yield_per=batch)):
            yield {c: getattr(rec, c) for c in COLUMNS}


def entries(store: Store, start: datetime, end: datetime, current_only: bool = True,
            grouping: str | None = None) -> pd.DataFrame:
    """Rows with ``start <= interval_start < end`` (only each key's newest version by default; one
    grouping's only with ``grouping``)."""
    q = select(LedgerEntry).where(LedgerEntry.interval_start >= start, LedgerEntry.interval_start < end)
    if grouping is not None:
        q = q.where(LedgerEntry.grouping == grouping)
    with store.session() as s:
        recs = s.scalars(q.order_by(LedgerEntry.seq))
        frame = pd.DataFrame([{c: getattr(r, c) for c in COLUMNS} for r in recs], columns=COLUMNS)
    if current_only and not frame.empty:
        frame = frame.sort_values("seq").drop_duplicates(["interval_start", "grouping", "group_id"], keep="last")
    if not frame.empty:
        frame["interval_start"] = pd.to_datetime(frame.interval_start, utc=True)
    return frame.reset_index(drop=True)


def instrument_use_kwh(store: Store, before: datetime) -> dict[str, float]:
    """kWh each contractual instrument has covered in current district rows before ``before``."""
    rows = entries(store, EPOCH, before)
    used: dict[str, float] = {}
    for inputs in rows.loc[rows.grouping == "district", "inputs"] if not rows.empty else []:
        for inst, kwh in (inputs or {}).get("instruments_kwh", {}).items():
            used[inst] = used.get(inst, 0.0) + kwh
    return used


def row_count(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(LedgerEntry)) or 0)
