"""Day-ahead planning: forecasts at the gate time -> dispatch -> AC check -> plan."""

from __future__ import annotations

import logging
import time as timer
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from forecasts.carbon_spread import risk_adjusted
from gridctl.demand_charges import PeakKey, charge_report, model_charges
from gridctl.dispatch.ev import immediate_charging
from gridctl.dispatch.highs import solve
from gridctl.dispatch.inputs import BatteryParams, ChargerReport, CurtailablePv, DispatchInputs
from gridctl.dispatch.model import build_model
from gridctl.dispatch.process_load import ProcessReport, immediate_running
from gridctl.dispatch.result import interval_emissions, plan_table
from gridctl.dispatch.rolling import RollingDispatch
from gridctl.dispatch.soft import violations
from gridctl.district import District
from gridctl.feed_source import CarbonSource
from gridctl.flexible_loads import (
    PlacedFlexLoad,
    ev_params,
    heat_pump_params,
    outdoor_temperature,
)
from gridctl.forecast_issue import Forecast, make_forecast
from gridctl.grid_events import GridEvents
from gridctl.headroom import day_peak_so_far_kw, load_headroom_kw, peak_cap_kw, peak_guard_kw
from gridctl.network_plan import IntervalNetworkModels
from gridctl.plan_ac import check_schedule, intraday_network_rows, solve_with_ac_loop
from gridctl.process_loads import process_params, process_report
from gridctl.timegrid import gate_time, local_day, local_day_ends
from network_models.ac_check import AcCheckResult

log = logging.getLogger(__name__)


@dataclass
class Plan:
    table: pd.DataFrame
    summary: dict
    ac: AcCheckResult | None
    baseline_ac: AcCheckResult | None
    model: object = None  # the solved dispatch model (Pyomo), e.g. to export it


