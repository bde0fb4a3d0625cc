"""The Monte Carlo driver's worker processes: one persistent pool per process, and shared-memory files.

Starting a worker costs more than a chunk of HS2 replications does, so the driver keeps its pool:

* :func:`get_pool` creates a :class:`concurrent.futures.ProcessPoolExecutor` lazily and returns the
  same one to later calls asking for at most as many workers (``twin compare`` and other callers
  run many simulations in one process); :func:`shutdown_pool` ends it, and it is ended at exit.
* On Linux the workers are forked from a *forkserver* that has already imported the simulator
  (:data:`PRELOAD`), so a new worker costs a fork, not an interpreter start and its imports. A
  forkserver is a clean single-threaded process, so this is safe beside threads, unlike a plain
  fork. Elsewhere: *spawn*. As with spawn, the main script is imported once more (here by the
  forkserver): it must keep its work under ``if __name__ == "__main__"``. The Streamlit app does
  not (its main script is the page being run), so it simulates in process (``workers=1``).
* Big read-only arrays (the tabulated calendars) and the per-run outputs travel through files in
  ``/dev/shm`` that the parent creates and every worker maps (:func:`create_file`,
  :func:`attach`), instead of being pickled through pipes. Space is reserved with
  ``posix_fallocate`` first, so a full ``/dev/shm`` gives an ``OSError`` (the driver then falls back
  to pipes) rather than a crash. Files are named ``twin-sim-<pid>-...`` and removed by their
  creator (:func:`remove_file`, at exit too); files left by a killed process are removed the next
  time a process of the same user creates one. Workers exit by themselves when the process that
  owns the pool has gone (:func:`_watch_parent`), even if it was killed.
* A new worker readies its heap for the first chunk while the parent prepares (:func:`_prepare_heap`).

Nothing here touches the simulation itself; :mod:`twin.sim.montecarlo` decides what runs where.
"""
from __future__ import annotations

import atexit
import mmap
import os
import sys
import uuid
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["HEAP_MB", "PRELOAD", "attach", "create_file", "detach", "get_pool", "remove_file", "shared_dir",
           "shutdown_pool", "warm_up"]

# "__main__": the forkserver imports the main script once, so that forked workers need not (the
# multiprocessing rule for forkserver children); the twin CLI's script is light.
PRELOAD = ["__main__", "twin.sim.montecarlo", "twin.sim.vectorised", "twin.sim.network", "twin.sim.fastcal",
           "twin.sim.engine", "twin.cpm", "scipy.special"]
_PREFIX = "twin-sim-"
_POOL: dict[str, Any] = {}
_MAPS: dict[str, mmap.mmap] = {}
_OWN: set[str] = set()


def _context():
    import multiprocessing as mp

    if sys.platform.startswith("linux") and "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)  # no effect once the forkserver runs (then it has them)
        return ctx
    return mp.get_context("spawn")


def get_pool(workers: int, heap_mb: int = 0) -> tuple[ProcessPoolExecutor, bool]:
    """The process's pool of at least ``workers`` processes, and whether it was just created.

    Created on first use and reused afterwards (a bigger pool serves a smaller request); asking for
    more workers replaces it. ``heap_mb``: memory each new worker readies for its first chunk
    (:func:`_prepare_heap`; 0 for none). Workers start when tasks are submitted: :func:`warm_up`
    submits no-op tasks so that they boot while the caller prepares its work.
    """
    pool = _POOL.get("executor")
    if (pool is not None and _POOL["workers"] >= workers and _POOL["pid"] == os.getpid()
            and not getattr(pool, "_broken", False)):
        return pool, False
    shutdown_pool()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=_init_worker,
                               initargs=(os.getpid(), heap_mb))
    _POOL.update(executor=pool, workers=workers, pid=os.getpid())
    return pool, True


def _init_worker(parent: int, heap_mb: int) -> None:
    """Pool worker initializer: :func:`_watch_parent`, then :func:`_prepare_heap` (this runs while
    the parent prepares the work, so the worker's first chunk finds its memory ready)."""
    _watch_parent(parent)
    if heap_mb > 0:
        _prepare_heap(heap_mb)


def _watch_parent(pid: int, every_s: float = 1.0) -> None:
    """Exit this worker when the process that owns the pool has gone.

    A pool worker waits on its task queue forever, so a parent killed without running its exit
    handlers (SIGTERM, SIGKILL) would leave the persistent workers, and the forkserver they keep
    alive, behind. A daemon thread checks once a second that ``pid`` still exists.
    """
    import threading
    import time

    def watch() -> None:
        while True:
            time.sleep(every_s)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:  # the pid now belongs to another user's process: ours is gone
                os._exit(0)

    threading.Thread(target=watch, name="twin-sim-parent-watch", daemon=True).start()


