"""Readers of carbon-intensity files in providers' formats, into the canonical in-memory frame.

Every reader returns the frame of :mod:`adapters.carbon` (UTC interval starts,
``ci_kg_per_kwh``, ``signal_type``, ``resolution_min``, ``zone``, ``source``,
``issued_at_utc``, ``is_estimated``) and raises :class:`DataError` listing every bad row with
its row number and column: values that are not numbers (``n/e``, ``N/A``, empty, NaN),
negative values, unparsable, duplicate or DST-ambiguous time stamps. Nothing is dropped
silently. Row numbers are 1-based file lines (header = line 1) for CSV files and list
positions (``data[i]``) for JSON.

Formats:

* **Electricity Maps data-portal CSV export**: ``Datetime (UTC)`` (zone-less, UTC), ``Zone Id``,
  ``Carbon intensity gCO₂eq/kWh (direct)`` and ``... (Life cycle)`` (older exports: ``(LCA)``),
  ``Data estimated``. Hourly unless ``resolution_min`` says otherwise.
* **WattTime-style JSON** (v3 ``historical``/``forecast`` responses): ``{"data": [{"point_time",
  "value"}], "meta": {"region", "signal_type", "units", "data_point_period_seconds",
  "generated_at"}}``. MOER in ``lbs_co2_per_mwh`` is converted (1 lb/MWh = 0.45359237e-3
  kg/kWh). With ``generated_at`` (a forecast) every row is issued then; otherwise at its start.
* **ENTSO-E "Actual Generation per Production Type" CSV** (Transparency Platform export):
  ``MTU`` (``"01.01.2016 00:00 - 01.01.2016 00:15"``, local ``(CET/CEST)`` or ``(UTC)`` as the
  column header says) and one ``<type>  - Actual Aggregated [MW]`` column per production type.
  Intensity = sum(MW x factor) / sum(MW) with the life-cycle factors of
  :data:`ENTSOE_FACTORS_KG_PER_KWH`. A column that is ``n/e`` (not expected) in *every* row is a
  type the area does not have and is left out; ``n/e`` next to numbers is a bad row.
  ``Hydro Pumped Storage`` is left out (its output is stored energy, counted where it was
  generated). In local time, the repeated hour of the autumn DST change cannot be told apart:
  those rows are reported as ambiguous; export in UTC instead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from adapters.carbon import SIGNAL_TYPES, UNIT_TO_KG_PER_KWH
from adapters.errors import DataError, read_text_csv

# Life-cycle emission factors, kg CO2eq per kWh generated: medians of IPCC AR5 WG3 Annex III
# (2014, table A.III.2) where it gives one; "assumed" marks values chosen for types it lacks.
ENTSOE_FACTORS_KG_PER_KWH = {
    "Biomass": 0.230,
    "Fossil Brown coal/Lignite": 0.820,
    "Fossil Coal-derived gas": 0.820,  # assumed: a coal product
    "Fossil Gas": 0.490,
    "Fossil Hard coal": 0.820,
    "Fossil Oil": 0.650,
    "Fossil Oil shale": 0.650,  # assumed: as oil
    "Fossil Peat": 0.820,  # assumed: as coal
    "Geothermal": 0.038,
    "Hydro Run-of-river and poundage": 0.024,
    "Hydro Water Reservoir": 0.024,
    "Marine": 0.017,
    "Nuclear": 0.012,
    "Other": 0.700,  # assumed: unknown thermal mix
    "Other renewable": 0.030,  # assumed
    "Solar": 0.045,  # between rooftop (0.041) and utility (0.048)
    "Waste": 0.700,  # assumed: as other thermal
    "Wind Offshore": 0.012,
    "Wind Onshore": 0.011,
}
ENTSOE_EXCLUDED = {"Hydro Pumped Storage"}
EM_COLUMNS = {
    "average_direct": ("carbon intensity gco₂eq/kwh (direct)",),
    "average_lifecycle": ("carbon intensity gco₂eq/kwh (life cycle)", "carbon intensity gco₂eq/kwh (lca)"),
}
WATTTIME_UNITS = {"lbs_co2_per_mwh": "lbs_per_mwh", "g_co2_per_kwh": "g_per_kwh", "kg_co2_per_kwh": "kg_per_kwh"}
MISSING_MARKERS = {"", "n/e", "n/a", "na", "nan", "-"}


def _numbers(values: pd.Series, column: str, source: str, line) -> tuple[pd.Series, list[str]]:
    """Non-negative floats; every other cell is one problem naming its row and column."""
    text = values.astype(str).str.strip()
    number = pd.to_numeric(text.where(~text.str.lower().isin(MISSING_MARKERS)), errors="coerce")
    bad = (number.isna() | (number < 0)).to_numpy().nonzero()[0]
    problems = [f"{source}: {line(pos)}, column {column!r}: {text.iloc[pos]!r} is not a non-negative number"
                for pos in bad]
    return number, problems


def _csv_line(pos: int) -> str:
    return f"row {pos + 2}"


def _json_line(pos: int) -> str:
    return f"row {pos + 1} (data[{pos}])"


def _duplicates(stamps: pd.Series, column: str, source: str, line) -> list[str]:
    """One problem per repeated time stamp (all but its first occurrence)."""
    dup = (stamps.duplicated(keep="first") & stamps.notna()).to_numpy().nonzero()[0]
    return [f"{source}: {line(pos)}, column {column!r}: duplicate time stamp {stamps.iloc[pos]}" for pos in dup]


def carbon_frame(starts: pd.DatetimeIndex, ci_kg_per_kwh, signal_type: str, resolution_min: int, zone, source: str,
           issued_at, estimated) -> pd.DataFrame:
    """The canonical in-memory carbon frame, sorted by interval start."""
    n = len(starts)
    out = pd.DataFrame(
        {
            "ci_kg_per_kwh": np.asarray(ci_kg_per_kwh, dtype=float),
            "signal_type": signal_type,
            "resolution_min": resolution_min,
            "zone": np.broadcast_to(np.asarray(zone, dtype=object), n),
            "source": source,
            "issued_at_utc": pd.DatetimeIndex(issued_at),
            "is_estimated": np.broadcast_to(np.asarray(estimated, dtype=bool), n),
        },
        index=pd.DatetimeIndex(starts, name="interval_start_utc"),
    )
    return out.sort_index(kind="stable")


def _utc_stamps(values: pd.Series, column: str, source: str, fmt: str | None, line) -> tuple[pd.Series, list[str]]:
    text = values.str.strip()
    if fmt == "ISO8601":  # the offset is required: a zone-less stamp is ambiguous
        text = text.where(text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$"), "")
    parsed = pd.to_datetime(text, format=fmt, utc=True, errors="coerce")
    problems = [f"{source}: {line(pos)}, column {column!r}: {values.iloc[pos]!r} is not a time stamp "
                f"({'ISO 8601 with a UTC offset' if fmt == 'ISO8601' else fmt})"
                for pos in parsed.isna().to_numpy().nonzero()[0]]
    return parsed, problems


def read_electricitymaps_csv(path: str | Path, signal_type: str = "average_lifecycle",
                             resolution_min: int = 60) -> pd.DataFrame:
    """Read an Electricity Maps data-portal CSV export (g/kWh) as ``signal_type``."""
    source = str(path)
    if signal_type not in EM_COLUMNS:
        raise DataError([(f"{source}: signal_type {signal_type!r} is not in an Electricity Maps export; "
                          f"use one of {sorted(EM_COLUMNS)}")])
    raw = read_text_csv(path, "Electricity Maps")
    by_lower = {c.strip().lower(): c for c in raw.columns}
    value_col = next((by_lower[c] for c in EM_COLUMNS[signal_type] if c in by_lower), None)
    missing = [c for c, found in (("Datetime (UTC)", "datetime (utc)" in by_lower), (EM_COLUMNS[signal_type][0], value_col))
               if not found]
    if missing:
        raise DataError([f"{source}: missing columns {missing}; is this an Electricity Maps data-portal export?"])
    time_col = by_lower["datetime (utc)"]
    starts, problems = _utc_stamps(raw[time_col], time_col, source, "%Y-%m-%d %H:%M:%S", _csv_line)
    grams, more = _numbers(raw[value_col], value_col, source, _csv_line)
    problems += more
    problems += _duplicates(starts, time_col, source, _csv_line)
    if problems:
        raise DataError(problems)
    zone = raw[by_lower["zone id"]] if "zone id" in by_lower else ""
    estimated = raw[by_lower["data estimated"]].str.lower().isin(["true", "1", "yes"]) if "data estimated" in by_lower else False
    return carbon_frame(pd.DatetimeIndex(starts), grams * UNIT_TO_KG_PER_KWH["g_per_kwh"], signal_type, resolution_min,
                  zone, "electricitymaps", starts, estimated)


def read_watttime_json(path: str | Path) -> pd.DataFrame:
    """Read a WattTime-style JSON response file (MOER; ``marginal`` unless its meta says otherwise)."""
    source = str(path)
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise DataError([f"{source}: WattTime JSON file not found"]) from None
    except json.JSONDecodeError as exc:
        raise DataError([f"{source}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})"]) from None
    return watttime_frame(doc, source)


def json_points(data: list, time_key: str, value_key: str, source: str,
                skip_null: bool = False) -> tuple[pd.DatetimeIndex, pd.Series]:
    """UTC stamps (ISO 8601 with an offset) and non-negative values of a JSON list of points.

    Raises :class:`DataError` naming each bad row (``data[i]``); with ``skip_null`` points whose
    value is ``null`` (a provider's "not known") are left out instead."""
    points = pd.DataFrame([p if isinstance(p, dict) else {} for p in data]).reindex(columns=[time_key, value_key])
    keep = points[value_key].notna().to_numpy() if skip_null else np.ones(len(points), dtype=bool)
    points = points.astype(object).fillna("").astype(str)
    stamps, problems = _utc_stamps(points[time_key], time_key, source, "ISO8601", _json_line)
    value, more = _numbers(points[value_key], value_key, source, _json_line)
    problems += more + _duplicates(stamps, time_key, source, _json_line)
    problems = [p for p in problems if keep[int(re.search(r"data\[(\d+)\]", p).group(1))]]
    if problems:
        raise DataError(problems)
    return pd.DatetimeIndex(stamps[keep]), value[keep].reset_index(drop=True)


def watttime_frame(doc: dict, source: str) -> pd.DataFrame:
    """The canonical frame of one WattTime v3 ``historical`` or ``forecast`` response document."""
    meta, data = doc.get("meta", {}), doc.get("data")
    if not isinstance(data, list) or not data:
        raise DataError([f"{source}: no 'data' list of {{'point_time', 'value'}} points"])
    units = meta.get("units", "lbs_co2_per_mwh")
    if units not in WATTTIME_UNITS:
        raise DataError([f"{source}: meta.units {units!r} is not one of {sorted(WATTTIME_UNITS)}"])
    signal = meta.get("signal_type", "co2_moer")
    signal_type = "marginal" if "moer" in signal else signal
    if signal_type not in SIGNAL_TYPES:
        raise DataError([f"{source}: meta.signal_type {signal!r} is not a MOER nor one of {list(SIGNAL_TYPES)}"])
    stamps, value = json_points(data, "point_time", "value", source)
    period_s = int(meta.get("data_point_period_seconds", 300))
    generated = meta.get("generated_at")
    issued = pd.DatetimeIndex([pd.Timestamp(generated)] * len(stamps)).tz_convert("UTC") if generated else stamps
    factor = UNIT_TO_KG_PER_KWH[WATTTIME_UNITS[units]]
    return carbon_frame(pd.DatetimeIndex(stamps), value * factor, signal_type, period_s // 60, meta.get("region", ""),
                        "watttime", issued, bool(generated))


def read_entsoe_generation_csv(path: str | Path, zone: str = "") -> pd.DataFrame:
    """Read an ENTSO-E generation-per-type CSV and turn it into life-cycle carbon intensity."""
    source = str(path)
    raw = read_text_csv(path, "ENTSO-E generation")
    mtu_col = next((c for c in raw.columns if c.startswith("MTU")), None)
    if mtu_col is None:
        raise DataError([f"{source}: no 'MTU' column; is this an ENTSO-E 'Actual Generation per Production Type' export?"])
    starts, resolution, problems = _entsoe_intervals(raw[mtu_col], mtu_col, source)
    total = pd.Series(0.0, index=raw.index)
    weighted = pd.Series(0.0, index=raw.index)
    for column in raw.columns:
        m = re.match(r"^(.*?)\s+-\s+Actual Aggregated \[MW\]$", column)
        if not m or m.group(1) in ENTSOE_EXCLUDED:
            continue
        fuel = m.group(1)
        if raw[column].str.strip().str.lower().eq("n/e").all():
            continue
        if fuel not in ENTSOE_FACTORS_KG_PER_KWH:
            problems.append(f"{source}: column {column!r}: no emission factor for {fuel!r}; "
                            f"known types are {sorted(ENTSOE_FACTORS_KG_PER_KWH)}")
            continue
        mw, more = _numbers(raw[column], column, source, _csv_line)
        problems += more
        total += mw.fillna(0.0)
        weighted += mw.fillna(0.0) * ENTSOE_FACTORS_KG_PER_KWH[fuel]
    for pos in (total <= 0).to_numpy().nonzero()[0]:
        if not any(f"row {pos + 2}," in p for p in problems):
            problems.append(f"{source}: row {pos + 2}: no generation reported in any production type column")
    problems += _duplicates(starts, mtu_col, source, _csv_line)
    if problems:
        raise DataError(problems)
    return carbon_frame(pd.DatetimeIndex(starts), (weighted / total).to_numpy(), "average_lifecycle", resolution, zone,
                  "entsoe", pd.DatetimeIndex(starts) + pd.Timedelta(minutes=resolution), False)


def _entsoe_intervals(mtu: pd.Series, column: str, source: str) -> tuple[pd.Series, int, list[str]]:
    """UTC starts and resolution of ENTSO-E ``MTU`` ranges; zone from the column header."""
    zone = "UTC" if "(UTC)" in column else "Europe/Brussels"
    parts = mtu.str.split(" - ", n=1, expand=True).reindex(columns=[0, 1])
    fmt = "%d.%m.%Y %H:%M"
    start_local = pd.to_datetime(parts[0].str.strip(), format=fmt, errors="coerce")
    end_local = pd.to_datetime(parts[1].str.strip().str.replace(r"\s*\(.*\)$", "", regex=True), format=fmt, errors="coerce")
    problems = [f"{source}: row {pos + 2}, column {column!r}: {mtu.iloc[pos]!r} is not 'dd.mm.yyyy HH:MM - dd.mm.yyyy HH:MM'"
                for pos in (start_local.isna() | end_local.isna()).to_numpy().nonzero()[0]]
    length = (end_local - start_local).dropna()
    length = length[length > pd.Timedelta(0)]
    resolution = int(length.mode().iloc[0].total_seconds() // 60) if len(length) else 60
    if zone == "UTC":
        return start_local.dt.tz_localize("UTC"), resolution, problems
    starts = start_local.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    for pos in (starts.isna() & start_local.notna()).to_numpy().nonzero()[0]:
        problems.append(f"{source}: row {pos + 2}, column {column!r}: {mtu.iloc[pos]!r} is ambiguous or does not "
                        "exist in local time (DST change); export the data with MTU in UTC")
    return starts.dt.tz_convert("UTC"), resolution, problems
