"""Load one IFC file or a federated set into a :class:`twin.model.BuildingModel`, through the cache.

This is the orchestration behind :func:`twin.ifc.load_model`: for each file, hash its bytes, take
records and meshes from the cache when present, otherwise open the file, read the records
(:mod:`twin.ifc.reader`), tessellate (:mod:`twin.ifc.geometry`) and store both in the cache
(:mod:`twin.ifc.cache`); then merge the files into one model.

A file edited since its path was last read in full (the *base*) is read as a delta
(:func:`_load_delta`): the new text is diffed against the base's, the dependency index of the base
(:mod:`twin.ifc.delta`) says which elements the edit can have changed, and only those are read and
tessellated; every other record and mesh is the base's (the very objects, when this process loaded
the base: a :class:`twin.ifc.clash_session.ClashSession` then sees at once what did not change).
Whatever the delta cannot vouch for is read in full.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, Iterable

from twin.errors import InputError, MissingFileError
from twin.gcpause import gc_paused
from twin.ifc import cache as _cache
from twin.ifc.geometry import Progress, settings_digest, tessellate
from twin.ifc.reader import (FileRecords, file_sha256, open_ifc, read_elements, read_file, select_elements,
                             warning_element)
from twin.ifc.units import FileUnits
from twin.model import BBox, BuildingModel, Element, GeometryFailure, Mesh, ModelFile, Storey

__all__ = ["load_model", "load_file"]

_ELEMENT_FIELDS = tuple(f.name for f in fields(Element) if f.name != "bbox")
_TUPLE_FIELDS = ("materials", "systems", "placement")
_MAX_PARSE_PROBLEMS = 10
_BASES: "OrderedDict[tuple[str, str | None], tuple[FileRecords, dict[str, Mesh], list[GeometryFailure]]]" = OrderedDict()
_MAX_BASES = 2               # files kept in memory as delta bases (their objects are shared with the models)
_BASES_LOCK = threading.Lock()


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
            records = replace(records, file=replace(records.file, path=str(path)),
                              warnings=_relabelled(records.warnings, records.file.path, str(path)))
    if use_cache and records is None:
        delta = _load_delta(p, path, sha, directory, geometry, settings, workers, progress)
        if delta is not None:
            return delta
    cached_meshes = _cache.load_meshes_entry(directory, meshes_key) if (use_cache and geometry) else None

    ifc_file = None
    scan = None
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
            if not problems:
                scan = _save_index(ifc_file, p, sha, directory, records_key)
    elif use_cache and _cache.has_index(directory, records_key):
        base = _cache.latest_key(p, "base")
        if _cache.load_latest(directory, base) != sha:
            _cache.save_latest(directory, base, sha)          # this version, with its index, is the next base
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
            meshes, failures, prints = _tessellate_changed(ifc_file, p, str(path), directory, settings, workers, progress,
                                                           scan)
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
    result = replace(records, elements=elements, storeys=storeys)
    if use_cache:
        _remember(records_key, meshes_key if geometry else None, result, meshes, failures)
    return result, meshes, failures


def _relabelled(warnings: tuple[str, ...], old: str, new: str) -> tuple[str, ...]:
    """Warnings read under path ``old`` (they start with it) as they read for the same file at ``new``."""
    if old == new:
        return tuple(warnings)
    return tuple(new + w[len(old):] if w.startswith(old) else w for w in warnings)


def _remember(records_key: str, meshes_key: str | None, records: FileRecords, meshes: dict[str, Mesh],
              failures: list[GeometryFailure]) -> None:
    """Keep a file's result in memory as a delta base (the last :data:`_MAX_BASES` files)."""
    with _BASES_LOCK:
        _BASES[(records_key, meshes_key)] = (records, dict(meshes), list(failures))
        _BASES.move_to_end((records_key, meshes_key))
        while len(_BASES) > _MAX_BASES:
            _BASES.popitem(last=False)