def dispatch_inputs(
    district: District,
    fc: Forecast,
    soc_initial_kwh: dict[str, float] | None = None,
    soc_terminal_kwh: dict[str, float] | None = None,
    ev_reports: dict[str, ChargerReport] | None = None,
    heat_pump_temp_c: dict[str, float] | None = None,
    running_peak_kw: dict[PeakKey, float] | None = None,
    process_reports: dict[str, ProcessReport] | None = None,
) -> DispatchInputs:
    """Assemble model inputs from forecasts and configuration (terminal SoC default: the initial SoC).

    Import limit: ``[grid] import_limit_kw``, and with ``[dispatch] peak_cap = "baseline"`` at most
    the highest import without control, forecast (:func:`baseline_import_kw`) or measured earlier
    today, less the load forecast's headroom (:mod:`gridctl.headroom`).

    Measured states by asset id: ``ev_reports``, what each charger reports (vehicle connected, energy
    delivered to it, its request and departure when announced; see :func:`gridctl.flexible_loads.ev_params`);
    ``heat_pump_temp_c``, the store temperature at the start; ``running_peak_kw``, the demand
    charges' running peaks of the month so far (:mod:`gridctl.demand_charges`; default none);
    ``process_reports``, what each process load reports (running, energy and starts in the window
    under way; :mod:`gridctl.process_loads`).
    """
    cfg = district.config
    soc0 = soc_initial_kwh or {}
    reports, temps = ev_reports or {}, heat_pump_temp_c or {}
    soc_end = soc_terminal_kwh or {}
    batteries = [
        BatteryParams(
            id=b.cfg.id, bus=b.bus, p_max_kw=b.cfg.p_max_kw,
            soc_min_kwh=b.cfg.soc_min_kwh, soc_max_kwh=b.cfg.soc_max_kwh,
            soc_initial_kwh=min(max(soc0.get(b.cfg.id, b.cfg.soc_initial_kwh), b.cfg.soc_min_kwh), b.cfg.soc_max_kwh),
            eta_charge=b.cfg.eta_charge, eta_discharge=b.cfg.eta_discharge,
            soc_terminal_min_kwh=soc_end.get(b.cfg.id),
            terminal_value_per_kwh=b.cfg.terminal_value_per_kwh,
            degradation_cost_per_kwh=b.cfg.degradation_cost_per_kwh, binary=cfg.dispatch.battery_binary,
        )
        for b in district.batteries
    ]
    flex, placing = district.flexible_placement
    problems = placing + unknown_states(flex, reports, temps)
    if problems:
        raise ValueError("; ".join(problems))
    dt_h = district.resolution_min / 60.0
    ev_chargers = [ev_params(p, fc.groups, district.tz, dt_h, reports.get(p.cfg.id), fc.issue_time)
                   for p in flex if p.kind == "ev_charger"]
    heat_pumps = [
        heat_pump_params(p, fc.groups, None if p.cfg.temperature_series is None else outdoor_temperature(
            district.history, p.cfg.temperature_series, fc.issue_time, fc.groups.index, district.tz,
            district.resolution_min), temps.get(p.cfg.id), local_day_ends(fc.groups.index, district.tz),
            cfg.dispatch.heat_store_margin, cfg.dispatch.heat_store_day_end_cap)
        for p in flex if p.kind == "heat_pump"
    ]
    flexible_kw = sum((p.forecast_kw(fc.groups) for p in flex), np.zeros(len(fc.groups)))
    hours = fc.groups.index.tz_convert(district.tz).hour
    price = np.asarray(cfg.dispatch.hourly_import_price())[hours]
    pv_assets = [
        CurtailablePv(p.cfg.id, p.bus, fc.groups[p.series_id].to_numpy() * p.share) for p in district.pv_assets
    ]
    inp = DispatchInputs(
        index=fc.groups.index,
        dt_h=district.resolution_min / 60.0,
        load_kw=fc.groups[district.load_series].sum(axis=1).to_numpy() - flexible_kw,
        pv_kw=fc.groups[district.pv_series].sum(axis=1).to_numpy(),
        ci_kg_per_kwh=fc.ci_kg_per_kwh.to_numpy(),
        ci_objective_kg_per_kwh=objective_intensity(fc, cfg.dispatch.carbon_risk_k),
        batteries=batteries,
        pv_assets=pv_assets,
        ev_chargers=ev_chargers,
        heat_pumps=heat_pumps,
        process_loads=process_params(cfg, district.net, fc.groups.index, process_reports),
        process_group_max_kw={g.id: g.max_kw for g in cfg.process_groups},
        import_limit_kw=cfg.grid.import_limit_kw,
        export_limit_kw=cfg.grid.export_limit_kw,
        curtailment_penalty_per_kwh=cfg.dispatch.curtailment_penalty_per_kwh,
        throughput_penalty_per_kwh=cfg.dispatch.throughput_penalty_per_kwh,
        objective=cfg.dispatch.objective,
        price_per_kwh=price,
        export_price_per_kwh=cfg.dispatch.export_price_per_kwh,
        export_credit_factor=cfg.dispatch.export_credit_factor,
        carbon_price_per_kg=cfg.dispatch.carbon_price_per_kg,
        peak_charge_per_kw=cfg.dispatch.peak_charge_per_kw,
        demand_charges=model_charges(cfg.dispatch.demand_charges, fc.groups.index, district.tz, cfg.dispatch.objective,
                                     running_peak_kw or {}),
    )
    if cfg.dispatch.peak_cap == "baseline":  # no new peak: at most what no control would draw
        base, day_peak = baseline_import_kw(inp), day_peak_so_far_kw(district, fc.issue_time, fc.groups.index[0])
        inp.peak_cap_kw = peak_cap_kw(inp.import_limit_kw, base, day_peak)
        inp.import_limit_kw = peak_guard_kw(inp.import_limit_kw, base, load_headroom_kw(district, fc), day_peak)
    return inp


def objective_intensity(fc: Forecast, k: float) -> np.ndarray:
    """The intensity the objective weighs: the forecast shrunk toward its horizon mean by ``k``
    spreads (:func:`forecasts.carbon_spread.risk_adjusted`), so a dip the forecaster usually
    misses at that lead is not chased; the forecast itself without a spread."""
    if fc.ci_spread_kg_per_kwh is None:
        return fc.ci_kg_per_kwh.to_numpy()
    return risk_adjusted(fc.ci_kg_per_kwh.to_numpy(), fc.ci_spread_kg_per_kwh.to_numpy(), k)


def unknown_states(flex: list[PlacedFlexLoad], ev_reports: dict[str, ChargerReport],
                   heat_pump_temp_c: dict[str, float]) -> list[str]:
    """Problems with measured states given for assets that are not an EV charger / heat pump of the district."""
    problems = []
    for kind, key, states in (("ev_charger", "ev_reports", ev_reports),
                              ("heat_pump", "heat_pump_temp_c", heat_pump_temp_c)):
        known = {p.cfg.id for p in flex if p.kind == kind}
        problems += [f"{key}: {a!r} is not a configured {kind} (known: {sorted(known)})"
                     for a in states if a not in known]
    return problems


