"""The browser viewer's data (merged geometry, colours) and its vendored vtk.js (offline, licensed)."""
from __future__ import annotations

import re

import numpy as np
import pytest

from twin.model import Mesh
from twin_app.viewer import FRONTEND, category_colours, element_colours, viewer_geometry

_TRI = np.array([[0, 1, 2]])


def _mesh(z: float) -> Mesh:
    return Mesh(np.array([[0, 0, z], [1, 0, z], [0, 1, z]], dtype=float), _TRI)


def test_geometry_merges_meshes_and_keeps_each_vertex_owner():
    g = viewer_geometry({"a": _mesh(0.0), "empty": Mesh(np.zeros((0, 3)), np.zeros((0, 3), dtype=int)), "b": _mesh(2.0)})
    assert g.ids == ("a", "b")
    assert g.points.dtype == np.float32 and g.points.shape == (6, 3)
    # one open triangle per element: drawn from both sides (the browser culls back faces)
    assert g.triangles.tolist() == [[0, 1, 2], [3, 4, 5], [2, 1, 0], [5, 4, 3]]
    assert g.vertex_element.tolist() == [0, 0, 0, 1, 1, 1]
    assert g.element_bounds(["b"]) == [0.0, 1.0, 0.0, 1.0, 2.0, 2.0]
    assert g.element_bounds(["nope"]) is None


def _tetra(inward: bool) -> Mesh:
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
    f = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])      # outward winding
    return Mesh(v, f[:, ::-1] if inward else f)


def _outward_volume(points: np.ndarray, tris: np.ndarray) -> float:
    a, b, c = (points[tris[:, k]].astype(float) for k in range(3))
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def test_closed_meshes_are_wound_outwards_for_back_face_culling():
    g = viewer_geometry({"out": _tetra(False), "in": _tetra(True)})
    assert len(g.triangles) == 8                                  # closed: no triangle doubled
    for k in range(2):
        tris = g.triangles[g.vertex_element[g.triangles[:, 0]] == k]
        assert _outward_volume(g.points, tris) == pytest.approx(1 / 6)


def test_geometry_key_follows_content():
    assert viewer_geometry({"a": _mesh(0.0)}).key == viewer_geometry({"a": _mesh(0.0)}).key
    assert viewer_geometry({"a": _mesh(0.0)}).key != viewer_geometry({"a": _mesh(1.0)}).key


def test_colours_are_rgba_bytes_with_opacity():
    c = element_colours(np.array([[1.0, 0.5, 0.0], [0.0, 0.0, 2.0]]), np.array([1.0, 0.1]))
    assert c.dtype == np.uint8 and c.tolist() == [[255, 128, 0, 255], [0, 0, 255, 26]]


def test_category_colours_give_one_colour_per_label():
    rgb, legend = category_colours(["IfcWall", "IfcSlab", "IfcWall"])
    assert list(legend) == ["IfcWall", "IfcSlab"]
    assert np.allclose(rgb[0], rgb[2]) and not np.allclose(rgb[0], rgb[1])


def test_the_viewer_loads_nothing_from_the_network():
    html = (FRONTEND / "index.html").read_text()
    srcs = re.findall(r"<script[^>]*src=\"([^\"]+)\"", html)
    assert srcs == ["vtk.js", "viewer.js"]
    for name in ("index.html", "viewer.js"):
        assert not re.search(r"(src|href)=\"https?:", (FRONTEND / name).read_text())
    bundle = (FRONTEND / "vtk.js").read_text(encoding="utf-8", errors="replace")
    assert "window.vtk=" in bundle.replace(" ", "")
    assert not re.search(r"import\(\s*[\"']https?:", bundle)


def test_vtk_js_licence_is_in_notice():
    from tests.conftest import ROOT

    notice = (ROOT / "NOTICE").read_text()
    assert "vtk.js" in notice and "BSD-3-Clause" in notice


def _component_message(at) -> tuple[dict, dict[str, bytes]]:
    import json

    proto = at.get("component_instance")[0].proto
    return json.loads(proto.json_args), {a.key: a.bytes for a in proto.special_args}


def test_4d_vtkjs_view_sends_the_library_colours_of_the_date_and_geometry_only_once(page_test, demo):
    """The 4D page's vtk.js view: per-element RGBA of the date (the library's appearance profile),
    the counts of that date, and the geometry left out once the browser says it holds it."""
    from datetime import datetime, time, timedelta

    from tests.app.test_app_pages import metrics, no_problem
    from twin.fourd import build_timeline
    from twin.viz.appearance import appearance_arrays, material_colours

    at = page_test("fourd", demo.project).run()
    at.radio(key="fourd_mode").set_value("Interactive 3D (vtk.js)").run()
    no_problem(at)
    args, data = _component_message(at)
    assert set(data) == {"points", "triangles", "vertex_element", "colours"}
    ids = args["ids"]
    day = min(w.start for w in demo.windows.values()).date() + timedelta(days=40)
    at.session_state["_twin_viewer_fourd_viewer"] = {"loaded": args["geometry_key"], "picked": None, "clicks": 0}
    at.slider(key="fourd_at").set_value(datetime.combine(day, time(0))).run()
    no_problem(at)
    args, data = _component_message(at)
    assert set(data) == {"colours"} and args["ids"] is None          # the browser holds the geometry
    when = datetime.combine(day, time(12))
    links = [(a, g) for a, g in demo.resolved.links.pairs if a in demo.windows]
    states = build_timeline(demo.windows, links, ids).state_at(when)
    rgb, opacity = appearance_arrays(states, material_colours(ids, demo.model.elements))
    expected = element_colours(rgb, opacity)
    sent = np.frombuffer(data["colours"], dtype=np.uint8).reshape(-1, 4)
    assert np.array_equal(sent, expected)
    assert 0 < int((sent[:, 3] == 255).sum()) < len(ids)             # some built, some not yet
    counts = states.count()
    m = metrics(at)
    assert m["Complete"] == str(counts["complete"]) and m["Not started"] == str(counts["not_started"])
