"""The intensity each interval is booked with: the measured value covering it, else an estimate."""

from __future__ import annotations

import pandas as pd

AVERAGE = ("average_direct", "average_lifecycle")


def booking_intensity(measured: pd.DataFrame, index: pd.DatetimeIndex, signal: str = "average") -> pd.DataFrame:
    """Per interval of ``index``: ``ci_kg_per_kwh``, ``signal_type``, ``source``, ``issued_at_utc``,
    ``estimated`` and ``method``.

    ``measured`` is the canonical carbon frame of measured rows (``adapters.carbon``). An interval
    is booked with the row whose ``[start, start + resolution_min)`` covers it (``measured``); an
    interval no row covers takes the latest earlier row and is an estimate (``carried forward``),
    to be re-booked when its row arrives. ``signal``: ``average`` (location-based: average rows
    only) or ``marginal``. Intervals before the first row are left NaN."""
    rows = measured[measured.signal_type.isin(AVERAGE)] if signal == "average" else \
        measured[measured.signal_type == "marginal"]
    rows = rows.sort_index()
    out = pd.DataFrame(index=index)
    if rows.empty:
        return out.assign(ci_kg_per_kwh=float("nan"), signal_type=None, source=None, issued_at_utc=pd.NaT,
                          estimated=True, method="no intensity")
    pos = rows.index.searchsorted(index, side="right") - 1
    found = pos >= 0
    picked = rows.iloc[pos.clip(min=0)]
    starts = picked.index
    covered = found & (index < starts + pd.to_timedelta(picked.resolution_min.to_numpy(), unit="min"))
    out["ci_kg_per_kwh"] = picked.ci_kg_per_kwh.to_numpy()
    out["signal_type"] = picked.signal_type.to_numpy()
    out["source"] = picked.source.to_numpy()
    out["issued_at_utc"] = picked.issued_at_utc.to_numpy()
    out["estimated"] = ~covered
    flagged = picked.is_estimated.to_numpy().astype(bool)
    out["method"] = [("measured (the provider marks it estimated)" if f else "measured") if c
                     else f"carried forward from {s.isoformat()}"
                     for c, f, s in zip(covered, flagged, starts, strict=True)]
    out.loc[~found, ["ci_kg_per_kwh"]] = float("nan")
    return out
