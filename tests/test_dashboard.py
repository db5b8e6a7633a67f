"""The dashboard renders its charts in a real headless browser (Debian's chromium), offline."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess

import pytest
import uvicorn
from test_daemon import running_daemon

from gridctl.api import create_app
from gridctl.api.app import STATIC


def chromium() -> str:
    """Path of chromium, installed with apt-get when missing; skip when that is impossible."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if shutil.which("apt-get") is None:
        pytest.skip("chromium is not installed and apt-get is not available to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "install", "-y", "chromium"], ["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        try:
            proc = subprocess.run(step, check=False, capture_output=True, text=True, timeout=300, env=env)
        except subprocess.TimeoutExpired:
            pytest.skip(f"chromium could not be installed: {' '.join(step)} took over 300 s")
        found = shutil.which("chromium")
        if found:
            return found
    pytest.skip(f"chromium could not be installed (apt-get exit {proc.returncode}): {proc.stderr[-300:]}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dashboard_needs_no_network():
    for f in STATIC.iterdir():
        text = f.read_text()
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), f"{f.name} loads from the network"
        assert "cdn" not in text.lower()


async def test_dashboard_renders_plan_in_headless_chromium(demo_district, tmp_path):
    browser = chromium()
    async with running_daemon(demo_district, tmp_path, scale=30.0) as run:
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(run.daemon), host="127.0.0.1", port=port,
                                               log_config=None, lifespan="off"))
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.05)
        try:
            proc = await asyncio.create_subprocess_exec(
                browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}", "--virtual-time-budget=10000",
                "--dump-dom", f"http://127.0.0.1:{port}/",
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

