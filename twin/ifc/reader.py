"""Read IFC files into ``twin`` records: open safely, select the physical elements, extract their data.

A planner's IFC comes from Revit, ArchiCAD or Tekla, in IFC2X3, IFC4 or IFC4X3, in millimetres,
metres or inches. This module turns one file into plain records (:class:`twin.model.Element`,
:class:`twin.model.Storey`, :class:`twin.model.ModelFile`) with every length, area, volume, mass and
time in SI units. Geometry (meshes, boxes) is added by :mod:`twin.ifc.geometry`; the whole pipeline,
with its cache, is :func:`twin.ifc.load_model`.

Assumptions
-----------
- "Elements" are the physical elements: ``IfcElement`` and its subtypes without ``IfcFeatureElement``
  (openings, projections, surface features) and ``IfcVirtualElement``.
- Relationships are read once per file into dictionaries (containment, aggregation, property
  definitions, types, materials, systems), so extraction is linear in the file size; property sets
  shared by many elements (type property sets) are flattened once.
- Property values with a measure type (``IfcLengthMeasure``, ``IfcAreaMeasure``, ...) are converted
  to SI like quantities; other values are kept as written (str, int, float, bool, lists of these).
"""
from __future__ import annotations

import hashlib
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import ifcopenshell
import ifcopenshell.util.placement as ifc_placement
import ifcopenshell.util.unit as ifc_unit

from twin.errors import IfcReadError, MissingFileError
from twin.ifc.placement import PlacementResolver
from twin.ifc.units import FileUnits, quantity_to_si, read_units
from twin.model import Element, ModelFile, Storey

__all__ = [
    "open_ifc",
    "select_elements",
    "count_elements",
    "has_body",
    "read_file",
    "read_elements",
    "FileRecords",
    "file_sha256",
]

_EXCLUDED = ("IfcFeatureElement", "IfcVirtualElement")
_STEP_MAGIC = b"ISO-10303-21;"
_STEP_END = b"END-ISO-10303-21;"
_NEWLINE = b"\n"
# Measure types of property values that are converted to SI (and the unit kind they use).
_MEASURE_KINDS = {
    "IfcLengthMeasure": "LENGTHUNIT",
    "IfcPositiveLengthMeasure": "LENGTHUNIT",
    "IfcNonNegativeLengthMeasure": "LENGTHUNIT",
    "IfcAreaMeasure": "AREAUNIT",
    "IfcVolumeMeasure": "VOLUMEUNIT",
    "IfcMassMeasure": "MASSUNIT",
    "IfcTimeMeasure": "TIMEUNIT",
}
_NOT_SYSTEMS = ("IfcZone", "IfcStructuralAnalysisModel")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_step_text(path: Path) -> None:
    """Reject files that are not ISO 10303-21 text or that were cut short, naming the file."""
    size = path.stat().st_size
    if size == 0:
        raise IfcReadError(f"{path}: file is empty, expected an IFC (ISO 10303-21) file")
    with open(path, "rb") as handle:
        head = handle.read(4096)
        handle.seek(max(0, size - 4096))
        tail = handle.read()
    if _STEP_MAGIC not in head.lstrip(b"\xef\xbb\xbf \t\r\n")[: len(_STEP_MAGIC) + 64]:
        raise IfcReadError(
            f"{path}: not an IFC file (expected it to start with 'ISO-10303-21;', "
            f"found {head[:24]!r})"
        )
    if _STEP_END not in tail:
        raise IfcReadError(
            f"{path}: IFC file is truncated (no 'END-ISO-10303-21;' at the end; "
            f"{size} bytes read); re-export or re-download it"
        )


