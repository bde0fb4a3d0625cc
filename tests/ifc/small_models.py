"""Small IFC files built in memory with ifcopenshell.api, for the reader, geometry and CLI tests.

``build_small_model`` makes an IFC4 file in millimetres with one storey holding: two walls with a
wall type (type property set, material), a duct segment without geometry in an HVAC system, an opening (a
feature element, excluded from elements), a virtual element (excluded), and optionally one proxy
whose Body representation is a broken faceted brep (a face with one point).
"""
from __future__ import annotations

from pathlib import Path

import ifcopenshell
import ifcopenshell.api.aggregate
import ifcopenshell.api.context
import ifcopenshell.api.geometry
import ifcopenshell.api.group
import ifcopenshell.api.material
import ifcopenshell.api.project
import ifcopenshell.api.pset
import ifcopenshell.api.root
import ifcopenshell.api.spatial
import ifcopenshell.api.system
import ifcopenshell.api.type
import ifcopenshell.api.unit


def build_small_model(path: Path, *, broken: bool = False, schema: str = "IFC4") -> dict[str, str]:
    """Write the model to ``path``; return the GlobalIds by role ("wall1", "wall2", "broken", ...)."""
    f = ifcopenshell.api.project.create_file(version=schema)
    project = ifcopenshell.api.root.create_entity(f, ifc_class="IfcProject", name="Small")
    length = ifcopenshell.api.unit.add_si_unit(f, unit_type="LENGTHUNIT", prefix="MILLI")
    area = ifcopenshell.api.unit.add_si_unit(f, unit_type="AREAUNIT")
    volume = ifcopenshell.api.unit.add_si_unit(f, unit_type="VOLUMEUNIT")
    ifcopenshell.api.unit.assign_unit(f, units=[length, area, volume])
    model = ifcopenshell.api.context.add_context(f, context_type="Model")
    body = ifcopenshell.api.context.add_context(
        f, context_type="Model", context_identifier="Body", target_view="MODEL_VIEW", parent=model
    )
    site = ifcopenshell.api.root.create_entity(f, ifc_class="IfcSite", name="Site")
    building = ifcopenshell.api.root.create_entity(f, ifc_class="IfcBuilding", name="Building")
    storey = ifcopenshell.api.root.create_entity(f, ifc_class="IfcBuildingStorey", name="Level 1")
    storey.Elevation = 3000.0
    ifcopenshell.api.aggregate.assign_object(f, relating_object=project, products=[site])
    ifcopenshell.api.aggregate.assign_object(f, relating_object=site, products=[building])
    ifcopenshell.api.aggregate.assign_object(f, relating_object=building, products=[storey])

    wall_type = ifcopenshell.api.root.create_entity(f, ifc_class="IfcWallType", name="WT200", predefined_type="SOLID")
    concrete = ifcopenshell.api.material.add_material(f, name="Concrete")
    ifcopenshell.api.material.assign_material(f, products=[wall_type], material=concrete)
    type_pset = ifcopenshell.api.pset.add_pset(f, product=wall_type, name="Pset_WallCommon")
    ifcopenshell.api.pset.edit_pset(f, pset=type_pset, properties={"IsExternal": True, "FireRating": "REI60"})

    ids: dict[str, str] = {}
    walls = []
    for i, x in enumerate((0.0, 6000.0)):
        wall = ifcopenshell.api.root.create_entity(f, ifc_class="IfcWall", name=f"Wall {i + 1}")
        rep = ifcopenshell.api.geometry.add_wall_representation(f, context=body, length=5.0, height=3.0, thickness=0.2)
        ifcopenshell.api.geometry.assign_representation(f, product=wall, representation=rep)
        matrix = [[1.0, 0.0, 0.0, x], [0.0, 1.0, 0.0, 1000.0], [0.0, 0.0, 1.0, 3000.0], [0.0, 0.0, 0.0, 1.0]]
        ifcopenshell.api.geometry.edit_object_placement(f, product=wall, matrix=matrix, is_si=False)
        ifcopenshell.api.type.assign_type(f, related_objects=[wall], relating_type=wall_type)
        walls.append(wall)
        ids[f"wall{i + 1}"] = wall.GlobalId
    ifcopenshell.api.spatial.assign_container(f, relating_structure=storey, products=walls)

    own = ifcopenshell.api.pset.add_pset(f, product=walls[0], name="Pset_WallCommon")
    ifcopenshell.api.pset.edit_pset(f, pset=own, properties={"FireRating": "REI90"})
    custom = f.createIfcPropertySet(
        ifcopenshell.guid.new(), None, "Twin_Test", None,
        [f.createIfcPropertySingleValue("Offset", None, f.createIfcLengthMeasure(250.0), None)],
    )
    f.createIfcRelDefinesByProperties(ifcopenshell.guid.new(), None, None, None, [walls[0]], custom)
    qto = ifcopenshell.api.pset.add_qto(f, product=walls[0], name="Qto_WallBaseQuantities")
    ifcopenshell.api.pset.edit_qto(
        f, qto=qto, properties={"Length": 5000.0, "NetSideArea": 15.0, "NetVolume": 3.0}
    )

    system = ifcopenshell.api.system.add_system(f, ifc_class="IfcDistributionSystem")
    system.Name = "Supply air"
    duct = ifcopenshell.api.root.create_entity(f, ifc_class="IfcDuctSegment", name="Duct", predefined_type="RIGIDSEGMENT")
    ifcopenshell.api.spatial.assign_container(f, relating_structure=storey, products=[duct])
    ifcopenshell.api.system.assign_system(f, products=[duct], system=system)
    ids["duct"] = duct.GlobalId

    opening = ifcopenshell.api.root.create_entity(f, ifc_class="IfcOpeningElement", name="Hole")
    virtual = ifcopenshell.api.root.create_entity(f, ifc_class="IfcVirtualElement", name="Boundary")
    ifcopenshell.api.spatial.assign_container(f, relating_structure=storey, products=[virtual])
    ids["opening"] = opening.GlobalId
    ids["virtual"] = virtual.GlobalId

    if broken:
        proxy = ifcopenshell.api.root.create_entity(f, ifc_class="IfcBuildingElementProxy", name="Broken")
        loop = f.createIfcPolyLoop([f.createIfcCartesianPoint((0.0, 0.0, 0.0))])
        face = f.createIfcFace([f.createIfcFaceOuterBound(loop, True)])
        brep = f.createIfcFacetedBrep(f.createIfcClosedShell([face]))
        rep = f.createIfcShapeRepresentation(body, "Body", "Brep", [brep])
        ifcopenshell.api.geometry.assign_representation(f, product=proxy, representation=rep)
        ifcopenshell.api.geometry.edit_object_placement(f, product=proxy)
        ifcopenshell.api.spatial.assign_container(f, relating_structure=storey, products=[proxy])
        ids["broken"] = proxy.GlobalId
    f.write(str(path))
    return ids
