"""Benchmark: the app's 4D slider, measured in the browser, on a ~10,000-element model.

Starts ``streamlit run app.py`` on the demo building sized to the element count (planned storey by
storey, through a scenario file), drives Debian's chromium headless with Playwright, and times, for a
series of slider moves on the 4D page, the wall time from the click on the slider to the new picture
being loaded in the page. Side by side in the same run:

* **rendered frame** (the default view): the server recolours its offscreen ``twin.viz`` scene and
  sends a PNG;
* **interactive vtk.js** (the other view): the server sends new per-element colours (the browser
  holds the geometry), the component puts them in its colour texture and redraws with WebGL
  (SwiftShader here: no GPU). Timed to the picture being drawn: after the component says it has
  rendered, the benchmark reads one pixel back from its WebGL context, which waits for the
  rasteriser. Also reported: the component's own marks (message received -> colours uploaded ->
  ``render()`` returned), the draw itself, and the CPU seconds chromium's processes used per move;
* the viewer component alone in chromium (no Streamlit), this viewer beside the previous one
  (``viewer.js`` of ``--reference-rev``, from git): the library's colours of the same dates posted
  to the component's page, timed to pixels ready, with chromium's CPU seconds;
* the server side of a slider move in the vtk.js view, in-process (Streamlit's AppTest running the
  4D page: the page script, state colours and the component's message), CPU and wall seconds;
* the server side of a rendered frame measured in-process (``FourDView.render`` + PNG encoding),
  on the same model and dates, for reference.

Targets (issue 7): slider -> updated 3D view under 1 s; per-frame render under 0.3 s.

    .venv/bin/python benchmarks/bench_app.py [--elements 10000] [--moves 8] [--folder DIR] [--views both|vtkjs|frame]
        [--reference-rev REV]
"""
from __future__ import annotations

import argparse
import http.server
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


