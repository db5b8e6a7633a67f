"""Measured and external forecast series in the store: idempotent upserts and reads.

A row is identified by (series, quantity, interval start[, issue time]); writing a row that is
already stored with the same value changes nothing, a different value replaces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gridctl.store.repository import Store
from gridctl.store.series_models import ExternalForecastValue, MeasuredValue

CHUNK_ROWS = 5000  # rows per executemany call


@dataclass(frozen=True)
class SeriesRow:
    """One canonical row: the mean ``value`` of ``series_id``/``quantity`` over the interval starting
    ``interval_start`` (UTC); ``issued_at`` for forecasts."""

    series_id: str
    quantity: str
    interval_start: datetime
    value: float
    issued_at: datetime | None = None


def _upsert(store: Store, model, keys: list[str], rows: list[dict]) -> int:
    """Insert ``rows``; on a key conflict update only rows whose value differs. Returns rows written."""
    insert = pg_insert if store.engine.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(model)
    stmt = stmt.on_conflict_do_update(index_elements=keys, where=model.value != stmt.excluded.value,
                                      set_={c: stmt.excluded[c] for c in rows[0] if c not in keys}
                                      ).returning(model.id)  # a row per insert or change, none when unchanged
    written = 0
    with store.session.begin() as s:
        conn = s.connection()
        for i in range(0, len(rows), CHUNK_ROWS):  # one compiled statement, executemany
            written += len(conn.execute(stmt, rows[i:i + CHUNK_ROWS]).all())
    return written


def upsert_measured(store: Store, rows: Sequence[SeriesRow], source: str, received_at: datetime) -> int:
    """Store measured interval means in one transaction; returns how many rows were new or changed."""
    data = [{"series_id": r.series_id, "quantity": r.quantity, "interval_start": r.interval_start,
             "value": float(r.value), "source": source, "received_at": received_at} for r in rows]
    return _upsert(store, MeasuredValue, ["series_id", "quantity", "interval_start"], data) if data else 0


def upsert_forecasts(store: Store, rows: Sequence[SeriesRow], source: str) -> int:
    """Store forecast rows (each with ``issued_at``) in one transaction; returns rows new or changed."""
    data = [{"series_id": r.series_id, "quantity": r.quantity, "issued_at": r.issued_at,
             "interval_start": r.interval_start, "value": float(r.value), "source": source} for r in rows]
    keys = ["series_id", "quantity", "issued_at", "interval_start"]
    return _upsert(store, ExternalForecastValue, keys, data) if data else 0


def measured_frame(store: Store, series: Sequence[str], start: datetime | None, end: datetime,
                   quantity: str = "p_kw") -> pd.DataFrame:
    """Wide frame (UTC interval starts x series) of measured values with start <= t < end."""
    stamp = type_coerce(MeasuredValue.interval_start, String)  # parsed below, vectorised (a year is 1 M rows)
    q = select(stamp, MeasuredValue.series_id, MeasuredValue.value).where(
        MeasuredValue.series_id.in_(list(series)), MeasuredValue.quantity == quantity,
        MeasuredValue.interval_start < end)
    if start is not None:
        q = q.where(MeasuredValue.interval_start >= start)
    with store.engine.connect() as conn:  # the driver's rows as they are: 4x faster than Row objects
        long = pd.DataFrame.from_records(conn.execute(q).cursor.fetchall(),
                                         columns=["interval_start", "series_id", "value"])
    long["interval_start"] = pd.to_datetime(long.interval_start, utc=True, format="ISO8601")
    wide = long.pivot(index="interval_start", columns="series_id", values="value")
    wide.index = pd.DatetimeIndex(wide.index, name="interval_start")
    return wide.reindex(columns=list(series)).sort_index()


def measured_at(store: Store, interval_start: datetime, quantity: str = "p_kw") -> dict[str, float]:
    """Every series' measured value of one interval."""
    q = select(MeasuredValue.series_id, MeasuredValue.value).where(
        MeasuredValue.interval_start == interval_start, MeasuredValue.quantity == quantity)
    with store.session() as s:
        return dict(s.execute(q).all())


def forecast_rows(store: Store, series_id: str, issued_before: datetime, start: datetime,
                  end: datetime) -> pd.DataFrame:
    """The newest forecast of ``series_id`` issued at or before ``issued_before`` for intervals in
    [start, end): columns ``value``, ``issued_at`` by interval start (empty when none)."""
    newest = select(func.max(ExternalForecastValue.issued_at)).where(
        ExternalForecastValue.series_id == series_id, ExternalForecastValue.issued_at <= issued_before
    ).scalar_subquery()
    q = select(ExternalForecastValue.interval_start, ExternalForecastValue.value, ExternalForecastValue.issued_at
               ).where(ExternalForecastValue.series_id == series_id, ExternalForecastValue.issued_at == newest,
                       ExternalForecastValue.interval_start >= start, ExternalForecastValue.interval_start < end)
    with store.session() as s:
        frame = pd.DataFrame(s.execute(q).all(), columns=["interval_start", "value", "issued_at"])
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("interval_start"), utc=True), name="interval_start")
    return frame.sort_index()


def measured_rows(store: Store, series_id: str | None, start: datetime | None, end: datetime | None,
                  limit: int = 500) -> list[dict]:
    """Measured rows (oldest first) of one series or all, interval start in [start, end)."""
    q = select(MeasuredValue)
    if series_id is not None:
        q = q.where(MeasuredValue.series_id == series_id)
    if start is not None:
        q = q.where(MeasuredValue.interval_start >= start)
    if end is not None:
        q = q.where(MeasuredValue.interval_start < end)
    with store.session() as s:
        recs = s.scalars(q.order_by(MeasuredValue.interval_start, MeasuredValue.series_id).limit(limit)).all()
    return [{"series_id": r.series_id, "quantity": r.quantity, "interval_start_utc": r.interval_start.isoformat(),
             "value": r.value, "source": r.source} for r in recs]


def forecast_table(store: Store, series_id: str, issued_by: datetime) -> pd.DataFrame:
    """Every forecast of ``series_id`` issued at or before ``issued_by``, one row per (interval start,
    issue) and a column per quantity: index ``interval_start_utc``, column ``issued_at_utc``."""
    q = select(ExternalForecastValue.interval_start, ExternalForecastValue.issued_at, ExternalForecastValue.quantity,
               ExternalForecastValue.value).where(ExternalForecastValue.series_id == series_id,
                                                  ExternalForecastValue.issued_at <= issued_by)
    with store.session() as s:
        long = pd.DataFrame(s.execute(q).all(), columns=["interval_start_utc", "issued_at_utc", "quantity", "value"])
    wide = long.pivot_table(index=["interval_start_utc", "issued_at_utc"], columns="quantity", values="value")
    wide = wide.reset_index(level="issued_at_utc")
    wide.columns.name = None
    wide.index = pd.DatetimeIndex(pd.to_datetime(wide.index, utc=True), name="interval_start_utc")
    wide["issued_at_utc"] = pd.to_datetime(wide.issued_at_utc, utc=True)
    return wide.sort_index(kind="stable")