def _parse_problems(path: Path, log: str) -> list[str]:
    """Error lines of ifcopenshell's parser log as 'file line N: message' (offsets made lines)."""
    problems = []
    data: bytes | None = None
    for line in log.splitlines():
        if not line.startswith("[error]"):
            continue
        message = re.sub(r"^\[error\](\s*\[[^\]]*\])*\s*", "", line)
        match = re.search(r" at offset (\d+)$", message)
        where = ""
        if match:
            if data is None:
                data = path.read_bytes() if path.suffix.lower() == ".ifc" else b""
            offset = int(match.group(1))
            message = message[: match.start()]
            if data:
                where = f" line {data.count(_NEWLINE, 0, offset) + 1}"
        problems.append(f"{path}{where}: {message}")
    return problems


def open_ifc(path: str | os.PathLike[str], problems: list[str] | None = None) -> ifcopenshell.file:
    """Open an IFC file, turning every failure into an error that names the file.

    Parameters
    ----------
    path : str or path-like
        An ``.ifc`` (STEP) file; ``.ifczip`` and ``.ifcxml`` are passed to ifcopenshell as they are.
    problems : list of str, optional
        Receives the parser's errors on damaged lines (``"file line N: message"``). ifcopenshell
        skips such lines and reads the rest, so elements may be missing: callers should show these.

    Returns
    -------
    ifcopenshell.file

    Raises
    ------
    MissingFileError
        The path does not exist.
    IfcReadError
        The path is a directory, not IFC, truncated, or declares a schema ifcopenshell does not know.

    Examples
    --------
    >>> open_ifc("no/such/model.ifc")
    Traceback (most recent call last):
    ...
    twin.errors.MissingFileError: IFC file not found: 'no/such/model.ifc'
    """
    p = Path(path)
    if not p.exists():
        raise MissingFileError(path, "IFC file")
    if p.is_dir():
        raise IfcReadError(f"{p}: is a directory, expected an IFC file")
    if p.suffix.lower() not in (".ifczip", ".ifcxml", ".zip", ".xml"):
        _check_step_text(p)
    # the log is global: text format (ifcopenshell.validate switches it to JSON and leaves it so), and
    # drain earlier messages
    ifcopenshell.ifcopenshell_wrapper.set_log_format_text()
    ifcopenshell.ifcopenshell_wrapper.get_log()
    try:
        ifc_file = ifcopenshell.open(str(p))
    except ifcopenshell.SchemaError as exc:
        raise IfcReadError(
            f"{p}: unknown IFC schema ({exc}); supported: IFC2X3, IFC4, IFC4X3"
        ) from None
    except Exception as exc:  # noqa: BLE001 - ifcopenshell.Error, OSError, zipfile.BadZipFile, ...
        raise IfcReadError(f"{p}: cannot be read as IFC ({exc or type(exc).__name__})") from None
    if not isinstance(ifc_file, ifcopenshell.file):
        raise IfcReadError(f"{p}: cannot be read as IFC (ifcopenshell returned {type(ifc_file).__name__})")
    if problems is not None:
        problems.extend(_parse_problems(p, ifcopenshell.ifcopenshell_wrapper.get_log()))
    return ifc_file


def select_elements(ifc_file: ifcopenshell.file) -> list[ifcopenshell.entity_instance]:
    """The physical elements of a file: ``IfcElement`` minus feature and virtual elements."""
    return [e for e in ifc_file.by_type("IfcElement") if not any(e.is_a(t) for t in _EXCLUDED)]


def count_elements(ifc_file: ifcopenshell.file) -> int:
    """Number of physical elements (see :func:`select_elements`)."""
    return len(select_elements(ifc_file))


def has_body(element: ifcopenshell.entity_instance) -> bool:
    """True when the element has a shape representation identified as ``Body``."""
    shape = element.Representation
    if shape is None:
        return False
    return any((r.RepresentationIdentifier or "").lower() == "body" for r in shape.Representations or ())


@dataclass(frozen=True, slots=True)
class FileRecords:
    """Everything read from one file except geometry: its description, units, storeys, elements."""

    file: ModelFile
    units: FileUnits
    storeys: tuple[Storey, ...]
    elements: tuple[Element, ...]
    warnings: tuple[str, ...] = ()


