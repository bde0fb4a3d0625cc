"""Clash detection: twin against IfcOpenShell's ifcclash, side by side in one process run.

For each model (Office_A from ../shared, and a generated demo building of about 20,000 elements),
both tools clash every element against every other (hard, 2 mm tolerance; clearance, 50 mm):

- ifcclash end to end: open the file, iterate the geometry into its tree, ``clash_*_many``;
- twin cold: ``load_model`` with an empty cache (tessellation) + ``detect_clashes``;
- twin warm: ``load_model`` from the model cache (what every later twin command does) + ``detect_clashes``
  without the pair cache;
- twin after one element changed: the same model with one element moved, re-clashed with the pair
  cache of the previous run (only that element's pairs are recomputed), and checked against a full
  re-clash of the changed model;
- re-run (second table): ``ClashSession.rerun`` (``twin.ifc.clash_session``, what the app does) after
  moving one element in memory, against a full ``detect_clashes`` of the changed model, records
  compared; and after moving it in the IFC file (saved in place): ``load_model`` of the edited file
  (a delta of the version read before: only the elements the edit reaches are read and tessellated,
  ``twin.ifc.delta``) + the app's session re-run, or, in a new process, the delta load from the cache
  + ``detect_clashes`` with its pair cache; against a load from scratch + full clash (load CPU
  seconds include the tessellation worker processes).

Pairs are compared as unordered GlobalId pairs. Run:

    .venv/bin/python benchmarks/bench_clash.py [--quick] [--elements 20000] [--office PATH] [--demo PATH]
                                                [--rerun-only]

``--quick`` skips the 20,000-element building. Wall seconds on a shared machine swing with the load;
the script prints CPU seconds of this process next to them.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin.ifc import load as ifc_load  # noqa: E402
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


def pick_victim(model: BuildingModel) -> str:
    """The element to change: the middle MEP segment if there is one, else the middle element."""
    ids = list(model.meshes)
    mep = [g for g in ids if model.elements[g].ifc_class in ("IfcDuctSegment", "IfcPipeSegment",
                                                             "IfcFlowSegment", "IfcFlowTerminal")]
    return (mep or ids)[len(mep or ids) // 2]


REPEAT = 3          # --repeat: each full clash (both tools) is run this many times, the fastest kept


def best(n: int, fn):
    """The fastest of ``n`` runs by wall time, with its CPU seconds (the run least disturbed by other
    load on a shared machine; both tools are measured the same way)."""
    runs = [timed(fn) for _ in range(max(1, n))]
    return min(runs, key=lambda r: r[1])


def warm_up() -> str:
    """One-time costs of the first clash in a process, paid before the timed runs and reported apart:
    importing ifcclash; importing numba and loading twin's compiled narrow phase from its on-disk
    cache (compiling it if this installation never did)."""
    from twin import clashkern
    from twin.clash import TemporaryObject, temporary_mesh
    from twin.clashgeom import mesh_info

    _, w_ref, c_ref = timed(lambda: __import__("ifcclash.ifcclash"))

    def kernel():
        m = temporary_mesh(TemporaryObject("b", "box", box=((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))))
        pack = clashkern.pack_shapes([mesh_info(m.vertices, m.faces)])
        z = np.zeros((1, 3))
        return clashkern.judge_pairs(pack, np.zeros(1, np.int64), z, np.zeros(1, np.int64), z + 0.5, "hard", 0.002, 0.05)
    _, w_k, c_k = timed(kernel)
    return (f"one-time per process, not in the rows: ifcclash import {w_ref:.2f} s ({c_ref:.2f}); numba import + "
            f"twin's compiled kernel loaded from its cache {w_k:.2f} s ({c_k:.2f})")


def bench(path: Path, label: str, rows: list[str], rerun_rows: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        model, w_load_cold, c_load_cold = timed(lambda: load_model(path, cache_dir=cache))
        ids = list(model.meshes)
        victim = pick_victim(model)
        for mode, opts in MODES:
            ref, w_ref, c_ref = best(REPEAT, lambda: ifcclash_pairs([(path, None)], mode=mode, **opts))
            split = {}

            def warm():
                # what every twin command after the first does: the model from its cache, then the clash
                # with an empty pair cache (every pair judged, the cache written)
                m, split["load"], _ = timed(lambda: load_model(path, cache_dir=cache))
                with tempfile.TemporaryDirectory(dir=tmp) as pairs:
                    out, split["clash"], split["clash_cpu"] = timed(
                        lambda: detect_clashes(m, list(m.meshes), mode=mode, cache_dir=pairs, **opts))
                return out
            trials = []
            for _ in range(max(1, REPEAT)):
                out, w, c = timed(warm)
                trials.append((w, c, out, dict(split)))
            w_warm, c_warm, run, fastest = min(trials, key=lambda t: t[0])
            w_det, c_det = fastest["clash"], fastest["clash_cpu"]
            ours = {frozenset(c.pair) for c in run.clashes}
            theirs = set(ref)
            pair_cache = Path(tmp) / f"pairs-{mode}"
            detect_clashes(model, ids, mode=mode, cache_dir=pair_cache, **opts)
            changed = moved(model, victim, 0.3)
            again, w_inc, c_inc = timed(lambda: detect_clashes(changed, ids, mode=mode, cache_dir=pair_cache, **opts))
            full = detect_clashes(changed, ids, mode=mode, use_cache=False, **opts)
            same_inc = {c.pair for c in again.clashes} == {c.pair for c in full.clashes}
            cold = w_load_cold + w_det
            rows.append(
                f"| {label} | {mode} | {len(ids)} | {len(theirs)} | {len(ours)} | {len(ours & theirs)} | "
                f"{w_ref:.2f} ({c_ref:.2f}) | {cold:.2f} ({c_load_cold + c_det:.2f}) | {w_warm:.2f} "
                f"({c_warm:.2f}) = load {w_warm - w_det:.2f} + clash {w_det:.2f} | **{w_ref / w_warm:.1f}x** "
                f"({c_ref / c_warm:.1f}x) | {w_inc:.3f} ({again.stats['computed']} pairs"
                f" recomputed{'' if same_inc else ', DIFFERENT'}) | {w_det / max(w_inc, 1e-9):.0f}x |")
            print(rows[-1], flush=True)
        bench_rerun(path, label, model, victim, cache, rerun_rows)


def moved_in_file(path: Path, gid: str, dz: float, out: Path) -> None:
    """Write a copy of ``path`` with element ``gid`` moved ``dz`` metres up, as an authoring tool saves
    an edit: three records appended (point, axes, local placement on the same parent; the old
    placement may be shared) and the element's placement reference changed; every other line as it was."""
    import re

    import ifcopenshell
    import ifcopenshell.util.unit

    f = ifcopenshell.open(str(path))
    el = f.by_guid(gid)
    pl = el.ObjectPlacement
    rel = pl.RelativePlacement
    scale = ifcopenshell.util.unit.calculate_unit_scale(f)
    x, y, z = (tuple(rel.Location.Coordinates) + (0.0,))[:3]
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    n = max(int(i) for i in re.findall(r"^#(\d+)\s*=", text, flags=re.M)) + 1
    ref = lambda e: f"#{e.id()}" if e is not None else "$"          # noqa: E731
    added = (f"#{n}=IFCCARTESIANPOINT(({float(x)!r},{float(y)!r},{float(z) + dz / scale!r}));\n"
             f"#{n + 1}=IFCAXIS2PLACEMENT3D(#{n},{ref(rel.Axis)},{ref(rel.RefDirection)});\n"
             f"#{n + 2}=IFCLOCALPLACEMENT({ref(pl.PlacementRelTo)},#{n + 1});\n")
    line = re.search(rf"^#{el.id()}\s*=.*$", text, flags=re.M)
    edited = re.sub(rf"#{pl.id()}(?!\d)", f"#{n + 2}", line.group(0), count=1)
    text = text[:line.start()] + edited + text[line.end():]
    end = text.index("ENDSEC;", text.index("DATA;"))
    out.write_text(text[:end] + added + text[end:], encoding="utf-8", errors="surrogateescape")


