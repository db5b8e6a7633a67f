"""The figures the docs quote, rendered from real runs and written between markers.

A figure in README.md or docs/*.md sits between ``<!-- fig:NAME -->`` and ``<!-- /fig -->``.
``python docs/figures.py`` (``make docs-figures``) runs ``gridctl plan`` for every day the
figures need, renders each figure from the plan's ``plan.json`` and rewrites the text between
its markers. ``tests/test_docs_figures.py`` renders them from :func:`gridctl.planning.make_plan`
and fails when a number in the docs differs by more than :data:`TOLERANCE`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOLERANCE = 0.005  # relative difference allowed between a quoted number and the run's
MARKER = re.compile(r"<!-- fig:(?P<name>[\w.-]+) -->(?P<body>.*?)<!-- /fig -->", re.DOTALL)
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
SUMMER, WINTER = date(2016, 7, 14), date(2016, 1, 14)


def _kg(x: float) -> str:
    return f"{x:,.0f}"


def plan_line(plans: dict[date, dict]) -> str:
    """The headline of ``gridctl plan --date 2016-07-14``."""
    s = plans[SUMMER]
    return (f"emissions {_kg(s['emissions_kg'])} kg against a baseline of {_kg(s['baseline_emissions_kg'])} kg "
            f"without flexibility, AC violations {s['baseline_ac_check']['violations']} → {s['ac_check']['violations']}")


def network_table(plans: dict[date, dict]) -> str:
    """The demo district's AC check, plan against no flexibility, on a winter and a summer day."""
    rows = ["| day | AC violations baseline -> plan | min V (p.u.) | max loading (%) | emissions plan / baseline (kg) |",
            "| --- | --- | --- | --- | --- |"]
    for day in (WINTER, SUMMER):
        s = plans[day]
        ac, base = s["ac_check"], s["baseline_ac_check"]
        rounds = ac.get("rounds", 0)
        rows.append(f"| {day} | {base['violations']} -> {ac['violations']} ({rounds} round{'s' * (rounds != 1)}) "
                    f"| {base['min_vm_pu']:.4f} -> {ac['min_vm_pu']:.4f} "
                    f"| {base['max_loading_pct']:.1f} -> {ac['max_loading_pct']:.1f} "
                    f"| {_kg(s['emissions_kg'])} / {_kg(s['baseline_emissions_kg'])} |")
    return "\n" + "\n".join(rows) + "\n"


# figure name -> (plan days it needs, renderer of the plans' summaries)
FIGURES: dict[str, tuple[tuple[date, ...], Callable[[dict[date, dict]], str]]] = {
    "plan-2016-07-14": ((SUMMER,), plan_line),
    "network-demo-days": ((WINTER, SUMMER), network_table),
}


def days_needed() -> list[date]:
    return sorted({d for days, _ in FIGURES.values() for d in days})


def render(plans: dict[date, dict]) -> dict[str, str]:
    """Every figure's text from the plans' summaries (``plan.json`` of each day)."""
    return {name: fn(plans) for name, (_, fn) in FIGURES.items()}


def quoted(text: str) -> list[tuple[str, str]]:
    """(name, body) of every figure between markers in ``text``."""
    return [(m["name"], m["body"]) for m in MARKER.finditer(text)]


def numbers(text: str) -> list[float]:
    """The numbers of a figure's text, in order (dates left out)."""
    return [float(n.replace(",", "")) for n in NUMBER.findall(DATE.sub(" ", text))]


def differences(body: str, expected: str, tolerance: float = TOLERANCE) -> list[str]:
    """One line per number of ``body`` that differs from ``expected``'s by more than ``tolerance``."""
    got, want = numbers(body), numbers(expected)
    if len(got) != len(want):
        return [f"{len(got)} numbers quoted, the run gives {len(want)}: {expected.strip()!r}"]
    return [f"{g:g} quoted, the run gives {w:g}" for g, w in zip(got, want)
            if abs(g - w) > tolerance * max(abs(w), 1.0)]


def rewrite(text: str, figures: dict[str, str]) -> str:
    """``text`` with every known figure's body replaced by its rendering."""
    def one(m: re.Match) -> str:
        body = figures.get(m["name"], m["body"])
        return f"<!-- fig:{m['name']} -->{body}<!-- /fig -->"
    return MARKER.sub(one, text)


def run_plans(config: str | None = None) -> dict[date, dict]:
    """Run ``gridctl plan --date D`` for every day the figures need; each day's ``plan.json``."""
    plans = {}
    with tempfile.TemporaryDirectory() as tmp:
        for day in days_needed():
            out = Path(tmp) / str(day)
            cmd = [sys.executable, "-m", "gridctl.cli", "plan", "--date", str(day), "--out", str(out)]
            if config:
                cmd += ["--config", config]
            print("$ gridctl " + " ".join(cmd[3:]), flush=True)
            subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
            plans[day] = json.loads((out / "plan.json").read_text())
    return plans


def main() -> int:
    figures = render(run_plans())
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        new = rewrite(text, figures)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