class _Relations:
    """Relationship lookups of one file, built in one pass over each relationship class.

    With ``around`` (entities), only the relationships that reach those entities and what the reader
    walks to from them (parents, containers and their parents, types) are read, in the order a full
    pass reads them: the lookups of those entities are the same as a full pass gives, for a fraction
    of the cost (an edited file where a few elements are read again, :mod:`twin.ifc.delta`).
    """

    _CLASSES = ("IfcRelContainedInSpatialStructure", "IfcRelAggregates", "IfcRelNests", "IfcRelDefinesByProperties",
                "IfcRelDefinesByType", "IfcRelAssociatesMaterial", "IfcRelAssignsToGroup")

    def __init__(self, ifc_file: ifcopenshell.file,
                 around: Iterable[ifcopenshell.entity_instance] | None = None) -> None:
        self.container: dict[int, ifcopenshell.entity_instance] = {}
        self.parent: dict[int, ifcopenshell.entity_instance] = {}
        self.definitions: dict[int, list[ifcopenshell.entity_instance]] = defaultdict(list)
        self.type_of: dict[int, ifcopenshell.entity_instance] = {}
        self.material: dict[int, ifcopenshell.entity_instance] = {}
        self.systems: dict[int, list[str]] = defaultdict(list)
        rels = self._around(ifc_file, around) if around is not None else None
        of = (lambda cls: rels[cls]) if rels is not None else ifc_file.by_type
        for rel in of("IfcRelContainedInSpatialStructure"):
            for obj in rel.RelatedElements or ():
                self.container.setdefault(obj.id(), rel.RelatingStructure)
        for cls in ("IfcRelAggregates", "IfcRelNests"):
            for rel in of(cls):
                for obj in rel.RelatedObjects or ():
                    self.parent.setdefault(obj.id(), rel.RelatingObject)
        for rel in of("IfcRelDefinesByProperties"):
            definition = rel.RelatingPropertyDefinition
            defs = definition if isinstance(definition, tuple) else (definition,)
            for obj in rel.RelatedObjects or ():
                self.definitions[obj.id()].extend(d for d in defs if d is not None)
        for rel in of("IfcRelDefinesByType"):
            for obj in rel.RelatedObjects or ():
                self.type_of[obj.id()] = rel.RelatingType
        for rel in of("IfcRelAssociatesMaterial"):
            for obj in rel.RelatedObjects or ():
                self.material.setdefault(obj.id(), rel.RelatingMaterial)
        for rel in of("IfcRelAssignsToGroup"):
            group = rel.RelatingGroup
            if group is None or not group.is_a("IfcSystem") or any(group.is_a(t) for t in _NOT_SYSTEMS):
                continue
            label = group.Name or group.GlobalId
            for obj in rel.RelatedObjects or ():
                if label not in self.systems[obj.id()]:
                    self.systems[obj.id()].append(label)

    @classmethod
    def _around(cls, ifc_file: ifcopenshell.file, entities: Iterable[ifcopenshell.entity_instance]
                ) -> dict[str, list[ifcopenshell.entity_instance]]:
        """The relationships of each class that reach ``entities`` or what the reader walks to from them,
        in ``by_type`` order (each concrete class in step id order, classes in the order by_type gives)."""
        found: dict[str, dict[int, ifcopenshell.entity_instance]] = {c: {} for c in cls._CLASSES}
        work = list(entities)
        seen = {e.id() for e in work}
        while work:
            entity = work.pop()
            for rel in ifc_file.get_inverse(entity):
                if not rel.is_a("IfcRelationship"):
                    continue
                up = None
                for name in cls._CLASSES:
                    if rel.is_a(name):
                        found[name][rel.id()] = rel
                        if name == "IfcRelContainedInSpatialStructure" and entity in (rel.RelatedElements or ()):
                            up = rel.RelatingStructure
                        elif name in ("IfcRelAggregates", "IfcRelNests") and entity in (rel.RelatedObjects or ()):
                            up = rel.RelatingObject
                        elif name == "IfcRelDefinesByType" and entity in (rel.RelatedObjects or ()):
                            up = rel.RelatingType
                if up is not None and up.id() not in seen:
                    seen.add(up.id())
                    work.append(up)
        out = {}
        for name, rels in found.items():
            if len({r.is_a() for r in rels.values()}) > 1:     # subclasses: by_type lists them class by class
                out[name] = [r for r in ifc_file.by_type(name) if r.id() in rels]
            else:
                out[name] = [rels[k] for k in sorted(rels)]
        return out