def baseline_import_kw(inp: DispatchInputs) -> np.ndarray:
    """Grid import with no flexibility used: batteries idle, EVs charging at full power on arrival,
    heat pumps following their forecast profile (heat demand / COP), process loads at full power from
    each window's start, no curtailment."""
    n = len(inp.index)
    flex = sum((immediate_charging(e, n, inp.dt_h) for e in inp.ev_chargers), np.zeros(n))
    flex = flex + sum((h.heat_demand_kw / h.cop for h in inp.heat_pumps), np.zeros(n))
    flex = flex + sum((immediate_running(p, n, inp.dt_h) for p in inp.process_loads), np.zeros(n))
    return inp.load_kw + flex - inp.pv_kw


def ev_session_report(table: pd.DataFrame, inp: DispatchInputs) -> list[dict]:
    """Per EV session: arrival, departure, energy requested and delivered (kWh)."""
    out = []
    for e in inp.ev_chargers:
        p = table[f"{e.id}.p_kw"].to_numpy()
        for s in e.sessions:
            delivered = float(p[s.arrival:s.departure].sum() * inp.dt_h)
            out.append({"asset": e.id, "arrival": inp.index[s.arrival].isoformat(),
                        "departure": (inp.index[s.departure - 1] + pd.Timedelta(hours=inp.dt_h)).isoformat(),
                        "requested_kwh": round(s.energy_kwh, 3), "delivered_kwh": round(delivered, 3),
                        "unserved_kwh": round(max(s.energy_kwh - delivered, 0.0), 3)})
    return out


def make_plan(district: District, day: date, carbon: CarbonSource | None = None,
              running_peak_kw: dict[PeakKey, float] | None = None, grid_events: GridEvents | None = None) -> Plan:
    """Day-ahead plan for local ``day`` from data available at the gate time (demand charges'
    running peaks and the grid operator's events as known then, default none)."""
    horizon = local_day(day, district.tz, district.resolution_min)
    issue = gate_time(day, district.tz, district.config.site.gate_time)
    plan = plan_horizon(district, issue, horizon, carbon=carbon, running_peak_kw=running_peak_kw,
                        grid_events=grid_events)
    plan.summary = {"date": day.isoformat(), **plan.summary}
    log.info("plan %s: %s, emissions %.1f kg vs baseline %.1f kg", day, plan.summary["status"],
             plan.summary["emissions_kg"], plan.summary["baseline_emissions_kg"])
    return plan


