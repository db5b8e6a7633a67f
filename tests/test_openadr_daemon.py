"""The daemon as an OpenADR 3 VEN (loopback VTN): its ``openadr`` job polls the events, an event
that arrives triggers a re-plan that keeps import under the cap, and the planned import goes back
to the VTN as a report; the event is stored and served by ``/api/openadr/events``."""

from __future__ import annotations

import httpx
import pandas as pd
from test_daemon import running_daemon, wait_for
from test_openadr import vtn  # noqa: F401 - the loopback VTN fixture

from gridctl.api import create_app
from gridctl.replay.sweep import district_with_config
from gridctl.store.openadr import events

# the rig's data clock starts 2016-11-25 11:35 UTC; the event caps 17:00-20:00 local (CET) that day
EVENING_WALL = pd.date_range("2026-11-25T16:00:00Z", periods=12, freq="15min")


def evening_event(program_id: str, cap_kw: float) -> dict:
    return {"id": "ev-daemon", "programID": program_id,
            "payloadDescriptors": [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                                    "payloadType": "IMPORT_CAPACITY_LIMIT", "units": "KW"}],
            "intervalPeriod": {"start": "2016-11-25T17:00:00+01:00", "duration": "PT3H"},
            "intervals": [{"id": 0, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [cap_kw]}]}]}


async def test_daemon_replans_for_an_event_and_reports_the_planned_import(demo_district, tmp_path, vtn):  # noqa: F811
    program = vtn.add_program("dso-flex")
    cfg = demo_district.config.model_copy(deep=True)
    cfg.openadr.enabled, cfg.openadr.vtn_url, cfg.openadr.programs = True, vtn.url, ["dso-flex"]
    async with running_daemon(district_with_config(demo_district, cfg), tmp_path, scale=180.0) as run:
        hot = run.daemon.hot
        before = max(hot.plan_row(t)[1]["grid_import_kw"] for t in EVENING_WALL)
        cap_kw = round(0.9 * before)
        vtn.put_event(evening_event(program["id"], cap_kw), "2016-11-25T10:00:00+00:00")
        [report] = await wait_for(lambda: vtn.reports, 60.0, "a report of the planned import")
        planned = [hot.plan_row(t)[1]["grid_import_kw"] for t in EVENING_WALL]
        assert max(planned) <= cap_kw + 1e-6 < before
        sent = [i["payloads"][0]["values"][0] for i in report["resources"][0]["intervals"]]
        assert len(sent) == 12 and max(sent) <= cap_kw + 1e-3
        assert report["payloadDescriptors"][0]["readingType"] == "FORECAST"
        transport = httpx.ASGITransport(app=create_app(run.daemon))
        async with httpx.AsyncClient(transport=transport, base_url="http://gridctl") as client:
            await wait_for(lambda: [e for e in events(run.store) if e["reports"]], 30.0,
                           "the report stored")  # stored after the VTN took it
            body = (await client.get("/api/openadr/events")).json()
        [row] = body["events"]
        assert body["enabled"] and row["event_id"] == "ev-daemon"
        assert row["signals"] == [f"IMPORT_CAPACITY_LIMIT {cap_kw:g} kW"]
        assert [r["reading_type"] for r in row["reports"]] == ["FORECAST"]