def _save_index(ifc_file: Any, p: Path, sha: str, directory: Path, records_key: str) -> dict | None:
    """Write the file's delta index and make this version its path's base; returns the record scan
    (for the geometry fingerprints), or None when the file cannot have an index."""
    from twin.ifc.delta import build_index
    from twin.ifc.fingerprint import scan_records

    try:
        data = p.read_bytes()
        scan = scan_records(data)
        wanted = select_elements(ifc_file)
        elements = {e.GlobalId: e.id() for e in wanted}
        if len(elements) != len(wanted):
            return scan                   # GlobalIds repeated in the file: records cannot be told apart
        file_wide = [x.id() for c in ("IfcProject", "IfcBuildingStorey") for x in ifc_file.by_type(c)]
        index = build_index(data, ifc_file.schema_identifier, elements, file_wide, records=scan)
    except (OSError, ValueError, RuntimeError, KeyError):
        return None
    if _cache.save_index(directory, records_key, index.to_arrays()) is not None:
        _cache.save_latest(directory, _cache.latest_key(p, "base"), sha)
    return scan


def _base_parts(directory: Path, records_key: str, meshes_key: str | None
                ) -> tuple[FileRecords, dict[str, Mesh], list[GeometryFailure]] | None:
    """A base's records (with boxes when ``meshes_key``), meshes and failures: from memory, else the cache."""
    with _BASES_LOCK:
        got = _BASES.get((records_key, meshes_key))
    if got is not None:
        return got
    payload = _cache.load_records_entry(directory, records_key)
    parsed = _records_from_payload(payload) if payload is not None else None
    if parsed is None:
        return None
    records, rows = parsed
    meshes: dict[str, Mesh] = {}
    failures: list[GeometryFailure] = []
    bounds: dict[str, BBox] = {}
    if meshes_key is not None:
        cached = _cache.load_meshes_entry(directory, meshes_key)
        if cached is None:
            return None
        meshes, failures, bounds = cached
    records = replace(records, elements=tuple(_element_from_row(row, bounds.get(row[0])) for row in rows))
    return records, meshes, failures


