"""The layout rules of the demo building, trade by trade: where every part goes and what it carries.

:class:`LayoutBuilder` fills the lists that :func:`twin.ifc.generate.layout.plan_building` turns
into a :class:`~twin.ifc.generate.layout.Layout`; the geometric conventions (grid, levels, member
positions, the MEP rule) are described at the top of :mod:`twin.ifc.generate.layout` and in
``docs/demo-building.md``. Pure Python, no ifcopenshell.
"""
from __future__ import annotations

import math

from twin.ifc.generate.layout import (
    MATERIALS,
    BuildingSpec,
    Part,
    Point2,
    Profile,
    PropSet,
    QtoSet,
    Quantity,
    Shape,
    SystemPlan,
    _mep_rows,
    _r,
    axis_label,
    polygon_area,
    polygon_perimeter,
    stair_geometry,
    storey_name,
    zone_name,
)

__all__ = ["LayoutBuilder"]


def _concrete_psets(common: str, ref: str, *, external: bool, loadbearing: bool, method: str,
                    strength: str, exposure: str, rebar: float) -> tuple[PropSet, ...]:
    return (
        (common, (("Reference", "IfcIdentifier", ref), ("IsExternal", "IfcBoolean", external),
                  ("LoadBearing", "IfcBoolean", loadbearing))),
        ("Pset_ConcreteElementGeneral", (("ConstructionMethod", "IfcLabel", method),
                                         ("StrengthClass", "IfcLabel", strength),
                                         ("ExposureClass", "IfcLabel", exposure),
                                         ("ReinforcementVolumeRatio", "IfcMassDensityMeasure", rebar))),
    )


def _q(name: str, kind: str, value: float) -> Quantity:
    return (name, kind, round(value, 6) + 0.0)



