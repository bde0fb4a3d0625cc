"""Alembic migrations run from Python (no alembic.ini): upgrade on first use, downgrade, current revision.

The scripts live in ``twin/store/migrations`` (``env.py`` and ``versions/``). :func:`upgrade` runs on
the caller's connection inside one transaction, after taking a lock so that two processes opening a
new database at once do not both create it: SQLite's write lock (``BEGIN IMMEDIATE``, see
``twin.store.repository``), PostgreSQL's transaction-level advisory lock.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

__all__ = ["MIGRATIONS", "alembic_config", "upgrade", "downgrade", "current_revision", "head_revision"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_KEY = 0x7477696E  # "twin"


def alembic_config(connection: Connection | None = None):
    """An Alembic ``Config`` pointing at the packaged scripts, bound to ``connection``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _locked(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the latest), in one locked transaction."""
    from alembic import command

    with engine.begin() as conn:
        _locked(conn)
        command.upgrade(alembic_config(conn), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Undo migrations down to ``revision`` (default: an empty database)."""
    from alembic import command

    with engine.begin() as conn:
        _locked(conn)
        command.downgrade(alembic_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: not under migration control yet)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The latest revision of the packaged scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
