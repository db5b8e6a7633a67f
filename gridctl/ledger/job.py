"""The daemon's ledger job: (re-)book the last day's intervals from the store's measured series.

Runs in a worker thread every interval. Each run books every interval of the last
``WINDOW`` (data clock) whose grid energy and intensity are known by now; an interval booked
earlier with the same figures is skipped, one whose meter reading or intensity arrived since is
re-booked as a new version (:func:`gridctl.store.ledger.append`). Nothing is lost while the store
is away: the inputs are in the store (or its journal) and the next run books them."""

from __future__ import annotations

from importlib.metadata import version

import pandas as pd

from gridctl.clock import DaemonClock
from gridctl.district import District
from gridctl.ledger.book import book
from gridctl.ledger.chain import config_hash
from gridctl.ledger.intensity import booking_intensity
from gridctl.ledger.live import live_inputs
from gridctl.store import Store
from gridctl.store.ledger import append, instrument_use_kwh
from gridctl.store.series import measured_frame

WINDOW = pd.Timedelta(hours=24)


def own_assets(district: District) -> list[str]:
    a = district.config.assets
    return [x.id for x in (*a.battery, *a.ev_charger, *a.heat_pump, *a.process_load)]


def book_recent(store: Store, district: District, clock: DaemonClock, now: pd.Timestamp) -> int:
    """Book the intervals of the last ``WINDOW`` before ``now`` (daemon clock); return rows appended."""
    res = pd.Timedelta(minutes=district.resolution_min)
    data_now = clock.data_time(now)
    end = data_now.floor(res)
    index = pd.date_range(end - WINDOW, end, freq=res, inclusive="left")
    meter = district.config.measurements.meter_series
    assets = own_assets(district)
    measured = measured_frame(store, [meter, *district.load_series, *district.pv_series,
                                      *(f"asset/{a}" for a in assets)], index[0].to_pydatetime(), end.to_pydatetime())
    planned = store.plan_view(clock.wall_time(index[0]).to_pydatetime(), clock.wall_time(end).to_pydatetime())
    planned.index = clock.data_time(planned.index)
    inputs = live_inputs(index, measured, meter, district.load_series, district.pv_series, assets, planned,
                         res.total_seconds() / 3600)
    carbon = district.measured_carbon
    intensity = booking_intensity(carbon[carbon.issued_at_utc <= data_now], inputs.grid_kwh.index)
    known = intensity.index[intensity.ci_kg_per_kwh.notna()]
    if known.empty:
        return 0
    base = {"meter": meter, "gridctl_version": version("gridctl"), "config_hash": config_hash(district.config)}
    refs = pd.Series([{**base, "plan_version": None if pd.isna(v) else int(v)}
                      for v in planned.get("plan_version", pd.Series(dtype=float)).reindex(known)], index=known)
    rows = book(inputs.grid_kwh[known], inputs.members_kwh.loc[known], intensity, district.config.ledger,
                district.tz, refs=refs, grid_estimated=inputs.estimated, grid_method=inputs.method,
                used_kwh=instrument_use_kwh(store, known[0].to_pydatetime()))
    return append(store, rows, now.to_pydatetime())
