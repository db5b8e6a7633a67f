"""Sweeps: scenario grids from sweep.toml, and a local Dask cluster gives the same rows as running them one by one."""

from __future__ import annotations

import tomllib
from datetime import date

import pytest

from gridctl.config import DEFAULT_CONFIG_PATH, ConfigError
from gridctl.replay.sweep import read_sweep, run_scenario, run_sweep

SWEEP = """
periods = [["2016-07-12", "2016-07-12"]]
battery_scale = [0.5, 1.0]

[config]
"dispatch.throughput_penalty_per_kwh" = [1e-5, 1e-3]
"replay.reoptimise_every_min" = [240]
"replay.ac_check_every_min" = [0]
"forecast.min_history_days" = [10000]  # seasonal-naive fallback: no model training in the workers
"""


def test_sweep_file_gives_the_product_of_its_axes(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP)
    scenarios = read_sweep(path, None, None)
    assert len(scenarios) == 4
    assert {(s.battery_scale, dict(s.overrides)["dispatch.throughput_penalty_per_kwh"]) for s in scenarios} == {
        (0.5, 1e-5), (0.5, 1e-3), (1.0, 1e-5), (1.0, 1e-3)}
    assert all(s.start == s.end == date(2016, 7, 12) for s in scenarios)


def test_bad_sweep_file_names_the_key(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text("battery_scale = 2.0\n")
    with pytest.raises(ConfigError, match="battery_scale must be a non-empty list"):
        read_sweep(path, date(2016, 7, 12), date(2016, 7, 12))


def test_local_dask_cluster_matches_running_scenarios_one_by_one(tmp_path, capsys):
    """One scenario per worker (the battery-size axis at one penalty: 2 of the file's 4)."""
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP.replace("[1e-5, 1e-3]", "[1e-5]"))
    scenarios = read_sweep(path, None, None)
    base = tomllib.loads(DEFAULT_CONFIG_PATH.read_text())
    capsys.readouterr()
    parallel = run_sweep(base, DEFAULT_CONFIG_PATH.parent, scenarios, n_workers=2, progress=True)
    bar = capsys.readouterr().err  # each scenario's one day, reported from its worker
    assert "2/2" in bar and "day" in bar, bar
    for scenario, row in zip(scenarios, parallel, strict=True):
        alone = run_scenario(base, DEFAULT_CONFIG_PATH.parent, scenario)
        assert row["scenario"] == alone["scenario"] == scenario.name
        for key, value in alone.items():
            if key != "runtime_s":
                assert row[key] == value, (scenario.name, key)
    # the battery-size axis reaches the replay
    assert sorted(r["battery_scale"] for r in parallel) == [0.5, 1.0]
    assert len({r["emissions_kg"] for r in parallel}) == 2
