"""Commands run from the CLI with their output values checked: exit code 1 on a runtime failure,
``forecast evaluate``'s metrics against its own interval table and the history, and a one-day
``replay --baseline --perfect-foresight --modbus local``."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gridctl.cli import main
from gridctl.config import DEFAULT_CONFIG_PATH


def _config(tmp_path: Path, **lines: str) -> Path:
    """The default config with the given top-level keys' lines replaced (``key="key = value"``)."""
    text = DEFAULT_CONFIG_PATH.read_text()
    for key, line in {"min_history_days": "min_history_days = 400", **lines}.items():  # seasonal-naive: no fit
        text, n = re.subn(rf"^{key} = .*$", line, text, count=1, flags=re.MULTILINE)
        assert n == 1, key
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_a_busy_port_is_a_runtime_error_with_exit_code_1(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["simulate", "--config", str(_config(tmp_path)), "--port", str(port)]) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and f"127.0.0.1:{port}" in errors[0] and "Traceback" not in err


def test_forecast_evaluate_metrics_follow_from_its_intervals(tmp_path, demo_district):
    out = tmp_path / "eval"
    assert main(["forecast", "evaluate", "--config", str(_config(tmp_path)), "--start", "2016-07-12",
                 "--end", "2016-07-13", "--out", str(out)]) == 0
    intervals = pd.read_csv(out / "intervals.csv", parse_dates=["interval_start"])
    metrics = pd.read_csv(out / "metrics.csv")
    assert set(intervals.target) == {"load", "pv", "carbon"}
    assert (intervals.groupby(["target", "model"]).size() == 2 * 96).all()  # two days of quarter-hours
    for (target, model), grp in intervals.groupby(["target", "model"]):
        row = metrics[(metrics.target == target) & (metrics.model == model)].iloc[0]
        assert row.mae == pytest.approx(np.abs(grp.forecast - grp.actual).mean(), rel=1e-5, abs=1e-6)
    # the measured values are the district's history: load is the sum of its load series
    load = intervals[(intervals.target == "load") & (intervals.model == "forecast")].set_index("interval_start")
    history = demo_district.history[demo_district.load_series].sum(axis=1).reindex(load.index)
    np.testing.assert_allclose(load.actual, history, rtol=1e-6)
    assert (out / "forecasts.html").stat().st_size > 0


def test_replay_from_the_cli_with_baseline_perfect_foresight_over_modbus(tmp_path, capsys):
    config = _config(tmp_path, reoptimise_every_min="reoptimise_every_min = 240",
                     ac_check_every_min="ac_check_every_min = 0")
    out = tmp_path / "replay"
    assert main(["replay", "--config", str(config), "--start", "2016-07-12", "--end", "2016-07-12",
                 "--baseline", "none", "--perfect-foresight", "--modbus", "local", "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert list(s["runs"]) == ["gridctl", "none", "perfect-foresight", "perfect-foresight-network"]
    assert (s["devices"], s["reference_baseline"], s["days"]) == ("modbus-tcp", "none", 1)
    adjusted = {k: v["emissions_adjusted_kg"] for k, v in s["runs"].items()}
    assert s["reduction_pct"] == pytest.approx(100 * (adjusted["none"] - adjusted["gridctl"]) / adjusted["none"])
    assert s["perfect_foresight_capture_pct"] == pytest.approx(
        100 * (adjusted["none"] - adjusted["gridctl"]) / (adjusted["none"] - adjusted["perfect-foresight"]))
    assert s["runs"]["none"]["stored_energy_debt_kwh"] == 0.0 and s["write_errors"] == 0
    iv = pd.read_csv(out / "intervals.csv")
    assert len(iv) == 96
    assert iv["none.emissions_kg"].sum() == pytest.approx(s["runs"]["none"]["emissions_kg"], rel=1e-6)
    assert iv.emissions_kg.sum() == pytest.approx(s["emissions_kg"], rel=1e-6)
    printed = capsys.readouterr().out
    assert f"reduction vs none: {s['reduction_pct']:.1f}% (unadjusted " in printed
