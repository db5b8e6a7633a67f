"""The shared decision cycle: horizon bookkeeping and setpoints from measured state."""

import pandas as pd
import pytest

from gridctl.cycle import decide, remaining_horizon
from gridctl.replay.sweep import district_with_config


def test_horizon_runs_through_tomorrow_by_default(demo_district):
    h = remaining_horizon(demo_district, pd.Timestamp("2016-07-14T10:07Z"))
    assert h[0] == pd.Timestamp("2016-07-14T10:00Z")
    assert h[-1] == pd.Timestamp("2016-07-15T21:45Z")  # 23:45 CEST tomorrow
    assert len(h) == 96 + 48  # 10:00 UTC is 12:00 CEST: half of today, all of tomorrow


def with_lookahead(district, hours: float):
    cfg = district.config.model_copy(deep=True)
    cfg.dispatch.lookahead_h = hours
    return district_with_config(district, cfg)


def test_without_lookahead_the_horizon_ends_at_local_midnight(demo_district):
    h = remaining_horizon(with_lookahead(demo_district, 0.0), pd.Timestamp("2016-07-14T10:07Z"))
    assert h[-1] == pd.Timestamp("2016-07-14T21:45Z")


def test_short_lookahead_reaches_into_tomorrow_only_late_in_the_day(demo_district):
    two_hours = with_lookahead(demo_district, 2.0)
    assert remaining_horizon(two_hours, pd.Timestamp("2016-07-14T19:00Z"))[-1] == pd.Timestamp("2016-07-14T21:45Z")
    assert remaining_horizon(two_hours, pd.Timestamp("2016-07-14T20:30Z"))[-1] == pd.Timestamp("2016-07-15T21:45Z")


def test_horizon_through_a_dst_change_day_has_its_100_intervals(demo_district):
    h = remaining_horizon(demo_district, pd.Timestamp("2016-10-29T22:00Z"))  # midnight CEST, 30 Oct
    assert len(h) == 100 + 96


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
