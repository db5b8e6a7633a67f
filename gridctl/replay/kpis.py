"""Key figures of a replayed operation: emissions, cost, peak import, AC violations, unserved energy
(:mod:`gridctl.replay.unserved`).

Emissions and import use the lossless district balance of the dispatch model (the same for
gridctl and every baseline). Runs end with different amounts of stored energy (a controller that
ends the period with empty batteries has used energy it did not pay for), so
``emissions_adjusted_kg`` adds the grid energy that restores each battery to its initial SoC
(``deficit / eta_charge``; a surplus counts ``surplus * eta_discharge`` as a credit) at the period's
mean actual intensity; reductions and the perfect-foresight capture use the adjusted figures. AC violations come from pandapower power flows of the actual
operation at the intervals ``[replay] ac_check_every_min`` apart from local midnight (every
interval when it equals the resolution).
"""

from __future__ import annotations

import time as timer

import numpy as np
import pandas as pd

from gridctl.config import BatteryConfig, DispatchConfig, HeatPumpConfig, ProcessLoadConfig
from gridctl.district import District
from gridctl.plan_ac import check_schedule
from gridctl.replay.actuals import Actuals
from gridctl.replay.unserved import flexible_delivered_kwh, unserved_by_asset_kwh
from network_models.ac_check import AcCheckResult

COST_BASIS = ("energy only: grid import times [dispatch] import_price_per_kwh of its local hour, minus export times "
              "export_price_per_kwh, in the tariff's currency (no peak charge)")


def sampled_index(index: pd.DatetimeIndex, minutes: pd.Index, every_min: int) -> pd.DatetimeIndex:
    """Interval starts whose minutes since local midnight are a multiple of ``every_min`` (none for 0)."""
    if not every_min:
        return index[:0]
    return index[(minutes % every_min) == 0]


def ac_violations(district: District, actuals: Actuals, operation: pd.DataFrame, sample: pd.DatetimeIndex) -> dict:
    """AC check of the actual operation at ``sample`` intervals: violation count, extremes and
    every violated limit (interval, element, value)."""
    if len(sample) == 0:
        return {"ac_violations": None, "ac_intervals_checked": 0, "ac_violation_events": []}
    result = check_schedule(district, actuals.groups.loc[sample], operation.loc[sample])
    return {"ac_violations": result.violations, "ac_intervals_checked": len(sample), "ac_check": result.summary(),
            "ac_violation_events": violation_events(district, result)}


def violation_events(district: District, result: AcCheckResult) -> list[dict]:
    """Each bus voltage outside ``[network] v_min_pu..v_max_pu`` and each branch loading above
    ``max_loading_pct`` of an AC check: interval start, element (bus, line or transformer name), value."""
    cfg, net = district.config.network, district.net
    events = []
    vm = result.vm_pu.stack()
    for (t, bus), v in vm[(vm < cfg.v_min_pu - 1e-9) | (vm > cfg.v_max_pu + 1e-9)].items():
        events.append({"interval_start": t.isoformat(), "element": f"bus {net.bus.name.get(bus, bus)}",
                       "limit": "voltage", "value": round(float(v), 4)})
    loading = result.loading_pct.stack()
    for (t, branch), v in loading[loading > cfg.max_loading_pct + 1e-9].items():
        events.append({"interval_start": t.isoformat(), "element": str(branch), "limit": "thermal",
                       "value": round(float(v), 2)})
    return sorted(events, key=lambda e: e["interval_start"])


def stored_energy_debt_kwh(operation: pd.DataFrame, batteries: list[BatteryConfig], soc_initial_kwh: dict[str, float]) -> float:
    """Grid energy (kWh) that would restore every battery to its initial SoC (negative: a surplus)."""
    total = 0.0
    for b in batteries:
        deficit = soc_initial_kwh[b.id] - float(operation[f"{b.id}.soc_kwh"].iloc[-1])
        total += deficit / b.eta_charge if deficit > 0 else deficit * b.eta_discharge
    return total


def energy_cost(operation: pd.DataFrame, dt_h: float, timezone: str, tariff: DispatchConfig) -> float:
    """Cost of the grid exchange under the configured tariff (see :data:`COST_BASIS`)."""
    price = np.asarray(tariff.hourly_import_price())[operation.index.tz_convert(timezone).hour]
    imported = operation.grid_import_kw.clip(lower=0).to_numpy()
    exported = (-operation.grid_import_kw).clip(lower=0).to_numpy()
    return float(((imported * price).sum() - exported.sum() * tariff.export_price_per_kwh) * dt_h)


def kpis(operation: pd.DataFrame, actuals: Actuals, dt_h: float, timezone: str, batteries: list[BatteryConfig],
         soc_initial_kwh: dict[str, float], tariff: DispatchConfig, heat_pumps: list[HeatPumpConfig] | None = None,
         process_loads: list[ProcessLoadConfig] | None = None) -> dict:
    """Totals of one operation table (see :mod:`gridctl.replay.operation`); unserved energy per
    :mod:`gridctl.replay.unserved`, as a share of the flexible loads' delivered energy too."""
    soc_cols = [c for c in operation.columns if c.endswith(".soc_kwh")]
    by_day = operation.emissions_kg.groupby(operation.index.tz_convert(timezone).date).sum()
    emissions = float(operation.emissions_kg.sum())
    debt_kwh = stored_energy_debt_kwh(operation, batteries, soc_initial_kwh)
    unserved = unserved_by_asset_kwh(operation, actuals, dt_h, timezone, heat_pumps or [], process_loads)
    delivered_kwh = flexible_delivered_kwh(operation, actuals, dt_h)
    return {
        "emissions_kg": emissions,
        "emissions_adjusted_kg": emissions + debt_kwh * float(operation.ci_kg_per_kwh.mean()),
        "stored_energy_debt_kwh": debt_kwh,
        "cost": energy_cost(operation, dt_h, timezone, tariff),
        "peak_import_kw": float(operation.grid_import_kw.max()),
        "import_kwh": float(operation.grid_import_kw.clip(lower=0).sum() * dt_h),
        "unserved_energy_kwh": sum(unserved.values()),
        "unserved_by_asset_kwh": unserved,
        "flexible_delivered_kwh": delivered_kwh,
        "unserved_energy_pct": 100.0 * sum(unserved.values()) / delivered_kwh if delivered_kwh else None,
        "curtailed_kwh": float(operation.pv_curtailed_kw.sum() * dt_h),
        "soc_end_kwh": float(operation[soc_cols].iloc[-1].sum()) if soc_cols else 0.0,
        "emissions_kg_by_day": {d.isoformat(): float(v) for d, v in by_day.items()},
    }


def timed_ac_violations(district: District, actuals: Actuals, operation: pd.DataFrame,
                        sample: pd.DatetimeIndex) -> tuple[dict, float]:
    """:func:`ac_violations` and the seconds it took."""
    t0 = timer.perf_counter()
    out = ac_violations(district, actuals, operation, sample)
    return out, timer.perf_counter() - t0


def capture_pct(emissions: dict[str, float], bound_run: str = "perfect-foresight") -> float | None:
    """Share (%) of the reduction below ``none`` of ``bound_run`` (a perfect-foresight run) that gridctl achieved."""
    if "none" not in emissions or bound_run not in emissions:
        return None
    bound = emissions["none"] - emissions[bound_run]
    return 100.0 * (emissions["none"] - emissions["gridctl"]) / bound if bound > 0 else None
