"""The interactive 3D viewer of the app: vtk.js in the browser, served from this package (no CDN).

A Streamlit custom component (components v1): :func:`viewer` sends the merged geometry of a model
(:class:`ViewerGeometry`, bytes), one RGBA colour per element and the GlobalIds; the browser draws
them with the vendored vtk.js bundle (``frontend/vtk.js``, Kitware, BSD-3-Clause) and sends back the
GlobalId of the element clicked. The geometry is uploaded to WebGL only when its key changes; the
colours live in a small texture (one texel per element), so recolouring (4D dates, filters,
highlights) re-sends n x 4 bytes and redraws, without rebuilding any geometry buffer (see
``frontend/viewer.js``).

:func:`viewer_geometry` and :func:`element_colours` are plain numpy (tested without a browser).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["FRONTEND", "ViewerGeometry", "viewer_geometry", "element_colours", "category_colours", "viewer"]

# A qualitative palette (Tableau 10) for colouring elements by class, storey, trade...
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")

FRONTEND = Path(__file__).resolve().parent / "frontend"

_component: Any = None


@dataclass(frozen=True, slots=True, eq=False)
class ViewerGeometry:
    """All element meshes merged for the browser.

    ``points`` float32 (V, 3) metres; ``triangles`` uint32 (T, 3) indices into ``points``, wound
    so that front faces look outwards (the browser culls back faces);
    ``vertex_element`` uint32 (V,) index into ``ids`` of each vertex; ``key`` identifies the content.
    """

    ids: tuple[str, ...]
    points: NDArray[np.float32]
    triangles: NDArray[np.uint32]
    vertex_element: NDArray[np.uint32]
    key: str

    @property
    def bounds(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return self.points.min(axis=0).astype(float), self.points.max(axis=0).astype(float)

    @property
    def nbytes(self) -> int:
        return self.points.nbytes + self.triangles.nbytes + self.vertex_element.nbytes

    def element_bounds(self, global_ids: Sequence[str]) -> list[float] | None:
        """[xmin, xmax, ymin, ymax, zmin, zmax] around these elements (vtk.js order), or None."""
        index = {g: i for i, g in enumerate(self.ids)}
        wanted = [index[g] for g in global_ids if g in index]
        if not wanted:
            return None
        mask = np.isin(self.vertex_element, np.asarray(wanted, dtype=np.uint32))
        pts = self.points[mask]
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        return [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]), float(lo[2]), float(hi[2])]


def viewer_geometry(meshes: Mapping[str, Any], key: str = "") -> ViewerGeometry:
    """Merge ``{GlobalId: Mesh}`` into one point and triangle array (element order: mapping order).

    The triangles are made safe for back-face culling (:func:`twin.viz.scene.orient_for_culling`:
    closed meshes wound outwards, open ones get each triangle a second time reversed). Elements
    without triangles are left out. ``key`` names the content (e.g. the model's cache key);
    when empty, a digest of the arrays is used.
    """
    ids: list[str] = []
    pts: list[NDArray[np.float64]] = []
    tris: list[NDArray[np.int64]] = []
    owner: list[NDArray[np.uint32]] = []
    offset = 0
    for gid, mesh in meshes.items():
        v, f = np.asarray(mesh.vertices), np.asarray(mesh.faces)
        if len(v) == 0 or len(f) == 0:
            continue
        owner.append(np.full(len(v), len(ids), dtype=np.uint32))
        ids.append(gid)
        pts.append(v)
        tris.append(f + offset)
        offset += len(v)
    if not ids:
        empty = np.zeros((0, 3))
        return ViewerGeometry((), empty.astype(np.float32), empty.astype(np.uint32), np.zeros(0, np.uint32), key or "empty")
    from twin.viz.scene import orient_for_culling

    merged = np.concatenate(pts)
    vertex_element = np.concatenate(owner)
    faces = np.concatenate(tris).astype(np.int64)
    # the browser culls back faces: closed meshes wound outwards, open ones drawn from both sides
    faces, _, _ = orient_for_culling(merged, faces, vertex_element[faces[:, 0]].astype(np.int64))
    points = merged.astype(np.float32)
    triangles = faces.astype(np.uint32)
    if not key:
        h = hashlib.sha256()
        for a in (points, triangles, vertex_element):
            h.update(a.tobytes())
        key = h.hexdigest()[:16]
    return ViewerGeometry(tuple(ids), points, triangles, vertex_element, key)


def element_colours(rgb: NDArray[np.float64], opacity: NDArray[np.float64] | float = 1.0) -> NDArray[np.uint8]:
    """RGBA uint8 (n, 4) from colours (n, 3) in 0..1 and opacities (n,) or one opacity."""
    rgb = np.clip(np.asarray(rgb, dtype=float), 0.0, 1.0)
    out = np.empty((len(rgb), 4), dtype=np.uint8)
    out[:, :3] = np.rint(rgb * 255)
    out[:, 3] = np.rint(np.clip(np.broadcast_to(np.asarray(opacity, dtype=float), (len(rgb),)), 0.0, 1.0) * 255)
    return out


def category_colours(values: Sequence[str]) -> tuple[NDArray[np.float64], dict[str, str]]:
    """Colours (n, 3) in 0..1 for category labels (first seen, first colour) and the legend {label: hex}."""
    legend: dict[str, str] = {}
    for v in values:
        if v not in legend:
            legend[v] = PALETTE[len(legend) % len(PALETTE)]
    rgb = {k: [int(h[i:i + 2], 16) / 255.0 for i in (1, 3, 5)] for k, h in legend.items()}
    return np.array([rgb[v] for v in values], dtype=float).reshape(-1, 3), legend


def viewer(geometry: ViewerGeometry, colours: NDArray[np.uint8], *, height: int = 480,
           focus: Sequence[str] = (), camera_key: str = "", status: str = "", background: str = "#ffffff",
           key: str | None = None) -> str | None:
    """Draw ``geometry`` in the browser with one RGBA colour per element (``colours`` (n, 4) uint8).

    ``focus``: GlobalIds the camera frames (e.g. the two elements of a clash); ``camera_key``: the
    camera resets when it changes (otherwise the user's view is kept across reruns). Returns the
    GlobalId of the element clicked since the last run (None when there was no new click, or the
    click hit the background).
    """
    import streamlit.components.v1 as components

    global _component
    if _component is None:
        _component = components.declare_component("twin_viewer", path=str(FRONTEND))
    import streamlit as st

    colours = np.ascontiguousarray(colours, dtype=np.uint8)
    if colours.shape != (len(geometry.ids), 4):
        raise ValueError(f"colours must have shape ({len(geometry.ids)}, 4), got {colours.shape}")
    # The browser keeps the geometry; it says which one it holds ("loaded"), and it is sent again only
    # when that differs (first draw, another model, or a new iframe after a page change).
    state_key = f"_twin_viewer_{key}"
    last = st.session_state.get(state_key) if key else None
    has = isinstance(last, dict) and last.get("loaded") == geometry.key
    value = _component(
        ids=None if has else list(geometry.ids), points=None if has else geometry.points.tobytes(),
        triangles=None if has else geometry.triangles.tobytes(),
        vertex_element=None if has else geometry.vertex_element.tobytes(), geometry_key=geometry.key,
        colours=colours.tobytes(), height=int(height), focus=geometry.element_bounds(focus) if focus else None,
        camera_key=camera_key or ",".join(focus), status=status, background=background, key=key, default=None,
    )
    if key:
        st.session_state[state_key] = value
    if not isinstance(value, dict):
        return None
    seen = f"_twin_viewer_clicks_{key}"
    if st.session_state.get(seen) == value.get("clicks"):
        return None                       # the same click as on an earlier run
    st.session_state[seen] = value.get("clicks")
    return value.get("picked")
