"""Seeding the store's measured series from the configured history (``[measurements] seed_history``).

On first start the daemon copies the configured history (``[data] history``: the demo's profiles
or a CSV) into ``measured_series`` up to its now on the data clock, so the forecasters train on
the store alone; measurements extend it from there. Seeding is idempotent: per series only rows
after the newest seeded one are offered, and an interval the store already holds (a measurement)
is kept, never overwritten; so a restart fills what the history holds of the time since the last
seed, and a second run inserts nothing. Rows go in one
series per transaction (progress logged), through ``COPY`` on PostgreSQL (psycopg) and a
multi-row ``INSERT ... ON CONFLICT DO NOTHING`` elsewhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import func, select, text

from gridctl.store.repository import Store
from gridctl.store.series_models import MeasuredValue

log = logging.getLogger(__name__)
SOURCE = "seed"
COLUMNS = ("series_id", "quantity", "interval_start", "value", "source", "received_at")


def newest_seeded(store: Store, series: Sequence[str], quantity: str = "p_kw") -> dict[str, pd.Timestamp]:
    """The newest seeded interval start of each of ``series`` that has seeded rows."""
    q = select(MeasuredValue.series_id, func.max(MeasuredValue.interval_start)).where(
        MeasuredValue.series_id.in_(list(series)), MeasuredValue.quantity == quantity, MeasuredValue.source == SOURCE
    ).group_by(MeasuredValue.series_id)
    with store.session() as s:
        return {k: pd.Timestamp(v).tz_localize("UTC") if pd.Timestamp(v).tz is None else pd.Timestamp(v)
                for k, v in s.execute(q).all()}


def pending(history: pd.DataFrame, newest: dict[str, pd.Timestamp], data_now: pd.Timestamp,
            resolution_min: int) -> dict[str, pd.Series]:
    """Per series, the history's values of intervals ended by ``data_now`` and after ``newest``."""
    ended = history.loc[history.index + pd.Timedelta(minutes=resolution_min) <= data_now]
    out = {}
    for series in ended.columns:
        values = ended[series].dropna()
        if series in newest:
            values = values.loc[values.index > newest[series]]
        if len(values):
            out[series] = values
    return out


def seed_history(store: Store, history: pd.DataFrame, data_now: pd.Timestamp, resolution_min: int,
                 received_at: datetime) -> int:
    """Copy the rows of ``history`` (wide, kW) ended by ``data_now`` and not seeded yet into the
    measured series (stored intervals kept); returns the rows offered (0 when seeded already)."""
    todo = pending(history, newest_seeded(store, list(history.columns)), data_now, resolution_min)
    total, done, t0 = sum(len(v) for v in todo.values()), 0, time.perf_counter()
    if not total:
        log.info("store already seeded with the configured history up to %s", data_now.isoformat())
        return 0
    log.info("seeding the store with %d history rows of %d series up to %s", total, len(todo), data_now.isoformat())
    insert = _copy if store.engine.dialect.name == "postgresql" else _insert
    for i, (series, values) in enumerate(todo.items(), 1):
        insert(store, series, values, received_at)
        done += len(values)
        log.info("seeded %s: %d rows (%d of %d series, %d of %d rows, %.1f s)", series, len(values), i,
                 len(todo), done, total, time.perf_counter() - t0)
    return done


def _epochs(index: pd.DatetimeIndex) -> list[int]:
    """UTC interval starts as whole seconds since 1970 (the database formats them: formatting a
    year of stamps in Python costs more than inserting them)."""
    return (index.tz_convert("UTC").asi8 // 1_000_000_000).tolist()


def _naive_utc(t: datetime) -> datetime:
    """``t`` as the store keeps times: naive UTC (:class:`gridctl.store.models.UtcDateTime`)."""
    return pd.Timestamp(t).tz_convert("UTC").tz_localize(None).to_pydatetime()


def _insert(store: Store, series: str, values: pd.Series, received_at: datetime) -> None:
    """One series' rows in one transaction (SQLite: ``executemany`` on the driver, duplicates
    skipped; stamps in SQLAlchemy's SQLite storage format, ``2016-01-01 00:15:00.000000``)."""
    received = _naive_utc(received_at).strftime("%Y-%m-%d %H:%M:%S.%f")
    with store.engine.begin() as conn:
        conn.connection.driver_connection.executemany(
            f"INSERT OR IGNORE INTO measured_series ({', '.join(COLUMNS)}) VALUES (?, 'p_kw', "
            f"strftime('%Y-%m-%d %H:%M:%S', ?, 'unixepoch') || '.000000', ?, '{SOURCE}', ?)",
            zip([series] * len(values), _epochs(values.index), values.to_numpy(dtype=float).tolist(),
                [received] * len(values), strict=True))


def _copy(store: Store, series: str, values: pd.Series, received_at: datetime) -> None:
    """One series' rows in one transaction on PostgreSQL: ``COPY`` of (epoch seconds, value) into a
    temporary table, then inserted where not stored yet."""
    buffer = "".join(f"{t},{v!r}\n" for t, v in zip(_epochs(values.index), values.to_numpy(dtype=float).tolist(),
                                                   strict=True))
    with store.engine.begin() as conn:
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute("SET LOCAL statement_timeout = 0")  # a year of one series takes longer than a write
        cursor.execute("CREATE TEMPORARY TABLE seed_rows (epoch_s bigint, value double precision) ON COMMIT DROP")
        with cursor.copy("COPY seed_rows (epoch_s, value) FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(buffer)
        conn.execute(text(f"INSERT INTO measured_series ({', '.join(COLUMNS)}) SELECT :series, 'p_kw', "
                          f"to_timestamp(epoch_s) AT TIME ZONE 'UTC', value, '{SOURCE}', :received FROM seed_rows "
                          "ON CONFLICT DO NOTHING"), {"series": series, "received": _naive_utc(received_at)})
