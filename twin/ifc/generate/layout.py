"""The demo building as plain data: the records, element counts and sizing, and :func:`plan_building`.

This module and :mod:`twin.ifc.generate.builder` (the rules, trade by trade) decide *what* is built;
:mod:`twin.ifc.generate.writer` turns it into IFC entities. Neither imports ifcopenshell, so the
layout can be tested (and element counts predicted) cheaply.

Assumptions (all lengths in metres, z up, the origin at grid intersection ``A1`` on level 00):

- Grid lines ``1, 2, ...`` run along y at ``x = i * bay_x``; lines ``A, B, ...`` run along x at
  ``y = j * bay_y``. Storey ``k`` ("Level 0k", the top one "Roof") has its floor top at ``k * H``.
- Columns (square ``c``) run from the floor top of their storey to the floor top of the next one
  (storey 0: from the footing top); slabs are notched around them, so columns pass through the slab
  zone. Pad footings carry the storey-0 columns; their top is the ground-slab soffit.
- Beams (``b`` x ``d``) span between column faces, their top at the slab soffit of the level they
  carry; slab panels (one per bay and level) rest on the beams along their edges.
- External walls are precast panels on the slab edge, flush with the column outer faces, with a
  ``head_joint`` gap under the beam (non-loadbearing). Core shear walls run from slab top to beam
  soffit and carry the beam above them. The core is bay ``A1`` (``(0, 0)``): scissor stair flights in
  two lanes, alternating direction; each slab above a flight has an opening over that flight.
- MEP runs along x at the ceiling of every storey in the odd bay rows (row 0, minus the core bay,
  when there is one bay row). Per row: a supply duct and a cold-water pipe pass *under* the beams with
  ``mep_clearance``; an extract duct and a chilled-water pipe pass *through* the cross beams (hard
  clashes). Each run is cut at bay mid-spans, so each interior segment crosses exactly one beam.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from twin.errors import InputError

__all__ = [
    "Sections",
    "BuildingSpec",
    "Profile",
    "Shape",
    "Part",
    "SystemPlan",
    "Layout",
    "plan_building",
    "count_elements",
    "size_for_elements",
    "axis_label",
    "storey_name",
    "zone_name",
    "polygon_area",
    "polygon_perimeter",
    "stair_geometry",
    "MATERIALS",
    "MEP_RUNS",
]

Point2 = tuple[float, float]
Prop = tuple[str, str, Any]                      # (name, IFC measure type, value)
PropSet = tuple[str, tuple[Prop, ...]]           # (set name, properties)
Quantity = tuple[str, str, float]                # (name, "length"|"area"|"volume"|"weight", value)
QtoSet = tuple[str, tuple[Quantity, ...]]


@dataclass(frozen=True, slots=True)
class Sections:
    """Member sizes in metres and material densities in kg/m3."""

    column: float = 0.4
    beam_width: float = 0.3
    beam_depth: float = 0.6
    slab: float = 0.25
    ground_slab: float = 0.2
    footing_depth: float = 0.6
    wall: float = 0.2
    core_wall: float = 0.25
    head_joint: float = 0.02
    stair_width: float = 1.2
    riser_max: float = 0.18
    going: float = 0.25
    mep_clearance: float = 0.1
    concrete_density: float = 2500.0
    steel_density: float = 7850.0
    copper_density: float = 8940.0


@dataclass(frozen=True, slots=True)
class BuildingSpec:
    """The parameters of one demo building; see :func:`twin.ifc.generate.generate_building`."""

    storeys: int = 4
    bays: tuple[int, int] = (4, 3)
    bay_width: tuple[float, float] = (7.5, 6.0)
    storey_height: float = 3.6
    zones: int = 2
    mep: bool = True
    stairs: bool = True
    name: str = "Demo Building"
    sections: Sections = field(default_factory=Sections)

    def __post_init__(self) -> None:
        nx, ny = self.bays
        bx, by = self.bay_width
        s = self.sections
        if self.storeys < 1:
            raise InputError(f"storeys must be >= 1, got {self.storeys}")
        if nx < 2 or ny < 1:
            raise InputError(f"bays must be at least 2 x 1 (x, y), got {nx} x {ny}")
        if self.zones < 1 or self.zones > nx:
            raise InputError(f"zones must be between 1 and the number of x bays ({nx}), got {self.zones}")
        min_span = s.column + 2.0
        if bx < min_span or by < min_span:
            raise InputError(f"bay_width must be >= {min_span:g} m each way, got {bx:g} x {by:g}")
        min_h = s.slab + s.beam_depth + 2.1
        if self.storey_height < min_h:
            raise InputError(
                f"storey_height must be >= {min_h:g} m (slab + beam + 2.1 m headroom), got {self.storey_height:g}"
            )
        if self.mep and by < 4.5:
            raise InputError(f"bay_width y must be >= 4.5 m to fit the MEP runs, got {by:g} (or use mep=False)")
        if self.stairs and self.storeys >= 2:
            st = stair_geometry(self)
            need_x = s.column / 2 + s.stair_width + st.run + 1.0 + s.column / 2
            need_y = s.column / 2 + 0.2 + 2 * s.stair_width + s.column / 2
            if bx < need_x or by < need_y:
                raise InputError(
                    f"the core bay {bx:g} x {by:g} m is too small for the stair "
                    f"(needs {need_x:.2f} x {need_y:.2f} m for a {st.run:.2f} m run); "
                    "widen bay_width or use stairs=False"
                )


@dataclass(frozen=True, slots=True)
class Profile:
    """A 2D profile. ``kind`` "rect": params (xdim, ydim, cx, cy); "poly": (outer, voids) where outer
    is a tuple of points and voids a tuple of point tuples; "circle": (r,); "tube": (r, wall)."""

    kind: str
    params: tuple

    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax) of the profile."""
        if self.kind == "rect":
            xd, yd, cx, cy = self.params
            return (cx - xd / 2, cx + xd / 2, cy - yd / 2, cy + yd / 2)
        if self.kind == "poly":
            xs = [p[0] for p in self.params[0]]
            ys = [p[1] for p in self.params[0]]
            return (min(xs), max(xs), min(ys), max(ys))
        r = self.params[0]
        return (-r, r, -r, r)

    def area(self) -> float:
        """Net area (voids removed), m2."""
        if self.kind == "rect":
            return self.params[0] * self.params[1]
        if self.kind == "poly":
            outer, voids = self.params
            return polygon_area(outer) - sum(polygon_area(v) for v in voids)
        if self.kind == "circle":
            return math.pi * self.params[0] ** 2
        r, t = self.params
        return math.pi * (r**2 - (r - t) ** 2)