def bench_rerun(path: Path, label: str, model: BuildingModel, victim: str, cache: Path, rows: list[str]) -> None:
    """Re-run after one element changed: ``ClashSession.rerun`` against a full ``detect_clashes`` of the
    changed model (no pair cache), both timed here, results compared record by record; then the same
    change made in the IFC file: ``load_model`` of the edited file plus the session's re-run."""
    from twin.ifc.clash_session import ClashSession

    ids = list(model.meshes)
    changed = moved(model, victim, 0.3)
    sessions = {}
    for mode, opts in MODES:
        session, w_s, c_s = timed(lambda: ClashSession(model, ids, mode=mode, **opts))
        sessions[mode] = session
        again, w_r, c_r = timed(lambda: session.rerun(changed, ids))
        full, w_f, c_f = timed(lambda: detect_clashes(changed, ids, mode=mode, use_cache=False, **opts))
        same = "yes" if again.clashes == full.clashes else "**NO**"
        rows.append(f"| {label} | {mode} | in memory (the app) | {len(full.clashes)} | {w_f:.2f} ({c_f:.2f}) | "
                    f"{w_s:.2f} ({c_s:.2f}) | {w_r:.4f} ({c_r:.4f}) | {again.stats['computed']} | "
                    f"{w_f / max(w_r, 1e-9):.0f}x ({c_f / max(c_r, 1e-9):.0f}x) | {same} |")
        print(rows[-1], flush=True)
    # The IFC file edited in place, as a coordinator saves it from the authoring tool. The app had
    # loaded that file and clashed it; it loads the file again (a delta of the version it read, see
    # twin.ifc.delta) and re-runs its session. A new process (the CLI) has no session and no base in
    # memory: it loads the delta against the base cache entries and clashes with the pair cache.
    edited = cache.parent / f"edited-{path.name}"
    shutil.copy(path, edited)
    before = load_model(edited, cache_dir=cache)
    app_sessions = {mode: ClashSession(before, list(before.meshes), mode=mode, **opts) for mode, opts in MODES}
    pair_caches = {}
    for mode, opts in MODES:
        pair_caches[mode] = cache.parent / f"pairs-{mode}-{path.stem}"
        detect_clashes(before, list(before.meshes), mode=mode, cache_dir=pair_caches[mode], **opts)
    moved_in_file(path, victim, 0.3, edited)
    from_file, w_l, c_l = timed_all(lambda: load_model(edited, cache_dir=cache))
    ifc_load._BASES.clear()                                   # a new process: the base comes from the cache
    from_disk, w_d, c_d = timed_all(lambda: load_model(edited, cache_dir=cache))
    scratch, w_0, c_0 = timed_all(lambda: load_model(edited, use_cache=False))
    assert set(from_file.meshes) == set(scratch.meshes)
    assert all(np.array_equal(m.vertices, scratch.meshes[g].vertices) for g, m in from_file.meshes.items())
    assert all(np.array_equal(m.vertices, scratch.meshes[g].vertices) for g, m in from_disk.meshes.items())
    ids_new = list(scratch.meshes)
    def row(mode: str, change: str, clashes: int, full: tuple[float, float], ours: tuple[float, float], judged: int,
            same: bool) -> None:
        rows.append(f"| {label} | {mode} | {change} | {clashes} | {full[0]:.2f} ({full[1]:.2f}) | | "
                    f"{ours[0]:.2f} ({ours[1]:.2f}) | {judged} | **{full[0] / ours[0]:.1f}x** "
                    f"({full[1] / ours[1]:.1f}x) | {'yes' if same else '**NO**'} |")
        print(rows[-1], flush=True)

    for mode, opts in MODES:
        session = app_sessions[mode]
        again, w_r, c_r = timed(lambda: session.rerun(from_file, ids_new))
        full, w_f, c_f = timed(lambda: detect_clashes(scratch, ids_new, mode=mode, use_cache=False, **opts))
        scratch_total = (w_0 + w_f, c_0 + c_f)
        row(mode, f"IFC file edited, the app: load {w_l:.2f} ({c_l:.2f}) (from scratch {w_0:.2f} ({c_0:.2f})) "
            "+ session re-run", len(full.clashes), scratch_total, (w_l + w_r, c_l + c_r), again.stats["computed"],
            again.clashes == full.clashes)
        cli, w_c, c_c = timed(lambda: detect_clashes(from_disk, ids_new, mode=mode, cache_dir=pair_caches[mode], **opts))
        row(mode, f"IFC file edited, a new process: load {w_d:.2f} ({c_d:.2f}) + detect_clashes with its pair cache",
            len(full.clashes), scratch_total, (w_d + w_c, c_d + c_c), cli.stats["computed"], cli.clashes == full.clashes)


