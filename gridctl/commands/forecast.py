"""``gridctl forecast evaluate --start D --end D [--out DIR]``: walk-forward skill of the forecasters.

For every local day from ``--start`` to ``--end`` (inclusive) the forecasts are issued at that
day's gate time (``[site] gate_time`` on the day before) from data known then, and compared with
what was measured: district load (sum of load groups), district PV (sum of PV groups) and carbon
intensity, each against seasonal naive (same weekday last week) and persistence (yesterday).
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from gridctl.commands.guards import check_days, check_order, iso_date, output_dir
from gridctl.config import load_config

if TYPE_CHECKING:
    import pandas as pd

    from forecasts.evaluate import Target
    from gridctl.district import District

BASELINES = {"seasonal_naive": 7, "persistence": 1}  # name -> period in days


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    e = sub.add_parser("evaluate", help="walk-forward evaluation against naive baselines",
                       description=__doc__.splitlines()[0])
    e.add_argument("--config", default=argparse.SUPPRESS, help="config TOML (default: the embedded config.toml)")
    e.add_argument("--start", required=True, type=iso_date, help="first local date YYYY-MM-DD")
    e.add_argument("--end", required=True, type=iso_date, help="last local date YYYY-MM-DD (inclusive)")
    e.add_argument("--out", default="var/forecast-eval", type=Path, help="output folder (default var/forecast-eval)")


def targets(district: District) -> list[Target]:
    """District load, district PV and carbon intensity, each with the forecaster and the baselines."""
    from forecasts.evaluate import Target, summed
    from forecasts.seasonal_naive import SeasonalNaive
    from gridctl.forecasting import district_forecasters

    fc = district_forecasters(district)
    tz, res = district.tz, district.resolution_min
    out = []
    for name, forecaster, history in (
        ("load", fc.load, district.history[district.load_series]),
        ("pv", fc.pv, district.history[district.pv_series]),
        ("carbon", fc.carbon, fc.carbon.measured),
    ):
        models = {"forecast": summed(forecaster, "ci_kg_per_kwh" if name == "carbon" else None)}
        for base, days in BASELINES.items():
            models[base] = summed(SeasonalNaive(days, tz, res).fit(history))
        out.append(Target(name, history.sum(axis=1), models))
    return out


def plot(results: pd.DataFrame, path: Path, timezone: str) -> None:
    """One panel per target: measured and every model's forecast (plotly HTML, plotly.js inlined: works offline)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = list(results.target.unique())
    fig = make_subplots(rows=len(names), cols=1, shared_xaxes=True, subplot_titles=names, vertical_spacing=0.05)
    for row, target in enumerate(names, start=1):
        grp = results[results.target == target]
        first = grp[grp.model == grp.model.iloc[0]]
        x = first.interval_start.dt.tz_convert(timezone)
        fig.add_trace(go.Scatter(x=x, y=first.actual, name=f"{target}: measured", line={"color": "black"}), row, 1)
        for model, part in grp.groupby("model", sort=False):
            fig.add_trace(go.Scatter(x=part.interval_start.dt.tz_convert(timezone), y=part.forecast,
                                     name=f"{target}: {model}"), row, 1)
    fig.update_layout(height=300 * len(names), title="Walk-forward day-ahead forecasts")
    fig.write_html(path, include_plotlyjs=True)


def run(args: argparse.Namespace) -> int:
    check_order(args.start, args.end)
    output_dir(args.out)
    config = load_config(args.config)
    from forecasts.evaluate import score, walk_forward
    from gridctl.district import District
    from gridctl.timegrid import gate_time, local_day

    district = District.load(config)
    check_days(district, start=args.start, end=args.end)
    gate = district.config.site.gate_time
    days = [args.start + timedelta(days=i) for i in range((args.end - args.start).days + 1)]
    issues = [(gate_time(d, district.tz, gate), local_day(d, district.tz, district.resolution_min)) for d in days]
    results = walk_forward(targets(district), issues)
    table = score(results, list(BASELINES))
    args.out.mkdir(parents=True, exist_ok=True)
    results.to_csv(args.out / "intervals.csv", index=False, float_format="%.6f")
    table.to_csv(args.out / "metrics.csv", index=False, float_format="%.6f")
    plot(results, args.out / "forecasts.html", district.tz)
    print(f"walk-forward day-ahead evaluation {args.start} .. {args.end} ({len(days)} days, issued at "
          f"{gate} {district.tz} on the day before)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"wrote {args.out / 'metrics.csv'}, {args.out / 'intervals.csv'} and {args.out / 'forecasts.html'}")
    return 0
