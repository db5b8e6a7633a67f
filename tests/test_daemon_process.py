"""``gridctl run`` as a process: today's plan, setpoints in the simulator's registers over TCP,
SIGKILL during a cycle loses no committed row, and a restart carries on; SIGTERM stops cleanly."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from ports import free_port

from adapters.drivers import BatteryDriver, HostPool
from gridctl.config import DEFAULT_CONFIG_PATH
from gridctl.store import Store
from gridctl.store.repository import TABLES

GRIDCTL = str(Path(sys.executable).with_name("gridctl"))
GUARD_S = 300.0  # only against a hang: every wait ends when its line or condition appears (slow on a loaded machine)


def write_config(tmp_path: Path) -> tuple[Path, int, int]:
    """The default config with the store in ``tmp_path``, free ports, a 180x clock, the
    seasonal-naive forecasters (fitting the models at every start would only cost time here) and
    no seeding of the store (a year of history: tests/test_live_history.py seeds)."""
    sim_port, api_port = free_port(), free_port()
    text = DEFAULT_CONFIG_PATH.read_text()
    for pattern, value in [
        (r'^url = "sqlite:///var/gridctl.sqlite"', f'url = "sqlite:///{tmp_path}/gridctl.sqlite"'),
        (r"^port = 5020", f"port = {sim_port}"),
        (r"^port = 8080", f"port = {api_port}"),
        (r"^time_scale = 1.0", "time_scale = 180.0"),
        (r"^telemetry_s = 10.0", "telemetry_s = 60.0"),
        (r"^intraday_lead_s = 120.0", "intraday_lead_s = 300.0"),
        (r"^min_history_days = 28", "min_history_days = 400"),  # seasonal-naive forecasts: no model fit
        (r"^seed_history = true", "seed_history = false"),  # the configured history up to now, not a store copy
    ]:
        text, n = re.subn(pattern, value, text, flags=re.MULTILINE)
        assert n == 1, f"config.toml has no line matching {pattern!r}"
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path, sim_port, api_port


class Daemon:
    """A ``gridctl run`` process whose output is collected line by line."""

    def __init__(self, config: Path):
        self.proc = subprocess.Popen([GRIDCTL, "run", "--config", str(config)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, cwd=config.parent)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_line(self, pattern: str, after: int = 0) -> int:
        """Index of the first output line from ``after`` on matching ``pattern``."""
        deadline = time.monotonic() + GUARD_S
        while time.monotonic() < deadline:
            for i, line in enumerate(self.lines[after:], after):
                if re.search(pattern, line):
                    return i
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no output line matching {pattern!r}; output:\n{''.join(self.lines[-30:])}")


def wait_for(check):
    deadline = time.monotonic() + GUARD_S
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError("timed out")


def committed_rows(db: Path) -> dict[str, set[int]]:
    store = Store(f"sqlite:///{db}")
    try:
        return {t: store.ids(t) for t in TABLES}
    finally:
        store.close()


async def read_setpoint(port: int, device: str, unit_id: int, p_max_kw: float) -> float | None:
    pool = HostPool()
    try:
        driver = BatteryDriver(pool.get("127.0.0.1", port), unit_id, device, p_max_kw)
        await driver.discover()
        return (await driver.read_telemetry()).setpoint_kw
    finally:
        pool.close()


@pytest.fixture
def daemons():
    started: list[Daemon] = []
    yield started
    for d in started:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()


def test_run_plan_registers_sigkill_restart_sigterm(tmp_path, daemons):
    config, sim_port, api_port = write_config(tmp_path)
    api = f"http://127.0.0.1:{api_port}"
    first = Daemon(config)
    daemons.append(first)
    first.wait_line(rf"dashboard at http://127\.0\.0\.1:{api_port}/")
    assert httpx.get(f"{api}/").status_code == 200  # the dashboard answers while the first plan is made

    # today's plan is on the dashboard's API once the daemon is ready
    wait_for(lambda: httpx.get(f"{api}/health").status_code == 200)
    plan = httpx.get(f"{api}/api/plan").json()
    health = httpx.get(f"{api}/health").json()
    today = pd.Timestamp(health["now"]).tz_convert("Europe/Berlin").date()
    starts = pd.to_datetime([i["interval_start"] for i in plan["items"]], utc=True)
    assert len(starts) > 0 and {t.tz_convert("Europe/Berlin").date() for t in starts} == {today}
    assert plan["latest"]["kind"] == "intraday" and plan["latest"]["status"] == "active"

    # at the next interval start, its setpoints are in the simulator's registers (read over TCP)
    now = pd.Timestamp(health["now"])
    nxt = now.floor("15min") + pd.Timedelta(minutes=15)

    def written_next():
        items = httpx.get(f"{api}/api/setpoints", params={"asset_id": "bess_park", "limit": 5000}).json()["items"]
        rows = [r for r in items if pd.Timestamp(r["interval_start"]) >= nxt and r["ok"]]
        return rows[-1] if rows else None

    row = wait_for(written_next)
    in_device = asyncio.run(read_setpoint(sim_port, "bess_park", 1, 2000.0))
    assert in_device == pytest.approx(row["written_kw"], abs=1.0)

    # SIGKILL while a planning cycle runs
    mark = len(first.lines)
    first.wait_line(r"intraday cycle at", after=mark)
    os.kill(first.proc.pid, signal.SIGKILL)
    first.proc.wait()
    db = tmp_path / "gridctl.sqlite"
    before = committed_rows(db)
    assert all(before[t] for t in ("measurements", "forecasts", "setpoints", "events", "plans"))

    second = Daemon(config)
    daemons.append(second)
    second.wait_line(rf"dashboard at http://127\.0\.0\.1:{api_port}/")
    wait_for(lambda: httpx.get(f"{api}/health").status_code == 200)
    after = committed_rows(db)
    for table, ids in before.items():
        assert ids <= after[table], f"{table}: rows {sorted(ids - after[table])[:5]} lost"
    health = httpx.get(f"{api}/health").json()
    assert health["scheduler"]["running"] and health["database"]["ok"]
    last = max(before["setpoints"])
    wait_for(lambda: max(committed_rows(db)["setpoints"]) > last + 5)  # ticks go on after the restart

    # SIGTERM: graceful stop, exit code 0, stop recorded
    second.proc.send_signal(signal.SIGTERM)
    assert second.proc.wait(timeout=GUARD_S) == 0
    events = Store(f"sqlite:///{db}").page("events", limit=5000).items
    kinds = [e["kind"] for e in events]
    restarted = max(i for i, k in enumerate(kinds) if k == "daemon_started")
    assert "daemon_stopped" in kinds[restarted:]  # the graceful stop of the restarted daemon is recorded
