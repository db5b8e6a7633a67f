"""Replay key figures pinned to hand-computed values, and every run's balance recomputed from the
recorded history (not from the columns that produced ``grid_import_kw``)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from test_replay import replay_district

from gridctl.config import BatteryConfig, DispatchConfig
from gridctl.dispatch.inputs import EvSession
from gridctl.flexible_loads import place
from gridctl.replay.actuals import Actuals
from gridctl.replay.kpis import (
    ac_violations,
    capture_pct,
    kpis,
    sampled_index,
    stored_energy_debt_kwh,
)
from gridctl.replay.operation import operation_table
from gridctl.replay.run import run_replay

# One battery, four 1-hour intervals, 100 kW of load, no PV, intensity 0.1/0.2/0.5/0.4 kg/kWh
# (mean 0.3). The battery holds 100 kWh, starts at 50 kWh, eta 0.9 each way.
CI = [0.1, 0.2, 0.5, 0.4]
BATTERY = BatteryConfig(id="b", bus=0, p_max_kw=50.0, e_max_kwh=100.0, soc_initial_pct=50.0,
                        eta_charge=0.9, eta_discharge=0.9)
RUNS = {
    # idle: 100 kW every hour -> 10 + 20 + 50 + 40 = 120 kg
    "none": ([0.0, 0.0, 0.0, 0.0], [50.0, 50.0, 50.0, 50.0]),
    # 27 kW out of the battery in the dirtiest hour (30 kWh of SoC): 10 + 20 + 73 * 0.5 + 40 = 106.5 kg;
    # refilling the 30 kWh takes 30 / 0.9 = 33.33 kWh from the grid at 0.3 kg/kWh: +10 kg -> 116.5 kg
    "gridctl": ([0.0, 0.0, -27.0, 0.0], [50.0, 50.0, 20.0, 20.0]),
    # 20 kW in at 0.1 (18 kWh stored), 16.2 kW out at 0.5: 12 + 20 + 83.8 * 0.5 + 40 = 113.9 kg, ends at 50 kWh
    "perfect-foresight": ([20.0, 0.0, -16.2, 0.0], [68.0, 68.0, 50.0, 50.0]),
    # 20 kW in at 0.1 and kept: 12 + 20 + 50 + 40 = 122 kg; 18 kWh surplus credits 18 * 0.9 * 0.3 = 4.86 kg
    "surplus": ([20.0, 0.0, 0.0, 0.0], [68.0, 68.0, 68.0, 68.0]),
}
EXPECTED = {  # (emissions_kg, stored_energy_debt_kwh, emissions_adjusted_kg)
    "none": (120.0, 0.0, 120.0),
    "gridctl": (106.5, 30 / 0.9, 116.5),
    "perfect-foresight": (113.9, 0.0, 113.9),
    "surplus": (122.0, -16.2, 117.14),
}

TARIFF = DispatchConfig()  # the default tariff: cost is computed, but these cases pin emissions and energy


def _actuals() -> Actuals:
    index = pd.date_range("2016-07-12", periods=4, freq="1h", tz="UTC")
    return Actuals(index=index, groups=pd.DataFrame(index=index), ci_kg_per_kwh=np.array(CI), signal_type="average",
                   load_kw=np.full(4, 100.0), pv_kw=np.zeros(4), pv_asset_kw={}, flex_kw={}, ev_sessions={})


def _kpis(name: str) -> dict:
    p, soc = RUNS[name]
    op = operation_table(_actuals(), {"b": np.array(p)}, {"b": np.array(soc)}, {}, dt_h=1.0)
    return kpis(op, _actuals(), 1.0, "UTC", [BATTERY], {"b": BATTERY.soc_initial_kwh}, TARIFF)


@pytest.mark.parametrize("name", list(RUNS))
def test_one_battery_day_by_hand(name):
    k = _kpis(name)
    emissions, debt, adjusted = EXPECTED[name]
    assert k["emissions_kg"] == pytest.approx(emissions, abs=1e-9)
    assert k["stored_energy_debt_kwh"] == pytest.approx(debt, abs=1e-9)
    assert k["emissions_adjusted_kg"] == pytest.approx(adjusted, abs=1e-9)
    assert k["import_kwh"] == pytest.approx(400.0 + sum(RUNS[name][0]), abs=1e-9)
    assert k["soc_end_kwh"] == RUNS[name][1][-1]


def test_capture_of_the_one_battery_day_by_hand():
    adjusted = {name: _kpis(name)["emissions_adjusted_kg"] for name in ("none", "gridctl", "perfect-foresight")}
    # (120 - 116.5) / (120 - 113.9): gridctl gets 57.4 % of the reduction perfect foresight gets
    assert capture_pct(adjusted) == pytest.approx(100 * 3.5 / 6.1, abs=1e-9)
    assert capture_pct({**adjusted, "perfect-foresight": 120.0}) is None  # no reduction to capture
    assert capture_pct({"none": 1.0, "gridctl": 1.0}) is None


def test_debt_is_per_battery_with_its_own_efficiencies():
    other = BatteryConfig(id="c", bus=0, p_max_kw=10.0, e_max_kwh=10.0, soc_initial_pct=50.0,
                          eta_charge=0.8, eta_discharge=0.5)
    op = pd.DataFrame({"b.soc_kwh": [40.0], "c.soc_kwh": [9.0]})
    # b: 10 kWh short / 0.9; c: 4 kWh over * 0.5
    assert stored_energy_debt_kwh(op, [BATTERY, other], {"b": 50.0, "c": 5.0}) == pytest.approx(10 / 0.9 - 2.0)
    assert stored_energy_debt_kwh(op, [other], {"c": 9.5}) == pytest.approx(0.5 / 0.8)  # a small deficit


DAY = date(2016, 7, 12)


@pytest.fixture(scope="module")
def demo_day(demo_district):
    district = replay_district(demo_district, naive_forecasts=True, reoptimise_every_min=240, ac_check_every_min=0,
                               baselines=["none", "perfect-foresight"])
    return district, run_replay(district, DAY, DAY)


def test_every_run_balances_against_the_recorded_history(demo_day):
    district, result = demo_day
    hist = district.history.loc[result.intervals.index]
    flex = place(district.net, district.groups, district.config.assets)[0]
    recorded_flex = sum((p.forecast_kw(hist) for p in flex), np.zeros(len(hist)))  # flexible loads as recorded
    inflexible = hist[district.load_series].sum(axis=1).to_numpy() - recorded_flex
    pv = hist[district.pv_series].sum(axis=1).to_numpy()
    a = district.config.assets
    ids = [x.id for x in (*a.battery, *a.ev_charger, *a.heat_pump, *a.process_load)]
    for name, op in result.runs.items():
        expected = inflexible + op[[f"{i}.p_kw" for i in ids]].sum(axis=1) - (pv - op.pv_curtailed_kw)
        np.testing.assert_allclose(op.grid_import_kw, expected, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(op.emissions_kg, op.grid_import_kw.clip(lower=0) * op.ci_kg_per_kwh * 0.25,
                                   atol=1e-9, err_msg=name)
    none = result.runs["none"]  # nothing controlled: heat pumps draw what they drew in the record
    for p in flex:
        if p.kind == "heat_pump":  # to the simulated register's resolution
            np.testing.assert_allclose(none[f"{p.cfg.id}.p_kw"], p.forecast_kw(hist), atol=1e-3, err_msg=p.cfg.id)
            # heat in = heat demand: the store (its temperature at each interval's end) loses its standing losses
            hp = p.cfg
            temp = none[f"{hp.id}.temp_c"].to_numpy()
            before = np.r_[hp.temp_initial_c, temp[:-1]]
            loss_k = hp.loss_kw_per_k * (before - hp.ambient_c) * 0.25 / hp.capacity_kwh_per_k
            np.testing.assert_allclose(temp - before, -loss_k, rtol=0.01, atol=1e-4, err_msg=hp.id)


def test_summary_figures_follow_from_the_runs(demo_day):
    district, result = demo_day
    s = result.summary
    batteries = district.config.assets.battery
    adjusted = {}
    for name, op in result.runs.items():
        debt = 0.0
        for b in batteries:
            end = op[f"{b.id}.soc_kwh"].iloc[-1]
            debt += (b.soc_initial_kwh - end) / b.eta_charge if end < b.soc_initial_kwh else \
                (b.soc_initial_kwh - end) * b.eta_discharge
        emissions = op.emissions_kg.sum()
        adjusted[name] = emissions + debt * op.ci_kg_per_kwh.mean()
        assert s["runs"][name]["emissions_kg"] == pytest.approx(emissions, rel=1e-12)
        assert s["runs"][name]["emissions_adjusted_kg"] == pytest.approx(adjusted[name], rel=1e-12)
    assert s["runs"]["none"]["stored_energy_debt_kwh"] == 0.0  # idle batteries end where they started
    assert s["reduction_pct"] == pytest.approx(100 * (adjusted["none"] - adjusted["gridctl"]) / adjusted["none"])
    capture = 100 * (adjusted["none"] - adjusted["gridctl"]) / (adjusted["none"] - adjusted["perfect-foresight"])
    assert s["perfect_foresight_capture_pct"] == pytest.approx(capture)
    assert adjusted["perfect-foresight"] < adjusted["none"]


def test_unserved_energy_curtailment_and_samples_by_hand():
    # 4 intervals of 1 h over two local days (UTC): a process load asking 10 kW each hour (booked per
    # local day), a second one asking 4 kW and never served, an EV session of 30 kWh over intervals 1-2,
    # 5 kW of PV curtailed
    # in the first hour
    index = pd.DatetimeIndex(["2016-07-12 22:00", "2016-07-12 23:00", "2016-07-13 00:00", "2016-07-13 01:00"],
                             tz="UTC")
    actuals = Actuals(index=index, groups=pd.DataFrame(index=index), ci_kg_per_kwh=np.full(4, 0.5),
                      signal_type="average", load_kw=np.full(4, 50.0), pv_kw=np.full(4, 20.0), pv_asset_kw={},
                      flex_kw={"pl": np.full(4, 10.0), "pl2": np.full(4, 4.0), "ev": np.array([0.0, 15.0, 15.0, 0.0])},
                      ev_sessions={"ev": (EvSession(1, 3, 30.0),)})
    p = {"pl": np.array([25.0, 0.0, 5.0, 10.0]), "pl2": np.zeros(4), "ev": np.array([0.0, 10.0, 12.0, 8.0])}
    op = operation_table(actuals, p, {}, {"pv": np.array([5.0, 0.0, 0.0, 0.0])}, dt_h=1.0)
    k = kpis(op, actuals, 1.0, "UTC", [], {}, TARIFF)
    # process load: day 1 over-delivers (no credit), day 2 is 5 kWh short; EV: 30 - 22 kWh in its stay (the
    # 8 kWh after departure do not count); the second process load: 8 kWh a day
    assert k["unserved_energy_kwh"] == pytest.approx(5.0 + 16.0 + 8.0)
    assert k["unserved_by_asset_kwh"] == pytest.approx({"pl": 5.0, "pl2": 16.0, "ev": 8.0})
    assert k["flexible_delivered_kwh"] == 70.0 and k["unserved_energy_pct"] == pytest.approx(100 * 29.0 / 70.0)
    assert k["curtailed_kwh"] == 5.0 and k["soc_end_kwh"] == 0.0 and k["stored_energy_debt_kwh"] == 0.0
    assert list(op.grid_import_kw) == [60.0, 40.0, 47.0, 48.0]
    assert k["peak_import_kw"] == 60.0 and k["import_kwh"] == 195.0
    assert k["emissions_kg_by_day"] == {"2016-07-12": 50.0, "2016-07-13": 47.5}
    # in Berlin all four hours fall on 13 July: the process load's over- and under-delivery cancel
    berlin = kpis(op, actuals, 1.0, "Europe/Berlin", [], {}, TARIFF)
    assert berlin["unserved_energy_kwh"] == pytest.approx(16.0 + 8.0)
    assert berlin["emissions_kg_by_day"] == {"2016-07-13": 97.5}
    # read as half-hour intervals: energies halve (EV: 30 - 11 kWh; process load: 2.5 kWh short on 13 July)
    half = kpis(op, actuals, 0.5, "UTC", [], {}, TARIFF)
    assert half["unserved_energy_kwh"] == pytest.approx(19.0 + 2.5 + 8.0)
    assert (half["curtailed_kwh"], half["import_kwh"]) == (2.5, 97.5)
    minutes = pd.Index([0, 15, 30, 45])
    assert list(sampled_index(index, minutes, 30)) == [index[0], index[2]]
    assert len(sampled_index(index, minutes, 0)) == 0
    assert ac_violations(None, actuals, op, index[:0]) == {"ac_violations": None, "ac_intervals_checked": 0,
                                                          "ac_violation_events": []}
