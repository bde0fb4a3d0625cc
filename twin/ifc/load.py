"""Load one IFC file or a federated set into a :class:`twin.model.BuildingModel`, through the cache.

This is the orchestration behind :func:`twin.ifc.load_model`: for each file, hash its bytes, take
records and meshes from the cache when present, otherwise open the file, read the records
(:mod:`twin.ifc.reader`), tessellate (:mod:`twin.ifc.geometry`) and store both in the cache
(:mod:`twin.ifc.cache`); then merge the files into one model.
"""
from __future__ import annotations

import os
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, Iterable

from twin.errors import InputError, MissingFileError
from twin.gcpause import gc_paused
from twin.ifc import cache as _cache
from twin.ifc.geometry import Progress, settings_digest, tessellate
from twin.ifc.reader import FileRecords, file_sha256, open_ifc, read_file, select_elements
from twin.ifc.units import FileUnits
from twin.model import BBox, BuildingModel, Element, GeometryFailure, Mesh, ModelFile, Storey

__all__ = ["load_model", "load_file"]

_ELEMENT_FIELDS = tuple(f.name for f in fields(Element) if f.name != "bbox")
_TUPLE_FIELDS = ("materials", "systems", "placement")
_MAX_PARSE_PROBLEMS = 10


def _records_payload(records: FileRecords) -> dict[str, Any]:
    return {
        "file": {f.name: getattr(records.file, f.name) for f in fields(ModelFile)},
        "units": {f.name: getattr(records.units, f.name) for f in fields(FileUnits)},
        "storeys": [[s.global_id, s.name, s.elevation, s.file] for s in records.storeys],
        "element_fields": list(_ELEMENT_FIELDS),
        "elements": [[getattr(e, name) for name in _ELEMENT_FIELDS] for e in records.elements],
        "warnings": list(records.warnings),
    }


def _element_from_row(row: list[Any], bbox: BBox | None) -> Element:
    data = dict(zip(_ELEMENT_FIELDS, row))
    for name in _TUPLE_FIELDS:
        if data[name] is not None:
            data[name] = tuple(data[name])
    return Element(bbox=bbox, **data)


def _records_from_payload(payload: dict[str, Any]) -> tuple[FileRecords, list[list[Any]]] | None:
    """FileRecords without elements, plus the element rows; None if the payload does not fit."""
    try:
        if payload["element_fields"] != list(_ELEMENT_FIELDS):
            return None
        file_fields = dict(payload["file"])
        file_fields["element_ids"] = tuple(file_fields.get("element_ids", ()))
        records = FileRecords(
            file=ModelFile(**file_fields),
            units=FileUnits(**payload["units"]),
            storeys=tuple(Storey(*row) for row in payload["storeys"]),
            elements=(),
            warnings=tuple(payload["warnings"]),
        )
        return records, payload["elements"]
    except (KeyError, TypeError, ValueError):
        return None


