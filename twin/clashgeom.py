"""Exact mesh-against-mesh geometry for clash detection (pure numpy, no ifcopenshell).

Everything here works on two triangle meshes at a time, in world coordinates (metres), and is
vectorised over triangle pairs. Assumptions (stated, as networkx's ``dag.py`` does):

- a *closed* mesh (every undirected edge used by an even number of triangles after welding vertices
  that coincide within 1e-7 m: one closed shell, or several sharing edges, as Revit writes doors and
  windows), or whose only boundary edges are T-junctions (collinear pieces of a longer edge, as
  SketchUp writes), bounds a solid, and "inside" is decided by ray parity;
- an open or non-manifold mesh is a surface only: it can touch or cross another surface, but has no
  inside, so its penetration depth is not defined (the caller says so in a warning);
- convex closed meshes get an exact penetration depth (the minimum translation that separates
  them, by the separating-axis theorem over face normals and edge-edge cross products), which also
  finds overlaps whose faces are coplanar (two walls drawn over each other);
- non-convex pairs get the deepest probe point's distance to the other's surface, over vertices of
  one strictly inside the other, midpoints of edge stretches piercing the other, and coplanar faces with the same
  outward normal overlapping in area (half the smaller thickness behind the shared face).

Public functions: :func:`mesh_info`, :func:`min_distance`, :func:`penetration`,
:func:`points_inside`, :func:`point_triangle_distance`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["MeshInfo", "mesh_info", "translated", "meets_interior", "surfaces_cross", "min_distance", "penetration", "points_inside",
           "point_triangle_distance", "segment_distance", "mesh_volume", "EPS"]

EPS = 1e-6          # metres: distances below this are contact
_CHUNK = 2_000_000  # pair evaluations per numpy batch (memory bound)
_RAY = np.array([0.5773502691896257, 0.3141592653589793, 0.7536526236965477])
_RAY = _RAY / np.linalg.norm(_RAY)


@dataclass(frozen=True, eq=False, slots=True)
class MeshInfo:
    """Derived data of one mesh, computed once per mesh and reused across pairs.

    Attributes
    ----------
    tris : (m, 3, 3) float64, triangle corners
    lo, hi : (3,) box corners
    tri_lo, tri_hi : (m, 3) per-triangle boxes
    normals : (m, 3) unit normals (zero for degenerate triangles)
    edges : (e, 2, 3) unique undirected edges
    closed : every edge shared by an even number of triangles (parity gives an inside)
    convex : closed and every vertex on or behind every face plane (1e-6 m)
    edge_dirs, face_dirs : unique edge directions and face-normal axes (sign folded), for the SAT
    parts : when the mesh is 2..64 separate shells (a Revit window: frame pieces and panes) that are
        each closed and convex, one MeshInfo per shell; else empty
    """

    vertices: NDArray[np.float64]
    tris: NDArray[np.float64]
    lo: NDArray[np.float64]
    hi: NDArray[np.float64]
    tri_lo: NDArray[np.float64]
    tri_hi: NDArray[np.float64]
    normals: NDArray[np.float64]
    edges: NDArray[np.float64]
    closed: bool
    convex: bool
    edge_dirs: NDArray[np.float64]      # (k, 3) unique edge directions (convex meshes only)
    face_dirs: NDArray[np.float64]      # (k, 3) unique face normal axes (convex meshes only)
    parts: tuple["MeshInfo", ...] = ()  # convex closed pieces when the mesh is several of them


def mesh_volume(vertices: NDArray[np.float64], faces: NDArray[np.int64]) -> float:
    """Enclosed volume (m3) of a closed mesh by the divergence theorem (absolute value)."""
    t = vertices[faces]
    return float(abs(np.einsum("ij,ij->i", t[:, 0], _cross(t[:, 1], t[:, 2])).sum()) / 6.0)


def _cross(a: NDArray, b: NDArray) -> NDArray:
    """Cross product over the last axis (broadcast), without np.cross's axis shuffling."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def _row_keys(x: NDArray[np.int64]) -> NDArray:
    """One hashable key per row of an int64 array (a void view: fast np.unique on rows)."""
    x = np.ascontiguousarray(x)
    return x.view(np.dtype((np.void, x.dtype.itemsize * x.shape[1]))).ravel()