@dataclass(frozen=True, slots=True)
class Shape:
    """An extruded solid in element coordinates.

    ``axis`` "z": profile in the xy plane, extruded from z=0 to ``depth``; "x": profile (p, q) maps to
    (y, z), extruded from x=0 to ``depth``; "y": profile (p, q) maps to (x, z), extruded from y=0 to
    ``depth``. ``style`` names the surface colour.
    """

    profile: Profile
    axis: str
    depth: float
    style: str

    def local_bounds(self) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        x0, x1, y0, y1 = self.profile.bounds()
        if self.axis == "z":
            return (x0, y0, 0.0), (x1, y1, self.depth)
        if self.axis == "x":
            return (0.0, x0, y0), (self.depth, x1, y1)
        return (x0, 0.0, y0), (x1, self.depth, y1)


@dataclass(frozen=True, slots=True)
class Part:
    """One IFC element to write: where it is, what it looks like and what it carries.

    ``origin`` is relative to the storey placement (the storey is at z = elevation); ``direction`` is
    the angle in degrees (0, 90, 180, 270) of the element's local x axis about z.
    """

    key: str
    ifc_class: str
    predefined_type: str
    name: str
    tag: str
    storey: int
    trade: str
    zone: int
    type_name: str | None
    material: str | None
    shape: Shape | None
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: int = 0
    psets: tuple[PropSet, ...] = ()
    qto: QtoSet | None = None
    parent: str | None = None
    system: str | None = None
    attributes: tuple[tuple[str, Any], ...] = ()
    type_psets: tuple[PropSet, ...] = ()
    upstream: str | None = None          # MEP: key of the segment whose outlet port feeds this one