class _Extractor:
    """Turns entities of one file into records; caches work shared between elements."""

    def __init__(self, ifc_file: ifcopenshell.file, units: FileUnits, file_label: str,
                 relations: _Relations | None = None) -> None:
        self.file = ifc_file
        self.units = units
        self.label = file_label
        self.rel = relations if relations is not None else _Relations(ifc_file)
        self.placements = PlacementResolver()
        self._definition_cache: dict[int, tuple[dict[str, Any], dict[str, float]]] = {}
        self._material_cache: dict[int, tuple[str, ...]] = {}
        self._unit_scale_cache: dict[int, float] = {}

    # -- spatial structure -------------------------------------------------------------------
    def container_of(self, element: ifcopenshell.entity_instance) -> ifcopenshell.entity_instance | None:
        seen: set[int] = set()
        current = element
        while current is not None and current.id() not in seen:
            seen.add(current.id())
            found = self.rel.container.get(current.id())
            if found is not None:
                return found
            current = self.rel.parent.get(current.id())
        return None

    def storey_of(self, spatial: ifcopenshell.entity_instance | None) -> ifcopenshell.entity_instance | None:
        seen: set[int] = set()
        while spatial is not None and spatial.id() not in seen:
            if spatial.is_a("IfcBuildingStorey"):
                return spatial
            seen.add(spatial.id())
            spatial = self.rel.parent.get(spatial.id())
        return None

    # -- properties and quantities -----------------------------------------------------------
    def _value(self, value: Any, unit: ifcopenshell.entity_instance | None) -> Any:
        """A property value as plain data; measures in SI (``unit`` is the property's own Unit)."""
        if value is None:
            return None
        if isinstance(value, ifcopenshell.entity_instance):
            if value.id() or len(value) != 1:  # an entity, not a wrapped IfcValue
                return str(getattr(value, "Name", None) or value.is_a())
            raw = value[0]  # wrappedValue
            if isinstance(raw, float) or (isinstance(raw, int) and not isinstance(raw, bool)):
                if unit is not None:
                    return float(raw) * self._unit_scale(unit)
                kind = _MEASURE_KINDS.get(value.is_a())
                if kind is not None:
                    return float(raw) * self.units.scale_for(kind)
            return self._plain(raw)
        return self._plain(value)

    def _plain(self, value: Any) -> Any:
        if isinstance(value, (tuple, list)):
            return [self._plain(v) for v in value]
        if isinstance(value, ifcopenshell.entity_instance):
            return self._value(value, None)
        return value

    def _unit_scale(self, unit: ifcopenshell.entity_instance) -> float:
        key = unit.id()
        if key not in self._unit_scale_cache:
            try:
                scale = float(ifc_unit.get_unit_scale(unit))
                if getattr(unit, "UnitType", None) == "MASSUNIT":
                    scale /= 1000.0
            except Exception:  # noqa: BLE001 - exotic unit definitions: keep the value as written
                scale = 1.0
            self._unit_scale_cache[key] = scale
        return self._unit_scale_cache[key]

    def _flatten_props(self, prefix: str, props: Iterable[ifcopenshell.entity_instance], out: dict) -> None:
        # Attribute access by index (Name=0, NominalValue/ListValues/EnumerationValues=2, Unit=3):
        # several times faster than by name on files with a property set per element (Revit).
        for prop in props or ():
            name = f"{prefix}.{prop[0]}"
            cls = prop.is_a()
            if cls == "IfcPropertySingleValue":
                out[name] = self._value(prop[2], prop[3])
            elif cls == "IfcPropertyEnumeratedValue":
                out[name] = [self._value(v, None) for v in prop[2] or ()]
            elif cls == "IfcPropertyListValue":
                out[name] = [self._value(v, prop[3]) for v in prop[2] or ()]
            elif cls == "IfcPropertyBoundedValue":
                out[name] = {
                    "lower": self._value(prop.LowerBoundValue, prop.Unit),
                    "upper": self._value(prop.UpperBoundValue, prop.Unit),
                }
            elif cls == "IfcPropertyTableValue":
                out[name] = {
                    "defining": [self._value(v, None) for v in prop.DefiningValues or ()],
                    "defined": [self._value(v, None) for v in prop.DefinedValues or ()],
                }
            elif cls == "IfcComplexProperty":
                self._flatten_props(name, prop.HasProperties, out)
            elif cls == "IfcPropertyReferenceValue":
                ref = prop.PropertyReference
                out[name] = getattr(ref, "Name", None) or (ref.is_a() if ref is not None else None)

    def _flatten_quantities(self, prefix: str, quantities: Iterable[Any], out: dict) -> None:
        for quantity in quantities or ():
            name = f"{prefix}.{quantity.Name}"
            if quantity.is_a("IfcPhysicalComplexQuantity"):
                self._flatten_quantities(name, quantity.HasQuantities, out)
                continue
            value = quantity_to_si(quantity, self.units)
            if value is not None:
                out[name] = value

    def definition(self, definition: ifcopenshell.entity_instance) -> tuple[dict[str, Any], dict[str, float]]:
        """(properties, quantities) of one property set definition, flattened and cached."""
        key = definition.id()
        cached = self._definition_cache.get(key)
        if cached is not None:
            return cached
        props: dict[str, Any] = {}
        quants: dict[str, float] = {}
        cls = definition.is_a()
        if cls == "IfcPropertySet":  # GlobalId, OwnerHistory, Name, Description, HasProperties
            self._flatten_props(definition[2] or cls, definition[4], props)
        elif cls == "IfcElementQuantity":
            self._flatten_quantities(definition[2] or cls, definition.Quantities, quants)
        elif definition.is_a("IfcPropertySetDefinition"):
            set_name = getattr(definition, "Name", None) or cls
            for i in range(4, len(definition)):
                value = definition[i]
                if value is not None and not isinstance(value, ifcopenshell.entity_instance):
                    props[f"{set_name}.{definition.attribute_name(i)}"] = self._plain(value)
        self._definition_cache[key] = (props, quants)
        return props, quants

    def properties_of(self, element: ifcopenshell.entity_instance) -> tuple[dict[str, Any], dict[str, float]]:
        """Type property sets first, then the occurrence's own (which override), as IFC intends."""
        props: dict[str, Any] = {}
        quants: dict[str, float] = {}
        etype = self.rel.type_of.get(element.id())
        sources = list(getattr(etype, "HasPropertySets", None) or ()) if etype is not None else []
        sources += self.rel.definitions.get(element.id(), [])
        for definition in sources:
            p, q = self.definition(definition)
            props.update(p)
            quants.update(q)
        return props, quants

    # -- materials -------------------------------------------------------------------------
    def materials_of(self, element: ifcopenshell.entity_instance) -> tuple[str, ...]:
        select = self.rel.material.get(element.id())
        if select is None:
            etype = self.rel.type_of.get(element.id())
            select = self.rel.material.get(etype.id()) if etype is not None else None
        if select is None:
            return ()
        key = select.id()
        if key not in self._material_cache:
            names: list[str] = []
            for mat in _material_entities(select):
                name = getattr(mat, "Name", None)
                if name and name not in names:
                    names.append(name)
            self._material_cache[key] = tuple(names)
        return self._material_cache[key]

    # -- one element ---------------------------------------------------------------------
    def element(self, entity: ifcopenshell.entity_instance) -> Element:
        container = self.container_of(entity)
        storey = self.storey_of(container)
        props, quants = self.properties_of(entity)
        return Element(
            global_id=entity.GlobalId,
            ifc_class=entity.is_a(),
            name=_text(entity, "Name"),
            predefined_type=self.predefined_type_of(entity),
            object_type=_text(entity, "ObjectType"),
            storey=(storey.Name or storey.GlobalId) if storey is not None else None,
            storey_id=storey.GlobalId if storey is not None else None,
            container=container.GlobalId if container is not None else None,
            materials=self.materials_of(entity),
            properties=props,
            quantities=quants,
            placement=self.placement_of(entity),
            bbox=None,
            systems=tuple(self.rel.systems.get(entity.id(), ())),
            file=self.label,
            has_body=has_body(entity),
        )

    def placement_of(self, entity: ifcopenshell.entity_instance) -> tuple[float, float, float] | None:
        placement = entity.ObjectPlacement
        if placement is None:
            return None
        origin = self.placements.origin(placement)
        if origin is None:
            try:  # grid and linear placements: let ifcopenshell resolve them
                matrix = ifc_placement.get_local_placement(placement)
                origin = (float(matrix[0, 3]), float(matrix[1, 3]), float(matrix[2, 3]))
            except Exception:  # noqa: BLE001 - broken chains: no placement
                return None
        s = self.units.length
        return (origin[0] * s, origin[1] * s, origin[2] * s)

    def predefined_type_of(self, entity: ifcopenshell.entity_instance) -> str | None:
        """The type's PredefinedType if it sets one, else the occurrence's (as ifcopenshell reads it).

        ``USERDEFINED`` is replaced by the user's text (``ElementType`` of the type, ``ObjectType``
        of the occurrence). Classes without a PredefinedType attribute (e.g. IFC2X3
        ``IfcWallStandardCase``) give None; their ``ObjectType`` is in ``Element.object_type``.
        """
        etype = self.rel.type_of.get(entity.id())
        type_value = getattr(etype, "PredefinedType", None) if etype is not None else None
        type_value = type_value if isinstance(type_value, str) else None     # a damaged record can hold anything
        if type_value == "USERDEFINED":
            type_value = _text(etype, "ElementType") or type_value
        if type_value and type_value != "NOTDEFINED":
            return type_value
        value = getattr(entity, "PredefinedType", None)
        if not isinstance(value, str):
            return None
        if value == "USERDEFINED":
            return _text(entity, "ObjectType") or value
        return value


