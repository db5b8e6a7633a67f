"""A statement as files: ``statement.csv`` (long form) and a self-contained ``statement.html``."""

from __future__ import annotations

import html
import math
from pathlib import Path

import pandas as pd

CSV_COLUMNS = ["section", "grouping", "group_id", "energy_kwh", "import_kwh", "location_kg", "market_kg",
               "estimated_import_kwh", "location_share_pct"]


def statement_csv(st: dict) -> pd.DataFrame:
    """One row for the headline figures, then one per group of every grouping."""
    rows = [{"section": "total", "grouping": "tenant" if st["tenant"] else "district",
             "group_id": st["tenant"] or "district", "energy_kwh": None, "import_kwh": st["import_kwh"],
             "location_kg": st["location_kg"], "market_kg": st["market_kg"],
             "estimated_import_kwh": st["import_kwh"] * st["estimated_share_pct"] / 100.0,
             "location_share_pct": 100.0}]
    for grouping, table in st["groupings"].items():
        for group_id, r in table.iterrows():
            rows.append({"section": "attribution", "grouping": grouping, "group_id": group_id, **r.to_dict()})
    if st["avoided_kg"] is not None:
        rows.append({"section": "avoided", "grouping": "avoided", "group_id": ",".join(st["avoided_signal"]),
                     "location_kg": st["avoided_kg"]})
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


def _num(x, digits: int = 0) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:,.{digits}f}"


def _bars(daily: pd.DataFrame) -> str:
    """Inline SVG: location-based (dark) and market-based (light) kg per day."""
    if daily.empty:
        return "<p>No booked days.</p>"
    top = float(daily.max().max()) or 1.0
    w, h, bw = 24 * len(daily) + 60, 180, 10
    bars = []
    for i, (day, r) in enumerate(daily.iterrows()):
        x = 50 + 24 * i
        for j, (col, colour) in enumerate((("location_kg", "#1f4e79"), ("market_kg", "#8fb8de"))):
            v = r[col]
            if v is not None and not math.isnan(v):
                bh = 150 * v / top
                bars.append(f'<rect x="{x + j * bw}" y="{160 - bh:.1f}" width="{bw - 1}" height="{bh:.1f}" '
                            f'fill="{colour}"><title>{day} {col}: {v:,.0f} kg</title></rect>')
        if i % 5 == 0:
            bars.append(f'<text x="{x}" y="175" font-size="9">{day.strftime("%d")}</text>')
    axis = (f'<text x="0" y="15" font-size="10">{top:,.0f} kg</text><line x1="48" y1="160" x2="{w}" y2="160" '
            'stroke="#444"/>')
    return f'<svg width="{w}" height="{h}" role="img" aria-label="daily emissions">{axis}{"".join(bars)}</svg>'


def _table(table: pd.DataFrame) -> str:
    head = "<tr><th>group</th><th>net kWh</th><th>import kWh</th><th>location kg</th><th>market kg</th>" \
           "<th>estimated kWh</th><th>share</th></tr>"
    body = "".join(
        f"<tr><td>{html.escape(str(g))}</td><td>{_num(r.energy_kwh)}</td><td>{_num(r.import_kwh)}</td>"
        f"<td>{_num(r.location_kg)}</td><td>{_num(r.market_kg)}</td><td>{_num(r.estimated_import_kwh)}</td>"
        f"<td>{_num(r.location_share_pct, 1)} %</td></tr>" for g, r in table.iterrows())
    return f"<table>{head}{body}</table>"


def statement_html(st: dict, site: str, audit: dict) -> str:
    """The statement as one HTML page with no external resources."""
    who = f"tenant {html.escape(st['tenant'])}" if st["tenant"] else "district"
    market = _num(st["market_kg"]) + " kg" if st["market_kg"] is not None else \
        "not computed: set [ledger] residual_mix_kg_per_kwh"
    target = "no target configured" if st["target_budget_kg"] is None else \
        (f"{_num(st['target_used_pct'], 1)} % of the trajectory budget of the booked days "
         f"({_num(st['target_to_date_kg'])} kg; whole period {_num(st['target_budget_kg'])} kg)")
    avoided = "no baseline booked" if st["avoided_kg"] is None else \
        f"{_num(st['avoided_kg'])} kg ({', '.join(st['avoided_signal'])} intensity)"
    inst = ", ".join(f"{html.escape(k)} {_num(v)} kWh" for k, v in st["instruments_kwh"].items()) or "none"
    sections = "".join(f"<h2>By {html.escape(g)}</h2>{_table(t)}" for g, t in st["groupings"].items())
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Carbon statement {st['period']} - {html.escape(site)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #bbb;padding:3px 8px;text-align:right}}td:first-child{{text-align:left}}</style></head>
<body><h1>Carbon statement {st['period']}: {who}, {html.escape(site)}</h1>
<table>
<tr><td>Grid import</td><td>{_num(st['import_kwh'])} kWh (export {_num(st['export_kwh'])} kWh, no credit)</td></tr>
<tr><td>Scope 2, location-based</td><td>{_num(st['location_kg'])} kg</td></tr>
<tr><td>Scope 2, market-based</td><td>{market}</td></tr>
<tr><td>Contractual instruments used</td><td>{inst}</td></tr>
<tr><td>Estimated share of import</td><td>{_num(st['estimated_share_pct'], 2)} %</td></tr>
<tr><td>Avoided by dispatch vs no control</td><td>{avoided}</td></tr>
<tr><td>Neutrality target</td><td>{target}</td></tr>
<tr><td>Intensity signal, source</td><td>{html.escape(', '.join(st['signal_types']))};
{html.escape('; '.join(st['sources']))}</td></tr>
</table>
<h2>Per day (dark: location-based, light: market-based)</h2>{_bars(st['daily'])}
{sections}
<h2>Audit</h2><p>Ledger rows verified: {audit['rows']}, problems: {audit['problems']}; chain head
<code>{html.escape(audit['head'])}</code>. Every row names its inputs (meter, intensity row, plan version,
gridctl version, config hash); <code>gridctl ledger verify</code> re-checks the chain.</p>
</body></html>
"""


def write_statement(st: dict, out: Path, site: str, audit: dict) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = out / "statement.csv", out / "statement.html"
    statement_csv(st).to_csv(csv_path, index=False, float_format="%.6f")
    html_path.write_text(statement_html(st, site, audit), encoding="utf-8")
    return [csv_path, html_path]


def statement_json(st: dict) -> dict:
    """The statement as JSON-ready data (group tables as lists of records)."""
    out = {k: v for k, v in st.items() if k not in ("groupings", "daily")}
    out["groupings"] = {g: [{"group_id": i, **{k: _clean(v) for k, v in r.items()}}
                            for i, r in t.to_dict("index").items()] for g, t in st["groupings"].items()}
    out["daily"] = [{"date": d.isoformat(), **{k: _clean(v) for k, v in r.items()}}
                    for d, r in st["daily"].to_dict("index").items()]
    return out


def _clean(v):
    return None if isinstance(v, float) and math.isnan(v) else v
