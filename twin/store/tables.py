"""The store's tables (SQLAlchemy 2 Core): projects, scenarios, imports, progress rows, forecast snapshots.

Every progress update is an ``imports`` row (one file at one data date, with its content hash) and
its ``progress`` rows; forecasts are ``forecasts`` rows tied to the import they were computed for. Rows
are only ever added, so the history can be replayed to any data date. Date-times are stored naive
(local time, as everywhere in twin). The schema is created and changed only by the Alembic
migrations in ``twin/store/migrations`` (a test checks that they build exactly these tables).
"""
from __future__ import annotations

from sqlalchemy import (JSON, Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Table,
                        Text, UniqueConstraint)

__all__ = ["metadata", "projects", "scenarios", "imports", "progress", "forecasts"]

metadata = MetaData(naming_convention={
    "pk": "pk_%(table_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s", "ix": "ix_%(table_name)s_%(column_0_name)s",
})

projects = Table(
    "projects", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
)

scenarios = Table(
    "scenarios", metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(1000), nullable=False, unique=True),   # the scenario file's path (or a name)
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

imports = Table(
    "imports", metadata,
    Column("id", Integer, primary_key=True),
    Column("scenario_id", Integer, ForeignKey("scenarios.id", ondelete="CASCADE"), nullable=False),
    Column("data_date", DateTime, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("source", String(1000), nullable=False, default=""),
    Column("kind", String(20), nullable=False, default="csv"),     # csv, schedule, api, app
    Column("rows", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("scenario_id", "content_hash", name="uq_imports_scenario_hash"),
)

progress = Table(
    "progress", metadata,
    Column("id", Integer, primary_key=True),
    Column("import_id", Integer, ForeignKey("imports.id", ondelete="CASCADE"), nullable=False),
    Column("activity_id", String(200), nullable=False),
    Column("global_id", String(64), nullable=False, default=""),    # "" = the activity as a whole
    Column("actual_start", DateTime),
    Column("actual_finish", DateTime),
    Column("percent_complete", Float),
    Column("remaining_h", Float),
    Column("reported_by", String(200), nullable=False, default=""),
    Column("reported_at", DateTime),
    Column("row", Integer),
    UniqueConstraint("import_id", "activity_id", "global_id", name="uq_progress_import_activity_element"),
    Index("ix_progress_activity", "activity_id"),
)

forecasts = Table(
    "forecasts", metadata,
    Column("id", Integer, primary_key=True),
    Column("scenario_id", Integer, ForeignKey("scenarios.id", ondelete="CASCADE"), nullable=False),
    Column("import_id", Integer, ForeignKey("imports.id", ondelete="CASCADE")),
    Column("data_date", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("p10", DateTime, nullable=False),
    Column("p50", DateTime, nullable=False),
    Column("p80", DateTime, nullable=False),
    Column("p90", DateTime, nullable=False),
    Column("mean", DateTime, nullable=False),
    Column("cpm_finish", DateTime, nullable=False),
    Column("plan_finish", DateTime),
    Column("plan_p50", DateTime),      # the plan's own simulation (same runs and seed), revision 0002
    Column("plan_p80", DateTime),
    Column("runs", Integer, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("deterministic", Boolean, nullable=False, default=False),
    Column("spi", Float),
    Column("factors", JSON, nullable=False),
    Column("lights", JSON, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Index("ix_forecasts_scenario_date", "scenario_id", "data_date"),
)
