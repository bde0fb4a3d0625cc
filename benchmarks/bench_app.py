"""Benchmark: the app's 4D slider, measured in the browser, on a ~10,000-element model.

Starts ``streamlit run app.py`` on the demo building sized to the element count (planned storey by
storey, through a scenario file), drives Debian's chromium headless with Playwright, and times, for a
series of slider moves on the 4D page, the wall time from the click on the slider to the new picture
being loaded in the page. Side by side in the same run:

* **rendered frame** (the default view): the server recolours its offscreen ``twin.viz`` scene and
  sends a PNG;
* **interactive vtk.js** (the other view): the server sends the merged geometry and new colours, the
  browser recolours and redraws with WebGL (SwiftShader here: no GPU);
* the server-side part of a rendered frame measured in-process (``FourDView.render`` + PNG encoding),
  on the same model and dates, for reference.

Targets (issue 7): slider -> updated 3D view under 1 s; per-frame render under 0.3 s.

    .venv/bin/python benchmarks/bench_app.py [--elements 10000] [--moves 8] [--folder DIR]
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
IMG = '[data-testid="stImage"] img'
TRACK = '[data-testid="stSlider"] div[data-orientation="horizontal"] > div[data-orientation="horizontal"]'


def prepare(n: int, folder: Path) -> tuple[Path, dict]:
    from twin.ifc import load_model
    from twin.ifc.generate import generate_for_elements
    from twin.scenario import starter_scenario

    folder.mkdir(parents=True, exist_ok=True)
    ifc = folder / f"demo_{n}.ifc"
    if not ifc.exists():
        generate_for_elements(ifc, n)
    model = load_model(str(ifc))                    # tessellate once: the app then reads the cache
    tris = sum(m.n_triangles for m in model.meshes.values())
    scen = folder / f"demo_{n}.toml"
    scen.write_text(starter_scenario(scen, [ifc], start=datetime(2025, 3, 3, 8)))
    return scen, {"elements": len(model.elements), "meshes": len(model.meshes), "triangles": tris}


def in_process(scen: Path, fractions: list[float]) -> list[float]:
    """Server side of one rendered frame: FourDView.render + PNG encoding, seconds per date."""
    from twin.cpm import compute_cpm
    from twin.fourd import task_windows
    from twin.scenario import load_scenario, resolve
    from twin.viz.frames import FourDView, png_bytes
    from twin.viz.scene import Scene4D

    r = resolve(load_scenario(scen), geometry=True)
    cpm = compute_cpm(r.schedule)
    windows = task_windows(r.schedule, cpm.dates)
    view = FourDView(Scene4D(r.model.meshes, r.model.elements, window_size=(1280, 720)), windows, r.links.pairs)
    view.scene.render()
    lo, hi = cpm.start, cpm.finish
    out = []
    for f in fractions:
        t = time.perf_counter()
        image, _ = view.render(lo + (hi - lo) * f)
        png_bytes(image)
        out.append(time.perf_counter() - t)
    view.scene.close()
    return out


def start_app(scen: Path, work: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, TWIN_APP_SCENARIO=str(scen), TWIN_APP_DIR=str(work))
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless",
                             "true", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, env=env, stdout=open(work / "streamlit.log", "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=5) as r:
                if r.read().strip() == b"ok":
                    return proc, url
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("streamlit did not start")


def wait_idle(page) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidgetRunningIcon\"]')")


def click_slider(page, fraction: float) -> None:
    box = page.locator(TRACK).first.bounding_box()
    page.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)


def browser_times(url: str, fractions: list[float]) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {"frame": [], "vtkjs": [], "first": []}
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(900_000)
        t = time.perf_counter()
        page.goto(url + "/4d")
        page.wait_for_function(f"() => {{ const i = document.querySelector('{IMG}'); return i && i.complete && i.naturalWidth > 0; }}")
        out["first"].append(time.perf_counter() - t)
        wait_idle(page)
        for f in fractions:
            src = page.locator(IMG).first.get_attribute("src")
            t = time.perf_counter()
            click_slider(page, f)
            page.wait_for_function(f"(s) => {{ const i = document.querySelector('{IMG}');"
                                   " return i && i.src !== s && i.complete && i.naturalWidth > 0; }", arg=src)
            out["frame"].append(time.perf_counter() - t)
            wait_idle(page)
        page.get_by_text("Interactive 3D (vtk.js)").click()
        frame = page.frame_locator('iframe[title*="twin_viewer"]')
        frame.locator("body[data-rendered]").wait_for()
        wait_idle(page)
        body = frame.locator("body")
        for f in fractions:
            n = int(body.get_attribute("data-rendered") or 0)
            t = time.perf_counter()
            click_slider(page, f)
            body.locator(f"xpath=self::*[number(@data-rendered) > {n}]").wait_for()
            out["vtkjs"].append(time.perf_counter() - t)
            wait_idle(page)
        b.close()
    return out


def stats(xs: list[float]) -> str:
    return f"median {statistics.median(xs):.3f} s, max {max(xs):.3f} s (n={len(xs)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elements", type=int, default=10_000)
    ap.add_argument("--moves", type=int, default=8)
    ap.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "twin-bench-app")
    a = ap.parse_args()
    scen, info = prepare(a.elements, a.folder)
    print(f"model: {info['elements']} elements, {info['meshes']} meshes, {info['triangles']} triangles")
    fractions = [0.15 + 0.7 * k / max(a.moves - 1, 1) for k in range(a.moves)]
    fractions = fractions[::2] + fractions[1::2]          # jump back and forth over the programme
    server = in_process(scen, fractions)
    work = Path(tempfile.mkdtemp(prefix="twin-bench-app-"))
    proc, url = start_app(scen, work)
    try:
        times = browser_times(url, fractions)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    print(f"first 4D page (model, CPM, scene build, first frame): {times['first'][0]:.1f} s")
    print(f"slider -> new picture in the browser, rendered frame 1280x720: {stats(times['frame'])}")
    print(f"slider -> new picture in the browser, interactive vtk.js:      {stats(times['vtkjs'])}")
    print(f"server side of a rendered frame (FourDView.render + PNG), in-process: {stats(server)}")


if __name__ == "__main__":
    main()