def load_file(
    path: str | os.PathLike[str],
    *,
    geometry: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    workers: int | None = None,
    progress: Progress | None = None,
    settings: dict[str, Any] | None = None,
) -> tuple[FileRecords, dict[str, Mesh], list[GeometryFailure]]:
    """Records (with boxes), meshes and geometry failures of one file, through the cache.

    See :func:`load_model` for the parameters. With ``geometry=False`` meshes are empty, boxes
    are None and no tessellation happens (cached records are still used).
    """
    p = Path(path)
    if not p.exists():
        raise MissingFileError(path, "IFC file")
    if p.is_dir():
        open_ifc(p)  # raises IfcReadError naming the directory
    sha = file_sha256(p)
    directory = Path(cache_dir) if cache_dir is not None else _cache.default_cache_dir()
    records_key = _cache.entry_key(sha, "records")
    meshes_key = _cache.entry_key(sha, "meshes", settings_digest(settings))

    cached_rows = None
    records: FileRecords | None = None
    if use_cache:
        payload = _cache.load_records_entry(directory, records_key)
        parsed = _records_from_payload(payload) if payload is not None else None
        if parsed is not None:
            records, cached_rows = parsed
            records = replace(records, file=replace(records.file, path=str(path)))
    cached_meshes = _cache.load_meshes_entry(directory, meshes_key) if (use_cache and geometry) else None

    ifc_file = None
    if records is None:
        problems: list[str] = []
        ifc_file = open_ifc(p, problems)
        records = read_file(ifc_file, str(path), sha256=sha)
        if problems:
            shown = problems[:_MAX_PARSE_PROBLEMS]
            more = len(problems) - len(shown)
            head = f"{path}: {len(problems)} parse error(s); damaged lines were skipped, elements may be missing"
            records = replace(records, warnings=(head, *shown, *([f"... and {more} more"] if more else []), *records.warnings))
        if use_cache:
            _cache.save_records_entry(directory, records_key, _records_payload(records))
    meshes: dict[str, Mesh] = {}
    failures: list[GeometryFailure] = []
    bounds: dict[str, BBox] = {}
    if geometry and cached_meshes is not None:
        meshes, failures, bounds = cached_meshes
        pointer = _cache.latest_key(p, settings_digest(settings))
        if _cache.load_latest(directory, pointer) != meshes_key:
            _cache.save_latest(directory, pointer, meshes_key)        # this path's meshes, for its next edit
    elif geometry:
        ifc_file = ifc_file or open_ifc(p)
        if use_cache:
            meshes, failures, prints = _tessellate_changed(ifc_file, p, str(path), directory, settings, workers, progress)
            _cache.save_meshes_entry(directory, meshes_key, meshes, failures, prints)
            if prints:
                _cache.save_latest(directory, _cache.latest_key(p, settings_digest(settings)), meshes_key)
        else:
            meshes, failures = tessellate(ifc_file, str(path), settings=settings, workers=workers, progress=progress)
        bounds = {guid: mesh.bounds for guid, mesh in meshes.items()}
    label = str(path)
    if cached_rows is not None:
        elements = tuple(_element_from_row(row, bounds.get(row[0])) for row in cached_rows)
        elements = tuple(replace(e, file=label) for e in elements) if elements and elements[0].file != label else elements
    else:
        elements = tuple(replace(e, bbox=bounds.get(e.global_id)) if e.global_id in bounds else e for e in records.elements)
    failures = [replace(f, file=label) for f in failures]
    storeys = tuple(replace(s, file=label) for s in records.storeys)
    return replace(records, elements=elements, storeys=storeys), meshes, failures


def _tessellate_changed(ifc_file: Any, p: Path, label: str, directory: Path, settings: dict[str, Any] | None,
                        workers: int | None, progress: Progress | None
                        ) -> tuple[dict[str, Mesh], list[GeometryFailure], dict[str, bytes] | None]:
    """Meshes of a file, tessellating only the elements whose geometry fingerprint is not the one
    stored with the last meshes of the same path (an edited file: one element moved costs one
    element). Returns meshes, failures and the fingerprints (None when the scan failed: then every
    element is tessellated)."""
    from twin.ifc.fingerprint import element_fingerprints

    wanted = [e for e in select_elements(ifc_file) if e.Representation]
    digest = settings_digest(settings)
    try:
        extra = {e.GlobalId: [r.RelatedOpeningElement.id() for r in getattr(e, "HasOpenings", None) or ()]
                 + [r.RelatedFeatureElement.id() for r in getattr(e, "HasProjections", None) or ()] for e in wanted}
        prints: dict[str, bytes] | None = element_fingerprints(
            p, {e.GlobalId: e.id() for e in wanted}, extra, context=[x.id() for x in ifc_file.by_type("IfcProject")],
            salt=f"{ifc_file.schema}|{digest}|{_engine_version()}")
    except (ValueError, OSError, RuntimeError):
        prints = None
    if prints is not None and len(prints) != len(wanted):
        prints = None            # GlobalIds repeated in the file: which copy a mesh belongs to is unclear
    old_key = _cache.load_latest(directory, _cache.latest_key(p, digest)) if prints else None
    old_prints = _cache.load_fingerprints(directory, old_key) if old_key else None
    old = _cache.load_meshes_entry(directory, old_key) if old_prints else None
    if prints is None or old is None or old_prints is None:
        meshes, failures = tessellate(ifc_file, label, settings=settings, workers=workers, progress=progress)
        return meshes, failures, prints
    old_meshes = old[0]
    kept = {g: old_meshes[g] for g, fp in prints.items() if g in old_meshes and old_prints.get(g) == fp}
    rest = [e for e in wanted if e.GlobalId not in kept]
    new, failures = tessellate(ifc_file, label, settings=settings, elements=rest, workers=workers,
                               progress=progress) if rest else ({}, [])
    meshes = {e.GlobalId: kept.get(e.GlobalId) or new.get(e.GlobalId) for e in wanted}
    return {g: m for g, m in meshes.items() if m is not None}, failures, prints


