"""The control tick's network guard (gridctl.tick_guard) on an evening of a tuning week.

2016-01-24 17:00 UTC (replay of 2016-01-18..24, ``carbon_provider = false``): the plan in force
discharges ``bess_depot`` 1,179 kW, which keeps the depot feeder's lines at their rating with the
loads at their upper quantile; the actual load on the feeder came in above it (the interval before
already ran 2 MW above forecast) and line 56 ran at 100.1 %.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridctl import forecast_issue
from gridctl.feed_source import carbon_source
from gridctl.flexible_loads import place
from gridctl.forecast_issue import issued_row, make_forecast
from gridctl.plan_ac import check_interval, check_schedule
from gridctl.tick_guard import TickGuard
from gridctl.tick_guard import plan_row as guard_row

BEFORE = pd.Timestamp("2016-01-24 16:45", tz="UTC")
AT = pd.Timestamp("2016-01-24 17:00", tz="UTC")
PLANNED_DEPOT_KW = {BEFORE: -395.5, AT: -1178.6}  # the replayed plan's bess_depot setpoints
SOC_KWH = {"bess_park": 1978.9, "bess_depot": 3067.0, "bess_works": 989.5}  # at 17:00


def plan_row(district, at: pd.Timestamp, depot_kw: float) -> pd.DataFrame:
    """The plan row in force at ``at``: every asset at 0 kW but ``bess_depot``, no curtailment."""
    cols = [f"{b.cfg.id}.p_kw" for b in district.batteries]
    cols += [f"{p.cfg.id}.p_kw" for p in place(district.net, district.groups, district.config.assets)[0]]
    cols += [f"{p.id}.p_kw" for p in district.config.assets.process_load]
    cols += [f"{p.cfg.id}.curtailed_kw" for p in district.pv_assets]
    return pd.DataFrame(0.0, index=[at], columns=cols).assign(**{"bess_depot.p_kw": [depot_kw]})


def actual_loading_pct(district, row: pd.DataFrame) -> float:
    """Highest branch loading (%) of the interval with its measured loads and ``row``'s setpoints."""
    return float(np.nanmax(check_schedule(district, district.history.loc[row.index], row).loading_pct.to_numpy()))


@pytest.fixture(scope="module")
def guarded(demo_district):
    guard = TickGuard()
    out = {}
    for at in (BEFORE, AT):
        row = plan_row(demo_district, at, PLANNED_DEPOT_KW[at])
        measured = demo_district.history.loc[at - pd.Timedelta(minutes=15)]
        out[at] = guard.setpoints(demo_district, at, at, row, measured, SOC_KWH)
    return guard, out


def test_guard_keeps_the_feeder_within_its_rating(demo_district, guarded):
    guard, out = guarded
    row = plan_row(demo_district, AT, PLANNED_DEPOT_KW[AT])
    assert actual_loading_pct(demo_district, row) > 100.0  # the plan's setpoints: line 56 overloaded
    moved = row.assign(**{f"{b}.p_kw": [v] for b, v in out[AT].items()})
    assert actual_loading_pct(demo_district, moved) <= 100.0
    assert out[AT]["bess_depot"] < PLANNED_DEPOT_KW[AT]  # the battery beside the depot discharges more
    assert out[AT]["bess_park"] == 0.0 and out[AT]["bess_works"] == 0.0  # the others have no leverage there
    assert guard.corrections >= 1


def test_guard_needs_a_measurement(demo_district):
    row = plan_row(demo_district, AT, PLANNED_DEPOT_KW[AT])
    assert TickGuard().setpoints(demo_district, AT, AT, row, None, SOC_KWH)["bess_depot"] == PLANNED_DEPOT_KW[AT]


