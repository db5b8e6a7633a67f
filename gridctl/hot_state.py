"""What control and the hot API reads need, held in memory so that neither waits on the store:
plan rows by interval, the newest plan record, overrides in force, measured mean power per asset
and interval, and the grid's emissions per interval. Loaded from the store once at start."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime

import pandas as pd

from gridctl.store import Store

KEEP = pd.Timedelta(days=3)  # intervals older than this (before now) are forgotten


def _values(row: dict) -> dict:
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()}


class HotState:
    """In-memory mirror of the daemon's recent records (times are aware UTC datetimes)."""

    def __init__(self, res: pd.Timedelta):
        self.res = res
        self.plans: dict[pd.Timestamp, tuple[int, dict]] = {}  # interval start -> (version, values)
        self.latest: dict | None = None  # newest plan record (any status)
        self.version = 0
        self.since: pd.Timestamp | None = None  # plans are held from here on (None: not loaded)
        self.overrides: dict[str, dict] = {}
        self.emissions: dict[pd.Timestamp, float] = {}  # grid kg by interval start
        self._power: dict[tuple[str, pd.Timestamp], list[float]] = defaultdict(lambda: [0.0, 0])

    def load(self, store: Store, now: pd.Timestamp) -> None:
        """Plans, overrides and the ledger from ``now - KEEP`` on (the store's newest plan wins)."""
        start, end = (now - KEEP).to_pydatetime(), (now + KEEP).to_pydatetime()
        self.since = now - KEEP
        view = store.plan_view(start, end)
        for t, row in zip(view.index, view.to_dict("records")):
            version = int(row.pop("plan_version"))
            self.plans[t] = (version, _values(row))
        self.latest = store.latest_plan()
        self.version = self.latest["version"] if self.latest else 0
        self.overrides = store.active_overrides(now.to_pydatetime())
        for r in store.page("emissions", start, None, limit=1_000_000, asset_id="grid").items:
            self.emissions[pd.Timestamp(r["interval_start"])] = r["emissions_kg"]

    # -- plans ---------------------------------------------------------------------------------
    def add_plan(self, kind: str, now: pd.Timestamp, table: pd.DataFrame, summary: dict,
                 excluded: set[str]) -> int:
        """A new plan's rows (newest wins) and record; returns the version the store gives it."""
        self.version += 1
        for t, row in zip(table.index, table.to_dict("records")):
            self.plans[pd.Timestamp(t).tz_convert("UTC")] = (self.version, _values(row))
        iso = now.isoformat()
        self.latest = {"version": self.version, "kind": kind, "status": "accepted" if kind == "day_ahead" else "active",
                       "created_at": iso, "issue_time": iso, "start": table.index[0].isoformat(),
                       "end": table.index[-1].isoformat(), "excluded": sorted(excluded), "summary": summary}
        return self.version

    def add_failed_plan(self, kind: str, now: pd.Timestamp, reason: str) -> None:
        self.version += 1
        iso = now.isoformat()
        self.latest = {"version": self.version, "kind": kind, "status": "failed", "created_at": iso,
                       "issue_time": iso, "start": iso, "end": iso, "excluded": [], "summary": {"error": reason}}

    def plan_row(self, at: pd.Timestamp) -> tuple[int, dict] | None:
        return self.plans.get(at.tz_convert("UTC"))

    def plan_view(self, start: datetime, end: datetime) -> pd.DataFrame | None:
        """Like :meth:`Store.plan_view` when [start, end) lies in the held window, else None."""
        s, e = pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC")
        if self.since is None or s < self.since:
            return None
        rows = {t: {**v, "plan_version": ver} for t, (ver, v) in sorted(self.plans.items()) if s <= t < e}
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index = pd.DatetimeIndex(frame.index, name="interval_start", tz="UTC")
        return frame

    # -- overrides -----------------------------------------------------------------------------
    def active_overrides(self, now: pd.Timestamp) -> dict[str, dict]:
        return {k: o for k, o in self.overrides.items() if pd.Timestamp(o["until"]) > now}

    # -- measurements and ledger ---------------------------------------------------------------
    def add_power(self, now: pd.Timestamp, p_kw: dict[str, float]) -> None:
        start = now.floor(self.res)
        for asset_id, p in p_kw.items():
            if p is not None and math.isfinite(p):
                acc = self._power[(asset_id, start)]
                acc[0] += p
                acc[1] += 1

    def mean_power(self, asset_id: str, start: pd.Timestamp) -> float | None:
        total, n = self._power.get((asset_id, start), (0.0, 0))
        return total / n if n else None

    def emissions_total(self, start: pd.Timestamp, end: pd.Timestamp) -> float:
        return float(sum(v for t, v in self.emissions.items() if start <= t < end))

    def forget_before(self, t: pd.Timestamp) -> None:
        """Drop what is older than ``t``."""
        if self.since is not None:
            self.since = max(self.since, t)
        for key in [k for k in self.plans if k < t]:
            del self.plans[key]
        for key in [k for k in self.emissions if k < t]:
            del self.emissions[key]
        for key in [k for k in self._power if k[1] < t]:
            del self._power[key]
