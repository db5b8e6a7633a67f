"""The dashboard renders its charts in a real headless browser (Debian's chromium), offline."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import httpx
import pandas as pd
import pytest
import uvicorn
from browser import assert_offline, browser_args
from ports import uvicorn_port
from test_daemon import running_daemon
from test_openadr import cap_event

from gridctl.api import create_app
from gridctl.api.app import STATIC
from gridctl.store.openadr import add_event

# the bare page (headers and empty panels) compresses to about 60 kB, the drawn one to over 250 kB
RENDERED_PNG_BYTES = 150_000


def test_dashboard_needs_no_network():
    for f in STATIC.iterdir():
        assert_offline(f.read_text(), f.name)


async def _chromium(*args: str) -> str:
    """Run headless chromium (offline, see browser.py) and return its stdout."""
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    assert proc.returncode == 0, err.decode()[-500:]
    return out.decode()


async def test_dashboard_renders_plan_in_headless_chromium(demo_district, tmp_path):
    browser = [*browser_args(tmp_path / "chromium"), "--virtual-time-budget=10000", "--window-size=1400,2600"]
    shot = Path(os.environ.get("DASHBOARD_SCREENSHOT", tmp_path / "dashboard.png"))
    async with running_daemon(demo_district, tmp_path, scale=30.0) as run:
        issued = pd.Timestamp("2016-11-24T08:00:00Z").to_pydatetime()
        add_event(run.store, {**cap_event("dso-flex", 9000.0, "ev1"), "createdDateTime": issued.isoformat()},
                  issued, issued)
        server = uvicorn.Server(uvicorn.Config(create_app(run.daemon), host="127.0.0.1", port=0,
                                               log_config=None, lifespan="off"))
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        port = uvicorn_port(server)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                data = (await client.get("/api/dashboard")).json()
                metrics = (await client.get("/metrics")).text
            plans = run.flushed().page("plans", limit=1000).items
            dom = await _chromium(*browser, "--dump-dom", f"http://127.0.0.1:{port}/")
            for _ in range(3):  # headless chromium may shoot before the first fetch returned: a bare page
                await _chromium(*browser, f"--screenshot={shot}", f"http://127.0.0.1:{port}/")
                if shot.stat().st_size > RENDERED_PNG_BYTES:
                    break
        finally:
            server.should_exit = True
            await task
    # the whole planned horizon: the startup plan runs through tomorrow ([dispatch] lookahead_h = 24)
    planned = [v for v in data["grid"]["plan_kw"] if v is not None]
    assert len(data["intervals"]) > 100 and len(planned) > 96, (len(data["intervals"]), len(planned))
    assert re.search(r'<body[^>]*data-rendered="', dom), "dashboard.js did not finish drawing"
    for chart, series in (("chart-grid", "plan|actual"), ("chart-carbon", "forecast|measured"),
                          ("chart-power", "bess_park plan|bess_park actual|bess_depot plan"),
                          ("chart-soc", "bess_works plan|bess_works actual"),
                          ("chart-flex", "ev_depot plan|ev_depot actual")):
        block = re.search(rf'id="{chart}" data-series="([^"]*)"><div class="uplot', dom)
        assert block and block.group(1).startswith(series) if chart in ("chart-grid", "chart-carbon") else \
            block and series in block.group(1), f"{chart} not drawn with {series}"
    assert dom.count("<canvas") >= 5
    assert dom.count("time (Europe/Berlin)") >= 5  # every time axis names the zone
    assert not re.search(r"\b\d{1,2}(:\d\d)?\s?(AM|PM|am|pm)\b", dom)  # 24-hour clock everywhere
    assert re.search(r'id="clock">now \d\d \w{3}, \d\d:\d\d Europe/Berlin', dom)
    assert re.search(r'id="plan-status"><p class="(ok|stale)">plan v\d+ \(', dom)
    assert re.search(r'id="network-status"><p class="\w+">(\d+ violations in plan v\d+|no AC check yet)', dom)
    assert "measured so far:" in dom and "planned for the whole day:" in dom
    assert re.search(r'id="ledger"><p[^>]*>(2016-11 to date \(\d+ intervals\): location-based [\d,]+ kg|no ledger rows)',
                     dom)
    for device in ("bess_park", "bess_depot", "bess_works", "pv_park", "pv_works", "ev_depot", "hp_office"):
        assert f"<td>{device}</td>" in dom
    assert "daemon_started" in dom  # recent events
    assert "<td>evening-import-cap</td><td>dso-flex</td>" in dom and "<td>IMPORT_CAPACITY_LIMIT 9000 kW</td>" in dom
    assert shot.stat().st_size > RENDERED_PNG_BYTES  # a screenshot with charts and tables, not the bare page
    assert_solve_seconds_are_the_plans_solve_s(metrics, plans)


def assert_solve_seconds_are_the_plans_solve_s(metrics: str, plans: list[dict]) -> None:
    """gridctl_solve_seconds holds the solver time of each plan made (its summary's solve_s), in order."""
    assert "gridctl_solve_seconds_count" in metrics
    for kind in ("intraday", "day_ahead"):
        count, total = (float(m.group(1)) if (m := re.search(rf'gridctl_solve_seconds_{what}{{kind="{kind}"}} (\S+)',
                                                                metrics)) else 0.0 for what in ("count", "sum"))
        made = [p["summary"]["solve_s"] for p in sorted(plans, key=lambda p: p["version"])
                if p["kind"] == kind and p["status"] != "failed"][:int(count)]
        assert len(made) == count and total == pytest.approx(sum(made), abs=1e-6), (kind, total, made)
