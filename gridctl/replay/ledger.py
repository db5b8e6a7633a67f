"""The carbon ledger of a replayed period, booked exactly as the daemon books live intervals
(:mod:`gridctl.ledger`), into ``ledger.sqlite`` beside the replay's other files."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from gridctl.district import District
from gridctl.ledger.book import book
from gridctl.ledger.chain import config_hash
from gridctl.ledger.intensity import booking_intensity
from gridctl.replay.run import CONTROLLER, ReplayResult
from gridctl.store import Store
from gridctl.store.ledger import append

LEDGER_FILE = "ledger.sqlite"


def _scaled(groups: pd.DataFrame, total_kw: pd.Series) -> pd.DataFrame:
    """Group series scaled so that every row sums to ``total_kw`` (0 where the groups are all 0)."""
    s = groups.sum(axis=1)
    return groups.mul((total_kw / s.where(s != 0, np.nan)).fillna(0.0), axis=0)


def member_energy_kwh(district: District, operation: pd.DataFrame) -> pd.DataFrame:
    """Net kWh per member and interval: load series (scaled to the inflexible load), PV series
    (negative, scaled to the PV output), curtailment of each curtailable PV plant (positive) and each
    controllable asset's power; the members of a row sum to its grid import."""
    dt_h = district.resolution_min / 60.0
    hist = district.history.reindex(operation.index)
    loads = _scaled(hist[district.load_series], operation.load_kw)
    pv = -_scaled(hist[district.pv_series], operation.pv_kw)
    assets = operation[[c for c in operation.columns if c.endswith((".p_kw", ".curtailed_kw"))]]
    assets = assets.rename(columns=lambda c: c.rsplit(".", 1)[0])
    return pd.concat([loads, pv, assets], axis=1) * dt_h


def avoided_rows(district: District, result: ReplayResult, intensity: pd.DataFrame) -> pd.DataFrame:
    """Avoided kg per interval against the ``none`` baseline, plus the stored-energy adjustment of
    both runs at the last interval (so the rows sum to the adjusted difference of summary.json).
    Booked with the marginal intensity where the carbon data has one, else the average, labelled."""
    if "none" not in result.runs:
        return pd.DataFrame()
    dt_h = district.resolution_min / 60.0
    ours, base = result.runs[CONTROLLER], result.runs["none"]
    marginal = booking_intensity(district.measured_carbon, ours.index, signal="marginal")
    ci = marginal if marginal.ci_kg_per_kwh.notna().all() else intensity
    kg = (base.grid_import_kw.clip(lower=0) - ours.grid_import_kw.clip(lower=0)) * ci.ci_kg_per_kwh * dt_h
    runs = result.summary["runs"]
    adjust = [(runs["none"]["emissions_adjusted_kg"] - runs["none"]["emissions_kg"])
              - (runs[CONTROLLER]["emissions_adjusted_kg"] - runs[CONTROLLER]["emissions_kg"])]
    rows = pd.DataFrame({"interval_start": ours.index, "group_id": "vs-none", "location_kg": kg.to_numpy()})
    rows = pd.concat([rows, pd.DataFrame({"interval_start": ours.index[-1:], "group_id": "stored-energy-adjustment",
                                          "location_kg": adjust})], ignore_index=True)
    label = ci.signal_type.reindex(rows.interval_start).to_numpy()
    return rows.assign(grouping="avoided", energy_kwh=0.0, import_kwh=0.0, market_kg=np.nan,
                       ci_kg_per_kwh=ci.ci_kg_per_kwh.reindex(rows.interval_start).to_numpy(), signal_type=label,
                       ci_source=ci.source.reindex(rows.interval_start).to_numpy(),
                       ci_issued_at=ci.issued_at_utc.reindex(rows.interval_start).to_numpy(), estimated=False,
                       method="replay: no-control baseline minus gridctl, same actual data",
                       inputs=[{"baseline": "none"}] * len(rows))


def book_replay(district: District, result: ReplayResult, out: Path) -> Path:
    """Book gridctl's replayed operation (and its avoided emissions) into ``out/ledger.sqlite``."""
    operation = result.runs[CONTROLLER]
    dt_h = district.resolution_min / 60.0
    intensity = booking_intensity(district.measured_carbon, operation.index)
    refs = {"meter": "replay: simulated operation (intervals.csv)", "gridctl_version": version("gridctl"),
            "config_hash": config_hash(district.config), "replay": {"start": result.summary["start"],
                                                              "end": result.summary["end"]}}
    rows = book(operation.grid_import_kw * dt_h, member_energy_kwh(district, operation), intensity,
                district.config.ledger, district.tz, refs=refs, grid_method="simulated operation (replay)")
    avoided = avoided_rows(district, result, intensity)
    rows = pd.concat([rows, avoided[rows.columns]], ignore_index=True) if not avoided.empty else rows
    path = out / LEDGER_FILE
    store = Store(f"sqlite:///{path.resolve()}")
    try:
        append(store, rows, datetime.now(tz=UTC))
    finally:
        store.close()
    return path
