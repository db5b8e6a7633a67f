"""``gridctl plan --date YYYY-MM-DD [--out DIR]``: the day-ahead plan for a local date."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gridctl.commands.guards import check_days, iso_date, output_dir
from gridctl.config import load_config


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--date", required=True, type=iso_date, help="local date YYYY-MM-DD")
    p.add_argument("--out", default="var/plans", type=Path, help="output folder (default var/plans)")


def write_plan_files(plan, out: Path) -> None:
    """Write plan.csv (ISO 8601 stamps in the site's zone) and plan.json."""
    out.mkdir(parents=True, exist_ok=True)
    table = plan.table.copy()
    table.index = [t.tz_convert(plan.summary["timezone"]).isoformat() for t in table.index]
    table.index.name = "interval_start"
    table.to_csv(out / "plan.csv", float_format="%.6f")
    (out / "plan.json").write_text(json.dumps(plan.summary, indent=2) + "\n")


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
    print(f"wrote {args.out / 'plan.csv'} and {args.out / 'plan.json'}")
    return 0
