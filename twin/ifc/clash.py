"""Geometric clash detection over a (federated) model's cached meshes, and ifcclash as a reference.

:func:`detect_clashes` takes the meshes ``twin.ifc.load_model`` already cached (no second
tessellation), finds candidate pairs with a sort-and-sweep over element boxes, and decides each
pair exactly with :mod:`twin.clashgeom`. Pairs are unordered (A/B order never changes the result)
and each pair's verdict is cached on disk keyed by the two meshes' content hashes and the settings,
so a re-run after one element changed only re-clashes the pairs that element takes part in.

:func:`run_clash` is the whole command: load, select, detect, group, 4D windows. :func:`ifcclash_pairs`
runs IfcOpenShell's ifcclash (``ifcopenshell.geom.tree``, ``clash_*_many``) on the same files and
classes, for tests and benchmarks.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from twin.atomic import atomic_path
from twin.clash import Clash, ExcludeRule, Selector, clash_id
from twin.clashgeom import (EPS, MeshInfo, _sat_depth, meets_interior, mesh_info, mesh_volume, min_distance, penetration,
                            points_inside, surfaces_cross, translated)
from twin.errors import InputError
from twin.gcpause import gc_paused
from twin.model import BuildingModel, Element, Mesh

__all__ = ["ClashRun", "detect_clashes", "run_clash", "candidate_pairs", "mesh_hash", "ifcclash_pairs", "subclass_test",
           "element_volume",
           "PairCache"]

_CACHE_VERSION = "3"      # bump when a verdict could change for the same meshes


@dataclass(frozen=True, slots=True)
class ClashRun:
    """Result of :func:`detect_clashes`: clashes, warnings and counts (``candidates``, ``computed``,
    ``cached``, ``seconds``)."""

    clashes: tuple[Clash, ...]
    warnings: tuple[str, ...] = ()
    stats: Mapping[str, Any] = field(default_factory=dict)


def mesh_hash(mesh: Mesh) -> bytes:
    """16-byte content hash of a mesh (vertices and faces)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(mesh.vertices.tobytes())
    h.update(mesh.faces.tobytes())
    return h.digest()


def subclass_test(schema: str = "IFC4") -> Callable[[str, str], bool]:
    """``is_a(cls, parent)`` from the IFC schema (IFC2X3, IFC4, IFC4X3), names case-insensitive."""
    import ifcopenshell.ifcopenshell_wrapper as w

    try:
        sch = w.schema_by_name(schema)
    except Exception:                                   # noqa: BLE001 - unknown schema name
        sch = w.schema_by_name("IFC4")
    memo: dict[tuple[str, str], bool] = {}

    def is_a(cls: str, parent: str) -> bool:
        key = (cls.lower(), parent.lower())
        if key not in memo:
            try:
                decl = sch.declaration_by_name(cls)
                ok = False
                while decl is not None:
                    if decl.name().lower() == key[1]:
                        ok = True
                        break
                    decl = decl.supertype()
                memo[key] = ok
            except Exception:                           # noqa: BLE001 - class not in this schema
                memo[key] = key[0] == key[1]
        return memo[key]
    return is_a


# ------------------------------------------------------------------------------- broad phase

