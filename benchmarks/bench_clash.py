"""Clash detection: twin against IfcOpenShell's ifcclash, side by side in one process run.

For each model (Office_A from ../shared, and a generated demo building of about 20,000 elements),
both tools clash every element against every other (hard, 2 mm tolerance; clearance, 50 mm):

- ifcclash end to end: open the file, iterate the geometry into its tree, ``clash_*_many``;
- twin cold: ``load_model`` with an empty cache (tessellation) + ``detect_clashes``;
- twin warm: ``load_model`` from the model cache (what every later twin command does) + ``detect_clashes``
  without the pair cache;
- twin after one element changed: the same model with one element moved, re-clashed with the pair
  cache of the previous run (only that element's pairs are recomputed), and checked against a full
  re-clash of the changed model.

Pairs are compared as unordered GlobalId pairs. Run:

    .venv/bin/python benchmarks/bench_clash.py [--quick] [--elements 20000] [--office PATH]

``--quick`` skips the 20,000-element building. Wall seconds on a shared machine swing with the load;
the script prints CPU seconds of this process next to them.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin.ifc import load_model  # noqa: E402
from twin.ifc.clash import detect_clashes, ifcclash_pairs  # noqa: E402
from twin.model import BuildingModel, Mesh  # noqa: E402

MODES = (("hard", {"tolerance": 0.002}), ("clearance", {"clearance": 0.05}))


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def moved(model: BuildingModel, gid: str, dz: float) -> BuildingModel:
    m = model.meshes[gid]
    meshes = dict(model.meshes)
    meshes[gid] = Mesh(m.vertices + np.array([0.0, 0.0, dz]), m.faces)
    return replace(model, meshes=meshes)


def bench(path: Path, label: str, rows: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        model, w_load_cold, c_load_cold = timed(lambda: load_model(path, cache_dir=cache))
        _, w_load_warm, c_load_warm = timed(lambda: load_model(path, cache_dir=cache))
        ids = list(model.meshes)
        # the element to change: an MEP segment if there is one, else the first element
        mep = [g for g in ids if model.elements[g].ifc_class in ("IfcDuctSegment", "IfcPipeSegment",
                                                                 "IfcFlowSegment", "IfcFlowTerminal")]
        victim = (mep or ids)[len(mep or ids) // 2]
        for mode, opts in MODES:
            ref, w_ref, c_ref = timed(lambda: ifcclash_pairs([(path, None)], mode=mode, **opts))
            pair_cache = Path(tmp) / f"pairs-{mode}"
            run, w_det, c_det = timed(lambda: detect_clashes(model, ids, mode=mode, cache_dir=pair_cache, **opts))
            ours = {frozenset(c.pair) for c in run.clashes}
            theirs = set(ref)
            changed = moved(model, victim, 0.3)
            again, w_inc, c_inc = timed(lambda: detect_clashes(changed, ids, mode=mode, cache_dir=pair_cache, **opts))
            full = detect_clashes(changed, ids, mode=mode, use_cache=False, **opts)
            same_inc = {c.pair for c in again.clashes} == {c.pair for c in full.clashes}
            cold = w_load_cold + w_det
            warm = w_load_warm + w_det
            rows.append(
                f"| {label} | {mode} | {len(ids)} | {len(theirs)} | {len(ours)} | {len(ours & theirs)} | "
                f"{w_ref:.2f} ({c_ref:.2f}) | {cold:.2f} ({c_load_cold + c_det:.2f}) | {warm:.2f} "
                f"({c_load_warm + c_det:.2f}) | {w_ref / warm:.1f}x | {w_inc:.3f} ({again.stats['computed']} pairs"
                f" recomputed{'' if same_inc else ', DIFFERENT'}) | {w_det / max(w_inc, 1e-9):.0f}x |")
            print(rows[-1], flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="skip the 20,000-element demo building")
    ap.add_argument("--elements", type=int, default=20_000)
    ap.add_argument("--office", type=Path, default=ROOT.parent / "shared" / "samples" / "ifc" / "Office_A_20110811.ifc")
    args = ap.parse_args()
    rows = ["| model | mode | elements | ifcclash pairs | twin pairs | both | ifcclash s (CPU) | twin cold s (CPU) | "
            "twin warm s (CPU) | warm speed-up | re-run after moving one element, s | re-clash speed-up |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    print("\n".join(rows), flush=True)
    if args.office.exists():
        bench(args.office, "Office_A", rows)
    else:
        print(f"({args.office} absent: Office_A skipped)")
    if not args.quick:
        from twin.ifc.generate import generate_for_elements

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "demo20k.ifc"
            summary = generate_for_elements(path, args.elements)
            bench(path, f"demo building ({summary.elements} elements)", rows)
    print()
    print("\n".join(rows))
    print(f"\nmachine: {os.cpu_count()} cores; ifcopenshell geometry on all cores in both tools")


if __name__ == "__main__":
    main()
