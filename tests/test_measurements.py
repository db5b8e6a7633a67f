"""Measurements in: idempotent store upserts, POST /api/measurements, meter interval means, derived load."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import httpx
import pandas as pd
import pytest
from test_store import store  # noqa: F401 - the SQLite / PostgreSQL store fixture

from adapters.drivers import BatteryDriver, HostPool, SunSpecDriver
from adapters.simulator import SimClock, Simulator
from gridctl.api import create_app
from gridctl.clock import DaemonClock
from gridctl.control import Controller
from gridctl.daemon import Daemon, without_assets
from gridctl.devices import simulated_devices
from gridctl.meter import CounterReading, IntervalMeans, MeterReader, inflexible_load_kw
from gridctl.store import Store
from gridctl.store.series import SeriesRow, measured_frame, upsert_measured

TOKEN = "s3cret-token"
T0 = datetime(2016, 6, 1, 10, 0, tzinfo=UTC)


def test_a_resent_batch_changes_nothing(store):  # noqa: F811
    rows = [SeriesRow("load/G0-A", "p_kw", T0 + pd.Timedelta(minutes=15 * i), 100.0 + i) for i in range(4)]
    assert upsert_measured(store, rows, "api", T0) == 4
    assert upsert_measured(store, rows, "api", T0) == 0  # resent: nothing new, nothing changed
    frame = measured_frame(store, ["load/G0-A"], None, T0 + pd.Timedelta(hours=1))
    assert list(frame["load/G0-A"]) == [100.0, 101.0, 102.0, 103.0]
    assert upsert_measured(store, [SeriesRow("load/G0-A", "p_kw", T0, 99.0)], "api", T0) == 1  # a correction
    assert measured_frame(store, ["load/G0-A"], None, T0 + pd.Timedelta(hours=1))["load/G0-A"].iloc[0] == 99.0


def test_interval_means_from_energy_counters():
    means = IntervalMeans(15)
    t = pd.Timestamp(T0)
    minute = pd.Timedelta(minutes=1)
    out = []
    # 400 kW import for 20 minutes, then 200 kW export; readings every 5 minutes, off the boundaries
    imp = exp = 0.0
    for k in range(10):
        at = t - 2 * minute + 5 * k * minute
        out += means.add(CounterReading(at, imp, exp))
        if k < 4:
            imp += 400 * 5 / 60 * 1000
        else:
            exp += 200 * 5 / 60 * 1000
    starts = [s for s, _ in out]
    assert starts == [t, t + 15 * minute]
    assert out[0][1] == pytest.approx(400.0)
    # 10:15-10:30: 400 kW until 10:18 (the import ran on to the reading at 10:18), then -200 kW
    assert out[1][1] == pytest.approx((400 * 3 - 200 * 12) / 15)
    assert means.add(CounterReading(t + 3 * 60 * minute, imp, exp)) == []  # after a gap: no interval guessed


def test_inflexible_load_formula():
    assert inflexible_load_kw(1000.0, {"bess": 300.0, "ev": 50.0}, {"pv/a": 200.0}) == 850.0


async def test_inflexible_load_derived_from_the_simulated_meter(demo_district):
    """Meter import minus own assets plus measured PV is the district's load, whatever the batteries do."""
    flexible = {a.id for a in (*demo_district.config.assets.ev_charger, *demo_district.config.assets.heat_pump)}
    district = without_assets(demo_district, flexible)
    s = pd.Timestamp("2016-06-01 11:00", tz="UTC")  # PV producing, the load's interval value constant
    clock = SimClock(s - pd.Timedelta(minutes=10))
    pool = HostPool()
    async with Simulator(simulated_devices(district, clock), clock) as sim:
        try:
            host = pool.get("127.0.0.1", sim.port)
            for asset_id, p_kw in (("bess_park", 500.0), ("bess_depot", -800.0), ("bess_works", 0.0)):
                battery = BatteryDriver(host, {b.id: b.unit_id for b in district.config.assets.battery}[asset_id],
                                        asset_id, revert_s=7200)
                await battery.discover()
                await battery.write_setpoint(p_kw)
            meter = MeterReader(SunSpecDriver(host, district.config.simulator.meter_unit_id, "meter"))
            means = IntervalMeans(15)
            # readings 1 s before each boundary and at it: the simulated meter integrates each step
            # at the power of the step's end, so only short steps may cross a profile change
            for advance_s in (599, 1, 899, 1):
                clock.advance(advance_s)
                out = means.add(await meter.read(clock.now()))
            (start, meter_kw), = out
            own = {b.id: sim[b.id].p_kw for b in district.config.assets.battery}
            pv = district.history.loc[s, district.pv_series].to_dict()
            load = float(district.history.loc[s, district.load_series].sum())
        finally:
            pool.close()
    assert start == s
    assert abs(inflexible_load_kw(meter_kw, {}, pv) - load) > 250  # the batteries (-300 kW) move the meter ...
    assert inflexible_load_kw(meter_kw, own, pv) == pytest.approx(load, rel=1e-3)  # ... not the derived load


