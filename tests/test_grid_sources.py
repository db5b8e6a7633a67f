"""Grids a user brings: MATPOWER cases, meshed nets with several external grids, a diverging base case."""

import json
from pathlib import Path

import highspy
import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pandas as pd
import pytest
from pandapower.converter.matpower import to_mpc

from adapters.carbon import write_carbon_csv
from adapters.history import write_history_csv
from gridctl.cli import main
from gridctl.config import load_config
from gridctl.district import District

PROFILE_MAP = ('[[network.profile_map]]\ntable = "load"\nseries = "load/demand"\n'
               '[[network.profile_map]]\ntable = "gen"\nseries = "other/plant"\n')


def write_inputs(tmp_path, source: str, gen_mw: float) -> str:
    """History (all loads one series, all generators one), carbon CSV and a config with a 30 MW battery at bus 4."""
    idx = pd.date_range("2020-05-25T00:00Z", "2020-06-06T00:00Z", freq="15min", inclusive="left")
    hours = idx.hour + idx.minute / 60
    wide = pd.DataFrame({"load/demand": 315_000.0 * (0.8 + 0.2 * np.sin((hours - 6) / 24 * 2 * np.pi)),
                         "other/plant": gen_mw * 1000.0}, index=idx)
    write_history_csv(wide, tmp_path / "history.csv")
    ci = pd.DataFrame({"ci_kg_per_kwh": np.where((hours >= 10) & (hours < 16), 0.1, 0.6), "signal_type": "marginal",
                       "resolution_min": 15, "zone": "XX", "source": "test", "issued_at_utc": idx,
                       "is_estimated": False}, index=idx)
    write_carbon_csv(ci, tmp_path / "carbon.csv")
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[site]\ntimezone = "UTC"\n[network]\nsource = "{source}"\n{PROFILE_MAP}'
        '[data]\nhistory = "history.csv"\ncarbon = "carbon.csv"\n[grid]\nimport_limit_kw = 1e6\n'
        '[[assets.battery]]\nid = "b1"\nbus = 4\np_max_kw = 30000.0\ne_max_kwh = 120000.0\nunit_id = 1\n'

    )
    return str(cfg)


def plan_and_read(cfg: str, out, *extra: str):
    assert main(["check", "--config", cfg]) == 0
    assert main(["plan", "--config", cfg, "--date", "2020-06-04", "--out", str(out), *extra]) == 0
    return pd.read_csv(out / "plan.csv"), json.loads((out / "plan.json").read_text())


def assert_sound_plan(table: pd.DataFrame, summary: dict) -> None:
    assert len(table) == 96 and summary["ac_check"]["not_converged"] == 0
    hours = pd.to_datetime(table.interval_start, utc=True).dt.hour
    assert table["b1.p_kw"][(hours >= 10) & (hours < 16)].sum() > 0  # charges in the clean window
    assert summary["emissions_kg"] < summary["baseline_emissions_kg"]
    rhs = table.load_kw + table["b1.p_kw"] - (table.pv_kw - table.pv_curtailed_kw) + table.losses_kw
    assert np.abs(table.grid_import_kw - rhs).max() < 1e-3  # CSV holds 6 decimals


def test_matpower_case_plans_end_to_end(tmp_path):
    to_mpc(pn.case9(), str(tmp_path / "case9.mat"), init="flat")
    cfg = write_inputs(tmp_path, "case9.mat", 200.0)
    district = District.load(load_config(cfg))
    # profile_map: every load shares "load/demand" by rating, the generators "other/plant" (not PV)
    assert set(district.groups.series_id) == {"load/demand", "other/plant"}
    assert district.solar_series == [] and district.pv_series == ["other/plant"]
    table, summary = plan_and_read(cfg, tmp_path / "plan")
    assert_sound_plan(table, summary)
    # generation is forecast as scheduled (flat history: flat forecast), not as PV (zero at night)
    assert table.pv_kw.min() == pytest.approx(200_000.0, rel=1e-6)


def test_meshed_net_with_two_external_grids_plans(tmp_path):
    net = pn.case9()  # a ring: buses 3-4-5-6-7-8 form a loop
    pp.create_ext_grid(net, bus=int(net.gen.bus[net.gen.index[-1]]), vm_pu=1.0)
    net.gen.drop(index=net.gen.index[-1], inplace=True)
    assert len(net.ext_grid) == 2
    pp.to_json(net, str(tmp_path / "meshed.json"))
    cfg = write_inputs(tmp_path, "meshed.json", 120.0)
    table, summary = plan_and_read(cfg, tmp_path / "plan", "--export-lp", str(tmp_path / "dispatch.mps"))
    assert_sound_plan(table, summary)
    # ac.csv: per interval extremes with the bus / element where they occur
    ac = pd.read_csv(tmp_path / "plan" / "ac.csv")
    assert len(ac) == 96 and ac.converged.all()
    assert ac.min_vm_pu.min() == pytest.approx(summary["ac_check"]["min_vm_pu"], abs=1e-5)
    assert ac.max_loading_pct.max() == pytest.approx(summary["ac_check"]["max_loading_pct"], abs=1e-3)
    assert set(ac.min_vm_bus) <= set(net.bus.index) and ac.max_loading_element.str.match(r"^(line|trafo)/\d+$").all()
    assert (ac.voltage_violations + ac.loading_violations).sum() == summary["ac_check"]["violations"]
    # the exported LP, solved elsewhere, has the plan's optimal objective
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(tmp_path / "dispatch.mps"))
    h.run()
    assert h.getInfo().objective_function_value == pytest.approx(summary["objective"], rel=1e-6)


def test_diverging_base_power_flow_is_one_line_exit_2(tmp_path, capsys):
    net = pn.case9()
    net.load["p_mw"] *= 40.0  # far beyond what the lines can carry: Newton-Raphson diverges
    pp.to_json(net, str(tmp_path / "heavy.json"))
    cfg = write_inputs(tmp_path, "heavy.json", 200.0)
    assert main(["check", "--config", cfg]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "base AC power flow" in err[0] and "does not converge; hint:" in err[0]
    assert main(["plan", "--config", cfg, "--date", "2020-06-04", "--out", str(tmp_path / "p")]) == 2


def test_profile_map_rule_matching_nothing_is_reported(tmp_path, capsys):
    to_mpc(pn.case9(), str(tmp_path / "case9.mat"), init="flat")
    cfg = write_inputs(tmp_path, "case9.mat", 200.0)
    path = Path(cfg)
    path.write_text(path.read_text().replace('table = "gen"\nseries', 'table = "sgen"\nseries'))
    assert main(["check", "--config", cfg]) == 2
    assert "network.profile_map.1.name: '*' matches no sgen of the net" in capsys.readouterr().err


def test_unreadable_cgmes_source_is_one_line_exit_2(tmp_path, capsys):
    cfg = write_inputs(tmp_path, "grid_EQ.xml;grid_SSH.xml", 200.0)
    (tmp_path / "grid_EQ.xml").write_text("<rdf:RDF>not CGMES</rdf:RDF>")
    (tmp_path / "grid_SSH.xml").write_text("")
    assert main(["check", "--config", cfg]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and err[0].startswith("error: network.source: 'grid_EQ.xml;grid_SSH.xml' cannot be converted")
