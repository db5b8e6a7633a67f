"""One replay: gridctl and its baselines over consecutive local days, with summary and interval table."""

from __future__ import annotations

import logging
import time as timer
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from gridctl.config import Config, ConfigError
from gridctl.demand_charges import realised_charges
from gridctl.district import District
from gridctl.grid_events import GridEvents
from gridctl.process_loads import process_params, process_report
from gridctl.replay.actuals import Actuals, load_actuals
from gridctl.replay.baseline_runs import run_baselines, runs_apart, start_apart
from gridctl.replay.engine import ControllerRun, minutes_into_day, replay_controller
from gridctl.replay.kpis import (
    COST_BASIS,
    capture_pct,
    kpis,
    sampled_index,
    timed_ac_violations,
)
from gridctl.replay.plant import ModbusTarget
from gridctl.replay.unserved import UNSERVED_BASIS
from gridctl.timegrid import local_day

log = logging.getLogger(__name__)

CONTROLLER = "gridctl"


@dataclass
class ReplayResult:
    """``summary`` (summary.json), ``intervals`` (intervals.csv), the operation of every run, gridctl's decisions."""

    summary: dict
    intervals: pd.DataFrame
    runs: dict[str, pd.DataFrame]
    controller: ControllerRun


def replay_days(start: date, end: date) -> list[date]:
    """Local dates from ``start`` to ``end`` inclusive; raise :class:`ConfigError` when ``end < start``."""
    if end < start:
        raise ConfigError([f"--end {end} is before --start {start}; give an end date on or after the start"])
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def helpers_due(config: Config, n_days: int) -> bool:
    """Whether a replay of ``n_days`` starts a helper process beside gridctl's run where a core is
    spare: its baselines' (:func:`gridctl.replay.baseline_runs.runs_apart`) or its forecasts'
    (:func:`gridctl.replay.forecast_job.forecasts_apart`)."""
    cfg = config.replay
    return (bool(cfg.baselines) and 0 < cfg.baselines_apart_days <= n_days) or 0 < cfg.forecasts_apart_days <= n_days


def replay_index(district: District, days: list[date]) -> pd.DatetimeIndex:
    """The intervals (UTC starts) of the consecutive local ``days``."""
    index = local_day(days[0], district.tz, district.resolution_min)
    for d in days[1:]:
        index = index.append(local_day(d, district.tz, district.resolution_min))
    return index


def run_replay(
    district: District,
    start: date,
    end: date,
    soc_kwh: dict[str, float] | None = None,
    progress: bool = False,
    modbus: ModbusTarget | None = None,
    grid_events: GridEvents | None = None,
    on_day: Callable[[date], None] | None = None,
    baselines_apart: bool = False,
) -> ReplayResult:
    """Replay gridctl and the configured baselines from local ``start`` to ``end`` (inclusive);
    gridctl's devices in-process, or over Modbus TCP at ``modbus`` (baselines always in-process);
    ``grid_events``: recorded grid-operator events gridctl's decisions take (the baselines do not);
    ``on_day(day)`` after each day gridctl replayed. With ``baselines_apart`` the baselines run in a
    second process beside gridctl's run where :func:`gridctl.replay.baseline_runs.runs_apart` allows
    (the caller's entry point must be guarded, as for any spawned process), else after it."""
    t_start = timer.perf_counter()
    days = replay_days(start, end)
    actuals = load_actuals(district, replay_index(district, days))
    job = start_apart(district, actuals, soc_kwh) if baselines_apart and runs_apart(district, len(days)) else None

    def day_done(day: date) -> None:
        if job is not None:
            job.share_cores()
        if on_day is not None:
            on_day(day)

    try:
        controller = replay_controller(district, actuals, days, soc_kwh, progress, modbus, grid_events, on_day=day_done)
    except BaseException:
        if job is not None:
            job.cancel()
        raise
    if controller.interrupted:  # the baselines and KPIs cover the whole days gridctl replayed
        days = sorted(set(controller.operation.index.tz_convert(district.tz).date))
        actuals = load_actuals(district, controller.operation.index)
        if job is not None:
            job.cancel()
            job = None
    baselines, failed = job.result(controller.timings) if job else run_baselines(district, actuals, soc_kwh,
                                                                                   controller.timings)
    runs = {CONTROLLER: controller.operation, **baselines}
    return evaluate(district, days, actuals, runs, controller, soc_kwh, t_start, failed)


