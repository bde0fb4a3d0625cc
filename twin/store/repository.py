"""Repository functions over the store: open (and migrate), record an update, replay progress, forecasts.

Transactions and concurrency:

* :func:`add_update` writes one import, all its progress rows and its forecast snapshot in **one
  transaction**: all of it lands or nothing does. The same content (hash of the normalised records
  + scenario + data date) for the same scenario is recorded once: a second attempt changes nothing
  and reports ``already_imported`` (also when two processes race with the same file: the unique
  constraint on (scenario, hash) decides, and the loser is told so).
* SQLite: WAL journal, ``busy_timeout`` and ``BEGIN IMMEDIATE`` for every transaction, so writers
  queue for the write lock instead of failing half-way; when the lock is not free within the busy
  timeout the update is refused with :class:`StoreBusyError` and nothing is written.
* PostgreSQL: each update first locks its scenario row (``SELECT ... FOR UPDATE``), so two updates
  of one scenario run one after the other; other scenarios are not blocked.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Sequence

from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError

from twin.errors import InputError, TwinError
from twin.progress import ProgressRecord, ProgressUpdate
from twin.store import tables as t

__all__ = ["Store", "StoreError", "StoreBusyError", "ImportResult", "ForecastSnapshot", "default_url", "open_store",
           "add_update", "find_import", "get_progress", "list_imports", "get_forecasts", "forecast_for_import",
           "integrity_problems"]


class StoreError(TwinError, RuntimeError):
    """The database cannot be opened or used (bad URL, server down, schema from a newer twin)."""


class StoreBusyError(StoreError):
    """Another process held the database's write lock for longer than the busy timeout."""


@dataclass(frozen=True, slots=True, eq=False)
class Store:
    """An open database: the SQLAlchemy engine and the URL it came from (password hidden)."""

    engine: Engine
    url: str

    def close(self) -> None:
        self.engine.dispose()


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What :func:`add_update` did: the import's id, and whether it had been recorded before."""

    import_id: int
    scenario_id: int
    already_imported: bool
    rows: int
    forecast_id: int | None = None


@dataclass(frozen=True, slots=True)
class ForecastSnapshot:
    """A stored forecast (one per import, or added on its own)."""

    id: int
    import_id: int | None
    data_date: datetime
    created_at: datetime
    finish: Mapping[str, datetime]          # p10, p50, p80, p90, mean
    cpm_finish: datetime
    plan_finish: datetime | None
    runs: int
    seed: int
    deterministic: bool
    spi: float | None
    factors: Mapping[str, float] = field(default_factory=dict)
    lights: Mapping[str, str] = field(default_factory=dict)
    plan_p50: datetime | None = None        # the plan's own simulation, same runs and seed
    plan_p80: datetime | None = None

    @property
    def p50(self) -> datetime:
        return self.finish["p50"]

    @property
    def p80(self) -> datetime:
        return self.finish["p80"]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "import_id": self.import_id, "data_date": self.data_date,
                "created_at": self.created_at, **dict(self.finish), "cpm_finish": self.cpm_finish,
                "plan_finish": self.plan_finish, "runs": self.runs, "seed": self.seed,
                "deterministic": self.deterministic, "spi": self.spi, "factors": dict(self.factors),
                "plan_p50": self.plan_p50, "plan_p80": self.plan_p80}


def default_url(scenario: str | os.PathLike[str]) -> str:
    """SQLite in a file beside the scenario: ``tower.toml`` -> ``sqlite:///.../tower.twin.sqlite``."""
    p = Path(scenario).resolve()
    return f"sqlite:///{p.with_name(p.stem + '.twin.sqlite')}"