def _t_junctions_only(boundary: NDArray[np.float64]) -> bool:
    """True when every boundary edge lies along other boundary edges (T-junctions: a long edge on
    one side, its collinear pieces on the other, as SketchUp writes). Such a mesh is geometrically
    closed, so ray parity still tells inside from outside."""
    b = len(boundary)
    if b < 2 or b > 1000:
        return False
    probes = boundary.mean(axis=1)                                                     # (b, 3)
    # distance from each midpoint to each other boundary edge (point-segment)
    p0, d = boundary[None, :, 0], boundary[None, :, 1] - boundary[None, :, 0]
    t = np.clip(np.einsum("ijk,ijk->ij", probes[:, None, :] - p0, d) / np.maximum(np.einsum("ijk,ijk->ij", d, d), 1e-30),
                0.0, 1.0)
    gap = probes[:, None, :] - (p0 + d * t[..., None])
    dist = np.einsum("ijk,ijk->ij", gap, gap)
    np.fill_diagonal(dist, np.inf)
    return bool(np.all(dist.min(axis=1) < 1e-12))


def translated(info: MeshInfo, offset: NDArray[np.float64]) -> MeshInfo:
    """The same mesh moved by ``offset`` (closedness, convexity, normals and axes do not change)."""
    o = np.asarray(offset, dtype=np.float64)
    return MeshInfo(info.vertices + o, info.tris + o, info.lo + o, info.hi + o, info.tri_lo + o, info.tri_hi + o,
                    info.normals, info.edges + o, info.closed, info.convex, info.edge_dirs, info.face_dirs,
                    tuple(translated(p, o) for p in info.parts))