def _pairs_after(order: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position k of ``order``, pairs (order[k], order[k + 1 .. k + counts[k]])."""
    n = len(order)
    total = int(counts.sum())
    ii = np.repeat(np.arange(n), counts)
    offs = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return order[ii], order[ii + 1 + offs]


def candidate_pairs(lo: np.ndarray, hi: np.ndarray, in_a: np.ndarray, in_b: np.ndarray, margin: float,
                    *, max_cells: int = 512) -> np.ndarray:
    """Pairs (i, j), i < j, of boxes that overlap after growing by ``margin``, with one element in A
    and the other in B (either way round).

    A uniform grid (cell = the 75th percentile of box sizes per axis): every box is entered in the cells it
    spans, pairs sharing a cell are candidates; boxes spanning more than ``max_cells`` cells (slabs,
    roofs, terrain) are tested against all boxes directly. Each pair is reported once.

    lo, hi : (n, 3) box corners; in_a, in_b : (n,) bool. Returns (p, 2) int64.
    """
    n = len(lo)
    empty = np.zeros((0, 2), dtype=np.int64)
    if n < 2:
        return empty
    glo, ghi = lo - margin / 2, hi + margin / 2
    size = np.maximum(np.percentile(ghi - glo, 75, axis=0), 1e-3)
    origin = glo.min(axis=0)
    c0 = np.floor((glo - origin) / size).astype(np.int64)
    c1 = np.floor((ghi - origin) / size).astype(np.int64)
    span = c1 - c0 + 1
    ncell = span.prod(axis=1)
    big = ncell > max_cells
    found = []
    small = np.nonzero(~big)[0]
    if len(small):
        sp = span[small]
        k = ncell[small]
        box = np.repeat(small, k)
        local = np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k)
        sy, sz = np.repeat(sp[:, 1], k), np.repeat(sp[:, 2], k)
        cx = c0[box, 0] + local // (sy * sz)
        cy = c0[box, 1] + (local // sz) % sy
        cz = c0[box, 2] + local % sz
        dims = c1.max(axis=0) + 2
        key = (cx * dims[1] + cy) * dims[2] + cz
        order = np.lexsort((box, key))
        key, box = key[order], box[order]
        run_end = np.searchsorted(key, key, side="right")
        counts = run_end - np.arange(len(key)) - 1
        i, j = _pairs_after(box, counts)
        found.append(np.stack([i, j], axis=1))
    bigs = np.nonzero(big)[0]
    step = max(1, 4_000_000 // n)
    for k0 in range(0, len(bigs), step):
        bb = bigs[k0:k0 + step]
        hit = np.all((glo[None, :, :] <= ghi[bb, None, :]) & (glo[bb, None, :] <= ghi[None, :, :]), axis=2)
        i, j = np.nonzero(hit)
        found.append(np.stack([bb[i], j], axis=1))
    if not found:
        return empty
    pairs = np.concatenate(found)
    pairs = np.stack([pairs.min(axis=1), pairs.max(axis=1)], axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    pairs = _unique_ints(pairs[:, 0] * n + pairs[:, 1])
    a, b = pairs // n, pairs % n
    ok = np.all((lo[a] <= hi[b] + margin) & (lo[b] <= hi[a] + margin), axis=1)
    ok &= (in_a[a] & in_b[b]) | (in_a[b] & in_b[a])
    return np.stack([a[ok], b[ok]], axis=1).astype(np.int64)


def _unique_ints(a: np.ndarray) -> np.ndarray:
    """Sorted unique values of an int array (as ``np.unique``, by sorting: faster than numpy 2's
    hash table for the few hundred thousand pair codes of a large model)."""
    a = np.sort(a, kind="stable")
    return a[np.concatenate(([True], a[1:] != a[:-1]))] if len(a) else a


def _compact(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(x, return_inverse=True)`` for small non-negative ints (shape indices), by a table."""
    if not x.size:
        return np.zeros(0, dtype=np.int64), np.zeros(x.shape, dtype=np.int64)
    present = np.zeros(int(x.max()) + 1, dtype=bool)
    present[x] = True
    return np.nonzero(present)[0], (np.cumsum(present) - 1)[x]


def _shallow(lo1, hi1, lo2, hi2, tolerance: float) -> np.ndarray:
    """Pairs that cannot overlap deeper than ``tolerance``: along some axis their boxes overlap by at
    most ``tolerance`` and neither box's interval holds the other's. Then every point inside both
    solids is within that overlap of both surfaces (a step along the axis leaves one box and the
    other), and a translation by it separates them, so no depth measure here can exceed it. Pairs
    with an open (non-manifold) mesh are kept apart from this by the caller's cache of verdicts:
    they are rejected too, i.e. touching open surfaces are not reported in hard mode.
    """
    ov = np.minimum(hi1, hi2) - np.maximum(lo1, lo2)
    nested = ((lo1 <= lo2) & (hi2 <= hi1)) | ((lo2 <= lo1) & (hi1 <= hi2))
    return np.any((ov <= tolerance) & ~nested, axis=1)


# ------------------------------------------------------------------------------------ cache

class PairCache:
    """Pair verdicts on disk: ``(hash a, hash b) -> None | (type, distance, point, method)`` for one
    mode and setting. Written atomically; an unreadable file is ignored."""

    def __init__(self, cache_dir: Path | None, settings_key: str) -> None:
        self.path = (cache_dir / f"clash-{settings_key}.pkl") if cache_dir else None
        self.data: dict[bytes, Any] = {}
        self.dirty = False
        if self.path and self.path.is_file():
            try:
                with open(self.path, "rb") as fh:
                    data = pickle.load(fh)
                if isinstance(data, dict):
                    self.data = data
            except Exception:                               # noqa: BLE001 - corrupt entry: rebuild
                self.data = {}

    @classmethod
    def for_settings(cls, cache_dir: Path | None, mode: str, tolerance: float, clearance: float) -> "PairCache":
        """The cache of one mode and its settings in ``cache_dir`` (None: in memory only). Values are
        the verdicts after the duplicate test (``duplicate`` for a hard overlap of two elements of one
        class and the same geometry), as :func:`detect_clashes` stores them."""
        settings_key = hashlib.sha1(f"{_CACHE_VERSION}|{mode}|{tolerance!r}|{clearance if mode == 'clearance' else ''}"
                                    .encode()).hexdigest()[:16]
        return cls(cache_dir, settings_key)

    def get(self, key: bytes) -> Any:
        return self.data.get(key, _MISS)

    def put(self, key: bytes, value: Any) -> None:
        self.data[key] = value
        self.dirty = True

    def save(self) -> None:
        if not (self.path and self.dirty):
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(self.path, suffix=".part") as tmp, open(tmp, "wb") as fh:
                pickle.dump(self.data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        except OSError:
            pass                                            # an unwritable cache is not an error


_MISS = object()


# ------------------------------------------------------------------------------ narrow phase

def _judge(mode: str, a: MeshInfo, b: MeshInfo, tolerance: float, clearance: float
           ) -> tuple[str, float, tuple[float, float, float], str] | None:
    """Verdict for one pair: (type, distance, point, method) or None."""
    if mode == "clearance":
        centre = tuple(map(float, (np.maximum(a.lo, b.lo) + np.minimum(a.hi, b.hi)) / 2))
        if a.convex and b.convex:
            # separating axes: overlap >= 0 means touching or crossing (distance 0); a gap on an axis is
            # a lower bound of the distance
            overlap, _ = _sat_depth(a, b)
            if overlap >= -EPS:
                return "clearance", 0.0, centre, "convex"                   # type: ignore[return-value]
            if -overlap >= clearance + 1e-9:
                return None
        elif _share_a_vertex(a, b):
            return "clearance", 0.0, centre, "distance"                     # type: ignore[return-value]
        elif a.convex != b.convex and a.closed and b.closed:
            c, o = (a, b) if a.convex else (b, a)
            if meets_interior(c, o, eps=-EPS):
                return "clearance", 0.0, centre, "convex"                   # type: ignore[return-value]
            # a separating axis with a gap of at least the clearance for every nearby triangle is a
            # lower bound of the distance: nothing closer than the clearance
            if not meets_interior(c, o, eps=-clearance + 1e-9):
                return None
        d, pa, pb = min_distance(a, b, limit=clearance)
        if not np.isfinite(d) or d >= clearance:
            return None
        p = (pa + pb) / 2
        return "clearance", float(d), tuple(map(float, p)), "distance"   # type: ignore[return-value]
    limit = EPS if mode == "hard" else max(tolerance, EPS)
    if a.convex and b.convex:
        depth, point, how = penetration(a, b)
        if depth > tolerance:
            return ("hard", depth, tuple(map(float, point)), how) if mode == "hard" else None  # type: ignore[return-value]
        if mode == "touch":
            d, pa, pb = min_distance(a, b, limit=limit)
            if np.isfinite(d) and d <= limit:
                return "touch", float(d), tuple(map(float, (pa + pb) / 2)), "distance"  # type: ignore[return-value]
        return None
    if mode == "hard" and a.closed and b.closed:
        if a.convex != b.convex:
            # a convex solid and another: they overlap in volume only if the other's surface enters
            # the convex one's interior, or the convex one lies inside the other (cheap exact test)
            c, o = (a, b) if a.convex else (b, a)
            inside_box = bool(np.all(c.lo >= o.lo - EPS) and np.all(c.hi <= o.hi + EPS))
            if not meets_interior(c, o) and not (inside_box and points_inside(c.vertices.mean(axis=0)[None], o)[0]):
                return None
        elif not a.convex and not b.convex and (a.parts or b.parts):
            # one of them is several convex shells (a window, a door): they overlap in volume only if a
            # shell does
            shells, o = (a.parts, b) if a.parts and (not b.parts or len(a.parts) <= len(b.parts)) else (b.parts, a)
            if not any(meets_interior(c, o) or (bool(np.all(c.lo >= o.lo - EPS) and np.all(c.hi <= o.hi + EPS))
                                                and points_inside(c.vertices.mean(axis=0)[None], o)[0])
                       for c in shells):
                return None
        # probes find contact and containment alike: no separate distance pass needed
        depth, point, how = penetration(a, b)
        if depth > tolerance:
            return "hard", depth, tuple(map(float, point)), how           # type: ignore[return-value]
        return None
    d, pa, pb = min_distance(a, b, limit=limit)
    contact = np.isfinite(d) and d <= limit
    if not contact:
        # no surface contact: hard only if one solid holds the other
        if mode == "hard" and a.closed and b.closed and (points_inside(a.vertices[:1], b)[0] or points_inside(b.vertices[:1], a)[0]):
            depth, point, how = penetration(a, b)
            if depth > tolerance:
                return "hard", depth, tuple(map(float, point)), how       # type: ignore[return-value]
        return None
    depth, point, how = penetration(a, b)
    if how == "surface":
        # an open mesh has no inside: surfaces that cross are a hard clash of unknown depth
        # (reported as 0); surfaces that only touch are a touch
        x = surfaces_cross(a, b)
        if x is not None:
            return ("hard", 0.0, tuple(map(float, x)), "surface") if mode == "hard" else None  # type: ignore[return-value]
        if mode == "touch":
            return "touch", float(d), tuple(map(float, pa)), "surface"    # type: ignore[return-value]
        return None
    if depth > tolerance:
        return ("hard", depth, tuple(map(float, point)), how) if mode == "hard" else None  # type: ignore[return-value]
    if mode == "touch":
        return "touch", float(d), tuple(map(float, (pa + pb) / 2)), "distance"  # type: ignore[return-value]
    return None


def _share_a_vertex(a: MeshInfo, b: MeshInfo) -> bool:
    """Do the meshes have a vertex in common (within 1e-7 m)? Then they touch: distance 0. Cheap, and
    it decides consecutive pipe or duct segments, which are costly for the exact distance."""
    lo, hi = np.maximum(a.lo, b.lo) - EPS, np.minimum(a.hi, b.hi) + EPS
    va = a.vertices[np.all((a.vertices >= lo) & (a.vertices <= hi), axis=1)]
    vb = b.vertices[np.all((b.vertices >= lo) & (b.vertices <= hi), axis=1)]
    if not len(va) or not len(vb):
        return False
    ka = np.round(va / 1e-7).astype(np.int64)
    kb = np.round(vb / 1e-7).astype(np.int64)
    row = np.dtype((np.void, 24))
    return bool(len(np.intersect1d(np.ascontiguousarray(ka).view(row).ravel(),
                                   np.ascontiguousarray(kb).view(row).ravel())))


def _batch_convex(items: Sequence[tuple[MeshInfo, MeshInfo]], mode: str, tolerance: float, clearance: float
                  ) -> list[Any]:
    """Verdicts for pairs of convex solids, vectorised over pairs of the same sizes: the smallest
    overlap over separating axes (face axes of both, edge-direction cross products) is the exact
    penetration depth (hard) or, when negative, a lower bound of the distance (clearance; pairs
    with a gap below the clearance are left to the exact distance, marked ``_MISS``)."""
    out: list[Any] = [_MISS] * len(items)
    buckets: dict[tuple[int, ...], list[int]] = {}
    for k, (a, b) in enumerate(items):
        if len(a.edge_dirs) * len(b.edge_dirs) > 40_000:
            continue
        sig = (len(a.face_dirs), len(a.edge_dirs), len(a.vertices), len(b.face_dirs), len(b.edge_dirs), len(b.vertices))
        buckets.setdefault(sig, []).append(k)
    for sig, ks in buckets.items():
        for s0 in range(0, len(ks), 4096):
            kk = ks[s0:s0 + 4096]
            A = [items[k][0] for k in kk]
            B = [items[k][1] for k in kk]
            ea = np.stack([x.edge_dirs for x in A])                          # (P, ea, 3)
            eb = np.stack([x.edge_dirs for x in B])
            c = np.cross(ea[:, :, None, :], eb[:, None, :, :]).reshape(len(kk), -1, 3)
            ln = np.linalg.norm(c, axis=2)
            c = np.where(ln[..., None] > 1e-9, c / np.where(ln > 1e-9, ln, 1.0)[..., None], 0.0)
            ax = np.concatenate([np.stack([x.face_dirs for x in A]), np.stack([x.face_dirs for x in B]), c], axis=1)
            va = np.stack([x.vertices for x in A])                           # (P, va, 3)
            vb = np.stack([x.vertices for x in B])
            pa = np.einsum("pki,pvi->pkv", ax, va)
            pb = np.einsum("pki,pvi->pkv", ax, vb)
            overlap = np.minimum(pa.max(axis=2) - pb.min(axis=2), pb.max(axis=2) - pa.min(axis=2))
            valid = np.concatenate([np.ones((len(kk), ax.shape[1] - c.shape[1]), bool), ln > 1e-9], axis=1)
            depth = np.where(valid, overlap, np.inf).min(axis=1)
            lo = np.maximum(np.stack([x.lo for x in A]), np.stack([x.lo for x in B]))
            hi = np.minimum(np.stack([x.hi for x in A]), np.stack([x.hi for x in B]))
            centre = (lo + hi) / 2
            for n, k in enumerate(kk):
                d = float(depth[n])
                if mode == "hard":
                    out[k] = ("hard", d, tuple(map(float, centre[n])), "convex") if d > tolerance else None
                elif d >= -EPS:
                    out[k] = ("clearance", 0.0, tuple(map(float, centre[n])), "convex")
                elif -d >= clearance + 1e-9:        # a gap at the clearance itself goes to the exact test
                    out[k] = None
    return out


_KERNEL = True      # the compiled narrow phase (twin.clashkern) when numba is there; False: the numpy reference


def _judge_many(pairs: np.ndarray, meshes: Sequence[Mesh], info_of: Callable[[int], MeshInfo], mode: str,
                tolerance: float, clearance: float, progress: Callable[[int, int], None] | None,
                table: "_ShapeTable | None" = None) -> list[Any]:
    """Verdicts (as :func:`_judge`) for pairs (p, 2) of indices into ``meshes``.

    The compiled kernel (:mod:`twin.clashkern`) decides what it can in one call per chunk over
    shapes packed once (``table``: the shape table of ``meshes`` when the caller has it); the pairs
    it hands back (open meshes, touch mode), or all pairs when it is off or numba is missing, go
    through the numpy reference: convex pairs vectorised, the rest one by one."""
    from twin import clashkern

    n = len(pairs)
    out: list[Any] = [None] * n
    if not n:
        return out
    if _KERNEL and clashkern.available() and mode != "touch":
        if table is None:
            xs, inv = np.unique(pairs.ravel(), return_inverse=True)
            table = _ShapeTable([meshes[x] for x in xs])
            idx = inv.reshape(-1, 2)
        else:
            idx = pairs
        used, s = _compact(table.shape[idx])
        pack = clashkern.pack_shapes([table.info(x) for x in used.tolist()])
        s, o = s.reshape(-1, 2), table.off[idx]
        code = np.empty(n, dtype=np.int8)
        dist = np.empty(n)
        point = np.empty((n, 3))
        meth = np.empty(n, dtype=np.int8)
        step = max(4096, n // 16)
        for s0 in range(0, n, step):
            sl = slice(s0, s0 + step)
            code[sl], dist[sl], point[sl], meth[sl] = clashkern.judge_pairs(
                pack, s[sl, 0], o[sl, 0], s[sl, 1], o[sl, 1], mode, tolerance, clearance)
            if progress:
                progress(min(n, s0 + step), n)
        kind = "hard" if mode == "hard" else "clearance"
        hit = np.nonzero(code == clashkern.VERDICT)[0]
        methods = clashkern.METHODS
        for k, d, pt, m in zip(hit.tolist(), dist[hit].tolist(), point[hit].tolist(), meth[hit].tolist()):
            out[k] = (kind, d, tuple(pt), methods[m])
        rest = np.nonzero(code == clashkern.FALLBACK)[0].tolist()
        early: dict[int, Any] = {}
    else:
        rest = list(range(n))
        # convex pairs are decided together (vectorised separating axes); the rest one by one
        batch = [k for k in rest if mode != "touch" and info_of(pairs[k][0]).convex and info_of(pairs[k][1]).convex]
        early = dict(zip(batch, _batch_convex([(info_of(pairs[k][0]), info_of(pairs[k][1])) for k in batch], mode,
                                              tolerance, clearance)))
    for n_done, k in enumerate(rest):
        verdict = early.get(k, _MISS)
        if verdict is _MISS:
            verdict = _judge(mode, info_of(pairs[k][0]), info_of(pairs[k][1]), tolerance, clearance)
        out[k] = verdict
        if progress and (n_done % 256 == 0 or n_done == len(rest) - 1):
            progress(n_done + 1, len(rest))
    return out


class _ShapeTable:
    """Meshes as shapes moved by offsets, found for all meshes of one size at once.

    ``shape`` (n,) shape index per mesh; ``off`` (n, 3) the mesh's box corner (its lowest
    coordinates: the offset); ``hi`` (n, 3) its highest. Two meshes are one shape when their
    vertices relative to the box corner agree to 1e-9 m and their faces are the same (the key of
    :func:`_info`). :meth:`info` is the shape's MeshInfo in local coordinates, computed on first use.
    """

    def __init__(self, meshes: Sequence[Mesh]) -> None:
        from twin.clashgeom import _row_keys

        groups: dict[tuple[int, int], list[int]] = {}
        for k, m in enumerate(meshes):
            groups.setdefault((len(m.vertices), len(m.faces)), []).append(k)
        self.shape = np.empty(len(meshes), dtype=np.int64)
        self.off = np.empty((len(meshes), 3))
        self.hi = np.empty((len(meshes), 3))
        self._local: list[tuple[np.ndarray, np.ndarray]] = []
        self._infos: dict[int, MeshInfo] = {}
        for ks in groups.values():
            v = np.stack([meshes[k].vertices for k in ks])                       # (g, nv, 3)
            f = np.stack([meshes[k].faces for k in ks]).astype(np.int64).reshape(len(ks), -1)
            lo = v.min(axis=1)
            local = v - lo[:, None, :]
            key = np.concatenate([np.round(local / 1e-9).astype(np.int64).reshape(len(ks), -1), f], axis=1)
            _, first, inv = np.unique(_row_keys(key), return_index=True, return_inverse=True)
            self.shape[ks] = len(self._local) + inv.reshape(-1)
            self.off[ks] = lo
            self.hi[ks] = v.max(axis=1)
            self._local += [(local[x], meshes[ks[x]].faces) for x in first]

    def info(self, s: int) -> MeshInfo:
        got = self._infos.get(s)
        if got is None:
            # each shape on the 1e-9 m grid of its key, as in _info: the same whichever mesh of the
            # shape comes first, so a pair's verdict does not depend on the other meshes of the call
            # (ClashSession re-judges a few pairs and must find what a full run finds, to the last bit)
            local, faces = self._local[s]
            got = self._infos[s] = mesh_info(np.round(local / 1e-9) * 1e-9, faces)
        return got


def _is_duplicate(ea: Element | None, eb: Element | None, a: MeshInfo, b: MeshInfo, tol: float) -> bool:
    if ea is None or eb is None or ea.ifc_class != eb.ifc_class:
        return False
    if not (np.allclose(a.lo, b.lo, atol=max(tol, EPS)) and np.allclose(a.hi, b.hi, atol=max(tol, EPS))):
        return False
    if len(a.tris) != len(b.tris):
        return False
    sa = np.unique(np.round(a.vertices / max(tol, 1e-4)), axis=0)
    sb = np.unique(np.round(b.vertices / max(tol, 1e-4)), axis=0)
    return sa.shape == sb.shape and bool(np.all(sa == sb))


@gc_paused
def detect_clashes(
    model: BuildingModel,
    a_ids: Sequence[str],
    b_ids: Sequence[str] | None = None,
    *,
    mode: str = "hard",
    tolerance: float = 0.002,
    clearance: float = 0.05,
    exclude: Sequence[ExcludeRule] = (),
    extra: Mapping[str, tuple[Mesh, Element]] | None = None,
    is_a: Callable[[str, str], bool] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> ClashRun:
    """Clash the elements ``a_ids`` against ``b_ids`` (default: A against itself).

    Parameters
    ----------
    model : BuildingModel with meshes (``load_model(..., geometry=True)``)
    a_ids, b_ids : GlobalIds of the two selections (an element in both is clashed once per pair)
    mode : ``hard`` (overlap deeper than ``tolerance``, m), ``touch`` (surfaces within ``tolerance``
        but no hard overlap), ``clearance`` (surfaces closer than ``clearance``, m)
    exclude : rules for pairs that are not clashes (same system, selector pairs)
    extra : more objects, id -> (Mesh, Element), e.g. the scenario's temporary works
    cache_dir, use_cache : pair-verdict cache (default: the model cache directory)

    Returns
    -------
    ClashRun : one Clash per clashing pair (never both (a, b) and (b, a)), sorted by id.
    """
    if mode not in ("hard", "touch", "clearance"):
        raise InputError(f"clash mode must be hard, touch or clearance, got '{mode}'")
    if tolerance < 0:
        raise InputError(f"tolerance must be >= 0 m, got {tolerance}")
    if mode == "clearance" and not clearance > 0:
        raise InputError(f"clearance must be > 0 m, got {clearance}")
    t0 = time.perf_counter()
    meshes: dict[str, Mesh] = dict(model.meshes)
    elements: dict[str, Element] = dict(model.elements)
    for k, (m, e) in (extra or {}).items():
        meshes[k], elements[k] = m, e
    b_ids = a_ids if b_ids is None else b_ids
    warnings: list[str] = []
    ids = list(dict.fromkeys([*a_ids, *b_ids]))
    no_mesh = [g for g in ids if g not in meshes or len(meshes[g].faces) == 0]
    if no_mesh:
        warnings.append(f"{len(no_mesh)} selected element(s) have no geometry and were skipped "
                        f"(e.g. {', '.join(no_mesh[:3])})")
    ids = [g for g in ids if g in meshes and len(meshes[g].faces)]
    sa, sb = set(a_ids), set(b_ids)
    in_a = np.array([g in sa for g in ids], dtype=bool)
    in_b = np.array([g in sb for g in ids], dtype=bool)
    table = _ShapeTable([meshes[g] for g in ids])
    lo, hi = table.off, table.hi
    margin = {"hard": EPS, "touch": max(tolerance, EPS), "clearance": clearance}[mode]
    pairs = candidate_pairs(lo, hi, in_a, in_b, margin)
    if mode == "hard" and len(pairs):
        pairs = pairs[~_shallow(lo[pairs[:, 0]], hi[pairs[:, 0]], lo[pairs[:, 1]], hi[pairs[:, 1]], tolerance)]
    if exclude:
        keep = [not any(r.excludes(elements[ids[i]], elements[ids[j]], is_a) for r in exclude) for i, j in pairs]
        pairs = pairs[np.array(keep, dtype=bool)] if len(pairs) else pairs
    cdir = None
    if use_cache:
        from twin.ifc.cache import default_cache_dir

        cdir = Path(cache_dir) if cache_dir else default_cache_dir()
    cache = PairCache.for_settings(cdir, mode, tolerance, clearance)
    hashes: dict[int, bytes] = {}
    infos: dict[bytes, MeshInfo] = {}
    shapes: dict[bytes, MeshInfo] = {}
    out: list[Clash] = []
    open_meshes: set[str] = set()
    index = {g: x for x, g in enumerate(ids)}
    for x in _unique_ints(pairs.ravel()).tolist():
        hashes[x] = mesh_hash(meshes[ids[x]])
    keys = [hashes[i] + hashes[j] if hashes[i] <= hashes[j] else hashes[j] + hashes[i] for i, j in pairs.tolist()]
    # a cached "duplicate" was stored after the duplicate test, which reads the element records (not in
    # the key): back to the geometric verdict, and the test runs again below on this run's records
    verdicts = [("hard",) + tuple(v[1:]) if v is not _MISS and v is not None and v[0] == "duplicate" else v
                for v in map(cache.get, keys)]
    misses = [k for k, v in enumerate(verdicts) if v is _MISS]
    cached = len(pairs) - len(misses)
    computed = len(misses)

    def info_of(x: int) -> MeshInfo:
        h = hashes[x]
        got = infos.get(h)
        if got is None:
            got = infos.setdefault(h, _info(meshes[ids[x]], shapes))
        return got
    todo = pairs[misses] if misses else np.zeros((0, 2), dtype=np.int64)
    # each pair judged in the order of its meshes' hashes, as it is cached: a verdict (its point when
    # several are equally good) is then a function of the cache key, whichever way A and B were given
    flip = np.array([hashes[i] > hashes[j] for i, j in todo.tolist()], dtype=bool).reshape(-1)
    todo[flip] = todo[flip][:, ::-1]
    decided = _judge_many(todo, [meshes[g] for g in ids], info_of, mode, tolerance, clearance, progress, table)
    for k, verdict in zip(misses, decided):
        verdicts[k] = verdict
    for k, verdict in enumerate(verdicts):   # cached or judged now: duplicates by this run's records
        if verdict is not None and verdict[0] == "hard":
            i, j = pairs[k]
            ea, eb = elements.get(ids[i]), elements.get(ids[j])
            if ea is not None and eb is not None and ea.ifc_class == eb.ifc_class:
                if _is_duplicate(ea, eb, info_of(i), info_of(j), tolerance):
                    verdicts[k] = ("duplicate",) + tuple(verdict[1:])
    for k in misses:
        cache.put(keys[k], verdicts[k])
    hit = [k for k, v in enumerate(verdicts) if v is not None]
    for k, ga, gb in zip(hit, *_oriented(pairs[hit], ids, in_a, in_b)):
        verdict = verdicts[k]
        ea, eb = elements.get(ga), elements.get(gb)
        if verdict[3] == "surface":
            open_meshes.update(g for g in (ga, gb) if not _closed(infos, hashes[index[g]], meshes[g]))
        out.append(Clash(                # positional: id, a, b, type, distance, point, mode, classes, files, names
            clash_id(ga, gb, mode), ga, gb, verdict[0], float(verdict[1]), tuple(verdict[2]), mode,
            ea.ifc_class if ea else "", eb.ifc_class if eb else "", ea.file if ea else "", eb.file if eb else "",
            ea.name if ea else None, eb.name if eb else None, verdict[3]))
    cache.save()
    if open_meshes:
        warnings.append(f"{len(open_meshes)} element(s) have open or non-manifold meshes, so no inside: "
                        f"their clashes fall back to a surface contact test with depth 0 "
                        f"(e.g. {', '.join(sorted(open_meshes)[:3])})")
    out.sort(key=lambda c: c.id)
    stats = {"elements": len(ids), "candidates": int(len(pairs)), "computed": computed, "cached": cached,
             "seconds": round(time.perf_counter() - t0, 4)}
    return ClashRun(tuple(out), tuple(warnings), stats)


def _oriented(pairs: np.ndarray, ids: Sequence[str], in_a: np.ndarray, in_b: np.ndarray) -> tuple[list[str], list[str]]:
    """GlobalIds of index pairs (p, 2), A's element first; an element in both selections (or a pair
    within one) by GlobalId. Vectorised over pairs; returns (a ids, b ids)."""
    if not len(pairs):
        return [], []
    i, j = pairs[:, 0], pairs[:, 1]
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(np.array(ids, dtype=str), kind="stable")] = np.arange(len(ids))
    fwd, back = in_a[i] & in_b[j], in_a[j] & in_b[i]
    swap = (back & ~fwd) | (fwd & back & (rank[j] < rank[i]))
    first, second = np.where(swap, j, i).tolist(), np.where(swap, i, j).tolist()
    return [ids[x] for x in first], [ids[x] for x in second]


def _info(mesh: Mesh, shapes: dict[bytes, MeshInfo]) -> MeshInfo:
    """MeshInfo of a mesh, reusing the work done for the same shape elsewhere (same triangles up to
    a translation, as for every column of one type): keyed by the mesh moved to its box corner."""
    lo = mesh.vertices.min(axis=0)
    local = mesh.vertices - lo
    h = hashlib.blake2b(digest_size=16)
    h.update(np.round(local / 1e-9).astype(np.int64).tobytes())
    h.update(mesh.faces.tobytes())
    key = h.digest()
    base = shapes.get(key)
    if base is None:
        # the shape on the 1e-9 m grid of its key: the same for every element of the shape whichever
        # comes first, so a verdict does not depend on the other elements of a run (ClashSession)
        base = shapes.setdefault(key, mesh_info(np.round(local / 1e-9) * 1e-9, mesh.faces))
    return translated(base, lo)


def _closed(infos: dict[bytes, MeshInfo], h: bytes, mesh: Mesh) -> bool:
    info = infos.get(h)
    if info is None:
        info = infos.setdefault(h, mesh_info(mesh.vertices, mesh.faces))
    return info.closed


def element_volume(mesh: Mesh) -> float:
    """Volume (m3) of an element's closed mesh (0 for an open one)."""
    info = mesh_info(mesh.vertices, mesh.faces)
    return mesh_volume(mesh.vertices, mesh.faces) if info.closed else 0.0


# ------------------------------------------------------------------------ reference: ifcclash

def ifcclash_pairs(
    a: Sequence[tuple[str, str | None]],
    b: Sequence[tuple[str, str | None]] | None = None,
    *,
    mode: str = "hard",
    tolerance: float = 0.002,
    clearance: float = 0.05,
    check_all: bool = True,
) -> dict[frozenset[str], dict[str, Any]]:
    """Run IfcOpenShell's ifcclash (``Clasher.process_clash_set``) and return its pairs.

    ``a``/``b``: lists of (file, selector or None) sources as ifcclash takes them (selector in
    ``ifcopenshell.util.selector`` syntax, e.g. ``"IfcWall, IfcSlab"``). Modes map to ifcclash's:
    hard -> intersection (``tolerance``, ``check_all``), touch -> collision (allow_touching),
    clearance -> clearance. Returns ``frozenset({a, b}) -> {"type", "distance", "p1", "p2"}``;
    a pair of an element with itself (ifcclash reports none) is dropped.
    """
    import logging

    from ifcclash.ifcclash import Clasher, ClashSettings

    settings = ClashSettings()
    settings.logger = logging.getLogger("ifcclash")
    clasher = Clasher(settings)

    def sources(items):
        return [{"file": str(f), **({"mode": "i", "selector": s} if s else {})} for f, s in items]
    clash_set: dict[str, Any] = {"name": "twin", "a": sources(a), "mode": {"hard": "intersection",
                                 "touch": "collision", "clearance": "clearance"}[mode]}
    if b is not None:
        clash_set["b"] = sources(b)
    if mode == "hard":
        clash_set.update(tolerance=tolerance, check_all=check_all)
    elif mode == "touch":
        clash_set.update(allow_touching=True)
    else:
        clash_set.update(clearance=clearance, check_all=check_all)
    clasher.clash_sets = [clash_set]
    clasher.clash()
    out: dict[frozenset[str], dict[str, Any]] = {}
    for r in clash_set["clashes"].values():
        if r["a_global_id"] == r["b_global_id"]:
            continue
        out[frozenset((r["a_global_id"], r["b_global_id"]))] = {
            "type": r["type"], "distance": r["distance"], "p1": r["p1"], "p2": r["p2"]}
    return out


# ------------------------------------------------------------------------------ the command

def run_clash(
    inputs: Sequence[str | os.PathLike[str]],
    a: str = "*",
    b: str | None = None,
    *,
    mode: str = "hard",
    tolerance: float = 0.002,
    clearance: float = 0.05,
    exclude: Sequence[str] = (),
    group_by: str = "system",
    group_distance: float = 3.0,
    previous: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    model: BuildingModel | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    incremental: bool = False,
    session: Any = None,
) -> dict[str, Any]:
    """Everything ``twin clash`` does: load the model(s) or a scenario (``.toml``: model, schedule,
    links, ``[[temporary]]`` objects and cranes for 4D), select A and B, detect, group, diff against
    a previous report, and date each clash. Returns the JSON document (see ``docs/clash.md``) with
    the records under the private keys ``_clashes``, ``_groups`` and ``_model``.

    ``incremental``: detect through a :class:`twin.ifc.clash_session.ClashSession`, returned under
    ``_session``; ``session``: such a session from a previous run (the app keeps one per scenario and
    settings): the changed model is re-clashed through it, judging only the pairs of the elements that
    changed (a session with other settings is not used).
    """
    from twin.clash import (coexistence, diff_clashes, element_windows, group_clashes, parse_exclude,
                            parse_selector, read_previous, temporary_element, temporary_mesh)

    say = progress or (lambda _what, _done, _total: None)
    paths = [Path(p) for p in inputs]
    if not paths:
        raise InputError("give at least one IFC model file or a scenario .toml")
    sel_a = parse_selector(a)
    sel_b = parse_selector(b) if b is not None else None
    rules = [parse_exclude(x) for x in exclude]
    prev = read_previous(previous) if previous is not None else None
    scenario_file = next((p for p in paths if p.suffix.lower() == ".toml"), None)
    warnings: list[str] = []
    extra: dict[str, tuple[Mesh, Element]] = {}
    windows: dict[str, tuple[Any, Any]] | None = None
    end = None
    if scenario_file is not None:
        if len(paths) > 1:
            raise InputError("give either one scenario .toml or IFC model files, not both")
        model, windows, end, temps, w = _scenario_4d(scenario_file, model, say)
        warnings += w
        for obj, win in temps:
            extra[obj.global_id] = (temporary_mesh(obj), temporary_element(obj))
            windows[obj.global_id] = win
    elif model is None:
        from twin.ifc import load_model

        model = load_model([str(p) for p in paths], cache_dir=cache_dir, use_cache=use_cache,
                           progress=lambda d, t: say("tessellating", d, t))
    if not model.meshes:
        raise InputError(f"{', '.join(str(p) for p in paths)}: the model has no geometry to clash "
                         f"({len(model.elements)} elements, none with a mesh)")
    schema = model.files[0].schema if model.files else "IFC4"
    is_a = subclass_test(schema)
    pool = list(model.elements.values()) + [e for _, e in extra.values()]
    a_ids = sel_a.select(pool, is_a)
    b_ids = sel_b.select(pool, is_a) if sel_b is not None else None
    for name, sel, ids in (("--a", sel_a, a_ids), ("--b", sel_b, b_ids)):
        if sel is not None and not ids:
            warnings.append(f"{name} '{sel.text}' matches no element")
    if session is not None and session.same_settings(mode, tolerance, clearance, rules):
        run = session.rerun(model, a_ids, b_ids, extra=extra, progress=lambda d, t: say("clashing", d, t))
    elif incremental:
        from twin.ifc.cache import default_cache_dir
        from twin.ifc.clash_session import ClashSession

        session = ClashSession(model, a_ids, b_ids, mode=mode, tolerance=tolerance, clearance=clearance,
                               exclude=rules, extra=extra, is_a=is_a,
                               pair_cache=(cache_dir or default_cache_dir()) if use_cache else None,
                               progress=lambda d, t: say("clashing", d, t))
        run = session.run
    else:
        session = None
        run = detect_clashes(model, a_ids, b_ids, mode=mode, tolerance=tolerance, clearance=clearance,
                             exclude=rules, extra=extra, is_a=is_a, cache_dir=cache_dir, use_cache=use_cache,
                             progress=lambda d, t: say("clashing", d, t))
    warnings += run.warnings
    clashes = list(run.clashes)
    if windows is not None and end is not None:
        from dataclasses import replace

        dated = []
        for c in clashes:
            both = coexistence(windows.get(c.a), windows.get(c.b), end)
            dated.append(replace(c, first=both[0] if both else None, last=both[1] if both else None))
        clashes = dated
    elements = {**model.elements, **{k: e for k, (_, e) in extra.items()}}
    clashes, groups = group_clashes(clashes, elements, by=group_by, distance=group_distance)
    resolved: list[dict[str, Any]] = []
    if prev is not None:
        clashes, resolved = diff_clashes(clashes, prev)
    from twin.clash import clash_to_dict

    counts: dict[str, int] = {}
    for c in clashes:
        counts[c.type] = counts.get(c.type, 0) + 1
    doc: dict[str, Any] = {
        "mode": mode, "tolerance": tolerance, "clearance": clearance if mode == "clearance" else None,
        "a": a, "b": b, "selected": {"a": len(a_ids), "b": len(b_ids) if b_ids is not None else len(a_ids)},
        "clashes": [clash_to_dict(c) for c in clashes],
        "groups": [{"id": g.id, "key": g.key, "clashes": list(g.clash_ids), "centre": [round(x, 3) for x in g.centre]}
                   for g in groups],
        "resolved": resolved, "counts": counts,
        "status": {s: sum(1 for c in clashes if c.status == s) for s in ("new", "active", "reviewed", "approved")}
        | {"resolved": len(resolved)},
        "four_d": windows is not None, "stats": dict(run.stats), "warnings": warnings,
        "_clashes": clashes, "_groups": groups, "_model": model, "_extra": extra, "_session": session,
    }
    if windows is not None:
        doc["never_coexist"] = sum(1 for c in clashes if c.first is None)
    return doc


def _scenario_4d(path: Path, model: BuildingModel | None, say):
    """Model, element existence windows, schedule end, temporary objects with windows, warnings."""
    from datetime import datetime

    from twin.clash import TemporaryObject, element_windows, parse_temporary
    from twin.cpm import compute_cpm
    from twin.fourd import task_windows
    from twin.scenario import load_scenario, resolve

    scenario = load_scenario(path)
    say("loading scenario", 0, 1)
    r = resolve(scenario, geometry=True, model=model)
    cpm = compute_cpm(r.schedule)
    tw = task_windows(r.schedule, cpm.dates)
    windows: dict[str, Any] = dict(element_windows(tw, r.links.pairs))
    end = cpm.finish
    warnings = []
    unlinked = sum(1 for g in r.model.meshes if g not in windows)
    if unlinked:
        warnings.append(f"{unlinked} element(s) with geometry are linked to no dated activity: taken as there "
                        f"for the whole programme")
    temps = list(parse_temporary(scenario.other.get("temporary"), str(path)))
    # crane masts: scenario cranes as 1 m radius cylinders from the model's base to 6 m over its top
    bbox = r.model.bbox
    if bbox is not None:
        for c in scenario.cranes:
            temps.append(TemporaryObject(f"crane {c.name}", "crane", cylinder=(
                c.x, c.y, bbox[0][2], 1.0, bbox[1][2] - bbox[0][2] + 6.0)))
    out = []
    for t in temps:
        if t.activity is not None:
            w = tw.get(t.activity)
            if w is None:
                raise InputError(f"{path}: temporary '{t.name}': activity '{t.activity}' is not in the schedule")
            win = (w.effective_start, w.effective_finish)
        else:
            win = (t.start or datetime.min, t.finish)
        out.append((t, win))
    return r.model, windows, end, out, warnings
