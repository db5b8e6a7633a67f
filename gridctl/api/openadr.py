"""``GET /api/openadr/events``: the grid operator's events received (every version) and the
reports posted for them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter

from gridctl.store.openadr import events

if TYPE_CHECKING:
    from gridctl.daemon import Daemon


def openadr_router(daemon: Daemon) -> APIRouter:
    router = APIRouter(tags=["read"])

    @router.get("/api/openadr/events")
    def openadr_events() -> dict:
        """Whether the VEN is on, and every OpenADR event version stored (oldest first), each
        with the reports posted for its event (reading type ``FORECAST``: planned import,
        ``DIRECT_READ``: measured)."""
        return {"enabled": daemon.config.openadr.enabled, "events": events(daemon.store)}

    return router
