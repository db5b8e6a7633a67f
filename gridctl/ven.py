"""gridctl as an OpenADR 3 VEN: poll the configured programs' events, keep and store every
version, ask for a re-plan when one arrives or changes, and report back the planned and the
measured import over each event's intervals (docs/openadr.md).

Reports (``DEMAND`` in kW per interval, :func:`adapters.openadr.power_report`): ``FORECAST``,
the planned import of the first plan made with an event version (once per version), and
``DIRECT_READ``, the measured import once the event has ended (once per event).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable

import pandas as pd

from adapters.openadr import EventFormatError, VenClient, VenCredentials, power_report
from gridctl.config import Config, ConfigError
from gridctl.config_openadr import OpenAdrConfig
from gridctl.grid_events import GridEvents, known_at, signal_rows
from gridctl.store import Store
from gridctl.store.openadr import add_event, add_report

log = logging.getLogger(__name__)


def credentials(cfg: OpenAdrConfig) -> VenCredentials:
    """The VTN's address and the client credentials from the environment; :class:`ConfigError` when unset."""
    missing = [name for name in (cfg.client_id_env, cfg.client_secret_env) if not os.environ.get(name)]
    if missing:
        raise ConfigError([f"openadr: environment variable {', '.join(missing)} is not set; "
                           + "export the VTN's OAuth2 client id and secret there"])
    return VenCredentials(cfg.vtn_url.rstrip("/"), cfg.token_endpoint(), os.environ[cfg.client_id_env],
                          os.environ[cfg.client_secret_env], cfg.scope, cfg.ven_name)


def event_span(event: dict) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First start and last end (UTC) of an event's intervals."""
    rows = signal_rows(event)
    return rows.interval_start_utc.min(), rows.interval_end_utc.max()


class Ven:
    """The VEN of one daemon: its events (``events``, handed to every plan) and reports."""

    def __init__(self, cfg: OpenAdrConfig, store: Store | None, on_change: Callable[[str], None],
                 now: Callable[[], pd.Timestamp]):
        self.cfg = cfg
        self.client = VenClient(credentials(cfg))
        self.store = store
        self.on_change = on_change
        self.now = now
        self.events = GridEvents()
        self.reported: set[tuple] = set()  # (event id, version or None, reading type)

    @classmethod
    def from_config(cls, config: Config, store: Store | None, on_change: Callable[[str], None],
                    now: Callable[[], pd.Timestamp]) -> Ven | None:
        """The VEN when ``[openadr] enabled``, else None."""
        return cls(config.openadr, store, on_change, now) if config.openadr.enabled else None

    async def poll(self) -> list[str]:
        """Fetch the programs' events; keep and store new versions, ask for a re-plan when there
        are any; returns the ids of the events new or changed."""
        changed = []
        for event in await self.client.events(self.cfg.programs):
            try:
                if self.events.add(event):
                    changed.append(event["id"])
                    await asyncio.to_thread(self._store_event, event)
            except EventFormatError as exc:
                log.warning("OpenADR event %s ignored: %s", event.get("id"), exc)
        if changed:
            self.on_change(f"OpenADR events new or changed: {sorted(changed)}")
        return changed

    def _store_event(self, event: dict) -> None:
        if self.store is not None:
            add_event(self.store, event, known_at(event).to_pydatetime(), self.now().to_pydatetime())

    async def report_plan(self, plan_table: pd.DataFrame) -> list[str]:
        """Post the planned import over each event's intervals the plan covers (once per event
        version); returns the ids of the events reported."""
        return await self._report(plan_table.grid_import_kw, "FORECAST", versioned=True)

    async def report_measured(self, measured_kw: pd.Series) -> list[str]:
        """Post the measured import (kW per interval, indexed by interval start) of every event
        that has ended and is covered by ``measured_kw`` (once per event)."""
        now = self.now()
        ended = [ev["id"] for ev in self.events.latest() if event_span(ev)[1] <= now]
        return await self._report(measured_kw, "DIRECT_READ", versioned=False, only=set(ended))

    async def _report(self, power_kw: pd.Series, reading_type: str, versioned: bool,
                      only: set[str] | None = None) -> list[str]:
        power_kw = power_kw.copy()
        power_kw.index = pd.DatetimeIndex(power_kw.index).tz_convert("UTC")
        done = []
        for event in self.events.latest():
            key = (event["id"], known_at(event) if versioned else None, reading_type)
            if key in self.reported or (only is not None and event["id"] not in only):
                continue
            start, end = event_span(event)
            part = power_kw[(power_kw.index >= start) & (power_kw.index < end)].dropna()
            if part.empty:
                continue
            report = power_report(event, self.cfg.ven_name, reading_type, part,
                                  report_name=f"{self.cfg.ven_name}-{reading_type.lower()}")
            report_id = await self.client.post_report(report)
            self.reported.add(key)
            done.append(event["id"])
            if self.store is not None:
                await asyncio.to_thread(add_report, self.store, event["id"], reading_type, self.now().to_pydatetime(),
                                        report_id, report.model_dump(mode="json", by_alias=True, exclude_none=True))
        return done

    async def cycle(self, on_event: Callable[[str, str, str], None]) -> None:
        """The daemon's ``openadr`` job: poll, then report the measured import of ended events;
        a failure is an event and is tried again at the next poll."""
        try:
            await self.poll()
            if self.store is not None:
                await self.report_measured(await asyncio.to_thread(measured_import_kw, self.store, self.now()))
        except Exception as exc:  # noqa: BLE001 - the VTN or the store is away: next poll tries again
            on_event("warning", "openadr", f"VTN poll or report failed ({type(exc).__name__}: {exc}); "
                     "tried again at the next poll")

    async def after_plan(self, plan_table: pd.DataFrame, on_event: Callable[[str, str, str], None]) -> None:
        """Report a new plan's import for the events it covers; a failure is an event."""
        try:
            await self.report_plan(plan_table)
        except Exception as exc:  # noqa: BLE001 - reported with the next plan
            on_event("warning", "openadr", f"planned-import report failed ({type(exc).__name__}: {exc})")


def measured_import_kw(store: Store, now: pd.Timestamp, days: float = 2.0) -> pd.Series:
    """Measured grid import (kW) per interval over the last ``days``: the booked grid energy of
    the emissions ledger divided by the interval length."""
    start = (now - pd.Timedelta(days=days)).to_pydatetime()
    rows = pd.DataFrame(store.page("emissions", start, now.to_pydatetime(), limit=100_000).items)
    if rows.empty:  # nothing booked yet: no interval, on the UTC time line
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
    grid = rows[rows.asset_id == "grid"]
    index = pd.DatetimeIndex(pd.to_datetime(grid.interval_start, utc=True))
    dt_h = pd.Series(index).diff().median().total_seconds() / 3600 if len(index) > 1 else 0.25
    return pd.Series(grid.energy_kwh.to_numpy() / dt_h, index=index)
