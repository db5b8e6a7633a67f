"""API latency while the daemon runs (``gridctl run`` as a process on loopback, SQLite store, 30x
clock): open-loop GETs at 100 and 500 requests/s over the read endpoints, p50/p99 per rate, and
how late each control tick started meanwhile (first setpoint of the interval, wall milliseconds)."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx
import numpy as np
import pandas as pd

from gridctl.config import DEFAULT_CONFIG_PATH
from gridctl.store import Store

SCALE = 30.0
RATES = (100, 500)  # requests per second
PHASE_S = 30.0  # wall seconds per rate
PATHS = ["/health", "/api/devices", "/api/plan", "/api/setpoints?limit=100", "/api/telemetry?limit=100",
         "/api/events?limit=50", "/api/emissions"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(folder: Path) -> tuple[Path, int]:
    api_port = _port()
    text = DEFAULT_CONFIG_PATH.read_text()
    for old, new in [(r'url = "sqlite:///var/gridctl.sqlite"', f'url = "sqlite:///{folder}/gridctl.sqlite"'),
                     (r"port = 5020", f"port = {_port()}"), (r"port = 8080", f"port = {api_port}"),
                     (r"time_scale = 1.0", f"time_scale = {SCALE}"),
                     (r"min_history_days = 28", "min_history_days = 400")]:  # seasonal-naive forecasts
        text, n = re.subn(rf"^{old}", new, text, count=1, flags=re.MULTILINE)
        assert n == 1, old
    path = folder / "config.toml"
    path.write_text(text)
    return path, api_port


async def _load(base: str, rate: int) -> tuple[list[float], int]:
    """Open loop: request i is sent at start + i / rate whatever the answers before it (aiohttp
    client, 50 keep-alive connections at most)."""
    latencies, errors = [], 0
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=50), timeout=timeout) as client:
        async def one(i: int, at: float) -> None:
            nonlocal errors
            await asyncio.sleep(max(at - time.perf_counter(), 0))
            t0 = time.perf_counter()
            try:
                async with client.get(PATHS[i % len(PATHS)]) as r:
                    await r.read()
                    errors += r.status >= 500
            except (aiohttp.ClientError, TimeoutError):
                errors += 1
            latencies.append(time.perf_counter() - t0)

        start = time.perf_counter() + 0.2
        await asyncio.gather(*(one(i, start + i / rate) for i in range(int(rate * PHASE_S))))
    return latencies, errors


def _tick_lateness_ms(db: Path, since: pd.Timestamp) -> np.ndarray:
    """Wall milliseconds from each interval start to its first setpoint (tick writes only)."""
    store = Store(f"sqlite:///{db}")
    try:
        sp = pd.DataFrame(store.page("setpoints", since.to_pydatetime(), limit=1_000_000).items)
    finally:
        store.close()
    sp = sp[sp.source.isin(["plan", "fallback"])]
    first = pd.to_datetime(sp.ts).groupby(pd.to_datetime(sp.interval_start)).min()
    first = first[first.index >= since]  # intervals that started during the load
    return ((first - first.index).dt.total_seconds() / SCALE * 1000).to_numpy()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config, api_port = _config(Path(tmp))
        base = f"http://127.0.0.1:{api_port}"
        log = open(Path(tmp) / "daemon.log", "w")  # noqa: SIM115 - closed below
        proc = subprocess.Popen([sys.executable, "-m", "gridctl.cli", "run", "--config", str(config)],
                                stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            else:
                raise RuntimeError("the daemon did not become ready")
            for rate in RATES:
                since = pd.Timestamp(httpx.get(f"{base}/health").json()["now"])
                latencies, errors = asyncio.run(_load(base, rate))
                time.sleep(1.0)  # the last tick's records reach the store
                late = _tick_lateness_ms(Path(tmp) / "gridctl.sqlite", since)
                ms = np.array(latencies) * 1000
                print(f"{rate} req/s for {PHASE_S:g} s ({len(ms)} GETs over {len(PATHS)} endpoints): "
                      f"p50 {np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms, "
                      f"max {ms.max():.1f} ms, 5xx/errors {errors}; ticks {len(late)}, lateness "
                      f"max {late.max() if len(late) else float('nan'):.0f} ms, "
                      f"mean {late.mean() if len(late) else float('nan'):.0f} ms", flush=True)
        finally:
            proc.terminate()
            proc.wait(60)
            log.close()


if __name__ == "__main__":
    main()