def timed_all(fn):
    """Like :func:`timed`, with the CPU seconds of finished child processes (tessellation workers)."""
    t0, w0 = os.times(), time.perf_counter()
    out = fn()
    t1 = os.times()
    cpu = sum(t1[:4]) - sum(t0[:4])
    return out, time.perf_counter() - w0, cpu


def count_elements(path: Path) -> int:
    return len(load_model(path, geometry=False, use_cache=False).elements)


def rerun_main(args, rerun_rows: list[str]) -> None:
    """``--rerun-only``: the re-run rows for Office_A and the generated building."""
    from twin.ifc.generate import generate_for_elements

    with tempfile.TemporaryDirectory() as tmp:
        todo = [(args.office, "Office_A")] if args.office.exists() else []
        if not args.quick:
            path = args.demo or Path(tmp) / "demo20k.ifc"
            if args.demo is None:
                generate_for_elements(path, args.elements)
            todo.append((path, "demo building"))
        print("\n".join(rerun_rows), flush=True)
        for path, label in todo:
            cache = Path(tmp) / f"cache-{label.replace(' ', '-')}"
            model = load_model(path, cache_dir=cache)
            bench_rerun(path, f"{label} ({len(model.elements)} elements)", model, pick_victim(model), cache, rerun_rows)
    print()
    print("\n".join(rerun_rows))