def mesh_info(vertices: NDArray[np.float64], faces: NDArray[np.int64]) -> MeshInfo:
    """Precompute triangles, boxes, normals, unique edges, closedness and convexity of a mesh.

    Parameters
    ----------
    vertices : (n, 3) float64, metres
    faces : (m, 3) int64
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    tris = v[f]
    n = _cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    ln = np.sqrt(np.einsum("ij,ij->i", n, n))
    good = ln > 1e-14
    normals = np.zeros_like(n)
    normals[good] = n[good] / ln[good, None]
    # weld coincident vertices so that closedness does not depend on how the kernel split normals
    _, first, weld = np.unique(_row_keys(np.round(v / 1e-7).astype(np.int64)), return_index=True,
                               return_inverse=True)
    weld = weld.reshape(-1)
    rep = v[first]
    wf = weld[f][good]
    e = np.concatenate([wf[:, [0, 1]], wf[:, [1, 2]], wf[:, [2, 0]]])
    e.sort(axis=1)
    code = e[:, 0] * (len(rep) + 1) + e[:, 1]
    ucode, idx, counts = np.unique(code, return_index=True, return_counts=True)
    uniq = e[idx]
    closed = bool(len(uniq)) and bool(np.all(counts % 2 == 0))
    edges = rep[uniq] if len(uniq) else np.zeros((0, 2, 3))
    if not closed and len(uniq):
        closed = _t_junctions_only(edges[counts % 2 == 1])
    convex = False
    if closed and len(f) and len(f) * len(rep) <= 4_000_000:
        d = normals[good] @ rep.T - np.einsum("ij,ij->i", normals[good], tris[good, 0])[:, None]
        convex = bool(d.max() <= 1e-6)
    lo = v.min(axis=0) if len(v) else np.zeros(3)
    hi = v.max(axis=0) if len(v) else np.zeros(3)
    dirs = _unique_dirs(edges[:, 1] - edges[:, 0]) if convex else np.zeros((0, 3))
    fn = _unique_dirs(normals[good]) if convex else np.zeros((0, 3))
    parts: tuple[MeshInfo, ...] = ()
    if closed and not convex and len(uniq) and _parts_allowed:
        parts = _convex_parts(rep, weld[f], uniq)
    return MeshInfo(rep, tris, lo, hi, tris.min(axis=1), tris.max(axis=1), normals, edges, closed, convex,
                    dirs, fn, parts)


_parts_allowed = True


def _convex_parts(rep, faces_w, edges_w) -> tuple[MeshInfo, ...]:
    """The shells of a mesh (connected by shared vertices) when there are 2..64 and each is a closed
    convex solid; else ()."""
    n = len(rep)
    k, label = _components(n, edges_w)
    if not 2 <= k <= 64:
        return ()
    out = []
    face_label = label[faces_w[:, 0]]
    for c in range(k):
        fc = faces_w[face_label == c]
        if not len(fc):
            return ()
        used = np.unique(fc)
        remap = np.full(n, -1)
        remap[used] = np.arange(len(used))
        part = mesh_info(rep[used], remap[fc])
        if not (part.closed and part.convex):
            return ()
        out.append(part)
    return tuple(out)


def _components(n: int, edges: NDArray[np.int64]) -> tuple[int, NDArray[np.int64]]:
    """Connected components of an undirected graph on ``n`` nodes with edges (e, 2): (count, label
    per node in 0..count-1). Minimum-label hooking with pointer jumping, in numpy (no scipy import
    on the clash path)."""
    label = np.arange(n)
    if len(edges):
        a, b = edges[:, 0], edges[:, 1]
        while True:
            la, lb = label[a], label[b]
            low = np.minimum(la, lb)
            new = label.copy()
            np.minimum.at(new, la, low)
            np.minimum.at(new, lb, low)
            while True:                                   # pointer jumping to the roots
                nxt = new[new]
                if np.array_equal(nxt, new):
                    break
                new = nxt
            if np.array_equal(new, label):
                break
            label = new
    roots, inv = np.unique(label, return_inverse=True)
    return len(roots), inv.reshape(-1)


# ---------------------------------------------------------------------------------- primitives

def point_triangle_distance(p: NDArray[np.float64], t: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    """Distance from points to triangles, elementwise (broadcast).

    Parameters
    ----------
    p : (..., 3) points
    t : (..., 3, 3) triangles

    Returns
    -------
    dist : (...,) distances, closest : (..., 3) closest points on the triangles
    """
    a, b, c = t[..., 0, :], t[..., 1, :], t[..., 2, :]
    ab, ac, ap = b - a, c - a, p - a
    d1 = np.einsum("...i,...i", ab, ap)
    d2 = np.einsum("...i,...i", ac, ap)
    bp = p - b
    d3 = np.einsum("...i,...i", ab, bp)
    d4 = np.einsum("...i,...i", ac, bp)
    cp = p - c
    d5 = np.einsum("...i,...i", ab, cp)
    d6 = np.einsum("...i,...i", ac, cp)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    denom = va + vb + vc
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(np.abs(denom) > 0, vb / denom, 0.0)
        w = np.where(np.abs(denom) > 0, vc / denom, 0.0)
        q = a + ab * v[..., None] + ac * w[..., None]
        # vertex regions
        r_a = (d1 <= 0) & (d2 <= 0)
        r_b = (d3 >= 0) & (d4 <= d3)
        r_c = (d6 >= 0) & (d5 <= d6)
        # edge regions
        r_ab = (vc <= 0) & (d1 >= 0) & (d3 <= 0)
        t_ab = np.where(r_ab, d1 / np.where(d1 - d3 != 0, d1 - d3, 1.0), 0.0)
        r_ac = (vb <= 0) & (d2 >= 0) & (d6 <= 0)
        t_ac = np.where(r_ac, d2 / np.where(d2 - d6 != 0, d2 - d6, 1.0), 0.0)
        e43, e56 = d4 - d3, d5 - d6
        r_bc = (va <= 0) & (e43 >= 0) & (e56 >= 0)
        t_bc = np.where(r_bc, e43 / np.where(e43 + e56 != 0, e43 + e56, 1.0), 0.0)
    q = np.where(r_bc[..., None], b + (c - b) * t_bc[..., None], q)
    q = np.where(r_ac[..., None], a + ac * t_ac[..., None], q)
    q = np.where(r_ab[..., None], a + ab * t_ab[..., None], q)
    q = np.where(r_c[..., None], c, q)
    q = np.where(r_b[..., None], b, q)
    q = np.where(r_a[..., None], a, q)
    return np.linalg.norm(p - q, axis=-1), q


def segment_distance(p1, q1, p2, q2) -> tuple[NDArray, NDArray, NDArray]:
    """Closest distance between segments [p1, q1] and [p2, q2], elementwise (broadcast, (..., 3)).

    Returns (distance, closest point on the first, closest point on the second).
    """
    d1, d2, r = q1 - p1, q2 - p2, p1 - p2
    a = np.einsum("...i,...i", d1, d1)
    e = np.einsum("...i,...i", d2, d2)
    f = np.einsum("...i,...i", d2, r)
    c = np.einsum("...i,...i", d1, r)
    b = np.einsum("...i,...i", d1, d2)
    denom = a * e - b * b
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(denom > 1e-18, np.clip((b * f - c * e) / denom, 0, 1), 0.0)
        t = np.where(e > 1e-18, (b * s + f) / e, 0.0)
        s = np.where(t < 0, np.where(a > 1e-18, np.clip(-c / a, 0, 1), 0.0), s)
        s = np.where(t > 1, np.where(a > 1e-18, np.clip((b - c) / a, 0, 1), 0.0), s)
    t = np.clip(t, 0, 1)
    c1 = p1 + d1 * s[..., None]
    c2 = p2 + d2 * t[..., None]
    return np.linalg.norm(c1 - c2, axis=-1), c1, c2


def _segment_crossings(p, q, tris, normals):
    """Where segments cross triangles strictly (endpoints on opposite sides by more than EPS).

    p, q : (k, 3); tris : (m, 3, 3); normals : (m, 3). Returns (seg idx, tri idx, t in (0, 1), point).
    """
    out_s, out_t, out_u = [], [], []
    k, m = len(p), len(tris)
    if k == 0 or m == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, np.zeros(0), np.zeros((0, 3))
    step = max(1, _CHUNK // max(m, 1))
    off = np.einsum("ij,ij->i", normals, tris[:, 0])
    for s0 in range(0, k, step):
        ps, qs = p[s0:s0 + step], q[s0:s0 + step]
        dp = ps @ normals.T - off            # (ks, m)
        dq = qs @ normals.T - off
        cross = ((dp > EPS) & (dq < -EPS)) | ((dp < -EPS) & (dq > EPS))
        si, ti = np.nonzero(cross)
        if not len(si):
            continue
        u = dp[si, ti] / (dp[si, ti] - dq[si, ti])
        x = ps[si] + (qs[si] - ps[si]) * u[:, None]
        inside = _in_triangle(x, tris[ti], normals[ti])
        out_s.append(si[inside] + s0)
        out_t.append(ti[inside])
        out_u.append(u[inside])
    if not out_s:
        z = np.zeros(0, dtype=np.int64)
        return z, z, np.zeros(0), np.zeros((0, 3))
    si, ti, u = np.concatenate(out_s), np.concatenate(out_t), np.concatenate(out_u)
    return si, ti, u, p[si] + (q[si] - p[si]) * u[:, None]


def _in_triangle(x, t, n, eps: float = 1e-9):
    """Point x (in the triangle's plane) inside triangle t (inclusive), elementwise."""
    a, b, c = t[:, 0], t[:, 1], t[:, 2]
    s1 = np.einsum("ij,ij->i", _cross(b - a, x - a), n)
    s2 = np.einsum("ij,ij->i", _cross(c - b, x - b), n)
    s3 = np.einsum("ij,ij->i", _cross(a - c, x - c), n)
    return (s1 >= -eps) & (s2 >= -eps) & (s3 >= -eps)


def points_inside(points: NDArray[np.float64], info: MeshInfo) -> NDArray[np.bool_]:
    """Which points are inside a closed mesh (ray parity along a fixed oblique direction).

    Points on the surface may go either way: callers measure their distance first.
    """
    pts = np.asarray(points, dtype=np.float64)
    if len(pts) == 0 or not info.closed:
        return np.zeros(len(pts), dtype=bool)
    # cast the ray far enough to leave the mesh box
    length = float(np.linalg.norm(info.hi - info.lo)) * 2.0 + 1.0
    q = pts + _RAY * length
    si, _, _, _ = _segment_crossings(pts, q, info.tris, info.normals)
    counts = np.bincount(si, minlength=len(pts))
    return (counts % 2) == 1


def _box_filter(info: MeshInfo, lo, hi) -> NDArray[np.int64]:
    """Triangles of ``info`` whose boxes touch the box [lo, hi]."""
    return np.nonzero(np.all(info.tri_lo <= hi, axis=1) & np.all(info.tri_hi >= lo, axis=1))[0]


def _surface_distance(points, info: MeshInfo, idx=None):
    """Distance from each point to the mesh surface (restricted to triangles ``idx``)."""
    tris = info.tris if idx is None else info.tris[idx]
    best = np.full(len(points), np.inf)
    if len(tris) == 0 or len(points) == 0:
        return best
    step = max(1, _CHUNK // len(tris))
    for s0 in range(0, len(points), step):
        d, _ = point_triangle_distance(points[s0:s0 + step, None, :], tris[None, :, :, :])
        best[s0:s0 + step] = d.min(axis=1)
    return best


# ------------------------------------------------------------------------------------ distance

def surfaces_cross(a: MeshInfo, b: MeshInfo) -> NDArray | None:
    """A point where an edge of one mesh passes strictly through a triangle of the other (the
    surfaces cross, not merely touch), or None."""
    ia = _box_filter(a, b.lo - EPS, b.hi + EPS)
    ib = _box_filter(b, a.lo - EPS, a.hi + EPS)
    if not len(ia) or not len(ib):
        return None
    for x, ix, y, iy in ((a, ia, b, ib), (b, ib, a, ia)):
        t = x.tris[ix]
        si, _, _, pts = _segment_crossings(t.reshape(-1, 3), t[:, [1, 2, 0], :].reshape(-1, 3), y.tris[iy], y.normals[iy])
        if len(si):
            return pts[0]
    return None



def _edges_near(info: MeshInfo, lo, hi) -> NDArray:
    """Unique edges of ``info`` whose boxes touch the box [lo, hi]."""
    e = info.edges
    keep = np.all(np.minimum(e[:, 0], e[:, 1]) <= hi, axis=1) & np.all(np.maximum(e[:, 0], e[:, 1]) >= lo, axis=1)
    return e[keep]


def min_distance(a: MeshInfo, b: MeshInfo, limit: float = np.inf) -> tuple[float, NDArray, NDArray]:
    """Minimum distance between two mesh surfaces, and the closest points (on ``a``, on ``b``).

    Only vertices, edges and triangles within ``limit`` of the other mesh's box are examined (the
    closest points must lie there); when nothing is closer than ``limit`` the result is
    ``(inf, nan, nan)``. Crossing surfaces give 0 at a crossing point; touching ones 0 too.
    """
    nan3 = np.full(3, np.nan)
    big = 1e300
    lim = limit if np.isfinite(limit) else big
    ia = _box_filter(a, b.lo - lim, b.hi + lim)
    ib = _box_filter(b, a.lo - lim, a.hi + lim)
    if len(ia) == 0 or len(ib) == 0:
        return np.inf, nan3, nan3
    ta, tb = a.tris[ia], b.tris[ib]
    ea = _edges_near(a, b.lo - lim, b.hi + lim)
    eb = _edges_near(b, a.lo - lim, a.hi + lim)
    # crossings: an edge of one mesh through a triangle of the other
    for e, t, n in ((ea, tb, b.normals[ib]), (eb, ta, a.normals[ia])):
        si, _, _, x = _segment_crossings(e[:, 0], e[:, 1], t, n)
        if len(si):
            return 0.0, x[0], x[0]
    best, pa, pb = np.inf, nan3, nan3
    # vertices of one against triangles of the other (vertices near the other's box only)
    for x, y, ty, flip in ((a, b, tb, False), (b, a, ta, True)):
        near = np.all((x.vertices >= y.lo - lim) & (x.vertices <= y.hi + lim), axis=1)
        pts = x.vertices[near]
        if not len(pts):
            continue
        step = max(1, _CHUNK // len(ty))
        for s0 in range(0, len(pts), step):
            ps = pts[s0:s0 + step]
            d, q = point_triangle_distance(ps[:, None, :], ty[None, :, :, :])
            i, j = np.unravel_index(int(np.argmin(d)), d.shape)
            if d[i, j] < best:
                best = float(d[i, j])
                pa, pb = (q[i, j], ps[i]) if flip else (ps[i], q[i, j])
        if best <= EPS:
            return best, pa, pb
    # edges against edges
    if len(ea) and len(eb):
        step = max(1, _CHUNK // len(eb))
        for s0 in range(0, len(ea), step):
            es = ea[s0:s0 + step]
            d, c1, c2 = segment_distance(es[:, None, 0], es[:, None, 1], eb[None, :, 0], eb[None, :, 1])
            i, j = np.unravel_index(int(np.argmin(d)), d.shape)
            if d[i, j] < best:
                best, pa, pb = float(d[i, j]), c1[i, j], c2[i, j]
    if best > limit:
        return np.inf, nan3, nan3
    return best, pa, pb


# --------------------------------------------------------------------------------- penetration

def _sat_depth(a: MeshInfo, b: MeshInfo) -> tuple[float, NDArray]:
    """Exact penetration depth of two convex solids: the smallest overlap over separating axes
    (face normals of both, cross products of their edge directions)."""
    axes = [a.face_dirs, b.face_dirs]
    if len(a.edge_dirs) * len(b.edge_dirs) <= 40_000:
        c = _cross(a.edge_dirs[:, None, :], b.edge_dirs[None, :, :]).reshape(-1, 3)
        ln = np.sqrt(np.einsum("ij,ij->i", c, c))
        axes.append(c[ln > 1e-9] / ln[ln > 1e-9, None])
    ax = np.concatenate(axes)
    pa = ax @ a.vertices.T
    pb = ax @ b.vertices.T
    # distance to push b out of a either way along the axis (a nested interval needs the longer way out)
    overlap = np.minimum(pa.max(axis=1) - pb.min(axis=1), pb.max(axis=1) - pa.min(axis=1))
    k = int(np.argmin(overlap))
    return float(overlap[k]), ax[k]


def _unique_dirs(d):
    if not len(d):
        return np.zeros((0, 3))
    ln = np.linalg.norm(d, axis=1)
    d = d[ln > 1e-12] / ln[ln > 1e-12, None]
    # a direction and its opposite are the same axis
    sign = np.where(np.abs(d[:, 0]) > 1e-9, np.sign(d[:, 0]),
                    np.where(np.abs(d[:, 1]) > 1e-9, np.sign(d[:, 1]), np.sign(d[:, 2])))
    d = d * sign[:, None]
    # np.unique(rows, axis=0), by a lexicographic sort (numpy's axis path is slow on small arrays)
    r = np.round(d, 9) + 0.0                                 # -0.0 -> 0.0
    r = r[np.lexsort((r[:, 2], r[:, 1], r[:, 0]))]
    return r[np.concatenate(([True], np.any(r[1:] != r[:-1], axis=1)))] if len(r) else r.reshape(0, 3)


def _pierce_probes(a: MeshInfo, b: MeshInfo) -> NDArray:
    """Midpoints of the stretches of ``a``'s edges between consecutive crossings of ``b``'s surface
    (a pipe edge through a beam gives the point half-way through the beam)."""
    lo, hi = b.lo - EPS, b.hi + EPS
    e = a.edges
    keep = np.all(np.minimum(e[:, 0], e[:, 1]) <= hi, axis=1) & np.all(np.maximum(e[:, 0], e[:, 1]) >= lo, axis=1)
    e = e[keep]
    if not len(e):
        return np.zeros((0, 3))
    ib = _box_filter(b, a.lo - EPS, a.hi + EPS)
    si, _, u, _ = _segment_crossings(e[:, 0], e[:, 1], b.tris[ib], b.normals[ib])
    if not len(si):
        return np.zeros((0, 3))
    order = np.lexsort((u, si))
    si, u = si[order], u[order]
    # stretches: [0, u1], [u1, u2], ..., [uk, 1] for every crossing edge
    first = np.r_[True, si[1:] != si[:-1]]
    last = np.r_[si[1:] != si[:-1], True]
    t0 = np.concatenate([np.zeros(int(first.sum())), u])
    t1 = np.concatenate([u[first], np.where(last, 1.0, np.r_[u[1:], 1.0])])
    s = np.concatenate([si[first], si])
    mid = (t0 + t1) / 2
    return e[s, 0] + (e[s, 1] - e[s, 0]) * mid[:, None]


def _coplanar_depth(a: MeshInfo, b: MeshInfo) -> tuple[float, NDArray]:
    """Coplanar faces with the same outward normal overlapping in area: both solids lie behind
    the shared face there, so they overlap in volume. Depth = half the smaller thickness behind it
    (the distance from the middle of the overlap to its faces)."""
    none = (0.0, np.full(3, np.nan))
    ia = _box_filter(a, b.lo - EPS, b.hi + EPS)
    ib = _box_filter(b, a.lo - EPS, a.hi + EPS)
    if not len(ia) or not len(ib):
        return none
    na, nb = a.normals[ia], b.normals[ib]
    same = na @ nb.T > 1 - 1e-9
    oa = np.einsum("ij,ij->i", na, a.tris[ia, 0])
    ob = np.einsum("ij,ij->i", nb, b.tris[ib, 0])
    same &= np.abs(oa[:, None] - ob[None, :]) < EPS
    pi, pj = np.nonzero(same)
    if not len(pi):
        return none
    ta, tb, n = a.tris[ia[pi]], b.tris[ib[pj]], na[pi]
    ca, cb = ta.mean(axis=1), tb.mean(axis=1)
    # candidate probes per pair: both centroids, and midpoints between each corner and the other centroid
    cands = np.stack([ca, cb, *[(ta[:, k] + cb) / 2 for k in range(3)], *[(tb[:, k] + ca) / 2 for k in range(3)]],
                     axis=1)                                          # (P, 8, 3)
    ok = _strictly_in_v(cands, ta, n) & _strictly_in_v(cands, tb, n)  # (P, 8)
    has = ok.any(axis=1)
    if not has.any():
        return none
    first = np.argmax(ok, axis=1)
    probes = cands[np.nonzero(has)[0], first[has]]
    inward = -n[has]
    th = np.minimum(_thickness_v(probes, inward, a), _thickness_v(probes, inward, b))
    pts = probes + inward * (th / 2)[:, None]
    # face winding can be wrong in real files (a side face turned inside out): keep only middles
    # that ray parity, which ignores winding, puts inside both solids
    ok = (th > 2 * EPS) & points_inside(pts, a) & points_inside(pts, b)
    if not ok.any():
        return none
    pts = pts[ok]
    depth = np.minimum(_surface_distance(pts, a), _surface_distance(pts, b))
    k = int(np.argmax(depth))
    return float(depth[k]), pts[k]


def _strictly_in_v(p, t, n, eps: float = 1e-7):
    """p (P, K, 3) strictly inside triangles t (P, 3, 3) with normals n (P, 3)."""
    ok = np.ones(p.shape[:2], dtype=bool)
    for k in range(3):
        e = (t[:, (k + 1) % 3] - t[:, k])[:, None, :]
        c = _cross(e, p - t[:, k][:, None, :])
        ok &= np.einsum("pki,pi->pk", c, n) > eps
    return ok


def _thickness_v(p, direction, info: MeshInfo) -> NDArray:
    """For each point p (on the surface), distance along ``direction`` to the next crossing of the
    mesh (0 when none)."""
    length = float(np.linalg.norm(info.hi - info.lo)) * 2.0 + 1.0
    start = p + direction * 1e-7
    si, _, u, _ = _segment_crossings(start, start + direction * length, info.tris, info.normals)
    out = np.full(len(p), np.inf)
    np.minimum.at(out, si, u * length)
    out[~np.isfinite(out)] = 0.0
    return out


def meets_interior(c: MeshInfo, other: MeshInfo, eps: float = EPS) -> bool:
    """Does any triangle of ``other`` enter the open interior of the convex solid ``c`` (by more
    than ``eps``)? Separating-axis test per triangle, vectorised: ``c``'s face axes, the triangle's
    normal, and cross products of the triangle's edges with ``c``'s edge directions. Triangles that
    only lie on ``c``'s faces are separated (touching is not entering)."""
    idx = _box_filter(other, c.lo + eps, c.hi - eps)
    if not len(idx):
        return False
    t = other.tris[idx]                                                  # (k, 3, 3)
    alive = np.ones(len(t), dtype=bool)
    # c's face axes (shared by all triangles)
    f = c.face_dirs
    pc = c.vertices @ f.T                                                # (nv, f)
    pt = t @ f.T                                                         # (k, 3, f)
    alive &= ~np.any((pt.max(axis=1) <= pc.min(axis=0) + eps) | (pt.min(axis=1) >= pc.max(axis=0) - eps), axis=1)
    if not alive.any():
        return False
    t = t[alive]
    # the triangles' own normals
    n = other.normals[idx][alive]
    ok = np.einsum("ij,ij->i", n, n) > 0.5
    pc = n @ c.vertices.T                                                # (k, nv)
    pt = np.einsum("ij,ij->i", n, t[:, 0])
    sep = ok & ((pc.min(axis=1) >= pt - eps) | (pc.max(axis=1) <= pt + eps))
    t = t[~sep]
    if not len(t):
        return False
    # edge x edge axes
    e = np.stack([t[:, 1] - t[:, 0], t[:, 2] - t[:, 1], t[:, 0] - t[:, 2]], axis=1)       # (k, 3, 3)
    ax = _cross(e[:, :, None, :], c.edge_dirs[None, None, :, :]).reshape(len(t), -1, 3)  # (k, 3d, 3)
    ln = np.sqrt(np.einsum("kai,kai->ka", ax, ax))
    valid = ln > 1e-9
    ax = ax / np.where(valid, ln, 1.0)[..., None]
    pc = np.einsum("kai,vi->kav", ax, c.vertices)                       # (k, 3d, nv)
    pt = np.einsum("kai,kvi->kav", ax, t)                                # (k, 3d, 3)
    sep = valid & ((pt.max(axis=2) <= pc.min(axis=2) + eps) | (pt.min(axis=2) >= pc.max(axis=2) - eps))
    return bool(np.any(~sep.any(axis=1)))


def penetration(a: MeshInfo, b: MeshInfo) -> tuple[float, NDArray, str]:
    """Penetration depth (m) of two solids that touch or cross, a point in the overlap, and how.

    Returns ``(depth, point, how)``: ``how`` is ``"convex"`` (exact, SAT), ``"probe"`` (non-convex:
    vertices inside, piercing edges, coplanar same-side faces) or ``"surface"`` (an open mesh: no
    inside, depth 0 unless the surfaces cross).
    """
    if not (a.closed and b.closed):
        d, p, _ = min_distance(a, b, limit=EPS)
        return 0.0, p, "surface"
    if a.convex and b.convex:
        depth, _ = _sat_depth(a, b)
        point = _overlap_centre(a, b)
        return max(depth, 0.0), point, "convex"
    best, point = 0.0, np.full(3, np.nan)
    for x, y in ((a, b), (b, a)):
        if y.convex:
            # into a convex solid: exact inside stretches by clipping against its face planes
            d, p = _probes_in_convex(x, y)
            if d > max(best, EPS):
                best, point = d, p
            continue
        ix = np.all(x.vertices >= y.lo - EPS, axis=1) & np.all(x.vertices <= y.hi + EPS, axis=1)
        pts = np.concatenate([x.vertices[ix], _pierce_probes(x, y)])
        if not len(pts):
            continue
        pts = pts[points_inside(pts, y)]
        if not len(pts):
            continue
        d = _surface_distance(pts, y)
        k = int(np.argmax(d))
        if d[k] > max(best, EPS):
            best, point = float(d[k]), pts[k]
    d, p = _coplanar_depth(a, b)
    if d > best:
        best, point = d, p
    if not np.isfinite(point).all():
        point = _overlap_centre(a, b)
    return best, point, "probe"


def _probes_in_convex(x: MeshInfo, c: MeshInfo) -> tuple[float, NDArray]:
    """Deepest probe of ``x`` inside the convex solid ``c`` (vertices of ``x``, and midpoints of the
    stretches of ``x``'s edges inside ``c``, found by clipping against ``c``'s face planes), and its
    distance to ``c``'s surface (the nearest face plane: exact for a convex solid)."""
    good = np.einsum("ij,ij->i", c.normals, c.normals) > 0.5
    n = c.normals[good]
    off = np.einsum("ij,ij->i", n, c.tris[good, 0])
    lo, hi = c.lo - EPS, c.hi + EPS
    e = x.edges
    keep = np.all(np.minimum(e[:, 0], e[:, 1]) <= hi, axis=1) & np.all(np.maximum(e[:, 0], e[:, 1]) >= lo, axis=1)
    e = e[keep]
    p0, d = e[:, 0], e[:, 1] - e[:, 0]
    num = off[None, :] - p0 @ n.T                    # (k, f): >= 0 where p0 is behind the plane
    den = d @ n.T
    with np.errstate(divide="ignore", invalid="ignore"):
        t = num / den
    enter = np.where(den < -1e-15, t, -np.inf).max(axis=1, initial=-np.inf)
    leave = np.where(den > 1e-15, t, np.inf).min(axis=1, initial=np.inf)
    parallel_out = np.any((np.abs(den) <= 1e-15) & (num < 0), axis=1)
    t0, t1 = np.maximum(enter, 0.0), np.minimum(leave, 1.0)
    ok = (t0 < t1) & ~parallel_out
    mids = p0[ok] + d[ok] * ((t0[ok] + t1[ok]) / 2)[:, None]
    inside_v = x.vertices[np.all((x.vertices >= lo) & (x.vertices <= hi), axis=1)]
    pts = np.concatenate([inside_v, mids])
    if not len(pts):
        return 0.0, np.full(3, np.nan)
    depth = (off[None, :] - pts @ n.T).min(axis=1)  # distance to the nearest face plane (negative: outside)
    k = int(np.argmax(depth))
    return float(max(depth[k], 0.0)), pts[k]


def _overlap_centre(a: MeshInfo, b: MeshInfo) -> NDArray:
    lo = np.maximum(a.lo, b.lo)
    hi = np.minimum(a.hi, b.hi)
    return (lo + hi) / 2
