"""The store on SQLite and a real PostgreSQL: migrations, one-transaction updates, idempotence, history,
concurrent writers from two processes."""
from __future__ import annotations

import multiprocessing as mp
import sqlite3
from datetime import datetime

import pytest
from sqlalchemy import create_engine, inspect, select, func

from twin.forecast import Forecast
from twin.progress import ProgressRecord, ProgressUpdate, content_hash
from twin.store import (StoreBusyError, StoreError, add_update, default_url, forecast_for_import, get_forecasts,
                        get_progress, integrity_problems, list_imports, open_store)
from twin.store import tables as t
from twin.store.migrate import current_revision, downgrade, head_revision, upgrade

KEY = "/site/tower.toml"
D1, D2 = datetime(2027, 3, 11), datetime(2027, 3, 18)


def _update(dd: datetime, *records: ProgressRecord, source: str = "p.csv") -> ProgressUpdate:
    return ProgressUpdate(dd, tuple(records), source, content_hash(records, KEY, dd))


def _counts(store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {tb.name: conn.execute(select(func.count()).select_from(tb)).scalar_one()
                for tb in (t.projects, t.scenarios, t.imports, t.progress, t.forecasts)}


A_DONE = ProgressRecord("A", datetime(2027, 3, 1, 8), datetime(2027, 3, 8, 17), 100.0, reported_by="site", row=2)
B_HALF = ProgressRecord("B", datetime(2027, 3, 9, 8), None, 50.0, row=3)
B_DONE = ProgressRecord("B", datetime(2027, 3, 9, 8), datetime(2027, 3, 15, 17), 100.0, row=2)


def test_default_database_sits_beside_the_scenario(tmp_path):
    assert default_url(tmp_path / "tower.toml") == f"sqlite:///{tmp_path / 'tower.twin.sqlite'}"


def test_upgrade_from_empty_gives_the_models_tables_and_downgrade_removes_them(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(db_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision() == "0002"
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), t.metadata)
    assert diff == []
    assert set(inspect(engine).get_table_names()) == set(t.metadata.tables) | {"alembic_version"}
    downgrade(engine)
    assert set(inspect(create_engine(db_url)).get_table_names()) <= {"alembic_version"}
    upgrade(engine)   # and back up again
    assert set(t.metadata.tables) <= set(inspect(create_engine(db_url)).get_table_names())
    engine.dispose()


def test_an_update_is_recorded_once(db_url):
    store = open_store(db_url)
    first = add_update(store, _update(D1, A_DONE, B_HALF), scenario_key=KEY, scenario_name="Tower")
    before = _counts(store)
    again = add_update(store, _update(D1, B_HALF, A_DONE), scenario_key=KEY, scenario_name="Tower")
    assert not first.already_imported and again.already_imported and again.import_id == first.import_id
    assert _counts(store) == before == {"projects": 1, "scenarios": 1, "imports": 1, "progress": 2, "forecasts": 0}
    store.close()


def test_a_failing_update_leaves_the_database_unchanged(db_url):
    store = open_store(db_url)
    add_update(store, _update(D1, A_DONE), scenario_key=KEY)
    before = _counts(store)
    # the same activity twice breaks the unique constraint half-way through the progress rows
    bad = _update(D2, B_HALF, ProgressRecord("C", datetime(2027, 3, 16, 8), None, 10.0), B_HALF)
    with pytest.raises(StoreError, match="nothing was written"):
        add_update(store, bad, scenario_key=KEY)
    assert _counts(store) == before and integrity_problems(store) == []
    store.close()


def test_history_replays_to_any_data_date(db_url):
    store = open_store(db_url)
    add_update(store, _update(D2, B_DONE), scenario_key=KEY)          # recorded first, dated later
    add_update(store, _update(D1, A_DONE, B_HALF), scenario_key=KEY)
    at_d1 = {r.activity_id: r for r in get_progress(store, KEY, as_of=D1)}
    assert at_d1["B"].percent_complete == 50.0 and at_d1["B"].actual_finish is None
    latest = {r.activity_id: r for r in get_progress(store, KEY)}
    assert latest["B"].actual_finish == datetime(2027, 3, 15, 17) and latest["A"].reported_by == "site"
    assert [i["data_date"] for i in list_imports(store, KEY)] == [D1, D2]
    assert get_progress(store, "/other.toml") == []
    store.close()


def _forecast(dd: datetime, p50: datetime) -> Forecast:
    return Forecast(dd, {"p10": p50, "p50": p50, "p80": p50, "p90": p50, "mean": p50}, p50, datetime(2027, 4, 9, 17),
                    500, 1, False, {"*": 1.1, "concrete": 1.2})


def test_forecast_snapshots_are_kept_with_their_import(db_url):
    store = open_store(db_url)
    r1 = add_update(store, _update(D1, A_DONE), scenario_key=KEY, forecast=_forecast(D1, datetime(2027, 4, 12, 17)),
                    spi=0.9, lights={"A": "green", "B": "red"})
    r2 = add_update(store, _update(D2, B_DONE), scenario_key=KEY, forecast=_forecast(D2, datetime(2027, 4, 14, 17)))
    hist = get_forecasts(store, KEY)
    assert [h.p50 for h in hist] == [datetime(2027, 4, 12, 17), datetime(2027, 4, 14, 17)]
    assert hist[0].factors == {"*": 1.1, "concrete": 1.2} and hist[0].lights["B"] == "red" and hist[0].spi == 0.9
    assert forecast_for_import(store, r2.import_id).id == r2.forecast_id
    assert [h.id for h in get_forecasts(store, KEY, as_of=D1)] == [r1.forecast_id]
    store.close()


def _writer(url: str, dd_iso: str, pct: float, barrier, out) -> None:
    """One process: open the store and record one update as soon as the other process is ready too."""
    from datetime import datetime as _dt

    try:
        store = open_store(url)
        dd = _dt.fromisoformat(dd_iso)
        rec = (ProgressRecord("B", _dt(2027, 3, 9, 8), None, pct),)
        barrier.wait(timeout=60)
        r = add_update(store, ProgressUpdate(dd, rec, "p.csv", content_hash(rec, KEY, dd)), scenario_key=KEY)
        out.put(("ok", r.already_imported))
        store.close()
    except StoreBusyError as exc:
        out.put(("busy", str(exc)))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the test
        out.put(("error", f"{type(exc).__name__}: {exc}"))


def _race(url: str, args: list[tuple[str, float]]) -> list[tuple[str, object]]:
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(len(args)), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, dd, pct, barrier, out)) for dd, pct in args]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return results


