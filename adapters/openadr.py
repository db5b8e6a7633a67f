"""OpenADR 3 VEN client: OAuth2 client-credentials token, programs, events, reports.

The REST calls and the OpenADR 3 object models are :mod:`toadr3`'s; this module adds what a VEN
of gridctl needs around them: the events of the configured programs as plain JSON objects,
their intervals as a table (:func:`event_intervals`), and a report of one power value per
interval (:func:`power_report`). Everything here is asynchronous (aiohttp); one HTTP session per
call of :meth:`VenClient.session`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pandas as pd
import toadr3
from toadr3.models import (
    Event,
    Interval,
    IntervalPeriod,
    Report,
    ReportData,
    ReportPayloadDescriptor,
    ValuesMap,
)

INTERVAL_COLUMNS = ["event_id", "program_id", "interval_start_utc", "interval_end_utc", "payload_type",
                    "value", "units"]


class EventFormatError(ValueError):
    """An event that is not a valid OpenADR 3 event or has intervals gridctl cannot place in time."""


@dataclass(frozen=True)
class VenCredentials:
    """Where the VTN and its token endpoint are, and the client credentials (OAuth2)."""

    vtn_url: str
    token_url: str
    client_id: str
    client_secret: str
    scope: str
    ven_name: str


class VenClient:
    """A VEN of one VTN; open a session with ``async with client.session() as s``."""

    def __init__(self, cred: VenCredentials):
        self.cred = cred

    @asynccontextmanager
    async def session(self) -> AsyncIterator[toadr3.ToadrClient]:
        """A toadr3 client that fetches its bearer token from the token endpoint on first use."""
        c = self.cred
        oauth = toadr3.OAuthScopeConfig(c.token_url, "client_credentials", c.scope, c.client_id, c.client_secret)
        async with toadr3.ToadrClient(c.vtn_url, oauth) as client:
            yield client

    async def program_ids(self, client: toadr3.ToadrClient, names: list[str]) -> dict[str, str]:
        """Program id by program name, of the programs named in ``names`` (all when empty)."""
        return {p.program_name: p.id for p in await client.get_programs()
                if p.id is not None and (not names or p.program_name in names)}

    async def events(self, names: list[str]) -> list[dict]:
        """Every event of the programs named in ``names`` (all programs when empty), as JSON objects."""
        async with self.session() as client:
            out = []
            for program_id in (await self.program_ids(client, names)).values():
                out += [event_json(e) for e in await client.get_events(program_id=program_id)]
            return out

    async def post_report(self, report: Report) -> str | None:
        """Post ``report`` to the VTN; returns the id the VTN gave it."""
        async with self.session() as client:
            return (await client.post_report(report)).id


def event_json(event: Event) -> dict:
    """An event as the JSON object of the OpenADR 3 REST API (camelCase keys)."""
    return event.model_dump(mode="json", by_alias=True, exclude_none=True)


def parse_event(data: dict) -> Event:
    """Validate one OpenADR 3 event object; :class:`EventFormatError` names the field at fault."""
    try:
        return Event.model_validate(data)
    except ValueError as exc:
        first = exc.errors()[0] if hasattr(exc, "errors") else {"loc": (), "msg": str(exc)}
        where = ".".join(str(p) for p in first["loc"]) or "(event)"
        raise EventFormatError(f"{where}: {first['msg']}") from None


def event_intervals(data: dict) -> pd.DataFrame:
    """One row per interval and payload of an event (:data:`INTERVAL_COLUMNS`).

    An interval's period is its own ``intervalPeriod``, else the event's, shifted by one duration
    per interval before it (intervals in list order). ``units`` come from the event's payload
    descriptors (None when not described).
    """
    event = parse_event(data)
    units = {d.payload_type: d.units for d in event.payload_descriptors or []}
    rows = []
    for k, interval in enumerate(event.intervals):
        start, end = _period(event, interval, k)
        for payload in interval.payloads:
            for value in payload.values:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise EventFormatError(f"intervals.{k}.payloads.{payload.type}: value {value!r} is not a number")
                rows.append((event.id, event.program_id, start, end, payload.type, float(value),
                             units.get(payload.type)))
    return pd.DataFrame(rows, columns=INTERVAL_COLUMNS)


def _period(event: Event, interval: Interval, k: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    own = interval.interval_period
    period = own or event.interval_period
    if period is None or isinstance(period.start, str) or period.duration.total_seconds() <= 0:
        raise EventFormatError(f"intervals.{k}: no intervalPeriod with a start and a positive duration")
    start = pd.Timestamp(period.start)
    if start.tzinfo is None:
        where = f"intervals.{k}.intervalPeriod" if own else "intervalPeriod"
        raise EventFormatError(f"{where}.start: {period.start} has no UTC offset")
    start = start.tz_convert("UTC") + (0 if own else k) * period.duration
    return start, start + period.duration


def power_report(event: dict, ven_name: str, reading_type: str, power_kw: pd.Series,
                 report_name: str | None = None) -> Report:
    """A report on ``event``: one ``DEMAND`` value (kW) per interval of ``power_kw`` (indexed by
    interval start, UTC), ``reading_type`` ``FORECAST`` (planned) or ``DIRECT_READ`` (measured)."""
    ev = parse_event(event)
    res = power_kw.index[1] - power_kw.index[0] if len(power_kw) > 1 else pd.Timedelta(minutes=15)
    intervals = [Interval(id=k, interval_period=IntervalPeriod(start=t.to_pydatetime(), duration=_iso(res)),
                          payloads=[ValuesMap(type="DEMAND", values=[round(float(v), 3)])])
                 for k, (t, v) in enumerate(power_kw.items())]
    return Report(program_id=ev.program_id, event_id=ev.id, client_name=ven_name, report_name=report_name,
                  payload_descriptors=[ReportPayloadDescriptor(payload_type="DEMAND", reading_type=reading_type,
                                                               units="KW")],
                  resources=[ReportData(resource_name="AGGREGATED_REPORT", intervals=intervals)])


def _iso(delta: pd.Timedelta) -> str:
    """A duration as ISO 8601 (``PT15M``), as the interval period validator takes it."""
    return f"PT{int(delta.total_seconds() // 60)}M"
