"""``POST /api/measurements``: batches of measured rows into the store (token-protected)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import AwareDatetime, BaseModel, Field

from gridctl.api.auth import require_token
from gridctl.external_forecasts import ingest_forecasts
from gridctl.measurements import BatchError, catalogue, ingest, latest_start
from gridctl.store.series import measured_rows

if TYPE_CHECKING:
    from gridctl.daemon import Daemon

MAX_ROWS = 50_000


class MeasurementBatch(BaseModel):
    """Rows ``{"series_id", "quantity", "interval_start_utc", "value"}``: the measured mean of the
    interval starting then (UTC, data clock)."""

    rows: list[dict[str, Any]] = Field(max_length=MAX_ROWS)


def measurements_router(daemon: Daemon) -> APIRouter:
    """The measurement routes of one running daemon."""
    router = APIRouter(tags=["write"])
    district = daemon.district
    known = catalogue(daemon.config, district.load_series, district.pv_series)

    @router.post("/api/measurements", dependencies=[Depends(require_token)])
    def post_measurements(batch: MeasurementBatch) -> dict:
        """Store a batch (idempotent: a resent batch changes nothing). Any bad row: 422 naming every
        bad row, and nothing of the batch is stored."""
        now = daemon.clock.now()
        latest = latest_start(daemon.config, daemon.clock.data_time(now))
        try:
            written = ingest(daemon.store, batch.rows, known, daemon.config.site.resolution_min, latest, "api",
                             now.to_pydatetime())
        except BatchError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.problems) from None
        return {"rows": len(batch.rows), "written": written}

    @router.post("/api/forecasts", dependencies=[Depends(require_token)])
    def post_forecasts(batch: MeasurementBatch) -> dict:
        """Store a forecast handed in from outside: rows as for measurements plus ``issued_at_utc``,
        for the series of ``[forecast_sources] external`` (422 naming every bad row, nothing stored)."""
        now = daemon.clock.now()
        try:
            written = ingest_forecasts(daemon.store, batch.rows, daemon.config, daemon.clock.data_time(now), "api")
        except BatchError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.problems) from None
        return {"rows": len(batch.rows), "written": written}

    @router.get("/api/measurements", tags=["read"])
    def get_measurements(series_id: str | None = None, start: AwareDatetime | None = None,
                         end: AwareDatetime | None = None,
                         limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 500) -> dict:
        """Measured series (interval starts on the data clock), oldest first."""
        return {"items": measured_rows(daemon.store, series_id, start, end, limit)}

    return router
