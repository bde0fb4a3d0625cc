"""The 4D scene: every element mesh merged once into shared geometry, recoloured per date.

Built once per model: all vertices go into one ``vtkPoints`` and all triangles into one (m, 3)
index array with a per-triangle element index. Three actors share those points: an opaque one, a
lit translucent one (e.g. temporary works) and an unlit one for faint ghosts. Showing another date only swaps index subsets and colour
arrays (numpy fancy indexing, no geometry rebuild), so a 10,000-element model redraws quickly.

The camera frames the whole model from the south-east at 30 degrees elevation (iso-like), and does
not move between dates; a ground plane and VTK's light kit (key, fill, back lights) keep storeys and
faces readable. Captions: the date (top left), the active tasks (bottom left), a legend (bottom
right).

Requires pyvista; the offscreen backend is chosen by :func:`twin.viz.backend.select_backend` before
the first window is created.
"""
from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from twin.atomic import atomic_path
from twin.errors import GeometryError, InputError
from twin.fourd import StateVector
from twin.model import Mesh
from twin.viz.appearance import (
    DEFAULT_PROFILE,
    RGB,
    AppearanceProfile,
    appearance_arrays,
    material_colours,
    parse_colour,
    ramp_colours,
)
from twin.viz.backend import select_backend

__all__ = ["Scene4D", "VIEWS", "merge_meshes", "orient_for_culling", "write_png"]

