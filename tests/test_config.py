from pathlib import Path

import pytest

from gridctl.cli import main
from gridctl.config import ConfigError, load_config, parse_config


def test_default_config_loads_with_assets():
    cfg = load_config()
    assert cfg.site.timezone == "Europe/Berlin"
    assert [b.id for b in cfg.assets.battery] == ["bess_park", "bess_depot", "bess_works"]


def test_empty_config_gets_every_default():
    cfg = parse_config({})
    assert cfg.site.resolution_min == 15 and cfg.network.v_min_pu == 0.95


def test_unknown_key_is_named():
    with pytest.raises(ConfigError) as exc:
        parse_config({"site": {"timezon": "Europe/Berlin"}})
    assert exc.value.problems == [
        "site.timezon: unknown key (value 'Europe/Berlin'); remove it or check its spelling"
    ]


def test_wrong_type_names_key_value_and_allowed():
    with pytest.raises(ConfigError) as exc:
        parse_config({"site": {"resolution_min": 7}})
    assert exc.value.problems == ["site.resolution_min: Input should be 5, 10, 15, 30 or 60 (got 7)"]


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert exc.value.problems == [f"{path}: config file not found; pass --config PATH to an existing file"]


def test_soc_order_checked():
    bad = {"assets": {"battery": [{"id": "b", "bus": 1, "p_max_kw": 1, "e_max_kwh": 1,
                                   "soc_min_pct": 50, "soc_initial_pct": 20}]}}
    with pytest.raises(ConfigError) as exc:
        parse_config(bad)
    assert "soc_min_pct <= soc_initial_pct" in exc.value.problems[0]


def test_check_reports_three_planted_mistakes(tmp_path, capsys):
    text = Path("config.toml").read_text()
    text = text.replace('timezone = "Europe/Berlin"', 'timezone = "Mars/Olympus"')
    text = text.replace("v_min_pu = 0.95", "v_min_pu = \"low\"")
    text = text.replace("[grid]", "[grid]\nimport_limt_kw = 5")
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    assert main(["check", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "site.timezone: unknown IANA time zone 'Mars/Olympus'" in err
    assert "network.v_min_pu: Input should be a valid number" in err
    assert "grid.import_limt_kw: unknown key" in err
    assert "3 problem(s) found" in err


def test_check_reports_unknown_bus(tmp_path, capsys):
    text = Path("config.toml").read_text().replace('bus = "MV4.101 Bus 77"', 'bus = "Nowhere"')
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    assert main(["check", "--config", str(cfg)]) == 2
    assert "assets.battery.1.bus: no bus named 'Nowhere' ('bess_depot')" in capsys.readouterr().err
