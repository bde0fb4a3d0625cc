"""The parametric demo building: an IFC4 concrete frame with core, envelope and MEP, from 50 to 50,000+ elements.

Let's imagine we need a building to try 4D sequencing, clash detection and crane checks on, with
known answers. :func:`generate_building` writes one (metres, storeys "Level 00", ... "Roof") and
returns a :class:`BuildingSummary` that says what is in it, including the MEP segments that were
*designed* to pass through beams (the clashes a detector must find) and the designed bearing
contacts (the support graph a contact analysis must find)::

    from twin.ifc.generate import generate_building, size_for_elements
    summary = generate_building("demo.ifc", storeys=4, bays=(4, 3))
    summary.elements, summary.clashes_expected[:1]
    storeys, bays = size_for_elements(50_000)          # for benchmarks
    generate_building("big.ifc", storeys=storeys, bays=bays)

The layout (pure data, no ifcopenshell) is in :mod:`twin.ifc.generate.layout` (records, counts,
sizing) and :mod:`twin.ifc.generate.builder` (the rules per trade); the IFC writing is in
:mod:`twin.ifc.generate.writer`; ``docs/demo-building.md`` describes the building.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from twin.errors import InputError
from twin.ifc.generate.layout import (
    BuildingSpec,
    Layout,
    Sections,
    count_elements,
    plan_building,
    size_for_elements,
)

__all__ = [
    "BuildingSummary",
    "BuildingSpec",
    "Sections",
    "generate_building",
    "generate_for_elements",
    "describe_building",
    "plan_building",
    "count_elements",
    "size_for_elements",
    "DEFAULT_SAMPLE_ARGS",
]

DEFAULT_SAMPLE_ARGS: Mapping[str, Any] = {"storeys": 4, "bays": (4, 3), "zones": 2, "seed": 0}
"""Arguments that made the bundled ``samples/demo_building.ifc``."""


@dataclass(frozen=True, slots=True)
class BuildingSummary:
    """What :func:`generate_building` wrote.

    Attributes
    ----------
    path : str
        The IFC file written.
    elements : int
        Number of IfcElement instances (aggregates such as IfcRoof and IfcStair included).
    by_class, by_storey, by_trade, by_zone : mapping of str to int
        Element counts.
    storeys : tuple of (name, elevation m)
    clashes_expected : tuple of (mep GlobalId, beam GlobalId)
        MEP segments designed to pass through beams. Every other MEP run passes under the beams
        with ``Sections.mep_clearance`` (0.1 m) of clearance.
    supports : tuple of (supported GlobalId, supporting GlobalId)
        Designed bearing contacts (column on footing or column below, beam ends on columns, slab on
        beams or footings, wall on slab, beam on core wall, stair flight on the slabs it joins).
    systems : mapping of system name to IfcDistributionSystemEnum value
    parameters : mapping
        The arguments used, for reproduction.
    global_ids : mapping of part key to GlobalId
        E.g. ``"column/00/A1"``; keys are documented in ``docs/demo-building.md``.
    names : mapping of GlobalId to element Name
    """

    path: str
    elements: int
    by_class: Mapping[str, int]
    by_storey: Mapping[str, int]
    by_trade: Mapping[str, int]
    by_zone: Mapping[str, int]
    storeys: tuple[tuple[str, float], ...]
    clashes_expected: tuple[tuple[str, str], ...]
    supports: tuple[tuple[str, str], ...]
    systems: Mapping[str, str]
    parameters: Mapping[str, Any]
    global_ids: Mapping[str, str] = field(repr=False, default_factory=dict)
    names: Mapping[str, str] = field(repr=False, default_factory=dict)

    def to_dict(self, *, with_ids: bool = False) -> dict[str, Any]:
        """JSON-ready summary (the ``--json`` output of ``twin sample``)."""
        out = {
            "path": self.path,
            "elements": self.elements,
            "by_class": dict(self.by_class),
            "by_storey": dict(self.by_storey),
            "by_trade": dict(self.by_trade),
            "by_zone": dict(self.by_zone),
            "storeys": [{"name": n, "elevation": e} for n, e in self.storeys],
            "clashes_expected": [{"mep": m, "beam": b, "mep_name": self.names.get(m), "beam_name": self.names.get(b)}
                                 for m, b in self.clashes_expected],
            "supports": len(self.supports),
            "systems": dict(self.systems),
            "parameters": dict(self.parameters),
        }
        if with_ids:
            out["global_ids"] = dict(self.global_ids)
        return out


def summarise(layout: Layout, path: str, ids: Mapping[str, str], parameters: Mapping[str, Any]) -> BuildingSummary:
    """Counts and manifest of ``layout`` with part keys replaced by the GlobalIds in ``ids``."""
    parts = layout.parts
    zones = layout.zone_names()
    return BuildingSummary(
        path=path,
        elements=len(parts),
        by_class=dict(sorted(Counter(p.ifc_class for p in parts).items())),
        by_storey={name: sum(1 for p in parts if p.storey == k) for k, (name, _) in enumerate(layout.storeys)},
        by_trade=dict(sorted(Counter(p.trade for p in parts).items())),
        by_zone={z: sum(1 for p in parts if p.zone == i) for i, z in enumerate(zones)},
        storeys=layout.storeys,
        clashes_expected=tuple((ids[m], ids[b]) for m, b in layout.clashes),
        supports=tuple((ids[a], ids[b]) for a, b in layout.supports),
        systems={s.name: s.predefined_type for s in layout.systems},
        parameters=dict(parameters),
        global_ids=dict(ids),
        names={ids[p.key]: p.name for p in parts},
    )


def generate_building(
    path: str | os.PathLike[str],
    *,
    storeys: int = 4,
    bays: tuple[int, int] = (4, 3),
    bay_width: tuple[float, float] = (7.5, 6.0),
    storey_height: float = 3.6,
    zones: int = 2,
    mep: bool = True,
    stairs: bool = True,
    seed: int = 0,
    name: str = "Demo Building",
    sections: Sections | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BuildingSummary:
    """Write the demo building to ``path`` (IFC4, metres) and summarise it.

    Parameters
    ----------
    path : path-like
        Output ``.ifc`` file; written atomically (temporary file, then rename). Its folder must exist.
    storeys : int
        Occupied storeys ("Level 00" ...); a "Roof" storey is added on top.
    bays : (int, int)
        Bays along x (>= 2) and y (>= 1).
    bay_width : (float, float)
        Bay sizes along x and y, m.
    storey_height : float
        Floor-to-floor height, m.
    zones : int
        Plan zones along x (1 ... bays[0]); each element's zone is in ``Twin_Sequencing.Zone``.
    mep, stairs : bool
        Whether to add the MEP runs and the core stair flights.
    seed : int
        Seeds the GlobalIds: the same arguments and seed give byte-identical files.
    name : str
        Project and building name.
    sections : Sections, optional
        Member sizes and densities.
    progress : callable(done, total), optional
        Called while elements are written.

    Returns
    -------
    BuildingSummary

    Raises
    ------
    InputError
        Parameters out of range (the message names the parameter and the limit).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "small.ifc"
    >>> s = generate_building(out, storeys=1, bays=(3, 1))
    >>> s.elements, s.by_class["IfcColumn"], s.storeys[-1]
    (54, 8, ('Roof', 3.6))
    """
    from twin.ifc.generate.writer import write_layout

    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"output folder does not exist: '{path.parent}'")
    spec = _spec(dict(storeys=storeys, bays=bays, bay_width=bay_width, storey_height=storey_height, zones=zones,
                      mep=mep, stairs=stairs, name=name, sections=sections))
    layout = plan_building(spec)
    ids = write_layout(layout, path, seed=seed, progress=progress)
    return summarise(layout, str(path), ids, _params(spec, seed))


_DEFAULTS: dict[str, Any] = dict(storeys=4, bays=(4, 3), bay_width=(7.5, 6.0), storey_height=3.6, zones=2, mep=True,
                                 stairs=True, name="Demo Building", sections=None)


def _spec(p: Mapping[str, Any]) -> BuildingSpec:
    try:
        bays = tuple(int(v) for v in p["bays"])
        widths = tuple(float(v) for v in p["bay_width"])
    except (TypeError, ValueError):
        raise InputError(f"bays and bay_width must be pairs of numbers, got {p['bays']!r} and {p['bay_width']!r}")
    if len(bays) != 2 or len(widths) != 2:
        raise InputError(f"bays and bay_width must be pairs (x, y), got {p['bays']!r} and {p['bay_width']!r}")
    return BuildingSpec(storeys=int(p["storeys"]), bays=bays, bay_width=widths,  # type: ignore[arg-type]
                        storey_height=float(p["storey_height"]), zones=int(p["zones"]), mep=bool(p["mep"]),
                        stairs=bool(p["stairs"]), name=str(p["name"]), sections=p["sections"] or Sections())


def _params(spec: BuildingSpec, seed: int) -> dict[str, Any]:
    return {"storeys": spec.storeys, "bays": list(spec.bays), "bay_width": list(spec.bay_width),
            "storey_height": spec.storey_height, "zones": spec.zones, "mep": spec.mep, "stairs": spec.stairs,
            "seed": seed, "name": spec.name}


def describe_building(path: str | os.PathLike[str], **kwargs: Any) -> BuildingSummary:
    """The summary :func:`generate_building` would return for ``kwargs``, without writing anything.

    Use it for a file made earlier with the same arguments (such as the bundled sample, made with
    :data:`DEFAULT_SAMPLE_ARGS`): layout and GlobalIds depend only on the arguments and the seed.
    """
    from twin.ifc.generate.writer import guid_for

    seed = kwargs.pop("seed", 0)
    params = {**_DEFAULTS, **kwargs}
    unknown = set(kwargs) - set(_DEFAULTS)
    if unknown:
        raise TypeError(f"describe_building() got unexpected arguments {sorted(unknown)}")
    spec = _spec(params)
    layout = plan_building(spec)
    ids = {p.key: guid_for(seed, p.key) for p in layout.parts}
    return summarise(layout, str(path), ids, _params(spec, seed))


def generate_for_elements(path: str | os.PathLike[str], target_elements: int, **kwargs: Any) -> BuildingSummary:
    """:func:`generate_building` sized by :func:`size_for_elements` to about ``target_elements``."""
    storeys, bays = size_for_elements(target_elements, mep=kwargs.get("mep", True),
                                      stairs=kwargs.get("stairs", True))
    return generate_building(path, storeys=storeys, bays=bays, **kwargs)
