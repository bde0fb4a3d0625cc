"""Monte Carlo driver: chunks of replications on a persistent process pool (default), a Dask
cluster, or in-process.

:func:`run_monte_carlo` validates the scenario, chooses the path (``"vectorised"`` when nothing is
shared and no weather stops work, else ``"simpy"``), splits the replications ``0..runs-1`` into chunks
and runs them, then stacks the chunks into one :class:`twin.sim.results.MonteCarloResult`.

* In process (``workers=1``, or one chunk): :func:`run_chunk`, with the compiled network kept for the
  next call on the same config.
* On the local pool (:mod:`twin.sim.workers`): the pool is started first, so its workers boot while
  this process runs the CPM and prepares a *plan* (:func:`_plan`): for the vectorised path the
  network compiled and tabulated once, its tables in a shared-memory file, all pickled once. Each
  task (:func:`_pool_chunk`) carries the plan; a worker unpickles it once and keeps it under its
  token, and writes its chunk's starts and finishes into a shared output array. Plans, the pool
  and its workers' copies are reused by later calls (the app, ``twin compare``); :func:`release`
  frees them.
* On Dask: :func:`run_chunk` with the config scattered to the workers.

Reproducibility: every random number depends only on (seed, purpose, id, replication)
(:mod:`twin.sim.streams`), so the result is the same for any number of workers or chunk size, and
two scenarios run with the same seed use common random numbers (paired comparisons).
"""
from __future__ import annotations

import os
import pickle
import time
import uuid
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

import numpy as np
from numpy.typing import NDArray

from twin.errors import InputError, TwinError
from twin.sim.config import SimConfig, sample_durations, validate_config
from twin.sim.results import MonteCarloResult

__all__ = ["PATHS", "choose_path", "release", "run_chunk", "run_monte_carlo"]

PATHS = ("auto", "vectorised", "simpy")
_CACHE: dict[tuple[int, str], tuple[SimConfig, Any]] = {}
_STATE: dict[str, Any] = {}     # a pool worker's plans, by token
_PLANS: dict[tuple[int, str, Any], dict[str, Any]] = {}   # the parent's plans sent to the pool
_KEEP = 2                        # plans kept per process (each may hold ~100 MB of HS2 tables)


def choose_path(config: SimConfig) -> str:
    """"vectorised" when no activity needs a shared resource and no weather can stop work, else "simpy"."""
    if config.uses_resources:
        return "simpy"
    if config.weather is not None:
        if config.sensitivity is not None:
            return "simpy" if any(config.sensitivity.values()) else "vectorised"
        from twin.sim.weather import get_sensitivity
        if any(get_sensitivity(a.name, a.attributes) for a in config.schedule.activities.values()):
            return "simpy"
    return "vectorised"


_MAX_WINDOW_MIN = 15 * 366 * 1440


def _prepared(config: SimConfig, path: str, window: tuple[int, int] | None = None):
    hit = _CACHE.get((id(config), path))
    if hit is not None and hit[0] is config:
        return hit[1]
    if path == "simpy":
        from twin.sim.engine import build_model
        prep = build_model(config)
    else:
        from twin.sim.network import compile_network
        prep = compile_network(config.schedule)
        if window is not None:  # direct-lookup calendars over the simulated window (same dates)
            from twin.sim.fastcal import tabulate
            prep = tabulate(prep, window[0], min(window[1], window[0] + _MAX_WINDOW_MIN))
    _CACHE.clear()
    _CACHE[(id(config), path)] = (config, prep)
    return prep


def run_chunk(runs: NDArray[np.int64], seed: int, path: str, config: SimConfig | None = None,
              window: tuple[int, int] | None = None) -> dict[str, Any]:
    """Simulate replications ``runs`` (shape (k,)) and return compact arrays (see MonteCarloResult).

    ``window`` (clock minutes) is where the vectorised path tabulates its calendars. This is the
    task of the in-process and Dask paths; the local pool runs :func:`_pool_chunk`.
    """
    if config is None:
        raise InputError("run_chunk needs the scenario config")
    return _simulate_chunk(config, _prepared(config, path, window), runs, seed, path)


def _pool_chunk(token: str, blob: bytes, runs: NDArray[np.int64], seed: int, path: str,
                out: tuple[str, int, int] | None) -> dict[str, Any]:
    """A pool worker's task: the plan ``blob`` (unpickled once per worker and kept under ``token``),
    then :func:`_simulate_chunk`, writing starts and finishes into the shared file ``out`` if given."""
    hit = _STATE.get(token)
    if hit is None:
        cfg, prep, window = pickle.loads(blob)
        if prep is None:  # tables not shared: compile and tabulate here
            prep = _prepared(cfg, path, window)
        _STATE[token] = hit = (cfg, prep)
        _STATE.setdefault("tokens", []).append(token)
        while len(_STATE["tokens"]) > _KEEP:
            _forget(_STATE.pop(_STATE["tokens"].pop(0))[1])
    return _simulate_chunk(hit[0], hit[1], runs, seed, path, out)


