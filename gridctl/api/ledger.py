"""``GET /api/ledger``: the carbon statement of a period from the daemon's ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, HTTPException, Query

from gridctl.ledger.render import statement_json
from gridctl.ledger.statement import Period, statement
from gridctl.store.ledger import entries

if TYPE_CHECKING:
    from gridctl.daemon import Daemon


def ledger_router(daemon: Daemon) -> APIRouter:
    router = APIRouter(tags=["read"])

    @router.get("/api/ledger")
    def ledger(period: str = Query(pattern=r"^\d{4}(-\d{2})?$", description="local month YYYY-MM or year YYYY"),
               tenant: str | None = None) -> dict:
        """Scope 2 location- and market-based totals, attribution, estimated share, avoided emissions
        and progress against the neutrality target (as ``gridctl ledger report``)."""
        try:
            p = Period.parse(period)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        cfg = daemon.config
        if tenant is not None and tenant not in cfg.ledger.groups.get("tenant", {}):
            raise HTTPException(404, f"tenant {tenant!r} is not configured in [ledger.groups.tenant]")
        start, end = p.bounds_utc(cfg.site.timezone)
        rows = entries(daemon.store, start.to_pydatetime(), end.to_pydatetime())
        if rows.empty:
            return {"period": p.label, "tenant": tenant, "intervals": 0}
        return statement_json(statement(rows, cfg.ledger, p, cfg.site.timezone, tenant))

    return router
