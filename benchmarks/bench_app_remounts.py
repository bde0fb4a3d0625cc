"""How often a Streamlit rerun remounts the vtk.js viewer iframe, for the page patterns the app used.

Not a speed benchmark: the intermittent browser-test failures of issue 7 came from reruns that made
the browser drop the viewer and create a new iframe (vtk.js and the geometry loaded again). This runs
a tiny app with the real viewer component under ``streamlit run``, drives it with Debian's chromium,
clicks a rerun button N times and counts the viewer iframes created (a MutationObserver in the page),
for three ways of placing the viewer:

- ``empty+container, 0.3 s``: ``slot = st.empty()``, a pause, then ``with slot.container(): viewer``
  (the 4D page's old pattern, with the pause making the server flush the empty on its own);
- ``empty+container``: the same without the pause (timing decides);
- ``container``: ``with st.container(): viewer`` (the 4D page now).

Usage: ``.venv/bin/python benchmarks/bench_app_remounts.py [--reruns 5]``. Expected: 1 iframe for
``container`` whatever N; more for the empty patterns.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

APP = '''
import os, sys, time
sys.path.insert(0, {root!r})
import numpy as np
import streamlit as st
from twin.model import Mesh
from twin_app.viewer import viewer, viewer_geometry

v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float)
f = np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]])
geometry = viewer_geometry({{"A": Mesh(v, f), "B": Mesh(v + 2, f)}}, key="toy")
colours = np.array([[200, 50, 50, 255], [50, 50, 200, 255]], np.uint8)
st.title("toy")
if os.environ["TOY_MODE"] == "empty":
    slot = st.empty()
    time.sleep(float(os.environ["TOY_PAUSE"]))
    with slot.container():
        viewer(geometry, colours, key="toy_viewer")
else:
    with st.container():
        viewer(geometry, colours, key="toy_viewer")
st.button("rerun", key="again")
'''

COUNT = """(() => { if (window.top !== window) return; window.__mounts = 0;
new MutationObserver((rs) => { for (const r of rs) for (const n of r.addedNodes) { if (n.nodeType !== 1) continue;
  window.__mounts += n.matches('iframe[title*="twin_viewer"]') ? 1 : n.querySelectorAll('iframe[title*="twin_viewer"]').length; } })
.observe(document, {childList: true, subtree: true}); })();"""
IDLE = "() => !document.querySelector('[data-testid=\"stStatusWidgetRunningIcon\"]')"


def count_mounts(app: Path, mode: str, pause: float, reruns: int) -> int:
    """Viewer iframes created by opening the toy app and pressing its rerun button ``reruns`` times."""
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
                             "--server.port", str(port), "--browser.gatherUsageStats", "false"], cwd=app.parent,
                            env=dict(os.environ, TOY_MODE=mode, TOY_PAUSE=str(pause)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=5) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page()
            page.set_default_timeout(300_000)
            page.add_init_script(COUNT)
            page.goto(url)
            page.get_by_role("heading", name="toy").wait_for()
            page.wait_for_timeout(3000)
            page.wait_for_function(IDLE)
            for _ in range(reruns):
                page.get_by_role("button", name="rerun").click()
                page.wait_for_timeout(1500)
                page.wait_for_function(IDLE)
            mounts = page.evaluate("window.__mounts")
            browser.close()
        return int(mounts)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reruns", type=int, default=5)
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is absent (Debian's chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "toy_app.py"
        app.write_text(APP.format(root=str(ROOT)), encoding="utf-8")
        print(f"viewer iframes created over {args.reruns} reruns (1 = never remounted); "
              f"load {os.getloadavg()[0]:.1f}")
        for label, mode, pause in (("empty+container, 0.3 s", "empty", 0.3), ("empty+container", "empty", 0.0),
                                   ("container (the app now)", "container", 0.0)):
            print(f"  {label:26s} {count_mounts(app, mode, pause, args.reruns)}", flush=True)


if __name__ == "__main__":
    main()
