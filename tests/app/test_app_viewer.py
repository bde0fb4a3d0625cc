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
    assert g.triangles.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert g.vertex_element.tolist() == [0, 0, 0, 1, 1, 1]
    assert g.element_bounds(["b"]) == [0.0, 1.0, 0.0, 1.0, 2.0, 2.0]
    assert g.element_bounds(["nope"]) is None


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
