"""Alembic environment of the twin store: runs on the connection that ``twin.store.migrate`` passes in.

Importing it outside a migration run (e.g. ``pytest --doctest-modules``) does nothing.
"""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from twin.store.tables import metadata


def _run(conn) -> None:
    context.configure(connection=conn, target_metadata=metadata, render_as_batch=conn.dialect.name == "sqlite",
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:  # pragma: no cover - the store always passes a connection
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as conn:
            _run(conn)


try:
    context.config
except AttributeError:   # not inside a migration run
    pass
else:
    _main()
