"""Booking emissions per interval: the district's Scope 2 figures and their attribution.

Input per interval: the metered grid energy (kWh, + import, - export), each member's net energy
(kWh drawn; production negative: load and PV series, gridctl's assets; the rest of the meter is
the member ``unmetered``) and the measured carbon intensity of that interval.

* location-based kg = import kWh x grid intensity (exports earn no credit);
* market-based kg = kWh covered by contractual instruments x their factor + the rest x the
  residual mix (:mod:`gridctl.ledger.market`);
* attribution: in a grouping (``member``, and every configured grouping such as ``tenant`` or
  ``feeder``) each group's net energy is the sum of its members'; the interval's import and both
  kg figures are shared among the groups that drew net energy, in proportion to it. Members in no
  group of a grouping form the group ``unassigned``. The parts of every grouping add up to the
  district row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridctl.ledger.config import LedgerConfig
from gridctl.ledger.market import allocate, market_kg

UNMETERED = "unmetered"
UNASSIGNED = "unassigned"
BALANCE_TOL_KWH = 1e-6
ROW_COLUMNS = ["interval_start", "grouping", "group_id", "energy_kwh", "import_kwh", "location_kg",
               "market_kg", "ci_kg_per_kwh", "signal_type", "ci_source", "ci_issued_at", "estimated",
               "method", "inputs"]


def with_unmetered(grid_kwh: pd.Series, members_kwh: pd.DataFrame) -> pd.DataFrame:
    """Members plus ``unmetered``: what the meter saw that no member accounts for."""
    rest = grid_kwh - members_kwh.sum(axis=1)
    if (rest.abs() <= BALANCE_TOL_KWH).all():
        return members_kwh
    return members_kwh.assign(**{UNMETERED: rest})


def group_members(members: list[str], groups: dict[str, list[str]]) -> dict[str, list[str]]:
    """Groups of one grouping with the members no group names collected in ``unassigned``."""
    named = {m for ms in groups.values() for m in ms}
    out = {g: [m for m in ms if m in members] for g, ms in groups.items()}
    rest = [m for m in members if m not in named]
    if rest:
        out[UNASSIGNED] = rest
    return out


def shares(net_kwh: pd.DataFrame) -> pd.DataFrame:
    """Each group's share of an interval's import: its positive net energy over all positive ones."""
    pos = net_kwh.clip(lower=0.0)
    total = pos.sum(axis=1)
    return pos.div(total.where(total > 0, np.nan), axis=0).fillna(0.0)


def book(grid_kwh: pd.Series, members_kwh: pd.DataFrame, intensity: pd.DataFrame, config: LedgerConfig,
         tz: str, refs: dict | pd.Series | None = None, grid_estimated: pd.Series | None = None,
         grid_method: pd.Series | str = "metered", used_kwh: dict[str, float] | None = None) -> pd.DataFrame:
    """Ledger rows (``ROW_COLUMNS``) of the intervals of ``grid_kwh``.

    ``intensity``: per interval ``ci_kg_per_kwh``, ``signal_type``, ``source``, ``issued_at_utc``,
    ``estimated`` and ``method``; ``grid_estimated``: intervals whose grid energy is an estimate
    (no meter reading); ``grid_method``: how each interval's grid energy was obtained; ``refs``:
    audit references copied into every district row (meter, plan version, gridctl version, config
    hash), one dict for all or a Series of dicts by interval."""
    idx = grid_kwh.index
    ci = intensity.reindex(idx)
    if ci.ci_kg_per_kwh.isna().any():
        missing = idx[ci.ci_kg_per_kwh.isna()]
        raise ValueError(f"no carbon intensity for {len(missing)} intervals from {missing[0].isoformat()}")
    est_grid = (pd.Series(False, index=idx) if grid_estimated is None
                else grid_estimated.reindex(idx, fill_value=False).astype(bool))
    import_kwh = grid_kwh.clip(lower=0.0)
    covered = allocate(grid_kwh, config.instruments, tz, used_kwh)
    location = import_kwh * ci.ci_kg_per_kwh
    market = market_kg(grid_kwh, covered, config.instruments, config.residual_mix_kg_per_kwh)
    estimated = est_grid | ci.estimated.astype(bool)
    how = pd.Series(grid_method, index=idx) if isinstance(grid_method, str) else grid_method.reindex(idx)
    method = [f"grid: {g}; intensity: {c}" for g, c in zip(how, ci.method, strict=True)]
    common = {"ci_kg_per_kwh": ci.ci_kg_per_kwh.to_numpy(), "signal_type": ci.signal_type.to_numpy(),
              "ci_source": ci.source.to_numpy(), "ci_issued_at": ci.issued_at_utc.to_numpy(),
              "estimated": estimated.to_numpy(), "method": method}
    district = pd.DataFrame({"interval_start": idx, "grouping": "district", "group_id": "district",
                             "energy_kwh": grid_kwh.to_numpy(), "import_kwh": import_kwh.to_numpy(),
                             "location_kg": location.to_numpy(), "market_kg": market.to_numpy(), **common})
    per_row = refs.reindex(idx) if isinstance(refs, pd.Series) else pd.Series([refs or {}] * len(idx), index=idx)
    district["inputs"] = [{**(ref or {}), "instruments_kwh": {k: float(v) for k, v in row.items() if v > 0}}
                          for ref, (_, row) in zip(per_row, covered.iterrows(), strict=True)]
    frames = [district]
    members = with_unmetered(grid_kwh, members_kwh.reindex(idx).fillna(0.0))
    groupings = {"member": {m: [m] for m in members.columns}, **config.groups}
    for grouping, groups in groupings.items():
        parts = group_members(list(members.columns), groups)
        net = pd.DataFrame({g: members[ms].sum(axis=1) for g, ms in parts.items()}, index=idx)
        share = shares(net)
        for g in parts:
            s = share[g]
            frames.append(pd.DataFrame({
                "interval_start": idx, "grouping": grouping, "group_id": g, "energy_kwh": net[g].to_numpy(),
                "import_kwh": (import_kwh * s).to_numpy(), "location_kg": (location * s).to_numpy(),
                "market_kg": (market * s).to_numpy(), **common,
                "inputs": [{} if grouping == "member" else {"members": parts[g]}] * len(idx)}))
    return pd.concat(frames, ignore_index=True)[ROW_COLUMNS]