def _tree_cpu(root: int, *, name: str = "", with_root: bool = False) -> float:
    """CPU seconds (user + system) used so far by the processes under ``root`` (and root itself when
    ``with_root``) whose command name contains ``name``, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                head, tail = f.read().rsplit(")", 1)
        except OSError:
            continue
        fields = tail.split()
        parent[int(d)] = int(fields[1])
        if name in head.split("(", 1)[1]:
            cpu[int(d)] = (int(fields[11]) + int(fields[12])) / tick
    total = 0.0
    for pid, c in cpu.items():
        p = pid if with_root else parent.get(pid)
        while p and p != root:
            p = parent.get(p)
        if p == root:
            total += c
    return total


def _chromium_cpu() -> float:
    return _tree_cpu(os.getpid(), name="chrom")


# In the component's frame: wait for the rasteriser (reading one pixel back does), then report the
# component's marks of its last render (performance.now() ms).
SYNC = """() => { const c = document.querySelector('canvas'); const gl = c.getContext('webgl2');
  const px = new Uint8Array(4); gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
  const t = (window.twinViewer && window.twinViewer.times.last) || {};
  return Object.assign({ drawn: performance.now(), origin: performance.timeOrigin }, t); }"""


def browser_times(url: str, fractions: list[float], views: str, server_pid: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {"frame": [], "vtkjs": [], "first": [], "vtk_first": [], "arrive": [], "js": [], "draw": [],
                                   "cpu": [], "server_cpu": []}
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(900_000)
        t = time.perf_counter()
        page.goto(url + "/4d")
        page.wait_for_function(f"() => {{ const i = document.querySelector('{IMG}'); return i && i.complete && i.naturalWidth > 0; }}")
        out["first"].append(time.perf_counter() - t)
        wait_idle(page)
        if views in ("both", "frame"):
            for f in fractions:
                src = page.locator(IMG).first.get_attribute("src")
                t = time.perf_counter()
                click_slider(page, f)
                page.wait_for_function(f"(s) => {{ const i = document.querySelector('{IMG}');"
                                       " return i && i.src !== s && i.complete && i.naturalWidth > 0; }", arg=src)
                out["frame"].append(time.perf_counter() - t)
                wait_idle(page)
        if views in ("both", "vtkjs"):
            t = time.perf_counter()
            page.get_by_text("Interactive 3D (vtk.js)").click()
            frame = page.frame_locator('iframe[title*="twin_viewer"]')
            frame.locator("body[data-rendered]").wait_for()
            out["vtk_first"].append(time.perf_counter() - t)
            wait_idle(page)
            body = frame.locator("body")
            for f in fractions:
                n = int(body.get_attribute("data-rendered") or 0)
                cpu, server = _chromium_cpu(), _tree_cpu(server_pid, with_root=True)
                t, epoch = time.perf_counter(), time.time()
                click_slider(page, f)
                body.locator(f"xpath=self::*[number(@data-rendered) > {n}]").wait_for()
                marks = body.evaluate(SYNC)
                out["vtkjs"].append(time.perf_counter() - t)
                out["arrive"].append((marks["origin"] + marks["received"]) / 1000 - epoch)
                out["js"].append((marks["rendered"] - marks["received"]) / 1000)
                out["draw"].append((marks["drawn"] - marks["rendered"]) / 1000)
                wait_idle(page)
                out["cpu"].append(_chromium_cpu() - cpu)
                out["server_cpu"].append(_tree_cpu(server_pid, with_root=True) - server)
        b.close()
    return out


def server_vtkjs(scen: Path, fractions: list[float]) -> tuple[list[float], list[float]]:
    """Server side of a slider move in the vtk.js view: AppTest reruns of the 4D page (wall, CPU s)."""
    from datetime import timedelta

    from streamlit.testing.v1 import AppTest

    from twin_app.project import project_from_scenario

    at = AppTest.from_string("from twin_app.pages import fourd\nfourd.render()\n", default_timeout=900)
    at.session_state["twin_project"] = project_from_scenario(scen)
    at.run()
    at.radio(key="fourd_mode").set_value("Interactive 3D (vtk.js)").run()
    # the browser would answer with the geometry it now holds: the page then sends colours only
    at.session_state["_twin_viewer_fourd_viewer"] = {"loaded": at.session_state["twin_project"].key,
                                                     "picked": None, "clicks": 0}
    at.run()
    slider = at.slider(key="fourd_at")
    lo, hi = (datetime(1970, 1, 1) + timedelta(microseconds=v) for v in (slider.min, slider.max))
    wall, cpu = [], []
    for f in fractions:
        day = datetime.combine((lo + (hi - lo) * f).date(), datetime.min.time())
        t, c = time.perf_counter(), time.process_time()
        at.slider(key="fourd_at").set_value(day).run()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        if at.exception:
            raise RuntimeError(at.exception[0].value)
    return wall, cpu


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


REFERENCE_REV = "fd1066c"      # the last commit with the previous viewer (colours per vertex, cells split per date)


def component_times(scen: Path, fractions: list[float], reference_rev: str) -> dict[str, dict[str, list[float]]]:
    """The viewer component alone in chromium (no Streamlit), this viewer and the one of
    ``reference_rev`` side by side: the same geometry and the library's colours of each date are
    posted to its page; per slider move, the wall time to pixels ready (a one-pixel read-back waits
    for the rasteriser) and the CPU seconds of chromium's processes; also the first draw."""
    import base64
    import functools
    import shutil
    import threading

    from playwright.sync_api import sync_playwright

    from twin.cpm import compute_cpm
    from twin.fourd import build_timeline, task_windows
    from twin.scenario import load_scenario, resolve
    from twin.viz.appearance import appearance_arrays, material_colours
    from twin_app.viewer import FRONTEND, element_colours, viewer_geometry

    r = resolve(load_scenario(scen), geometry=True)
    cpm = compute_cpm(r.schedule)
    windows = task_windows(r.schedule, cpm.dates)
    geometry = viewer_geometry(r.model.meshes, key="bench")
    timeline = build_timeline(windows, r.links.pairs, geometry.ids)
    material = material_colours(geometry.ids, r.model.elements)
    colours = []
    for f in fractions:
        rgb, opacity = appearance_arrays(timeline.state_at(cpm.start + (cpm.finish - cpm.start) * f), material)
        colours.append(base64.b64encode(element_colours(rgb, opacity).tobytes()).decode())
    folders = {"this viewer": FRONTEND}
    ref = Path(tempfile.mkdtemp(prefix="twin-viewer-ref-"))
    try:
        old = subprocess.run(["git", "show", f"{reference_rev}:twin_app/viewer/frontend/viewer.js"], cwd=ROOT,
                             capture_output=True, check=True).stdout
        for name in ("index.html", "vtk.js"):
            shutil.copy(FRONTEND / name, ref / name)
        (ref / "viewer.js").write_bytes(old)
        folders[f"viewer of {reference_rev}"] = ref
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"reference viewer {reference_rev} not available from git ({exc}): measuring this viewer only")
    b64 = {k: base64.b64encode(getattr(geometry, k).tobytes()).decode() for k in ("points", "triangles", "vertex_element")}
    send = """async (a) => {
      const u8 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
      const args = { geometry_key: 'bench', height: 560, status: '', background: '#ffffff', camera_key: '', focus: null,
                     colours: u8(a.colours) };
      if (a.geometry) Object.assign(args, window.benchGeometry);
      const t0 = performance.now();
      window.dispatchEvent(new MessageEvent('message', { data: { type: 'streamlit:render', args: args } }));
      const gl = document.querySelector('canvas').getContext('webgl2');
      gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
      if (document.body.getAttribute('data-error')) throw new Error(document.body.getAttribute('data-error'));
      return (performance.now() - t0) / 1000; }"""
    out: dict[str, dict[str, list[float]]] = {}
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            for label, folder in folders.items():
                handler = functools.partial(_QuietHandler, directory=str(folder))
                server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
                threading.Thread(target=server.serve_forever, daemon=True).start()
                page = b.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(900_000)
                page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
                res: dict[str, list[float]] = {"first": [], "wall": [], "cpu": []}
                page.evaluate("""(g) => { const u8 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
                    window.benchGeometry = { ids: g.ids, points: u8(g.points), triangles: u8(g.triangles),
                                             vertex_element: u8(g.vertex_element) }; }""", {"ids": list(geometry.ids), **b64})
                cpu = _chromium_cpu()
                res["first"].append(page.evaluate(send, {"colours": colours[0], "geometry": True}))
                res["first_cpu"] = [_chromium_cpu() - cpu]
                for c in colours:
                    cpu = _chromium_cpu()
                    res["wall"].append(page.evaluate(send, {"colours": c, "geometry": None}))
                    res["cpu"].append(_chromium_cpu() - cpu)
                out[label] = res
                page.close()
                server.shutdown()
            b.close()
    finally:
        shutil.rmtree(ref, ignore_errors=True)
    return out


