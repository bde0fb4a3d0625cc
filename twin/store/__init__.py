"""The digital twin's database: SQLAlchemy 2 tables, repository functions and Alembic migrations.

SQLite in a file beside the scenario by default (:func:`default_url`), PostgreSQL by URL
(``postgresql+psycopg://user@host:port/db``). :func:`open_store` creates or upgrades the schema on
first use. Projects, scenarios, imports (one per progress file), progress rows and forecast
snapshots are kept, so the history can be replayed (:func:`get_progress` with ``as_of``). See
``docs/digital-twin.md``.
"""
from __future__ import annotations

from twin.store.repository import (ForecastSnapshot, ImportResult, Store, StoreBusyError, StoreError, add_update,
                                   default_url, find_import, forecast_for_import, get_forecasts, get_progress,
                                   integrity_problems, list_imports, open_store)

__all__ = ["ForecastSnapshot", "ImportResult", "Store", "StoreBusyError", "StoreError", "add_update", "default_url",
           "find_import", "forecast_for_import", "get_forecasts", "get_progress", "integrity_problems",
           "list_imports", "open_store"]
