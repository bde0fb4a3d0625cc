"""The vtk.js viewer component alone in headless chromium (no Streamlit): what it draws and picks.

The component's page is served from ``twin_app/viewer/frontend`` and fed the messages Streamlit
would send (geometry bytes, per-element RGBA colours). Four boxes side by side, seen from the
viewer's south-east camera: a solid one, a ghost, a hidden one and a solid one. Checked on the
pixels (screenshot of the canvas) and with the component's own picking: solid elements show their
colour, ghosts are faint, hidden ones leave the background; recolouring changes the picture without
rebuilding the geometry; drawing only the height bands that hold elements of a kind gives the same
picture as drawing every band; a click reports the element under the cursor, never a hidden one.
Skipped only when /usr/bin/chromium or Playwright is absent.
"""
from __future__ import annotations

import base64
import functools
import http.server
import io
import threading
from pathlib import Path

import numpy as np
import pytest

from twin.model import Mesh
from twin_app.viewer import FRONTEND, viewer_geometry

pytestmark = [pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
HEIGHT = 400
RED, BLUE, GREEN, YELLOW = (230, 30, 30), (30, 30, 230), (30, 200, 30), (230, 200, 20)


def _box(x: float, y: float, z: float = 0.0, size: float = 1.0) -> Mesh:
    v = np.array([[x + i, y + j, z + k] for k in (0, size) for j in (0, size) for i in (0, size)], dtype=float)
    f = np.array([[0, 2, 1], [1, 2, 3], [4, 5, 6], [5, 7, 6], [0, 1, 4], [1, 5, 4],
                  [2, 6, 3], [3, 6, 7], [0, 4, 2], [2, 4, 6], [1, 3, 5], [3, 7, 5]])
    return Mesh(v, f)


# side by side along (1, 1): the camera looks from (+1, -1, +0.8), so no box hides another
CENTRES = [(2.0 * i + 0.5, 2.0 * i + 0.5, 0.5) for i in range(4)]
GEOMETRY = viewer_geometry({f"box{i}": _box(2.0 * i, 2.0 * i) for i in range(4)}, key="boxes")


def _colours(*rgba: tuple[int, int, int, int]) -> bytes:
    return np.array(rgba, dtype=np.uint8).tobytes()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def page():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (Debian's chromium; 'make system-deps' installs it)")
    pytest.importorskip("playwright")
    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(FRONTEND)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
            pg = browser.new_page(viewport={"width": 800, "height": 600})
            pg.set_default_timeout(300_000)
            pg.add_init_script("window.twinViewerOptions = { bandTriangles: 12 };   // one band per box\n"
                               "window.twinValues = []; window.addEventListener('message', (e) => {"
                               " if (e.data && e.data.type === 'streamlit:setComponentValue') window.twinValues.push(e.data.value); });")
            pg.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            pg.wait_for_function("() => window.twinViewer !== undefined")
            yield pg
            browser.close()
    finally:
        server.shutdown()


def send(page, colours: bytes, geometry: bool = False, key: str = "boxes", model=GEOMETRY) -> dict:
    """Post one streamlit:render message; returns the component's marks of that render."""
    args = {"colours": _b64(colours), "key": key}
    if geometry:
        args.update(ids=list(model.ids), points=_b64(model.points.tobytes()),
                    triangles=_b64(model.triangles.tobytes()), vertex_element=_b64(model.vertex_element.tobytes()))
    return page.evaluate("""(a) => {
      const u8 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
      const args = { geometry_key: a.key, height: %d, status: '', background: '#ffffff', camera_key: '', focus: null,
                     colours: u8(a.colours) };
      if (a.points) Object.assign(args, { ids: a.ids, points: u8(a.points), triangles: u8(a.triangles),
                                          vertex_element: u8(a.vertex_element) });
      window.dispatchEvent(new MessageEvent('message', { data: { type: 'streamlit:render', args: args } }));
      if (document.body.getAttribute('data-error')) throw new Error(document.body.getAttribute('data-error'));
      return window.twinViewer.times.last;
    }""" % HEIGHT, args)


def shot(page) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(page.locator("canvas").first.screenshot())).convert("RGB")).astype(int)


def display(page, xyz) -> tuple[float, float]:
    """Display coordinates (pixels, origin bottom left) of a world point."""
    x, y, _ = page.evaluate("(p) => { const S = window.twinViewer.state; return S.api.worldToDisplay(p[0], p[1], p[2], S.renderer); }",
                            list(xyz))
    return x, y


def colour_at(page, img: np.ndarray, xyz) -> np.ndarray:
    x, y = display(page, xyz)
    r, c = int(round(img.shape[0] - y)), int(round(x))
    return img[r - 2:r + 3, c - 2:c + 3].reshape(-1, 3).mean(axis=0)


def pick(page, xyz) -> int:
    x, y = display(page, xyz)
    return page.evaluate("(p) => window.twinViewer.pick(p[0], p[1])", [x, y])