@dataclass(frozen=True, slots=True)
class SystemPlan:
    """A distribution system: key, name, IfcDistributionSystemEnum value, and its segment class."""

    key: str
    name: str
    predefined_type: str
    segment_class: str


@dataclass(frozen=True, slots=True)
class StairGeometry:
    risers: int
    riser: float
    going: float
    run: float
    end_depth: float


@dataclass(frozen=True, slots=True)
class Layout:
    """The whole building as data: storeys, grid, parts and the design manifest (clashes, supports)."""

    spec: BuildingSpec
    storeys: tuple[tuple[str, float], ...]          # (name, elevation m)
    grid_x: tuple[tuple[str, float], ...]           # (label, x) of the lines along y
    grid_y: tuple[tuple[str, float], ...]           # (label, y) of the lines along x
    zone_bounds: tuple[float, ...]                   # x of the zone boundaries, zones + 1 values
    parts: tuple[Part, ...]
    systems: tuple[SystemPlan, ...]
    clashes: tuple[tuple[str, str], ...]             # (mep part key, beam part key)
    supports: tuple[tuple[str, str], ...]            # (supported key, supporting key)

    def zone_names(self) -> tuple[str, ...]:
        return tuple(zone_name(i) for i in range(len(self.zone_bounds) - 1))

    def world_bounds(self, part: Part) -> tuple[tuple[float, float, float], tuple[float, float, float]] | None:
        """World axis-aligned box of ``part`` (None without a shape)."""
        if part.shape is None:
            return None
        lo, hi = part.shape.local_bounds()
        corners = [(x, y) for x in (lo[0], hi[0]) for y in (lo[1], hi[1])]
        ca, sa = _cos_sin(part.direction)
        pts = [(part.origin[0] + ca * x - sa * y, part.origin[1] + sa * x + ca * y) for x, y in corners]
        z0 = self.storeys[part.storey][1] + part.origin[2]
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        return (min(xs), min(ys), z0 + lo[2]), (max(xs), max(ys), z0 + hi[2])


def _cos_sin(direction: int) -> tuple[int, int]:
    return {0: (1, 0), 90: (0, 1), 180: (-1, 0), 270: (0, -1)}[direction]


def polygon_area(points: tuple[Point2, ...]) -> float:
    """Area of a simple polygon (shoelace), m2; the sign is dropped."""
    s = 0.0
    n = len(points)
    for i in range(n):
        x0, y0 = points[i]
        x1, y1 = points[(i + 1) % n]
        s += x0 * y1 - x1 * y0
    return abs(s) / 2


def polygon_perimeter(points: tuple[Point2, ...]) -> float:
    n = len(points)
    return sum(math.dist(points[i], points[(i + 1) % n]) for i in range(n))


