"""World position of IFC object placements, fast enough for tens of thousands of elements.

``ifcopenshell.util.placement.get_local_placement`` builds numpy matrices for every link of every
placement chain, which costs about half a millisecond per element. Elements of one storey share the
upper links of their chains, so this module composes 3x4 affine matrices in plain Python and
memoises each ``IfcLocalPlacement`` by id. Results are in file units; the caller scales them.

Grid placements (``IfcGridPlacement``) and linear placements (IFC4X3) are not resolved here: the
caller gets None and may fall back to ifcopenshell.
"""
from __future__ import annotations

import math

import ifcopenshell

__all__ = ["PlacementResolver"]

Matrix = tuple[tuple[float, float, float, float], ...]  # 3 rows of (r0, r1, r2, t)
_AXIS_PLACEMENTS = ("IfcAxis2Placement3D", "IfcAxis2Placement2D")
_IDENTITY: Matrix = ((1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0))


def _unit(v: tuple[float, ...]) -> tuple[float, float, float]:
    x, y, z = (tuple(v) + (0.0, 0.0, 0.0))[:3]
    n = math.sqrt(x * x + y * y + z * z)
    if n == 0.0:
        raise ValueError("zero-length direction")
    return (x / n, y / n, z / n)


def _axis_placement(a2p: ifcopenshell.entity_instance) -> Matrix:
    """Matrix of an IfcAxis2Placement3D/2D (columns: x axis, y axis, z axis, origin)."""
    loc = tuple(a2p.Location.Coordinates) + (0.0, 0.0, 0.0)
    if a2p.is_a("IfcAxis2Placement2D"):
        ref = _unit(a2p.RefDirection.DirectionRatios) if a2p.RefDirection else (1.0, 0.0, 0.0)
        x = (ref[0], ref[1], 0.0)
        y = (-ref[1], ref[0], 0.0)
        z = (0.0, 0.0, 1.0)
    else:
        z = _unit(a2p.Axis.DirectionRatios) if a2p.Axis else (0.0, 0.0, 1.0)
        ref = _unit(a2p.RefDirection.DirectionRatios) if a2p.RefDirection else (1.0, 0.0, 0.0)
        # Project the reference direction onto the plane normal to z (IFC's BuildAxes).
        d = ref[0] * z[0] + ref[1] * z[1] + ref[2] * z[2]
        x = _unit((ref[0] - d * z[0], ref[1] - d * z[1], ref[2] - d * z[2]))
        y = (z[1] * x[2] - z[2] * x[1], z[2] * x[0] - z[0] * x[2], z[0] * x[1] - z[1] * x[0])
    return tuple((x[i], y[i], z[i], float(loc[i])) for i in range(3))  # type: ignore[return-value]


def _compose(a: Matrix, b: Matrix) -> Matrix:
    """a @ b for 3x4 affine matrices."""
    rows = []
    for i in range(3):
        ai = a[i]
        rows.append(
            (
                ai[0] * b[0][0] + ai[1] * b[1][0] + ai[2] * b[2][0],
                ai[0] * b[0][1] + ai[1] * b[1][1] + ai[2] * b[2][1],
                ai[0] * b[0][2] + ai[1] * b[1][2] + ai[2] * b[2][2],
                ai[0] * b[0][3] + ai[1] * b[1][3] + ai[2] * b[2][3] + ai[3],
            )
        )
    return tuple(rows)  # type: ignore[return-value]


class PlacementResolver:
    """Memoising resolver of object placements to world matrices (file units)."""

    def __init__(self) -> None:
        self._cache: dict[int, Matrix | None] = {}

    def matrix(self, placement: ifcopenshell.entity_instance | None) -> Matrix | None:
        """World matrix of an ``IfcObjectPlacement``; None if it cannot be resolved here."""
        if placement is None:
            return _IDENTITY
        key = placement.id()
        if key in self._cache:
            return self._cache[key]
        self._cache[key] = None  # guards against cyclic chains in broken files
        result: Matrix | None = None
        if placement.is_a("IfcLocalPlacement"):
            parent = self.matrix(placement.PlacementRelTo) if placement.PlacementRelTo else _IDENTITY
            rel = placement.RelativePlacement
            if parent is not None and rel is not None and rel.is_a() in _AXIS_PLACEMENTS:
                try:
                    result = _compose(parent, _axis_placement(rel))
                except (ValueError, TypeError, AttributeError):
                    result = None
        self._cache[key] = result
        return result

    def origin(self, placement: ifcopenshell.entity_instance | None) -> tuple[float, float, float] | None:
        """World origin of a placement in file units, or None if unresolved."""
        m = self.matrix(placement)
        if m is None:
            return None
        return (m[0][3], m[1][3], m[2][3])
