"""Digital twin: a weekly progress update of the HS2 programme (693 started activities from P6's actuals).

Ours: ``twin.store.add_update`` (one SQLAlchemy transaction: import row + 693 progress rows, WAL,
BEGIN IMMEDIATE) and the history replay ``get_progress``; then the whole ``twin progress`` workflow
(``record_progress``: checks, replay, status, forecast with 500 vectorised runs plus the plan's own
simulation, one transaction). Reference: the same 693 rows written with the standard library's
``sqlite3.executemany`` in one transaction and read back with one SELECT: the floor any ORM-free code
could reach. Seconds (median of 5) and CPU seconds. SQLite only (PostgreSQL needs a server; the tests
start one).

    .venv/bin/python benchmarks/bench_twin.py [path/to/HS2_SP10_cost_loaded.xer]
"""
from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _timed(fn, repeat: int = 5) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    from twin.importers import read_schedule
    from twin.progress import content_hash, make_update, records_from_schedule
    from twin.store import add_update, get_progress, open_store
    from twin.store.updates import load_project, record_progress

    xer = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/samples/schedules/HS2_SP10_cost_loaded.xer"
    s = read_schedule(xer)
    recs = records_from_schedule(s)
    tmp = Path(tempfile.mkdtemp(prefix="bench-twin-"))
    print(f"{xer.name}: {len(s.activities)} activities, {len(recs)} progress records at {s.data_date}")

    n = iter(range(10**6))
    wstore = open_store(f"sqlite:///{tmp / 'ours.sqlite'}")       # schema made once, outside the timing

    def ours_write() -> None:                                      # a new scenario each time: no idempotent skip
        key = f"hs2-{next(n)}"
        add_update(wstore, make_update(recs, s, s.data_date, scenario=key), scenario_key=key)

    store = open_store(f"sqlite:///{tmp / 'read.sqlite'}")
    add_update(store, make_update(recs, s, s.data_date, scenario="hs2"), scenario_key="hs2")
    ours_read = lambda: get_progress(store, "hs2")  # noqa: E731

    ref_con = sqlite3.connect(tmp / "ref.sqlite", isolation_level=None)
    ref_con.execute("PRAGMA journal_mode=WAL")
    ref_con.execute("CREATE TABLE progress (import_id INT, activity_id TEXT, global_id TEXT, actual_start TEXT, "
                    "actual_finish TEXT, percent_complete REAL, remaining_h REAL, reported_by TEXT, row INT)")

    def ref_write() -> None:
        iid = next(n)
        ref_con.execute("BEGIN IMMEDIATE")
        ref_con.executemany("INSERT INTO progress VALUES (?,?,?,?,?,?,?,?,?)",
                            [(iid, r.activity_id, r.global_id or "", r.actual_start and r.actual_start.isoformat(),
                              r.actual_finish and r.actual_finish.isoformat(), r.percent_complete, r.remaining_h,
                              r.reported_by, r.row) for r in recs])
        ref_con.execute("COMMIT")

    ref_write()
    first = next(n) - 1
    ref_read = lambda: ref_con.execute("SELECT * FROM progress WHERE import_id = ?", (first,)).fetchall()  # noqa: E731

    print(f"hash of {len(recs)} records: {content_hash(recs, 'hs2', s.data_date)[:12]}...")
    rows = [("write one update (twin: with the checks and the hash)", ours_write, ref_write),
            ("read the history back", ours_read, ref_read)]
    print(f"{'step':58} {'twin s (cpu)':>16} {'sqlite3 s (cpu)':>18}")
    for label, ours, ref in rows:
        ow, oc = _timed(ours)
        rw, rc = _timed(ref)
        print(f"{label:58} {ow:8.3f} ({oc:.3f}) {rw:10.3f} ({rc:.3f})")
    store.close()
    wstore.close()

    plan = tmp / "hs2.xer"
    plan.write_bytes(xer.read_bytes())
    project = load_project(plan)
    store = open_store(f"sqlite:///{tmp / 'full.sqlite'}")
    w, c = time.perf_counter(), time.process_time()
    out = record_progress(project, plan, s.data_date, store, runs=500, seed=1, workers=1)
    print(f"twin progress workflow (checks, replay, status, 500-run forecast + plan simulation, store): "
          f"{time.perf_counter() - w:.2f} s ({time.process_time() - c:.2f} s CPU); "
          f"P50 {out.forecast.p50:%Y-%m-%d}, plan P50 {out.forecast.plan_p50 or 'n/a'}, SPI {out.state.status.project.spi:.2f}")
    store.close()


if __name__ == "__main__":
    main()
