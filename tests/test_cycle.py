"""The shared decision cycle: horizon bookkeeping and setpoints from measured state."""

import pandas as pd
import pytest

from gridctl.cycle import decide, remaining_horizon


def test_remaining_horizon_runs_to_local_midnight(demo_district):
    h = remaining_horizon(demo_district, pd.Timestamp("2016-07-14T10:07Z"))
    assert h[0] == pd.Timestamp("2016-07-14T10:00Z")
    assert h[-1] == pd.Timestamp("2016-07-14T21:45Z")  # 23:45 CEST


def test_late_in_the_day_the_horizon_includes_tomorrow(demo_district):
    h = remaining_horizon(demo_district, pd.Timestamp("2016-07-14T21:00Z"))
    assert h[-1] == pd.Timestamp("2016-07-15T21:45Z")


def test_decide_starts_from_measured_soc(demo_district):
    b = demo_district.config.assets.battery[0]
    now = pd.Timestamp("2016-07-14T10:07Z")
    d = decide(demo_district, now, {b.id: b.soc_min_kwh})
    assert d.interval_start == pd.Timestamp("2016-07-14T10:00Z")
    assert set(d.setpoints_kw) >= {x.id for x in demo_district.config.assets.battery}
    # an empty battery cannot discharge: its first-interval setpoint is not negative
    assert d.setpoints_kw[b.id] >= -1e-6
    first_soc = d.plan.table[f"{b.id}.soc_kwh"].iloc[0]
    p = d.setpoints_kw[b.id]
    assert first_soc == pytest.approx(b.soc_min_kwh + max(p, 0) * b.eta_charge * 0.25 + min(p, 0) / b.eta_discharge * 0.25, abs=1e-3)