def _forget(prep: Any) -> None:
    """Drop a worker's maps of the shared tables of ``prep`` (a plan it will not see again)."""
    from twin.sim.workers import detach

    for c in getattr(prep, "cals", ()):
        shared = getattr(c, "_shared", None)
        if shared is not None:
            detach(shared[0])


def _simulate_chunk(cfg: SimConfig, prep: Any, runs: NDArray[np.int64], seed: int, path: str,
                    out: tuple[str, int, int] | None = None) -> dict[str, Any]:
    net = prep if path == "vectorised" else prep.net
    runs = np.asarray(runs, dtype=np.int64)
    durations = sample_durations(cfg, net.ids, net.dur, seed, runs)
    k = len(runs)
    by_day: dict[str, dict[int, float]] = {}
    if path == "vectorised":
        from twin.sim.vectorised import forward_runs
        ra = forward_runs(net, durations)
        start, finish, crit = ra.start, ra.finish, ra.critical
        pools: tuple[str, ...] = ()
        util = wait = per_day = np.zeros((k, 0))
        lost = np.zeros(k, np.int32)
        events = 0
    else:
        from twin.sim.engine import simulate_run
        recs = [simulate_run(prep, durations[j], seed, int(r)) for j, r in enumerate(runs)]
        start = np.stack([r.start for r in recs])
        finish = np.stack([r.finish for r in recs])
        crit = np.stack([r.critical for r in recs])
        pools = tuple(p.name for p in recs[0].pools) if recs else ()
        span = np.maximum(finish.max(axis=1) - net.dd, 1).astype(np.float64)
        util = np.array([[p.utilisation(span[j]) for p in r.pools] for j, r in enumerate(recs)]).reshape(k, -1)
        wait = np.array([[p.mean_wait_min for p in r.pools] for r in recs]).reshape(k, -1)
        per_day = np.array([[p.wait_min_total / (span[j] / 1440.0) for p in r.pools]
                            for j, r in enumerate(recs)]).reshape(k, -1)
        lost = np.array([r.weather_days_lost for r in recs], dtype=np.int32)
        events = int(sum(r.events for r in recs))
        for r in recs:
            for p in r.pools:
                acc = by_day.setdefault(p.name, {})
                for day, w in p.wait_min_by_day.items():
                    acc[day] = acc.get(day, 0.0) + w
    part = {
        "runs": runs, "project_finish": finish.max(axis=1), "critical_count": crit.sum(axis=0).astype(np.int64),
        "pools": pools, "utilisation": util, "mean_wait_min": wait, "wait_min_per_day": per_day,
        "weather_days_lost": lost, "events": events, "wait_min_by_day": by_day,
    }
    if out is None:
        part["start"] = (start - net.dd).astype(np.int32)
        part["finish"] = (finish - net.dd).astype(np.int32)
    else:
        _write_rows(out, runs, start - net.dd, finish - net.dd)
    return part


def _write_rows(out: tuple[str, int, int], runs: NDArray[np.int64], start: NDArray[np.int64],
                finish: NDArray[np.int64]) -> None:
    """Write one chunk's starts and finishes (minutes from the data date) into the shared output,
    an int32 array of shape (2, total runs, n); only the chunk's rows are mapped."""
    import mmap

    from twin.sim.workers import attach

    name, total, n = out
    lo, k = int(runs[0]), len(runs)
    if not np.array_equal(runs, np.arange(lo, lo + k)):
        raise ValueError("a chunk's runs must be consecutive")
    for plane, values in enumerate((start, finish)):
        first = (plane * total + lo) * n * 4                   # byte offset of the chunk's first row
        at = first - first % mmap.ALLOCATIONGRANULARITY
        buf = attach(name, writable=True, cache=False, start=at, length=first - at + k * n * 4)
        try:
            rows = np.frombuffer(buf, np.int32, count=k * n, offset=first - at).reshape(k, n)
            rows[...] = values
            del rows
        finally:
            buf.close()


def release() -> None:
    """Forget this process's prepared networks and worker plans (removing their shared files) and
    end the worker pool; the next run starts afresh. Safe to call at any time (not during a run)."""
    from twin.sim.workers import shutdown_pool

    for plan in _PLANS.values():
        _drop(plan)
    _PLANS.clear()
    _CACHE.clear()
    shutdown_pool()


