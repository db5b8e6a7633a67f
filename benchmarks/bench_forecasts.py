"""Forecasters on the demo district: training on one year, then one day's forecasts (all targets)."""

import time
from datetime import date

from gridctl.config import load_config
from gridctl.district import District
from gridctl.forecasting import build_forecasters
from gridctl.timegrid import gate_time, local_day


def main() -> None:
    district = District.load(load_config())
    _ = district.history, district.carbon
    day = date(2016, 12, 30)
    issue = gate_time(day, district.tz, district.config.site.gate_time)
    horizon = local_day(day, district.tz, district.resolution_min)
    fc = build_forecasters(district)
    fc.load.fit(district.history[district.load_series])
    fc.pv.fit(district.history[district.pv_series])
    fc.carbon.fit(district.carbon)
    for name, forecaster, history in (
        ("load", fc.load, district.history[district.load_series]),
        ("pv", fc.pv, district.history[district.pv_series]),
        ("carbon", fc.carbon, fc.carbon.measured),
    ):
        t0, c0 = time.perf_counter(), time.process_time()
        forecaster.models.get(history, issue)
        print(f"train {name} ({history.shape[1]} series, history to {forecaster.models.cutoff(issue):%Y-%m-%d}): "
              f"{time.perf_counter() - t0:.1f} s wall, {time.process_time() - c0:.1f} s CPU")
    t0, c0 = time.perf_counter(), time.process_time()
    fc.load.predict_quantiles(issue, horizon)
    print(f"train load P10/P90 tail models: {time.perf_counter() - t0:.1f} s wall, {time.process_time() - c0:.1f} s CPU")
    t0 = time.perf_counter()
    for _ in range(3):
        fc.load.predict_quantiles(issue, horizon)
        fc.pv.predict(issue, horizon)
        fc.carbon.predict(issue, horizon)
    print(f"one day of forecasts (load P10/P50/P90, PV, carbon) after training: {(time.perf_counter() - t0) / 3:.3f} s")


if __name__ == "__main__":
    main()
