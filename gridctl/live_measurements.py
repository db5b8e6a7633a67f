"""The daemon's measurements: the grid-connection meter, own assets' interval means, the derived load.

Run by the daemon: :meth:`LiveMeasurements.read_meter` with every telemetry poll, and
:meth:`LiveMeasurements.book` at every interval start for the interval that just ended. Rows go
into the store through :func:`gridctl.measurements.ingest`'s store function (measured series,
data-clock interval starts).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

import pandas as pd

from gridctl.config import Config
from gridctl.measurements import SeriesSpec
from gridctl.meter import IntervalMeans, MeterReader, inflexible_load_kw
from gridctl.store import Store
from gridctl.store.series import SeriesRow, measured_at, upsert_measured

log = logging.getLogger(__name__)
METER_TIMEOUT_S = 10.0  # real seconds


class LiveMeasurements:
    """Meter polling and per-interval booking of measured series for one daemon; the derived load
    of an interval is stored by whichever comes last, its booking or its meter mean."""

    def __init__(self, config: Config, store: Store, known: dict[str, SeriesSpec], meter: MeterReader | None,
                 report: Callable[[str, str, str], None]):
        self.config, self.store, self.known, self.meter = config, store, known, meter
        self.report = report  # (severity, kind, message): the daemon's event
        self.means = IntervalMeans(config.site.resolution_min)
        self.meter_failing = False
        m = config.measurements
        self.pv_series = sorted(s for s in known if s.startswith("pv/"))
        a = config.assets
        self.own_ids = [x.id for x in (*a.battery, *a.ev_charger, *a.heat_pump, *a.process_load)]
        self.meter_series, self.derived_series = m.meter_series, m.derived_load_series

    async def read_meter(self, data_now: pd.Timestamp) -> list[SeriesRow]:
        """Read the meter's counters; the mean net import of every interval they complete (for
        :meth:`store_meter`, which the daemon runs off the event loop)."""
        if self.meter is None:
            return []
        try:
            reading = await asyncio.wait_for(self.meter.read(data_now), METER_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - a failing meter never stops control
            if not self.meter_failing:
                self.report("warning", "meter_failed", f"grid-connection meter: {type(exc).__name__}: {exc}")
            self.meter_failing = True
            return []
        if self.meter_failing:
            self.report("info", "meter_online", "grid-connection meter answering again")
        self.meter_failing = False
        return [SeriesRow(self.meter_series, "p_kw", t.to_pydatetime(), kw) for t, kw in self.means.add(reading)]

    def store_meter(self, rows: list[SeriesRow], received_at: datetime) -> None:
        """Store meter interval means and derive the load of their intervals (their other inputs
        may have been booked before the meter reading)."""
        upsert_measured(self.store, rows, "meter", received_at)
        for r in rows:
            self.derive(pd.Timestamp(r.interval_start), received_at)

    def book(self, data_start: pd.Timestamp, wall_start: pd.Timestamp, wall_end: pd.Timestamp,
             received_at: datetime) -> None:
        """Own assets' mean power (``asset/<id>``) of the interval that just ended and, when the meter
        and every PV series are measured for it, the derived inflexible load."""
        rows = []
        for asset_id in self.own_ids + [p.id for p in self.config.assets.pv]:
            p = self.store.mean_measurement(asset_id, "p_kw", wall_start.to_pydatetime(), wall_end.to_pydatetime())
            if p is not None:
                rows.append(SeriesRow(f"asset/{asset_id}", "p_kw", data_start.to_pydatetime(), p))
        upsert_measured(self.store, rows, "telemetry", received_at)
        self.derive(data_start, received_at)

    def derive(self, data_start: pd.Timestamp, received_at: datetime) -> float | None:
        """Store the derived inflexible load of one interval when its inputs are measured; return it."""
        have = measured_at(self.store, data_start.to_pydatetime())
        own = {a: have.get(f"asset/{a}") for a in self.own_ids}
        pv = {s: have.get(s) for s in self.pv_series}
        missing = [k for k, v in {self.meter_series: have.get(self.meter_series), **own, **pv}.items() if v is None]
        if missing:
            log.debug("inflexible load of %s not derived: %s not measured", data_start, missing[:5])
            return None
        value = inflexible_load_kw(have[self.meter_series], own, pv)
        upsert_measured(self.store, [SeriesRow(self.derived_series, "p_kw", data_start.to_pydatetime(), value)],
                        "derived", received_at)
        return value
