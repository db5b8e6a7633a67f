"""Write a replay's files: summary.json, intervals.csv and report.html."""

from __future__ import annotations

import json
from pathlib import Path

from gridctl.replay.report import write_report
from gridctl.replay.run import ReplayResult


def write_outputs(result: ReplayResult, out: Path) -> list[Path]:
    """Write the three files into ``out`` (created if missing); return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    summary, intervals, report = out / "summary.json", out / "intervals.csv", out / "report.html"
    summary.write_text(json.dumps(result.summary, indent=2) + "\n", encoding="utf-8")
    table = result.intervals.copy()
    table.index = [t.tz_convert(result.summary["timezone"]).isoformat() for t in table.index]
    table.index.name = "interval_start"
    table.to_csv(intervals, float_format="%.6f")
    write_report(result, report)
    return [summary, intervals, report]
