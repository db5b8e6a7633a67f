"""Tables of the gridctl store (SQLAlchemy 2 declarative models).

Every timestamp is stored as UTC and read back timezone-aware (:class:`UtcDateTime`), so SQLite
(which keeps no zone) and PostgreSQL behave alike. Times are the daemon's wall clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator):
    """Timezone-aware datetime stored as naive UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store only takes timezone-aware times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Measurement(Base):
    """One telemetry value of one asset (``quantity``: ``p_kw``, ``soc_kwh``)."""

    __tablename__ = "measurements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    asset_id: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[str] = mapped_column(String(32))
    value: Mapped[float] = mapped_column(Float)


class ForecastValue(Base):
    """One forecast value (``series``: ``load_kw``, ``pv_kw``, ``ci_kg_per_kwh``) of one interval."""

    __tablename__ = "forecasts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issue_time: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    interval_start: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    series: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)


class PlanRecord(Base):
    """A plan: ``kind`` (day_ahead, intraday, fallback), ``status`` (active, accepted, superseded, failed)."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    issue_time: Mapped[datetime] = mapped_column(UtcDateTime)
    start: Mapped[datetime] = mapped_column(UtcDateTime)
    end: Mapped[datetime] = mapped_column(UtcDateTime)
    excluded: Mapped[list] = mapped_column(JSON, default=list)
    summary: Mapped[dict] = mapped_column(JSON)


class PlanInterval(Base):
    """One row of a plan table: every plan column (``plan.csv`` names) of one interval."""

    __tablename__ = "plan_intervals"
    __table_args__ = (UniqueConstraint("plan_id", "interval_start"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    interval_start: Mapped[datetime] = mapped_column(UtcDateTime)
    values: Mapped[dict] = mapped_column(JSON)


class SetpointRecord(Base):
    """A setpoint write: what the plan asked, what was written after clamping, what was read back."""

    __tablename__ = "setpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    interval_start: Mapped[datetime] = mapped_column(UtcDateTime)
    asset_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    requested_kw: Mapped[float] = mapped_column(Float)
    written_kw: Mapped[float | None] = mapped_column(Float, nullable=True)
    readback_kw: Mapped[float | None] = mapped_column(Float, nullable=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class EventRecord(Base):
    """An event or alarm (``severity``: info, warning, alarm)."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    severity: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    asset_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    message: Mapped[str] = mapped_column(Text)


class EmissionsRecord(Base):
    """Emissions ledger: energy (kWh, load-referenced) and emissions (kg) of one asset in one interval.

    ``asset_id`` ``grid`` is the district's import; asset rows are the grid emissions caused
    (charging, positive) or displaced (discharging, negative) by that asset.
    """

    __tablename__ = "emissions"
    __table_args__ = (UniqueConstraint("interval_start", "asset_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interval_start: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    asset_id: Mapped[str] = mapped_column(String(64))
    energy_kwh: Mapped[float] = mapped_column(Float)
    ci_kg_per_kwh: Mapped[float] = mapped_column(Float)
    emissions_kg: Mapped[float] = mapped_column(Float)


class OverrideRecord(Base):
    """A manual override: hold ``p_kw`` on an asset until ``until`` (or until released)."""

    __tablename__ = "overrides"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[str] = mapped_column(String(64), index=True)
    p_kw: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    until: Mapped[datetime] = mapped_column(UtcDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


Index("ix_measurements_asset_ts", Measurement.asset_id, Measurement.ts)
Index("ix_setpoints_asset_ts", SetpointRecord.asset_id, SetpointRecord.ts)


class LedgerEntry(Base):
    """One booked ledger row (append-only, hash-chained; see :mod:`gridctl.ledger`).

    ``grouping`` ``district`` holds the Scope 2 figures of the grid connection; other groupings
    (``member``, ``tenant``, ...) attribute them; ``avoided`` holds avoided emissions against a
    baseline. A re-booked interval gets a new row with a higher ``version``; earlier ones stay."""

    __tablename__ = "ledger"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    interval_start: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    grouping: Mapped[str] = mapped_column(String(32))
    group_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    energy_kwh: Mapped[float] = mapped_column(Float)
    import_kwh: Mapped[float] = mapped_column(Float)
    location_kg: Mapped[float] = mapped_column(Float)
    market_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    ci_kg_per_kwh: Mapped[float] = mapped_column(Float)
    signal_type: Mapped[str] = mapped_column(String(32))
    ci_source: Mapped[str] = mapped_column(Text)
    ci_issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    estimated: Mapped[bool] = mapped_column(Boolean)
    method: Mapped[str] = mapped_column(Text)
    inputs: Mapped[dict] = mapped_column(JSON)
    booked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


Index("ix_ledger_key", LedgerEntry.grouping, LedgerEntry.group_id, LedgerEntry.interval_start)
