"""The FastAPI application: health, read endpoints, write endpoints, metrics, dashboard.

Health, devices, today's plan and the override answer come from the daemon's memory; other reads
go to the store in a worker thread, cached until the store takes a new record, and answer 503 when
the store does not. Invalid input answers 4xx with the reason (:mod:`gridctl.api.limits`)."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, FiniteFloat
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from gridctl.api.auth import require_token
from gridctl.api.dashboard import dashboard_data
from gridctl.api.ledger import ledger_router
from gridctl.api.limits import MAX_OFFSET, BodyLimit, ReadCache, Time
from gridctl.api.measurements import measurements_router
from gridctl.api.openadr import openadr_router

if TYPE_CHECKING:  # the daemon imports the API's metrics
    from gridctl.daemon import Daemon

STATIC = Path(__file__).resolve().parent / "static"
MAX_LIMIT = 5000


class Override(BaseModel):
    """Hold ``p_kw`` (load-referenced kW for storage; output cap kW for PV) until ``until``."""

    model_config = ConfigDict(extra="forbid")
    p_kw: FiniteFloat
    until: Time


class Range:
    """Time range and paging of a read endpoint (ISO 8601 with offset; default: the last 24 h)."""

    def __init__(self, start: Time | None = None, end: Time | None = None,
                 limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 500,
                 offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0):
        self.start, self.end, self.limit, self.offset = start, end, limit, offset


def create_app(daemon: Daemon) -> FastAPI:
    """The API of one running daemon."""
    docs = daemon.config.api.docs
    app = FastAPI(title="gridctl", version="0.1.0", docs_url="/docs" if docs else None, redoc_url=None,
                  description="Microgrid control daemon: plans, telemetry, setpoints, events, emissions.")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(ledger_router(daemon))
    app.include_router(measurements_router(daemon))
    app.include_router(openadr_router(daemon))
    app.add_middleware(BodyLimit, max_bytes=daemon.config.api.max_body_bytes)
    store, hot = daemon.store, daemon.hot
    cache = ReadCache(lambda: daemon.records.delivered)

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    async def store_away(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": f"the store is not answering ({type(exc).__name__}); try again later"},
                            status_code=503)

    async def paged(table: str, r: Range, **equal) -> Response:
        # default: from the start of the interval 24 h ago (a stable key for the cache)
        start = r.start or (daemon.current_interval() - pd.Timedelta(days=1)).to_pydatetime()
        key = (table, start, r.end, r.limit, r.offset, tuple(sorted(equal.items())))

        def read() -> bytes:
            page = store.page(table, start, r.end, r.limit, r.offset, **equal)
            return _render({"items": page.items, "total": page.total, "limit": page.limit, "offset": page.offset})

        return _json_bytes(await cache.get(key, read))

    plan_answers: dict[tuple, tuple[int, bytes]] = {}  # (start, end) -> (plan version, answer) from memory

    @app.get("/health", tags=["status"])
    async def health() -> JSONResponse:
        """Liveness (this answer) and readiness: scheduler running (else 503), the store taking records
        (else ``degraded``: records wait in the journal), devices."""
        st = daemon.status()
        ready = st["scheduler"]["running"]
        body = {"status": ("ok" if st["database"]["ok"] else "degraded") if ready else "not ready", **st}
        return _json_bytes(_render(body), 200 if ready else 503)

    @app.get("/api/plan", tags=["read"])
    async def plan(start: Time | None = None, end: Time | None = None) -> Response:
        """Each interval as last planned (default: today, local day). Columns as in plan.csv."""
        s, e = _day_or(daemon, start, end)

        def answer(frame: pd.DataFrame) -> bytes:
            items = [{"interval_start": t.isoformat(), **{k: _num(v) for k, v in row.items()}}
                     for t, row in zip(frame.index, frame.to_dict("records"))]
            return _render({"start": s.isoformat(), "end": e.isoformat(), "latest": hot.latest, "items": items})

        held = plan_answers.get((s, e))
        if held is not None and held[0] == hot.version:
            return _json_bytes(held[1])
        frame = hot.plan_view(s, e)
        if frame is None:
            return _json_bytes(await cache.get(("plan_view", s, e), lambda: answer(store.plan_view(s, e))))
        if len(plan_answers) > 64:
            plan_answers.clear()
        plan_answers[(s, e)] = (hot.version, answer(frame))
        return _json_bytes(plan_answers[(s, e)][1])

    @app.get("/api/plans", tags=["read"])
    async def plans(r: Annotated[Range, Depends()], kind: str | None = None, status: str | None = None) -> Response:
        """Plan records (version, kind, status, issue time, summary) created in the range."""
        return await paged("plans", r, kind=kind, status=status)

    @app.get("/api/forecasts", tags=["read"])
    async def forecasts(r: Annotated[Range, Depends()], series: str | None = None) -> Response:
        """Forecast values by interval start, with their issue time."""
        return await paged("forecasts", r, series=series)

    @app.get("/api/telemetry", tags=["read"])
    async def telemetry(r: Annotated[Range, Depends()], asset_id: str | None = None,
                        quantity: str | None = None) -> Response:
        """Measurements (p_kw, soc_kwh) per asset."""
        return await paged("measurements", r, asset_id=asset_id, quantity=quantity)

    @app.get("/api/setpoints", tags=["read"])
    async def setpoints(r: Annotated[Range, Depends()], asset_id: str | None = None) -> Response:
        """Setpoints: requested, written after clamping, read back (``error`` "in flight" until the result)."""
        return await paged("setpoints", r, asset_id=asset_id)

    @app.get("/api/events", tags=["read"])
    async def events(r: Annotated[Range, Depends()], asset_id: str | None = None,
                     severity: str | None = None) -> Response:
        """Events and alarms."""
        return await paged("events", r, asset_id=asset_id, severity=severity)

    @app.get("/api/emissions", tags=["read"])
    async def emissions(r: Annotated[Range, Depends()], asset_id: str | None = None) -> Response:
        """Emissions ledger per interval and asset (``grid`` = the district's import)."""
        return await paged("emissions", r, asset_id=asset_id)

    @app.get("/api/devices", tags=["read"])
    async def devices() -> Response:
        """State, rating and override of every device (from memory)."""
        overrides = hot.active_overrides(daemon.clock.now())
        return _json_bytes(_render({k: {**st.as_dict(), "rating": vars(daemon.controller.ratings[k]),
                                        "override": overrides.get(k)} for k, st in daemon.controller.state.items()}))

    @app.get("/api/dashboard", tags=["read"], include_in_schema=False)
    async def dashboard_json() -> Response:
        key = ("dashboard", daemon.current_interval())
        return _json_bytes(await cache.get(key, lambda: _render(dashboard_data(daemon))))

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
        result = await daemon.set_override(asset_id, body.p_kw, body.until)
        return {"asset_id": asset_id, "requested_kw": body.p_kw, "p_kw": result.written_kw,
                "readback_kw": result.readback_kw, "clamps": list(result.clamps), "ok": result.ok,
                "error": result.error, "until": body.until.isoformat()}

    @app.delete("/api/override/{asset_id}", tags=["write"], dependencies=[Depends(require_token)])
    async def release(asset_id: str) -> dict:
        """Release a device's override: the plan applies again from now."""
        if not await daemon.release_override(asset_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no override in force on {asset_id!r}")
        return {"asset_id": asset_id, "released": 1}

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


def _plain(v):
    """JSON form of what json does not know (numpy scalars, times)."""
    if hasattr(v, "item"):
        return v.item()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    raise TypeError(f"{type(v).__name__} is not JSON serialisable")


def _render(content) -> bytes:
    return json.dumps(content, default=_plain, separators=(",", ":")).encode()


def _json_bytes(body: bytes, status_code: int = 200) -> Response:
    return Response(body, status_code=status_code, media_type="application/json")


def _num(v):
    return None if isinstance(v, float) and math.isnan(v) else v


def _day_or(daemon: Daemon, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The given range, or the current local day."""
    if start is not None and end is not None:
        if end <= start:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"end {end.isoformat()} is not after start {start.isoformat()}")
        return start, end
    day = daemon.clock.now().tz_convert(daemon.district.tz).normalize()
    return (start or day.to_pydatetime()), (end or (day + pd.DateOffset(days=1)).to_pydatetime())
