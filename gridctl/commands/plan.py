"""``gridctl plan --date YYYY-MM-DD [--out DIR] [--export-lp FILE]``: the day-ahead plan for a local date."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gridctl.commands.guards import check_days, iso_date, output_dir
from gridctl.config import load_config


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--date", required=True, type=iso_date, help="local date YYYY-MM-DD")
    p.add_argument("--out", default="var/plans", type=Path, help="output folder (default var/plans)")
    p.add_argument("--export-lp", default=None, type=Path, metavar="FILE",
                   help="also write the dispatch LP as solved (last AC round) to FILE in MPS format")


def _local_stamps(index, timezone: str) -> list[str]:
    return [t.tz_convert(timezone).isoformat() for t in index]


def write_plan_files(plan, out: Path) -> None:
    """Write plan.csv (ISO 8601 stamps in the site's zone), plan.json and, with an AC check, ac.csv."""
    out.mkdir(parents=True, exist_ok=True)
    tz = plan.summary["timezone"]
    table = plan.table.copy()
    table.index = _local_stamps(table.index, tz)
    table.index.name = "interval_start"
    table.to_csv(out / "plan.csv", float_format="%.6f")
    (out / "plan.json").write_text(json.dumps(plan.summary, indent=2) + "\n")
    if plan.ac is not None:
        ac = plan.ac.interval_table()
        ac.index = _local_stamps(ac.index, tz)
        ac.index.name = "interval_start"
        ac.to_csv(out / "ac.csv", float_format="%.6f")


def export_lp(model, path: Path) -> None:
    """Write the solved dispatch model as HiGHS receives it (with its objective constant) to ``path`` (MPS)."""
    from pyomo.common.gc_manager import PauseGC

    from gridctl.dispatch.highs import compile_model, pass_model

    path.parent.mkdir(parents=True, exist_ok=True)
    with PauseGC():
        repn = compile_model(model)
        h = pass_model(repn, time_limit_s=1.0, mip_gap=0.0)
    h.changeObjectiveOffset(float(repn.c_offset[0]))
    h.writeModel(str(path))


def run(args: argparse.Namespace) -> int:
    output_dir(args.out)
    config = load_config(args.config)
    from gridctl.district import District
    from gridctl.planning import make_plan

    district = District.load(config)
    check_days(district, date=args.date)
    plan = make_plan(district, args.date)
    write_plan_files(plan, args.out)
    s = plan.summary
    print(f"plan {s['date']} ({s['intervals']} intervals): {s['status']}, emissions {s['emissions_kg']:.1f} kg "
          f"(baseline {s['baseline_emissions_kg']:.1f} kg), AC violations {s['ac_check']['violations']} "
          f"(baseline {s['baseline_ac_check']['violations']}, {s['ac_check'].get('rounds', 0)} AC rounds)")
    written = [args.out / "plan.csv", args.out / "plan.json"] + ([args.out / "ac.csv"] if plan.ac is not None else [])
    if args.export_lp is not None:
        export_lp(plan.model, args.export_lp)
        written.append(args.export_lp)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
