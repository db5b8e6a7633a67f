"""A user's own pandapower JSON net with history and carbon CSVs plans end to end."""

import json

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pandas as pd

from adapters.carbon import write_carbon_csv
from adapters.history import write_history_csv
from gridctl.cli import main


def _write_inputs(tmp_path, start: str = "2020-05-25T00:00Z"):
    net = pn.example_simple()
    pp.to_json(net, str(tmp_path / "net.json"))
    idx = pd.date_range(start, "2020-06-06T00:00Z", freq="15min", inclusive="left")
    hours = idx.hour + idx.minute / 60
    wide = pd.DataFrame({f"load/#{i}": 800.0 + 200 * np.sin(hours / 24 * 2 * np.pi) for i in net.load.index}, index=idx)
    for i in net.sgen.index:
        wide[f"pv/#{i}"] = np.clip(np.sin((hours - 6) / 12 * np.pi), 0, None) * 500.0
    for i in net.gen.index:  # a generator without profile: its own series, forecast as scheduled
        wide[f"other/#{i}"] = 300.0
    write_history_csv(wide, tmp_path / "history.csv")
    ci = pd.DataFrame({"ci_kg_per_kwh": np.where((hours >= 10) & (hours < 16), 0.1, 0.6), "signal_type": "marginal",
                       "resolution_min": 15, "zone": "XX", "source": "test", "issued_at_utc": idx,
                       "is_estimated": False}, index=idx)
    write_carbon_csv(ci, tmp_path / "carbon.csv")
    (tmp_path / "config.toml").write_text(
        '[site]\ntimezone = "UTC"\n[network]\nsource = "net.json"\n'
        '[data]\nhistory = "history.csv"\ncarbon = "carbon.csv"\n'
        '[[assets.battery]]\nid = "b1"\nbus = 6\np_max_kw = 200.0\ne_max_kwh = 600.0\nunit_id = 1\n'
    )
    return tmp_path / "config.toml"


def test_json_net_with_csv_data_plans(tmp_path, capsys):
    cfg = _write_inputs(tmp_path)
    assert main(["check", "--config", str(cfg)]) == 0
    out = tmp_path / "plan"
    assert main(["plan", "--config", str(cfg), "--date", "2020-06-04", "--out", str(out)]) == 0
    table = pd.read_csv(out / "plan.csv")
    summary = json.loads((out / "plan.json").read_text())
    assert len(table) == 96 and summary["signal_type"] == "marginal"
    # the clean midday window is used to charge, the dirty evening to discharge
    hours = pd.to_datetime(table.interval_start, utc=True).dt.hour
    assert table["b1.p_kw"][(hours >= 10) & (hours < 16)].sum() > 0
    assert table["b1.p_kw"][hours >= 16].sum() < 0
    assert summary["emissions_kg"] < summary["baseline_emissions_kg"]


def test_history_with_bad_rows_is_reported(tmp_path, capsys):
    cfg = _write_inputs(tmp_path)
    lines = (tmp_path / "history.csv").read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",n/e"
    lines.append(lines[5])
    (tmp_path / "history.csv").write_text("\n".join(lines) + "\n")
    assert main(["check", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "history.csv: row 4, column 'value': 'n/e' is not a number" in err
    assert f"history.csv: row {len(lines)}: duplicate (interval_start_utc, series_id)" in err


def test_demo_data_on_a_net_without_profiles_is_a_clear_error(tmp_path, capsys):
    cfg = _write_inputs(tmp_path)
    cfg.write_text(cfg.read_text().replace('history = "history.csv"', 'history = "demo"'))
    assert main(["check", "--config", str(cfg)]) == 2
    assert "data.history: 'demo' data needs a SimBench net with profiles; set it to a history CSV" in capsys.readouterr().err
