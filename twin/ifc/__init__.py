"""IFC in ``twin``: read IFC files into plain building records, with geometry and a cache.

The only package that touches ifcopenshell entities. Everything it hands out is a record from
:mod:`twin.model` keyed by GlobalId, in SI units (metres, m2, m3, kg, s), meshes as numpy arrays in
world coordinates.

Public entry points
-------------------
load_model(paths, *, geometry=True, cache_dir=None, workers=None, progress=None) -> BuildingModel
    One file or a federated set; second loads come from the cache (no parsing, no tessellation).
open_ifc(path) -> ifcopenshell.file
    Open a file; every failure becomes :class:`twin.errors.IfcReadError` or ``MissingFileError``.
tessellate(ifc_file, path, *, settings=None, elements=None, workers=None, progress=None, processes=None)
    Meshes and per-element failures of an opened file, without the cache.
"""
from __future__ import annotations

from twin.ifc.geometry import DEFAULT_SETTINGS, make_settings, tessellate
from twin.ifc.load import load_file, load_model
from twin.ifc.reader import count_elements, has_body, open_ifc, read_file, select_elements
from twin.ifc.units import FileUnits, read_units

__all__ = [
    "load_model",
    "load_file",
    "open_ifc",
    "read_file",
    "select_elements",
    "count_elements",
    "has_body",
    "tessellate",
    "make_settings",
    "DEFAULT_SETTINGS",
    "read_units",
    "FileUnits",
]
