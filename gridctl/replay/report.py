"""report.html: one self-contained page (plotly.js inlined, works offline) of a replay."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gridctl.replay.run import CONTROLLER, ReplayResult

KPI_ROWS = [
    ("emissions_kg", "emissions, kg CO2"),
    ("emissions_adjusted_kg", "emissions incl. stored-energy change, kg CO2"),
    ("stored_energy_debt_kwh", "grid energy to restore the starting SoC, kWh"),
    ("peak_import_kw", "peak import, kW"),
    ("demand_charge_cost", "demand charges, currency"),
    ("import_kwh", "grid import, kWh"),
    ("curtailed_kwh", "PV curtailed, kWh"),
    ("soc_end_kwh", "stored energy at the end, kWh"),
    ("ac_violations", "AC violations (sampled intervals)"),
    ("unserved_energy_kwh", "unserved flexible energy, kWh"),
]


def _local(index: pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    return index.tz_convert(timezone).tz_localize(None)


def import_and_intensity(result: ReplayResult, timezone: str) -> go.Figure:
    """Grid import of every run and the actual carbon intensity over time."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for name, run in result.runs.items():
        fig.add_trace(go.Scatter(x=_local(run.index, timezone), y=run.grid_import_kw, name=f"{name} import",
                                 line={"width": 2 if name == CONTROLLER else 1}), secondary_y=False)
    ci = result.intervals.ci_actual_kg_per_kwh
    fig.add_trace(go.Scatter(x=_local(ci.index, timezone), y=ci, name="carbon intensity",
                             line={"color": "black", "dash": "dot"}), secondary_y=True)
    fig.update_yaxes(title_text="grid import, kW", secondary_y=False)
    fig.update_yaxes(title_text="kg CO2 / kWh", secondary_y=True)
    fig.update_layout(title="Grid import and carbon intensity")
    return fig


def battery_soc(result: ReplayResult, timezone: str) -> go.Figure:
    """State of charge of every battery under gridctl."""
    op = result.runs[CONTROLLER]
    fig = go.Figure()
    for col in [c for c in op.columns if c.endswith(".soc_kwh")]:
        fig.add_trace(go.Scatter(x=_local(op.index, timezone), y=op[col], name=col.removesuffix(".soc_kwh")))
    fig.update_layout(title="Battery state of charge (gridctl)", yaxis_title="kWh")
    return fig


def plan_vs_actual(result: ReplayResult, timezone: str) -> go.Figure:
    """Planned vs actual grid import and asset power, and forecast vs actual carbon intensity."""
    iv = result.intervals
    x = _local(iv.index, timezone)
    planned = iv[[c for c in iv.columns if c.endswith(".p_planned_kw")]].sum(axis=1)
    actual = iv[[c for c in iv.columns if c.endswith(".p_kw")]].sum(axis=1)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, subplot_titles=(
        "grid import, kW", "controllable assets, kW (+ consuming)", "carbon intensity, kg CO2 / kWh"))
    pairs = [(iv.grid_import_planned_kw, iv.grid_import_kw, "import"), (planned, actual, "assets"),
             (iv.ci_forecast_kg_per_kwh, iv.ci_actual_kg_per_kwh, "intensity")]
    for row, (plan, real, label) in enumerate(pairs, start=1):
        fig.add_trace(go.Scatter(x=x, y=plan, name=f"{label} planned / forecast"), row=row, col=1)
        fig.add_trace(go.Scatter(x=x, y=real, name=f"{label} actual"), row=row, col=1)
    fig.update_layout(title="Plan and forecasts (in force at each interval) vs actual", height=700)
    return fig


def cumulative_savings(result: ReplayResult, timezone: str) -> go.Figure:
    """Emissions gridctl saved against each baseline, summed from the first interval (kg; the last
    value is the unadjusted saving: no stored-energy change counted)."""
    ours = result.runs[CONTROLLER].emissions_kg
    fig = go.Figure()
    for name, run in result.runs.items():
        if name != CONTROLLER:
            saved = (run.emissions_kg - ours).cumsum()
            fig.add_trace(go.Scatter(x=_local(saved.index, timezone), y=saved, name=f"vs {name}"))
    fig.update_layout(title="Cumulative emissions saved by gridctl against each baseline (unadjusted)",
                      yaxis_title="kg CO2")
    return fig


