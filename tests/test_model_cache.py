"""Trained forecasters persist in var/models/: a second process loads them instead of training."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from test_custom_network import _write_inputs

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}


def plan(config: Path, out: Path) -> tuple[str, dict]:
    """``gridctl plan`` in its own process: its log (stderr) and plan.json."""
    proc = subprocess.run([sys.executable, "-m", "gridctl.cli", "plan", "--config", str(config), "--date",
                           "2020-06-05", "--out", str(out)], capture_output=True, text=True, timeout=600, env=ENV,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stderr, json.loads((out / "plan.json").read_text())


def test_a_second_process_loads_the_trained_models(tmp_path):
    config = _write_inputs(tmp_path, start="2020-04-20T00:00Z")
    with config.open("a") as f:  # train on the 45 days of history before the cutoff
        f.write("[forecast]\nretrain_days = 1\n")
    first_log, first = plan(config, tmp_path / "first")
    for what in ("load", "PV", "carbon"):
        assert f"{what} model trained" in first_log, first_log
    saved = sorted(p.name for p in (tmp_path / "var" / "models").iterdir())
    # load and carbon also at the earlier cutoffs (retrain_days = 1) of the past forecasts whose errors
    # set the load headroom and the carbon forecast's weights
    assert sorted({n.split("-")[0] for n in saved}) == ["carbon", "load", "pv"], saved
    assert [n.split("-")[0] for n in saved].count("pv") == 1, saved
    mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / "var" / "models").iterdir()}

    second_log, second = plan(config, tmp_path / "second")
    assert "trained" not in second_log, second_log
    assert second_log.count("model loaded from") == len(saved), second_log
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes  # read, not written again
    assert second["emissions_kg"] == first["emissions_kg"]  # the same models, the same plan
