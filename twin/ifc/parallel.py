"""Tessellation spread over worker processes, each running the ifcopenshell iterator with one thread.

Why processes: with ifcopenshell 0.9 the iterator's own threads cost about twice the CPU of one
thread for the same meshes (measured on Office_A: 7.7-8.5 CPU-s with 2 threads against 3.8-4.5
CPU-s with 1; see BENCHMARKS.md), so on a two-core machine they are no faster than one thread.
Two processes with one iterator thread each use 4.6 CPU-s in total and halve the wall time.

Each worker tessellates the chunk of STEP ids it is given and returns the meshes packed as
concatenated arrays (cheap to pickle). Where the platform can ``fork`` and the calling process runs
no other thread (the command line), workers are forked: they inherit the parsed file (no import,
no re-parse, in-memory edits included). Otherwise (Streamlit, Dask, Windows, macOS) they are
started with ``spawn``, which is safe in threaded hosts, and open the file from its path once.
"""
from __future__ import annotations

import multiprocessing as mp
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable

import numpy as np

from twin.model import Mesh

__all__ = ["tessellate_in_processes", "MIN_ELEMENTS_FOR_PROCESSES"]

MIN_ELEMENTS_FOR_PROCESSES = 256
"""Below this many elements starting worker processes (about a second each) is not worth it."""

_OPEN_FILES: dict[str, Any] = {}
"""Files open in this (worker) process by path; a forked worker finds the parent's file here."""


def _chunk_meshes(path: str, settings: dict[str, Any] | None, step_ids: list[int]) -> tuple:
    """Worker: meshes of the given elements as (guids, verts, faces, nverts, nfaces)."""
    import ifcopenshell
    import ifcopenshell.geom

    from twin.ifc.geometry import make_settings

    ifc_file = _OPEN_FILES.get(path)
    if ifc_file is None:
        ifc_file = _OPEN_FILES[path] = ifcopenshell.open(path)
    elements = [ifc_file.by_id(i) for i in step_ids]
    iterator = ifcopenshell.geom.iterator(make_settings(settings), ifc_file, 1, include=elements)
    guids: list[str] = []
    verts: list[np.ndarray] = []
    faces: list[np.ndarray] = []
    if iterator.initialize():
        while True:
            shape = iterator.get()
            geometry = shape.geometry
            v = np.frombuffer(geometry.verts_buffer, dtype=np.float64)
            f = np.frombuffer(geometry.faces_buffer, dtype=np.int32)
            if len(f):
                guids.append(shape.guid)
                verts.append(v)
                faces.append(f)
            if not iterator.next():
                break
    nverts = np.array([len(v) // 3 for v in verts], dtype=np.int64)
    nfaces = np.array([len(f) // 3 for f in faces], dtype=np.int64)
    all_v = np.concatenate(verts).reshape(-1, 3) if verts else np.zeros((0, 3))
    all_f = np.concatenate(faces).reshape(-1, 3) if faces else np.zeros((0, 3), dtype=np.int32)
    return guids, all_v, all_f, nverts, nfaces


def _unpack(packed: tuple) -> dict[str, Mesh]:
    guids, verts, faces, nverts, nfaces = packed
    if not guids:
        return {}
    vsplit = np.split(verts, np.cumsum(nverts)[:-1])
    fsplit = np.split(faces.astype(np.int64), np.cumsum(nfaces)[:-1])
    return {g: Mesh(v, f) for g, v, f in zip(guids, vsplit, fsplit)}


def _context(ifc_file: Any) -> mp.context.BaseContext:
    if ifc_file is not None and "fork" in mp.get_all_start_methods() and threading.active_count() == 1:
        return mp.get_context("fork")
    return mp.get_context("spawn")


def tessellate_in_processes(
    path: str,
    step_ids: list[int],
    *,
    settings: dict[str, Any] | None,
    workers: int,
    progress: Callable[[int, int], None] | None = None,
    ifc_file: Any = None,
) -> dict[str, Mesh] | None:
    """Meshes of the elements ``step_ids`` of the IFC file at ``path``, made in ``workers`` processes.

    Parameters
    ----------
    path : str
        The file on disk (workers re-open it, so in-memory edits of the caller's file are not seen).
    step_ids : list of int
        STEP ids (``entity.id()``) of the elements to tessellate.
    settings : dict or None
        Geometry setting overrides (see :func:`twin.ifc.geometry.make_settings`).
    workers : int
        Number of processes (>= 2).
    progress : callable, optional
        ``progress(done, total)`` as chunks finish.
    ifc_file : ifcopenshell.file, optional
        The opened file; forked workers use it instead of re-opening ``path``.

    Returns
    -------
    dict of str to Mesh, or None
        GlobalId -> mesh (world coordinates, metres) for every element that gave triangles; None if
        the processes could not be used at all (the caller then tessellates in this process).
    """
    total = len(step_ids)
    n_chunks = min(total, workers * 4)
    # Round-robin chunks balance heavy elements, which exporters tend to write next to each other.
    chunks = [step_ids[i::n_chunks] for i in range(n_chunks)]
    meshes: dict[str, Mesh] = {}
    done = 0
    context = _context(ifc_file)
    if context.get_start_method() == "fork":
        _OPEN_FILES[path] = ifc_file  # inherited by the forked workers
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {pool.submit(_chunk_meshes, path, settings, chunk): len(chunk) for chunk in chunks}
            for future in as_completed(futures):
                meshes.update(_unpack(future.result()))
                done += futures[future]
                if progress is not None:
                    progress(done, total)
    except Exception:  # noqa: BLE001 - broken pool, pickling, resource limits: fall back to threads
        return None
    finally:
        _OPEN_FILES.pop(path, None)
    return meshes
