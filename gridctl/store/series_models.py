"""Tables of measured and externally forecast time series (canonical rows, UTC interval starts).

Interval starts are on the data clock (the wall clock when ``[daemon] data_year = 0``), the axis
the forecasters train on.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridctl.store.models import Base, UtcDateTime


class MeasuredValue(Base):
    """The measured mean of one series over one interval (``quantity``: ``p_kw``, ``ci_kg_per_kwh``...)."""

    __tablename__ = "measured_series"
    __table_args__ = (UniqueConstraint("series_id", "quantity", "interval_start"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[str] = mapped_column(String(128))
    quantity: Mapped[str] = mapped_column(String(32))
    interval_start: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ExternalForecastValue(Base):
    """One value of a forecast handed in from outside (vendor, SCADA, provider), with its issue time."""

    __tablename__ = "external_forecasts"
    __table_args__ = (UniqueConstraint("series_id", "quantity", "issued_at", "interval_start"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[str] = mapped_column(String(128))
    quantity: Mapped[str] = mapped_column(String(32))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    interval_start: Mapped[datetime] = mapped_column(UtcDateTime)
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(32))


Index("ix_measured_series_series_start", MeasuredValue.series_id, MeasuredValue.interval_start)
Index("ix_external_forecasts_series_start", ExternalForecastValue.series_id, ExternalForecastValue.interval_start)