def _engine_version() -> str:
    import ifcopenshell

    return str(ifcopenshell.version)


@gc_paused
def load_model(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    geometry: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    use_cache: bool = True,
    settings: dict[str, Any] | None = None,
) -> BuildingModel:
    """Load an IFC model (one file, or several files of a federated project) with its geometry.

    Let's imagine a planner receives the architecture, structure and HVAC models of one project
    from three consultants: ``load_model([arch, struct, hvac])`` gives one model whose elements
    carry the file they came from, with one list of storeys and one bounding box.

    Parameters
    ----------
    paths : path or iterable of paths
        IFC files (IFC2X3, IFC4, IFC4X3; any length unit).
    geometry : bool, default True
        Tessellate elements (meshes and ``Element.bbox``); False reads records only.
    cache_dir : path, optional
        Cache directory; default ``$TWIN_CACHE_DIR`` or ``~/.cache/twin``.
    workers : int, optional
        Kernel threads for tessellation; default all cores.
    progress : callable, optional
        ``progress(done, total)`` during tessellation; with several files ``done`` and ``total``
        run over all files opened so far (``total`` grows as files are opened).
    use_cache : bool, default True
        Read and write the cache; False always recomputes and writes nothing.
    settings : dict, optional
        Geometry setting overrides (see :func:`twin.ifc.geometry.make_settings`).

    Returns
    -------
    BuildingModel
        Elements keyed by GlobalId (lengths in m, areas in m2, volumes in m3, masses in kg), storeys
        of every file (a storey shared by two files appears once per file, with its ``file``), meshes in world coordinates (metres), per-element geometry failures, and
        warnings (for example elements shared by two files: kept once, the first copy with geometry).

    Raises
    ------
    MissingFileError
        A path does not exist.
    IfcReadError
        A file is not IFC, is truncated or has an unknown schema (the message names the file).
    InputError
        No path was given.
    """
    path_list = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not path_list:
        raise InputError("no IFC file given")
    done_before = 0

    def file_progress(done: int, total: int) -> None:
        if progress is not None:
            progress(done_before + done, done_before + total)

    parts = []
    for path in path_list:
        records, meshes, failures = load_file(
            path, geometry=geometry, cache_dir=cache_dir, use_cache=use_cache,
            workers=workers, progress=file_progress if progress else None, settings=settings,
        )
        parts.append((records, meshes, failures))
        done_before += sum(1 for e in records.elements if e.has_body)
    return _merge(parts)


def _merge(parts: list[tuple[FileRecords, dict[str, Mesh], list[GeometryFailure]]]) -> BuildingModel:
    """One BuildingModel from per-file parts.

    An element that several files share (same GlobalId) is kept once: the first copy, unless a
    later copy has a mesh and the kept one has none.
    """
    elements: dict[str, Element] = {}
    meshes: dict[str, Mesh] = {}
    storeys: list[Storey] = []
    failures: list[GeometryFailure] = []
    warnings: list[str] = []
    for records, file_meshes, file_failures in parts:
        warnings.extend(records.warnings)
        duplicates = 0
        for element in records.elements:
            gid = element.global_id
            if gid in elements:
                duplicates += 1
                # Shared element: keep the first copy unless only this one has geometry.
                if gid in meshes or gid not in file_meshes:
                    continue
            elements[gid] = element
            if gid in file_meshes:
                meshes[gid] = file_meshes[gid]
        if duplicates:
            warnings.append(
                f"{records.file.path}: {duplicates} element(s) share a GlobalId with an earlier file; "
                "kept once (the first copy, or the first one with geometry)"
            )
        storeys.extend(records.storeys)
        failures.extend(file_failures)
    # A failure counts only for the copy that was kept, and only if no copy gave a mesh.
    failures = [f for f in failures if f.global_id not in meshes and elements[f.global_id].file == f.file]
    return BuildingModel(
        files=tuple(records.file for records, _, _ in parts),
        storeys=tuple(storeys),
        elements=elements,
        meshes=meshes,
        geometry_failures=tuple(failures),
        warnings=tuple(warnings),
    )