def test_guard_stays_within_the_state_of_charge(demo_district):
    depot = next(b.cfg for b in demo_district.batteries if b.cfg.id == "bess_depot")
    soc = {**SOC_KWH, "bess_depot": depot.soc_min_kwh + 50.0}  # 50 kWh left: at most 190 kW for 15 minutes
    guard = TickGuard()
    guard.setpoints(demo_district, BEFORE, BEFORE, plan_row(demo_district, BEFORE, PLANNED_DEPOT_KW[BEFORE]),
                    demo_district.history.loc[BEFORE - pd.Timedelta(minutes=15)], soc)
    out = guard.setpoints(demo_district, AT, AT, plan_row(demo_district, AT, -100.0),
                          demo_district.history.loc[BEFORE], soc)
    assert out["bess_depot"] == pytest.approx(-50.0 * depot.eta_discharge / 0.25)


def test_the_guard_reads_the_plans_held_issue_without_a_new_forecast(demo_district, monkeypatch):
    """The plan's issue, held since the decision, gives the guard its rows (whatever the carbon
    source it was issued with); an issue no longer held is made again."""
    issue = AT - pd.Timedelta(hours=2)
    horizon = pd.date_range(issue, periods=16, freq="15min")
    made = make_forecast(demo_district, issue, horizon, carbon_source({}, False))
    monkeypatch.setattr(forecast_issue, "district_forecasters", lambda d: pytest.fail("a new forecast was issued"))
    held = issued_row(demo_district, issue, AT)
    pd.testing.assert_series_equal(pd.Series(held[1], index=held[0], name=AT), made.groups.loc[AT], check_exact=True)
    monkeypatch.undo()
    other = issue - pd.Timedelta(hours=1)
    again = issued_row(demo_district, other, AT)
    pd.testing.assert_series_equal(pd.Series(again[1], index=again[0], name=AT),
                                   make_forecast(demo_district, other, pd.DatetimeIndex([AT])).groups.loc[AT])


def test_the_guards_one_interval_check_gives_the_numbers_of_the_tables(demo_district):
    """The guard's array path (:func:`gridctl.plan_ac.check_interval`) and the AC check's tables
    give the same loadings and voltages, bit for bit."""
    row = plan_row(demo_district, AT, PLANNED_DEPOT_KW[AT]).assign(**{"bess_park.p_kw": [250.0]})
    curtail = next(c for c in row if c.endswith(".curtailed_kw"))
    row = row.assign(**{curtail: [3.5]})
    groups = demo_district.history.loc[[AT]] * 1.07  # not an interval solved before
    tables = check_schedule(demo_district, groups, row)
    loading_pct, vm_pu = check_interval(demo_district, groups.columns, groups.to_numpy()[0],
                                        {c: row[c].to_numpy() for c in row})
    assert loading_pct.tobytes() == tables.loading_pct.to_numpy()[0].tobytes()
    assert vm_pu.tobytes() == tables.vm_pu.to_numpy()[0].tobytes()
    assert np.nanmax(loading_pct) > 0 and len(vm_pu) == tables.vm_pu.shape[1]


def test_the_row_a_replay_hands_the_guard_is_the_plan_row_with_the_setpoints_written(demo_district, guarded):
    """The replay hands the guard the plan row's power columns as arrays with its setpoints written
    over (:func:`gridctl.tick_guard.plan_row`): the same row, and the same correction, as the table."""
    _, out = guarded
    table = plan_row(demo_district, AT, 0.0).assign(load_kw=[5000.0])  # a plan table has other columns too
    row = guard_row(table.iloc[0], {"bess_depot": PLANNED_DEPOT_KW[AT]})
    expected = table.assign(**{"bess_depot.p_kw": [PLANNED_DEPOT_KW[AT]]}).drop(columns="load_kw")
    assert list(row) == list(expected.columns)
    assert all(row[c].tolist() == expected[c].tolist() for c in row)
    guard = TickGuard()
    guard.setpoints(demo_district, BEFORE, BEFORE, plan_row(demo_district, BEFORE, PLANNED_DEPOT_KW[BEFORE]),
                    demo_district.history.loc[BEFORE - pd.Timedelta(minutes=15)], SOC_KWH)
    assert guard.setpoints(demo_district, AT, AT, row, demo_district.history.loc[BEFORE], SOC_KWH) == out[AT]