def _sqlite_pragmas(engine: Engine, busy_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None          # let SQLAlchemy's BEGIN below start transactions
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # noqa: ANN001
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def open_store(url: str, *, busy_timeout_s: float = 30.0, migrate: bool = True) -> Store:
    """Open the database at ``url`` and bring its schema up to date (Alembic, on first use).

    Parameters
    ----------
    url : SQLAlchemy URL: ``sqlite:///path/file.sqlite`` or ``postgresql+psycopg://user@host:port/db``
    busy_timeout_s : how long a writer waits for another's lock before :class:`StoreBusyError`
    migrate : run the migrations (False: the caller manages the schema)

    Raises
    ------
    StoreError
        A URL SQLAlchemy cannot read, a server that does not answer, a database newer than this twin.
    """
    try:
        if url.startswith("sqlite"):
            path = url.split(":///", 1)[1] if ":///" in url else ""
            if path and path != ":memory:" and not Path(path).parent.is_dir():
                raise StoreError(f"database folder does not exist: '{Path(path).parent}'")
            engine = create_engine(url, connect_args={"timeout": busy_timeout_s})
            _sqlite_pragmas(engine, busy_timeout_s)
        else:
            opts = {"connect_timeout": 10} if url.startswith("postgresql") else {}
            engine = create_engine(url, pool_pre_ping=True, connect_args=opts)
    except (ArgumentError, ImportError, ValueError) as exc:
        raise StoreError(f"cannot use database URL '{_safe(url)}': {exc}") from None
    store = Store(engine, _safe(url))
    if migrate:
        from twin.store.migrate import head_revision, upgrade

        try:
            upgrade(engine)
        except OperationalError as exc:
            raise _operational(exc, store) from None
        except Exception as exc:  # alembic: "Can't locate revision" when the database is newer than us
            if "locate revision" in str(exc):
                raise StoreError(f"{store.url}: the database was written by a newer twin (schema revision "
                                 f"unknown here; this twin knows up to {head_revision()})") from None
            raise
    return store


def _safe(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a bad URL is reported by the caller
        return url


def _operational(exc: OperationalError, store: Store) -> StoreError:
    msg = str(exc.orig) if exc.orig is not None else str(exc)
    if "locked" in msg or "busy" in msg:
        return StoreBusyError(f"{store.url}: the database is busy (another update holds the write lock); "
                              f"nothing was written, try again")
    return StoreError(f"{store.url}: {msg.strip().splitlines()[0]}")


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def _insert_ignore(conn: Connection, table, **values: Any) -> None:
    """INSERT that does nothing when a unique key exists already (a concurrent writer may add it first)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    conn.execute(insert(table).values(**values).on_conflict_do_nothing())


def _scenario_id(conn: Connection, key: str, name: str, project: str, *, lock: bool) -> int:
    row = conn.execute(select(t.scenarios.c.id).where(t.scenarios.c.key == key)).first()
    if row is None:
        _insert_ignore(conn, t.projects, name=project, created_at=_now())
        pid = conn.execute(select(t.projects.c.id).where(t.projects.c.name == project)).scalar_one()
        _insert_ignore(conn, t.scenarios, project_id=pid, key=key, name=name, created_at=_now())
    q = select(t.scenarios.c.id).where(t.scenarios.c.key == key)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    return int(conn.execute(q).scalar_one())


def find_import(store: Store, scenario_key: str, content_hash: str) -> int | None:
    """The id of the import of this content for this scenario, if it was recorded."""
    with store.engine.connect() as conn:
        return conn.execute(
            select(t.imports.c.id).join(t.scenarios).where(t.scenarios.c.key == scenario_key,
                                                           t.imports.c.content_hash == content_hash)).scalar()


def _progress_rows(import_id: int, records: Sequence[ProgressRecord]) -> list[dict[str, Any]]:
    return [{"import_id": import_id, "activity_id": r.activity_id, "global_id": r.global_id or "",
             "actual_start": r.actual_start, "actual_finish": r.actual_finish,
             "percent_complete": r.percent_complete, "remaining_h": r.remaining_h, "reported_by": r.reported_by,
             "reported_at": r.reported_at, "row": r.row} for r in records]


def _forecast_row(scenario_id: int, import_id: int | None, forecast: Any, spi: float | None,
                  lights: Mapping[str, str]) -> dict[str, Any]:
    fin = forecast.finish
    return {"scenario_id": scenario_id, "import_id": import_id, "data_date": forecast.data_date,
            "created_at": _now(), "p10": fin["p10"], "p50": fin["p50"], "p80": fin["p80"], "p90": fin["p90"],
            "mean": fin["mean"], "cpm_finish": forecast.cpm_finish, "plan_finish": forecast.plan_finish,
            "runs": forecast.runs, "seed": forecast.seed, "deterministic": bool(forecast.deterministic),
            "spi": spi, "factors": {k: float(v) for k, v in dict(forecast.factors).items()},
            "lights": dict(lights), "note": "",
            "plan_p50": (getattr(forecast, "plan_simulation", None) or {}).get("p50"),
            "plan_p80": (getattr(forecast, "plan_simulation", None) or {}).get("p80")}


def add_update(store: Store, update: ProgressUpdate, *, scenario_key: str, scenario_name: str = "",
               project: str = "", kind: str = "csv", forecast: Any = None, spi: float | None = None,
               lights: Mapping[str, str] | None = None) -> ImportResult:
    """Record one checked update (and optionally its forecast) in one transaction; idempotent.

    Parameters
    ----------
    update : a checked :class:`twin.progress.ProgressUpdate` (``twin.progress.make_update``)
    scenario_key : the scenario's identity (its resolved path); ``scenario_name``/``project`` label it
    forecast : a ``twin.forecast.Forecast`` to store with the import; ``spi`` and ``lights`` go with it

    Raises
    ------
    StoreBusyError
        The write lock was not free within the busy timeout (nothing written).
    StoreError
        Any other database failure (nothing written).
    """
    if not update.content_hash:
        raise InputError("the update has no content hash: build it with twin.progress.make_update")
    try:
        with store.engine.begin() as conn:
            sid = _scenario_id(conn, scenario_key, scenario_name or scenario_key, project or scenario_name
                               or scenario_key, lock=True)
            old = conn.execute(select(t.imports.c.id, t.imports.c.rows).where(
                t.imports.c.scenario_id == sid, t.imports.c.content_hash == update.content_hash)).first()
            if old is not None:
                fid = conn.execute(select(t.forecasts.c.id).where(t.forecasts.c.import_id == old.id)).scalar()
                return ImportResult(int(old.id), sid, True, int(old.rows), fid)
            iid = conn.execute(t.imports.insert().values(
                scenario_id=sid, data_date=update.data_date, content_hash=update.content_hash,
                source=update.source[:1000], kind=kind, rows=len(update.records), created_at=_now())
            ).inserted_primary_key[0]
            if update.records:
                conn.execute(t.progress.insert(), _progress_rows(iid, update.records))
            fid = None
            if forecast is not None:
                fid = conn.execute(t.forecasts.insert().values(
                    **_forecast_row(sid, iid, forecast, spi, lights or {}))).inserted_primary_key[0]
            return ImportResult(int(iid), sid, False, len(update.records), fid)
    except IntegrityError:
        # a concurrent writer recorded the same content first (PostgreSQL: unique (scenario, hash))
        again = find_import(store, scenario_key, update.content_hash)
        if again is None:
            raise StoreError(f"{store.url}: the update breaks a database constraint (duplicate rows?); "
                             f"nothing was written") from None
        with store.engine.connect() as conn:
            fid = conn.execute(select(t.forecasts.c.id).where(t.forecasts.c.import_id == again)).scalar()
            sid = conn.execute(select(t.imports.c.scenario_id).where(t.imports.c.id == again)).scalar_one()
        return ImportResult(int(again), int(sid), True, len(update.records), fid)
    except OperationalError as exc:
        raise _operational(exc, store) from None


def get_progress(store: Store, scenario_key: str, as_of: datetime | None = None) -> list[ProgressRecord]:
    """Replay the history: the latest record per (activity, element) over imports up to ``as_of``.

    Imports are applied in data-date order (then in the order recorded), so a later report of an
    activity replaces an earlier one; ``as_of`` None takes every import.
    """
    q = (select(t.progress, t.imports.c.data_date, t.imports.c.id.label("imp"))
         .join(t.imports, t.progress.c.import_id == t.imports.c.id)
         .join(t.scenarios, t.imports.c.scenario_id == t.scenarios.c.id)
         .where(t.scenarios.c.key == scenario_key)
         .order_by(t.imports.c.data_date, t.imports.c.id, t.progress.c.id))
    if as_of is not None:
        q = q.where(t.imports.c.data_date <= as_of)
    latest: dict[tuple[str, str], ProgressRecord] = {}
    with store.engine.connect() as conn:
        for r in conn.execute(q):
            rec = ProgressRecord(r.activity_id, r.actual_start, r.actual_finish, r.percent_complete, r.remaining_h,
                                 r.global_id or None, r.reported_by, r.reported_at, r.row)
            latest[rec.key] = rec
    return list(latest.values())


def list_imports(store: Store, scenario_key: str) -> list[dict[str, Any]]:
    """Every import of a scenario, oldest data date first: id, data_date, source, kind, rows, created_at."""
    q = (select(t.imports.c.id, t.imports.c.data_date, t.imports.c.source, t.imports.c.kind, t.imports.c.rows,
                t.imports.c.created_at, t.imports.c.content_hash)
         .join(t.scenarios).where(t.scenarios.c.key == scenario_key)
         .order_by(t.imports.c.data_date, t.imports.c.id))
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def _snapshot(r: Any) -> ForecastSnapshot:
    return ForecastSnapshot(r.id, r.import_id, r.data_date, r.created_at,
                            {"p10": r.p10, "p50": r.p50, "p80": r.p80, "p90": r.p90, "mean": r.mean},
                            r.cpm_finish, r.plan_finish, r.runs, r.seed, bool(r.deterministic), r.spi,
                            dict(r.factors or {}), dict(r.lights or {}), r.plan_p50, r.plan_p80)


def get_forecasts(store: Store, scenario_key: str, *, as_of: datetime | None = None) -> list[ForecastSnapshot]:
    """The forecast history of a scenario, oldest data date first (up to ``as_of`` when given)."""
    q = (select(t.forecasts).join(t.scenarios).where(t.scenarios.c.key == scenario_key)
         .order_by(t.forecasts.c.data_date, t.forecasts.c.id))
    if as_of is not None:
        q = q.where(t.forecasts.c.data_date <= as_of)
    with store.engine.connect() as conn:
        return [_snapshot(r) for r in conn.execute(q)]


def forecast_for_import(store: Store, import_id: int) -> ForecastSnapshot | None:
    """The forecast stored with an import, if any."""
    with store.engine.connect() as conn:
        r = conn.execute(select(t.forecasts).where(t.forecasts.c.import_id == import_id)).first()
    return _snapshot(r) if r is not None else None


def integrity_problems(store: Store) -> list[str]:
    """Consistency checks: the engine's own (SQLite ``integrity_check``), orphans, row counts per import."""
    problems: list[str] = []
    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            res = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check")]
            if res != ["ok"]:
                problems += res
            problems += [f"foreign key: {tuple(r)}" for r in conn.exec_driver_sql("PRAGMA foreign_key_check")]
        counts = select(t.imports.c.id, t.imports.c.rows, func.count(t.progress.c.id).label("n")).outerjoin(
            t.progress, t.progress.c.import_id == t.imports.c.id).group_by(t.imports.c.id, t.imports.c.rows)
        for r in conn.execute(counts):
            if r.rows != r.n:
                problems.append(f"import {r.id}: {r.n} progress rows, expected {r.rows}")
        orphans = conn.execute(text("SELECT count(*) FROM progress p LEFT JOIN imports i ON p.import_id = i.id "
                                    "WHERE i.id IS NULL")).scalar()
        if orphans:
            problems.append(f"{orphans} progress rows without an import")
    return problems