def plan_horizon(
    district: District,
    issue_time: pd.Timestamp,
    horizon: pd.DatetimeIndex,
    soc_initial_kwh: dict[str, float] | None = None,
    with_ac_check: bool = True,
    soc_terminal_kwh: dict[str, float] | None = None,
    ev_reports: dict[str, ChargerReport] | None = None,
    heat_pump_temp_c: dict[str, float] | None = None,
    rolling: RollingDispatch | None = None,
    carbon: CarbonSource | None = None,
    running_peak_kw: dict[PeakKey, float] | None = None,
    process_reports: dict[str, ProcessReport] | None = None,
    grid_events: GridEvents | None = None,
    network_models: IntervalNetworkModels | None = None,
) -> Plan:
    """Plan ``horizon`` from data known at ``issue_time``, starting from measured SoC when given
    and ending at ``soc_terminal_kwh`` or above (default: the initial SoC); measured EV and
    heat-pump states as in :func:`dispatch_inputs`. With ``with_ac_check`` the plan is verified
    (and, under ``[network] constrain_dispatch``, tightened) with AC power flows; without it,
    re-optimisations keep the network rows of each interval's first linearisation
    (``network_models``, by default the district's :class:`gridctl.network_plan.IntervalNetworkModels`)
    and, given ``rolling``, are solved in
    its persistent model (:mod:`gridctl.dispatch.rolling`). ``grid_events``: the grid operator's
    events known at ``issue_time`` set limits, prices and intensities (:mod:`gridctl.grid_events`).

    Raises :class:`gridctl.dispatch.highs.SolverError` when no solution is found.
    """
    cfg = district.config
    fc = make_forecast(district, issue_time, horizon, carbon)
    inp = dispatch_inputs(district, fc, soc_initial_kwh, soc_terminal_kwh, ev_reports, heat_pump_temp_c,
                          running_peak_kw, process_reports)
    events_used = grid_events.apply(inp, issue_time) if grid_events is not None else []
    constrained = cfg.network.constrain_dispatch and has_assets(inp)
    network = with_ac_check and constrained
    network_rows, ac, table = {}, None, None
    if network:
        t0 = timer.perf_counter()
        model = build_model(inp)
        build_s = timer.perf_counter() - t0
        loop = solve_with_ac_loop(district, fc, inp, model)
        result, ac, network_rows = loop.result, loop.ac, loop.rows
        build_s += loop.network_build_s / loop.rounds  # per solve, as build_s without network
    else:
        extend, renew, recentred = intraday_network_rows(district, fc, inp, network_models) if constrained else (None, None, False)
        if rolling is not None:
            rs = rolling.solve(inp, extend, district, cfg.dispatch.time_limit_s, cfg.dispatch.mip_gap,
                               cfg.dispatch.recommit_h, renew, recentred)
            model, result, build_s, network_rows = rs.model, rs.result, rs.build_s, dict(rs.extension or {})
            result.objective = rs.objective
            table = rs.table()
            found = [v for v in violations(model, rs.window.index, values=rs.values)
                     if v.get("interval_start", horizon[0].isoformat()) >= horizon[0].isoformat()]
        else:
            t0 = timer.perf_counter()
            model = build_model(inp)
            network_rows = extend(model) if extend else {}
            build_s = timer.perf_counter() - t0
            result = solve(model, cfg.dispatch.time_limit_s, cfg.dispatch.mip_gap)
    if table is None:
        table = plan_table(model, inp)
        found = violations(model, inp.index)
    baseline_emissions = float(interval_emissions(baseline_import_kw(inp), inp).sum())
    if with_ac_check and not network:
        ac = check_schedule(district, fc.groups, table)
    baseline_ac = check_schedule(district, fc.groups, None) if with_ac_check else None
    if network:  # the same elements count as within the assets' reach
        baseline_ac.reach = ac.reach
    summary = {
        "status": result.status,
        "problem": "LP" if result.mip_gap is None else "MILP",
        "mip_gap": result.mip_gap,
        "timezone": district.tz,
        "issue_time": issue_time.isoformat(),
        "intervals": len(horizon),
        "signal_type": fc.signal_type,
        "carbon_source": fc.carbon_source,
        "objective": result.objective,
        "objective_mode": inp.objective,
        "emissions_kg": float(table.emissions_kg.sum()),
        "baseline_emissions_kg": baseline_emissions,
        "peak_cap_kw": inp.peak_cap_kw,  # the no-new-peak cap (None: [dispatch] peak_cap = "limit"); the replay's tick keeps it
        "build_s": round(build_s, 4),
        "network_rows": network_rows,
        "solve_s": round(result.handover_s + result.solve_s, 4),
        "ac_check": {**ac.summary(), "rounds": loop.rounds if network else 0,
                     "network_rows": loop.rows if network else {}} if ac else None,
        "baseline_ac_check": baseline_ac.summary() if baseline_ac else None,
        "assets": asset_summary(district),
        "violations": found,
        "ev_sessions": ev_session_report(table, inp),
        "demand_charges": charge_report(table.grid_import_kw, cfg.dispatch.demand_charges, district.tz, running_peak_kw),
        "process_loads": process_report(table, inp.process_loads, inp.dt_h),
        "grid_events": events_used,
    }
    return Plan(table, summary, ac, baseline_ac, model)


def has_assets(inp: DispatchInputs) -> bool:
    """Whether any asset can move power at a bus (the model has network-relevant injections)."""
    return bool(inp.batteries or inp.ev_chargers or inp.heat_pumps or inp.pv_assets or inp.process_loads)


def asset_summary(district: District) -> list[dict]:
    """Id, kind, bus and ratings of every controllable asset."""
    out = [
        {"id": b.cfg.id, "kind": "battery", "bus": b.bus, "p_max_kw": b.cfg.p_max_kw, "e_max_kwh": b.cfg.e_max_kwh,
         "soc_min_kwh": b.cfg.soc_min_kwh, "soc_max_kwh": b.cfg.soc_max_kwh}
        for b in district.batteries
    ]
    out += [
        {"id": p.cfg.id, "kind": "pv", "bus": p.bus, "sgen": p.sgen,
         "p_max_kw": float(district.net.sgen.p_mw[p.sgen] * 1000.0)}
        for p in district.pv_assets
    ]
    out += [
        {"id": p.cfg.id, "kind": p.kind, "bus": p.bus, "load": p.load, "p_max_kw": p.p_max_kw}
        for p in district.flexible_placement[0]
    ]
    out += [{"id": p.id, "kind": "process_load", "bus": p.bus, "p_min_kw": p.p_min_kw, "p_max_kw": p.p_max_kw}
            for p in district.config.assets.process_load]
    return out