class LayoutBuilder:
    """Accumulates parts; one method per trade, each under ~50 lines."""

    def __init__(self, spec: BuildingSpec) -> None:
        self.spec = spec
        self.s = spec.sections
        nx, ny = spec.bays
        self.nx, self.ny = nx, ny
        self.xs = [_r(i * spec.bay_width[0]) for i in range(nx + 1)]
        self.ys = [_r(j * spec.bay_width[1]) for j in range(ny + 1)]
        self.ux = [str(i + 1) for i in range(nx + 1)]
        self.vy = [axis_label(j) for j in range(ny + 1)]
        self.H = spec.storey_height
        self.N = spec.storeys
        self.zone_bounds = [self.xs[(z * nx) // spec.zones] for z in range(spec.zones)] + [self.xs[-1]]
        self.parts: list[Part] = []
        self.keys: set[str] = set()
        self.clashes: list[tuple[str, str]] = []
        self.supports: list[tuple[str, str]] = []
        self.systems: dict[str, SystemPlan] = {}
        self.stairs = spec.stairs and self.N >= 2
        self.stair = stair_geometry(spec)

    # helpers
    def zone_of(self, x: float) -> int:
        """Zone index of a centroid x: boundaries belong to the lower (west) zone."""
        return sum(1 for bnd in self.zone_bounds[1:-1] if x > bnd + 1e-6)

    def add(self, part: Part) -> Part:
        if part.key in self.keys:
            raise AssertionError(f"duplicate part key {part.key}")
        self.keys.add(part.key)
        self.parts.append(part)
        return part

    def support(self, upper: str, lower: str) -> None:
        self.supports.append((upper, lower))

    def seq(self, trade: str, k: int, zone: int) -> PropSet:
        return ("Twin_Sequencing", (("Trade", "IfcLabel", trade), ("Zone", "IfcLabel", zone_name(zone)),
                                    ("Level", "IfcLabel", storey_name(k, self.N))))

    def beam_level_z(self) -> tuple[float, float]:
        """(bottom, top) of beams relative to the level they carry."""
        return _r(-self.s.slab - self.s.beam_depth), _r(-self.s.slab)

    def build(self) -> None:
        self.footings()
        for k in range(self.N + 1):
            self.slabs(k)
            if k >= 1:
                self.beams(k)
            if k < self.N:
                self.columns(k)
                self.walls(k)
                if self.stairs and k < self.N - 1:
                    self.stair_flight(k)
                if self.spec.mep:
                    self.mep(k)

    # structure
    def footings(self) -> None:
        s = self.s
        f = _r(min(1.2 + 0.2 * self.N, 0.8 * min(self.spec.bay_width)))
        h = s.footing_depth
        shape = Shape(Profile("rect", (f, f, 0.0, 0.0)), "z", h, "concrete-footing")
        v = f * f * h
        rho = MATERIALS["Concrete C25/30"][1]
        qto = ("Qto_FootingBaseQuantities", (
            _q("Length", "length", f), _q("Width", "length", f), _q("Height", "length", h),
            _q("CrossSectionArea", "area", f * h), _q("OuterSurfaceArea", "area", 4 * f * h),
            _q("GrossSurfaceArea", "area", 4 * f * h + 2 * f * f), _q("GrossVolume", "volume", v),
            _q("NetVolume", "volume", v), _q("GrossWeight", "weight", v * rho), _q("NetWeight", "weight", v * rho)))
        ref = f"PF{int(round(f * 1000))}x{int(round(h * 1000))}"
        for j, y in enumerate(self.ys):
            for i, x in enumerate(self.xs):
                zone = self.zone_of(x)
                self.add(Part(
                    key=f"footing/{self.vy[j]}{self.ux[i]}", ifc_class="IfcFooting", predefined_type="PAD_FOOTING",
                    name=f"Pad footing {self.vy[j]}{self.ux[i]}", tag=f"F-{self.vy[j]}{self.ux[i]}", storey=0,
                    trade="footings", zone=zone, type_name=ref, material="Concrete C25/30", shape=shape,
                    origin=(x, y, _r(-s.ground_slab - h)),
                    psets=(*_concrete_psets("Pset_FootingCommon", ref, external=False, loadbearing=True,
                                            method="In-Situ", strength="C25/30", exposure="XC2", rebar=60.0),
                           self.seq("footings", 0, zone)),
                    qto=qto))

    def columns(self, k: int) -> None:
        s = self.s
        c = s.column
        z0 = _r(-s.ground_slab) if k == 0 else 0.0
        length = _r(self.H - z0)
        shape = Shape(Profile("rect", (c, c, 0.0, 0.0)), "z", length, "concrete")
        v = c * c * length
        rho = MATERIALS["Concrete C30/37"][1]
        qto = ("Qto_ColumnBaseQuantities", (
            _q("Length", "length", length), _q("CrossSectionArea", "area", c * c),
            _q("OuterSurfaceArea", "area", 4 * c * length), _q("GrossSurfaceArea", "area", 4 * c * length + 2 * c * c),
            _q("NetSurfaceArea", "area", 4 * c * length + 2 * c * c), _q("GrossVolume", "volume", v),
            _q("NetVolume", "volume", v), _q("GrossWeight", "weight", v * rho), _q("NetWeight", "weight", v * rho)))
        ref = f"C{int(round(c * 1000))}x{int(round(c * 1000))}"
        for j, y in enumerate(self.ys):
            for i, x in enumerate(self.xs):
                zone = self.zone_of(x)
                edge = i in (0, self.nx) or j in (0, self.ny)
                key = f"column/{k:02d}/{self.vy[j]}{self.ux[i]}"
                self.add(Part(
                    key=key, ifc_class="IfcColumn", predefined_type="COLUMN",
                    name=f"Column {self.vy[j]}{self.ux[i]} {storey_name(k, self.N)}",
                    tag=f"C-{self.vy[j]}{self.ux[i]}-{k:02d}", storey=k, trade="columns", zone=zone,
                    type_name=ref, material="Concrete C30/37", shape=shape, origin=(x, y, z0),
                    psets=(*_concrete_psets("Pset_ColumnCommon", ref, external=edge, loadbearing=True,
                                            method="In-Situ", strength="C30/37",
                                            exposure="XC4" if edge else "XC1", rebar=180.0),
                           self.seq("columns", k, zone)),
                    qto=qto))
                below = f"footing/{self.vy[j]}{self.ux[i]}" if k == 0 else f"column/{k - 1:02d}/{self.vy[j]}{self.ux[i]}"
                self.support(key, below)

    def _beam_qto(self, length: float) -> QtoSet:
        s = self.s
        a = s.beam_width * s.beam_depth
        per = 2 * (s.beam_width + s.beam_depth)
        v = a * length
        rho = MATERIALS["Concrete C30/37"][1]
        return ("Qto_BeamBaseQuantities", (
            _q("Length", "length", length), _q("CrossSectionArea", "area", a),
            _q("OuterSurfaceArea", "area", per * length), _q("GrossSurfaceArea", "area", per * length + 2 * a),
            _q("NetSurfaceArea", "area", per * length + 2 * a), _q("GrossVolume", "volume", v),
            _q("NetVolume", "volume", v), _q("GrossWeight", "weight", v * rho), _q("NetWeight", "weight", v * rho)))

    def beams(self, k: int) -> None:
        """Beams carrying level ``k``: along x on every lettered line, along y on every numbered line."""
        s = self.s
        c = s.column
        zb, _ = self.beam_level_z()
        profile = Profile("rect", (s.beam_width, s.beam_depth, 0.0, s.beam_depth / 2))
        ref = f"B{int(round(s.beam_width * 1000))}x{int(round(s.beam_depth * 1000))}"
        for j, y in enumerate(self.ys):              # along x
            for i in range(self.nx):
                x0, x1 = self.xs[i] + c / 2, self.xs[i + 1] - c / 2
                self._beam(k, f"x/{self.vy[j]}/{self.ux[i]}", f"{self.vy[j]}/{self.ux[i]}-{self.ux[i + 1]}",
                           (_r(x0), y, zb), 0, _r(x1 - x0), profile, ref, j in (0, self.ny),
                           (f"{self.vy[j]}{self.ux[i]}", f"{self.vy[j]}{self.ux[i + 1]}"), (x0 + x1) / 2)
        for i, x in enumerate(self.xs):              # along y
            for j in range(self.ny):
                y0, y1 = self.ys[j] + c / 2, self.ys[j + 1] - c / 2
                self._beam(k, f"y/{self.ux[i]}/{self.vy[j]}", f"{self.ux[i]}/{self.vy[j]}-{self.vy[j + 1]}",
                           (x, _r(y0), zb), 90, _r(y1 - y0), profile, ref, i in (0, self.nx),
                           (f"{self.vy[j]}{self.ux[i]}", f"{self.vy[j + 1]}{self.ux[i]}"), x)

    def _beam(self, k, key, label, origin, direction, length, profile, ref, edge, ends, cx) -> None:
        zone = self.zone_of(cx)
        bkey = f"beam/{k:02d}/{key}"
        self.add(Part(
            key=bkey, ifc_class="IfcBeam", predefined_type="BEAM", name=f"Beam {label} {storey_name(k, self.N)}",
            tag=f"B-{label}-{k:02d}", storey=k, trade="beams", zone=zone, type_name=ref,
            material="Concrete C30/37", shape=Shape(profile, "x", length, "concrete"), origin=origin,
            direction=direction,
            psets=(*_concrete_psets("Pset_BeamCommon", ref, external=edge, loadbearing=True, method="In-Situ",
                                    strength="C30/37", exposure="XC4" if edge else "XC1", rebar=150.0),
                   self.seq("beams", k, zone)),
            qto=self._beam_qto(length)))
        for node in ends:
            self.support(bkey, f"column/{k - 1:02d}/{node}")

    def slab_outline(self, i: int, j: int) -> tuple[Point2, ...]:
        """Plan polygon (counter-clockwise, relative to grid node (i, j)) of bay (i, j)'s slab panel."""
        h = self.s.column / 2
        bx = self.xs[i + 1] - self.xs[i]
        by = self.ys[j + 1] - self.ys[j]
        xa = -h if i == 0 else 0.0
        xb = bx + h if i == self.nx - 1 else bx
        ya = -h if j == 0 else 0.0
        yb = by + h if j == self.ny - 1 else by
        lx, rx, ly, ry = h, bx - h, h, by - h   # inner faces of the columns at the four corners
        pts = [(lx, ya), (rx, ya), (rx, ly), (xb, ly), (xb, ry), (rx, ry), (rx, yb), (lx, yb), (lx, ry),
               (xa, ry), (xa, ly), (lx, ly)]
        return tuple((_r(x), _r(y)) for x, y in pts)

    def stair_lanes(self) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        """Lanes A and B of the core stair: (x start, y min, y max) relative to grid node A1."""
        s = self.s
        x0 = s.column / 2 + s.stair_width           # landing as wide as the stair at the foot of lane A
        y0 = s.column / 2 + 0.2
        w = s.stair_width
        return (_r(x0), _r(y0), _r(y0 + w)), (_r(x0), _r(y0 + w), _r(y0 + 2 * w))

    def stair_opening(self, k: int) -> tuple[Point2, ...] | None:
        """Opening in the core slab of level ``k`` over the flight arriving from storey k-1."""
        if not self.stairs or not 1 <= k <= self.N - 1:
            return None
        x0, y0, y1 = self.stair_lanes()[(k - 1) % 2]
        x1 = x0 + self.stair.run
        return tuple((_r(x), _r(y)) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)))

    def slabs(self, k: int) -> None:
        s = self.s
        if k == 0:
            t, ptype, trade, mat, qname, strength = s.ground_slab, "BASESLAB", "slabs", "Concrete C25/30", "Slab", "C25/30"
        elif k == self.N:
            t, ptype, trade, mat, qname, strength = s.slab, "ROOF", "roof", "Concrete C30/37", "Roof slab", "C30/37"
        else:
            t, ptype, trade, mat, qname, strength = s.slab, "FLOOR", "slabs", "Concrete C30/37", "Slab", "C30/37"
        roof_key = "roof"
        if k == self.N:
            rz = self.zone_of(self.xs[-1] / 2)
            self.add(Part(key=roof_key, ifc_class="IfcRoof", predefined_type="FLAT_ROOF", name="Roof",
                          tag="R-01", storey=k, trade="roof", zone=rz, type_name=None, material=None, shape=None,
                          psets=(("Pset_RoofCommon", (("IsExternal", "IfcBoolean", True),)), self.seq("roof", k, rz)),
                          qto=self._roof_qto()))
        rho = MATERIALS[mat][1]
        common = "Pset_SlabCommon"
        for j in range(self.ny):
            for i in range(self.nx):
                outer = self.slab_outline(i, j)
                opening = self.stair_opening(k) if (i, j) == (0, 0) else None
                profile = Profile("poly", (outer, (opening,) if opening else ()))
                gross, net = polygon_area(outer), profile.area()
                xs = [p[0] for p in outer]
                qto = ("Qto_SlabBaseQuantities", (
                    _q("Width", "length", t), _q("Length", "length", max(xs) - min(xs)), _q("Depth", "length", t),
                    _q("Perimeter", "length", polygon_perimeter(outer)), _q("GrossArea", "area", gross),
                    _q("NetArea", "area", net), _q("GrossVolume", "volume", gross * t),
                    _q("NetVolume", "volume", net * t), _q("GrossWeight", "weight", gross * t * rho),
                    _q("NetWeight", "weight", net * t * rho)))
                cx = self.xs[i] + (max(xs) + min(xs)) / 2
                zone = self.zone_of(cx)
                bay = f"{self.vy[j]}{self.ux[i]}"
                key = f"slab/{k:02d}/{bay}"
                ref = f"S{int(round(t * 1000))} {strength}"
                self.add(Part(
                    key=key, ifc_class="IfcSlab", predefined_type=ptype, name=f"{qname} {bay} {storey_name(k, self.N)}",
                    tag=f"S-{bay}-{k:02d}", storey=k, trade=trade, zone=zone, type_name=ref, material=mat,
                    shape=Shape(profile, "z", t, "concrete-slab" if k else "concrete-footing"),
                    origin=(self.xs[i], self.ys[j], _r(-t)),
                    psets=(*_concrete_psets(common, ref, external=k in (0, self.N), loadbearing=True,
                                            method="In-Situ", strength=strength, exposure="XC3", rebar=110.0),
                           self.seq(trade, k, zone)),
                    qto=qto, parent=roof_key if k == self.N else None))
                self._slab_supports(k, i, j, key)

    def _slab_supports(self, k: int, i: int, j: int, key: str) -> None:
        if k == 0:   # slab on grade; its soffit also bears on the footing tops around the columns
            for jj in (j, j + 1):
                for ii in (i, i + 1):
                    self.support(key, f"footing/{self.vy[jj]}{self.ux[ii]}")
            return
        for jj in (j, j + 1):
            self.support(key, f"beam/{k:02d}/x/{self.vy[jj]}/{self.ux[i]}")
        for ii in (i, i + 1):
            self.support(key, f"beam/{k:02d}/y/{self.ux[ii]}/{self.vy[j]}")

    def _roof_qto(self) -> QtoSet:
        c = self.s.column
        area = (self.xs[-1] + c) * (self.ys[-1] + c)
        return ("Qto_RoofBaseQuantities", (_q("GrossArea", "area", area), _q("NetArea", "area", area),
                                           _q("ProjectedArea", "area", area)))

    # envelope and core
    def walls(self, k: int) -> None:
        s = self.s
        c = s.column
        zb, _ = self.beam_level_z()
        top = self.H + zb                               # beam soffit above, relative to this storey
        h_ext = _r(top - s.head_joint)
        h_core = _r(top)
        for j in (0, self.ny):                          # along x, north and south faces
            off = -(c / 2 - s.wall / 2) if j == 0 else c / 2 - s.wall / 2       # outer face flush with columns
            for i in range(self.nx):
                x0, x1 = self.xs[i] + c / 2, self.xs[i + 1] - c / 2
                self._wall(k, f"x/{self.vy[j]}/{self.ux[i]}", f"{self.vy[j]}/{self.ux[i]}-{self.ux[i + 1]}",
                           (_r(x0), _r(self.ys[j] + off), 0.0), 0, _r(x1 - x0), h_ext, False, (x0 + x1) / 2, i, j)
        for i in (0, self.nx):                          # along y, west and east faces
            off = -(c / 2 - s.wall / 2) if i == 0 else c / 2 - s.wall / 2
            for j in range(self.ny):
                y0, y1 = self.ys[j] + c / 2, self.ys[j + 1] - c / 2
                self._wall(k, f"y/{self.ux[i]}/{self.vy[j]}", f"{self.ux[i]}/{self.vy[j]}-{self.vy[j + 1]}",
                           (_r(self.xs[i] + off), _r(y0), 0.0), 90, _r(y1 - y0), h_ext, False,
                           self.xs[i] + off, i, j)
        # core shear walls: east side (line 2) and north side (line B) of bay A1, when interior
        x0, x1 = self.xs[0] + c / 2, self.xs[1] - c / 2
        y0, y1 = self.ys[0] + c / 2, self.ys[1] - c / 2
        self._wall(k, f"core/y/{self.ux[1]}", f"{self.ux[1]}/{self.vy[0]}-{self.vy[1]}", (self.xs[1], _r(y0), 0.0),
                   90, _r(y1 - y0), h_core, True, self.xs[1], 1, 0)
        if self.ny > 1:
            self._wall(k, f"core/x/{self.vy[1]}", f"{self.vy[1]}/{self.ux[0]}-{self.ux[1]}", (_r(x0), self.ys[1], 0.0),
                       0, _r(x1 - x0), h_core, True, (x0 + x1) / 2, 0, 1)

    def _wall(self, k, key, label, origin, direction, length, height, core, cx, i, j) -> None:
        s = self.s
        t = s.core_wall if core else s.wall
        zone = self.zone_of(cx)
        mat = "Concrete C30/37" if core else "Precast Concrete C40/50"
        rho = MATERIALS[mat][1]
        v = length * t * height
        ref = f"{'CW' if core else 'EW'}{int(round(t * 1000))}"
        wkey = f"wall/{k:02d}/{key}"
        trade = "walls-core" if core else "walls-external"
        self.add(Part(
            key=wkey, ifc_class="IfcWall", predefined_type="SHEAR" if core else "SOLIDWALL",
            name=f"{'Core wall' if core else 'External wall'} {label} {storey_name(k, self.N)}",
            tag=f"{'CW' if core else 'W'}-{label}-{k:02d}", storey=k, trade=trade, zone=zone, type_name=ref,
            material=mat, shape=Shape(Profile("rect", (t, height, 0.0, height / 2)), "x", length,
                                      "concrete" if core else "precast"),
            origin=origin, direction=direction,
            psets=(*_concrete_psets("Pset_WallCommon", ref, external=not core, loadbearing=core,
                                    method="In-Situ" if core else "Precast", strength="C30/37" if core else "C40/50",
                                    exposure="XC1" if core else "XC4", rebar=90.0 if core else 60.0),
                   self.seq(trade, k, zone)),
            qto=("Qto_WallBaseQuantities", (
                _q("Length", "length", length), _q("Width", "length", t), _q("Height", "length", height),
                _q("GrossFootprintArea", "area", length * t), _q("NetFootprintArea", "area", length * t),
                _q("GrossSideArea", "area", length * height), _q("NetSideArea", "area", length * height),
                _q("GrossVolume", "volume", v), _q("NetVolume", "volume", v),
                _q("GrossWeight", "weight", v * rho), _q("NetWeight", "weight", v * rho)))))
        # the wall bears on the slab panel(s) under it; a core wall carries the beam above it
        bays = [(i - 1, j), (i, j)] if key.startswith("core/y") else [(i, j - 1), (i, j)] if key.startswith("core/x") \
            else [(min(i, self.nx - 1), min(j, self.ny - 1))]
        for bi, bj in bays:
            self.support(wkey, f"slab/{k:02d}/{self.vy[bj]}{self.ux[bi]}")
        if core:
            beam = (f"beam/{k + 1:02d}/y/{self.ux[1]}/{self.vy[0]}" if key.startswith("core/y")
                    else f"beam/{k + 1:02d}/x/{self.vy[1]}/{self.ux[0]}")
            self.support(beam, wkey)

    def stair_flight(self, k: int) -> None:
        """Flight from level k to k+1 in lane k % 2 of the core bay (scissor stair)."""
        s = self.s
        st = self.stair
        x0, y0, y1 = self.stair_lanes()[k % 2]
        up = k % 2 == 0                                  # lane A climbs +x, lane B climbs -x
        n, r, g = st.risers, st.riser, st.going
        H = self.H
        # bearing at the foot, soffit, end face against the slab edge above (the slab edge is the last riser)
        pts = [(0.0, 0.0), (g, 0.0), (st.run, H - st.end_depth)]
        for i in range(n - 1, 0, -1):
            pts += [(i * g, i * r), ((i - 1) * g, i * r)]
        pts = [(_r(u), _r(z)) for u, z in pts]
        profile = Profile("poly", (tuple(pts), ()))
        w = _r(y1 - y0)
        area = profile.area()
        v = area * w
        rho = MATERIALS["Concrete C30/37"][1]
        origin = (_r(self.xs[0] + x0), _r(self.ys[0] + y0), 0.0) if up else \
            (_r(self.xs[0] + x0 + st.run), _r(self.ys[0] + y1), 0.0)
        zone = self.zone_of(self.xs[0] + x0 + st.run / 2)
        skey = f"stair/{k:02d}"
        self.add(Part(key=skey, ifc_class="IfcStair", predefined_type="STRAIGHT_RUN_STAIR",
                      name=f"Core stair {storey_name(k, self.N)}", tag=f"ST-{k:02d}", storey=k, trade="stairs",
                      zone=zone, type_name=None, material=None, shape=None,
                      psets=(("Pset_StairCommon", (("NumberOfRiser", "IfcCountMeasure", n),
                                                   ("NumberOfTreads", "IfcCountMeasure", n - 1),
                                                   ("RiserHeight", "IfcPositiveLengthMeasure", _r(r)),
                                                   ("TreadLength", "IfcPositiveLengthMeasure", g),
                                                   ("IsExternal", "IfcBoolean", False),
                                                   ("FireExit", "IfcBoolean", True))),
                             self.seq("stairs", k, zone))))
        fkey = f"flight/{k:02d}"
        self.add(Part(
            key=fkey, ifc_class="IfcStairFlight", predefined_type="STRAIGHT",
            name=f"Stair flight {storey_name(k, self.N)}", tag=f"SF-{k:02d}", storey=k, trade="stairs", zone=zone,
            type_name=f"SF{int(round(w * 1000))}", material="Concrete C30/37",
            shape=Shape(profile, "y", w, "concrete"), origin=origin, direction=0 if up else 180,
            psets=(("Pset_StairFlightCommon", (("Reference", "IfcIdentifier", f"SF{int(round(w * 1000))}"),
                                               ("NumberOfRiser", "IfcCountMeasure", n),
                                               ("NumberOfTreads", "IfcCountMeasure", n - 1),
                                               ("RiserHeight", "IfcPositiveLengthMeasure", _r(r)),
                                               ("TreadLength", "IfcPositiveLengthMeasure", g))),
                   _concrete_psets("", "", external=False, loadbearing=True, method="In-Situ", strength="C30/37",
                                   exposure="XC1", rebar=100.0)[1], self.seq("stairs", k, zone)),
            qto=("Qto_StairFlightBaseQuantities", (
                _q("Length", "length", math.hypot(st.run, H)), _q("GrossArea", "area", st.run * w),
                _q("GrossVolume", "volume", v),
                _q("NetVolume", "volume", v), _q("GrossWeight", "weight", v * rho),
                _q("NetWeight", "weight", v * rho))),
            parent=skey,
            attributes=(("NumberOfRisers", n), ("NumberOfTreads", n - 1), ("RiserHeight", _r(r)),
                        ("TreadLength", g))))
        self.support(fkey, f"slab/{k:02d}/{self.vy[0]}{self.ux[0]}")
        self.support(fkey, f"slab/{k + 1:02d}/{self.vy[0]}{self.ux[0]}")

    # services
    def system(self, key: str, name: str, ptype: str, cls: str) -> str:
        if key not in self.systems:
            self.systems[key] = SystemPlan(key, name, ptype, cls)
        return key

    def mep(self, k: int) -> None:
        """Four runs along x per MEP row at the ceiling of storey ``k``; two of them through the beams."""
        s = self.s
        zb, _ = self.beam_level_z()
        soffit = self.H + zb                       # beam soffit of the level above, relative to storey k
        mid = soffit + s.beam_depth / 2
        runs = (  # system key, name, enum, class, profile, section (w, h) or (r, t), dy from row centre, z centre, through
            ("SA", "Supply Air", "VENTILATION", "IfcDuctSegment", ("rect", 0.6, 0.3), -1.5, soffit - s.mep_clearance - 0.15, False),
            ("EA", "Extract Air", "EXHAUST", "IfcDuctSegment", ("rect", 0.5, 0.3), -0.5, mid, True),
            ("CHW", "Chilled Water", "CHILLEDWATER", "IfcPipeSegment", ("tube", 0.05715, 0.0036), 0.5, mid, True),
            ("DCW", "Domestic Cold Water", "DOMESTICCOLDWATER", "IfcPipeSegment", ("tube", 0.027, 0.0012), 1.2,
             soffit - s.mep_clearance - 0.027, False),
        )
        c = self.s.column
        for iy, first in _mep_rows(self.nx, self.ny):
            yc = (self.ys[iy] + self.ys[iy + 1]) / 2
            stops = [self.xs[first] + c / 2 + 0.6]
            stops += [(self.xs[i] + self.xs[i + 1]) / 2 for i in range(first, self.nx)]
            stops += [self.xs[-1] - c / 2 - 0.6]
            for code, name, ptype, cls, sec, dy, zc, through in runs:
                syskey = self.system(code, name, ptype, cls)
                for n in range(len(stops) - 1):
                    self._segment(k, iy, n, code, cls, syskey, sec, stops[n], stops[n + 1], yc + dy, zc, through,
                                  first)

    def _segment(self, k, iy, n, code, cls, syskey, sec, xa, xb, y, zc, through, first) -> None:
        length = _r(xb - xa)
        if sec[0] == "rect":
            w, h = sec[1], sec[2]
            profile = Profile("rect", (w, h, 0.0, 0.0))
            t = 0.0008
            net_a = w * h - (w - 2 * t) * (h - 2 * t)
            gross_a, outer = w * h, 2 * (w + h) * length
            mat, style, ref = "Galvanised Steel", "duct", f"D{int(round(w * 1000))}x{int(round(h * 1000))}"
            tps = ("Pset_DuctSegmentTypeCommon", (("Reference", "IfcIdentifier", ref), ("Shape", "IfcLabel", "RECTANGULAR"),
                                                  ("NominalDiameterOrWidth", "IfcPositiveLengthMeasure", w),
                                                  ("NominalHeight", "IfcPositiveLengthMeasure", h)))
        else:
            r, t = sec[1], sec[2]
            profile = Profile("tube", (r, t))
            net_a, gross_a, outer = profile.area(), math.pi * r * r, 2 * math.pi * r * length
            mat = "Steel" if code == "CHW" else "Copper"
            style, ref = ("pipe-chw" if code == "CHW" else "pipe-dcw"), f"P{int(round(2 * r * 1000))}"
            tps = ("Pset_PipeSegmentTypeCommon", (("Reference", "IfcIdentifier", ref),
                                                  ("OuterDiameter", "IfcPositiveLengthMeasure", _r(2 * r)),
                                                  ("InnerDiameter", "IfcPositiveLengthMeasure", _r(2 * (r - t)))))
        rho = MATERIALS[mat][1]
        weight = net_a * length * rho
        qname = "Qto_DuctSegmentBaseQuantities" if cls == "IfcDuctSegment" else "Qto_PipeSegmentBaseQuantities"
        zone = self.zone_of((xa + xb) / 2)
        key = f"{'duct' if cls == 'IfcDuctSegment' else 'pipe'}/{k:02d}/{code}/{self.vy[iy]}/{n}"
        trade = "ducts" if cls == "IfcDuctSegment" else "pipes"
        self.add(Part(
            key=key, ifc_class=cls, predefined_type="RIGIDSEGMENT",
            name=f"{self.systems[syskey].name} {self.vy[iy]}-{self.vy[iy + 1]} #{n + 1} {storey_name(k, self.N)}",
            tag=f"{code}-{self.vy[iy]}-{k:02d}-{n + 1}", storey=k, trade=trade, zone=zone, type_name=ref,
            material=mat, shape=Shape(profile, "x", length, style), origin=(_r(xa), _r(y), _r(zc)),
            psets=(self.seq(trade, k, zone),),
            qto=(qname, (_q("Length", "length", length), _q("GrossCrossSectionArea", "area", gross_a),
                         _q("NetCrossSectionArea", "area", net_a), _q("OuterSurfaceArea", "area", outer),
                         _q("GrossWeight", "weight", weight), _q("NetWeight", "weight", weight),
                         _q("GrossVolume", "volume", gross_a * length), _q("NetVolume", "volume", net_a * length))),
            system=syskey, type_psets=(tps,),
            upstream=f"{key.rsplit('/', 1)[0]}/{n - 1}" if n else None))
        if through and 0 < n < self.nx - first:
            # segment n runs from mid-bay (first + n - 1) to mid-bay (first + n): it crosses line first + n
            line = first + n
            self.clashes.append((key, f"beam/{k + 1:02d}/y/{self.ux[line]}/{self.vy[iy]}"))
