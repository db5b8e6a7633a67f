"""Measurements in: the catalogue of known series, validation of a batch, the store entry point.

Every way in (the grid-connection meter, ``POST /api/measurements``, MQTT) ends in
:func:`ingest`: a batch is checked row by row and stored in one transaction only when every row
is valid, so a bad batch writes nothing and a resent batch changes nothing.

Interval starts are UTC on the data clock (the wall clock when ``[daemon] data_year = 0``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from gridctl.config import Config
from gridctl.store import Store
from gridctl.store.series import SeriesRow, upsert_measured

NONNEGATIVE_QUANTITIES = {"ci_kg_per_kwh", "ghi_w_m2", "cloud_cover_pct"}


class BatchError(ValueError):
    """A batch with bad rows; ``problems`` holds one line per bad row (``row <i>: ...``)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class SeriesSpec:
    """A series gridctl accepts: its quantity and whether a negative value is impossible."""

    quantity: str
    nonnegative: bool


def catalogue(config: Config, load_series: Iterable[str], pv_series: Iterable[str]) -> dict[str, SeriesSpec]:
    """Known measured series: the history's load (``load/...``) and PV (``pv/...``) groups (kW, >= 0),
    the grid-connection meter (net import, kW, either sign), the derived inflexible load, the grid's
    carbon intensity (kg/kWh), each asset's power (``asset/<id>``, load-referenced) and
    ``[measurements] series``."""
    m = config.measurements
    out = {s: SeriesSpec("p_kw", True) for s in [*load_series, *pv_series]}
    out[m.meter_series] = SeriesSpec("p_kw", False)
    out[m.derived_load_series] = SeriesSpec("p_kw", True)
    out[m.carbon_series] = SeriesSpec("ci_kg_per_kwh", True)
    out.update({f"asset/{a.id}": SeriesSpec("p_kw", False) for a in config.assets.all()})
    for series_id, quantity in m.series.items():
        out[series_id] = SeriesSpec(quantity, quantity in NONNEGATIVE_QUANTITIES or series_id in m.nonnegative)
    return out


def on_grid(t: pd.Timestamp, resolution_min: int) -> bool:
    """True when ``t`` is an interval start of the ``resolution_min`` grid (UTC)."""
    return t == t.floor(f"{resolution_min}min")


def check_rows(rows: Sequence[dict], known: dict[str, SeriesSpec], resolution_min: int,
               latest_start: pd.Timestamp) -> tuple[list[SeriesRow], list[str]]:
    """Canonical rows and one problem line per bad row (0-based ``row <i>``).

    A row is ``{"series_id", "quantity", "interval_start_utc", "value"}``; bad: unknown series or
    quantity, a value that is not a finite number (or negative where impossible), a stamp without
    zone, off the interval grid, or starting after ``latest_start``; a series stamped twice."""
    good: list[SeriesRow] = []
    problems: list[str] = []
    seen: set[tuple[str, str, pd.Timestamp]] = set()
    for i, row in enumerate(rows):
        why = _row_problem(row, known, resolution_min, latest_start)
        if why is None:
            t = pd.Timestamp(row["interval_start_utc"]).tz_convert("UTC")
            key = (row["series_id"], row["quantity"], t)
            why = "repeats an earlier row's series and interval" if key in seen else None
            seen.add(key)
        if why:
            problems.append(f"row {i}: {why}")
        else:
            good.append(SeriesRow(row["series_id"], row["quantity"], t.to_pydatetime(), float(row["value"])))
    return good, problems


def _row_problem(row: dict, known: dict[str, SeriesSpec], resolution_min: int,
                 latest_start: pd.Timestamp) -> str | None:
    series_id, quantity, value = row.get("series_id"), row.get("quantity"), row.get("value")
    spec = known.get(series_id)
    if spec is None:
        return f"series_id {series_id!r}: unknown series; known are e.g. {sorted(known)[:5]} (see [measurements])"
    if quantity != spec.quantity:
        return f"quantity {quantity!r}: series {series_id!r} is measured as {spec.quantity!r}"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f"value {value!r}: not a finite number"
    if spec.nonnegative and value < 0:
        return f"value {value}: {series_id} cannot be negative"
    try:
        t = pd.Timestamp(row.get("interval_start_utc"))
    except (TypeError, ValueError):
        return f"interval_start_utc {row.get('interval_start_utc')!r}: not an ISO 8601 time"
    if t is pd.NaT or t.tzinfo is None:
        return f"interval_start_utc {row.get('interval_start_utc')!r}: give a time with zone (e.g. ...Z)"
    if not on_grid(t.tz_convert("UTC"), resolution_min):
        return f"interval_start_utc {t.isoformat()}: not on the {resolution_min}-minute interval grid"
    if t > latest_start:
        return f"interval_start_utc {t.isoformat()}: in the future (latest allowed {latest_start.isoformat()})"
    return None


def latest_start(config: Config, data_now: pd.Timestamp) -> pd.Timestamp:
    """The newest interval start a measurement may carry at data-clock time ``data_now``: the current
    interval's (a running mean), plus ``[measurements] future_tolerance_min``."""
    res = config.site.resolution_min
    return (pd.Timestamp(data_now).tz_convert("UTC") + pd.Timedelta(minutes=config.measurements.future_tolerance_min)
            ).floor(f"{res}min")


def ingest(store: Store, rows: Sequence[dict], known: dict[str, SeriesSpec], resolution_min: int,
           latest: pd.Timestamp, source: str, received_at: datetime) -> int:
    """Validate a batch and store it in one transaction; raise :class:`BatchError` (nothing stored)
    when any row is bad. Returns the rows new or changed (0 for a resent batch)."""
    good, problems = check_rows(rows, known, resolution_min, latest)
    if problems:
        raise BatchError(problems)
    return upsert_measured(store, good, source, received_at)