def test_two_processes_writing_different_updates_at_once_both_land(db_url):
    results = _race(db_url, [("2027-03-11T00:00", 50.0), ("2027-03-12T00:00", 60.0)])
    assert sorted(r[0] for r in results) == ["ok", "ok"], results
    store = open_store(db_url)
    assert _counts(store)["imports"] == 2 and _counts(store)["progress"] == 2
    assert integrity_problems(store) == []
    store.close()


def test_two_processes_writing_the_same_update_record_it_once(db_url):
    results = _race(db_url, [("2027-03-11T00:00", 50.0), ("2027-03-11T00:00", 50.0)])
    assert sorted(results) == [("ok", False), ("ok", True)], results
    store = open_store(db_url)
    assert _counts(store)["imports"] == 1 and integrity_problems(store) == []
    store.close()


def test_a_writer_that_cannot_get_the_lock_is_refused_cleanly(tmp_path):
    url = f"sqlite:///{tmp_path / 'busy.sqlite'}"
    open_store(url).close()
    holder = sqlite3.connect(tmp_path / "busy.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        store = open_store(url, busy_timeout_s=0.2, migrate=False)
        with pytest.raises(StoreBusyError, match="busy .*nothing was written"):
            add_update(store, _update(D1, A_DONE), scenario_key=KEY)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _counts(store)["imports"] == 0 and integrity_problems(store) == []
    store.close()


def test_bad_urls_and_missing_folders_are_clear_errors(tmp_path):
    with pytest.raises(StoreError, match="database folder does not exist"):
        open_store(f"sqlite:///{tmp_path / 'no' / 'x.sqlite'}")
    with pytest.raises(StoreError, match="cannot use database URL"):
        open_store("nosuchdb://x/y")


@pytest.mark.postgres
def test_a_postgres_server_that_does_not_answer_is_a_clear_error(pg_server):
    host, port = pg_server
    with pytest.raises(StoreError, match="postgresql"):
        open_store(f"postgresql+psycopg://postgres@{host}:1/none")


def test_upgrading_a_0001_database_keeps_its_history(db_url):
    """A database written by the first schema gets the plan-simulation columns; its rows survive both ways."""
    engine = create_engine(db_url)
    upgrade(engine, "0001")
    store = open_store(db_url, migrate=False)
    with store.engine.begin() as conn:   # a forecast as revision 0001 wrote it (no plan columns)
        conn.execute(t.projects.insert().values(name="p", created_at=D1))
        conn.execute(t.scenarios.insert().values(project_id=1, key=KEY, name="s", created_at=D1))
        conn.execute(t.imports.insert().values(scenario_id=1, data_date=D1, content_hash="h", source="", kind="csv",
                                               rows=0, created_at=D1))
        cols = {c["name"] for c in inspect(conn).get_columns("forecasts")}
        assert "plan_p50" not in cols
        row = {c: v for c, v in _forecast_row_0001().items() if c in cols}
        conn.execute(t.forecasts.insert().values(**row))
    upgrade(engine)
    (snap,) = get_forecasts(store, KEY)
    assert snap.p50 == datetime(2027, 4, 12, 17) and snap.plan_p50 is None
    downgrade(engine, "0001")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.imports)).scalar_one() == 1
        assert "plan_p50" not in {c["name"] for c in inspect(conn).get_columns("forecasts")}
    store.close()
    engine.dispose()


def _forecast_row_0001() -> dict:
    p50 = datetime(2027, 4, 12, 17)
    return {"scenario_id": 1, "import_id": 1, "data_date": D1, "created_at": D1, "p10": p50, "p50": p50, "p80": p50,
            "p90": p50, "mean": p50, "cpm_finish": p50, "plan_finish": p50, "runs": 10, "seed": 1,
            "deterministic": False, "spi": 1.0, "factors": {}, "lights": {}, "note": ""}


def test_a_database_from_a_newer_twin_is_refused_with_a_reason(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    open_store(url).close()
    con = sqlite3.connect(tmp_path / "new.sqlite")
    con.execute("UPDATE alembic_version SET version_num = '0099'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="written by a newer twin"):
        open_store(url)
