"""Replay of 7 days of the demo district (default config): seconds per simulated day by phase."""

import time
from datetime import date

from gridctl.config import load_config
from gridctl.district import District
from gridctl.replay.run import run_replay

START, END = date(2016, 7, 11), date(2016, 7, 17)


def main() -> None:
    district = District.load(load_config())
    _ = district.history, district.carbon
    t0 = time.perf_counter()
    result = run_replay(district, START, END)
    wall = time.perf_counter() - t0
    s = result.summary
    days = s["days"]
    phases = ", ".join(f"{k} {v / days:.2f}" for k, v in s["timings_s"].items())
    print(f"{START}..{END}: {wall:.1f} s for {days} days ({wall / days:.2f} s/day; {s['decisions']} decisions, "
          f"re-optimising every {s['settings']['reoptimise_every_min']} min)")
    print(f"  s/day by phase: {phases}")
    runs = ", ".join(f"{k} {v['emissions_adjusted_kg']:.0f}" for k, v in s["runs"].items())
    print(f"  emissions incl. stored-energy change, kg: {runs}; perfect-foresight reduction captured "
          f"{s['perfect_foresight_capture_pct']:.1f}%")


if __name__ == "__main__":
    main()