def violations_timeline(result: ReplayResult, timezone: str) -> go.Figure:
    """Every AC limit violated in the checked intervals of each run: when (local time) and where."""
    fig = go.Figure()
    for name, kpis in result.summary["runs"].items():
        events = kpis.get("ac_violation_events") or []
        if events:
            x = _local(pd.DatetimeIndex([e["interval_start"] for e in events]), timezone)
            fig.add_trace(go.Scatter(x=x, y=[e["element"] for e in events], mode="markers", name=name,
                                     text=[f"{e['limit']} {e['value']}" for e in events]))
    fig.update_layout(title="AC violations of the actual operation (element and interval; hover: value)",
                      height=300 + 12 * len({e["element"] for k in result.summary["runs"].values()
                                             for e in k.get("ac_violation_events") or []}))
    return fig


def emissions_by_day(result: ReplayResult) -> go.Figure:
    """Emissions per local day of gridctl and every baseline."""
    fig = go.Figure()
    for name, kpis in result.summary["runs"].items():
        days = kpis["emissions_kg_by_day"]
        fig.add_trace(go.Bar(x=list(days), y=list(days.values()), name=name))
    fig.update_layout(title="Emissions per day", yaxis_title="kg CO2", barmode="group")
    return fig


def kpi_table(summary: dict) -> str:
    """HTML table: one column per run, one row per KPI."""
    runs = summary["runs"]
    head = "".join(f"<th>{html.escape(n)}</th>" for n in runs)
    rows = []
    for key, label in KPI_ROWS:
        cells = "".join(f"<td>{_fmt(r.get(key))}</td>" for r in runs.values())
        rows.append(f"<tr><th>{html.escape(label)}</th>{cells}</tr>")
    return f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>"


def process_table(summary: dict) -> str:
    """HTML table of the process loads' windows under gridctl: requested, delivered, unserved, starts."""
    rows = summary.get("process_loads") or []
    if not rows:
        return ""
    keys = ("asset", "window_start", "requested_kwh", "delivered_kwh", "unserved_kwh", "starts")
    head = "".join(f"<th>{k}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(r[k])}</td>" for k in keys) + "</tr>" for r in rows)
    return f"<h2>Process loads (gridctl)</h2><table><tr>{head}</tr>{body}</table>"


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.1f}" if isinstance(value, float) else html.escape(str(value))


def render(result: ReplayResult) -> str:
    """The report as one HTML string with plotly.js inlined once."""
    s = result.summary
    tz = s["timezone"]
    figures = [import_and_intensity(result, tz), cumulative_savings(result, tz), battery_soc(result, tz),
               plan_vs_actual(result, tz), violations_timeline(result, tz), emissions_by_day(result)]
    divs = [fig.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, fig in enumerate(figures)]
    raw = s["unadjusted"]
    facts = [
        "interrupted (Ctrl-C): these are the whole days replayed before it" if s.get("partial") else "",
        (f"{s['site']}: {s['start']} to {s['end']} ({s['days']} days, "
         f"{sum(s['intervals_per_day'].values())} intervals, {s['decisions']} decisions)"),
        *(f"{label}: {_fmt(s[key])}% adjusted for the stored-energy change, {_fmt(raw[key])}% unadjusted"
          for key, label in (("reduction_pct", f"reduction vs {s['reference_baseline']}"),
                             ("perfect_foresight_capture_pct", "share of the copper-plate perfect-foresight reduction"),
                             ("network_bound_capture_pct", "share of the network-feasible perfect-foresight reduction"))
          if s[key] is not None),
        *(f"baseline {name} left out: {why}" for name, why in s["baselines_failed"].items()),
        f"cost: {s['cost_basis']}",
        *(f"demand charge {c['name']} {c['month']}: peak {c['peak_kw']:,.1f} kW, charge {c['charge']:,.2f}"
          for c in s["demand_charges"]),
    ]
    items = "".join(f"<li>{html.escape(f)}</li>" for f in facts if f)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>gridctl replay</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}</style></head><body>"
        f"<h1>gridctl replay {html.escape(s['start'])} to {html.escape(s['end'])}</h1><ul>{items}</ul>"
        f"<h2>Key figures</h2>{kpi_table(s)}{process_table(s)}{''.join(divs)}</body></html>"
    )


def write_report(result: ReplayResult, path: Path) -> None:
    """Write report.html."""
    path.write_text(render(result), encoding="utf-8")
