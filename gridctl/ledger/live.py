"""The daemon's ledger inputs from measured series (data clock): the grid-connection meter, the
load and PV series and gridctl's own assets, with an estimate where the meter has no reading."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

PLAN_ESTIMATE = "estimated from the plan and measured deviations of the assets"
SUM_ESTIMATE = "estimated as the sum of the measured load, PV and asset series"


@dataclass(frozen=True)
class LiveInputs:
    """Per interval: grid energy (kWh, + import), which intervals are estimates and how, members' kWh."""

    grid_kwh: pd.Series
    estimated: pd.Series
    method: pd.Series
    members_kwh: pd.DataFrame


def live_inputs(index: pd.DatetimeIndex, measured_kw: pd.DataFrame, meter_series: str, load_series: list[str],
                pv_series: list[str], asset_ids: list[str], planned: pd.DataFrame, dt_h: float) -> LiveInputs:
    """Ledger inputs of ``index`` from ``measured_kw`` (interval means by series id: the meter, the
    load and PV series, ``asset/<id>``) and ``planned`` (``grid_import_kw`` and ``<id>.p_kw`` of
    the plan in force). Members: load series, PV series (negative), own assets. The grid energy is
    the meter's; without a meter reading it is the members' sum when every member is measured,
    else the planned import corrected by the assets' measured deviations (an estimate either way).
    Intervals with neither meter nor plan are left out (booked once either exists)."""
    m = measured_kw.reindex(index=index)
    members = pd.concat([m.reindex(columns=load_series), -m.reindex(columns=pv_series),
                         m.reindex(columns=[f"asset/{a}" for a in asset_ids]).rename(columns=lambda c: c[6:])],
                         axis=1)
    meter = m[meter_series] if meter_series in m else pd.Series(float("nan"), index=index)
    complete = members.notna().all(axis=1) & (len(members.columns) > 0)
    plan = planned.reindex(index=index)
    deviation = sum((members[a].fillna(plan.get(f"{a}.p_kw", 0.0)) - plan.get(f"{a}.p_kw", 0.0)).fillna(0.0)
                    for a in asset_ids if a in members) if asset_ids else 0.0
    planned_kw = plan.get("grid_import_kw", pd.Series(float("nan"), index=index)) + deviation
    grid_kw = meter.where(meter.notna(), members.sum(axis=1).where(complete, planned_kw))
    method = pd.Series("metered", index=index).where(meter.notna(), pd.Series(SUM_ESTIMATE, index=index).where(
        complete, PLAN_ESTIMATE))
    keep = grid_kw.notna()
    return LiveInputs(grid_kw[keep] * dt_h, meter.isna()[keep], method[keep], members.fillna(0.0)[keep] * dt_h)