def _load_delta(p: Path, path: str | os.PathLike[str], sha: str, directory: Path, geometry: bool,
                settings: dict[str, Any] | None, workers: int | None, progress: Progress | None
                ) -> tuple[FileRecords, dict[str, Mesh], list[GeometryFailure]] | None:
    """The file read as an edit of its path's base (see the module docstring), or None when it must be
    read in full (no base, or an edit the index cannot vouch for)."""
    from twin.ifc.delta import DeltaIndex, affected, diff_text

    base_sha = _cache.load_latest(directory, _cache.latest_key(p, "base"))
    if not base_sha or base_sha == sha:
        return None
    records_key = _cache.entry_key(base_sha, "records")
    meshes_key = _cache.entry_key(base_sha, "meshes", settings_digest(settings)) if geometry else None
    arrays = _cache.load_index(directory, records_key)
    if arrays is None:
        return None
    try:
        index = DeltaIndex.from_arrays(arrays)
    except (KeyError, ValueError, TypeError):
        return None
    try:
        data = p.read_bytes()
    except OSError:
        return None
    diff = diff_text(index.source, data)
    hit = affected(index, diff) if not isinstance(diff, str) else diff
    if isinstance(hit, str) or len(hit.records) > max(64, len(index.gids) // 4):
        return None
    base = _base_parts(directory, records_key, meshes_key)
    if base is None:
        return None
    old, old_meshes, old_failures = base
    label = str(path)
    fresh: dict[str, Any] = {}
    new_meshes: dict[str, Mesh] = {}
    new_failures: list[GeometryFailure] = []
    new_warnings: list[str] = []
    # other geometry settings may read more than the shape subgraph (material layer sets...): then every
    # element read again is tessellated again
    shapes = (set(hit.shapes) if not settings else set(hit.records)) if geometry else set()
    if hit.records or diff.added or len(diff.changed) or diff.header_changed:
        # the parser sees every change: damaged lines, or references left dangling by a deleted record,
        # give the full read's warnings (or error)
        problems: list[str] = []
        ifc_file = open_ifc(p, problems)
        if problems:
            return None
        sid_of = dict(zip(index.gids, index.sids.tolist()))
        entities = []
        for gid in hit.records:
            try:
                entity = ifc_file.by_id(sid_of[gid])
            except RuntimeError:
                return None
            if entity.GlobalId != gid:
                return None
            entities.append(entity)
        read, new_warnings = read_elements(ifc_file, label, old.units, entities)
        fresh = {e.global_id: e for e in read}
        todo = [e for e in entities if e.GlobalId in shapes and e.Representation]
        if todo:
            new_meshes, new_failures = tessellate(ifc_file, label, settings=settings, elements=todo,
                                                  workers=1 if len(todo) < 64 else workers, progress=progress)
    meshes = dict(old_meshes)
    for gid in shapes:
        meshes.pop(gid, None)
    meshes.update(new_meshes)
    elements = []
    for e in old.elements:
        new = fresh.get(e.global_id)
        if new is None:
            elements.append(e if e.file == label else replace(e, file=label))
        elif e.global_id in shapes:
            mesh = meshes.get(e.global_id)
            elements.append(replace(new, bbox=mesh.bounds if mesh is not None else None))
        else:
            elements.append(replace(new, bbox=e.bbox))
    by_element: dict[str, list[str]] = {}
    others: list[str] = []
    for w in _relabelled(old.warnings, old.file.path, label):
        gid = warning_element(w)
        if gid is None:
            others.append(w)
        elif gid not in fresh:
            by_element.setdefault(gid, []).append(w)
    for w in new_warnings:
        by_element.setdefault(warning_element(w) or "", []).append(w)
    warnings = others + [w for e in elements for w in by_element.get(e.global_id, ())]
    position = {e.global_id: i for i, e in enumerate(elements)}
    failures = [f if f.file == label else replace(f, file=label) for f in old_failures if f.global_id not in shapes]
    failures += [replace(f, file=label) for f in new_failures]
    failures.sort(key=lambda f: position.get(f.global_id, len(position)))     # element order, as a full read
    records = replace(old, file=replace(old.file, path=label, sha256=sha), elements=tuple(elements),
                      storeys=tuple(s if s.file == label else replace(s, file=label) for s in old.storeys),
                      warnings=tuple(warnings))
    return records, meshes, failures


def _tessellate_changed(ifc_file: Any, p: Path, label: str, directory: Path, settings: dict[str, Any] | None,
                        workers: int | None, progress: Progress | None, scan: dict | None = None
                        ) -> tuple[dict[str, Mesh], list[GeometryFailure], dict[str, bytes] | None]:
    """Meshes of a file, tessellating only the elements whose geometry fingerprint is not the one
    stored with the last meshes of the same path (an edited file: one element moved costs one
    element). Returns meshes, failures and the fingerprints (None when the scan failed: then every
    element is tessellated)."""
    from twin.ifc.fingerprint import element_fingerprints

    wanted = [e for e in select_elements(ifc_file) if e.Representation]
    digest = settings_digest(settings)
    try:
        extra = {e.GlobalId: _cut_ids(e) for e in wanted}
        prints: dict[str, bytes] | None = element_fingerprints(
            p, {e.GlobalId: e.id() for e in wanted}, extra, context=[x.id() for x in ifc_file.by_type("IfcProject")],
            salt=f"{ifc_file.schema}|{digest}|{_engine_version()}", records=scan)
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


def _cut_ids(element: Any) -> list[int]:
    """Step ids of the openings and projections the kernel applies to ``element``: its own and those of
    the assemblies it is part of (the kernel cuts a part with its assembly's openings)."""
    out: list[int] = []
    seen: set[int] = set()
    todo = [element]
    while todo:
        e = todo.pop()
        if e.id() in seen:
            continue
        seen.add(e.id())
        out += [r.RelatedOpeningElement.id() for r in getattr(e, "HasOpenings", None) or ()]
        out += [r.RelatedFeatureElement.id() for r in getattr(e, "HasProjections", None) or ()]
        for rel in (*(getattr(e, "Decomposes", None) or ()), *(getattr(e, "Nests", None) or ())):
            whole = getattr(rel, "RelatingObject", None)
            if whole is not None and (rel.is_a("IfcRelAggregates") or rel.is_a("IfcRelNests")):
                todo.append(whole)
    return out


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