def stats(xs: list[float]) -> str:
    return f"median {statistics.median(xs):.3f} s, max {max(xs):.3f} s (n={len(xs)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elements", type=int, default=10_000)
    ap.add_argument("--moves", type=int, default=8)
    ap.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "twin-bench-app")
    ap.add_argument("--views", choices=["both", "vtkjs", "frame"], default="both")
    ap.add_argument("--reference-rev", default=REFERENCE_REV,
                    help="git revision whose viewer.js is measured beside this one, component alone (default: %(default)s)")
    a = ap.parse_args()
    scen, info = prepare(a.elements, a.folder)
    print(f"model: {info['elements']} elements, {info['meshes']} meshes, {info['triangles']} triangles")
    fractions = [0.15 + 0.7 * k / max(a.moves - 1, 1) for k in range(a.moves)]
    fractions = fractions[::2] + fractions[1::2]          # jump back and forth over the programme
    server = in_process(scen, fractions) if a.views != "vtkjs" else []
    work = Path(tempfile.mkdtemp(prefix="twin-bench-app-"))
    os.environ["TWIN_APP_DIR"] = str(work)
    vt_wall, vt_cpu = server_vtkjs(scen, fractions) if a.views != "frame" else ([], [])
    alone = component_times(scen, fractions, a.reference_rev) if a.views != "frame" else {}
    proc, url = start_app(scen, work)
    try:
        times = browser_times(url, fractions, a.views, proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores shared: wall times "
          "are inflated when it is above 2)")
    print(f"first 4D page (model, CPM, scene build, first frame): {times['first'][0]:.1f} s")
    if times["frame"]:
        print(f"slider -> new picture in the browser, rendered frame 1280x720: {stats(times['frame'])}")
    if times["vtkjs"]:
        print(f"switch to the vtk.js view (geometry sent and drawn): {times['vtk_first'][0]:.1f} s")
        print(f"slider -> new picture drawn in the browser, interactive vtk.js: {stats(times['vtkjs'])}   [target < 1 s]")
        print(f"  of which click -> colours arrive in the component (Streamlit rerun, websocket, page update): "
              f"{stats(times['arrive'])}")
        print(f"  of which in the component: message -> render() returned: {stats(times['js'])}")
        print(f"  of which the draw (render() returned -> pixels ready): {stats(times['draw'])}   [target < 0.3 s]")
        print(f"  CPU per slider move: chromium (all its processes) {stats(times['cpu'])}; "
              f"streamlit server {stats(times['server_cpu'])}")
    if vt_wall:
        print(f"server side of a vtk.js slider move, in-process (AppTest rerun of the 4D page): wall {stats(vt_wall)}; "
              f"CPU {stats(vt_cpu)}")
    for label, res in alone.items():
        print(f"component alone ({label}), a date posted -> pixels ready: {stats(res['wall'])}; chromium CPU "
              f"{stats(res['cpu'])}; first draw with the geometry {res['first'][0]:.2f} s ({res['first_cpu'][0]:.2f} s CPU)")
    if server:
        print(f"server side of a rendered frame (FourDView.render + PNG), in-process: {stats(server)}")


if __name__ == "__main__":
    main()
