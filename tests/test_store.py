"""The store on a real SQLite file (WAL) and, when reachable, the machine's PostgreSQL."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import text

from gridctl.store import Store

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
PG_URL = os.environ.get("GRIDCTL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_schema_url() -> tuple[str, str] | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            schema = f"gridctl_test_{uuid.uuid4().hex[:8]}"
            conn.execute(f"CREATE SCHEMA {schema}")
        return schema, f"{PG_URL}?options=-csearch_path%3D{schema}"
    except Exception as exc:  # noqa: BLE001 - any failure means PostgreSQL is not reachable
        pytest.skip(f"PostgreSQL at {PG_URL} not reachable (set GRIDCTL_TEST_PG_URL): {exc}")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'var' / 'gridctl.sqlite'}")
        yield s
        s.close()
        return
    schema, url = _pg_schema_url()
    s = Store(url)
    yield s
    with s.engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    s.close()


def _plan_table(start: datetime, n: int, p_kw: float) -> pd.DataFrame:
    idx = pd.date_range(start, periods=n, freq="15min", tz="UTC", name="interval_start")
    return pd.DataFrame({"grid_import_kw": 100.0 + p_kw, "bess.p_kw": p_kw, "bess.soc_kwh": float("nan")}, index=idx)


def test_sqlite_file_is_in_wal_mode(tmp_path):
    s = Store("sqlite:///var/x.sqlite", base_dir=tmp_path)
    with s.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0004"  # the newest migration
    assert (tmp_path / "var" / "x.sqlite").is_file()
    Store("sqlite:///var/x.sqlite", base_dir=tmp_path)  # migrating a current schema is a no-op


def test_plans_versions_and_latest_issue_wins(store):
    day_ahead = store.add_plan("day_ahead", T0 - timedelta(hours=22), _plan_table(T0, 8, 10.0), {"s": 1}, now=T0)
    v1 = store.add_plan("intraday", T0, _plan_table(T0 + timedelta(minutes=30), 4, 20.0), {}, now=T0)
    v2 = store.add_plan("intraday", T0 + timedelta(minutes=15), _plan_table(T0 + timedelta(minutes=45), 2, 30.0),
                        {}, excluded=["b2"], now=T0)
    assert (day_ahead, v1, v2) == (1, 2, 3)
    plans = store.page("plans").items
    assert [p["status"] for p in plans] == ["accepted", "superseded", "active"]
    assert plans[2]["excluded"] == ["b2"]
    view = store.plan_view(T0, T0 + timedelta(hours=2))
    assert list(view["bess.p_kw"]) == [10.0, 10.0, 20.0, 30.0, 30.0, 20.0, 10.0, 10.0]
    assert view["bess.soc_kwh"].isna().all()  # NaN is stored as null
    assert store.plan_row(T0 + timedelta(minutes=45)) == (3, {"grid_import_kw": 130.0, "bess.p_kw": 30.0,
                                                             "bess.soc_kwh": None})
    assert store.plan_row(T0 + timedelta(hours=5)) is None


def test_time_ranged_pages_and_aware_times(store):
    for i in range(5):
        store.add_measurements(T0 + timedelta(seconds=10 * i), {"bess": {"p_kw": float(i), "soc_kwh": 50.0}})
    page = store.page("measurements", T0 + timedelta(seconds=10), T0 + timedelta(seconds=40),
                      limit=2, offset=1, quantity="p_kw")
    assert page.total == 3
    assert [r["value"] for r in page.items] == [2.0, 3.0]
    assert page.items[0]["ts"] == "2026-11-25T10:00:20+00:00"
    assert store.mean_measurement("bess", "p_kw", T0, T0 + timedelta(minutes=1)) == 2.0
    with pytest.raises(Exception, match="naive datetime"):
        store.add_event(datetime(2026, 1, 1), "info", "x", "naive")


def test_setpoints_events_emissions_overrides(store):
    store.add_setpoint(T0, T0, "bess", "plan", 500.0, 400.0, 400.0, True)
    store.add_event(T0, "alarm", "device_offline", "bess: no answer", asset_id="bess")
    store.put_emissions(T0, {"grid": (250.0, 0.4), "bess": (100.0, 0.4)})
    store.put_emissions(T0, {"grid": (200.0, 0.5)})  # a re-computed interval replaces its rows
    assert store.emissions_total(T0, T0 + timedelta(hours=1)) == pytest.approx(100.0)
    assert store.page("emissions").total == 1
    assert store.page("setpoints").items[0]["readback_kw"] == 400.0
    assert store.page("events", asset_id="bess").items[0]["kind"] == "device_offline"
    store.add_override("bess", 100.0, T0 + timedelta(hours=1), now=T0)
    store.add_override("bess", 200.0, T0 + timedelta(hours=1), now=T0)  # replaces the first
    assert store.active_overrides(T0 + timedelta(minutes=5))["bess"]["p_kw"] == 200.0
    assert store.active_overrides(T0 + timedelta(hours=2)) == {}
    assert store.release_override("bess", T0 + timedelta(minutes=10)) == 1
    assert store.active_overrides(T0 + timedelta(minutes=11)) == {}


def test_retention_deletes_only_old_rows(store):
    old, new = T0 - timedelta(days=100), T0
    for t in (old, new):
        store.add_measurements(t, {"bess": {"p_kw": 1.0}})
        store.add_event(t, "info", "x", "m")
        store.add_plan("intraday", t, _plan_table(t, 2, 1.0), {}, now=t)
        store.put_emissions(t, {"grid": (1.0, 0.5)})
    removed = store.purge(T0 - timedelta(days=90))
    assert removed == 1 + 1 + 1 + 2 + 1  # measurement, event, plan + its 2 intervals, ledger row
    counts = store.counts()
    assert counts["measurements"] == counts["events"] == counts["plans"] == counts["emissions"] == 1
    assert counts["plan_intervals"] == 2
