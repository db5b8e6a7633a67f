"""The daemon books the carbon ledger after every tick, from the store, on the data clock."""

from __future__ import annotations

import pandas as pd
import pytest
from daemon_rig import stepped_daemon

from gridctl.ledger.chain import verify
from gridctl.ledger.live import PLAN_ESTIMATE
from gridctl.store.ledger import chained_rows, entries


async def test_ticks_book_the_ended_intervals_as_plan_estimates_without_a_meter(demo_district, tmp_path):
    async with stepped_daemon(demo_district, tmp_path) as run:
        first = run.daemon.current_interval()
        await run.next_interval()
        await run.next_interval()
        run.daemon.site.drain()
        store = run.flushed()
        rows = entries(store, pd.Timestamp("2016-01-01", tz="UTC"), pd.Timestamp("2017-01-01", tz="UTC"))
        district = rows[rows.grouping == "district"].set_index("interval_start")
        booked = run.clock.data_time(first)  # the interval of the first tick, on the data clock
        assert booked in district.index
        row = district.loc[booked]
        assert row.estimated and row.method.startswith(f"grid: {PLAN_ESTIMATE}; intensity: measured")
        assert row.location_kg == pytest.approx(max(row.energy_kwh, 0.0) * row.ci_kg_per_kwh)
        assert row.inputs["plan_version"] >= 1 and len(row.inputs["config_hash"]) == 64
        tenants = rows[(rows.grouping == "tenant") & (rows.interval_start == booked)]
        assert tenants.location_kg.sum() == pytest.approx(row.location_kg)
        assert verify(chained_rows(store))[1] == []
