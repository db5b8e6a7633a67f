"""The REST API of a running daemon (simulator over TCP), through httpx on the daemon's loop."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest
from apscheduler.events import EVENT_JOB_EXECUTED
from daemon_rig import JobEvents
from test_daemon import running_daemon

from gridctl.api import create_app

TOKEN = "s3cret-token"


@pytest.fixture
async def api(demo_district, tmp_path):
    async with running_daemon(demo_district, tmp_path, scale=30.0, ramp_pct_per_s=1000.0) as run:
        transport = httpx.ASGITransport(app=create_app(run.daemon))
        async with httpx.AsyncClient(transport=transport, base_url="http://gridctl") as client:
            yield client, run


async def test_write_endpoints_need_the_token(api, monkeypatch):
    client, run = api
    until = (run.daemon.clock.now() + pd.Timedelta(hours=1)).isoformat()
    body = {"p_kw": 100.0, "until": until}
    monkeypatch.delenv("GRIDCTL_API_TOKEN", raising=False)
    r = await client.post("/api/override/bess_park", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 403 and "disabled" in r.json()["detail"]
    monkeypatch.setenv("GRIDCTL_API_TOKEN", TOKEN)
    assert (await client.post("/api/override/bess_park", json=body)).status_code == 401
    assert (await client.post("/api/replan")).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert (await client.post("/api/override/bess_park", json=body, headers=wrong)).status_code == 403
    assert (await client.delete("/api/override/bess_park", headers=wrong)).status_code == 403
    assert (await client.post("/api/replan", headers=wrong)).status_code == 403
    assert run.flushed().active_overrides(run.daemon.clock.now().to_pydatetime()) == {}


async def test_override_is_checked_held_and_released(api, monkeypatch):
    client, run = api
    monkeypatch.setenv("GRIDCTL_API_TOKEN", TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    until = (run.daemon.clock.now() + pd.Timedelta(hours=2)).isoformat()
    r = await client.post("/api/override/bess_park", json={"p_kw": 2500.0, "until": until}, headers=auth)
    assert r.status_code == 422
    assert "outside the device rating [-2000.0, 2000.0] kW" in r.json()["detail"]
    r = await client.post("/api/override/pv_park", json={"p_kw": -5.0, "until": until}, headers=auth)
    assert r.status_code == 422
    r = await client.post("/api/override/nope", json={"p_kw": 1.0, "until": until}, headers=auth)
    assert r.status_code == 404
    r = await client.post("/api/override/bess_park", json={"p_kw": -1234.0, "until": until}, headers=auth)
    assert r.status_code == 200, r.text
    assert (r.json()["p_kw"], r.json()["readback_kw"], r.json()["ok"]) == (-1234.0, -1234.0, True)
    run.flushed()
    # written to the simulated device at once (SunSpec sign: + = discharging)
    assert run.sim["bess_park"].get(704, "WSet") == pytest.approx(1234_000, abs=1000)
    sp = (await client.get("/api/setpoints", params={"asset_id": "bess_park"})).json()["items"][-1]
    assert (sp["source"], sp["written_kw"], sp["ok"]) == ("override", -1234.0, True)
    devices = (await client.get("/api/devices")).json()
    assert devices["bess_park"]["override"]["p_kw"] == -1234.0
    assert (await client.delete("/api/override/bess_park", headers=auth)).status_code == 200
    run.flushed()
    sp = (await client.get("/api/setpoints", params={"asset_id": "bess_park"})).json()["items"][-1]
    assert sp["source"] == "plan"
    assert (await client.delete("/api/override/bess_park", headers=auth)).status_code == 404
    run.flushed()
    kinds = [e["kind"] for e in (await client.get("/api/events")).json()["items"]]
    assert "override" in kinds and "override_released" in kinds
    versions = len((await client.get("/api/plans")).json()["items"])
    replan = JobEvents(run.daemon.scheduler, "replan", EVENT_JOB_EXECUTED)
    assert (await client.post("/api/replan", headers=auth)).status_code == 202
    await replan.next(EVENT_JOB_EXECUTED)  # the scheduler's own event, not a wall-clock wait
    run.flushed()
    assert len((await client.get("/api/plans")).json()["items"]) > versions


async def test_read_endpoints_health_metrics_openapi(api):
    client, run = api
    run.flushed()
    health = await client.get("/health")
    assert health.status_code == 200
    h = health.json()
    assert h["scheduler"]["running"] and h["database"]["ok"]
    assert set(h["devices"]) == {a.id for a in run.daemon.config.assets.all()}
    plan = (await client.get("/api/plan")).json()
    assert plan["items"] and plan["latest"]["status"] == "active"
    row = plan["items"][0]
    flexible = sum(v for k, v in row.items() if k.endswith(".p_kw"))
    balance = row["load_kw"] + flexible - (row["pv_kw"] - row["pv_curtailed_kw"]) + row["losses_kw"]
    assert row["grid_import_kw"] == pytest.approx(balance, abs=1e-3)  # plan.csv's balance, from the store
    fc = (await client.get("/api/forecasts", params={"series": "ci_kg_per_kwh", "limit": 5, "offset": 2})).json()
    assert len(fc["items"]) == 5 and fc["offset"] == 2 and fc["total"] >= 40
    assert {i["series"] for i in fc["items"]} == {"ci_kg_per_kwh"}
    tel = (await client.get("/api/telemetry", params={"asset_id": "bess_park", "quantity": "soc_kwh"})).json()
    assert tel["items"] and tel["items"][0]["value"] == pytest.approx(2000.0, abs=20)  # 50 % of 4 MWh
    far = (run.daemon.clock.now() + pd.Timedelta(days=3)).isoformat()
    assert (await client.get("/api/setpoints", params={"start": far})).json()["total"] == 0
    assert (await client.get("/api/events", params={"limit": 0})).status_code == 422
    assert (await client.get("/api/emissions")).status_code == 200
    metrics = (await client.get("/metrics")).text
    for name in ("gridctl_solve_seconds", "gridctl_device_errors_total", "gridctl_emissions_today_kg",
                 "gridctl_device_online"):
        assert name in metrics
    schema = (await client.get("/openapi.json")).json()
    assert {"/health", "/api/plan", "/api/override/{asset_id}", "/api/replan", "/metrics"} <= set(schema["paths"])
