"""``GET /api/openadr/events``: the grid operator's events received (every version) and the
reports posted for them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter

from gridctl.grid_events import UNITS, signal_rows
from gridctl.store.openadr import events

if TYPE_CHECKING:
    from gridctl.daemon import Daemon


def describe(event: dict) -> dict:
    """First start, last end (UTC) and the signals of an event in gridctl's units, e.g.
    ``IMPORT_CAPACITY_LIMIT 8000-9000 kW``."""
    rows = signal_rows(event)
    if rows.empty:
        return {"start": None, "end": None, "signals": []}
    signals = [f"{ptype} {g.value.min():g}" + (f"-{g.value.max():g}" if g.value.max() > g.value.min() else "")
               + f" {UNITS[ptype]}" for ptype, g in rows.groupby("payload_type")]
    return {"start": rows.interval_start_utc.min().isoformat(), "end": rows.interval_end_utc.max().isoformat(),
            "signals": signals}


def openadr_router(daemon: Daemon) -> APIRouter:
    router = APIRouter(tags=["read"])

    @router.get("/api/openadr/events")
    def openadr_events() -> dict:
        """Whether the VEN is on, and every OpenADR event version stored (oldest first): the event
        object, its span and signals in gridctl's units, and the reports posted for its event
        (reading type ``FORECAST``: planned import, ``DIRECT_READ``: measured)."""
        return {"enabled": daemon.config.openadr.enabled,
                "events": [{**row, **describe(row["event"])} for row in events(daemon.store)]}

    return router
