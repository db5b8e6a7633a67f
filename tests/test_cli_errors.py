"""Ordinary mistakes through the real ``gridctl`` process: one stderr line, the documented exit
code (2 bad input, 1 runtime, 130 Ctrl-C), no traceback, and nothing expensive before the check."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from gridctl.config import DEFAULT_CONFIG_PATH

GRIDCTL = [sys.executable, "-m", "gridctl.cli"]
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}


def gridctl(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*GRIDCTL, *args], capture_output=True, text=True, timeout=600, env=ENV, cwd=cwd,
                          check=False)


def assert_one_line(proc: subprocess.CompletedProcess, code: int, pattern: str) -> None:
    """Exit ``code`` and exactly one stderr line, matching ``pattern``, no traceback."""
    lines = proc.stderr.splitlines()
    assert proc.returncode == code, proc.stderr[-2000:]
    assert len(lines) == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert re.search(pattern, lines[0]), lines[0]


def config_with(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """The default config with ``(line pattern, replacement)`` edits, written into ``tmp_path``."""
    text = DEFAULT_CONFIG_PATH.read_text()
    for pattern, value in edits:
        text, n = re.subn(pattern, value, text, flags=re.MULTILINE)
        assert n == 1, pattern
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("args, pattern", [
    (["plan", "--date", "2030-01-01"], r"^error: --date 2030-01-01: outside the data; give a day from 2016-01-08 to 2016-12-31"),
    (["plan", "--date", "2016-01-01"], r"^error: --date 2016-01-01: outside the data; .*history the forecasts need"),
    (["forecast", "evaluate", "--start", "2030-01-01", "--end", "2030-01-02"], r"^error: --start 2030-01-01: outside the data"),
])
def test_dates_outside_the_data(args, pattern, tmp_path):
    assert_one_line(gridctl(*args, "--out", str(tmp_path / "out")), 2, pattern)
    assert not (tmp_path / "out").exists()  # refused before anything was computed


@pytest.mark.parametrize("args", [
    ["plan", "--date", "2016-07-14"],
    ["forecast", "evaluate", "--start", "2016-07-14", "--end", "2016-07-15"],
    ["replay", "--start", "2016-07-14", "--end", "2016-07-15"],
])
def test_out_is_a_file(args, tmp_path):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    assert_one_line(gridctl(*args, "--out", str(target)), 2, r"^error: --out .*taken: is a file, not a folder")
    assert target.read_text() == "not a folder"


def test_out_under_a_file(tmp_path):
    (tmp_path / "taken").write_text("")
    proc = gridctl("plan", "--date", "2016-07-14", "--out", str(tmp_path / "taken" / "plans"))
    assert_one_line(proc, 2, r"^error: --out .*taken is a file, so the folder cannot be created")


@pytest.mark.parametrize("args, pattern", [
    (["plan", "--date", "14.07.2016"], r"^error: argument --date: '14.07.2016' is not a date; write YYYY-MM-DD"),
    (["plan"], r"^error: the following arguments are required: --date"),
    (["replay", "--start", "2016-07-14"], r"^error: --start and --end are required"),
    (["replay", "--start", "2016-07-14", "--end", "2016-07-10"], r"^error: --end 2016-07-10 is before --start"),
    (["forecast", "evaluate", "--start", "2016-07-14", "--end", "2016-07-10"], r"^error: --end 2016-07-10 is before"),
    (["replay", "--start", "2016-07-14", "--end", "2016-07-15", "--baseline", "magic"], r"^error: argument --baseline"),
    (["replay", "--start", "2016-07-14", "--end", "2016-07-15", "--chunks", "3"],
     r"^error: --chunks 3: the window has only 2 days; use at most 2"),
    (["replay", "--start", "2016-07-14", "--end", "2016-07-15", "--workers", "2", "--events",
      str(DEFAULT_CONFIG_PATH.parent / "docs" / "openadr-events-example.json")],
     r"^error: --events is replayed in order; drop --chunks/--workers or --events"),
    (["simulate", "--clock-start", "2016-07-11T00:00"], r"^error: argument --clock-start: .* has no UTC offset"),
    (["plan", "--date", "2016-07-14", "--config", "/nonexistent/gridctl.toml"], r"^error: .*gridctl.toml: config file not found"),
    (["frobnicate"], r"^error: argument COMMAND: invalid choice: 'frobnicate'"),
])
def test_bad_arguments(args, pattern):
    assert_one_line(gridctl(*args), 2, pattern)


@pytest.mark.parametrize("edit, pattern", [
    ((r"^gate_time = 12:00:00.*$", 'gate_time = "noon"\ncolour = 1'), r"^error: site\.(gate_time|colour)"),
    ((r"^\[site\]", "[site\n"), r"^error: .*config.toml"),
])
def test_config_mistakes(edit, pattern, tmp_path):
    config = config_with(tmp_path, edit)
    proc = gridctl("plan", "--date", "2016-07-14", "--config", str(config), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert all(re.search(pattern, line) for line in proc.stderr.splitlines()), proc.stderr


def test_api_port_busy_exits_1_with_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = config_with(tmp_path, (r"^port = 8080", f"port = {port}"), (r"^enabled = true ", "enabled = false "))
        proc = gridctl("run", "--config", str(config), cwd=tmp_path)
    assert_one_line(proc, 1, rf"^error: \[api\] port {port} on 127.0.0.1 cannot be used .*set \[api\] port")
    assert "Task exception" not in proc.stderr


def test_missing_extra_is_one_line(tmp_path):
    """``replay --sweep`` without the [sweep] extra (dask made unimportable in the child)."""
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n"
        "class NoDask:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'dask':\n"
        "            raise ImportError(f'No module named {name!r}')\n"
        "sys.meta_path.insert(0, NoDask())\n")
    (tmp_path / "sweep.toml").write_text("[scenarios]\n")
    env = {**ENV, "PYTHONPATH": f"{tmp_path}:{ENV['PYTHONPATH']}"}
    proc = subprocess.run([*GRIDCTL, "replay", "--sweep", str(tmp_path / "sweep.toml"), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120, env=env, check=False)
    assert_one_line(proc, 1, r"^error: replay --sweep needs dask\[distributed\], which is not installed: "
                             r"pip install 'gridctl\[sweep\]'$")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_ctrl_c_in_plan_exits_130_with_one_line(tmp_path):
    proc = subprocess.Popen([*GRIDCTL, "plan", "--date", "2016-07-14", "--out", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 120
    while cpu_seconds(proc.pid) < 2.0:  # past start-up: loading the district or forecasting
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    # one line; a Ctrl-C that a library swallowed ends the command when it returns (its log lines before)
    assert err.splitlines()[-1] == "interrupted" and "Traceback" not in err, err


def test_ctrl_c_in_replay_keeps_the_whole_days(tmp_path):
    config = config_with(
        tmp_path,
        (r"^reoptimise_every_min = 60", "reoptimise_every_min = 0"),
        (r"^ac_check_every_min = 60 ", "ac_check_every_min = 0 "),
        (r'^baselines = \["none", "self-consumption", "perfect-foresight", "perfect-foresight-network"\]',
         'baselines = ["none"]'),
        (r"^min_history_days = 28", "min_history_days = 400"),  # seasonal-naive forecasts: no model fit
    )
    out = tmp_path / "replay"
    proc = subprocess.Popen([*GRIDCTL, "replay", "--config", str(config), "--start", "2016-07-11", "--end",
                             "2016-07-20", "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=ENV)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True).start()
    deadline = time.monotonic() + 300
    while not any("replayed 2016-07-11 (1 of 10 days)" in line for line in lines):
        assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    time.sleep(0.2)
    assert proc.returncode == 130, "".join(lines)
    assert "Traceback" not in "".join(lines)
    assert re.match(r"interrupted: kept the \d whole days replayed \(2016-07-11\.\.2016-07-1\d\), marked partial",
                    lines[-1]), lines[-1]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["partial"] is True and summary["start"] == "2016-07-11" and summary["end"] < "2016-07-20"
    intervals = pd.read_csv(out / "intervals.csv")
    assert len(intervals) == 96 * summary["days"]  # whole days, no DST change in July
    assert intervals.grid_import_kw.notna().all()
    assert (out / "report.html").exists()
