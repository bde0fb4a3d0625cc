"""Benchmark: 4D slider latency and per-frame render time on a ~10,000-element model.

Ours (``twin.viz``: one merged geometry, per-date index/colour array swap) beside the reference
approach most 4D viewers start from (one actor per element; each date sets every actor's
visibility, colour and opacity), in the same process, same model, same dates, same window.

Targets (issue 7): slider move -> updated 3D view under 1 s; per-frame render under 0.3 s.

    .venv/bin/python benchmarks/bench_render.py [--elements 10000] [--frames 20] [--naive-frames 3]

The model is the demo building sized to the element count (``twin.ifc.generate``), planned
storey by storey (``twin.scenario`` [plan]); the first run tessellates it (about a minute, then cached).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _prepare(n: int, folder: Path):
    from twin.cpm import compute_cpm
    from twin.fourd import task_windows
    from twin.ifc.generate import generate_for_elements
    from twin.scenario import load_scenario, resolve, starter_scenario

    ifc = folder / f"demo_{n}.ifc"
    if not ifc.exists():
        generate_for_elements(ifc, n)
    scen = folder / f"demo_{n}.toml"
    scen.write_text(starter_scenario(scen, [ifc], start=datetime(2025, 3, 3, 8)))
    t = time.perf_counter()
    res = resolve(load_scenario(scen), geometry=True)
    load_s = time.perf_counter() - t
    cpm = compute_cpm(res.schedule)
    return res.model, task_windows(res.schedule, cpm.dates), res.links.pairs, load_s


def _ours(model, windows, links, dates, size):
    from twin.viz.frames import FourDView
    from twin.viz.scene import Scene4D

    t = time.perf_counter()
    scene = Scene4D(model.meshes, model.elements, window_size=size)
    view = FourDView(scene, windows, links, title="bench")
    build = time.perf_counter() - t
    scene.render()                                   # first render compiles shaders; not a slider move
    slider, update, render, cpu = [], [], [], []
    for at in dates:
        c0 = time.process_time()
        t0 = time.perf_counter()
        view.show(at)
        t1 = time.perf_counter()
        scene.render()
        t2 = time.perf_counter()
        cpu.append(time.process_time() - c0)
        update.append(t1 - t0)
        render.append(t2 - t1)
        slider.append(t2 - t0)
    # render only (no change): what a redraw costs on its own
    redraw = []
    for _ in range(5):
        t0 = time.perf_counter()
        scene.render()
        redraw.append(time.perf_counter() - t0)
    info = {"elements": len(scene.element_ids), "triangles": scene.n_cells}
    scene.close()
    return build, slider, update, render, redraw, cpu, info


def _naive(model, windows, links, dates, size):
    """One actor per element; per date, set each actor's visibility, colour and opacity."""
    import pyvista as pv

    from twin.fourd import build_timeline
    from twin.viz.appearance import DEFAULT_PROFILE, appearance_arrays, material_colours

    ids = [g for g, m in model.meshes.items() if m.n_triangles]
    t = time.perf_counter()
    pl = pv.Plotter(off_screen=True, window_size=list(size), lighting="light kit")
    actors = []
    for g in ids:
        m = model.meshes[g]
        actors.append(pl.add_mesh(pv.PolyData.from_regular_faces(m.vertices, m.faces), color="grey",
                                  reset_camera=False))
    pl.view_isometric()
    pl.reset_camera()
    build = time.perf_counter() - t
    timeline = build_timeline(windows, links, ids)
    material = material_colours(ids, model.elements)
    pl.render()
    slider, render, cpu = [], [], []
    for at in dates:
        c0 = time.process_time()
        t0 = time.perf_counter()
        rgb, opacity = appearance_arrays(timeline.state_at(at), material, DEFAULT_PROFILE)
        for actor, c, o in zip(actors, rgb, opacity):
            actor.SetVisibility(bool(o > 0))
            prop = actor.GetProperty()
            prop.SetColor(*c)
            prop.SetOpacity(float(o))
        t1 = time.perf_counter()
        pl.render()
        pl.screenshot(return_img=True)
        t2 = time.perf_counter()
        cpu.append(time.process_time() - c0)
        render.append(t2 - t1)
        slider.append(t2 - t0)
    pl.close()
    return build, slider, render, cpu


def _fmt(values):
    return f"median {statistics.median(values):.3f} s, max {max(values):.3f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--elements", type=int, default=10000)
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--naive-frames", type=int, default=3, help="0 skips the reference")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--folder", default=os.path.join(tempfile.gettempdir(), "twin-bench-render"))
    args = ap.parse_args()
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)

    from twin.viz.backend import select_backend

    backend = select_backend().name
    model, windows, links, load_s = _prepare(args.elements, folder)
    starts = [w.start for w in windows.values()]
    finishes = [w.finish for w in windows.values()]
    lo, hi = min(starts), max(finishes)
    dates = [lo + (hi - lo) * f for f in np.linspace(0.02, 0.98, args.frames)]
    size = (args.width, args.height)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at start (other processes share the CPUs)")
    print(f"model: {len(model.meshes)} meshes, {len(links)} links, {len(windows)} activities; "
          f"loaded in {load_s:.1f} s; backend {backend}; window {size[0]}x{size[1]}")

    build, slider, update, render, redraw, cpu, info = _ours(model, windows, links, dates, size)
    print(f"\nours (twin.viz, merged geometry; {info['elements']} elements, {info['triangles']} triangles)")
    print(f"  scene build (once per model)      {build:.2f} s")
    print(f"  slider -> updated view ({len(dates)} dates) {_fmt(slider)}   target < 1 s")
    print(f"    of which state + colour update  {_fmt(update)}")
    print(f"    of which render + read-back     {_fmt(render)}   target < 0.3 s")
    print(f"  redraw without change             {_fmt(redraw)}")
    print(f"  CPU time per slider move (all threads, incl. llvmpipe) {_fmt(cpu)}")

    if args.naive_frames > 0:
        nb, ns, nr, nc = _naive(model, windows, links, dates[:: max(1, len(dates) // args.naive_frames)]
                            [: args.naive_frames], size)
        print(f"\nreference (one actor per element, {args.naive_frames} dates)")
        print(f"  scene build                       {nb:.2f} s")
        print(f"  slider -> updated view            {_fmt(ns)}")
        print(f"    of which render + read-back     {_fmt(nr)}")
        print(f"  CPU time per slider move          {_fmt(nc)}")
        print(f"\nspeed-up, slider median: {statistics.median(ns) / statistics.median(slider):.1f}x; "
              f"build: {nb / build:.1f}x")


if __name__ == "__main__":
    main()
