"""Market-based Scope 2: contractual instruments cover grid import in time order, the residual
mix prices the rest (GHG Protocol Scope 2 guidance, market-based method)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from gridctl.ledger.config import InstrumentConfig


def allocate(import_kwh: pd.Series, instruments: list[InstrumentConfig], tz: str,
             used_kwh: Mapping[str, float] | None = None) -> pd.DataFrame:
    """kWh of each interval's import covered by each instrument (one column per instrument id).

    Instruments are applied in order of their start (then id); each covers the import of the
    intervals inside its local-date period, earliest first, until its volume less ``used_kwh``
    (volume already claimed by earlier bookings) is used up. An interval is never covered twice."""
    remaining = import_kwh.clip(lower=0.0).to_numpy(dtype=float).copy()
    local_days = import_kwh.index.tz_convert(tz).date
    used = dict(used_kwh or {})
    out = pd.DataFrame(index=import_kwh.index)
    for inst in sorted(instruments, key=lambda i: (i.start, i.id)):
        inside = (local_days >= inst.start) & (local_days < inst.end)
        left = max(inst.volume_kwh - used.get(inst.id, 0.0), 0.0)
        want = np.where(inside, remaining, 0.0)
        before = np.cumsum(want) - want  # claimed by earlier intervals of this instrument
        take = np.minimum(want, np.maximum(left - before, 0.0))
        remaining -= take
        out[inst.id] = take
    return out


def market_kg(import_kwh: pd.Series, covered: pd.DataFrame, instruments: list[InstrumentConfig],
              residual_mix_kg_per_kwh: float | None) -> pd.Series:
    """Market-based kg per interval: covered kWh at each instrument's factor plus the rest at the
    residual mix (NaN when no residual mix is configured and some import is uncovered)."""
    factors = {i.id: i.factor_kg_per_kwh for i in instruments}
    total = import_kwh.clip(lower=0.0)
    kg = pd.Series(0.0, index=import_kwh.index)
    for inst_id in covered.columns:
        kg += covered[inst_id] * factors[inst_id]
    rest = total - covered.sum(axis=1)
    residual = np.nan if residual_mix_kg_per_kwh is None else residual_mix_kg_per_kwh
    return kg + rest.where(rest > 1e-12, 0.0) * residual
