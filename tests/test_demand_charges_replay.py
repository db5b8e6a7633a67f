"""Demand charges in replay: every decision carries the peak its own operation reached before it,
and summary.json and report.html state the realised peak and charge."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from gridctl.config_charges import DemandChargeConfig
from gridctl.demand_charges import window_mask
from gridctl.replay.report import render
from gridctl.replay.run import run_replay
from gridctl.replay.sweep import district_with_config

DAY = date(2016, 7, 12)
CHARGE = DemandChargeConfig(name="morning", price_per_kw=10.0, hours=[8, 9, 10, 11])


@pytest.fixture(scope="module")
def replayed(demo_district):
    cfg = demo_district.config.model_copy(deep=True)
    cfg.dispatch.objective, cfg.dispatch.demand_charges = "cost", [CHARGE]
    cfg.replay.reoptimise_every_min, cfg.replay.ac_check_every_min, cfg.replay.baselines = 120, 0, ["none"]
    cfg.forecast.min_history_days = 10_000  # seasonal-naive forecasts: no training
    return run_replay(district_with_config(demo_district, cfg), DAY, DAY)


def window_peak_kw(import_kw: pd.Series, tz: str) -> float:
    inside = import_kw[window_mask(import_kw.index, CHARGE, tz)]
    return max(float(inside.max()), 0.0) if len(inside) else 0.0


def test_each_decision_carries_the_peak_its_operation_reached_before_it(replayed, demo_district):
    operation = replayed.runs["gridctl"].grid_import_kw
    res = pd.Timedelta(minutes=demo_district.resolution_min)
    carried = []
    for d in replayed.controller.decisions:
        (row,) = d.plan.summary["demand_charges"]
        before = operation[operation.index + res <= d.now]
        assert row["carried_peak_kw"] == pytest.approx(window_peak_kw(before, demo_district.tz), abs=1e-3)
        assert row["peak_kw"] >= row["carried_peak_kw"]  # the plan never counts below what was reached
        carried.append(row["carried_peak_kw"])
    assert carried[0] == 0.0 and max(carried) > 0.0  # starts the replay at 0, then carries the window's peak
    assert np.all(np.diff(carried) >= 0)  # within a month the running peak only grows


def test_summary_and_report_state_the_realised_peak_and_charge(replayed, demo_district):
    s = replayed.summary
    for name, run in replayed.runs.items():
        peak = window_peak_kw(run.grid_import_kw, demo_district.tz)
        assert s["runs"][name]["demand_charges"] == [{"name": "morning", "month": "2016-07", "price_per_kw": 10.0,
                                                      "peak_kw": pytest.approx(peak, abs=1e-3),
                                                      "charge": pytest.approx(10.0 * peak, abs=0.01)}]
    assert s["demand_charge_cost"] == s["runs"]["gridctl"]["demand_charge_cost"]
    assert f"demand charge morning 2016-07: peak {s['demand_charges'][0]['peak_kw']:,.1f} kW" in render(replayed)
