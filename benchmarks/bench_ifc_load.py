"""Benchmark: twin.ifc.load_model (cold and warm cache) against the bare ifcopenshell geometry iterator.

In one process run, for Office_A (../shared) and a generated building of about 20,000 elements:

- bare: ``ifcopenshell.open`` + ``ifcopenshell.geom.iterator(settings, f, cpu_count(), include=...)``
  over the same physical elements with the same settings (world coordinates, welded vertices),
  turning each shape's buffers into numpy arrays: the least a program must do to get meshes;
  "bare1" is the same with one iterator thread (faster than cpu_count threads on small machines);
- twin cold: ``load_model`` with an empty cache directory: hashing, records (properties, quantities,
  materials, storeys, systems, in SI), tessellation, mesh records, writing the cache;
- twin warm: ``load_model`` again on the same cache directory.

The runs alternate per round (bare, cold, warm; then cold, warm, bare), so a busy machine slows
them alike; the minimum over rounds is the figure to compare, the median shows the noise. Targets: cold at most 15%
over bare; warm at least 10x faster than cold.

Usage::

    .venv/bin/python benchmarks/bench_ifc_load.py [--rounds 2] [--target-elements 20300]
                                                   [--workdir DIR] [--skip-generated]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("TWIN_SHARED", ROOT.parent / "shared"))

import ifcopenshell  # noqa: E402
import ifcopenshell.geom  # noqa: E402

from twin.ifc import load_model, select_elements  # noqa: E402
from twin.ifc.geometry import make_settings  # noqa: E402


def cpu_seconds() -> float:
    """User + system CPU of this process and of its finished child processes (twin's workers)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def bare_iterator(path: Path, threads: int) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and shape count for open + iterator + numpy buffers, nothing else."""
    t0, c0 = time.perf_counter(), cpu_seconds()
    f = ifcopenshell.open(str(path))
    include = [e for e in f.by_type("IfcElement") if not e.is_a("IfcFeatureElement") and not e.is_a("IfcVirtualElement")]
    include = [e for e in include if e.Representation]
    iterator = ifcopenshell.geom.iterator(make_settings(), f, threads, include=include)
    shapes = 0
    if iterator.initialize():
        while True:
            shape = iterator.get()
            g = shape.geometry
            np.frombuffer(g.verts_buffer, dtype=np.float64).reshape(-1, 3)
            np.frombuffer(g.faces_buffer, dtype=np.int32).reshape(-1, 3)
            shapes += 1
            if not iterator.next():
                break
    return time.perf_counter() - t0, cpu_seconds() - c0, shapes


def twin_load(path: Path, cache: Path) -> tuple[float, float, int, int]:
    t0, c0 = time.perf_counter(), cpu_seconds()
    model = load_model(path, cache_dir=cache)
    return time.perf_counter() - t0, cpu_seconds() - c0, len(model.elements), len(model.meshes)


def bench_file(label: str, path: Path, rounds: int) -> dict:
    runs: dict[str, list[tuple[float, float]]] = {"bare": [], "bare1": [], "cold": [], "warm": []}
    counts = None
    cores = multiprocessing.cpu_count()
    for r in range(rounds):
        if r % 2 == 0:  # alternate the order so neither side always runs first
            runs["bare"].append(bare_iterator(path, cores)[:2])
            runs["bare1"].append(bare_iterator(path, 1)[:2])
        cache = Path(tempfile.mkdtemp(prefix="twin-bench-cache-"))
        try:
            c, cc, n_el, n_mesh = twin_load(path, cache)
            w, wc, n_el2, n_mesh2 = twin_load(path, cache)
            assert (n_el, n_mesh) == (n_el2, n_mesh2), "warm load differs from cold load"
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        runs["cold"].append((c, cc))
        runs["warm"].append((w, wc))
        if r % 2 == 1:
            runs["bare1"].append(bare_iterator(path, 1)[:2])
            runs["bare"].append(bare_iterator(path, cores)[:2])
        counts = (n_el, n_mesh)
        line = ", ".join(f"{k} {runs[k][-1][0]:.2f} ({runs[k][-1][1]:.2f})" for k in runs)
        print(f"  {label} round {r + 1}: wall (CPU) seconds: {line}", flush=True)
    return {"label": label, "path": path, "runs": runs, "counts": counts}


def report(results: list[dict]) -> None:
    cores = multiprocessing.cpu_count()
    print()
    print(f"ifcopenshell {ifcopenshell.version}, {cores} cores, load average at end {os.getloadavg()[0]:.1f}")
    print(f"bare = iterator with {cores} threads (cpu_count), bare1 = iterator with 1 thread; "
          "overhead = twin cold against the faster bare; min over rounds (median in brackets)")
    for kind, index in (("wall", 0), ("CPU", 1)):
        print(f"\n{kind} seconds" + (" (this process and its worker processes)" if kind == "CPU" else ""))
        print(f"{'model':<34}{'elements':>9}{'bare':>9}{'bare1':>9}{'cold':>9}{'warm':>9}{'overhead':>10}{'warm x':>8}")
        for r in results:
            mins = {k: min(v[index] for v in r["runs"][k]) for k in r["runs"]}
            meds = {k: statistics.median(v[index] for v in r["runs"][k]) for k in r["runs"]}
            best = min(mins["bare"], mins["bare1"])
            best_med = min(meds["bare"], meds["bare1"])
            print(f"{r['label']:<34}{r['counts'][0]:>9}{mins['bare']:>9.2f}{mins['bare1']:>9.2f}"
                  f"{mins['cold']:>9.2f}{mins['warm']:>9.3f}{(mins['cold'] / best - 1) * 100:>9.1f}%"
                  f"{mins['cold'] / max(mins['warm'], 1e-9):>8.0f}   "
                  f"[{meds['bare']:.2f} / {meds['bare1']:.2f} / {meds['cold']:.2f} / {meds['warm']:.3f}; "
                  f"{(meds['cold'] / best_med - 1) * 100:.1f}%]")
    print("\ntargets: overhead <= 15% (twin cold vs bare iterator), warm reload >= 10x faster than cold")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--target-elements", type=int, default=20300,
                        help="About this many elements (20300 gives 20,692: the first size >= 20,000).")
    parser.add_argument("--workdir", type=Path, default=None, help="Keep the generated IFC here.")
    parser.add_argument("--skip-generated", action="store_true")
    args = parser.parse_args()

    results = []
    office = SHARED / "samples" / "ifc" / "Office_A_20110811.ifc"
    if office.exists():
        results.append(bench_file("Office_A_20110811.ifc", office, args.rounds))
    else:
        print(f"skipping Office_A: {office} is absent")
    if not args.skip_generated:
        from twin.ifc.generate import generate_for_elements

        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="twin-bench-"))
        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / f"generated_{args.target_elements}.ifc"
        if not path.exists():
            t0 = time.perf_counter()
            summary = generate_for_elements(path, args.target_elements)
            print(f"generated {summary.elements} elements in {time.perf_counter() - t0:.1f} s: {path}")
        results.append(bench_file(f"generated ({path.name})", path, args.rounds))
    report(results)


if __name__ == "__main__":
    main()
