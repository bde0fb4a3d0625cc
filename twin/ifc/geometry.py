"""Tessellate IFC elements into triangle meshes in world coordinates (metres), on all cores.

The work is done by ``ifcopenshell.geom.iterator`` (OpenCASCADE kernel) with ``use-world-coords``:
its output is already in metres whatever the file's length unit (checked by the tests on millimetre,
metre and inch files). Large files are split over worker processes, one iterator thread each
(:mod:`twin.ifc.parallel`); small files and in-memory files use one iterator with threads.
Per-element failures never stop the run: they are collected as
:class:`twin.model.GeometryFailure` with the kernel's message.

Two repairs happen before an element is given up:

- the iterator silently skips elements it cannot process; every skipped element that has a
  ``Body`` representation is retried alone with ``ifcopenshell.geom.create_shape``, which reports
  why it failed;
- some exporters write ``*`` (the STEP "derived" marker) in ordinary attributes such as ``Name``
  (seen in Revit exports, e.g. the ``House.ifc`` sample); the kernel then refuses the element
  ("Requested type <string> does not match actual type <derived>"). Such attributes are set to
  null *in memory* (the file on disk is never written) and the element is retried.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from typing import Any, Callable, Iterable

import ifcopenshell
import ifcopenshell.geom
import numpy as np

from twin.ifc.parallel import MIN_ELEMENTS_FOR_PROCESSES, tessellate_in_processes
from twin.ifc.reader import has_body, select_elements
from twin.model import GeometryFailure, Mesh

__all__ = [
    "DEFAULT_SETTINGS",
    "make_settings",
    "settings_digest",
    "tessellate",
    "meshes_bbox",
    "Progress",
]

Progress = Callable[[int, int], None]
"""Progress callback ``(done, total) -> None``."""

DEFAULT_SETTINGS: dict[str, Any] = {
    "use-world-coords": True,
    "weld-vertices": True,
}
"""Geometry settings twin uses; part of the cache key."""

_DERIVED_MARKER = "does not match actual type <derived>"


def make_settings(overrides: dict[str, Any] | None = None) -> ifcopenshell.geom.settings:
    """ifcopenshell geometry settings: :data:`DEFAULT_SETTINGS` updated with ``overrides``.

    Keys are ifcopenshell 0.9 setting names (``"use-world-coords"``, ``"mesher-linear-deflection"``,
    ...); an unknown name raises ``ValueError`` naming it.
    """
    settings = ifcopenshell.geom.settings()
    for key, value in {**DEFAULT_SETTINGS, **(overrides or {})}.items():
        try:
            settings.set(key, value)
        except Exception as exc:  # noqa: BLE001 - ifcopenshell raises various types here
            raise ValueError(f"unknown or invalid geometry setting {key!r}={value!r}: {exc}") from None
    return settings


def settings_digest(overrides: dict[str, Any] | None = None) -> str:
    """Stable hex digest of the effective settings (for cache keys)."""
    merged = {**DEFAULT_SETTINGS, **(overrides or {})}
    text = json.dumps(merged, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _mesh_of(shape: Any) -> Mesh:
    geometry = shape.geometry
    verts = np.frombuffer(geometry.verts_buffer, dtype=np.float64).reshape(-1, 3)
    faces = np.frombuffer(geometry.faces_buffer, dtype=np.int32).reshape(-1, 3).astype(np.int64)
    return Mesh(verts, faces)


def _null_derived_attributes(entity: ifcopenshell.entity_instance) -> int:
    """Set explicit attributes that read as None to null, on the entity and its shape; count them.

    Writing None over a ``*`` makes it ``$`` in memory. Attributes that are really null are
    unchanged; attributes that are derived in the schema refuse the write and are skipped.
    """
    changed = 0
    targets = [entity]
    if getattr(entity, "Representation", None) is not None:
        targets.append(entity.Representation)
    for target in targets:
        info = target.declaration.as_entity()
        derived = info.derived()
        for i, attr in enumerate(info.all_attributes()):
            if derived[i] or target[i] is not None:
                continue
            try:
                setattr(target, attr.name(), None)
                changed += 1
            except Exception:  # noqa: BLE001 - attribute cannot be written: leave it
                pass
    return changed


def _failure_message(entity: ifcopenshell.entity_instance, reason: str) -> str:
    """'IfcWall 'Name' (#12): <kernel reason> (Body items: IfcFacetedBrep)' without STEP dumps."""
    reason = reason.split(". Product:")[0].strip().rstrip(".") or "no geometry"
    items = sorted(
        {
            item.is_a()
            for rep in (entity.Representation.Representations if entity.Representation else ())
            if (rep.RepresentationIdentifier or "").lower() == "body"
            for item in rep.Items or ()
        }
    )
    name = _text_or_none(entity)
    label = f"{entity.is_a()} '{name}'" if name else entity.is_a()
    return f"{label} (#{entity.id()}): {reason}" + (f" (Body items: {', '.join(items)})" if items else "")


def _text_or_none(entity: ifcopenshell.entity_instance) -> str | None:
    try:
        name = entity.Name
    except (AttributeError, RuntimeError):
        return None
    return name if isinstance(name, str) and name else None


def _retry_alone(
    settings: ifcopenshell.geom.settings, entity: ifcopenshell.entity_instance
) -> tuple[Mesh | None, str | None]:
    """Tessellate one element with create_shape; (mesh, None) or (None, reason)."""
    for attempt in range(2):
        try:
            shape = ifcopenshell.geom.create_shape(settings, entity)
        except Exception as exc:  # noqa: BLE001 - the kernel raises RuntimeError and friends
            message = str(exc) or type(exc).__name__
            if attempt == 0 and _DERIVED_MARKER in message and _null_derived_attributes(entity):
                continue
            return None, message
        mesh = _mesh_of(shape)
        if mesh.n_triangles == 0:
            return None, "tessellation produced no triangles"
        return mesh, None
    return None, "element could not be tessellated"


def tessellate(
    ifc_file: ifcopenshell.file,
    path: str = "",
    *,
    settings: dict[str, Any] | None = None,
    elements: Iterable[ifcopenshell.entity_instance] | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    processes: bool | None = None,
) -> tuple[dict[str, Mesh], list[GeometryFailure]]:
    """Triangulate elements of an opened IFC file, in parallel, in world coordinates.

    Let's imagine a planner has opened a Tekla steel model: every beam, column and plate needs a
    mesh for the 4D view and for clash detection, and a few bad elements must not stop the rest.

    Parameters
    ----------
    ifc_file : ifcopenshell.file
        The opened file (:func:`twin.ifc.open_ifc`).
    path : str
        The file's path, used in failure records.
    settings : dict, optional
        Overrides of :data:`DEFAULT_SETTINGS` (ifcopenshell setting names).
    elements : iterable of entity_instance, optional
        Elements to tessellate; default all physical elements (:func:`select_elements`).
    workers : int, optional
        Parallel workers; default ``multiprocessing.cpu_count()``.
    progress : callable, optional
        Called as ``progress(done, total)`` while elements are processed.
    processes : bool, optional
        True: ``workers`` processes each run the iterator with one thread on a chunk of the
        elements (forked workers share ``ifc_file``; spawned ones re-open ``path``); False: one
        iterator with ``workers`` threads in this process. Default (None): processes when ``path`` is a file on disk, ``workers > 1`` and
        there are at least :data:`twin.ifc.parallel.MIN_ELEMENTS_FOR_PROCESSES` elements, because
        the iterator's threads cost twice the CPU of one thread in ifcopenshell 0.9 (see
        :mod:`twin.ifc.parallel`). Pass False when ``ifc_file`` was edited in memory and the
        caller runs threads (spawned workers would read the file on disk).

    Returns
    -------
    meshes : dict of str to Mesh
        GlobalId -> mesh; vertices (n, 3) float64 in metres, world coordinates; faces (m, 3) int64.
    failures : list of GeometryFailure
        Elements with a ``Body`` representation that produced no mesh, with the kernel's reason.

    Examples
    --------
    >>> f = ifcopenshell.file(schema="IFC4")
    >>> meshes, failures = tessellate(f)  # a file without elements gives nothing, and no error
    >>> (meshes, failures)
    ({}, [])
    """
    geom_settings = make_settings(settings)
    wanted = [e for e in (select_elements(ifc_file) if elements is None else elements) if e.Representation]
    total = len(wanted)
    meshes: dict[str, Mesh] = {}
    if total == 0:
        return meshes, []
    workers = max(1, workers or multiprocessing.cpu_count())
    if processes is None:
        processes = workers > 1 and total >= MIN_ELEMENTS_FOR_PROCESSES and bool(path) and os.path.isfile(path)
    from_processes = None
    if processes:
        from_processes = tessellate_in_processes(
            path, [e.id() for e in wanted], settings=settings, workers=workers, progress=progress,
            ifc_file=ifc_file,
        )
    if from_processes is not None:
        meshes.update(from_processes)
    else:
        meshes.update(_iterate(geom_settings, ifc_file, wanted, workers, progress))
    seen: set[str] = set()
    for entity in wanted:      # a GlobalId repeated in the file: the first element's shape, whatever order they came in
        gid = entity.GlobalId
        if gid in seen and gid in meshes:
            first = next(e for e in wanted if e.GlobalId == gid)
            mesh, _ = _retry_alone(geom_settings, first)
            if mesh is not None:
                meshes[gid] = mesh
            else:
                meshes.pop(gid)
        seen.add(gid)
    failures = []
    for entity in wanted:
        if entity.GlobalId in meshes or not has_body(entity):
            continue
        mesh, reason = _retry_alone(geom_settings, entity)
        if mesh is not None:
            meshes[entity.GlobalId] = mesh
        else:
            failures.append(GeometryFailure(entity.GlobalId, path, _failure_message(entity, reason or "")))
    if progress is not None:
        progress(total, total)
    return meshes, failures


def _iterate(
    geom_settings: ifcopenshell.geom.settings,
    ifc_file: ifcopenshell.file,
    wanted: list[ifcopenshell.entity_instance],
    workers: int,
    progress: Progress | None,
) -> dict[str, Mesh]:
    """One ifcopenshell iterator with ``workers`` threads in this process."""
    meshes: dict[str, Mesh] = {}
    total = len(wanted)
    iterator = ifcopenshell.geom.iterator(geom_settings, ifc_file, workers, include=wanted)
    done = 0
    if iterator.initialize():
        while True:
            shape = iterator.get()
            mesh = _mesh_of(shape)
            if mesh.n_triangles:
                meshes[shape.guid] = mesh
            done += 1
            if progress is not None and (done % 64 == 0 or done == total):
                progress(min(done, total), total)
            if not iterator.next():
                break
    return meshes


def meshes_bbox(meshes: Iterable[Mesh]) -> tuple[tuple[float, float, float], tuple[float, float, float]] | None:
    """Box around all vertices of ``meshes`` in metres, or None when there are none."""
    lows, highs = [], []
    for mesh in meshes:
        if len(mesh.vertices):
            lows.append(mesh.vertices.min(axis=0))
            highs.append(mesh.vertices.max(axis=0))
    if not lows:
        return None
    lo = np.min(lows, axis=0)
    hi = np.max(highs, axis=0)
    return (tuple(map(float, lo)), tuple(map(float, hi)))  # type: ignore[return-value]
