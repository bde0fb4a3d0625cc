"""The Monte Carlo worker pool and shared memory: reuse, same results, tables by reference, cleanup."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from datetime import datetime

import numpy as np
import pytest

from twin.schedule import Activity, Calendar, RelationType, Relationship, Schedule
from twin.sim import workers
from twin.sim.config import SimConfig, Uncertainty, sample_durations
from twin.sim.fastcal import TabulatedCalendar, share_tables, tabulate
from twin.sim.montecarlo import release, run_monte_carlo
from twin.sim.network import compile_network
from twin.sim.resources import Demand, ResourcePool
from twin.sim.vectorised import forward_runs
from twin.worktime import full_day_calendar

needs_shm = pytest.mark.skipif(workers.shared_dir() is None, reason="no /dev/shm on this system")


def _schedule() -> Schedule:
    """Two calendars (5x8 and 24h), mixed links with lags: every table and link kind is exercised."""
    acts = {a: Activity(a, duration_h=h, calendar=c) for a, h, c in
            [("A", 16, "5x8"), ("B", 24, "5x8"), ("C", 8, "24h"), ("D", 40, "5x8"), ("E", 12, "24h"),
             ("F", 4, "5x8")]}
    rels = (Relationship("A", "B"), Relationship("A", "C", RelationType.SS, 4),
            Relationship("B", "D", RelationType.FF, 8), Relationship("C", "D"),
            Relationship("C", "E", RelationType.SF, 10), Relationship("D", "F", lag_h=-4),
            Relationship("E", "F"))
    cals = {"5x8": Calendar("5x8"), "24h": full_day_calendar()}
    return Schedule(acts, rels, cals, default_calendar="5x8", start=datetime(2024, 3, 4, 8))


def _config() -> SimConfig:
    return SimConfig(_schedule(), uncertainty=Uncertainty(default_spread=(0.6, 1.0, 2.5)))


def _same(a, b) -> bool:
    return (np.array_equal(a.start, b.start) and np.array_equal(a.finish, b.finish)
            and np.array_equal(a.project_finish, b.project_finish)
            and np.array_equal(a.critical_count, b.critical_count))


def _own_files() -> list[str]:
    d = workers.shared_dir()
    return [] if d is None else [n for n in os.listdir(d) if n.startswith(f"twin-sim-{os.getpid()}-")]


def test_the_pool_is_reused_across_calls_and_matches_the_in_process_result():
    cfg = _config()
    one = run_monte_carlo(cfg, runs=60, seed=3, workers=1)
    two = run_monte_carlo(cfg, runs=60, seed=3, workers=2, chunk_size=10)
    pool = workers._POOL["executor"]
    pids = set(pool._processes)
    again = run_monte_carlo(cfg, runs=60, seed=3, workers=2, chunk_size=7)
    assert workers._POOL["executor"] is pool and set(pool._processes) == pids
    assert _same(one, two) and _same(one, again)


def test_a_different_scenario_on_the_warm_pool_gets_its_own_results():
    cfg, other = _config(), SimConfig(_schedule(), uncertainty=Uncertainty(default_spread=(1.0, 1.0, 1.0)))
    run_monte_carlo(cfg, runs=20, seed=1, workers=2, chunk_size=5)
    warm = run_monte_carlo(other, runs=20, seed=1, workers=2, chunk_size=5)
    assert _same(warm, run_monte_carlo(other, runs=20, seed=1, workers=1))
    assert len(np.unique(warm.project_finish)) == 1  # no spread: every run the same


@needs_shm
def test_shared_tables_pickle_by_reference_and_give_the_same_dates():
    cfg = _config()
    net = compile_network(cfg.schedule)
    t0 = (net.dd // 1440 - 1) * 1440
    fast = tabulate(net, t0, t0 + 400 * 1440)
    durations = sample_durations(cfg, net.ids, net.dur, seed=5, runs=np.arange(300))
    before = forward_runs(fast, durations)
    table_bytes = sum(c._off.nbytes + c._pos.nbytes for c in {id(c): c for c in fast.cals}.values())
    path = share_tables(fast)
    try:
        blob = pickle.dumps(fast)
        assert len(blob) < table_bytes / 4   # the tables are not in the pickle
        copy = pickle.loads(blob)
        assert all(isinstance(c, TabulatedCalendar) and not c._off.flags.writeable for c in copy.cals)
        after = forward_runs(copy, durations)
    finally:
        workers.remove_file(path)
    assert not os.path.exists(path)
    assert np.array_equal(before.start, after.start) and np.array_equal(before.finish, after.finish)
    assert np.array_equal(before.start, forward_runs(fast, durations).start)  # still valid once removed


@needs_shm
def test_release_removes_the_shared_files_and_ends_the_pool():
    run_monte_carlo(_config(), runs=20, seed=1, workers=2, chunk_size=5, path="vectorised")
    assert _own_files()                      # the plan's tables stay for the next call
    release()
    assert _own_files() == [] and "executor" not in workers._POOL


def test_without_shared_memory_the_workers_build_their_own_and_send_arrays_back(monkeypatch):
    cfg = _config()
    expected = run_monte_carlo(cfg, runs=40, seed=9, workers=1)
    release()
    monkeypatch.setattr(workers, "shared_dir", lambda: None)
    got = run_monte_carlo(cfg, runs=40, seed=9, workers=2, chunk_size=10)
    assert _same(expected, got) and _own_files() == []
    release()


@needs_shm
def test_files_left_by_a_killed_process_are_removed():
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    stale = os.path.join(workers.shared_dir(), f"twin-sim-{dead}-test")
    open(stale, "wb").close()
    path, buf = workers.create_file(16)
    buf.close()
    workers.remove_file(path)
    assert not os.path.exists(stale)


def test_importing_the_driver_pulls_in_no_heavy_modules():
    code = ("import sys, twin.sim.montecarlo, twin.sim.workers; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'scipy', 'pandas', 'rich', 'simpy', 'typer', 'networkx', 'dask', 'distributed', 'ifcopenshell'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_bigger_pool_serves_a_smaller_request():
    pool, _ = workers.get_pool(2)
    again, new = workers.get_pool(1)
    assert again is pool and not new


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc heap tuning is Linux-only")
def test_a_worker_heap_is_prepared_in_its_own_process():
    code = "from twin.sim.workers import _prepare_heap; print(_prepare_heap(8))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"


@needs_shm
def test_a_scenario_whose_plan_was_dropped_runs_again_on_the_pool():
    first = _config()
    expected = run_monte_carlo(first, runs=20, seed=2, workers=1)
    run_monte_carlo(first, runs=20, seed=2, workers=2, chunk_size=5)
    for k in range(2):  # SimPy scenarios push its plan out (two are kept), removing its shared tables
        crews = SimConfig(_schedule(), name=f"crews {k}", pools=(ResourcePool("crew", capacity=1),),
                          demands={"A": Demand(crews={"crew": 1}), "C": Demand(crews={"crew": 1})})
        assert run_monte_carlo(crews, runs=10, seed=1, workers=2, chunk_size=5).path == "simpy"
    assert _same(expected, run_monte_carlo(first, runs=20, seed=2, workers=2, chunk_size=5))