def _text(entity: ifcopenshell.entity_instance, attr: str) -> str | None:
    value = getattr(entity, attr, None)
    return value if isinstance(value, str) and value else None


def _material_entities(select: ifcopenshell.entity_instance) -> list[ifcopenshell.entity_instance]:
    """Individual IfcMaterial entities behind any IfcMaterialSelect."""
    if select.is_a("IfcMaterial"):
        return [select]
    if select.is_a("IfcMaterialLayerSetUsage"):
        return _material_entities(select.ForLayerSet) if select.ForLayerSet else []
    if select.is_a("IfcMaterialLayerSet"):
        return [layer.Material for layer in select.MaterialLayers or () if layer.Material]
    if select.is_a("IfcMaterialLayer"):
        return [select.Material] if select.Material else []
    if select.is_a("IfcMaterialList"):
        return [m for m in select.Materials or () if m]
    if select.is_a("IfcMaterialProfileSetUsage"):
        return _material_entities(select.ForProfileSet) if select.ForProfileSet else []
    if select.is_a("IfcMaterialProfileSet"):
        return [p.Material for p in select.MaterialProfiles or () if p.Material]
    if select.is_a("IfcMaterialProfile"):
        return [select.Material] if select.Material else []
    if select.is_a("IfcMaterialConstituentSet"):
        return [c.Material for c in select.MaterialConstituents or () if c.Material]
    if select.is_a("IfcMaterialConstituent"):
        return [select.Material] if select.Material else []
    return []


