"""The FastAPI application: health, read endpoints, write endpoints, metrics, dashboard."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
from fastapi import Depends, FastAPI, HTTPException, Query, status
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import AwareDatetime, BaseModel

from gridctl.api.auth import require_token
from gridctl.api.dashboard import dashboard_data
from gridctl.api.measurements import measurements_router

if TYPE_CHECKING:  # the daemon imports the API's metrics
    from gridctl.daemon import Daemon

STATIC = Path(__file__).resolve().parent / "static"
MAX_LIMIT = 5000


class Override(BaseModel):
    """Hold ``p_kw`` (load-referenced kW for storage; output cap kW for PV) until ``until``."""

    p_kw: float
    until: AwareDatetime


class Range:
    """Time range and paging of a read endpoint (ISO 8601 with offset; default: the last 24 h)."""

    def __init__(self, start: AwareDatetime | None = None, end: AwareDatetime | None = None,
                 limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 500,
                 offset: Annotated[int, Query(ge=0)] = 0):
        self.start, self.end, self.limit, self.offset = start, end, limit, offset


def create_app(daemon: Daemon) -> FastAPI:
    """The API of one running daemon."""
    app = FastAPI(title="gridctl", version="0.1.0",
                  description="Microgrid control daemon: plans, telemetry, setpoints, events, emissions.")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    store = daemon.store
    app.include_router(measurements_router(daemon))

    def paged(table: str, r: Range, **equal) -> dict:
        start = r.start or (daemon.clock.now() - pd.Timedelta(days=1)).to_pydatetime()
        page = store.page(table, start, r.end, r.limit, r.offset, **equal)
        return {"items": page.items, "total": page.total, "limit": page.limit, "offset": page.offset}

    @app.get("/health", tags=["status"])
    def health() -> JSONResponse:
        """Liveness (this answer) and readiness: scheduler running, database answering, devices."""
        st = daemon.status()
        ready = st["scheduler"]["running"] and st["database"]["ok"]
        body = {"status": "ok" if ready else "not ready", **st}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/api/plan", tags=["read"])
    def plan(start: AwareDatetime | None = None, end: AwareDatetime | None = None) -> dict:
        """Each interval as last planned (default: today, local day). Columns as in plan.csv."""
        s, e = _day_or(daemon, start, end)
        frame = store.plan_view(s, e)
        items = [{"interval_start": t.isoformat(), **{k: _num(v) for k, v in row.items()}}
                 for t, row in zip(frame.index, frame.to_dict("records"))]
        return {"start": s.isoformat(), "end": e.isoformat(), "latest": store.latest_plan(), "items": items}

    @app.get("/api/plans", tags=["read"])
    def plans(r: Annotated[Range, Depends()], kind: str | None = None, status: str | None = None) -> dict:
        """Plan records (version, kind, status, issue time, summary) created in the range."""
        return paged("plans", r, kind=kind, status=status)

    @app.get("/api/forecasts", tags=["read"])
    def forecasts(r: Annotated[Range, Depends()], series: str | None = None) -> dict:
        """Forecast values by interval start, with their issue time."""
        return paged("forecasts", r, series=series)

    @app.get("/api/telemetry", tags=["read"])
    def telemetry(r: Annotated[Range, Depends()], asset_id: str | None = None, quantity: str | None = None) -> dict:
        """Measurements (p_kw, soc_kwh) per asset."""
        return paged("measurements", r, asset_id=asset_id, quantity=quantity)

    @app.get("/api/setpoints", tags=["read"])
    def setpoints(r: Annotated[Range, Depends()], asset_id: str | None = None) -> dict:
        """Setpoints written: requested, written after clamping, read back."""
        return paged("setpoints", r, asset_id=asset_id)

    @app.get("/api/events", tags=["read"])
    def events(r: Annotated[Range, Depends()], asset_id: str | None = None, severity: str | None = None) -> dict:
        """Events and alarms."""
        return paged("events", r, asset_id=asset_id, severity=severity)

    @app.get("/api/emissions", tags=["read"])
    def emissions(r: Annotated[Range, Depends()], asset_id: str | None = None) -> dict:
        """Emissions ledger per interval and asset (``grid`` = the district's import)."""
        return paged("emissions", r, asset_id=asset_id)

    @app.get("/api/devices", tags=["read"])
    def devices() -> dict:
        """State, rating and override of every device."""
        overrides = store.active_overrides(daemon.clock.now().to_pydatetime())
        return {k: {**st, "rating": vars(daemon.controller.ratings[k]), "override": overrides.get(k)}
                for k, st in daemon.status()["devices"].items()}

    @app.get("/api/dashboard", tags=["read"], include_in_schema=False)
    def dashboard_json() -> dict:
        return dashboard_data(daemon)

    @app.post("/api/override/{asset_id}", tags=["write"], dependencies=[Depends(require_token)])
    async def override(asset_id: str, body: Override) -> dict:
        """Hold a setpoint on one device until ``until`` (written at once, then at every tick)."""
        rating = daemon.controller.ratings.get(asset_id)
        if rating is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"no device {asset_id!r}; devices are {sorted(daemon.controller.ratings)}")
        problem = rating.check(asset_id, body.p_kw)
        now = daemon.clock.now()
        if problem is None and body.until <= now:
            problem = f"until {body.until.isoformat()} is not after now ({now.isoformat()}); give a future time"
        if problem:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem)
        store.add_override(asset_id, body.p_kw, body.until, now.to_pydatetime())
        daemon.event("info", "override", f"{asset_id}: hold {body.p_kw} kW until {body.until.isoformat()}", asset_id)
        await daemon.tick()
        return {"asset_id": asset_id, "p_kw": body.p_kw, "until": body.until.isoformat()}

    @app.delete("/api/override/{asset_id}", tags=["write"], dependencies=[Depends(require_token)])
    async def release(asset_id: str) -> dict:
        """Release a device's override: the plan applies again from now."""
        n = store.release_override(asset_id, daemon.clock.now().to_pydatetime())
        if not n:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no override in force on {asset_id!r}")
        daemon.event("info", "override_released", f"{asset_id}: override released", asset_id)
        await daemon.tick()
        return {"asset_id": asset_id, "released": n}

    @app.post("/api/replan", tags=["write"], status_code=202, dependencies=[Depends(require_token)])
    async def replan() -> dict:
        """Re-optimise the rest of the horizon now."""
        daemon.request_replan("API request")
        return {"accepted": True}

    @app.get("/metrics", tags=["status"])
    def metrics() -> Response:
        """Prometheus metrics."""
        return Response(daemon.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return app


def _num(v):
    return None if isinstance(v, float) and math.isnan(v) else v


def _day_or(daemon: Daemon, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The given range, or the current local day."""
    if start is not None and end is not None:
        return start, end
    day = daemon.clock.now().tz_convert(daemon.district.tz).normalize()
    return (start or day.to_pydatetime()), (end or (day + pd.DateOffset(days=1)).to_pydatetime())
