"""Grid-operator events (OpenADR 3) as inputs of the dispatch.

An event's intervals (:func:`adapters.openadr.event_intervals`) become, for every interval of a
planning horizon they overlap:

| payload type | dispatch input | units taken (default first) |
| --- | --- | --- |
| ``IMPORT_CAPACITY_LIMIT`` | import limit per interval (``gridctl.dispatch.event_limits``) | KW, W, MW |
| ``EXPORT_CAPACITY_LIMIT`` | export limit per interval | KW, W, MW |
| ``PRICE`` | import price (replaces the tariff) | per KWH, per MWH |
| ``GHG`` | carbon intensity (replaces the forecast) | G_PER_KWH, KG_PER_KWH |

Where several events cover one interval, the lowest limit, and the price or intensity of the
event with the newest version, apply. An event is known from its ``modificationDateTime`` (else
``createdDateTime``): a plan issued at ``t`` uses the newest version of each event known at ``t``
and nothing issued later (daemon and replay alike).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from adapters.openadr import INTERVAL_COLUMNS, EventFormatError, event_intervals
from gridctl.dispatch.inputs import DispatchInputs

SCALE = {  # payload type -> unit -> factor to gridctl's unit (kW, currency/kWh, kg/kWh)
    "IMPORT_CAPACITY_LIMIT": {None: 1.0, "KW": 1.0, "W": 1e-3, "MW": 1e3},
    "EXPORT_CAPACITY_LIMIT": {None: 1.0, "KW": 1.0, "W": 1e-3, "MW": 1e3},
    "PRICE": {None: 1.0, "KWH": 1.0, "MWH": 1e-3},
    "GHG": {None: 1e-3, "G_PER_KWH": 1e-3, "KG_PER_KWH": 1.0},
}
UNITS = {"IMPORT_CAPACITY_LIMIT": "kW", "EXPORT_CAPACITY_LIMIT": "kW", "PRICE": "per kWh", "GHG": "kg/kWh"}


def known_at(event: dict) -> pd.Timestamp:
    """When the VTN issued this version of ``event`` (its modification, else creation time, UTC)."""
    stamp = event.get("modificationDateTime") or event.get("createdDateTime")
    if stamp is None:
        raise EventFormatError("createdDateTime: missing; a recorded event needs the time it was issued")
    t = pd.Timestamp(stamp)
    if t.tzinfo is None:
        raise EventFormatError(f"createdDateTime: {stamp} has no UTC offset")
    return t.tz_convert("UTC")


def signal_rows(event: dict) -> pd.DataFrame:
    """The event's intervals of the payload types gridctl uses, in gridctl's units, with ``known_at``."""
    rows = event_intervals(event)
    rows = rows[rows.payload_type.isin(list(SCALE))].copy()
    keys = [None if u is None or pd.isna(u) else str(u).upper() for u in rows.units]
    for ptype, unit, key in zip(rows.payload_type, rows.units, keys):
        if key not in SCALE[ptype]:
            raise EventFormatError(f"payloadDescriptors.{ptype}.units: {unit!r} is not one of "
                                   f"{sorted(k for k in SCALE[ptype] if k)}")
    rows["value"] = rows.value.to_numpy() * np.array([SCALE[p][k] for p, k in zip(rows.payload_type, keys)])
    rows["known_at"] = known_at(event)
    return rows


@dataclass
class GridEvents:
    """Every version of every event received, as signal rows (:func:`signal_rows`)."""

    rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=[*INTERVAL_COLUMNS, "known_at"]))
    events: dict[tuple[str, pd.Timestamp], dict] = field(default_factory=dict)  # (id, known_at) -> event

    def add(self, event: dict) -> bool:
        """Take one event version; False when that version was already taken."""
        key = (event.get("id"), known_at(event))
        if key in self.events:
            return False
        new = signal_rows(event)
        self.rows = new if self.rows.empty else pd.concat([self.rows, new], ignore_index=True)
        self.events[key] = event
        return True

    def latest(self) -> list[dict]:
        """The newest version of each event."""
        out: dict[str, tuple[pd.Timestamp, dict]] = {}
        for (eid, t), ev in self.events.items():
            if eid not in out or t > out[eid][0]:
                out[eid] = (t, ev)
        return [ev for _, ev in out.values()]

    def issued_within(self, start: pd.Timestamp, end: pd.Timestamp) -> bool:
        """Whether an event version was issued in ``(start, end]``."""
        return any(start < t <= end for _, t in self.events)

    def in_force(self, issue_time: pd.Timestamp) -> pd.DataFrame:
        """Signal rows of the newest version of each event known at ``issue_time``."""
        known = self.rows[self.rows.known_at <= issue_time]
        if known.empty:
            return known
        newest = known.groupby("event_id").known_at.transform("max")
        return known[known.known_at == newest]

    def apply(self, inp: DispatchInputs, issue_time: pd.Timestamp) -> list[dict]:
        """Write the events in force at ``issue_time`` into ``inp`` (module doc); returns, per event
        used, its id, program, payload types and the intervals of the horizon it covers."""
        rows = self.in_force(pd.Timestamp(issue_time)).sort_values("known_at")
        starts = inp.index.tz_convert("UTC")
        ends = starts + pd.Timedelta(hours=inp.dt_h)
        n, used = len(starts), {}
        limits = {"IMPORT_CAPACITY_LIMIT": np.full(n, np.nan), "EXPORT_CAPACITY_LIMIT": np.full(n, np.nan)}
        for r in rows.itertuples():
            hit = np.flatnonzero((starts < r.interval_end_utc) & (ends > r.interval_start_utc))
            if not len(hit):
                continue
            if r.payload_type in limits:
                limits[r.payload_type][hit] = np.fmin(limits[r.payload_type][hit], r.value)
            else:  # newest version last: its price or intensity stands
                targets = ((inp.price_per_kwh,) if r.payload_type == "PRICE"
                           else (inp.ci_kg_per_kwh, inp.ci_objective_kg_per_kwh))  # the operator's intensity is trusted
                for target in targets:
                    target[hit] = r.value
            u = used.setdefault(r.event_id, {"event_id": r.event_id, "program_id": r.program_id,
                                             "payload_types": set(), "intervals": set()})
            u["payload_types"].add(r.payload_type)
            u["intervals"].update(int(i) for i in hit)
        inp.event_import_limit_kw = limits["IMPORT_CAPACITY_LIMIT"]
        inp.event_export_limit_kw = limits["EXPORT_CAPACITY_LIMIT"]
        return [{**u, "payload_types": sorted(u["payload_types"]), "intervals": len(u["intervals"])}
                for u in used.values()]


def load_events(path: Path) -> GridEvents:
    """Recorded events: a JSON list of OpenADR 3 event objects (as ``GET /events`` returns them);
    :class:`EventFormatError` names the event (by position) and field at fault."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise EventFormatError(f"{path}: not a readable JSON file ({exc})") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise EventFormatError(f"{path}: expected a list of OpenADR 3 event objects")
    events = GridEvents()
    for k, event in enumerate(data):
        try:
            if not isinstance(event, dict):
                raise EventFormatError("not an event object")
            events.add(event)
        except EventFormatError as exc:
            raise EventFormatError(f"{path}: event {k}: {exc}") from None
    return events