def _chunk_size(runs: int, workers: int, path: str) -> int:
    """Replications per task. Vectorised: at most 1,000 (bigger arrays cost page faults; smaller
    ones pay the per-activity Python overhead more often), in a multiple of ``workers`` chunks so
    that every worker gets the same share. SimPy: at most 50, at least 8 tasks per worker (a task
    costs little beside its runs, and small ones leave little for one worker to finish alone)."""
    if path == "vectorised":
        n = workers * -(-runs // (workers * 1000))
        return max(1, -(-runs // n))
    return max(1, min(50, -(-runs // (workers * 8))))


def _chunks(runs: int, size: int) -> list[NDArray[np.int64]]:
    return [np.arange(a, min(a + size, runs), dtype=np.int64) for a in range(0, runs, size)]


def run_monte_carlo(
    config: SimConfig,
    runs: int = 1000,
    seed: int = 1,
    *,
    workers: int | None = None,
    scheduler: str | Any | None = None,
    path: str = "auto",
    chunk_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> MonteCarloResult:
    """Run ``runs`` replications of ``config`` and aggregate them.

    Parameters
    ----------
    runs, seed : number of replications and the seed of every random number.
    workers : processes (default: the number of CPUs; 1 runs in this process).
    scheduler : a Dask scheduler address (``"tcp://host:8786"``) or a ``distributed.Client``;
        when given the chunks run on that cluster instead of local processes.
    path : "auto", "vectorised" or "simpy" (vectorised needs no shared resources and no weather).
    progress : called with the number of replications finished so far, after each chunk.

    Raises
    ------
    InputError
        Invalid config (see :func:`twin.sim.config.validate_config`), ``runs`` < 1, or the vectorised
        path asked for a scenario that needs SimPy.
    """
    if runs < 1:
        raise InputError(f"runs must be >= 1, got {runs}")
    if path not in PATHS:
        raise InputError(f"path must be one of {', '.join(PATHS)}, got '{path}'")
    validate_config(config)
    auto = choose_path(config)
    if path == "auto":
        path = auto
    elif path == "vectorised" and auto == "simpy":
        raise InputError("the vectorised path cannot simulate shared resources or weather stops; use path='simpy'")
    workers = workers or os.cpu_count() or 1
    chunks = _chunks(runs, chunk_size or _chunk_size(runs, workers, path))
    local_pool = scheduler is None and workers > 1 and len(chunks) > 1
    if local_pool:  # workers boot (forkserver) while this process runs the CPM and prepares the plan
        from twin.sim.workers import HEAP_MB, get_pool, warm_up
        heap = len(chunks[0]) * len(config.schedule.activities) * 48 >> 20 if path == "vectorised" else 0
        pool, new = get_pool(min(workers, len(chunks)), min(heap, HEAP_MB))  # ~6 int64 arrays per chunk
        if new:
            warm_up(pool, min(workers, len(chunks)))
    cpm, window = _cpm_window(config)
    t0 = time.perf_counter()
    parts: list[dict[str, Any]] = []

    def done(part: dict[str, Any]) -> None:
        parts.append(part)
        if progress:
            progress(sum(len(p["runs"]) for p in parts))

    shared = None
    if scheduler is not None:
        _run_dask(config, chunks, seed, path, scheduler, done, window)
    elif not local_pool:
        for c in chunks:
            done(run_chunk(c, seed, path, config, window))
    else:
        shared = _run_pool(pool, config, chunks, seed, path, window, done)
    return _assemble(config, parts, runs, seed, path, cpm, time.perf_counter() - t0, shared)


def _cpm_window(config: SimConfig) -> tuple[Any, tuple[int, int] | None]:
    """The deterministic CPM of ``config`` and the clock window the vectorised path tabulates."""
    from twin.cpm import compute_cpm
    from twin.worktime import to_minutes

    cpm = compute_cpm(config.schedule)
    dd = cpm.data_date or config.schedule.data_date or config.schedule.start
    if dd is None:
        return cpm, None
    t0 = (to_minutes(dd) // 1440 - 1) * 1440
    span = to_minutes(cpm.finish) - t0  # tabulate to 1.5x the CPM span (beyond: binary search)
    return cpm, (t0, to_minutes(cpm.finish) + span // 2 + 90 * 1440)


def _plan(config: SimConfig, path: str, window: tuple[int, int] | None) -> dict[str, Any]:
    """What the pool's workers need for ``config``, prepared once per process (kept for later calls).

    For the vectorised path the network is compiled and tabulated here and its tables moved to a
    shared file, so workers unpickle a few MB and map the tables; without shared memory (or for the
    SimPy path, whose model is cheap beside its runs) workers build their own from the config.
    """
    key = (id(config), path, window)
    plan = _PLANS.get(key)
    if plan is not None and plan["config"] is config:
        return plan
    prep, files = None, []
    if path == "vectorised":
        from twin.sim.fastcal import share_tables
        prep = _prepared(config, path, window)
        try:
            files.append(share_tables(prep))
        except OSError:
            prep = None
    plan = {"config": config, "token": uuid.uuid4().hex, "files": files, "prep": prep,
            "blob": pickle.dumps((config, prep, window), protocol=pickle.HIGHEST_PROTOCOL)}
    _PLANS[key] = plan
    while len(_PLANS) > _KEEP:
        _drop(_PLANS.pop(next(iter(_PLANS))))
    return plan


def _drop(plan: dict[str, Any]) -> None:
    """Remove a plan's shared files, and forget its network here too (its tables name those files)."""
    from twin.sim.workers import remove_file

    for f in plan["files"]:
        remove_file(f)
    if plan["prep"] is not None and any(hit[1] is plan["prep"] for hit in _CACHE.values()):
        _CACHE.clear()


def _run_pool(pool, config: SimConfig, chunks, seed: int, path: str, window, done) -> Any:
    """Run ``chunks`` on the persistent pool; returns the shared (2, runs, n) int32 start/finish
    array the workers wrote (None when they sent their arrays back through the pipes)."""
    from twin.sim.workers import create_file, remove_file, shutdown_pool

    plan = _plan(config, path, window)
    total, n = int(chunks[-1][-1]) + 1, len(config.schedule.activities)
    try:
        name, buf = create_file(2 * total * n * 4)
    except OSError:
        name, buf = None, None
    out = (name, total, n) if name else None
    futures: list = []
    try:              # submitting inside: a pool broken before the first task still removes the file
        futures = [pool.submit(_pool_chunk, plan["token"], plan["blob"], c, seed, path, out) for c in chunks]
        for f in as_completed(futures):
            done(f.result())
    except BrokenProcessPool as exc:
        shutdown_pool()
        raise TwinError(f"a simulation worker process died ({exc}); out of memory? "
                        "Try fewer workers or replications") from exc
    finally:
        for f in futures:
            f.cancel()
        if name:
            remove_file(name)
    return None if buf is None else np.frombuffer(buf, np.int32, count=2 * total * n).reshape(2, total, n)


def _run_dask(config: SimConfig, chunks, seed: int, path: str, scheduler: Any, done,
              window: tuple[int, int] | None = None) -> None:
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise ImportError("Dask support needs 'distributed' (pip install 'dask[distributed]')") from exc
    own = not hasattr(scheduler, "submit")
    client = Client(scheduler) if own else scheduler
    try:
        cfg_future = client.scatter(config, broadcast=True)
        futures = [client.submit(run_chunk, c, seed, path, cfg_future, window, pure=False) for c in chunks]
        for f in dask_completed(futures):
            done(f.result())
    finally:
        if own:
            client.close()


def _assemble(config: SimConfig, parts: list[dict[str, Any]], runs: int, seed: int, path: str, cpm,
              seconds: float, shared: NDArray[np.int32] | None = None) -> MonteCarloResult:
    from twin.worktime import to_minutes

    parts.sort(key=lambda p: int(p["runs"][0]))
    by_day: dict[str, dict[int, float]] = {}
    for part in parts:
        for name, days in part["wait_min_by_day"].items():
            acc = by_day.setdefault(name, {})
            for day, w in days.items():
                acc[day] = acc.get(day, 0.0) + w
    cat = lambda key: np.concatenate([p[key] for p in parts], axis=0)  # noqa: E731
    ids = tuple(config.schedule.activities)
    dd = config.schedule.data_date or config.schedule.start or cpm.data_date
    origin = to_minutes(dd) if dd is not None else 0
    return MonteCarloResult(
        name=config.name, runs=runs, seed=seed, path=path, ids=ids, origin=origin,
        cpm_finish=cpm.finish, start=cat("start") if shared is None else shared[0],
        finish=cat("finish") if shared is None else shared[1],
        project_finish=cat("project_finish"),
        critical_count=np.sum([p["critical_count"] for p in parts], axis=0),
        pool_names=parts[0]["pools"], utilisation=cat("utilisation"), mean_wait_min=cat("mean_wait_min"),
        wait_min_per_day=cat("wait_min_per_day"), weather_days_lost=cat("weather_days_lost"),
        events=int(sum(p["events"] for p in parts)), seconds=seconds, wait_min_by_day=by_day,
        element_links=tuple(config.element_links) or tuple(config.schedule.element_links),
        deterministic=config.uncertainty is None and config.weather is None and not config.uses_resources,
    )
