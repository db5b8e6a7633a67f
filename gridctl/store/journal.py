"""The local record journal: an append-only SQLite file (WAL) where every record waits, in order,
until the store has it. A record appended here survives SIGKILL of the process."""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from datetime import datetime
from pathlib import Path

import pandas as pd


def encode(value):
    """JSON-ready form of a store call's argument: aware datetimes, frames with a time index, sets."""
    if isinstance(value, datetime):
        return {"$t": value.isoformat()}
    if isinstance(value, pd.DataFrame):
        cells = [[None if isinstance(v, float) and not math.isfinite(v) else v for v in row]
                 for row in value.astype(object).where(value.notna(), None).values.tolist()]
        return {"$frame": {"index": [t.isoformat() for t in value.index], "name": value.index.name,
                           "columns": [str(c) for c in value.columns], "data": cells}}
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else [encode(v) for v in value]
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def decode(value):
    """Inverse of :func:`encode`."""
    if isinstance(value, dict):
        if "$t" in value:
            return datetime.fromisoformat(value["$t"])
        if "$frame" in value:
            f = value["$frame"]
            index = pd.DatetimeIndex(pd.to_datetime(f["index"], utc=True), name=f["name"])
            return pd.DataFrame(f["data"], index=index, columns=f["columns"], dtype=float)
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


class Journal:
    """Records ``(seq, method, args)`` in append order; at most ``max_records`` of the kinds that
    may be dropped (``critical=False``), without bound for critical ones (setpoints, events, plans).

    One connection shared by the appending thread and the draining thread behind a lock; each
    statement is short and local, so neither waits long."""

    def __init__(self, path: Path, max_records: int = 200_000):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_records = max_records
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")  # a committed append survives kill -9
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS records (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                         "method TEXT NOT NULL, args TEXT NOT NULL, critical INTEGER NOT NULL)")
        self._lock = threading.Lock()
        self._count = self._db.execute("SELECT count(*) FROM records").fetchone()[0]
        self.dropped = 0

    def __len__(self) -> int:
        return self._count

    def append(self, method: str, args: list, critical: bool = True) -> int | None:
        """Append a record; None (and counted in ``dropped``) when full and not critical."""
        text = json.dumps(encode(args))
        with self._lock:
            if not critical and self._count >= self.max_records:
                self.dropped += 1
                return None
            seq = self._db.execute("INSERT INTO records (method, args, critical) VALUES (?, ?, ?)",
                                   (method, text, int(critical))).lastrowid
            self._count += 1
        return seq

    def head(self, n: int = 100) -> list[tuple[int, str, list]]:
        """The oldest ``n`` records."""
        with self._lock:
            rows = self._db.execute("SELECT seq, method, args FROM records ORDER BY seq LIMIT ?", (n,)).fetchall()
        return [(seq, method, decode(json.loads(args))) for seq, method, args in rows]

    def remove(self, seq: int) -> None:
        """Forget record ``seq`` (the store has it)."""
        with self._lock:
            self._count -= self._db.execute("DELETE FROM records WHERE seq = ?", (seq,)).rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()
