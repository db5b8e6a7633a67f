"""Data of the dashboard: plan vs actual from local midnight to the end of the plan in force,
device states (batteries, EV chargers, heat pumps), feed freshness, emissions today vs the baseline,
the carbon ledger's month to date against the target, the last AC check, plan freshness and recent events. Times are ISO 8601 on the daemon clock; the page shows
them in the site's time zone."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from gridctl.ledger.statement import Period, statement
from gridctl.store.ledger import entries
from gridctl.timegrid import local_day

if TYPE_CHECKING:  # the daemon imports the API's metrics
    from gridctl.daemon import Daemon

PLAN_DAYS = 3  # plans reach at most this far past local midnight (today + lookahead)


def _series(values) -> list[float | None]:
    return [None if v is None or pd.isna(v) else round(float(v), 4) for v in values]


def _horizon(daemon: Daemon) -> tuple[pd.DatetimeIndex, pd.DataFrame, pd.DatetimeIndex]:
    """Intervals from local midnight to the end of today or of the plan (the later), the plan on
    them, and today's intervals."""
    tz, res = daemon.district.tz, daemon.res
    today = local_day(daemon.clock.now().tz_convert(tz).date(), tz, daemon.config.site.resolution_min)
    plan = daemon.store.plan_view(today[0].to_pydatetime(), (today[0] + pd.Timedelta(days=PLAN_DAYS)).to_pydatetime())
    end = max(today[-1], plan.index.max()) if len(plan) else today[-1]
    idx = pd.date_range(today[0], end, freq=res, name="interval_start")
    return idx, plan.reindex(idx), today


def _measured(meas: pd.DataFrame, asset_id: str, quantity: str, how: str, idx: pd.DatetimeIndex, res) -> pd.Series:
    """One device's measurements of ``quantity`` per interval (``how``: mean or last)."""
    if meas.empty:
        return pd.Series(float("nan"), index=idx)
    m = meas[(meas.asset_id == asset_id) & (meas.quantity == quantity)]
    if m.empty:
        return pd.Series(float("nan"), index=idx)
    return m.groupby(pd.to_datetime(m.ts, utc=True).dt.floor(res)).value.agg(how).reindex(idx)


def _assets(daemon: Daemon, plan: pd.DataFrame, meas: pd.DataFrame, idx: pd.DatetimeIndex) -> dict[str, list]:
    """Plan vs actual power (and SoC or store temperature) of each battery, EV charger and heat pump."""
    kinds = {a.id: kind for kind, assets in (("battery", daemon.config.assets.battery),
                                               ("ev_charger", daemon.config.assets.ev_charger),
                                               ("heat_pump", daemon.config.assets.heat_pump)) for a in assets}
    ev, temp = daemon.controller.latest("ev"), daemon.controller.latest("temp_c")
    out: dict[str, list] = {"battery": [], "ev_charger": [], "heat_pump": []}
    for asset_id, kind in kinds.items():
        item = {"id": asset_id, "plan_p_kw": _series(plan.get(f"{asset_id}.p_kw", [])),
                "actual_p_kw": _series(_measured(meas, asset_id, "p_kw", "mean", idx, daemon.res))}
        if kind == "battery":
            item["plan_soc_kwh"] = _series(plan.get(f"{asset_id}.soc_kwh", []))
            item["actual_soc_kwh"] = _series(_measured(meas, asset_id, "soc_kwh", "last", idx, daemon.res))
        elif kind == "heat_pump":
            item["plan_temp_c"] = _series(plan.get(f"{asset_id}.temp_c", []))
            item["temp_c"] = temp.get(asset_id)
        else:
            report = ev.get(asset_id)
            item["connected"] = None if report is None else report.connected
            item["delivered_kwh"] = None if report is None else report.delivered_kwh
        out[kind].append(item)
    return out


def _plan_record(rec: dict | None) -> dict | None:
    """What the page says of a stored plan: version, kind, status, when made, horizon and totals."""
    if rec is None:
        return None
    s = rec.get("summary") or {}
    return {"version": rec["version"], "kind": rec["kind"], "status": rec["status"], "created_at": rec["created_at"],
            "start": rec["start"], "end": rec["end"], "emissions_kg": s.get("emissions_kg"),
            "baseline_emissions_kg": s.get("baseline_emissions_kg"), "ac_check": s.get("ac_check")}


