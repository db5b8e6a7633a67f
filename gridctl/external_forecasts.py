"""Forecasts handed in from outside (a vendor, a SCADA system, a site's own models).

``POST /api/forecasts`` stores rows in the canonical form (``series_id``, ``quantity``,
``interval_start_utc``, ``value``, ``issued_at_utc``) for the series of ``[forecast_sources]
external``. Per quantity (``load_kw``: the district's inflexible load, ``pv_kw``: its PV,
``ci_kg_per_kwh``: grid carbon intensity) ``[forecast_sources] source`` chooses gridctl's own
forecaster or the newest external forecast issued before the issue time; an external forecast
older than ``max_age_h`` is stale and gridctl's own is used, and the plan record says which
(``forecast_sources`` in its summary). External district totals scale gridctl's per-group
forecasts so that they sum to the external value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from gridctl import forecasting
from gridctl.config import Config
from gridctl.district import District
from gridctl.measurements import BatchError, SeriesSpec, check_rows
from gridctl.store import Store
from gridctl.store.series import forecast_rows, upsert_forecasts

ATTRIBUTE = {"load_kw": "load", "pv_kw": "pv", "ci_kg_per_kwh": "carbon"}  # DistrictForecasters field
HORIZON = pd.Timedelta(days=3)  # how far ahead external rows are read for one cycle


class ExternalOverlay:
    """One of gridctl's forecasters, replaced by a fresh external forecast where one covers the horizon."""

    def __init__(self, own, quantity: str, max_age: pd.Timedelta):
        self.own, self.quantity, self.max_age = own, quantity, max_age
        self.rows = pd.DataFrame(columns=["value", "issued_at"])  # the newest external forecast
        self.used = "own"

    def __getattr__(self, name: str):
        return getattr(self.own, name)

    def predict(self, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex) -> pd.DataFrame:
        own = self.own.predict(issue_time, horizon)
        rows = self.rows[pd.to_datetime(self.rows.issued_at, utc=True) <= issue_time]
        if rows.empty:
            self.used = "own (no external forecast issued before the issue time)"
            return own
        issued = pd.to_datetime(rows.issued_at, utc=True).max()
        if issue_time - issued > self.max_age:
            self.used = f"own (external forecast issued {issued.isoformat()} is stale: older than {self.max_age})"
            return own
        ext = rows.value.reindex(horizon)
        self.used = f"external (issued {issued.isoformat()}, {int(ext.notna().sum())} of {len(horizon)} intervals)"
        if self.quantity == "ci_kg_per_kwh":
            out = own.copy()
            out["ci_kg_per_kwh"] = ext.fillna(own["ci_kg_per_kwh"])
            out.loc[ext.notna(), "source"] = "external"
            out.attrs = own.attrs
            return out
        total = own.sum(axis=1)
        factor = (ext / total).where((total > 0) & ext.notna(), 1.0)
        return own.mul(factor, axis=0)


def overlay(district: District, config: Config) -> dict[str, ExternalOverlay]:
    """Wrap the planning district's forecasters of every quantity whose source is ``external``."""
    fitted = forecasting.district_forecasters(district)
    max_age = pd.Timedelta(hours=config.forecast_sources.max_age_h)
    out = {q: ExternalOverlay(getattr(fitted, ATTRIBUTE[q]), q, max_age)
           for q, source in config.forecast_sources.source.items() if source == "external"}
    forecasting._FITTED[district] = replace(fitted, **{ATTRIBUTE[q]: o for q, o in out.items()})
    return out


def refresh(overlays: dict[str, ExternalOverlay], store: Store, config: Config, data_now: pd.Timestamp) -> None:
    """Load each overlay's newest external forecast issued by ``data_now``."""
    for quantity, o in overlays.items():
        series = [s for s, q in config.forecast_sources.external.items() if q == quantity]
        o.rows = forecast_rows(store, series[0], data_now.to_pydatetime(), (data_now - HORIZON).to_pydatetime(),
                               (data_now + HORIZON).to_pydatetime()) if series else o.rows.iloc[:0]


def ingest_forecasts(store: Store, rows: Sequence[dict], config: Config, data_now: pd.Timestamp, source: str) -> int:
    """Validate a batch of external forecast rows and store it (all or nothing); rows new or changed."""
    known = {s: SeriesSpec(q, True) for s, q in config.forecast_sources.external.items()}
    far = pd.Timestamp.max.tz_localize("UTC")
    good, problems = check_rows(rows, known, config.site.resolution_min, far)
    for i, row in enumerate(rows):
        try:
            issued = pd.Timestamp(row.get("issued_at_utc"))
        except (TypeError, ValueError):
            issued = None
        if issued is None or issued is pd.NaT or issued.tzinfo is None:
            problems.append(f"row {i}: issued_at_utc {row.get('issued_at_utc')!r}: give an ISO 8601 time with zone")
        elif issued > data_now:
            problems.append(f"row {i}: issued_at_utc {issued.isoformat()}: after now ({data_now.isoformat()})")
    if problems:
        raise BatchError(sorted(problems, key=lambda p: int(p.split(":")[0].split()[1])))
    issued_at = [pd.Timestamp(r["issued_at_utc"]).tz_convert("UTC").to_pydatetime() for r in rows]
    return upsert_forecasts(store, [replace(r, issued_at=t) for r, t in zip(good, issued_at)], source)