def evaluate(district: District, days: list[date], actuals: Actuals, runs: dict[str, pd.DataFrame],
             controller: ControllerRun, soc_kwh: dict[str, float] | None, t_start: float,
             failed: dict[str, str] | None = None) -> ReplayResult:
    """KPIs and AC checks of every run over ``actuals``, the summary and the interval table;
    ``failed``: baselines left out, with why (:func:`gridctl.replay.baseline_runs.run_baselines`)."""
    for name, why in (failed or {}).items():
        log.warning("baseline %s left out of the report: %s", name, why)
    cfg, index = district.config, actuals.index
    soc0 = {b.id: (soc_kwh or {}).get(b.id, b.soc_initial_kwh) for b in cfg.assets.battery}
    dt_h = district.resolution_min / 60.0
    sample = sampled_index(index, minutes_into_day(index, district.tz), cfg.replay.ac_check_every_min)
    results = {}
    for name, operation in runs.items():
        ac, seconds = timed_ac_violations(district, actuals, operation, sample)
        controller.timings.ac_check_s += seconds
        results[name] = {**kpis(operation, actuals, dt_h, district.tz, cfg.assets.battery, soc0, cfg.dispatch,
                                cfg.assets.heat_pump, cfg.assets.process_load), **ac,
                         **realised_charges(operation.grid_import_kw, cfg.dispatch.demand_charges, district.tz)}
    summary = make_summary(district, days, index, results, controller, timer.perf_counter() - t_start)
    summary["baselines_failed"] = dict(failed or {})
    return ReplayResult(summary, intervals_table(controller, runs), runs, controller)


