"""All asset kinds on the demo district: sessions served, comfort kept, emissions below baseline."""

from datetime import date

import pytest

from gridctl.config import parse_config
from gridctl.district import District
from gridctl.forecast_issue import make_forecast
from gridctl.planning import plan_horizon
from gridctl.timegrid import gate_time, local_day

DAY = date(2016, 1, 14)


def _plan(district):
    horizon = local_day(DAY, district.tz, district.resolution_min)
    return plan_horizon(district, gate_time(DAY, district.tz, district.config.site.gate_time), horizon,
                        with_ac_check=False)


@pytest.fixture(scope="module")
def winter_plan(demo_district):
    return _plan(demo_district)


def test_every_asset_kind_is_planned(winter_plan, demo_district):
    t, s = winter_plan.table, winter_plan.summary
    cfg = demo_district.config.assets
    assert s["status"] == "optimal" and s["violations"] == []
    assert s["emissions_kg"] < s["baseline_emissions_kg"]
    for a in [*cfg.battery, *cfg.ev_charger, *cfg.heat_pump]:
        assert f"{a.id}.p_kw" in t.columns
    sessions = s["ev_sessions"]
    assert {x["asset"] for x in sessions} == {e.id for e in cfg.ev_charger}
    assert all(x["delivered_kwh"] == pytest.approx(x["requested_kwh"], abs=1e-3) for x in sessions)
    for h in cfg.heat_pump:
        temp = t[f"{h.id}.temp_c"]
        assert temp.min() >= h.temp_min_c - 1e-6 and temp.max() <= h.temp_max_c + 1e-6


def test_flexible_loads_are_not_counted_twice(winter_plan, demo_district):
    # load_kw = all load forecasts minus the five loads that became EV chargers and heat pumps
    t = winter_plan.table
    horizon = t.index
    fc = make_forecast(demo_district, gate_time(DAY, demo_district.tz, demo_district.config.site.gate_time), horizon)
    groups = demo_district.groups
    names = [a.load for a in [*demo_district.config.assets.ev_charger, *demo_district.config.assets.heat_pump]]
    flex = groups[(groups.table == "load") & groups.element.isin(demo_district.net.load.index[
        demo_district.net.load.name.isin(names)])]
    assert len(flex) == 5
    flex_kw = sum(fc.groups[r.series_id] * r.share for r in flex.itertuples())
    total_kw = fc.groups[demo_district.load_series].sum(axis=1)
    assert t.load_kw.to_numpy() == pytest.approx((total_kw - flex_kw).to_numpy(), abs=1e-9)
    assert flex_kw.sum() > 0


def test_planted_impossible_session_is_reported_not_raised(demo_district):
    data = demo_district.config.model_dump(exclude={"base_dir"})
    fleet = data["assets"]["ev_charger"][1]
    fleet["sessions"] = [{"arrival": "08:00:00", "departure": "09:00:00", "energy_kwh": 500.0}]
    district = District(parse_config(data), demo_district.net)
    district.__dict__.update(history=demo_district.history, carbon=demo_district.carbon)
    plan = _plan(district)
    s = plan.summary
    p_max = fleet["p_max_kw"] or demo_district.net.load.p_mw[100] * 1000
    assert s["status"] == "optimal"
    (v,) = [v for v in s["violations"] if v["asset"] == "ev_fleet"]
    assert v["limit"] == "ev_energy" and v["size"] == pytest.approx(500.0 - p_max, abs=1e-3)
    (session,) = [x for x in s["ev_sessions"] if x["asset"] == "ev_fleet"]
    assert session["unserved_kwh"] == pytest.approx(500.0 - p_max, abs=1e-3)