def _storeys(ifc_file: ifcopenshell.file, units: FileUnits, label: str) -> tuple[Storey, ...]:
    found = []
    for storey in ifc_file.by_type("IfcBuildingStorey"):
        elevation = storey.Elevation
        found.append(
            Storey(
                global_id=storey.GlobalId,
                name=storey.Name or storey.GlobalId,
                elevation=float(elevation) * units.length if elevation is not None else None,
                file=label,
            )
        )
    found.sort(key=lambda s: (s.elevation is None, s.elevation or 0.0))
    return tuple(found)


def read_file(
    ifc_file: ifcopenshell.file,
    path: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    elements: list[ifcopenshell.entity_instance] | None = None,
) -> FileRecords:
    """Read one opened file into records (no geometry: ``Element.bbox`` is None).

    Parameters
    ----------
    ifc_file : ifcopenshell.file
        The opened file (see :func:`open_ifc`).
    path : str or path-like
        Where it was read from; records name it in ``Element.file`` and ``Storey.file``.
    sha256 : str, optional
        The file's content hash if already known (computed otherwise).
    elements : list of entity_instance, optional
        The elements to read; default :func:`select_elements`.

    Returns
    -------
    FileRecords
        Storeys sorted by elevation; elements in file order; lengths, areas, volumes, masses and
        times in SI.
    """
    label = str(path)
    units = read_units(ifc_file)
    projects = ifc_file.by_type("IfcProject")
    project = projects[0] if projects else None
    entities = select_elements(ifc_file) if elements is None else elements
    model_file = ModelFile(
        path=label,
        schema=ifc_file.schema_identifier,
        sha256=sha256 or file_sha256(path),
        length_unit=units.length_unit,
        length_scale=units.length,
        project=(project.LongName or project.Name) if project is not None else None,
        project_global_id=project.GlobalId if project is not None else None,
        element_ids=tuple(e.GlobalId for e in entities),
    )
    records, warnings = _read_entities(_Extractor(ifc_file, units, label), entities)
    return FileRecords(
        file=model_file,
        units=units,
        storeys=_storeys(ifc_file, units, label),
        elements=tuple(records),
        warnings=tuple(warnings),
    )


