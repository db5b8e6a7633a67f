"""Engine set-up and schema migrations (Alembic, shipped in this package, applied on start)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from gridctl.extras import require

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True)
class Timeouts:
    """How long a store call may wait (seconds): PostgreSQL connect and statement, SQLite lock."""

    connect_s: float = 3.0
    statement_s: float = 5.0
    sqlite_busy_s: float = 1.0


def _sqlite_pragmas(busy_ms: int):
    def apply(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer; commits survive kill -9
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.close()
    return apply


DEFAULT_TIMEOUTS = Timeouts()


def make_engine(url: str, base_dir: Path = Path("."), timeouts: Timeouts = DEFAULT_TIMEOUTS) -> Engine:
    """Engine for a SQLAlchemy URL: SQLite files in WAL mode (relative paths from ``base_dir``),
    ``postgresql://`` through psycopg 3, both with the given time-outs (PostgreSQL:
    ``connect_timeout`` and a ``statement_timeout`` added to the URL's ``options``)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            path = Path(u.database)
            path = path if path.is_absolute() else base_dir / path
            path.parent.mkdir(parents=True, exist_ok=True)
            u = u.set(database=str(path))
        engine = create_engine(u, connect_args={"check_same_thread": False, "timeout": timeouts.sqlite_busy_s})
        event.listen(engine, "connect", _sqlite_pragmas(int(timeouts.sqlite_busy_s * 1000)))
        return engine
    if u.get_backend_name() == "postgresql" and u.drivername == "postgresql":
        require("psycopg", "a postgresql:// [store] url")
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() == "postgresql":
        options = " ".join([u.query.get("options", ""), f"-c statement_timeout={int(timeouts.statement_s * 1000)}"])
        u = u.difference_update_query(["options"])
        return create_engine(u, pool_pre_ping=True, pool_timeout=timeouts.connect_s, connect_args={
            "connect_timeout": max(round(timeouts.connect_s), 1), "options": options.strip()})
    return create_engine(u, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (no-op when it is current)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
