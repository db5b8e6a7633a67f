"""Emissions ledger of one interval from measured device power and measured carbon intensity."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pandas as pd

from gridctl.district import District


def interval_ledger(district: District, plan: dict, data_start: pd.Timestamp, dt_h: float,
                    device_ids: Iterable[str], mean_power_kw: Callable[[str], float | None]
                    ) -> dict[str, tuple[float, float]] | None:
    """``{asset_id: (energy_kwh, ci_kg_per_kwh)}`` of the interval at ``data_start`` (data clock),
    None before the first carbon measurement. Storage rows from measured mean power; the ``grid``
    row corrects the planned import by measured deviations of devices, load and PV."""
    carbon = district.measured_carbon
    measured = carbon[carbon.index <= data_start]
    if measured.empty:
        return None
    ci = float(measured.ci_kg_per_kwh.iloc[-1])
    ledger: dict[str, tuple[float, float]] = {}
    deviation = 0.0
    for asset_id in device_ids:
        if f"{asset_id}.p_kw" not in plan:  # PV output is in the measured PV below
            continue
        p = mean_power_kw(asset_id)
        if p is None:
            continue
        ledger[asset_id] = (p * dt_h, ci)
        deviation += p - (plan.get(f"{asset_id}.p_kw") or 0.0)
    hist = district.history
    if data_start in hist.index and plan.get("load_kw") is not None:
        actual = hist.loc[data_start]
        deviation += float(actual[district.load_series].sum()) - plan["load_kw"]
        deviation -= float(actual[district.pv_series].sum()) - plan["pv_kw"]
    grid_kw = max((plan.get("grid_import_kw") or 0.0) + deviation, 0.0)
    ledger["grid"] = (grid_kw * dt_h, ci)
    return ledger
