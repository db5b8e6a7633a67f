"""Forecasts handed in from outside (a vendor, a SCADA system, a site's own models).

``POST /api/forecasts``, the file ``[forecast_sources] file`` (read again when it changes) and the
MQTT topics ``[feeds.mqtt] forecast_topics`` store rows in the canonical form (``series_id``,
``quantity``, ``interval_start_utc``, ``value``, ``issued_at_utc``) for the series of
``[forecast_sources] external``, validated alike (:func:`check_forecasts`). Per quantity (``load_kw``: the district's inflexible load, ``pv_kw``: its PV,
``ci_kg_per_kwh``: grid carbon intensity) ``[forecast_sources] source`` chooses gridctl's own
forecaster or the newest external forecast issued before the issue time; an external forecast
older than ``max_age_h`` is stale and gridctl's own is used, and the plan record says which
(``forecast_sources`` in its summary). External district totals scale gridctl's per-group
forecasts so that they sum to the external value.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from gridctl import forecasting
from gridctl.config import Config
from gridctl.district import District
from gridctl.measurements import BatchError, SeriesSpec, check_rows
from gridctl.store import Store
from gridctl.store.series import SeriesRow, forecast_rows, upsert_forecasts

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

    def predict(self, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex, **options) -> pd.DataFrame:
        """gridctl's forecast (``options`` passed on, e.g. ``use_provider``), replaced by the external one where fresh."""
        own = self.own.predict(issue_time, horizon, **options)
        ext = self._external(issue_time, horizon)
        if ext is None:
            return own
        if self.quantity == "ci_kg_per_kwh":
            out = own.copy()
            out["ci_kg_per_kwh"] = ext.fillna(own["ci_kg_per_kwh"])
            out.loc[ext.notna(), "source"] = "external"
            out.attrs = own.attrs
            return out
        return own.mul(_factor(own, ext), axis=0)

    def predict_quantiles(self, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex,
                          quantiles: tuple[float, ...]) -> dict[float, pd.DataFrame]:
        """Load quantiles: every quantile scaled as the median is to the external total."""
        own = self.own.predict_quantiles(issue_time, horizon, tuple(sorted({0.5, *quantiles})))
        ext = self._external(issue_time, horizon)
        factor = 1.0 if ext is None else _factor(own[0.5], ext)
        return {q: own[q].mul(factor, axis=0) for q in quantiles}

    def _external(self, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex) -> pd.Series | None:
        """The newest external forecast issued by ``issue_time`` on ``horizon`` (NaN where it has no
        row), None when there is none or it is stale; records which was used."""
        rows = self.rows[pd.to_datetime(self.rows.issued_at, utc=True) <= issue_time]
        if rows.empty:
            self.used = "own (no external forecast issued before the issue time)"
            return None
        issued = pd.to_datetime(rows.issued_at, utc=True).max()
        if issue_time - issued > self.max_age:
            self.used = f"own (external forecast issued {issued.isoformat()} is stale: older than {self.max_age})"
            return None
        ext = rows.value.reindex(horizon)
        self.used = f"external (issued {issued.isoformat()}, {int(ext.notna().sum())} of {len(horizon)} intervals)"
        return ext


def _factor(own: pd.DataFrame, ext: pd.Series) -> pd.Series:
    """Per interval, external total over gridctl's (1 where there is no external row or no own total)."""
    total = own.sum(axis=1)
    return (ext / total).where((total > 0) & ext.notna(), 1.0)


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


def check_forecasts(rows: Sequence[dict], config: Config, data_now: pd.Timestamp) -> list[SeriesRow]:
    """Canonical rows of a batch of external forecast rows; :class:`BatchError` naming every bad row."""
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
    return [replace(r, issued_at=t) for r, t in zip(good, issued_at, strict=True)]


def ingest_forecasts(store: Store, rows: Sequence[dict], config: Config, data_now: pd.Timestamp, source: str) -> int:
    """Validate a batch of external forecast rows and store it (all or nothing); rows new or changed."""
    return upsert_forecasts(store, check_forecasts(rows, config, data_now), source)


def read_forecast_file(path: Path) -> list[dict]:
    """Rows of a forecast file in the canonical form: CSV (a header row) or JSON (a list of rows or
    ``{"rows": [...]}``); :class:`gridctl.measurements.BatchError` when it is neither."""
    try:
        if path.suffix.lower() == ".json":
            doc = json.loads(path.read_text())
            rows = doc.get("rows") if isinstance(doc, dict) else doc
        else:
            rows = pd.read_csv(path, dtype={"value": float}).to_dict("records")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise BatchError([f"row 0: {path.name}: {exc}"]) from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise BatchError([f"row 0: {path.name}: give a list of rows or {{\"rows\": [...]}}"])
    return rows


class ForecastFile:
    """``[forecast_sources] file``: read again (and stored like ``POST /api/forecasts``) whenever its
    modification time or size changes; a bad file is reported and nothing of it is stored."""

    def __init__(self, config: Config, report):
        self.config, self.report = config, report  # report(severity, kind, message): the daemon's event
        self.path = config.resolve(config.forecast_sources.file) if config.forecast_sources.file else None
        self.seen: tuple[float, int] | None = None

    def poll(self, store: Store, data_now: pd.Timestamp) -> int | None:
        """Store the file's rows when it changed since the last poll; rows new or changed (None: unchanged)."""
        if self.path is None or not self.path.exists():
            return None
        stat = self.path.stat()
        if (stat.st_mtime, stat.st_size) == self.seen:
            return None
        self.seen = (stat.st_mtime, stat.st_size)
        try:
            written = ingest_forecasts(store, read_forecast_file(self.path), self.config, data_now, "file")
        except BatchError as exc:
            self.report("warning", "forecast_file_rejected", f"{self.path}: nothing stored: "
                        + "; ".join(exc.problems[:10]) + (" ..." if len(exc.problems) > 10 else ""))
            return 0
        self.report("info", "forecast_file", f"{self.path}: {written} rows new or changed")
        return written
