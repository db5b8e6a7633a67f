"""The daemon plans with the month's running peak read from the store's meter rows, never from a
row of an interval that had not ended by the decision (the simulator over TCP, SQLite store)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from gridctl.replay.sweep import district_with_config
from gridctl.store.series import SeriesRow, upsert_measured
from tests.daemon_rig import stepped_daemon

METER_ROWS_KW = {  # data clock, UTC; the daemon's data clock starts at 2016-11-25 11:35
    "2016-10-31T10:00Z": 20_000.0,  # last month: reset
    "2016-11-24T10:00Z": 9_100.0,  # this month, ended: the running peak
    "2016-11-25T11:30Z": 30_000.0,  # the interval in progress at the decision: not ended
}


async def test_the_intraday_plan_carries_the_meter_running_peak_of_this_month(demo_district, tmp_path):
    cfg = demo_district.config.model_copy(deep=True)
    cfg.dispatch.demand_charges = [{"name": "all_day", "price_per_kw": 10.0}]
    district = district_with_config(demo_district, cfg)
    async with stepped_daemon(district, tmp_path, plan=False) as run:
        meter = cfg.measurements.meter_series
        upsert_measured(run.store, [SeriesRow(meter, "p_kw", pd.Timestamp(t).to_pydatetime(), v)
                                    for t, v in METER_ROWS_KW.items()], "meter", datetime.now(UTC))
        await run.poll()
        await run.daemon.intraday()
        (row,) = run.flushed().latest_plan("intraday")["summary"]["demand_charges"]
    assert row["month"] == "2016-11" and row["carried_peak_kw"] == 9_100.0
    assert 9_100.0 <= row["peak_kw"] < 30_000.0