def network_status(daemon: Daemon) -> dict:
    """The last AC check of a plan (newest plan first, then the newest day-ahead plan), or why there is none."""
    for rec in (daemon.store.latest_plan(), daemon.store.latest_plan("day_ahead")):
        info = _plan_record(rec)
        if info and info["ac_check"]:
            return {"checked": True, **info}
    return {"checked": False, "reason": "no plan so far has an AC check: re-optimisations skip it, the day-ahead "
                                        "plan made at the gate time has one"}


def emissions_today(daemon: Daemon, plan: pd.DataFrame, today: pd.DatetimeIndex, measured_kg: float) -> dict:
    """Measured so far, as planned for the whole day, and the day-ahead plan's emissions vs its baseline."""
    planned = plan.emissions_kg.reindex(today) if "emissions_kg" in plan else pd.Series(dtype=float)
    day_ahead = _plan_record(daemon.store.latest_plan("day_ahead"))
    covers = day_ahead is not None and pd.Timestamp(day_ahead["start"]) <= today[0] < pd.Timestamp(day_ahead["end"])
    return {"measured_kg": measured_kg, "planned_kg": float(planned.sum()) if planned.notna().any() else None,
            "day_ahead": day_ahead if covers else None}


def ledger_month(daemon: Daemon) -> dict | None:
    """The carbon ledger's month to date (data clock): Scope 2 totals and the neutrality target."""
    cfg = daemon.config
    data_now = daemon.clock.data_time(daemon.clock.now()).tz_convert(cfg.site.timezone)
    period = Period.parse(data_now.strftime("%Y-%m"))
    start, end = period.bounds_utc(cfg.site.timezone)
    rows = entries(daemon.store, start.to_pydatetime(), end.to_pydatetime(), grouping="district")
    if rows.empty:
        return None
    st = statement(rows, cfg.ledger, period, cfg.site.timezone)
    keys = ("period", "intervals", "import_kwh", "location_kg", "market_kg", "estimated_share_pct",
            "target_to_date_kg", "target_used_pct")
    return {k: st[k] for k in keys}


def dashboard_data(daemon: Daemon) -> dict:
    """Everything the dashboard draws."""
    store, tz = daemon.store, daemon.district.tz
    now = daemon.clock.now()
    idx, plan, today = _horizon(daemon)
    start, end = idx[0].to_pydatetime(), (idx[-1] + daemon.res).to_pydatetime()
    dt_h = daemon.res.total_seconds() / 3600

    ledger = pd.DataFrame(store.page("emissions", start, end, limit=100_000).items)
    grid = ci_actual = pd.Series(float("nan"), index=idx)
    if not ledger.empty:
        g = ledger[ledger.asset_id == "grid"]
        g = g.set_index(pd.to_datetime(g.interval_start, utc=True))
        grid = (g.energy_kwh / dt_h).reindex(idx)
        ci_actual = g.ci_kg_per_kwh.reindex(idx)
    meas = pd.DataFrame(store.page("measurements", start, min(end, now.to_pydatetime()), limit=500_000).items)
    status = daemon.status()
    events = store.page("events", (now - pd.Timedelta(days=2)).to_pydatetime(), None, limit=100_000)
    return {
        "site": daemon.config.site.name, "timezone": tz, "now": now.isoformat(),
        "data_time": status["data_time"], "intervals": [t.isoformat() for t in idx],
        "grid": {"plan_kw": _series(plan.get("grid_import_kw", [])), "actual_kw": _series(grid)},
        "carbon": {"plan": _series(plan.get("ci_kg_per_kwh", [])), "actual": _series(ci_actual)},
        **_assets(daemon, plan, meas, idx),
        "devices": status["devices"], "scheduler": status["scheduler"], "database": status["database"],
        "emissions": emissions_today(daemon, plan, today, status["emissions_today_kg"]),
        "network": network_status(daemon),
        "plan": _plan_record(store.latest_plan()),
        "feeds": status.get("feeds", {}),
        "ledger": ledger_month(daemon),
        "events": events.items[-20:][::-1],
    }
