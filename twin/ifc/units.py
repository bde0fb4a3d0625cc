"""Unit normalisation for IFC files: the file's declared units as factors to SI (m, m2, m3, kg, s).

IFC files declare their project units once (``IfcProject.UnitsInContext``); Revit and Tekla often
export millimetres, ArchiCAD metres, some tools inches. Everything ``twin`` hands out is in SI: this
module reads the declared units once per file and converts quantity values (``IfcQuantityLength``,
``IfcQuantityArea``, ...) including quantities that carry their own ``Unit``.

Only ``twin.ifc`` imports this module (it reads ifcopenshell entities).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ifcopenshell
import ifcopenshell.util.unit as ifc_unit

__all__ = ["FileUnits", "read_units", "QUANTITY_UNIT_TYPES"]

# IfcPhysicalSimpleQuantity subtype -> the IfcUnitEnum that gives its default unit.
QUANTITY_UNIT_TYPES: dict[str, str | None] = {
    "IfcQuantityLength": "LENGTHUNIT",
    "IfcQuantityArea": "AREAUNIT",
    "IfcQuantityVolume": "VOLUMEUNIT",
    "IfcQuantityWeight": "MASSUNIT",
    "IfcQuantityTime": "TIMEUNIT",
    "IfcQuantityCount": None,
    "IfcQuantityNumber": None,
}


@dataclass(frozen=True, slots=True)
class FileUnits:
    """Scale factors from one file's project units to SI.

    Attributes
    ----------
    length_unit : str
        The declared length unit as written, e.g. ``"MILLIMETRE"``, ``"METRE"``, ``"inch"``.
    length : float
        Metres per file length unit (0.001 for millimetres).
    area, volume, mass, time : float
        m2, m3, kg and s per file unit of that kind.
    """

    length_unit: str
    length: float
    area: float
    volume: float
    mass: float
    time: float

    def scale_for(self, unit_type: str | None) -> float:
        """Factor to SI for an ``IfcUnitEnum`` value (1.0 for counts and unknown types)."""
        return {
            "LENGTHUNIT": self.length,
            "AREAUNIT": self.area,
            "VOLUMEUNIT": self.volume,
            "MASSUNIT": self.mass,
            "TIMEUNIT": self.time,
        }.get(unit_type or "", 1.0)

    def as_dict(self) -> dict[str, Any]:
        """JSON form used by ``twin info``: declared length unit name and factors to SI."""
        return {
            "length": self.length_unit,
            "length_scale_to_m": self.length,
            "area_scale_to_m2": self.area,
            "volume_scale_to_m3": self.volume,
            "mass_scale_to_kg": self.mass,
            "time_scale_to_s": self.time,
        }


def _unit_name(unit: ifcopenshell.entity_instance | None) -> str:
    if unit is None:
        return "METRE"
    if unit.is_a("IfcSIUnit"):
        return f"{unit.Prefix or ''}{unit.Name}"
    return str(getattr(unit, "Name", None) or unit.is_a())


def _scale(ifc_file: ifcopenshell.file, unit_type: str, default: float) -> float:
    unit = ifc_unit.get_project_unit(ifc_file, unit_type)
    if unit is None:
        return default
    scale = float(ifc_unit.get_unit_scale(unit))
    if unit_type == "MASSUNIT":
        # ifcopenshell scales to the named base unit (GRAM); SI mass is the kilogram.
        scale /= 1000.0
    return scale


def read_units(ifc_file: ifcopenshell.file) -> FileUnits:
    """Read the project units of ``ifc_file`` as factors to SI.

    Units the file does not declare take the IFC defaults for SI (metre, m2, m3, kg, s); area and
    volume fall back to the square and cube of the length unit, which is what exporters mean when
    they declare only a length unit.

    Parameters
    ----------
    ifc_file : ifcopenshell.file

    Returns
    -------
    FileUnits
    """
    length_entity = ifc_unit.get_project_unit(ifc_file, "LENGTHUNIT")
    length = _scale(ifc_file, "LENGTHUNIT", 1.0)
    return FileUnits(
        length_unit=_unit_name(length_entity),
        length=length,
        area=_scale(ifc_file, "AREAUNIT", length**2),
        volume=_scale(ifc_file, "VOLUMEUNIT", length**3),
        mass=_scale(ifc_file, "MASSUNIT", 1.0),
        time=_scale(ifc_file, "TIMEUNIT", 1.0),
    )


def quantity_to_si(quantity: ifcopenshell.entity_instance, units: FileUnits) -> float | None:
    """Value of an ``IfcPhysicalSimpleQuantity`` in SI, honouring a per-quantity ``Unit``.

    Returns None when the quantity has no numeric value.
    """
    value = quantity[3]
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    own_unit = quantity.Unit
    if own_unit is not None:
        scale = float(ifc_unit.get_unit_scale(own_unit))
        if getattr(own_unit, "UnitType", None) == "MASSUNIT":
            scale /= 1000.0
        return float(value) * scale
    return float(value) * units.scale_for(QUANTITY_UNIT_TYPES.get(quantity.is_a()))
