"""A stalled store never stops control: real PostgreSQL behind a TCP proxy the test stalls, and a
real SQLite file whose write lock another connection holds. The stall lasts 12 s of wall time,
36 min of the daemon's 180x clock (more than two control intervals)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid

import httpx
import pandas as pd
import pytest
from test_daemon import BATTERIES, running_daemon

from gridctl.api import create_app

STALL_S = 12.0  # wall seconds
PG = "host=127.0.0.1 port=5432 dbname=test user=postgres"


class StallingProxy:
    """TCP proxy from an ephemeral port to PostgreSQL that can stop forwarding (connections stay
    open, nothing passes) and resume."""

    def __init__(self, port: int = 5432):
        self.target = port
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        with contextlib.suppress(asyncio.CancelledError):  # the test's loop closing
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self.flowing.wait()
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        self.flowing.set()
        self.server.close()


@contextlib.asynccontextmanager
async def postgres_store(tmp_path):
    """(store URL through a stalling proxy, stall context) on a fresh schema of the test database."""
    psycopg = pytest.importorskip("psycopg")
    schema = f"gridctl_outage_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(PG, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 not reachable: {exc}")
    proxy = StallingProxy()
    port = await proxy.start()

    @contextlib.asynccontextmanager
    async def stall():
        proxy.flowing.clear()
        try:
            yield
        finally:
            proxy.flowing.set()

    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/test?options=-csearch_path%3D{schema}", stall
    finally:
        await proxy.close()
        with psycopg.connect(PG, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@contextlib.asynccontextmanager
async def sqlite_store(tmp_path):
    """(store URL, stall context): the stall holds the file's write lock from another connection."""
    path = tmp_path / "gridctl.sqlite"

    @contextlib.asynccontextmanager
    async def stall():
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()

    yield f"sqlite:///{path}", stall


@pytest.mark.parametrize("backend", [sqlite_store, postgres_store], ids=["sqlite-lock", "postgresql-proxy"])
async def test_stalled_store_control_health_and_replay(backend, demo_district, tmp_path, monkeypatch):
    monkeypatch.setenv("GRIDCTL_API_TOKEN", "t")
    async with backend(tmp_path) as (url, stall), running_daemon(demo_district, tmp_path, store_url=url) as run:
        daemon, records = run.daemon, run.records
        await asyncio.to_thread(records.flush)
        logged: list[tuple[str, tuple]] = []
        record = records.record

        def spy(method: str, *args) -> None:
            logged.append((method, args))
            record(method, *args)

        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(daemon)), base_url="http://gridctl")
        states = []
        async with client, stall():
            records.record = spy
            t0 = daemon.clock.now()
            loop = asyncio.get_running_loop()
            end = loop.time() + STALL_S
            while loop.time() < end:
                health = await asyncio.wait_for(client.get("/health"), 1.0)  # answers within 1 s
                assert health.status_code == 200
                states.append(health.json()["database"]["state"])
                if len(states) == 4:  # an override during the stall: written and answered at once
                    until = (daemon.clock.now() + pd.Timedelta(hours=1)).isoformat()
                    r = await asyncio.wait_for(client.post("/api/override/bess_works", json={
                        "p_kw": 100.0, "until": until}, headers={"Authorization": "Bearer t"}), 5.0)
                    assert r.status_code == 200 and r.json()["ok"], r.text
                await asyncio.sleep(0.5)
            t1 = daemon.clock.now()
            # the devices were written on time during the stall, and hold what was written
            for b in BATTERIES:
                st = daemon.controller.state[b]
                assert st.last_write_at >= daemon.current_interval()
                assert run.sim[b].get(704, "WSet") == pytest.approx(-st.last_kw * 1000, abs=1000)
            assert records.status()["backlog"] > 0
            records.record = record
        assert "degraded" in states[2:]  # reported while the store does not take records
        assert await asyncio.to_thread(records.flush, 90), "the journal was not replayed after the stall"

        def page(table: str, **equal) -> pd.DataFrame:  # off the loop: the proxy runs on it
            return pd.DataFrame(run.store.page(table, t0.to_pydatetime(), limit=1_000_000, **equal).items)

        ticks = pd.date_range(t0.ceil(daemon.res), t1, freq=daemon.res)
        assert len(ticks) >= 2
        sp = await asyncio.to_thread(page, "setpoints")
        sp["ts"], sp["interval_start"] = pd.to_datetime(sp.ts), pd.to_datetime(sp.interval_start)
        for tick in ticks:  # every tick of the stall wrote every battery, within half an interval
            rows = sp[(sp.interval_start == tick) & sp.asset_id.isin(BATTERIES) & sp.ok]
            assert set(rows.asset_id) == BATTERIES, f"tick {tick} missing"
            assert (rows.ts - tick).max() < daemon.res / 2

        # every record of the stall is in the store, in the order it was made
        events, meas = await asyncio.to_thread(page, "events"), await asyncio.to_thread(page, "measurements")
        ids = {"add_setpoint": [], "add_event": [], "add_measurements": []}
        for method, args in logged:
            if method == "add_setpoint":
                ids[method].append(int(sp[(sp.ts == pd.Timestamp(args[0])) & (sp.asset_id == args[2])].id.iloc[0]))
            elif method == "add_event":
                hit = events[(pd.to_datetime(events.ts) == pd.Timestamp(args[0])) & (events.kind == args[2])]
                ids[method].append(int(hit.id.iloc[0]))
            elif method == "add_measurements":
                ids[method].append(int(meas[pd.to_datetime(meas.ts) == pd.Timestamp(args[0])].id.min()))
        assert all(len(v) >= 1 for v in ids.values()), {k: len(v) for k, v in ids.items()}
        for method, found in ids.items():
            assert found == sorted(found), f"{method} records out of order"
        kinds = list(events.kind)
        assert "store_unavailable" in kinds and "store_recovered" in kinds
        recovered = events[events.kind == "store_recovered"].message.iloc[-1]
        assert "records replayed" in recovered and int(recovered.split("; ")[1].split()[0]) > 0
        pending = await asyncio.to_thread(page, "setpoints", error="in flight")  # results of the stall's writes
        assert pending.empty or (pd.to_datetime(pending.ts) > t1).all()
