"""Zones: named regions of plan space (polygons in x, y) and which zone each element falls in.

A zone is a closed polygon in the model's plan (world x, y in metres). An element belongs to the
first zone, in the order given, that contains the centre of its bounding box (its placement when it
has no box); elements outside every zone belong to none. ``split_zones`` cuts the plan extent of a
model into ``n`` equal bands along an axis, the usual way a planner splits a floor plate into pours.

Examples
--------
>>> z = split_zones_of_extent((0.0, 0.0, 20.0, 10.0), 2, axis="x")
>>> [zone.name for zone in z]
['Z1', 'Z2']
>>> point_zone((15.0, 5.0), z)
'Z2'
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from twin.errors import InputError
from twin.model import BuildingModel, Element

__all__ = [
    "Zone",
    "split_zones",
    "split_zones_of_extent",
    "point_zone",
    "element_point",
    "assign_zones",
]

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Zone:
    """A named plan region: a simple polygon of (x, y) vertices in metres, counter-clockwise or not."""

    name: str
    polygon: tuple[Point, ...]

    def __post_init__(self) -> None:
        if not self.name:
            raise InputError("zone name must not be empty")
        if len(self.polygon) < 3:
            raise InputError(f"zone '{self.name}': polygon needs at least 3 points, got {len(self.polygon)}")

    def contains(self, point: Point) -> bool:
        """True when ``point`` lies inside the polygon or on its boundary."""
        return _in_polygon(point, self.polygon)


def _on_segment(p: Point, a: Point, b: Point, eps: float = 1e-9) -> bool:
    (px, py), (ax, ay), (bx, by) = p, a, b
    cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
    if abs(cross) > eps * max(1.0, abs(bx - ax) + abs(by - ay)):
        return False
    return min(ax, bx) - eps <= px <= max(ax, bx) + eps and min(ay, by) - eps <= py <= max(ay, by) + eps


def _in_polygon(p: Point, poly: Sequence[Point]) -> bool:
    """Even-odd ray casting, with points on an edge counted as inside."""
    x, y = p
    inside = False
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        if _on_segment(p, a, b):
            return True
        (xa, ya), (xb, yb) = a, b
        if (ya > y) != (yb > y):
            x_cross = xa + (y - ya) * (xb - xa) / (yb - ya)
            if x < x_cross:
                inside = not inside
    return inside


def split_zones_of_extent(
    extent: tuple[float, float, float, float], n: int, axis: str = "x", prefix: str = "Z"
) -> tuple[Zone, ...]:
    """Cut a plan rectangle into ``n`` equal bands along ``axis``.

    Parameters
    ----------
    extent : (xmin, ymin, xmax, ymax), metres
    n : number of zones, >= 1
    axis : "x" (bands follow one another along x) or "y"
    prefix : zone names are ``f"{prefix}{i}"`` for i = 1..n, in increasing coordinate

    Returns
    -------
    tuple of Zone, rectangles covering ``extent`` exactly.
    """
    if n < 1:
        raise InputError(f"zones: count must be >= 1, got {n}")
    if axis not in ("x", "y"):
        raise InputError(f"zones: axis must be 'x' or 'y', got '{axis}'")
    x0, y0, x1, y1 = extent
    lo, hi = (x0, x1) if axis == "x" else (y0, y1)
    cuts = [lo + (hi - lo) * i / n for i in range(n + 1)]
    zones = []
    for i in range(n):
        a, b = cuts[i], cuts[i + 1]
        if axis == "x":
            poly = ((a, y0), (b, y0), (b, y1), (a, y1))
        else:
            poly = ((x0, a), (x1, a), (x1, b), (x0, b))
        zones.append(Zone(f"{prefix}{i + 1}", poly))
    return tuple(zones)


def element_point(element: Element) -> Point | None:
    """Plan point used to place an element in a zone: bbox centre, else placement, else None."""
    if element.bbox is not None:
        (xa, ya, _), (xb, yb, _) = element.bbox
        return ((xa + xb) / 2.0, (ya + yb) / 2.0)
    if element.placement is not None:
        return (element.placement[0], element.placement[1])
    return None


def split_zones(model: BuildingModel, n: int, axis: str = "x", prefix: str = "Z") -> tuple[Zone, ...]:
    """Split a model's plan into ``n`` bands of equal width along ``axis``.

    The cuts divide the range of the elements' plan points (bbox centres, or placements) along
    ``axis``, leaving out outliers (beyond 3 interquartile ranges from the quartiles), so that a few
    far elements (site works, a stray proxy) do not squeeze the building into one band; the outer
    bands stretch to the full extent (plus 1 mm), so every element with a point falls in one band.

    Raises
    ------
    InputError
        When no element has a box or a placement (nothing to split), or ``n``/``axis`` are invalid.
    """
    if n < 1:
        raise InputError(f"zones: count must be >= 1, got {n}")
    if axis not in ("x", "y"):
        raise InputError(f"zones: axis must be 'x' or 'y', got '{axis}'")
    pts = [p for p in (element_point(e) for e in model.elements.values()) if p is not None]
    if not pts:
        if n == 1:
            return (Zone(f"{prefix}1", ((-1e9, -1e9), (1e9, -1e9), (1e9, 1e9), (-1e9, 1e9))),)
        raise InputError("zones: no element has geometry or a placement, cannot split the plan")
    arr = np.array(pts, dtype=float)
    pad = 1e-3
    x0, y0 = arr.min(axis=0) - pad
    x1, y1 = arr.max(axis=0) + pad
    k = 0 if axis == "x" else 1
    c = arr[:, k]
    q1, q3 = np.percentile(c, [25.0, 75.0])
    inner = c[(c >= q1 - 3.0 * (q3 - q1)) & (c <= q3 + 3.0 * (q3 - q1))]
    lo, hi = float(inner.min()), float(inner.max())
    if hi - lo < 1e-6:
        lo, hi = (x0, x1) if axis == "x" else (y0, y1)
    cuts = [float(lo + (hi - lo) * i / n) for i in range(1, n)]
    edges = [x0 if axis == "x" else y0, *cuts, x1 if axis == "x" else y1]
    zones = []
    for i in range(n):
        a, b = float(edges[i]), float(edges[i + 1])
        poly = ((a, y0), (b, y0), (b, y1), (a, y1)) if axis == "x" else ((x0, a), (x1, a), (x1, b), (x0, b))
        zones.append(Zone(f"{prefix}{i + 1}", tuple((float(u), float(v)) for u, v in poly)))
    return tuple(zones)


def point_zone(point: Point | None, zones: Sequence[Zone]) -> str | None:
    """Name of the first zone containing ``point``, or None."""
    if point is None:
        return None
    for zone in zones:
        if zone.contains(point):
            return zone.name
    return None


def assign_zones(model: BuildingModel, zones: Sequence[Zone]) -> Mapping[str, str | None]:
    """Zone name (or None) of every element, keyed by GlobalId."""
    return {gid: point_zone(element_point(e), zones) for gid, e in model.elements.items()}