VIEWS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    # name: (direction from the model centre to the camera, view-up); +y is north, +x east
    "iso": ((1.0, -1.3, 0.95), (0.0, 0.0, 1.0)),
    "iso-sw": ((-1.0, -1.3, 0.95), (0.0, 0.0, 1.0)),
    "iso-ne": ((1.0, 1.3, 0.95), (0.0, 0.0, 1.0)),
    "iso-nw": ((-1.0, 1.3, 0.95), (0.0, 0.0, 1.0)),
    "top": ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),
    "south": ((0.0, -1.0, 0.0), (0.0, 0.0, 1.0)),
    "north": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    "east": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "west": ((-1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
}
"""Named camera directions of :meth:`Scene4D.set_view`."""

_OPAQUE = 0.999   # at or above: the opaque actor
_GHOST = 0.5      # below: the unlit ghost actor; in between: the lit translucent actor


def merge_meshes(meshes: Mapping[str, Mesh]) -> tuple[tuple[str, ...], NDArray[np.float64],
                                                         NDArray[np.int64], NDArray[np.int64]]:
    """Concatenate element meshes.

    Returns
    -------
    element_ids : tuple of str, length n (elements with at least one triangle, in mapping order)
    points : ndarray, shape (p, 3), float64, metres
    faces : ndarray, shape (m, 3), int64 indices into ``points``
    cell_element : ndarray, shape (m,), int64 index into ``element_ids`` for each triangle
    """
    ids = tuple(g for g, m in meshes.items() if m.n_triangles > 0 and len(m.vertices) > 0)
    if not ids:
        raise GeometryError("no element has a mesh to draw (the model has no tessellated geometry)")
    counts_v = np.array([len(meshes[g].vertices) for g in ids])
    counts_f = np.array([meshes[g].n_triangles for g in ids])
    points = np.concatenate([meshes[g].vertices for g in ids])
    offsets = np.repeat(np.concatenate([[0], np.cumsum(counts_v)[:-1]]), counts_f)
    faces = np.concatenate([meshes[g].faces for g in ids]) + offsets[:, None]
    cell_element = np.repeat(np.arange(len(ids)), counts_f)
    if not np.all(np.isfinite(points)):
        bad = ids[int(np.searchsorted(np.cumsum(counts_v), np.argmax(~np.isfinite(points).all(1)),
                                      side="right"))]
        raise GeometryError(f"element '{bad}' has non-finite vertex coordinates")
    return ids, points, faces, cell_element


def orient_for_culling(points: NDArray[np.float64], faces: NDArray[np.int64], cell_element: NDArray[np.int64],
                       *, tolerance: float = 1e-5) -> tuple[NDArray[np.int64], NDArray[np.int64], dict[str, int]]:
    """Make triangles safe to draw with back-face culling (which halves the rasteriser's work).

    Per element: a closed mesh with consistent winding (every edge used once in each direction, after
    welding vertices within ``tolerance`` metres) is kept, or flipped when its signed volume is
    negative (inward normals). Any other mesh (open, non-manifold, inconsistent) gets every triangle
    twice, once reversed, so it shows from both sides.

    Returns
    -------
    faces : ndarray, shape (m', 3)
    cell_element : ndarray, shape (m',)
    report : counts of elements kept, flipped and doubled
    """
    n_el = int(cell_element.max()) + 1 if len(cell_element) else 0
    # weld vertices within each element only (elements touching each other must not share edges),
    # so that vertex ids never repeat across elements and an edge key needs no element id
    point_element = np.zeros(len(points), dtype=np.int64)
    point_element[faces.ravel()] = np.repeat(cell_element, 3)
    q = np.round(points / tolerance).astype(np.int64)
    order = np.lexsort((q[:, 2], q[:, 1], q[:, 0], point_element))
    keys = np.column_stack([point_element, q])[order]
    new_group = np.ones(len(order), dtype=bool)
    new_group[1:] = np.any(keys[1:] != keys[:-1], axis=1)
    vid = np.empty(len(order), dtype=np.int64)
    vid[order] = np.cumsum(new_group) - 1
    f = vid.reshape(-1)[faces]
    a = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    b = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    el = np.tile(cell_element, 3)
    base = np.int64(vid.max() + 1 if len(vid) else 1)          # < 2**31 points: keys fit in int64
    directed = a * base + b
    reverse = b * base + a
    uniq, counts = np.unique(directed, return_counts=True)
    pos = np.searchsorted(uniq, reverse)
    pos = np.clip(pos, 0, len(uniq) - 1)
    paired = (uniq[pos] == reverse) & (counts[np.searchsorted(uniq, directed)] == 1) & (counts[pos] == 1)
    degenerate = (a == b)
    good_edge = paired & ~degenerate
    bad_elements = np.zeros(n_el, dtype=bool)
    np.logical_or.at(bad_elements, el, ~good_edge)
    v0, v1, v2 = (points[faces[:, k]] for k in range(3))
    vol = np.zeros(n_el)
    np.add.at(vol, cell_element, np.einsum("ij,ij->i", v0, np.cross(v1, v2)) / 6.0)
    flip = ~bad_elements & (vol < 0)
    out = faces.copy()
    rows = flip[cell_element]
    out[rows] = out[rows][:, ::-1]
    doubled = bad_elements[cell_element]
    faces_out = np.concatenate([out, faces[doubled][:, ::-1]])
    elem_out = np.concatenate([cell_element, cell_element[doubled]])
    report = {"kept": int((~bad_elements & ~flip).sum()), "flipped": int(flip.sum()),
              "double_sided": int(bad_elements.sum())}
    return faces_out, elem_out, report


class Scene4D:
    """An offscreen PyVista scene of a building model, recoloured per 4D state.

    Parameters
    ----------
    meshes : mapping GlobalId -> Mesh (``BuildingModel.meshes``)
    elements : mapping GlobalId -> Element, for material-like colours (optional)
    profile : AppearanceProfile
    window_size : (width, height) in pixels
    ground : draw a ground plane under the model
    legend : draw the legend (bottom right)
    view : camera direction, one of :data:`VIEWS` ("iso" = from the south-east, 30 degrees up)
    multi_samples : MSAA samples (0: none). On a CPU rasteriser (llvmpipe, OSMesa) 8 samples double
        the render time; 4 is a good choice for single exported frames, 0 for sliders and animations.

    Examples
    --------
    >>> scene = Scene4D(model.meshes, model.elements)            # doctest: +SKIP
    >>> scene.show_states(timeline.state_at(datetime(2025, 6, 1)))  # doctest: +SKIP
    >>> image = scene.render()                                   # doctest: +SKIP
    """

    def __init__(
        self,
        meshes: Mapping[str, Mesh],
        elements: Mapping[str, Any] | None = None,
        *,
        profile: AppearanceProfile = DEFAULT_PROFILE,
        window_size: tuple[int, int] = (1280, 720),
        ground: bool = True,
        legend: bool = True,
        multi_samples: int = 0,
        view: str = "iso",
    ) -> None:
        if window_size[0] < 16 or window_size[1] < 16:
            raise InputError(f"window size must be at least 16x16 pixels, got {window_size}")
        select_backend()
        import pyvista as pv
        from vtkmodules.util.numpy_support import numpy_to_vtk

        self._pv = pv
        self._numpy_to_vtk = numpy_to_vtk
        self.element_ids, points, faces, cell_element = merge_meshes(meshes)
        self._faces, self._cell_element, self.orientation = orient_for_culling(points, faces, cell_element)
        self.index = {g: i for i, g in enumerate(self.element_ids)}
        self.profile = profile
        self.material_rgb = material_colours(self.element_ids, elements)
        self._override: dict[int, tuple[RGB, float]] = {}
        self.bounds = (points.min(axis=0), points.max(axis=0))

        self.plotter = pv.Plotter(off_screen=True, window_size=list(window_size), lighting="light kit")
        self.plotter.ren_win.SetMultiSamples(int(multi_samples))
        # a soft headlight so that faces turned towards the viewer are not left in the key light's shade
        self.plotter.add_light(pv.Light(light_type="headlight", intensity=0.35))
        self.plotter.set_background(profile.background)
        vtk_points = pv.vtk_points(points, deep=True)
        self._opaque = self._add_part(vtk_points, translucent=False)
        self._translucent = self._add_part(vtk_points, translucent=True)
        self._ghost = self._add_part(vtk_points, translucent=True, lit=False)
        if ground:
            self._add_ground()
        self.set_view(view)
        h = float(window_size[1])
        self._title = self._add_text((0.012, 1.0 - 6.0 / h), 20, bold=True, top=True)
        self._subtitle = self._add_text((0.012, 1.0 - 36.0 / h), 13, top=True)
        self._bar_y = 1.0 - 62.0 / h          # the time bar sits under the subtitle (pixels from the top)
        self._bar_h = 5.0 / h
        self._tasks = self._add_text((0.012, 0.015), 12, top=False)
        self._bar_back, self._bar_fill = self._add_bar((0.8, 0.82, 0.85)), self._add_bar((0.18, 0.45, 0.75))
        self._legend_key: tuple | None = None
        self._legend_actors: list = []
        self._show_legend = legend
        self._rgb = self.material_rgb.copy()
        self._opacity = np.ones(len(self.element_ids))
        self._apply()

    # -- construction helpers ------------------------------------------------------------------
    def _add_part(self, vtk_points, *, translucent: bool, lit: bool = True):
        pv = self._pv
        poly = pv.PolyData()
        poly.SetPoints(vtk_points)
        mapper = pv._vtk.vtkPolyDataMapper()
        mapper.SetInputData(poly)
        mapper.SetScalarModeToUseCellData()
        mapper.SetColorModeToDirectScalars()
        mapper.ScalarVisibilityOn()
        actor = pv._vtk.vtkActor()
        actor.SetMapper(mapper)
        prop = actor.GetProperty()
        prop.SetInterpolationToFlat()
        prop.SetAmbient(0.35)
        prop.SetDiffuse(0.75)
        prop.SetSpecular(0.05 if not translucent else 0.0)
        if not lit:
            # faint ghosts need no shading, and unlit fragments are a third cheaper on a CPU rasteriser
            prop.LightingOff()
        if translucent:
            prop.BackfaceCullingOn()   # one layer of ghost faces, not two
        self.plotter.add_actor(actor, reset_camera=False, pickable=False, render=False)
        return poly

    def _add_ground(self) -> None:
        lo, hi = self.bounds
        size = hi - lo
        centre = (lo + hi) / 2
        span = max(size[0], size[1], 1.0) * 1.4
        plane = self._pv.Plane(center=(centre[0], centre[1], lo[2] - 0.02), direction=(0, 0, 1),
                               i_size=span, j_size=span)
        self.plotter.add_mesh(plane, color="#e9ebe4", ambient=0.4, diffuse=0.6, specular=0.0,
                              reset_camera=False, pickable=False, render=False)

    def set_view(self, view: str = "iso") -> None:
        """Point the camera at the whole model from a named direction (see :data:`VIEWS`).

        The camera frames every element (built or not), so it stays put while the date changes.
        """
        try:
            direction, up = VIEWS[view]
        except KeyError:
            raise InputError(f"view must be one of {', '.join(VIEWS)}, got '{view}'") from None
        lo, hi = self.bounds
        centre = (lo + hi) / 2
        d = np.asarray(direction, dtype=float)
        d /= np.linalg.norm(d)
        cam = self.plotter.camera
        cam.focal_point = tuple(centre)
        cam.position = tuple(centre + d * float(np.linalg.norm(hi - lo) + 1.0))
        cam.up = up
        cam.view_angle = 30.0
        self.plotter.renderer.ResetCamera(*np.ravel(np.column_stack([lo, hi])))
        self.plotter.camera.zoom(1.25)
        self.plotter.renderer.ResetCameraClippingRange()
        self.view = view

    def _add_text(self, pos: tuple[float, float], size: int, *, bold: bool = False, top: bool):
        vtk = self._pv._vtk
        actor = vtk.vtkTextActor()
        actor.SetInput("")
        coord = actor.GetPositionCoordinate()
        coord.SetCoordinateSystemToNormalizedViewport()
        coord.SetValue(*pos)
        prop = actor.GetTextProperty()
        prop.SetFontSize(size)
        prop.SetColor(0.12, 0.14, 0.18)
        prop.SetBold(bold)
        prop.SetVerticalJustificationToTop() if top else prop.SetVerticalJustificationToBottom()
        prop.SetBackgroundColor(1.0, 1.0, 1.0)
        prop.SetBackgroundOpacity(0.7)
        self.plotter.add_actor(actor, reset_camera=False, pickable=False, render=False)
        return actor

    # -- per-date updates ----------------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        """Number of triangles in the scene."""
        return int(self._faces.shape[0])

    def _check_length(self, n: int, what: str) -> None:
        if n != len(self.element_ids):
            raise InputError(f"{what} has {n} entries, the scene has {len(self.element_ids)} elements")

    def show_states(self, states: StateVector) -> None:
        """Colour elements by their 4D state with the scene's appearance profile."""
        if states.element_ids != self.element_ids:
            self._check_length(len(states.element_ids), "state vector")
            if tuple(states.element_ids) != self.element_ids:
                raise InputError("state vector elements are not in the scene's order; build the "
                                 "timeline with scene.element_ids")
        self._rgb, self._opacity = appearance_arrays(states, self.material_rgb, self.profile)
        self._set_legend(("state",), [(lbl, c) for lbl, c in self.profile.legend()])
        self._apply()

    def show_values(self, values: NDArray[np.float64], ramp: str, title: str) -> None:
        """Colour elements by a 0..1 value (probability complete, criticality) along a ramp.

        Elements whose value is ``nan`` (no linked activity) are drawn like unlinked elements.
        """
        values = np.asarray(values, dtype=float)
        self._check_length(len(values), "value array")
        known = ~np.isnan(values)
        rgb = ramp_colours(values, ramp)
        un = self.profile.unlinked
        self._rgb = np.where(known[:, None], rgb, un.colour if un.colour is not None else self.material_rgb)
        self._opacity = np.where(known, 1.0, un.opacity)
        bins = [0.0, 0.25, 0.5, 0.75, 1.0]
        entries = [(f"{title} {b:.0%}", tuple(ramp_colours(np.array([b]), ramp)[0])) for b in bins[::-1]]
        self._set_legend(("values", ramp, title), entries)
        self._apply()

    def highlight(self, global_ids: Sequence[str], colour: Any = "#e7298a", opacity: float = 1.0) -> int:
        """Draw these elements in ``colour`` over any state (clashes, conflicts); returns how many
        of them are in the scene. Unknown ids are ignored (elements without geometry)."""
        rgb = parse_colour(colour, "highlight colour")
        hits = [self.index[g] for g in global_ids if g in self.index]
        for i in hits:
            self._override[i] = (rgb, opacity)
        self._apply()
        return len(hits)

    def clear_highlight(self) -> None:
        self._override.clear()
        self._apply()

    def _add_bar(self, colour: tuple[float, float, float]):
        """A 2D rectangle in normalized viewport coordinates (the time bar's track or fill)."""
        vtk = self._pv._vtk
        pts = vtk.vtkPoints()
        pts.SetNumberOfPoints(4)
        cells = vtk.vtkCellArray()
        cells.InsertNextCell(4, [0, 1, 2, 3])
        poly = vtk.vtkPolyData()
        poly.SetPoints(pts)
        poly.SetPolys(cells)
        coord = vtk.vtkCoordinate()
        coord.SetCoordinateSystemToNormalizedViewport()
        mapper = vtk.vtkPolyDataMapper2D()
        mapper.SetInputData(poly)
        mapper.SetTransformCoordinate(coord)
        actor = vtk.vtkActor2D()
        actor.SetMapper(mapper)
        actor.GetProperty().SetColor(*colour)
        actor.SetVisibility(False)
        self.plotter.add_actor(actor, reset_camera=False, pickable=False, render=False)
        return actor

    def set_time_bar(self, fraction: float | None, *, x0: float = 0.012, width: float = 0.3) -> None:
        """Show how far through the programme the date is: a thin bar under the caption.

        ``fraction`` in 0..1 (clipped); None hides the bar. ``x0``, ``width``: fractions of the window.
        """
        y, height = self._bar_y, self._bar_h
        if fraction is None:
            self._bar_back.SetVisibility(False)
            self._bar_fill.SetVisibility(False)
            return
        f = min(max(float(fraction), 0.0), 1.0)
        for actor, w in ((self._bar_back, width), (self._bar_fill, width * f)):
            pts = actor.GetMapper().GetInput().GetPoints()
            for i, (px, py) in enumerate(((x0, y), (x0 + w, y), (x0 + w, y + height), (x0, y + height))):
                pts.SetPoint(i, px, py, 0.0)
            pts.Modified()
            actor.SetVisibility(w > 0)

    def set_caption(self, title: str, subtitle: str = "", lines: Sequence[str] = ()) -> None:
        """Set the date caption, a subtitle line and the list under it (e.g. active tasks)."""
        self._title.SetInput(title)
        self._subtitle.SetInput(subtitle)
        self._tasks.SetInput("\n".join(lines))

    def _set_legend(self, key: tuple, entries: list[tuple[str, RGB]]) -> None:
        """A legend of coloured squares and dark labels, top right (one text actor pair per row)."""
        if key == self._legend_key or not self._show_legend:
            return
        for actor in self._legend_actors:
            self.plotter.remove_actor(actor, render=False)
        self._legend_actors = []
        width, height = self.plotter.window_size
        step = 22.0 / max(height, 1)
        longest = max((len(label) for label, _ in entries), default=0)
        x0 = max(0.5, 1.0 - (38 + 7.5 * longest) / max(width, 1))
        for row, (label, colour) in enumerate(entries):
            y = 0.015 + (len(entries) - 1 - row) * step
            swatch = self._add_text((x0, y + 0.002), 12, top=False)
            swatch.SetInput("    ")   # a coloured box: blank text on an opaque background
            swatch.GetTextProperty().SetBackgroundColor(*colour)
            swatch.GetTextProperty().SetBackgroundOpacity(1.0)
            swatch.GetTextProperty().SetFrame(True)
            swatch.GetTextProperty().SetFrameColor(0.3, 0.3, 0.3)
            text = self._add_text((x0 + 26.0 / max(width, 1), y), 13, top=False)
            text.SetInput(label)
            self._legend_actors += [swatch, text]
        self._legend_key = key

    def _apply(self) -> None:
        rgb, opacity = self._rgb, self._opacity
        if self._override:
            rgb, opacity = rgb.copy(), opacity.copy()
            for i, (c, o) in self._override.items():
                rgb[i], opacity[i] = c, o
        cell_op = opacity[self._cell_element]
        solid = cell_op >= _OPAQUE
        ghost = (cell_op > 0.0) & (cell_op < _GHOST)
        translucent = (cell_op >= _GHOST) & ~solid
        self._fill(self._opaque, solid, rgb, None)
        self._fill(self._translucent, translucent, rgb, cell_op)
        self._fill(self._ghost, ghost, rgb, cell_op)

    def _fill(self, poly, mask: NDArray[np.bool_], rgb: NDArray[np.float64],
              cell_op: NDArray[np.float64] | None) -> None:
        faces = self._faces[mask]
        elem = self._cell_element[mask]
        colours = np.empty((len(faces), 3 if cell_op is None else 4), dtype=np.uint8)
        colours[:, :3] = np.rint(rgb[elem] * 255)
        if cell_op is not None:
            colours[:, 3] = np.rint(cell_op[mask] * 255)
        poly.SetPolys(self._pv.CellArray.from_regular_cells(faces))
        arr = self._numpy_to_vtk(colours, deep=True)
        arr.SetName("colours")
        poly.GetCellData().SetScalars(arr)
        poly.Modified()

    def counts(self) -> dict[str, int]:
        """Triangles currently drawn opaque, translucent (lit) and as ghosts (unlit, opacity < 0.5)."""
        return {"opaque": int(self._opaque.n_cells), "translucent": int(self._translucent.n_cells),
                "ghost": int(self._ghost.n_cells)}

    # -- output ---------------------------------------------------------------------------------
    def render(self) -> NDArray[np.uint8]:
        """Render and return the image, shape (height, width, 3), uint8 RGB."""
        self.plotter.render()
        return np.asarray(self.plotter.screenshot(return_img=True, transparent_background=False))

    def close(self) -> None:
        self.plotter.close()

    def __enter__(self) -> "Scene4D":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_png(image: NDArray[np.uint8], path: str | os.PathLike) -> None:
    """Write an RGB image as PNG atomically (temp file in the same folder, then rename)."""
    import imageio.v3 as iio

    with atomic_path(path, suffix=".png") as tmp:
        iio.imwrite(tmp, image)
