"""Tables of the grid operator's OpenADR events (every version received) and the reports posted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from gridctl.store.models import Base, UtcDateTime
from gridctl.store.repository import Store


class OpenAdrEvent(Base):
    """One version of an OpenADR 3 event: its id, program, when the VTN issued it, the event object."""

    __tablename__ = "openadr_events"
    __table_args__ = (UniqueConstraint("event_id", "version_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), index=True)
    program_id: Mapped[str] = mapped_column(String(128))
    version_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    event: Mapped[dict] = mapped_column(JSON)


class OpenAdrReport(Base):
    """A report posted to the VTN: event, reading type (``FORECAST``: planned, ``DIRECT_READ``:
    measured), the VTN's report id and the report object."""

    __tablename__ = "openadr_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), index=True)
    reading_type: Mapped[str] = mapped_column(String(32))
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    report_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    report: Mapped[dict] = mapped_column(JSON)


def add_event(store: Store, event: dict, version_at: datetime, received_at: datetime) -> bool:
    """Store one event version; False when that version is stored already."""
    with store.session.begin() as s:
        if s.scalar(select(OpenAdrEvent.id).where(OpenAdrEvent.event_id == event["id"],
                                                  OpenAdrEvent.version_at == version_at)) is not None:
            return False
        s.add(OpenAdrEvent(event_id=event["id"], program_id=event["programID"], version_at=version_at,
                           received_at=received_at, event=event))
        return True


def add_report(store: Store, event_id: str, reading_type: str, posted_at: datetime, report_id: str | None,
               report: dict) -> None:
    """Store a report posted to the VTN."""
    with store.session.begin() as s:
        s.add(OpenAdrReport(event_id=event_id, reading_type=reading_type, posted_at=posted_at,
                            report_id=report_id, report=report))


def events(store: Store) -> list[dict]:
    """Every stored event version, oldest first, with its reports."""
    with store.session() as s:
        reports: dict[str, list[dict]] = {}
        for r in s.scalars(select(OpenAdrReport).order_by(OpenAdrReport.posted_at)):
            reports.setdefault(r.event_id, []).append(
                {"reading_type": r.reading_type, "posted_at": r.posted_at.isoformat(), "report_id": r.report_id})
        return [{"event_id": e.event_id, "program_id": e.program_id, "version_at": e.version_at.isoformat(),
                 "received_at": e.received_at.isoformat(), "event": e.event, "reports": reports.get(e.event_id, [])}
                for e in s.scalars(select(OpenAdrEvent).order_by(OpenAdrEvent.version_at, OpenAdrEvent.id))]
