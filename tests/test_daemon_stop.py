"""``gridctl run`` against a simulator the test runs (so it outlives the daemon): SIGKILL right
after the first device write of a tick leaves that write's record, found after a restart; SIGTERM
sends every device its safe state, read from the simulator's registers."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import httpx
import pandas as pd
import pytest
from test_daemon_process import GUARD_S, Daemon, daemons, wait_for, write_config  # noqa: F401 - the daemons fixture

from gridctl import devices
from gridctl.store import Store

BATTERIES = ("bess_park", "bess_depot", "bess_works")
SENTINEL_W = 1.0  # a WSet no plan writes


class SimThread:
    """The demo district's simulator on its own event loop in a thread, at the daemon's speed."""

    def __init__(self, district, scale: float):
        self.loop = asyncio.new_event_loop()
        clock = devices.simulator_clock(district.config, pd.Timestamp.now(tz="UTC"), scale)
        self.sim = devices.simulator(district, clock, port=0)
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.port = asyncio.run_coroutine_threadsafe(self.sim.start(), self.loop).result(30)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.sim.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def external_sim(demo_district):
    sim = SimThread(demo_district, 180.0)
    yield sim
    sim.close()


def test_sigkill_after_first_write_and_sigterm_safe_state(tmp_path, external_sim, request):
    started = request.getfixturevalue("daemons")  # processes killed at teardown
    config, sim_port, api_port = write_config(tmp_path)
    text = config.read_text()
    for old, new in [("enabled = true", "enabled = false"), (f"port = {sim_port}", f"port = {external_sim.port}"),
                     ("watchdog_s = 1800.0", "watchdog_s = 36000.0")]:  # no revert timer expires in the test
        assert text.count(f"\n{old}") == 1, old
        text = text.replace(f"\n{old}", f"\n{new}")
    config.write_text(text)
    api, sim, db = f"http://127.0.0.1:{api_port}", external_sim.sim, tmp_path / "gridctl.sqlite"

    first = Daemon(config)
    started.append(first)
    first.wait_line(r"dashboard at")
    wait_for(lambda: httpx.get(f"{api}/health").status_code == 200)
    # the next tick writes bess_park first; bess_depot answers late, so the tick is still going
    sim.set_fault("bess_depot", delay_s=0.6)
    park = sim["bess_park"]
    since = pd.Timestamp(httpx.get(f"{api}/health").json()["now"])
    park.set(704, "WSet", SENTINEL_W)
    deadline = time.monotonic() + 60
    while park.get(704, "WSet") == SENTINEL_W and time.monotonic() < deadline:
        time.sleep(0.001)
    os.kill(first.proc.pid, signal.SIGKILL)
    written_kw = -park.get(704, "WSet") / 1000  # what reached the device (SunSpec: + = discharging)
    assert park.get(704, "WSet") != SENTINEL_W, "no tick wrote bess_park"
    first.proc.wait()
    sim.clear_faults("bess_depot")

    second = Daemon(config)  # replays the journal the killed daemon left
    started.append(second)
    second.wait_line(r"dashboard at")
    wait_for(lambda: httpx.get(f"{api}/health").status_code == 200)

    def record_of_write():
        rows = Store(f"sqlite:///{db}").page("setpoints", since.to_pydatetime(), asset_id="bess_park").items
        return [r for r in rows if r["written_kw"] == pytest.approx(written_kw, abs=0.5)]

    rows = wait_for(record_of_write)
    assert rows[0]["source"] in ("plan", "fallback") and pd.Timestamp(rows[0]["ts"]) > since

    # SIGTERM: every device gets its safe state before the process exits
    for b in BATTERIES:
        sim[b].set(704, "WSet", 123_000.0)
    for d in sim.devices.values():
        if d.id.startswith("pv"):
            d.set(704, "WMaxLimPctEna", 1)
    second.proc.send_signal(signal.SIGTERM)

    def safe_state():
        return (all(sim[b].get(704, "WSet") == 0 for b in BATTERIES)
                and all(d.get(704, "WMaxLimPctEna") == 0 for d in sim.devices.values() if d.id.startswith("pv"))
                and all(d.get(d.models[-1], "WSetEna") == 0 for d in sim.devices.values()
                        if d.id.startswith(("ev", "hp"))))

    wait_for(safe_state)
    assert second.proc.wait(timeout=GUARD_S) == 0, "".join(second.lines[-30:])
    store = Store(f"sqlite:///{db}")
    stop = [r for r in store.page("setpoints", limit=100_000).items if r["source"] == "stop"]
    assert {r["asset_id"] for r in stop} == set(BATTERIES) and all(r["ok"] and r["written_kw"] == 0 for r in stop)
    events = store.page("events", limit=100_000).items  # the restarted daemon's clock starts anew
    safe = [e for e in events if e["kind"] == "safe_stop"]
    assert safe and safe[-1]["severity"] == "info"
