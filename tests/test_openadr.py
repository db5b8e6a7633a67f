"""gridctl as an OpenADR 3 VEN against a loopback VTN (tests/vtn_fixture.py): the toadr3 client
is real, only the server is a fixture. An event limiting import 17:00-20:00 reaches the next plan
(AC check included) and a report with the planned import goes back; events are stored and served."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from types import SimpleNamespace

import httpx
import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI
from vtn_fixture import CLIENT_ID, CLIENT_SECRET, Vtn

from gridctl.api.openadr import openadr_router
from gridctl.grid_events import EventFormatError, GridEvents, load_events
from gridctl.planning import make_plan
from gridctl.store import Store
from gridctl.store.openadr import events as stored_events
from gridctl.ven import Ven

DAY = date(2016, 7, 12)
TZ = "Europe/Berlin"
ISSUED = "2016-07-11T08:00:00+00:00"  # before the gate time (12:00 local on the day before)


def cap_event(program_id: str, cap_kw: float, event_id: str | None = None) -> dict:
    """An OpenADR 3 event: import at most ``cap_kw`` from 17:00 to 20:00 local (three 1-h intervals)."""
    event = {"programID": program_id, "eventName": "evening-import-cap",
             "payloadDescriptors": [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                                     "payloadType": "IMPORT_CAPACITY_LIMIT", "units": "KW"}],
             "intervalPeriod": {"start": "2016-07-12T17:00:00+02:00", "duration": "PT1H"},
             "intervals": [{"id": k, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [cap_kw]}]}
                           for k in range(3)]}
    return event if event_id is None else {**event, "id": event_id}


def evening(series: pd.Series) -> pd.Series:
    local = series.tz_convert(TZ)
    return local[(local.index.hour >= 17) & (local.index.hour < 20)]


@pytest.fixture(scope="module")
def natural_peak_kw(demo_district) -> float:
    return float(evening(make_plan(demo_district, DAY).table.grid_import_kw).max())


@pytest.fixture
def vtn(monkeypatch):
    monkeypatch.setenv("GRIDCTL_OPENADR_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("GRIDCTL_OPENADR_CLIENT_SECRET", CLIENT_SECRET)
    with Vtn() as server:
        yield server


def make_ven(demo_config, vtn: Vtn, store: Store | None, replans: list[str]) -> Ven:
    cfg = demo_config.openadr.model_copy(update={"enabled": True, "vtn_url": vtn.url, "programs": ["dso-flex"]})
    return Ven(cfg, store, replans.append, lambda: pd.Timestamp("2016-07-11T08:05:00+00:00"))


def test_import_cap_event_is_planned_and_reported(demo_config, demo_district, vtn, tmp_path, natural_peak_kw):
    program = vtn.add_program("dso-flex")
    vtn.add_program("other")  # not configured: its events are not taken
    cap_kw = round(0.9 * natural_peak_kw)
    event = vtn.put_event(cap_event(program["id"], cap_kw), ISSUED)
    store, replans = Store("sqlite:///s.sqlite", base_dir=tmp_path), []
    ven = make_ven(demo_config, vtn, store, replans)

    assert asyncio.run(ven.poll()) == [event["id"]]
    assert len(replans) == 1 and event["id"] in replans[0]
    assert asyncio.run(ven.poll()) == [] and len(replans) == 1  # the same version again: no re-plan

    plan = make_plan(demo_district, DAY, grid_events=ven.events)
    assert plan.summary["ac_check"] is not None and plan.summary["ac_check"]["not_converged"] == 0
    capped = evening(plan.table.grid_import_kw)
    assert len(capped) == 12 and capped.max() <= cap_kw + 1e-6 < natural_peak_kw
    assert plan.summary["grid_events"] == [{"event_id": event["id"], "program_id": program["id"],
                                            "payload_types": ["IMPORT_CAPACITY_LIMIT"], "intervals": 12}]
    assert not [v for v in plan.summary["violations"] if v["limit"].startswith("event_")]

    assert asyncio.run(ven.report_plan(plan.table)) == [event["id"]]
    assert asyncio.run(ven.report_plan(plan.table)) == []  # once per event version
    [report] = vtn.reports
    assert (report["eventID"], report["programID"], report["clientName"]) == (event["id"], program["id"], "gridctl-ven")
    assert report["payloadDescriptors"][0] == {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "DEMAND",
                                               "readingType": "FORECAST", "units": "KW"}
    intervals = report["resources"][0]["intervals"]
    sent = pd.Series([i["payloads"][0]["values"][0] for i in intervals],
                     index=pd.to_datetime([i["intervalPeriod"]["start"] for i in intervals], utc=True))
    np.testing.assert_allclose(sent.to_numpy(), capped.round(3).to_numpy())
    assert (sent.index == capped.index.tz_convert("UTC")).all()

    [row] = stored_events(store)
    assert row["event"]["intervals"] == event["intervals"] and row["reports"][0]["reading_type"] == "FORECAST"
    store.close()


def test_changed_event_replans_and_each_plan_takes_the_version_known_then(demo_config, vtn):
    program = vtn.add_program("dso-flex")
    first = vtn.put_event(cap_event(program["id"], 9000.0, "ev-cap"), ISSUED)
    replans = []
    ven = make_ven(demo_config, vtn, None, replans)
    asyncio.run(ven.poll())
    vtn.put_event(cap_event(program["id"], 7000.0, "ev-cap"), "2016-07-12T09:00:00+00:00")
    assert asyncio.run(ven.poll()) == ["ev-cap"] and len(replans) == 2
    limits = {}
    for issue in ("2016-07-11T10:00:00+00:00", "2016-07-12T10:00:00+00:00"):
        inp = SimpleNamespace(index=pd.date_range("2016-07-12T15:00Z", periods=12, freq="15min"), dt_h=0.25,
                              price_per_kwh=np.zeros(12), ci_kg_per_kwh=np.zeros(12))
        ven.events.apply(inp, pd.Timestamp(issue))
        limits[issue] = set(inp.event_import_limit_kw)
    assert list(limits.values()) == [{9000.0}, {7000.0}]
    assert first["createdDateTime"] == ISSUED


def test_wrong_credentials_are_refused_by_the_token_endpoint(demo_config, vtn, monkeypatch):
    vtn.add_program("dso-flex")
    monkeypatch.setenv("GRIDCTL_OPENADR_CLIENT_SECRET", "wrong")
    with pytest.raises(Exception, match="invalid_client"):
        asyncio.run(make_ven(demo_config, vtn, None, []).poll())


async def test_api_serves_the_stored_events(demo_config, vtn, tmp_path):
    program = vtn.add_program("dso-flex")
    event = vtn.put_event(cap_event(program["id"], 8000.0), ISSUED)
    store = Store("sqlite:///s.sqlite", base_dir=tmp_path)
    await make_ven(demo_config, vtn, store, []).poll()
    app = FastAPI()
    app.include_router(openadr_router(SimpleNamespace(config=demo_config, store=store)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gridctl") as client:
        body = (await client.get("/api/openadr/events")).json()
    assert body["enabled"] is False  # the demo's default
    [row] = body["events"]
    assert (row["event_id"], row["program_id"]) == (event["id"], program["id"])
    assert pd.Timestamp(row["version_at"]) == pd.Timestamp(ISSUED)
    store.close()


def test_recorded_events_file_is_checked_by_position_and_field(tmp_path):
    good = {**cap_event("p1", 5000.0, "ev1"), "createdDateTime": ISSUED}
    path = tmp_path / "events.json"
    path.write_text(json.dumps([good, {k: v for k, v in good.items() if k != "createdDateTime"}]))
    with pytest.raises(EventFormatError, match=r"event 1: createdDateTime: missing"):
        load_events(path)
    path.write_text(json.dumps([good]))
    assert isinstance(load_events(path), GridEvents)


def test_measured_import_is_reported_once_the_event_has_ended(demo_config, vtn):
    program = vtn.add_program("dso-flex")
    event = vtn.put_event(cap_event(program["id"], 9000.0), ISSUED)
    cfg = demo_config.openadr.model_copy(update={"enabled": True, "vtn_url": vtn.url, "programs": ["dso-flex"]})
    clock = {"now": pd.Timestamp("2016-07-12T17:30:00+02:00")}
    ven = Ven(cfg, None, lambda reason: None, lambda: clock["now"])
    asyncio.run(ven.poll())
    measured = pd.Series(8500.0 + np.arange(16), index=pd.date_range("2016-07-12T16:30:00+02:00", periods=16,
                                                                      freq="15min").tz_convert("UTC"))
    assert asyncio.run(ven.report_measured(measured)) == []  # still running
    clock["now"] = pd.Timestamp("2016-07-12T20:05:00+02:00")
    assert asyncio.run(ven.report_measured(measured)) == [event["id"]]
    assert asyncio.run(ven.report_measured(measured)) == []  # once per event
    [report] = vtn.reports
    assert report["payloadDescriptors"][0]["readingType"] == "DIRECT_READ"
    values = [i["payloads"][0]["values"][0] for i in report["resources"][0]["intervals"]]
    assert values == list(measured.iloc[2:14])  # 17:00 to 20:00 only


def test_a_cycle_before_anything_is_booked_polls_without_a_warning(demo_config, vtn, tmp_path):
    program = vtn.add_program("dso-flex")
    event = vtn.put_event(cap_event(program["id"], 9000.0), ISSUED)
    store, replans, warnings = Store("sqlite:///s.sqlite", base_dir=tmp_path), [], []
    ven = make_ven(demo_config, vtn, store, replans)
    asyncio.run(ven.cycle(lambda *e: warnings.append(e)))  # the emissions ledger is still empty
    assert warnings == [] and len(replans) == 1 and event["id"] in replans[0]
    assert vtn.reports == []  # nothing measured: nothing reported
    store.close()
