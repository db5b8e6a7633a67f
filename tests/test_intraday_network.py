"""Re-optimisations keep the network limits: each interval is linearised once, at its first plan."""

from datetime import date

import pandas as pd
import pytest

from gridctl.cycle import decide, remaining_horizon
from gridctl.dispatch.model import build_model
from gridctl.forecast_issue import make_forecast
from gridctl.headroom import row_groups
from gridctl.network_plan import IntervalNetworkModels, interval_network_models, zero_flex_table
from gridctl.plan_ac import check_schedule
from gridctl.planning import dispatch_inputs
from gridctl.replay.sweep import district_with_config
from gridctl.timegrid import local_day

NOW = pd.Timestamp("2016-07-14T12:00Z")  # 14:00 CEST: the truck depot congests the feeder from 16:00


@pytest.fixture(scope="module")
def today_only(demo_district):
    cfg = demo_district.config.model_copy(deep=True)
    cfg.dispatch.lookahead_h = 0.0
    return district_with_config(demo_district, cfg)


def test_reoptimised_plan_passes_the_ac_check_where_doing_nothing_fails(today_only):
    plan = decide(today_only, NOW, {}).plan
    fc = make_forecast(today_only, NOW, plan.table.index)
    assert plan.summary["network_rows"]["thermal_rows"] > 0
    assert check_schedule(today_only, fc.groups, None).violations > 0
    assert check_schedule(today_only, fc.groups, plan.table).violations == 0
    cfg = today_only.config.model_copy(deep=True)
    cfg.network.constrain_dispatch = False
    blind = decide(district_with_config(today_only, cfg), NOW, {}).plan
    assert blind.summary["network_rows"] == {}
    assert check_schedule(today_only, fc.groups, blind.table).violations > 0


def test_each_interval_is_linearised_once(today_only):
    horizon = pd.date_range(NOW, periods=12, freq="15min")
    fc = make_forecast(today_only, NOW, horizon)
    inp = dispatch_inputs(today_only, fc)
    model = build_model(inp)
    asked = []

    def base_ac(new):
        asked.append(new)
        return check_schedule(today_only, fc.groups.loc[new], zero_flex_table(inp).loc[new])

    models = IntervalNetworkModels()
    first = models.network_data(today_only, model, horizon, base_ac, NOW)
    later = horizon[4:]
    inp_later = dispatch_inputs(today_only, make_forecast(today_only, NOW, later))
    second = models.network_data(today_only, build_model(inp_later), later, base_ac, NOW)
    assert len(asked) == 1 and asked[0].equals(horizon)  # the later horizon reused all its intervals
    assert (second.grid.dpf == first.grid.dpf[4:]).all() and (second.point.vm_pu == first.point.vm_pu[4:]).all()


def test_recentred_rows_remove_a_violation_the_stale_linearisation_leaves(demo_district):
    """Rows linearised a day ago around a wrong operating point (loads 25 % low) let the plan
    overload the feeder under today's forecast; re-centring the next hours around the latest
    forecast restores the limits there."""
    block = pd.date_range(NOW, NOW + pd.Timedelta(hours=6), freq="15min", inclusive="left")
    violations = {}
    for every_h in (0.0, 3.0):
        cfg = demo_district.config.model_copy(deep=True)
        cfg.dispatch.lookahead_h, cfg.network.recentre_h = 0.0, every_h
        district = district_with_config(demo_district, cfg)
        horizon = pd.date_range(NOW, block[-1], freq="15min")
        fc = make_forecast(district, NOW, horizon)
        inp = dispatch_inputs(district, fc)
        low = fc.groups.assign(**{c: 0.75 * fc.groups[c] for c in district.load_series})
        stale = NOW - pd.Timedelta(days=1)
        interval_network_models(district).network_data(
            district, build_model(inp), horizon,
            lambda new, g=low, d=district, i=inp: check_schedule(d, g.loc[new], zero_flex_table(i).loc[new]), stale)
        plan = decide(district, NOW, {}).plan
        violations[every_h] = check_schedule(district, fc.groups.loc[block], plan.table.loc[block]).violations
    assert violations[0.0] > 0 and violations[3.0] == 0


def test_upper_quantile_rows_keep_the_limits_when_the_loads_come_in_high(today_only):
    """Rows linearised with the loads at their P90 keep the feeder within its limits when the loads
    reach their P90; rows at the median forecast leave it overloaded then."""
    plans = {}
    for q in (0.5, 0.9):
        cfg = today_only.config.model_copy(deep=True)
        cfg.dispatch.load_quantile = q
        district = district_with_config(today_only, cfg)
        plans[q] = decide(district, NOW, {}).plan
    fc = make_forecast(district, NOW, plans[0.9].table.index)
    high = row_groups(district, fc, fc.groups.index)
    assert (high[district.load_series].sum(axis=1) > fc.groups[district.load_series].sum(axis=1)).any()
    counts = {q: check_schedule(today_only, high, plan.table).violations for q, plan in plans.items()}
    assert counts[0.5] > 0 and counts[0.9] == 0


def test_a_day_ahead_plan_leaves_the_rest_of_today_to_be_re_centred(demo_district):
    """A replay's day-ahead plan asks for tomorrow's intervals at the gate time (12:00); today's
    later intervals keep their models, so a re-optimisation at 16:00 re-centres them, as in a
    daemon (whose day-ahead plans run their own AC loop)."""
    models = IntervalNetworkModels()

    def base_ac(now: pd.Timestamp):
        def run(new: pd.DatetimeIndex):
            fc = make_forecast(demo_district, now, new)
            return check_schedule(demo_district, fc.groups, zero_flex_table(dispatch_inputs(demo_district, fc)))
        return run

    def asked(now: pd.Timestamp, horizon: pd.DatetimeIndex) -> None:
        inp = dispatch_inputs(demo_district, make_forecast(demo_district, now, horizon))
        models.network_data(demo_district, build_model(inp), horizon, base_ac(now), now)

    morning, gate, afternoon = (pd.Timestamp(f"2016-07-14T{h}:00Z") for h in ("08", "10", "14"))
    asked(morning, remaining_horizon(demo_district, morning))
    asked(gate, local_day(date(2016, 7, 15), demo_district.tz, demo_district.resolution_min))
    assert models.recentre(demo_district, remaining_horizon(demo_district, afternoon), afternoon, base_ac(afternoon), 3.0)
