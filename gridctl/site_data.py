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

from adapters.mqtt import Sample
from gridctl import external_forecasts
from gridctl.clock import DaemonClock
from gridctl.config import Config
from gridctl.demand_charges import PeakKey, running_peaks
from gridctl.district import District
from gridctl.feed_source import WeatherSource
from gridctl.live_history import NO_WEATHER_FEED, DemoFeed, KnownDistrict
from gridctl.live_measurements import LiveMeasurements
from gridctl.store import Store
from gridctl.store.series import SeriesRow, measured_frame, upsert_forecasts, upsert_measured

log = logging.getLogger(__name__)
WEATHER_QUANTITIES = ("temp_air_c", "ghi_w_m2", "cloud_cover_pct")


class SiteData:
    """Measured series, demo feed, external forecasts and ledger booking of one daemon."""

    def __init__(self, config: Config, district: District, store: Store, clock: DaemonClock, report):
        self.config, self.district, self.store, self.clock = config, district, store, clock
        self.live: LiveMeasurements | None = None  # meter and measured series
        self.feed: DemoFeed | None = None  # publishes the configured history as it becomes known
        self.known = KnownDistrict(district, store, config.measurements.max_gap_h, report,
                                   config.measurements.seed_history)
        self.overlays: dict[str, external_forecasts.ExternalOverlay] = {}  # external forecasts in use
        self.forecast_file = external_forecasts.ForecastFile(config, report)
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="site-io")
        self._failing: set[str] = set()
        self._samples: dict[tuple[str, pd.Timestamp], list[float]] = {}  # (series, interval) -> [sum, count]
        self._peaks: dict[PeakKey, float] = {}  # the demand charges' running peaks last read

    def planning_district(self, refresh: bool = False, weather: WeatherSource = NO_WEATHER_FEED) -> tuple[District, bool]:
        """The district with the data known at the data clock's now, and whether it was rebuilt
        (else extended in place with the newest measurements; run in the planner thread: it reads
        the store and, on the first call, seeds it)."""
        data_now = self.clock.data_time(self.clock.now())
        known, rebuilt = self.known.at(data_now, refresh, weather)
        if rebuilt:
            self.overlays = external_forecasts.overlay(known, self.config)
        self._guarded("read the forecast file", self.forecast_file.poll, self.store, data_now)
        self._guarded("read external forecasts", external_forecasts.refresh, self.overlays, self.store,
                      self.config, data_now)
        return known, rebuilt

    def running_peaks(self, data_now: pd.Timestamp) -> dict[PeakKey, float]:
        """The demand charges' running peaks from the store's meter rows (planner thread); while the
        store cannot be read, the last ones read (of the same month)."""
        try:
            self._peaks = measured_running_peaks(self.store, self.config, data_now)
        except Exception as exc:  # noqa: BLE001 - a store outage must not stop planning
            log.warning("demand charges: meter rows unreadable (%s: %s); the last running peaks are used",
                        type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "")
        return self._peaks

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
        if self._samples:
            self.submit("MQTT measurements", upsert_measured, self.store, self._ended_means(data_ended), "mqtt",
                        received)
        self.submit("carbon ledger", self._book_ledger, now)

    def add_sample(self, sample: Sample) -> None:
        """An MQTT sample of a known series, averaged into the interval of its stamp (data clock)."""
        known = self.live.known if self.live is not None else {}
        if sample.series_id not in known:
            log.debug("MQTT sample of %s dropped: not a known series ([measurements])", sample.series_id)
            return
        res = pd.Timedelta(minutes=self.config.site.resolution_min)
        key = (sample.series_id, self.clock.data_time(sample.ts_utc).floor(res))
        acc = self._samples.setdefault(key, [0.0, 0])
        acc[0], acc[1] = acc[0] + sample.value, acc[1] + 1

    def add_forecast(self, series_id: str, rows: list[dict]) -> None:
        """An MQTT message of external forecast rows of ``series_id`` (``[feeds.mqtt] forecast_topics``):
        validated now (:class:`gridctl.measurements.BatchError` naming the bad rows), stored in the background."""
        quantity = self.config.forecast_sources.external.get(series_id, "")
        batch = [{"series_id": series_id, "quantity": quantity, **r} for r in rows]
        good = external_forecasts.check_forecasts(batch, self.config, self.clock.data_time(self.clock.now()))
        self.submit("store MQTT forecasts", upsert_forecasts, self.store, good, "mqtt")

    def _ended_means(self, data_ended: pd.Timestamp) -> list[SeriesRow]:
        """Mean of the samples of every interval up to ``data_ended`` (their buffers are emptied)."""
        done = [k for k in self._samples if k[1] <= data_ended]
        known = self.live.known if self.live is not None else {}
        return [SeriesRow(series, known[series].quantity, t.to_pydatetime(), total / n)
                for (series, t) in done for total, n in [self._samples.pop((series, t))]]

    def store_feed_rows(self, feed_id: str, signal: str, frame: pd.DataFrame) -> None:
        """A feed's rows into the store: carbon into ``[measurements] carbon_series`` (rows issued at
        or after their interval's end as measured values, earlier ones as provider forecasts), weather
        as forecasts of ``[measurements] weather_series`` (one quantity per column)."""
        if frame.empty:
            return
        if signal == "weather":
            series = self.config.measurements.weather_series
            rows = [SeriesRow(series, q, t.to_pydatetime(), float(v), pd.Timestamp(i).to_pydatetime())
                    for q in WEATHER_QUANTITIES if q in frame
                    for t, v, i in zip(frame.index, frame[q], frame.issued_at_utc, strict=True) if pd.notna(v)]
            self.submit(f"store {feed_id} rows", upsert_forecasts, self.store, rows, feed_id)
            return
        if signal != "carbon":
            return
        series = self.config.measurements.carbon_series
        res = pd.to_timedelta(frame.resolution_min, unit="min")
        issued = pd.to_datetime(frame.issued_at_utc, utc=True)
        measured = issued >= frame.index + res
        rows = [SeriesRow(series, "ci_kg_per_kwh", t.to_pydatetime(), float(v), None if m else i.to_pydatetime())
                for t, v, m, i in zip(frame.index, frame.ci_kg_per_kwh, measured, issued, strict=True)]
        now = self.clock.now().to_pydatetime()
        self.submit(f"store {feed_id} rows", self._store_carbon, rows, feed_id, now)

    def _store_carbon(self, rows: list[SeriesRow], feed_id: str, received) -> None:
        upsert_measured(self.store, [r for r in rows if r.issued_at is None], feed_id, received)
        upsert_forecasts(self.store, [r for r in rows if r.issued_at is not None], feed_id)

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

    def drain(self, timeout_s: float = 60.0) -> None:
        """Wait until everything submitted so far has run (blocking)."""
        self._io.submit(lambda: None).result(timeout_s)

    def close(self, wait: bool = True) -> None:
        self._io.shutdown(wait=wait, cancel_futures=not wait)


def measured_running_peaks(store: Store, config: Config, data_now: pd.Timestamp) -> dict[PeakKey, float]:
    """The demand charges' peaks of the local month of ``data_now`` from the grid-connection meter's
    measured rows (``[measurements] meter_series``) of intervals ended by ``data_now``."""
    charges = config.dispatch.demand_charges
    if not charges:
        return {}
    local = pd.Timestamp(data_now).tz_convert(config.site.timezone)
    month_start = pd.Timestamp(local.year, local.month, 1).tz_localize(config.site.timezone).tz_convert("UTC")
    series = config.measurements.meter_series
    frame = measured_frame(store, [series], month_start.to_pydatetime(), pd.Timestamp(data_now).to_pydatetime())
    return running_peaks(frame[series], charges, config.site.timezone, data_now, config.site.resolution_min)
