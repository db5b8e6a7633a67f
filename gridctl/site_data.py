"""What the daemon knows of the site beyond its devices' telemetry: measured series in the store
(grid-connection meter, own assets, the demo feed), external forecasts, the carbon ledger.

Store I/O of these runs in one background thread, in submission order, never on the event loop:
a stalled store delays only this thread, never a control tick. A failing task logs one line when
it starts failing and one when it works again; what it would have written is derived again from
the store's inputs (measured series are upserted, the ledger re-books the last day) on its next run.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from gridctl import external_forecasts
from gridctl.clock import DaemonClock
from gridctl.config import Config
from gridctl.district import District
from gridctl.live_history import DemoFeed, KnownDistrict
from gridctl.live_measurements import LiveMeasurements
from gridctl.store import Store

log = logging.getLogger(__name__)


class SiteData:
    """Measured series, demo feed, external forecasts and ledger booking of one daemon."""

    def __init__(self, config: Config, district: District, store: Store, clock: DaemonClock, report):
        self.config, self.district, self.store, self.clock = config, district, store, clock
        self.live: LiveMeasurements | None = None  # meter and measured series
        self.feed: DemoFeed | None = None  # publishes the configured history as it becomes known
        self.known = KnownDistrict(district, store, config.measurements.max_gap_h, report)
        self.overlays: dict[str, external_forecasts.ExternalOverlay] = {}  # external forecasts in use
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="site-io")
        self._failing: set[str] = set()

    def planning_district(self, refresh: bool = False) -> tuple[District, bool]:
        """The district with the data known at the data clock's now, and whether it was rebuilt
        (run in the planner thread: it reads the store)."""
        data_now = self.clock.data_time(self.clock.now())
        known, rebuilt = self.known.at(data_now, refresh)
        if rebuilt:
            self.overlays = external_forecasts.overlay(known, self.config)
        self._guarded("read external forecasts", external_forecasts.refresh, self.overlays, self.store,
                      self.config, data_now)
        return known, rebuilt

    def summary(self) -> dict:
        """What a plan record says of its data: gaps, fallbacks, the forecast source per quantity."""
        return {**self.known.record(), "forecast_sources": {q: o.used for q, o in self.overlays.items()}}

    async def poll_meter(self, now: pd.Timestamp) -> None:
        """Read the grid-connection meter; its interval means are stored in the background."""
        if self.live is None:
            return
        rows = await self.live.read_meter(self.clock.data_time(now))
        if rows:
            self.submit("store meter readings", self.live.store_meter, rows, now.to_pydatetime())

    def after_tick(self, start: pd.Timestamp, now: pd.Timestamp) -> None:
        """Book the interval that ended at ``start`` (daemon clock): demo feed, measured series, ledger."""
        ended = start - pd.Timedelta(minutes=self.config.site.resolution_min)
        data_ended, received = self.clock.data_time(ended), now.to_pydatetime()
        if self.feed is not None:
            self.submit("demo feed", self.feed.publish, data_ended, received)
        if self.live is not None:
            self.submit("measured series", self.live.book, data_ended, ended, start, received)
        self.submit("carbon ledger", self._book_ledger, now)

    def _book_ledger(self, now: pd.Timestamp) -> None:
        from gridctl.ledger.job import book_recent

        book_recent(self.store, self.district, self.clock, now)

    def submit(self, what: str, func, *args) -> None:
        """Run ``func(*args)`` in the background thread, after what was submitted before."""
        self._io.submit(self._guarded, what, func, *args)

    def _guarded(self, what: str, func, *args) -> None:
        try:
            func(*args)
        except Exception as exc:  # noqa: BLE001 - the store or a feed being away must not stop the daemon
            if what not in self._failing:
                self._failing.add(what)
                log.warning("%s failed (%s: %s); tried again at its next run", what, type(exc).__name__,
                            str(exc).splitlines()[0][:200] if str(exc) else "")
            return
        if what in self._failing:
            self._failing.discard(what)
            log.info("%s works again", what)

    def close(self, wait: bool = True) -> None:
        self._io.shutdown(wait=wait, cancel_futures=not wait)