RERUN_HEAD = ["| model | mode | change | clashes | full clash of the changed model, s (CPU) | session start, s (CPU) | "
              "re-run, s (CPU) | pairs judged | speed-up wall (CPU) | same records |",
              "|---|---|---|---|---|---|---|---|---|---|"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="skip the 20,000-element demo building")
    ap.add_argument("--elements", type=int, default=20_000)
    ap.add_argument("--office", type=Path, default=ROOT.parent / "shared" / "samples" / "ifc" / "Office_A_20110811.ifc")
    ap.add_argument("--demo", type=Path, help="a generated building to use instead of generating one")
    ap.add_argument("--rerun-only", action="store_true", help="only the re-run after one change (no ifcclash)")
    ap.add_argument("--repeat", type=int, default=REPEAT, help="runs of each full clash, the fastest kept (default 3)")
    args = ap.parse_args()
    globals()["REPEAT"] = args.repeat
    rerun_rows = list(RERUN_HEAD)
    if args.rerun_only:
        rerun_main(args, rerun_rows)
        return
    rows = ["| model | mode | elements | ifcclash pairs | twin pairs | both | ifcclash s (CPU) | twin cold s (CPU) | "
            "twin warm s (CPU) | warm speed-up wall (CPU) | detect_clashes again with the pair cache after moving one "
            "element, s | speed-up |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    first = warm_up()
    print(first, flush=True)
    print("\n".join(rows), flush=True)
    if args.office.exists():
        bench(args.office, "Office_A", rows, rerun_rows)
    else:
        print(f"({args.office} absent: Office_A skipped)")
    if not args.quick:
        from twin.ifc.generate import generate_for_elements

        with tempfile.TemporaryDirectory() as tmp:
            path = args.demo or Path(tmp) / "demo20k.ifc"
            if args.demo is None:
                generate_for_elements(path, args.elements)
            bench(path, f"demo building ({count_elements(path)} elements)", rows, rerun_rows)
    print()
    print("\n".join(rows))
    print("\nRe-run after moving one element 0.3 m up:\n")
    print("\n".join(rerun_rows))
    print(f"\n{first}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; ifcopenshell geometry on all "
          f"cores in both tools; twin's narrow phase on all cores; fastest of {REPEAT} runs per cell")


if __name__ == "__main__":
    main()
