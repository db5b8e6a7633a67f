"""The simulator's HTTP control endpoint injects faults that Modbus clients then see."""

from __future__ import annotations

import httpx
import pytest
from modbus_fixtures import BATTERY, rig

from adapters.drivers import DeviceTimeout
from gridctl.simulator_control import control_app


async def test_faults_set_and_cleared_over_http_reach_the_modbus_side():
    async with rig() as r:
        transport = httpx.ASGITransport(app=control_app(r.sim))
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
            devices = (await http.get("/devices")).json()
            assert {(d["id"], d["unit_id"]) for d in devices} == {("bess_1", 1), ("pv_1", 11)}
            rsp = await http.put("/devices/bess_1/faults", json={"offline": True})
            assert rsp.status_code == 200 and rsp.json()["faults"]["offline"] is True
            with pytest.raises(DeviceTimeout):
                await r.battery.read_telemetry()
            rsp = await http.put("/devices/bess_1/faults", json={"ofline": True})
            assert rsp.status_code == 422 and "bess_1" not in rsp.text and "unknown fault" in rsp.text
            assert (await http.put("/devices/nope/faults", json={})).status_code == 404
            rsp = await http.delete("/devices/bess_1/faults")
            assert rsp.status_code == 200 and rsp.json()["faults"]["offline"] is False
        assert (await r.battery.read_telemetry()).soc_pct == pytest.approx(BATTERY.soc_initial_pct)
