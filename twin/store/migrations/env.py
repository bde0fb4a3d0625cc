"""Alembic environment of the twin store: runs on the connection that ``twin.store.migrate`` passes in."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from twin.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")


def _run(conn) -> None:
    context.configure(connection=conn, target_metadata=metadata, render_as_batch=conn.dialect.name == "sqlite",
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:  # pragma: no cover - the store always passes a connection
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _run(conn)
