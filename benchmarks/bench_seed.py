"""Seeding the store with the demo's history (``[measurements] seed_history``), SQLite and PostgreSQL.

Prints, per backend, the rows and seconds of the first seed (the demo history up to 2016-12-01 on
the data clock), of a second seed (nothing left to insert) and of the daemon's first read of the
seeded history. PostgreSQL is the machine's (``GRIDCTL_TEST_PG_URL``, default db ``test`` on
127.0.0.1:5432) in a schema of its own, dropped afterwards; skipped when not reachable.
"""

import logging
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import text

from gridctl.config import load_config
from gridctl.district import District
from gridctl.store import Store
from gridctl.store.seed import seed_history
from gridctl.store.series import measured_frame

NOW = pd.Timestamp("2016-12-01 00:00", tz="UTC")
PG_URL = os.environ.get("GRIDCTL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _measure(name: str, store: Store, history: pd.DataFrame) -> None:
    received = datetime.now(UTC)
    t0 = time.perf_counter()
    rows = seed_history(store, history, NOW, 15, received)
    t1 = time.perf_counter()
    again = seed_history(store, history, NOW, 15, received)
    t2 = time.perf_counter()
    read = measured_frame(store, list(history.columns), None, NOW.to_pydatetime())
    t3 = time.perf_counter()
    print(f"{name}: seeded {rows} rows ({history.shape[1]} series) in {t1 - t0:.1f} s "
          f"({rows / (t1 - t0):,.0f} rows/s); second seed {again} rows in {t2 - t1:.2f} s; "
          f"read back {read.size} values in {t3 - t2:.1f} s")


def _postgres(history: pd.DataFrame) -> None:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            schema = f"gridctl_bench_{uuid.uuid4().hex[:8]}"
            conn.execute(f"CREATE SCHEMA {schema}")
    except Exception as exc:  # noqa: BLE001 - any failure: not reachable here
        print(f"PostgreSQL: skipped ({PG_URL} not reachable: {exc})")
        return
    store = Store(f"{PG_URL}?options=-csearch_path%3D{schema}")
    try:
        _measure("PostgreSQL (COPY)", store, history)
    finally:
        with store.engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        store.close()


def main() -> None:
    logging.getLogger("gridctl.store.seed").setLevel(logging.WARNING)
    history = District.load(load_config()).history
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.sqlite")
        try:
            _measure("SQLite (executemany)", store, history)
        finally:
            store.close()
    _postgres(history)


if __name__ == "__main__":
    main()