def make_summary(district: District, days: list[date], index: pd.DatetimeIndex, results: dict[str, dict],
                 controller: ControllerRun, runtime_s: float) -> dict:
    """summary.json: gridctl's totals, the reference baseline's, every run's KPIs and the timings."""
    cfg = district.config
    ours = results[CONTROLLER]
    reference = next((b for b in cfg.replay.baselines if b in results), None)  # the first that ran
    base = results[reference]["emissions_adjusted_kg"] if reference else None
    unadjusted = {k: v["emissions_kg"] for k, v in results.items()}
    adjusted = {k: v["emissions_adjusted_kg"] for k, v in results.items()}
    per_day = pd.Series(1, index=index).groupby(index.tz_convert(district.tz).date).sum()
    t = controller.timings
    return {
        "site": cfg.site.name,
        "timezone": district.tz,
        "start": days[0].isoformat(),
        "end": days[-1].isoformat(),
        "days": len(days),
        "partial": controller.interrupted,  # interrupted: only the days up to "end" were replayed
        "intervals_per_day": {d.isoformat(): int(n) for d, n in per_day.items()},
        "emissions_kg": ours["emissions_kg"],
        "emissions_adjusted_kg": ours["emissions_adjusted_kg"],
        "reference_baseline": reference,
        "baseline_emissions_kg": results[reference]["emissions_kg"] if reference else None,
        "baseline_emissions_adjusted_kg": base,
        "reduction_pct": 100.0 * (base - ours["emissions_adjusted_kg"]) / base if base else None,
        "perfect_foresight_capture_pct": capture_pct(adjusted),
        "network_bound_capture_pct": capture_pct(adjusted, "perfect-foresight-network"),
        "unadjusted": {  # the same figures without the stored-energy adjustment
            "reduction_pct": (100.0 * (unadjusted[reference] - unadjusted[CONTROLLER]) / unadjusted[reference]
                              if reference and unadjusted[reference] else None),
            "perfect_foresight_capture_pct": capture_pct(unadjusted),
            "network_bound_capture_pct": capture_pct(unadjusted, "perfect-foresight-network"),
        },
        "stored_energy_debt_kwh": ours["stored_energy_debt_kwh"],
        "cost": ours["cost"],
        "cost_basis": COST_BASIS,
        "peak_import_kw": ours["peak_import_kw"],
        "demand_charges": ours["demand_charges"],  # realised peak and charge per charge and month
        "demand_charge_cost": ours["demand_charge_cost"],
        "ac_violations": ours["ac_violations"],
        "unserved_energy_kwh": ours["unserved_energy_kwh"],
        "unserved_energy_pct": ours["unserved_energy_pct"],  # of the energy the flexible loads drew
        "unserved_by_asset_kwh": ours["unserved_by_asset_kwh"],
        "unserved_energy_basis": UNSERVED_BASIS,
        "process_loads": process_report(controller.operation, process_params(cfg, district.net, index),
                                        district.resolution_min / 60.0),
        "devices": controller.devices,
        "write_errors": controller.write_errors,
        "runs": results,
        "settings": cfg.replay.model_dump(),
        "decisions": t.decisions,
        "models": {"built": t.models_built, "shifted": t.models_shifted, "updated_in_place": t.models_updated},
        "forecast_issues_apart": controller.forecasts_apart,  # issued in a process of their own
        "day_ahead_plans_apart": controller.plans_apart,  # made in that process
        "timings_s": {"forecast": round(t.forecast_s, 3), "optimise": round(t.optimise_s, 3),
                      "baselines": round(t.baselines_s, 3),
                      "ac_check": round(t.ac_check_s, 3), "bookkeeping": round(t.bookkeeping_s, 3)},
        "runtime_s": round(runtime_s, 3),
    }


def intervals_table(controller: ControllerRun, runs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """intervals.csv: per interval, forecast vs actual, planned vs actual per asset, and every run's import."""
    op = controller.operation
    assets = [c for c in op.columns if c.endswith((".p_kw", ".curtailed_kw"))]
    columns = ["ci_kg_per_kwh", "load_kw", "pv_kw", "grid_import_kw", *assets]
    plan = controller.planned.reindex(columns=columns)  # NaN where no plan was in force
    plans = [p.table for p in controller.day_ahead.values()]
    day_ahead = (pd.concat(plans) if plans else pd.DataFrame(columns=columns)).reindex(index=op.index, columns=columns)
    out = pd.DataFrame(
        {
            "ci_forecast_kg_per_kwh": plan.ci_kg_per_kwh, "ci_actual_kg_per_kwh": op.ci_kg_per_kwh,
            "load_forecast_kw": plan.load_kw, "load_actual_kw": op.load_kw,
            "pv_forecast_kw": plan.pv_kw, "pv_actual_kw": op.pv_kw,
            "grid_import_planned_kw": plan.grid_import_kw, "grid_import_kw": op.grid_import_kw,
            "emissions_kg": op.emissions_kg,
        },
        index=op.index,
    )
    for col in assets:
        asset, quantity = col.split(".", 1)
        out[f"{asset}.{quantity.removesuffix('_kw')}_day_ahead_kw"] = day_ahead[col]
        out[f"{asset}.{quantity.removesuffix('_kw')}_planned_kw"] = plan[col]
        out[col] = op[col]
        for state in ("soc_kwh", "temp_c"):
            if f"{asset}.{state}" in op:
                out[f"{asset}.{state}"] = op[f"{asset}.{state}"]
    for name, run in runs.items():
        if name != CONTROLLER:
            out[f"{name}.grid_import_kw"] = run.grid_import_kw
            out[f"{name}.emissions_kg"] = run.emissions_kg
    return out
