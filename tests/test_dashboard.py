"""The dashboard renders its charts in a real headless browser (Debian's chromium), offline."""

from __future__ import annotations

import asyncio
import re
import socket

import uvicorn
from browser import assert_offline, browser_args
from test_daemon import running_daemon

from gridctl.api import create_app
from gridctl.api.app import STATIC


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dashboard_needs_no_network():
    for f in STATIC.iterdir():
        assert_offline(f.read_text(), f.name)


async def test_dashboard_renders_plan_in_headless_chromium(demo_district, tmp_path):
    browser = browser_args(tmp_path / "chromium")
    async with running_daemon(demo_district, tmp_path, scale=30.0) as run:
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(run.daemon), host="127.0.0.1", port=port,
                                               log_config=None, lifespan="off"))
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.05)
        try:
            proc = await asyncio.create_subprocess_exec(
                *browser, "--virtual-time-budget=10000", "--dump-dom", f"http://127.0.0.1:{port}/",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(), 120)
        finally:
            server.should_exit = True
            await task
    dom = out.decode()
    assert proc.returncode == 0, err.decode()[-500:]
    assert re.search(r'<body[^>]*data-rendered="', dom), "dashboard.js did not finish drawing"
    grid = re.search(r'id="chart-grid">(.*?)</div>', dom, re.DOTALL).group(1)
    plan_path = re.search(r'<path d="(M[^"]+)"[^>]*data-name="plan"', grid)
    assert plan_path, "no plan line in the grid-import chart"
    assert plan_path.group(1).count("L") >= 20  # the rest of today's plan, one vertex per interval
    for chart in ("chart-carbon", "chart-power", "chart-soc"):
        assert re.search(rf'id="{chart}"><svg', dom)
    for device in ("bess_park", "bess_depot", "bess_works", "pv_park", "pv_works"):
        assert f"<td>{device}</td>" in dom
    assert "daemon_started" in dom  # recent events