def test_solid_ghost_and_hidden_elements_are_drawn_as_their_colours_say(page):
    send(page, _colours((*RED, 255), (*BLUE, 40), (*GREEN, 0), (*YELLOW, 255)), geometry=True)
    img = shot(page)
    assert img.shape[0] == HEIGHT
    red, ghost, hidden, yellow = (colour_at(page, img, c) for c in CENTRES)
    assert red[0] > 120 and red[0] > red[1] + 60 and red[0] > red[2] + 60, red
    assert yellow[0] > 120 and yellow[1] > 100 and yellow[2] < yellow[1] - 60, yellow
    assert ghost.min() > 150 and ghost[2] > ghost[0] + 10, ghost          # faint blue over white
    assert hidden.min() > 245, hidden                                      # the background
    assert [pick(page, c) for c in CENTRES] == [0, 1, -1, 3]


def test_recolouring_changes_the_picture_without_rebuilding_the_geometry(page):
    send(page, _colours((*RED, 255), (*BLUE, 40), (*GREEN, 0), (*YELLOW, 255)), geometry=True)
    mtimes = page.evaluate("() => window.twinViewer.state.parts.map((p) => p[0].mapper.getInputData().getMTime())")
    marks = send(page, _colours((*RED, 0), (*BLUE, 40), (*GREEN, 255), (*YELLOW, 255)))
    assert "geometry" not in marks and marks["rendered"] >= marks["colours"] >= marks["received"]
    assert page.evaluate("() => window.twinViewer.state.parts.map((p) => p[0].mapper.getInputData().getMTime())") == mtimes
    img = shot(page)
    hidden, _, green, _ = (colour_at(page, img, c) for c in CENTRES)
    assert hidden.min() > 245, hidden
    assert green[1] > 100 and green[1] > green[0] + 60 and green[1] > green[2] + 60, green
    assert [pick(page, c) for c in CENTRES] == [-1, 1, 2, 3]


def test_drawing_only_the_bands_in_use_gives_the_same_picture(page):
    send(page, _colours((*RED, 255), (*BLUE, 40), (*GREEN, 0), (*YELLOW, 255)), geometry=True)
    assert page.evaluate("() => window.twinViewer.state.parts.length") == 4
    send(page, _colours((*RED, 255), (*BLUE, 40), (*GREEN, 200), (*YELLOW, 255)))     # green: lit see-through
    assert page.evaluate("() => window.twinViewer.state.parts[2].map((a) => a.actor.getVisibility())") == [False, True, False]
    see_through = colour_at(page, shot(page), CENTRES[2])
    assert see_through[1] > see_through[0] + 40 and see_through[1] > see_through[2] + 40, see_through
    send(page, _colours((*RED, 255), (*BLUE, 40), (*GREEN, 0), (*YELLOW, 255)))
    banded = shot(page)
    visible = page.evaluate("() => window.twinViewer.state.parts.map((p) => p.map((a) => a.actor.getVisibility()))")
    # per band: the opaque, lit see-through and unlit ghost actors
    assert visible == [[True, False, False], [False, False, True], [False, False, False], [True, False, False]]
    page.evaluate("() => { const S = window.twinViewer.state; window.twinViewer.setColours(S.rgba, true); S.renderWindow.render(); }")
    assert np.array_equal(shot(page), banded)


def test_a_click_reports_the_element_under_the_cursor(page):
    send(page, _colours((*RED, 255), (*BLUE, 40), (*GREEN, 0), (*YELLOW, 255)), geometry=True, key="boxes-click")
    box = page.locator("canvas").first.bounding_box()
    for i in (3, 2):
        x, y = display(page, CENTRES[i])
        page.evaluate("() => { window.twinValues = []; }")
        page.mouse.click(box["x"] + x, box["y"] + box["height"] - y)
        page.wait_for_function("() => window.twinValues.length > 0")
        value = page.evaluate("() => window.twinValues[window.twinValues.length - 1]")
        assert value["loaded"] == "boxes-click"
        assert value["picked"] == ("box3" if i == 3 else None)          # box2 is hidden: nothing there


def test_an_empty_model_draws_the_background_without_an_error(page):
    page.evaluate("""() => {
      const e = new Uint8Array(0);
      const args = { geometry_key: 'empty', height: %d, status: '', background: '#ffffff', camera_key: '', focus: null,
                     colours: e, ids: [], points: e, triangles: e, vertex_element: e };
      window.dispatchEvent(new MessageEvent('message', { data: { type: 'streamlit:render', args: args } }));
    }""" % HEIGHT)
    assert page.evaluate("() => document.body.getAttribute('data-error')") is None
    assert shot(page).min() > 245
    assert page.evaluate("() => window.twinViewer.pick(10, 10)") == -1


def test_a_click_through_ghosts_selects_the_solid_element_behind_them(page):
    # a big ghost box between the camera (south-east, above) and a solid box
    ahead = 4.0 * np.array([1.0, -1.0, 0.8]) / np.linalg.norm([1.0, -1.0, 0.8]) + 0.5
    model = viewer_geometry({"solid": _box(0.0, 0.0), "ghost": _box(*(ahead - 1.5), size=3.0)}, key="through")
    send(page, _colours((*RED, 255), (*BLUE, 40)), geometry=True, key="through", model=model)
    centre = (0.5, 0.5, 0.5)
    assert pick(page, centre) == 0                           # the solid one, not the ghost in front
    send(page, _colours((*RED, 0), (*BLUE, 40)), key="through", model=model)
    assert pick(page, centre) == 1                           # the ray did pass through the ghost
