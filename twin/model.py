"""Building records: Mesh, Element, Storey, BuildingModel, as plain frozen data.

Readers in ``twin.ifc`` produce these; every algorithm and view only reads them. Lengths are metres,
coordinates are world coordinates of the model (after the file's own placement and units), ids are
IFC GlobalIds as ``str``. Nothing here imports ifcopenshell.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
from numpy.typing import NDArray

__all__ = ["Mesh", "Element", "Storey", "ModelFile", "GeometryFailure", "BuildingModel", "BBox"]

BBox = tuple[tuple[float, float, float], tuple[float, float, float]]
"""Axis-aligned box ((xmin, ymin, zmin), (xmax, ymax, zmax)) in metres."""


@dataclass(frozen=True, eq=False, slots=True)
class Mesh:
    """Triangle mesh in world coordinates (metres).

    Parameters
    ----------
    vertices : ndarray, shape (n, 3), float64
    faces : ndarray, shape (m, 3), int64 indices into ``vertices``
    """

    vertices: NDArray[np.float64]
    faces: NDArray[np.int64]

    def __post_init__(self) -> None:
        v = np.ascontiguousarray(self.vertices, dtype=np.float64)
        f = np.ascontiguousarray(self.faces, dtype=np.int64)
        if v.ndim != 2 or v.shape[1] != 3:
            raise ValueError(f"vertices must have shape (n, 3), got {v.shape}")
        if f.ndim != 2 or f.shape[1] != 3:
            raise ValueError(f"faces must have shape (m, 3), got {f.shape}")
        v.flags.writeable = False
        f.flags.writeable = False
        object.__setattr__(self, "vertices", v)
        object.__setattr__(self, "faces", f)

    @property
    def bounds(self) -> BBox:
        """Axis-aligned bounding box of the vertices."""
        lo = self.vertices.min(axis=0)
        hi = self.vertices.max(axis=0)
        return (tuple(map(float, lo)), tuple(map(float, hi)))  # type: ignore[return-value]

    @property
    def n_triangles(self) -> int:
        return int(self.faces.shape[0])


@dataclass(frozen=True, slots=True)
class Storey:
    """A building storey: GlobalId, name, elevation in metres, and the file it came from."""

    global_id: str
    name: str
    elevation: float | None
    file: str = ""


@dataclass(frozen=True, slots=True)
class ModelFile:
    """One IFC file of a (possibly federated) model."""

    path: str
    schema: str
    sha256: str
    length_unit: str          # e.g. "MILLIMETRE" or "METRE" as declared in the file
    length_scale: float       # file length unit in metres (0.001 for millimetres)
    project: str | None = None
    project_global_id: str | None = None
    # GlobalIds of this file's own elements, in file order. In a federated model an element that
    # several files share (same GlobalId) is listed by each of them but stored once.
    element_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class Element:
    """A physical building element (IfcElement minus feature and virtual elements).

    ``properties`` and ``quantities`` are flattened as ``"SetName.PropName"``; quantities are in SI
    units (m, m2, m3, kg, s). ``bbox`` is world-aligned in metres, None without geometry.
    """

    global_id: str
    ifc_class: str
    name: str | None = None
    predefined_type: str | None = None
    object_type: str | None = None
    storey: str | None = None            # storey name
    storey_id: str | None = None         # storey GlobalId
    container: str | None = None         # GlobalId of the spatial structure element containing it
    materials: tuple[str, ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)
    quantities: Mapping[str, float] = field(default_factory=dict)
    placement: tuple[float, float, float] | None = None   # world origin of the local placement, m
    bbox: BBox | None = None
    systems: tuple[str, ...] = ()
    file: str = ""
    has_body: bool = False


@dataclass(frozen=True, slots=True)
class GeometryFailure:
    """An element whose geometry could not be tessellated, and why."""

    global_id: str
    file: str
    message: str


@dataclass(frozen=True, slots=True, eq=False)
class BuildingModel:
    """A (federated) building model: its files, storeys, elements and meshes."""

    files: tuple[ModelFile, ...]
    storeys: tuple[Storey, ...]
    elements: Mapping[str, Element]
    meshes: Mapping[str, Mesh] = field(default_factory=dict)
    geometry_failures: tuple[GeometryFailure, ...] = ()
    warnings: tuple[str, ...] = ()

    def get_element(self, global_id: str) -> Element:
        try:
            return self.elements[global_id]
        except KeyError:
            raise KeyError(f"no element with GlobalId '{global_id}'") from None

    @property
    def bbox(self) -> BBox | None:
        """Box around every element box, or None when no element has geometry."""
        boxes = [e.bbox for e in self.elements.values() if e.bbox is not None]
        if not boxes:
            return None
        arr = np.array(boxes, dtype=float)
        lo = arr[:, 0, :].min(axis=0)
        hi = arr[:, 1, :].max(axis=0)
        return (tuple(map(float, lo)), tuple(map(float, hi)))  # type: ignore[return-value]
