"""Alembic environment: runs on the connection handed over by :func:`gridctl.store.db.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from gridctl.store import openadr, series_models  # noqa: F401 - their tables belong to Base.metadata
from gridctl.store.models import Base

config = context.config
connection = config.attributes.get("connection")


def _run(conn) -> None:
    context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:  # the alembic command line: ``alembic -x url=sqlite:///var/gridctl.sqlite upgrade head``
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    with create_engine(url).connect() as conn:
        _run(conn)
