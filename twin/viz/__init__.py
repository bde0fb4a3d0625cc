"""4D visualisation: appearance profiles, the offscreen PyVista scene, frames and animations, charts.

``twin.viz`` reads records (``BuildingModel`` meshes and elements, task windows, links, CPM and
simulation results) and draws them; nothing flows back. Importing ``twin.viz`` does not import
pyvista: the scene modules import it when a scene is built, after
:func:`twin.viz.backend.select_backend` has chosen EGL or OSMesa (see ``docs/4d-visualisation.md``).
"""
from __future__ import annotations

import os

# Offscreen rendering through EGL unless told otherwise; must be set before VTK creates a window.
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

from twin.viz.appearance import (  # noqa: E402
    DEFAULT_PROFILE,
    Appearance,
    AppearanceProfile,
    KindProfile,
    material_colour,
    parse_colour,
    profile_from_dict,
)
from twin.viz.backend import RenderBackendError, select_backend  # noqa: E402

__all__ = [
    "DEFAULT_PROFILE",
    "Appearance",
    "AppearanceProfile",
    "KindProfile",
    "material_colour",
    "parse_colour",
    "profile_from_dict",
    "RenderBackendError",
    "select_backend",
    "Scene4D",
    "FourDView",
    "render_frame",
    "animate",
    "load_4d_inputs",
    "gantt_chart",
    "s_curve_chart",
    "finish_histogram",
    "utilisation_chart",
    "s_curve_from_result",
    "finish_histogram_from_result",
    "utilisation_from_result",
    "save_figure",
]

_CHARTS = ("gantt_chart", "s_curve_chart", "finish_histogram", "utilisation_chart", "s_curve_from_result",
           "finish_histogram_from_result", "utilisation_from_result", "save_figure")


def __getattr__(name: str):
    """Lazy access to the pyvista-backed classes, so importing twin.viz stays light."""
    if name == "Scene4D":
        from twin.viz.scene import Scene4D

        return Scene4D
    if name in ("FourDView", "render_frame", "animate"):
        from twin.viz import frames

        return getattr(frames, name)
    if name in _CHARTS:
        from twin.viz import charts

        return getattr(charts, name)
    if name == "load_4d_inputs":
        from twin.viz.inputs import load_4d_inputs

        return load_4d_inputs
    raise AttributeError(f"module 'twin.viz' has no attribute '{name}'")
