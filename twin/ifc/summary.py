"""Summaries of a loaded model (what ``twin info`` prints): counts, classes, storeys, units, box.

Works on :class:`twin.model.BuildingModel` records only; imports no ifcopenshell.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Iterable

from twin.model import BuildingModel, Element

__all__ = ["summarize_model", "summarize_elements"]


def _bbox(elements: Iterable[Element]) -> list[list[float]] | None:
    boxes = [e.bbox for e in elements if e.bbox is not None]
    if not boxes:
        return None
    lo = [min(b[0][i] for b in boxes) for i in range(3)]
    hi = [max(b[1][i] for b in boxes) for i in range(3)]
    return [lo, hi]


def summarize_elements(elements: list[Element], meshes: Any, geometry: bool) -> dict[str, Any]:
    """Counts over a list of elements: total, by class (sorted by count), with/without geometry, box.

    ``with_geometry`` counts elements that have a mesh; with ``geometry=False`` both geometry counts
    and the box are None (nothing was tessellated, so nothing is known).
    """
    by_class = Counter(e.ifc_class for e in elements)
    with_geometry = sum(1 for e in elements if e.global_id in meshes) if geometry else None
    return {
        "elements": len(elements),
        "by_class": dict(sorted(by_class.items(), key=lambda kv: (-kv[1], kv[0]))),
        "with_body": sum(1 for e in elements if e.has_body),
        "with_geometry": with_geometry,
        "without_geometry": (len(elements) - with_geometry) if with_geometry is not None else None,
        "bbox": _bbox(elements) if geometry else None,
    }


def summarize_model(model: BuildingModel, *, geometry: bool = True) -> dict[str, Any]:
    """The ``twin info --json`` document for a model (see docs/ifc.md for every key).

    For one file ``schema`` is a string and ``units`` an object; for several files both are
    lists with one entry per file, in the order given. ``files`` always lists every file with its
    own counts (an element shared by two files counts in both); the top-level counts are over the
    federated model, where a shared element (same GlobalId) counts once.
    """
    elements = list(model.elements.values())
    per_file = []
    for f in model.files:
        mine = [model.elements[g] for g in f.element_ids if g in model.elements]
        per_file.append(
            {
                "path": f.path,
                "schema": f.schema,
                "sha256": f.sha256,
                "project": f.project,
                "units": {"length": f.length_unit, "length_scale_to_m": f.length_scale},
                "storeys": [s.name for s in model.storeys if s.file == f.path],
                "storey_levels": [
                    {"name": s.name, "global_id": s.global_id, "elevation": s.elevation}
                    for s in model.storeys
                    if s.file == f.path
                ],
                **summarize_elements(mine, model.meshes, geometry),
            }
        )
    single = len(per_file) == 1
    return {
        "schema": per_file[0]["schema"] if single else [f["schema"] for f in per_file],
        "units": per_file[0]["units"] if single else [f["units"] for f in per_file],
        "storeys": list({s.global_id: s.name for s in model.storeys}.values()),
        **summarize_elements(elements, model.meshes, geometry),
        "geometry_failures": [
            {"global_id": g.global_id, "file": g.file, "message": g.message} for g in model.geometry_failures
        ],
        "warnings": list(model.warnings),
        "files": per_file,
    }
