"""On-disk cache of what was read from an IFC file, so that reopening a model is instant.

Two entries per file, both keyed by the sha256 of the file's bytes, the ifcopenshell version and
:data:`CACHE_FORMAT` (bumped whenever the records or the layout change):

- ``records-<key>.json``: the element records, storeys, units and warnings (no geometry);
- ``meshes-<key>.npz``: every mesh of the file, as concatenated arrays with per-element counts, plus
  the geometry failures; its key also includes the geometry settings digest.

Layout of ``meshes-*.npz`` (uncompressed, so loading is a straight read):

=============  ==================  ==========================================================
array          shape, dtype        meaning
=============  ==================  ==========================================================
``verts``      (N, 3) float64      all vertices, metres, world coordinates
``faces``      (M, 3) int64        all triangles, indices local to each element's vertices
``nverts``     (k,) int64          vertices per element, in ``guids`` order
``nfaces``     (k,) int64          triangles per element
``guids``      (k,) str            GlobalIds
``failures``   () str              JSON list of [global_id, file, message]
``fp_guids``   (j,) str            elements with a geometry fingerprint (optional)
``fps``        (j, 16) uint8       their fingerprints (:mod:`twin.ifc.fingerprint`)
=============  ==================  ==========================================================

``latest-<key>.txt`` names the meshes entry last written for one file path and geometry settings:
after the file was edited, :func:`twin.ifc.load.load_file` takes the meshes of the elements whose
fingerprint did not change from that entry and tessellates only the others.

``index-<key>.npz`` (key of the records entry) holds a file's text and its dependency index
(:class:`twin.ifc.delta.DeltaIndex`); ``base-<key>.txt`` names, for one file path, the sha256 of the
version last read in full that has one. After a small edit, the loader diffs the new text against
that base and reads only the elements the edit can have changed (:mod:`twin.ifc.delta`).

Entries are written to a temporary file in the cache directory and renamed into place (atomic on
POSIX and Windows). An entry that cannot be read (corrupt, truncated, from another format) is
ignored and rebuilt: the cache never makes a load fail.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from twin.atomic import atomic_path
from twin.model import BBox, GeometryFailure, Mesh

__all__ = [
    "CACHE_FORMAT",
    "default_cache_dir",
    "entry_key",
    "load_records_entry",
    "save_records_entry",
    "load_meshes_entry",
    "save_meshes_entry",
    "load_fingerprints",
    "latest_key",
    "load_latest",
    "save_latest",
    "save_index",
    "load_index",
    "has_index",
]

CACHE_FORMAT = 4
"""Version of the cache layout and of the record fields; part of every key."""


def default_cache_dir() -> Path:
    """``$TWIN_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/twin``, else ``~/.cache/twin``."""
    env = os.environ.get("TWIN_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "twin"


def entry_key(sha256: str, *parts: str) -> str:
    """Cache key from a file's content hash, the engine version and extra parts (settings)."""
    import ifcopenshell

    text = "|".join([sha256, str(CACHE_FORMAT), str(ifcopenshell.version), *parts])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _write_atomic(path: Path, write: Callable[[Any], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        write(handle)


def save_records_entry(cache_dir: Path, key: str, payload: dict[str, Any]) -> Path | None:
    """Write the records payload (JSON-serialisable dict); None if the cache is not writable."""
    path = Path(cache_dir) / f"records-{key}.json"
    try:
        data = json.dumps({"format": CACHE_FORMAT, **payload}, separators=(",", ":"), allow_nan=True)
    except (TypeError, ValueError):
        return None          # a value JSON cannot hold (a damaged record read as an entity): not cached
    try:
        _write_atomic(path, lambda h: h.write(data.encode("utf-8")))
    except OSError:
        return None
    return path


def load_records_entry(cache_dir: Path, key: str) -> dict[str, Any] | None:
    """The records payload, or None when absent or unreadable."""
    path = Path(cache_dir) / f"records-{key}.json"
    try:
        payload = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(payload, dict) or payload.get("format") != CACHE_FORMAT:
        return None
    return payload


def save_meshes_entry(
    cache_dir: Path, key: str, meshes: dict[str, Mesh], failures: list[GeometryFailure],
    fingerprints: dict[str, bytes] | None = None,
) -> Path | None:
    """Write all meshes of one file as one ``.npz`` (with the elements' geometry fingerprints when
    given); None if the cache is not writable."""
    guids = list(meshes)
    nverts = np.array([len(meshes[g].vertices) for g in guids], dtype=np.int64)
    nfaces = np.array([len(meshes[g].faces) for g in guids], dtype=np.int64)
    verts = np.concatenate([meshes[g].vertices for g in guids]) if guids else np.zeros((0, 3))
    faces = np.concatenate([meshes[g].faces for g in guids]) if guids else np.zeros((0, 3), np.int64)
    failures_json = json.dumps([[f.global_id, f.file, f.message] for f in failures])
    fp_guids = list(fingerprints or ())
    fps = np.frombuffer(b"".join(fingerprints[g] for g in fp_guids), dtype=np.uint8).reshape(-1, 16) if fp_guids \
        else np.zeros((0, 16), np.uint8)
    path = Path(cache_dir) / f"meshes-{key}.npz"
    try:
        _write_atomic(
            path,
            lambda h: np.savez(
                h,
                verts=verts,
                faces=faces.astype(np.int64, copy=False),
                nverts=nverts,
                nfaces=nfaces,
                guids=np.array(guids, dtype=str),
                failures=np.array(failures_json),
                fp_guids=np.array(fp_guids, dtype=str),
                fps=fps,
            ),
        )
    except OSError:
        return None
    return path


def load_meshes_entry(
    cache_dir: Path, key: str
) -> tuple[dict[str, Mesh], list[GeometryFailure], dict[str, BBox]] | None:
    """Meshes, failures and per-element boxes of one file, or None when absent or unreadable.

    Meshes are read-only views into two large arrays (no per-element copy); boxes are computed
    for all elements at once (``np.minimum.reduceat``).
    """
    path = Path(cache_dir) / f"meshes-{key}.npz"
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            verts = data["verts"]
            faces = data["faces"]
            nverts = data["nverts"]
            nfaces = data["nfaces"]
            guids = data["guids"].tolist()
            failures = json.loads(str(data["failures"]))
        if (
            verts.ndim != 2 or verts.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3
            or len(guids) != len(nverts) or len(guids) != len(nfaces)
            or int(nverts.sum()) != len(verts) or int(nfaces.sum()) != len(faces)
            or (len(nverts) and int(nverts.min()) <= 0)
        ):
            return None
        if not guids:
            return {}, [GeometryFailure(*item) for item in failures], {}
        starts = np.concatenate([[0], np.cumsum(nverts)[:-1]])
        lo = np.minimum.reduceat(verts, starts, axis=0).tolist()
        hi = np.maximum.reduceat(verts, starts, axis=0).tolist()
        vsplit = np.split(verts, starts[1:])
        fsplit = np.split(faces, np.cumsum(nfaces)[:-1])
        meshes = {g: Mesh(v, f) for g, v, f in zip(guids, vsplit, fsplit)}
        bounds = {g: (tuple(a), tuple(b)) for g, a, b in zip(guids, lo, hi)}
        return meshes, [GeometryFailure(*item) for item in failures], bounds  # type: ignore[misc]
    except Exception:  # noqa: BLE001 - any unreadable entry (BadZipFile, ValueError...) is rebuilt
        return None


def load_fingerprints(cache_dir: Path, key: str) -> dict[str, bytes] | None:
    """GlobalId -> geometry fingerprint stored with a meshes entry, or None (absent, unreadable, or
    written without fingerprints)."""
    path = Path(cache_dir) / f"meshes-{key}.npz"
    try:
        with np.load(path, allow_pickle=False) as data:
            if "fps" not in data.files:
                return None
            guids = data["fp_guids"].tolist()
            fps = data["fps"]
        if fps.ndim != 2 or fps.shape != (len(guids), 16):
            return None
        return {g: bytes(row) for g, row in zip(guids, fps)}
    except Exception:  # noqa: BLE001 - any unreadable entry counts as absent
        return None


def latest_key(path: str | os.PathLike[str], *parts: str) -> str:
    """Key of the ``latest-*`` pointer of one file path (resolved) and settings."""
    text = "|".join([str(Path(path).resolve()), str(CACHE_FORMAT), *parts])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def save_latest(cache_dir: Path, key: str, meshes_key: str) -> None:
    """Remember ``meshes_key`` as the last meshes entry of the file behind ``key`` (best effort)."""
    try:
        _write_atomic(Path(cache_dir) / f"latest-{key}.txt", lambda h: h.write(meshes_key.encode()))
    except OSError:
        pass


def load_latest(cache_dir: Path, key: str) -> str | None:
    """The meshes key :func:`save_latest` wrote, or None."""
    try:
        text = (Path(cache_dir) / f"latest-{key}.txt").read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if text.isalnum() else None


def _index_path(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / f"index-{key}.npz"


def has_index(cache_dir: Path, key: str) -> bool:
    """Whether a delta index was written for the records entry ``key``."""
    return _index_path(cache_dir, key).exists()


def save_index(cache_dir: Path, key: str, arrays: dict[str, np.ndarray]) -> Path | None:
    """Write a delta index (:meth:`twin.ifc.delta.DeltaIndex.to_arrays`); None if the cache is not writable."""
    path = _index_path(cache_dir, key)
    try:
        _write_atomic(path, lambda h: np.savez(h, **arrays))
    except OSError:
        return None
    return path


def load_index(cache_dir: Path, key: str) -> dict[str, np.ndarray] | None:
    """The arrays :func:`save_index` wrote, or None (absent or unreadable)."""
    path = _index_path(cache_dir, key)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except Exception:  # noqa: BLE001 - any unreadable entry counts as absent
        return None
