"""End-to-end day-ahead plan on the demo district (the plan files of docs/conventions.md)."""

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from gridctl.cli import main
from gridctl.planning import make_plan


@pytest.fixture(scope="module")
def summer_plan(demo_district):
    return make_plan(demo_district, date(2016, 7, 14))


def test_plan_cli_writes_contract_files(tmp_path):
    assert main(["plan", "--date", "2016-07-14", "--out", str(tmp_path)]) == 0
    table = pd.read_csv(tmp_path / "plan.csv")
    summary = json.loads((tmp_path / "plan.json").read_text())
    assert len(table) == 96
    assert list(table.columns[:8]) == ["interval_start", "ci_kg_per_kwh", "load_kw", "pv_kw", "pv_curtailed_kw",
                                       "losses_kw", "grid_import_kw", "emissions_kg"]
    assert table.interval_start.iloc[0] == "2016-07-14T00:00:00+02:00"
    for key in ("status", "objective", "emissions_kg", "baseline_emissions_kg", "build_s", "solve_s", "ac_check", "assets"):
        assert key in summary
    assert set(summary["ac_check"]) >= {"min_vm_pu", "max_vm_pu", "max_loading_pct", "violations"}


def test_plan_beats_baseline_and_balance_closes(summer_plan, demo_district):
    t = summer_plan.table
    s = summer_plan.summary
    assert s["emissions_kg"] < s["baseline_emissions_kg"]
    assets = [c for c in t.columns if c.endswith(".p_kw")]
    rhs = t.load_kw + t[assets].sum(axis=1) - (t.pv_kw - t.pv_curtailed_kw) + t.losses_kw
    assert np.abs(t.grid_import_kw - rhs).max() < 1e-6
    for b in demo_district.config.assets.battery:
        soc = t[f"{b.id}.soc_kwh"]
        assert soc.min() >= b.soc_min_kwh - 1e-6 and soc.max() <= b.soc_max_kwh + 1e-6
        # SoC integrates the planned power with efficiencies
        p = t[f"{b.id}.p_kw"].to_numpy()
        energy = np.where(p > 0, p * b.eta_charge, p / b.eta_discharge) * 0.25
        assert soc.to_numpy() == pytest.approx(b.soc_initial_kwh + np.cumsum(energy), abs=1e-3)


def test_dst_day_plan_has_100_rows(demo_district):
    plan = make_plan(demo_district, date(2016, 10, 30))
    assert len(plan.table) == 100
    assert plan.table.index.is_unique


def test_ac_check_covers_every_interval(summer_plan):
    assert summer_plan.ac.not_converged == 0
    assert len(summer_plan.ac.intervals) == 96
    assert 0.9 < summer_plan.summary["ac_check"]["min_vm_pu"] <= summer_plan.summary["ac_check"]["max_vm_pu"] < 1.1


def test_plan_records_its_carbon_source(summer_plan):
    source = summer_plan.summary["carbon_source"]
    assert source["source"] == "provider" and source["reason"].startswith("no carbon feed configured")
    assert sum(source["intervals"].values()) == len(summer_plan.table)
