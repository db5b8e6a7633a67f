"""Data of the dashboard: plan vs actual for the local day, device states, feed freshness, recent events."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from gridctl.timegrid import local_day

if TYPE_CHECKING:  # the daemon imports the API's metrics
    from gridctl.daemon import Daemon


def _series(values) -> list[float | None]:
    return [None if v is None or pd.isna(v) else round(float(v), 4) for v in values]


def dashboard_data(daemon: Daemon) -> dict:
    """Everything the dashboard draws, for the local day of the daemon clock."""
    store, tz = daemon.store, daemon.district.tz
    now = daemon.clock.now()
    idx = local_day(now.tz_convert(tz).date(), tz, daemon.config.site.resolution_min)
    start, end = idx[0].to_pydatetime(), (idx[-1] + daemon.res).to_pydatetime()
    plan = store.plan_view(start, end).reindex(idx)
    dt_h = daemon.res.total_seconds() / 3600

    ledger = pd.DataFrame(store.page("emissions", start, end, limit=100_000).items)
    grid = pd.Series(float("nan"), index=idx)
    ci_actual = pd.Series(float("nan"), index=idx)
    if not ledger.empty:
        ledger["t"] = pd.to_datetime(ledger.interval_start, utc=True)
        g = ledger[ledger.asset_id == "grid"].set_index("t")
        grid = (g.energy_kwh / dt_h).reindex(idx)
        ci_actual = g.ci_kg_per_kwh.reindex(idx)

    meas = pd.DataFrame(store.page("measurements", start, end, limit=500_000).items)
    batteries = []
    for asset_id in daemon.controller.devices:
        if f"{asset_id}.p_kw" not in plan and f"{asset_id}.soc_kwh" not in plan:
            continue
        actual_p = actual_soc = pd.Series(float("nan"), index=idx)
        if not meas.empty:
            m = meas[meas.asset_id == asset_id].copy()
            m["t"] = pd.to_datetime(m.ts, utc=True).dt.floor(daemon.res)
            by = m.groupby(["quantity", "t"]).value
            if "p_kw" in set(m.quantity):
                actual_p = by.mean().loc["p_kw"].reindex(idx)
            if "soc_kwh" in set(m.quantity):
                actual_soc = by.last().loc["soc_kwh"].reindex(idx)
        batteries.append({
            "id": asset_id,
            "plan_p_kw": _series(plan.get(f"{asset_id}.p_kw", [])),
            "plan_soc_kwh": _series(plan.get(f"{asset_id}.soc_kwh", [])),
            "actual_p_kw": _series(actual_p), "actual_soc_kwh": _series(actual_soc),
        })
    status = daemon.status()
    events = store.page("events", (now - pd.Timedelta(days=2)).to_pydatetime(), None, limit=100_000)
    return {
        "site": daemon.config.site.name, "timezone": tz, "now": now.isoformat(),
        "data_time": status["data_time"], "intervals": [t.isoformat() for t in idx],
        "grid": {"plan_kw": _series(plan.get("grid_import_kw", [])), "actual_kw": _series(grid)},
        "carbon": {"plan": _series(plan.get("ci_kg_per_kwh", [])), "actual": _series(ci_actual)},
        "batteries": batteries,
        "devices": status["devices"], "scheduler": status["scheduler"], "database": status["database"],
        "emissions_today_kg": status["emissions_today_kg"], "feeds": status.get("feeds", {}),
        "events": events.items[-20:][::-1],
    }
