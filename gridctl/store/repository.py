"""Reading and writing the store (one short transaction per call)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from gridctl.store.db import DEFAULT_TIMEOUTS, Timeouts, make_engine, migrate
from gridctl.store.models import (
    EmissionsRecord,
    EventRecord,
    ForecastValue,
    Measurement,
    OverrideRecord,
    PlanInterval,
    PlanRecord,
    SetpointRecord,
)

# table name -> (model, time column) for the time-ranged read endpoints
TABLES = {
    "measurements": (Measurement, Measurement.ts),
    "forecasts": (ForecastValue, ForecastValue.interval_start),
    "setpoints": (SetpointRecord, SetpointRecord.ts),
    "events": (EventRecord, EventRecord.ts),
    "emissions": (EmissionsRecord, EmissionsRecord.interval_start),
    "plans": (PlanRecord, PlanRecord.created_at),
}
IN_FLIGHT = "in flight"  # error of a setpoint recorded before its write, until the result is recorded
NO_RESULT = "no result recorded: the daemon stopped during the write"


@dataclass
class Page:
    """One page of a time-ranged query."""

    items: list[dict]
    total: int
    limit: int
    offset: int


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _row(obj) -> dict:
    out = {}
    for col in obj.__table__.columns:
        v = getattr(obj, col.key)
        out[col.key] = v.isoformat() if isinstance(v, datetime) else v
    return out


class Store:
    """Persistence of the daemon; SQLite (WAL) or PostgreSQL."""

    def __init__(self, url: str, base_dir: Path = Path("."), timeouts: Timeouts = DEFAULT_TIMEOUTS):
        self.engine = make_engine(url, base_dir, timeouts)
        migrate(self.engine)
        self.session = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return False

    # -- writing -------------------------------------------------------------------------------
    def add_measurements(self, ts: datetime, values: Mapping[str, Mapping[str, float]]) -> None:
        """Store ``values[asset_id][quantity]`` measured at ``ts``."""
        rows = [
            Measurement(ts=ts, asset_id=a, quantity=q, value=float(v))
            for a, qs in values.items() for q, v in qs.items() if _finite(v) is not None
        ]
        with self.session.begin() as s:
            s.add_all(rows)

    def add_forecast(self, issue_time: datetime, frame: pd.DataFrame) -> None:
        """Store a forecast frame (index: interval starts, columns: series names)."""
        rows = [
            ForecastValue(issue_time=issue_time, interval_start=t.to_pydatetime(), series=col, value=float(v))
            for col in frame.columns for t, v in frame[col].items() if _finite(v) is not None
        ]
        with self.session.begin() as s:
            s.add_all(rows)

    def add_plan(self, kind: str, issue_time: datetime, table: pd.DataFrame, summary: dict,
                 excluded: Iterable[str] = (), now: datetime | None = None) -> int:
        """Store a plan (``table`` indexed by interval start) and return its version.

        An ``intraday`` or ``fallback`` plan becomes ``active`` and the previous active plan
        ``superseded``; a ``day_ahead`` plan is ``accepted``.
        """
        now = now or datetime.now(tz=issue_time.tzinfo)
        status = "accepted" if kind == "day_ahead" else "active"
        with self.session.begin() as s:
            version = (s.scalar(select(func.max(PlanRecord.version))) or 0) + 1
            if status == "active":
                s.execute(update(PlanRecord).where(PlanRecord.status == "active").values(status="superseded"))
            rec = PlanRecord(version=version, kind=kind, status=status, created_at=now, issue_time=issue_time,
                             start=table.index[0].to_pydatetime(), end=table.index[-1].to_pydatetime(),
                             excluded=sorted(excluded), summary=summary)
            s.add(rec)
            s.flush()
            s.add_all(
                PlanInterval(plan_id=rec.id, interval_start=t.to_pydatetime(),
                             values={k: _finite(v) for k, v in row.items()})
                for t, row in zip(table.index, table.to_dict("records"))
            )
        return version

    def add_failed_plan(self, kind: str, issue_time: datetime, now: datetime, reason: str) -> int:
        """Record a planning attempt that produced no plan."""
        with self.session.begin() as s:
            version = (s.scalar(select(func.max(PlanRecord.version))) or 0) + 1
            s.add(PlanRecord(version=version, kind=kind, status="failed", created_at=now, issue_time=issue_time,
                             start=issue_time, end=issue_time, excluded=[], summary={"error": reason}))
        return version

    def add_setpoint(self, ts: datetime, interval_start: datetime, asset_id: str, source: str,
                     requested_kw: float, written_kw: float | None, readback_kw: float | None,
                     ok: bool, error: str | None = None) -> None:
        with self.session.begin() as s:
            s.add(SetpointRecord(ts=ts, interval_start=interval_start, asset_id=asset_id, source=source,
                                 requested_kw=requested_kw, written_kw=written_kw, readback_kw=readback_kw,
                                 ok=ok, error=error))

    def finish_setpoint(self, ts: datetime, asset_id: str, readback_kw: float | None, ok: bool,
                        error: str | None = None) -> None:
        """The result of the write recorded (as intent) at ``ts``: read-back, ok, error."""
        with self.session.begin() as s:
            s.execute(update(SetpointRecord).where(SetpointRecord.ts == ts, SetpointRecord.asset_id == asset_id)
                      .values(readback_kw=readback_kw, ok=ok, error=error))

    def close_pending_setpoints(self) -> int:
        """Writes whose result was never recorded (the process stopped during them): marked as such.
        Run at start, after the journal's earlier records and before any new write's."""
        with self.session.begin() as s:
            return s.execute(update(SetpointRecord).where(SetpointRecord.error == IN_FLIGHT)
                             .values(error=NO_RESULT)).rowcount

    def add_event(self, ts: datetime, severity: str, kind: str, message: str, asset_id: str | None = None) -> None:
        with self.session.begin() as s:
            s.add(EventRecord(ts=ts, severity=severity, kind=kind, asset_id=asset_id, message=message))

    def put_emissions(self, interval_start: datetime, rows: Mapping[str, tuple[float, float]]) -> None:
        """Ledger of one interval: ``rows[asset_id] = (energy_kwh, ci_kg_per_kwh)``; replaces earlier rows."""
        with self.session.begin() as s:
            s.execute(delete(EmissionsRecord).where(EmissionsRecord.interval_start == interval_start))
            s.add_all(
                EmissionsRecord(interval_start=interval_start, asset_id=a, energy_kwh=e, ci_kg_per_kwh=ci,
                                emissions_kg=e * ci)
                for a, (e, ci) in rows.items() if _finite(e) is not None and _finite(ci) is not None
            )

    def add_override(self, asset_id: str, p_kw: float, until: datetime, now: datetime) -> int:
        """Hold ``p_kw`` on ``asset_id`` until ``until``; replaces the asset's current override."""
        with self.session.begin() as s:
            self._release(s, asset_id, now)
            rec = OverrideRecord(asset_id=asset_id, p_kw=p_kw, created_at=now, until=until)
            s.add(rec)
            s.flush()
            return rec.id

    def release_override(self, asset_id: str, now: datetime) -> int:
        """Release the asset's override; returns how many were released."""
        with self.session.begin() as s:
            return self._release(s, asset_id, now)

    @staticmethod
    def _release(s: Session, asset_id: str, now: datetime) -> int:
        res = s.execute(
            update(OverrideRecord)
            .where(OverrideRecord.asset_id == asset_id, OverrideRecord.released_at.is_(None),
                   OverrideRecord.until > now)
            .values(released_at=now)
        )
        return res.rowcount

    def purge(self, before: datetime) -> int:
        """Retention: delete rows older than ``before`` (plans: those that ended before it)."""
        n = 0
        with self.session.begin() as s:
            for model, col in TABLES.values():
                if model is PlanRecord:
                    old = select(PlanRecord.id).where(PlanRecord.end < before)
                    n += s.execute(delete(PlanInterval).where(PlanInterval.plan_id.in_(old))).rowcount
                    n += s.execute(delete(PlanRecord).where(PlanRecord.end < before)).rowcount
                else:
                    n += s.execute(delete(model).where(col < before)).rowcount
            n += s.execute(delete(OverrideRecord).where(OverrideRecord.until < before)).rowcount
        return n

    # -- reading -------------------------------------------------------------------------------
    def page(self, table: str, start: datetime | None = None, end: datetime | None = None,
             limit: int = 500, offset: int = 0, **equal) -> Page:
        """Rows of ``table`` with time in [start, end), oldest first, filtered by column equality."""
        model, col = TABLES[table]
        q = select(model)
        if start is not None:
            q = q.where(col >= start)
        if end is not None:
            q = q.where(col < end)
        for key, value in equal.items():
            if value is not None:
                q = q.where(getattr(model, key) == value)
        with self.session() as s:
            total = s.scalar(select(func.count()).select_from(q.subquery()))
            items = s.scalars(q.order_by(col, model.id).limit(limit).offset(offset)).all()
        return Page([_row(r) for r in items], total, limit, offset)

    def plan_view(self, start: datetime, end: datetime) -> pd.DataFrame:
        """Each interval in [start, end) as last planned: the row of the valid plan with the latest
        issue time (then version) that covers it. Adds a ``plan_version`` column."""
        q = (
            select(PlanInterval.interval_start, PlanInterval.values, PlanRecord.version)
            .join(PlanRecord, PlanInterval.plan_id == PlanRecord.id)
            .where(PlanRecord.status != "failed", PlanInterval.interval_start >= start,
                   PlanInterval.interval_start < end)
            .order_by(PlanRecord.issue_time, PlanRecord.version)
        )
        latest: dict[datetime, dict] = {}
        with self.session() as s:
            for t, values, version in s.execute(q):
                latest[t] = {**values, "plan_version": version}
        if not latest:
            return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="interval_start"))
        frame = pd.DataFrame.from_dict(latest, orient="index").sort_index()
        frame.index = pd.DatetimeIndex(frame.index, name="interval_start").tz_convert("UTC")
        return frame

    def plan_row(self, at: datetime) -> tuple[int, dict] | None:
        """(version, values) of the valid plan with the latest issue time that covers interval ``at``."""
        q = (
            select(PlanRecord.version, PlanInterval.values)
            .join(PlanRecord, PlanInterval.plan_id == PlanRecord.id)
            .where(PlanRecord.status != "failed", PlanInterval.interval_start == at)
            .order_by(PlanRecord.issue_time.desc(), PlanRecord.version.desc())
            .limit(1)
        )
        with self.session() as s:
            row = s.execute(q).first()
        return None if row is None else (row[0], row[1])

    def latest_plan(self, kind: str | None = None) -> dict | None:
        """The newest plan record (any status) as a dict, optionally of one kind."""
        q = select(PlanRecord).order_by(PlanRecord.version.desc()).limit(1)
        if kind:
            q = q.where(PlanRecord.kind == kind)
        with self.session() as s:
            rec = s.scalars(q).first()
        return None if rec is None else _row(rec)

    def active_overrides(self, now: datetime) -> dict[str, dict]:
        """Overrides in force at ``now`` by asset id."""
        q = select(OverrideRecord).where(OverrideRecord.released_at.is_(None), OverrideRecord.until > now)
        with self.session() as s:
            return {r.asset_id: _row(r) for r in s.scalars(q.order_by(OverrideRecord.id))}

    def mean_measurement(self, asset_id: str, quantity: str, start: datetime, end: datetime) -> float | None:
        """Mean of an asset's measurements in [start, end), None when there are none."""
        q = select(func.avg(Measurement.value)).where(
            Measurement.asset_id == asset_id, Measurement.quantity == quantity,
            Measurement.ts >= start, Measurement.ts < end)
        with self.session() as s:
            v = s.scalar(q)
        return None if v is None else float(v)

    def emissions_total(self, start: datetime, end: datetime, asset_id: str = "grid") -> float:
        with self.session() as s:
            v = s.scalar(select(func.sum(EmissionsRecord.emissions_kg)).where(
                EmissionsRecord.asset_id == asset_id, EmissionsRecord.interval_start >= start,
                EmissionsRecord.interval_start < end))
        return float(v or 0.0)

    def counts(self) -> dict[str, int]:
        """Rows per table (health and tests)."""
        with self.session() as s:
            out = {name: s.scalar(select(func.count()).select_from(m)) for name, (m, _) in TABLES.items()}
            out["plan_intervals"] = s.scalar(select(func.count()).select_from(PlanInterval))
        return out

    def ids(self, table: str) -> set[int]:
        """Primary keys of every row of ``table``."""
        model, _ = TABLES[table]
        with self.session() as s:
            return set(s.scalars(select(model.id)))