def axis_label(i: int) -> str:
    """Letters for grid lines along x: 0 -> "A", 25 -> "Z", 26 -> "AA"."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def zone_name(i: int) -> str:
    return f"Zone {i + 1}"


def storey_name(k: int, storeys: int) -> str:
    return "Roof" if k == storeys else f"Level {k:02d}"


def stair_geometry(spec: BuildingSpec) -> StairGeometry:
    s = spec.sections
    n = math.ceil(spec.storey_height / s.riser_max - 1e-9)
    return StairGeometry(
        risers=n, riser=spec.storey_height / n, going=s.going, run=(n - 1) * s.going, end_depth=s.slab + 0.2
    )


def _r(v: float) -> float:
    """Round to 0.1 mm so that equal lengths compare equal (and shared shapes are found)."""
    return round(v, 4) + 0.0


# -- element counts -------------------------------------------------------------------------------


def _mep_rows(nx: int, ny: int) -> list[tuple[int, int]]:
    """(row, first bay) of every MEP row: odd rows, or row 0 after the core bay when ny == 1."""
    if ny == 1:
        return [(0, 1)]
    return [(iy, 0) for iy in range(1, ny, 2)]


MEP_RUNS = 4


def count_elements(storeys: int, bays: tuple[int, int], *, mep: bool = True, stairs: bool = True) -> int:
    """Number of IfcElement instances :func:`plan_building` makes, without building anything.

    Examples
    --------
    >>> count_elements(4, (4, 3))
    435
    """
    n, (nx, ny) = storeys, bays
    nodes = (nx + 1) * (ny + 1)
    total = nodes + n * nodes                                    # footings, columns
    total += n * ((ny + 1) * nx + (nx + 1) * ny)                 # beams
    total += (n + 1) * nx * ny + 1                               # slab panels, IfcRoof
    total += n * 2 * (nx + ny)                                   # external walls
    total += n * (1 + (1 if ny > 1 else 0))                      # core walls
    if stairs and n >= 2:
        total += 2 * (n - 1)                                     # IfcStair + IfcStairFlight
    if mep:
        total += n * MEP_RUNS * sum(nx - first + 1 for _, first in _mep_rows(nx, ny))
    return total


def size_for_elements(target: int, *, mep: bool = True, stairs: bool = True) -> tuple[int, tuple[int, int]]:
    """Storeys and bays whose building has about ``target`` elements (within 2 % when possible).

    Among the sizes within tolerance, the one with plan proportions near 3:2 and a storey count
    growing with the square root of the target wins, so big targets give plausible tall buildings.

    Examples
    --------
    >>> size_for_elements(50)
    (1, (3, 1))
    >>> s, b = size_for_elements(50_000); abs(count_elements(s, b) - 50_000) <= 1000
    True
    """
    if target < 1:
        raise InputError(f"target element count must be >= 1, got {target}")
    pref_storeys = min(max(round(math.sqrt(target) / 10), 1), 60)
    tol = max(2, 0.02 * target)
    best: tuple[float, float, int, tuple[int, int]] | None = None
    for n in range(1, 121):
        for ny in range(1, 201):
            base = count_elements(n, (2, ny), mep=mep, stairs=stairs)
            step = count_elements(n, (3, ny), mep=mep, stairs=stairs) - base
            if base > target + tol and ny > 1:
                break
            guess = 2 + max(0, round((target - base) / step))
            for nx in {max(2, guess - 1), max(2, guess), guess + 1}:
                err = abs(count_elements(n, (nx, ny), mep=mep, stairs=stairs) - target)
                shape = abs(math.log(nx / ny / 1.5)) + abs(math.log(n / pref_storeys))
                key = (0.0 if err <= tol else err, shape, n, (nx, ny))
                if best is None or key[:2] < best[:2]:
                    best = key
    assert best is not None
    return best[2], best[3]


MATERIALS: dict[str, tuple[str, float]] = {
    # name: (category, density kg/m3) -- densities of reinforced concrete include the rebar
    "Concrete C30/37": ("concrete", 2500.0),
    "Concrete C25/30": ("concrete", 2500.0),
    "Precast Concrete C40/50": ("concrete", 2500.0),
    "Galvanised Steel": ("steel", 7850.0),
    "Steel": ("steel", 7850.0),
    "Copper": ("copper", 8940.0),
}


# -- the plan ------------------------------------------------------------------------------------


def plan_building(spec: BuildingSpec) -> Layout:
    """Lay out every element of the demo building described by ``spec``.

    Returns
    -------
    Layout
        Parts in a deterministic order (storey by storey, trade by trade), plus the expected
        MEP/beam clashes and the designed bearing contacts (``supports``).
    """
    from twin.ifc.generate.builder import LayoutBuilder

    b = LayoutBuilder(spec)
    b.build()
    return Layout(
        spec=spec,
        storeys=tuple((storey_name(k, spec.storeys), _r(k * spec.storey_height)) for k in range(spec.storeys + 1)),
        grid_x=tuple((str(i + 1), x) for i, x in enumerate(b.xs)),
        grid_y=tuple((axis_label(j), y) for j, y in enumerate(b.ys)),
        zone_bounds=tuple(b.zone_bounds),
        parts=tuple(b.parts),
        systems=tuple(b.systems.values()),
        clashes=tuple(b.clashes),
        supports=tuple(b.supports),
    )