HEAP_MB = 256
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def _prepare_heap(mb: int) -> bool:
    """Keep big arrays on this worker's heap and touch ``mb`` MiB of it now (glibc only).

    A chunk of HS2 replications allocates ~200 MB of arrays. By default glibc maps arrays above
    32 MiB afresh and gives freed memory back, so a new worker's first chunk paid ~48,000 page faults
    (about 0.25 s; more on a busy machine). With the mmap threshold raised the arrays come from the
    heap, which is kept (trim threshold) and touched here, while the worker would otherwise wait.
    Costs up to ``2 * mb`` MiB of memory per idle worker (the driver asks for at most
    :data:`HEAP_MB`, less for small networks). Returns whether it applied (not on other C libraries).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        if not (libc.mallopt(_M_MMAP_THRESHOLD, 1 << 30) and libc.mallopt(_M_TRIM_THRESHOLD, 2 * mb << 20)):
            return False
    except (OSError, AttributeError):
        return False
    import numpy as np

    block = np.ones(mb << 17)  # float64: mb MiB, every page written
    del block
    return True


def warm_up(pool: ProcessPoolExecutor, workers: int) -> None:
    """Start the pool's processes now (each submit without an idle worker starts one)."""
    for _ in range(workers):
        pool.submit(os.getpid)


def shutdown_pool() -> None:
    """End the persistent pool (its workers exit); the next :func:`get_pool` starts a new one."""
    pool = _POOL.pop("executor", None)
    pid = _POOL.pop("pid", None)
    _POOL.pop("workers", None)
    if pool is not None and pid == os.getpid():
        try:
            pool.shutdown(wait=True, cancel_futures=True)
        except Exception:  # noqa: BLE001 - at exit the executor may already be torn down
            pass


def shared_dir() -> str | None:
    """Where shared files go: ``/dev/shm`` (memory) when it exists and is writable, else None (use pipes)."""
    d = "/dev/shm"
    return d if os.path.isdir(d) and os.access(d, os.W_OK) else None


def create_file(nbytes: int) -> tuple[str, mmap.mmap]:
    """A new shared file of ``nbytes`` bytes (reserved), mapped read-write in this process.

    Raises
    ------
    OSError
        No shared directory, or not enough room in it.
    """
    d = shared_dir()
    if d is None:
        raise OSError("no shared-memory directory (/dev/shm)")
    _remove_stale(d)
    path = os.path.join(d, f"{_PREFIX}{os.getpid()}-{uuid.uuid4().hex}")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        size = max(nbytes, 1)
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(fd, 0, size)  # ENOSPC here, not SIGBUS on a later write
        else:  # pragma: no cover - Linux has it
            os.ftruncate(fd, size)
        buf = mmap.mmap(fd, size, access=mmap.ACCESS_WRITE)
    except OSError:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)
    _OWN.add(path)
    return path, buf


def attach(path: str, writable: bool = False, cache: bool = True, start: int = 0,
           length: int | None = None) -> mmap.mmap:
    """Map a shared file created by :func:`create_file` (read-only unless ``writable``).

    ``start``/``length`` (bytes) map only part of the file (``start`` must be a multiple of
    :data:`mmap.ALLOCATIONGRANULARITY`). Pages are mapped in at once where the system can
    (``MAP_POPULATE``: one call instead of a page fault per 4 KiB touched). ``cache`` keeps a
    read-only map of the whole file for the life of the process (:func:`detach` drops it); arrays
    made on a map keep it alive while they exist.
    """
    whole = start == 0 and length is None
    if cache and whole and not writable and path in _MAPS:
        return _MAPS[path]
    flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
    prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
    with open(path, "r+b" if writable else "rb") as fh:
        buf = mmap.mmap(fh.fileno(), length or 0, flags=flags, prot=prot, offset=start)
    if cache and whole and not writable:
        _MAPS[path] = buf
    return buf


def detach(path: str) -> None:
    """Forget this process's cached map of ``path`` (it is unmapped once no array uses it)."""
    _MAPS.pop(path, None)


def remove_file(path: str) -> None:
    """Remove a shared file this process created (maps stay valid until they are dropped)."""
    _OWN.discard(path)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _remove_stale(d: str) -> None:
    """Remove shared files whose creating process no longer exists (it was killed)."""
    try:
        names = [n for n in os.listdir(d) if n.startswith(_PREFIX)]
    except OSError:
        return
    for name in names:
        try:
            pid = int(name[len(_PREFIX):].split("-", 1)[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            try:
                os.unlink(os.path.join(d, name))
            except OSError:
                pass
        except (ValueError, PermissionError, OSError):
            continue


@atexit.register
def _at_exit() -> None:
    for path in list(_OWN):
        remove_file(path)
    shutdown_pool()
