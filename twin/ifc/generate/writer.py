"""Write a :class:`~twin.ifc.generate.layout.Layout` as an IFC4 file, fast enough for 50,000 elements.

Entities are made with ``file.create_entity`` (no ``ifcopenshell.api`` in the loop). Everything that
repeats is shared: one ``IfcRepresentationMap`` and one ``IfcMappedItem`` per distinct shape, one
property set or quantity set per distinct content (related to all its elements by a single
``IfcRelDefinesByProperties``), one relationship per storey, type, material and system, cached
points and directions. Each element still has its own placement and ``IfcProductDefinitionShape``.

GlobalIds are ``ifcopenshell.guid.compress(uuid5(NAMESPACE, f"{seed}/{key}").hex)``, and the header
carries a fixed time stamp, so the same layout and seed give the same bytes.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, Callable

import ifcopenshell
import ifcopenshell.guid

from twin.atomic import atomic_path
from twin.ifc.generate.layout import MATERIALS, Layout, Part, PropSet, QtoSet, Shape

__all__ = ["write_layout", "guid_for", "HEADER_TIME_STAMP"]

NAMESPACE = uuid.UUID("6f1d3a52-8c2e-4e0b-9a57-2f5c1c7e4b10")
HEADER_TIME_STAMP = "2025-01-01T00:00:00"

STYLES: dict[str, tuple[float, float, float, float]] = {   # r, g, b, transparency
    "concrete": (0.72, 0.72, 0.70, 0.0),
    "concrete-slab": (0.80, 0.80, 0.78, 0.0),
    "concrete-footing": (0.55, 0.52, 0.48, 0.0),
    "precast": (0.86, 0.82, 0.72, 0.0),
    "duct": (0.25, 0.55, 0.85, 0.0),
    "pipe-chw": (0.10, 0.70, 0.40, 0.0),
    "pipe-dcw": (0.85, 0.35, 0.15, 0.0),
}
_QTY_ENTITY = {"length": ("IfcQuantityLength", "LengthValue"), "area": ("IfcQuantityArea", "AreaValue"),
               "volume": ("IfcQuantityVolume", "VolumeValue"), "weight": ("IfcQuantityWeight", "WeightValue")}


def guid_for(seed: int, key: str) -> str:
    """Stable GlobalId of the thing called ``key`` in the building generated with ``seed``."""
    return ifcopenshell.guid.compress(uuid.uuid5(NAMESPACE, f"{seed}/{key}").hex)


class _Writer:
    def __init__(self, layout: Layout, seed: int, file_name: str) -> None:
        self.layout = layout
        self.seed = seed
        self.f = ifcopenshell.file(schema="IFC4")
        self.c = self.f.create_entity
        self._points: dict[tuple[float, ...], Any] = {}
        self._dirs: dict[tuple[float, ...], Any] = {}
        self._placements3d: dict[tuple, Any] = {}
        self._maps: dict[Shape, Any] = {}
        self._styles: dict[str, Any] = {}
        self._psets: dict[tuple, Any] = {}
        self.guids: dict[str, str] = {}
        self._outlets: dict[str, Any] = {}
        self._set_header(file_name)

    # -- small shared pieces ---------------------------------------------------------------------
    def gid(self, key: str) -> str:
        g = guid_for(self.seed, key)
        self.guids[key] = g
        return g

    def point(self, *xyz: float) -> Any:
        key = tuple(float(v) + 0.0 for v in xyz)
        p = self._points.get(key)
        if p is None:
            p = self._points[key] = self.c("IfcCartesianPoint", key)
        return p

    def direction(self, *xyz: float) -> Any:
        key = tuple(float(v) for v in xyz)
        d = self._dirs.get(key)
        if d is None:
            d = self._dirs[key] = self.c("IfcDirection", key)
        return d

    def axis3d(self, origin: tuple[float, float, float], axis=None, ref=None) -> Any:
        key = (origin, axis, ref)
        a = self._placements3d.get(key)
        if a is None:
            kw = {"Axis": self.direction(*axis), "RefDirection": self.direction(*ref)} if axis else {}
            a = self._placements3d[key] = self.c("IfcAxis2Placement3D", self.point(*origin), **kw)
        return a

    def _set_header(self, file_name: str) -> None:
        h = self.f.header
        h.file_description.description = ("ViewDefinition [ReferenceView_V1.2]",)
        h.file_name.name = file_name
        h.file_name.time_stamp = HEADER_TIME_STAMP
        h.file_name.author = ("twin",)
        h.file_name.organization = ("twin",)
        h.file_name.preprocessor_version = "twin.ifc.generate (IfcOpenShell)"
        h.file_name.originating_system = "twin demo-building generator"
        h.file_name.authorization = "none"

    # -- project, units, contexts, spatial structure -----------------------------------------------
    def project(self) -> None:
        c = self.c
        units = [c("IfcSIUnit", UnitType=u, Prefix=p, Name=n) for u, p, n in (
            ("LENGTHUNIT", None, "METRE"), ("AREAUNIT", None, "SQUARE_METRE"), ("VOLUMEUNIT", None, "CUBIC_METRE"),
            ("MASSUNIT", "KILO", "GRAM"), ("PLANEANGLEUNIT", None, "RADIAN"), ("TIMEUNIT", None, "SECOND"))]
        density = c("IfcDerivedUnit", Elements=[c("IfcDerivedUnitElement", units[3], 1),
                                                c("IfcDerivedUnitElement", units[0], -3)], UnitType="MASSDENSITYUNIT")
        self.model_ctx = c("IfcGeometricRepresentationContext", ContextType="Model", CoordinateSpaceDimension=3,
                           Precision=1e-5, WorldCoordinateSystem=self.axis3d((0.0, 0.0, 0.0)),
                           TrueNorth=self.c("IfcDirection", (0.0, 1.0)))
        self.body_ctx = c("IfcGeometricRepresentationSubContext", ContextIdentifier="Body", ContextType="Model",
                          ParentContext=self.model_ctx, TargetView="MODEL_VIEW")
        self.plan_ctx = c("IfcGeometricRepresentationContext", ContextType="Plan", CoordinateSpaceDimension=2,
                          Precision=1e-5, WorldCoordinateSystem=c("IfcAxis2Placement2D", c("IfcCartesianPoint", (0.0, 0.0))))
        self.foot_ctx = c("IfcGeometricRepresentationSubContext", ContextIdentifier="FootPrint", ContextType="Plan",
                          ParentContext=self.plan_ctx, TargetView="PLAN_VIEW")
        spec = self.layout.spec
        self.proj = c("IfcProject", self.gid("project"), Name=spec.name, LongName="twin demo building",
                      Phase="Construction", RepresentationContexts=[self.model_ctx, self.plan_ctx],
                      UnitsInContext=c("IfcUnitAssignment", [*units, density]))
        site_lp = c("IfcLocalPlacement", None, self.axis3d((0.0, 0.0, 0.0)))
        self.site = c("IfcSite", self.gid("site"), Name="Site", ObjectPlacement=site_lp, CompositionType="ELEMENT")
        bld_lp = c("IfcLocalPlacement", site_lp, self.axis3d((0.0, 0.0, 0.0)))
        self.building = c("IfcBuilding", self.gid("building"), Name=spec.name, ObjectPlacement=bld_lp,
                          CompositionType="ELEMENT")
        self.storeys, self.storey_lps = [], []
        for k, (name, elev) in enumerate(self.layout.storeys):
            lp = c("IfcLocalPlacement", bld_lp, self.axis3d((0.0, 0.0, elev)))
            self.storey_lps.append(lp)
            self.storeys.append(c("IfcBuildingStorey", self.gid(f"storey/{k}"), Name=name, ObjectPlacement=lp,
                                  CompositionType="ELEMENT", Elevation=elev,
                                  Description="roof level" if k == spec.storeys else None))
        c("IfcRelAggregates", self.gid("rel/project-site"), RelatingObject=self.proj, RelatedObjects=[self.site])
        c("IfcRelAggregates", self.gid("rel/site-building"), RelatingObject=self.site, RelatedObjects=[self.building])
        c("IfcRelAggregates", self.gid("rel/building-storeys"), RelatingObject=self.building,
          RelatedObjects=self.storeys)

    def grid(self) -> Any:
        c = self.c
        lay = self.layout
        xs = [x for _, x in lay.grid_x]
        ys = [y for _, y in lay.grid_y]
        ext = 2.0

        def axis(tag, p, q):
            curve = c("IfcPolyline", [c("IfcCartesianPoint", p), c("IfcCartesianPoint", q)])
            return c("IfcGridAxis", AxisTag=tag, AxisCurve=curve, SameSense=True)

        u = [axis(t, (x, ys[0] - ext), (x, ys[-1] + ext)) for t, x in lay.grid_x]
        v = [axis(t, (xs[0] - ext, y), (xs[-1] + ext, y)) for t, y in lay.grid_y]
        rep = c("IfcShapeRepresentation", self.foot_ctx, "FootPrint", "GeometricCurveSet",
                [c("IfcGeometricCurveSet", [a.AxisCurve for a in u + v])])
        return c("IfcGrid", self.gid("grid"), Name="Structural grid",
                 ObjectPlacement=c("IfcLocalPlacement", self.storey_lps[0], self.axis3d((0.0, 0.0, 0.0))),
                 Representation=c("IfcProductDefinitionShape", Representations=[rep]), UAxes=u, VAxes=v)

    # -- materials, styles, shapes -----------------------------------------------------------------
    def materials(self) -> None:
        c = self.c
        self.mats = {}
        for name, (category, density) in MATERIALS.items():
            m = c("IfcMaterial", name, None, category)
            c("IfcMaterialProperties", "Pset_MaterialCommon", None,
              [c("IfcPropertySingleValue", "MassDensity", None, c("IfcMassDensityMeasure", density), None)], m)
            self.mats[name] = m

    def style(self, name: str) -> Any:
        s = self._styles.get(name)
        if s is None:
            r, g, b, t = STYLES[name]
            shading = self.c("IfcSurfaceStyleShading", self.c("IfcColourRgb", None, r, g, b), t)
            s = self._styles[name] = self.c("IfcSurfaceStyle", name, "BOTH", [shading])
        return s

    def profile(self, shape: Shape) -> Any:
        c = self.c
        p = shape.profile
        if p.kind == "rect":
            xd, yd, cx, cy = p.params
            pos = c("IfcAxis2Placement2D", c("IfcCartesianPoint", (float(cx), float(cy)))) if (cx or cy) else None
            return c("IfcRectangleProfileDef", "AREA", None, pos, xd, yd)
        if p.kind == "circle":
            return c("IfcCircleProfileDef", "AREA", None, None, p.params[0])
        if p.kind == "tube":
            return c("IfcCircleHollowProfileDef", "AREA", None, None, p.params[0], p.params[1])

        def loop(pts):
            cps = [c("IfcCartesianPoint", (float(x), float(y))) for x, y in pts]
            return c("IfcPolyline", cps + [cps[0]])

        outer, voids = p.params
        if voids:
            return c("IfcArbitraryProfileDefWithVoids", "AREA", None, loop(outer), [loop(v) for v in voids])
        return c("IfcArbitraryClosedProfileDef", "AREA", None, loop(outer))

    def mapped_item(self, shape: Shape) -> Any:
        item = self._maps.get(shape)
        if item is not None:
            return item
        c = self.c
        if shape.axis == "z":
            pos = None
        elif shape.axis == "x":
            pos = self.axis3d((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0))
        else:   # profile (p, q) -> (x, z), extruded along +y from y=0 to depth
            pos = self.axis3d((0.0, float(shape.depth), 0.0), (0.0, -1.0, 0.0), (1.0, 0.0, 0.0))
        solid = c("IfcExtrudedAreaSolid", self.profile(shape), pos, self.direction(0.0, 0.0, 1.0), shape.depth)
        c("IfcStyledItem", solid, [self.style(shape.style)], None)
        rep = c("IfcShapeRepresentation", self.body_ctx, "Body", "SweptSolid", [solid])
        rmap = c("IfcRepresentationMap", self.axis3d((0.0, 0.0, 0.0)), rep)
        op = self._identity_op()
        item = self._maps[shape] = c("IfcMappedItem", rmap, op)
        return item

    def _identity_op(self) -> Any:
        if not hasattr(self, "_op"):
            self._op = self.c("IfcCartesianTransformationOperator3D", None, None, self.point(0.0, 0.0, 0.0), None, None)
        return self._op

    # -- property and quantity sets ----------------------------------------------------------------
    def pset(self, ps: PropSet) -> Any:
        e = self._psets.get(ps)
        if e is None:
            name, props = ps
            values = []
            for pname, ptype, value in props:
                if ptype in ("IfcMassDensityMeasure", "IfcPositiveLengthMeasure"):
                    value = float(value)
                values.append(self.c("IfcPropertySingleValue", pname, None, self.c(ptype, value), None))
            e = self._psets[ps] = self.c("IfcPropertySet", self.gid(f"pset/{name}/{props!r}"), None, name, None, values)
        return e

    def qto(self, q: QtoSet) -> Any:
        e = self._psets.get(q)
        if e is None:
            name, quantities = q
            items = []
            for qname, kind, value in quantities:
                ent, attr = _QTY_ENTITY[kind]
                items.append(self.c(ent, Name=qname, **{attr: float(value)}))
            e = self._psets[q] = self.c("IfcElementQuantity", self.gid(f"qto/{name}/{quantities!r}"), None, name,
                                        None, "BaseQuantities", items)
        return e

    # -- elements ------------------------------------------------------------------------------------
    def placement(self, part: Part, rel_to: Any) -> Any:
        d = part.direction
        ref = None if d == 0 else {90: (0.0, 1.0, 0.0), 180: (-1.0, 0.0, 0.0), 270: (0.0, -1.0, 0.0)}[d]
        axis = None if d == 0 else (0.0, 0.0, 1.0)
        return self.c("IfcLocalPlacement", rel_to, self.axis3d(part.origin, axis, ref))

    def elements(self, progress: Callable[[int, int], None] | None) -> None:
        c = self.c
        lay = self.layout
        by_key: dict[str, Any] = {}
        placements: dict[str, Any] = {}
        contained: dict[int, list] = {}
        children: dict[str, list] = {}
        typed: dict[tuple, list] = {}
        type_shapes: dict[tuple, set] = {}
        with_mat: dict[str, list] = {}
        defined: dict[Any, list] = {}
        grouped: dict[str, list] = {}
        total = len(lay.parts)
        for n, part in enumerate(lay.parts):
            rel_to = placements[part.parent] if part.parent else self.storey_lps[part.storey]
            lp = placements[part.key] = self.placement(part, rel_to)
            rep = None
            if part.shape is not None:
                srep = c("IfcShapeRepresentation", self.body_ctx, "Body", "MappedRepresentation",
                         [self.mapped_item(part.shape)])
                rep = c("IfcProductDefinitionShape", Representations=[srep])
            attrs = dict(part.attributes)
            el = c(part.ifc_class, self.gid(part.key), Name=part.name, ObjectPlacement=lp, Representation=rep,
                   Tag=part.tag, PredefinedType=part.predefined_type, **attrs)
            by_key[part.key] = el
            if part.parent:
                children.setdefault(part.parent, []).append(el)
            else:
                contained.setdefault(part.storey, []).append(el)
            if part.type_name:
                tkey = (part.ifc_class, part.type_name, part.predefined_type, part.type_psets)
                typed.setdefault(tkey, []).append(el)
                type_shapes.setdefault(tkey, set()).add(part.shape)
            if part.material:
                with_mat.setdefault(part.material, []).append(el)
            for ps in part.psets:
                defined.setdefault(self.pset(ps), []).append(el)
            if part.qto:
                defined.setdefault(self.qto(part.qto), []).append(el)
            if part.system:
                grouped.setdefault(part.system, []).append(el)
                self.ports(part, el, lp)
            if progress and (n % 500 == 0 or n == total - 1):
                progress(n + 1, total)
        self._relate(by_key, contained, children, typed, type_shapes, with_mat, defined, grouped)

    def ports(self, part: Part, el: Any, lp: Any) -> None:
        """Inlet (at x=0) and outlet (at x=length) ports of a segment, nested in it; the inlet is
        connected to the outlet of the upstream segment of the same run."""
        c = self.c
        kind = "DUCT" if part.ifc_class == "IfcDuctSegment" else "PIPE"
        system = next(s for s in self.layout.systems if s.key == part.system).predefined_type
        made = []
        for end, x, flow in (("in", 0.0, "SINK"), ("out", float(part.shape.depth), "SOURCE")):
            port = c("IfcDistributionPort", self.gid(f"{part.key}/port/{end}"), Name=f"{part.tag} {end}",
                     ObjectPlacement=c("IfcLocalPlacement", lp, self.axis3d((x, 0.0, 0.0))),
                     FlowDirection=flow, PredefinedType=kind, SystemType=system)
            made.append(port)
        c("IfcRelNests", self.gid(f"rel/nests/{part.key}"), RelatingObject=el, RelatedObjects=made)
        self._outlets[part.key] = made[1]
        if part.upstream:
            c("IfcRelConnectsPorts", self.gid(f"rel/connects/{part.key}"), RelatingPort=self._outlets[part.upstream],
              RelatedPort=made[0])

    def _relate(self, by_key, contained, children, typed, type_shapes, with_mat, defined, grouped) -> None:
        c = self.c
        for k, els in sorted(contained.items()):
            c("IfcRelContainedInSpatialStructure", self.gid(f"rel/contained/{k}"), RelatedElements=els,
              RelatingStructure=self.storeys[k])
        for parent, els in children.items():
            c("IfcRelAggregates", self.gid(f"rel/aggregates/{parent}"), RelatingObject=by_key[parent],
              RelatedObjects=els)
        for (cls, name, ptype, tpsets), els in typed.items():
            shapes = type_shapes[(cls, name, ptype, tpsets)]
            maps = [self.mapped_item(next(iter(shapes))).MappingSource] if len(shapes) == 1 else None
            t = c(f"{cls}Type", self.gid(f"type/{cls}/{name}/{ptype}"), Name=name, PredefinedType=ptype,
                  RepresentationMaps=maps, HasPropertySets=[self.pset(p) for p in tpsets] or None)
            c("IfcRelDefinesByType", self.gid(f"rel/type/{cls}/{name}/{ptype}"), RelatedObjects=els, RelatingType=t)
        for mat, els in with_mat.items():
            c("IfcRelAssociatesMaterial", self.gid(f"rel/material/{mat}"), RelatedObjects=els,
              RelatingMaterial=self.mats[mat])
        for pdef, els in defined.items():
            c("IfcRelDefinesByProperties", self.gid(f"rel/defines/{pdef.GlobalId}"), RelatedObjects=els,
              RelatingPropertyDefinition=pdef)
        for sp in self.layout.systems:
            system = c("IfcDistributionSystem", self.gid(f"system/{sp.key}"), Name=sp.name,
                       ObjectType=sp.predefined_type, PredefinedType=sp.predefined_type)
            c("IfcRelAssignsToGroup", self.gid(f"rel/group/{sp.key}"), RelatedObjects=grouped[sp.key],
              RelatingGroup=system)
            c("IfcRelServicesBuildings", self.gid(f"rel/services/{sp.key}"), RelatingSystem=system,
              RelatedBuildings=[self.building])


def write_layout(layout: Layout, path: str | os.PathLike[str], *, seed: int = 0,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, str]:
    """Write ``layout`` to ``path`` (IFC4, metres) atomically; return the GlobalId of every part key.

    The file is written to a temporary name beside ``path`` and renamed, so an interrupted run never
    leaves a half-written file. ``progress(done, total)`` is called as elements are made.
    """
    path = Path(path)
    w = _Writer(layout, seed, path.name)
    w.project()
    w.materials()
    grid = w.grid()
    w.elements(progress)
    w.c("IfcRelContainedInSpatialStructure", w.gid("rel/contained/grid"), RelatedElements=[grid],
        RelatingStructure=w.storeys[0])
    with atomic_path(path, suffix=".ifc") as tmp:
        w.f.write(str(tmp))
    return {p.key: w.guids[p.key] for p in layout.parts}
