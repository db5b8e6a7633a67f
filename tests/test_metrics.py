"""Readiness (/health 503 paths), metric values and JSON log lines of a daemon on a stepped clock."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import shutil

import httpx
import pandas as pd
import pytest
from daemon_rig import stepped_daemon
from prometheus_client.parser import text_string_to_metric_families

from gridctl.api import create_app
from gridctl.cli import build_parser
from gridctl.commands.run import JsonFormatter, configure_logging
from gridctl.daemon_jobs import make_scheduler


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


async def _client(run) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(run.daemon)), base_url="http://gridctl")


async def test_metric_values_follow_the_daemon(demo_district, tmp_path):
    async with stepped_daemon(demo_district, tmp_path) as run:
        run.sim.set_fault("bess_depot", offline=True)
        for _ in range(3):  # three failed reads: offline (offline_after = 3)
            run.step(60.0)
            await run.daemon.poll()
        run.replans.clear()
        async with await _client(run) as client:
            m = _samples((await client.get("/metrics")).text)
        assert m[("gridctl_device_online", (("device", "bess_depot"),))] == 0.0
        assert m[("gridctl_device_online", (("device", "bess_park"),))] == 1.0
        assert m[("gridctl_device_errors_total", (("device", "bess_depot"),))] == 3.0
        assert m[("gridctl_device_errors_total", (("device", "bess_park"),))] == 0.0
        assert m[("gridctl_solve_seconds_count", (("kind", "intraday"),))] == 1.0  # the plan at start
        assert m[("gridctl_solve_seconds_sum", (("kind", "intraday"),))] > 0.0
        # one booked interval: the emissions gauge is the ledger's grid total of the local day
        run.sim.clear_faults("bess_depot")
        await run.next_interval()
        day = run.clock.now().tz_convert(demo_district.tz).normalize()
        booked = run.flushed().emissions_total(day.to_pydatetime(), (day + pd.Timedelta(days=1)).to_pydatetime())
        assert booked > 0
        async with await _client(run) as client:
            m = _samples((await client.get("/metrics")).text)
        assert m[("gridctl_emissions_today_kg", ())] == pytest.approx(booked)


async def test_health_is_503_without_scheduler_and_degraded_without_database(demo_district, tmp_path):
    async with stepped_daemon(demo_district, tmp_path / "db", plan=False) as run, await _client(run) as client:
        r = await client.get("/health")  # no scheduler running
        assert r.status_code == 503
        body = r.json()
        assert (body["status"], body["scheduler"]["running"], body["database"]["ok"]) == ("not ready", False, True)
        run.daemon.scheduler = make_scheduler(run.daemon)
        run.daemon.scheduler.start(paused=True)
        r = await client.get("/health")
        assert (r.status_code, r.json()["status"]) == (200, "ok")
        run.store.engine.dispose()
        shutil.rmtree(tmp_path / "db")  # the SQLite file and its directory are gone: no connection
        run.daemon.event("info", "probe", "a record the store cannot take")
        assert not await asyncio.to_thread(run.records.flush, 2.0)
        r = await client.get("/health")
        body = r.json()
        assert r.status_code == 200  # control goes on: alive and ready, the store reported degraded
        assert (body["status"], body["database"]["ok"], body["database"]["state"]) == ("degraded", False, "degraded")
        assert body["database"]["backlog"] >= 1  # the record waits in the journal
        assert body["scheduler"]["running"] is True


def test_log_json_writes_one_json_object_per_line():
    assert build_parser().parse_args(["run", "--log-json"]).log_json is True
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    try:
        configure_logging(True)
        assert isinstance(handler.formatter, JsonFormatter)
        assert logging.getLogger("apscheduler.scheduler").level == logging.WARNING
        logging.getLogger("gridctl.daemon").warning("device %s offline", "bess_depot")
        try:
            raise ValueError("bad value")
        except ValueError:
            logging.getLogger("gridctl.control").exception("write failed")
    finally:
        root.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(x["level"], x["logger"], x["message"]) for x in lines] == [
        ("WARNING", "gridctl.daemon", "device bess_depot offline"), ("ERROR", "gridctl.control", "write failed")]
    assert "exception" not in lines[0] and "ValueError: bad value" in lines[1]["exception"]
    assert pd.Timestamp(lines[0]["time"]).tzinfo is not None
