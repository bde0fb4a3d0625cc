"""Compile twin's numba kernels into their on-disk cache, once, at install time.

The compiled clash narrow phase (:mod:`twin.clashkern`) takes tens of CPU-seconds to compile and the
one-calendar CPM loops (:mod:`twin.cpm_kernels`) a second or two; numba keeps the machine code next
to the sources (``twin/__pycache__``) and every later process loads it in a fraction of a second.
``make install`` runs ``python -m twin.warmup`` so that the first ``twin clash`` a user runs, and
every test worker, finds the kernels already compiled instead of compiling them again each.

Running it again is cheap (it only loads the cache); editing a kernel's source invalidates its
cache and the next run compiles again. Without numba it does nothing.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _box(lo: float) -> tuple[np.ndarray, np.ndarray]:
    """A closed unit cube from ``lo`` (vertices (8, 3), outward triangles (12, 3))."""
    v = np.array([[x, y, z] for z in (0, 1) for y in (0, 1) for x in (0, 1)], dtype=np.float64) + lo
    f = np.array([[0, 2, 1], [1, 2, 3], [4, 5, 6], [5, 7, 6], [0, 1, 4], [1, 5, 4],
                  [2, 6, 3], [3, 6, 7], [0, 4, 2], [2, 4, 6], [1, 3, 5], [3, 7, 5]], dtype=np.int64)
    return v, f


def warm_clash() -> bool:
    """Judge two overlapping cubes in hard and clearance mode with the compiled kernel."""
    from twin import clashkern
    from twin.clashgeom import mesh_info

    if not clashkern.available():
        return False
    pack = clashkern.pack_shapes([mesh_info(*_box(0.0)), mesh_info(*_box(0.0))])
    sa, sb = np.array([0]), np.array([1])
    oa, ob = np.zeros((1, 3)), np.array([[0.5, 0.0, 0.0]])
    for mode in ("hard", "clearance"):
        clashkern.judge_pairs(pack, sa, oa, sb, ob, mode, 0.002, 0.05)
    return True


def warm_cpm() -> bool:
    """Run a three-activity one-calendar CPM through the compiled loops."""
    from twin import cpm_arrays
    from twin.importers.csv import read_csv

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "warmup.csv"
        path.write_text("id,name,duration_days,predecessors\nA,a,2,\nB,b,3,A\nC,c,1,A;B SS+1d\n", encoding="utf-8")
        schedule = read_csv(path, start="2026-01-05T08:00")
    done = cpm_arrays.compute_cpm_one_calendar(schedule, kernels="numba") is not None
    # the engine falls back to its Python loops when numba fails: say so rather than "compiled"
    return done and bool(cpm_arrays._jit_state["kernels"])


def main() -> int:
    try:
        import numba  # noqa: F401
    except ImportError:
        print("numba is not installed: nothing to compile")
        return 0
    for name, fn in (("clash narrow phase", warm_clash), ("one-calendar CPM", warm_cpm)):
        t = time.process_time()
        done = fn()
        print(f"{name}: {'compiled or loaded' if done else 'skipped'} in {time.process_time() - t:.1f} CPU-s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