def _read_entities(extractor: _Extractor, entities: Iterable[ifcopenshell.entity_instance]
                   ) -> tuple[list[Element], list[str]]:
    records = []
    warnings = []
    label = extractor.label
    for entity in entities:
        try:
            records.append(extractor.element(entity))
        except (RuntimeError, AttributeError, TypeError, ValueError) as exc:
            # Keep the element (counts must match the file) with what is certain, and say why.
            warnings.append(element_warning(label, entity.GlobalId, entity.is_a(), f"data not read: {exc}"))
            records.append(Element(entity.GlobalId, entity.is_a(), file=label, has_body=has_body(entity)))
    return records, warnings


def element_warning(label: str, global_id: str, ifc_class: str, message: str) -> str:
    """The warning text about one element (:func:`warning_element` finds the element again)."""
    return f"{label}: element {global_id} ({ifc_class}): {message}"


_ELEMENT_WARNING = re.compile(r": element (\S+) \(")


def warning_element(warning: str) -> str | None:
    """The GlobalId a warning written by :func:`element_warning` is about, or None for other warnings.

    >>> warning_element(element_warning("a.ifc", "2XQ$n5SLP5MBLyL442paFx", "IfcWall", "data not read: x"))
    '2XQ$n5SLP5MBLyL442paFx'
    """
    m = _ELEMENT_WARNING.search(warning)
    return m.group(1) if m else None


def read_elements(ifc_file: ifcopenshell.file, path: str | os.PathLike[str], units: FileUnits,
                  elements: list[ifcopenshell.entity_instance]) -> tuple[list[Element], list[str]]:
    """Records of some elements of an opened file (no geometry) and the warnings about them: the same
    records :func:`read_file` gives for them, reading only the relationships that reach them."""
    relations = _Relations(ifc_file, around=elements)
    return _read_entities(_Extractor(ifc_file, units, str(path), relations), elements)
