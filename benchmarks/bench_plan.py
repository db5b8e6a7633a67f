"""Day-ahead plan on the demo district: build, hand-over + solve, AC check times."""

import time
from datetime import date

from gridctl.config import load_config
from gridctl.district import District
from gridctl.planning import make_plan


def main() -> None:
    district = District.load(load_config())
    _ = district.history, district.carbon
    for day in (date(2016, 1, 14), date(2016, 7, 14)):
        t0 = time.perf_counter()
        plan = make_plan(district, day)
        total = time.perf_counter() - t0
        s = plan.summary
        print(f"{day}: build {s['build_s']:.3f} s, solve {s['solve_s']:.3f} s, total plan {total:.2f} s "
              f"(AC backend {s['ac_check']['backend']}), emissions {s['emissions_kg']:.0f} kg vs "
              f"{s['baseline_emissions_kg']:.0f} kg baseline")


if __name__ == "__main__":
    main()