@pytest.fixture
async def api(demo_district, tmp_path):
    db = Store(f"sqlite:///{tmp_path / 'gridctl.sqlite'}")
    clock = DaemonClock(1.0, pd.Timestamp("2026-06-01T10:07:00Z"), data_year=2016)
    daemon = Daemon(demo_district.config, demo_district, db, Controller({}, {}, db, clock.now), clock)
    transport = httpx.ASGITransport(app=create_app(daemon))
    async with httpx.AsyncClient(transport=transport, base_url="http://gridctl") as client:
        yield client
    db.close()


async def test_post_measurements_round_trip_and_bad_rows(api, monkeypatch):
    client = api
    monkeypatch.setenv("GRIDCTL_API_TOKEN", TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    good = [{"series_id": "load/G0-A", "quantity": "p_kw", "interval_start_utc": "2016-06-01T09:45:00Z", "value": 12.5},
            {"series_id": "grid/meter", "quantity": "p_kw", "interval_start_utc": "2016-06-01T09:45:00Z",
             "value": -300.0}]
    bad = [
        {"series_id": "load/nope", "quantity": "p_kw", "interval_start_utc": "2016-06-01T09:45:00Z", "value": 1.0},
        {"series_id": "load/G0-A", "quantity": "p_kw", "interval_start_utc": "2016-06-01T09:30:00Z", "value": math.nan},
        {"series_id": "pv/PV2", "quantity": "p_kw", "interval_start_utc": "2016-06-01T09:30:00Z", "value": -4.0},
        {"series_id": "load/G0-A", "quantity": "p_kw", "interval_start_utc": "2016-06-01T09:37:00Z", "value": 1.0},
        {"series_id": "load/G0-A", "quantity": "p_kw", "interval_start_utc": "2016-06-02T09:30:00Z", "value": 1.0},
    ]
    assert (await client.post("/api/measurements", json={"rows": good})).status_code == 401
    r = await client.post("/api/measurements", content=json.dumps({"rows": good + bad}),  # NaN as JSON senders write it
                          headers={**auth, "content-type": "application/json"})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert [line.split(":")[0] for line in detail] == ["row 2", "row 3", "row 4", "row 5", "row 6"]
    assert "unknown series" in detail[0] and "not a finite number" in detail[1] and "cannot be negative" in detail[2]
    assert "interval grid" in detail[3] and "in the future" in detail[4]
    assert (await client.get("/api/measurements")).json()["items"] == []  # nothing of the bad batch stored
    r = await client.post("/api/measurements", json={"rows": good}, headers=auth)
    assert r.status_code == 200 and r.json() == {"rows": 2, "written": 2}
    r = await client.post("/api/measurements", json={"rows": good}, headers=auth)
    assert r.json()["written"] == 0  # resent: changes nothing
    items = (await client.get("/api/measurements", params={"series_id": "grid/meter"})).json()["items"]
    assert [(i["interval_start_utc"], i["value"], i["source"]) for i in items] == [
        ("2016-06-01T09:45:00+00:00", -300.0, "api")]
