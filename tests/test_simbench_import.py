"""Any SimBench grid through ``simbench:<code>``: its storage out of service, demo carbon, non-PV units by kind."""

import json

import pandas as pd

from gridctl.cli import main
from network_models.profiles import element_groups
from network_models.sources import simbench_grid


def test_lv_grid_plans_with_its_storage_out_of_service_and_demo_carbon(tmp_path, capsys):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[network]\nsource = "simbench:1-LV-rural1--2-sw"\n[data]\nhistory = "demo"\ncarbon = "demo"\n'
                   '[forecast]\nmin_history_days = 10000\n'  # seasonal naive: the grid's plan is tested, not its forecasts
                   '[[assets.battery]]\nid = "b1"\nbus = "LV1.101 Bus 12"\np_max_kw = 30.0\ne_max_kwh = 100.0\n'
                   'unit_id = 1\n')
    assert main(["check", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "note: network.source: 5 storage units of SimBench 1-LV-rural1--2-sw" in out and "out of service" in out
    assert main(["plan", "--config", str(cfg), "--date", "2016-07-14", "--out", str(tmp_path / "p")]) == 0
    summary = json.loads((tmp_path / "p" / "plan.json").read_text())
    table = pd.read_csv(tmp_path / "p" / "plan.csv")
    assert summary["signal_type"] == "average_direct" and table.ci_kg_per_kwh.between(0.1, 1.0).all()
    assert summary["ac_check"]["not_converged"] == 0
    assert summary["emissions_kg"] <= summary["baseline_emissions_kg"]


def test_simbench_wind_biomass_hydro_are_not_pv():
    net = simbench_grid("1-MV-rural--2-sw")
    assert not net.storage.in_service.any() and net["import_notes"]
    groups = element_groups(net)
    kinds = groups.series_id.str.split("/").str[0]
    sgen_type = net.sgen.type.reindex(groups.element[groups.table == "sgen"]).to_numpy()
    by_type = pd.Series(kinds[groups.table == "sgen"].to_numpy(), index=sgen_type)
    assert set(by_type[["Wind_MV"]]) == {"wind"} and set(by_type[["Biomass_MV"]]) == {"biomass"}
    assert set(by_type[["Hydro_MV"]]) == {"hydro"} and set(by_type[["PV_MV", "lv_RES"]]) == {"pv"}


def test_demo_district_generation_is_pv_only(demo_district):
    assert demo_district.solar_series == demo_district.pv_series  # wind, hydro, biomass out of service
