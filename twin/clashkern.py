"""Compiled narrow phase of clash detection: whole lists of mesh pairs judged in one numba call.

The same decisions as :func:`twin.ifc.clash._judge` over :mod:`twin.clashgeom` (the pure-numpy
reference, which tests compare this against pair by pair), written as loops over triangles with
early exits instead of arrays over all triangle pairs, and over all pairs in one compiled call
instead of one Python call per pair:

- convex pairs: separating axes (face axes of both, edge-direction cross products);
- clearance: shared vertex, convex interior entered (touching), convex gap at least the clearance
  (no contact), else the exact surface distance (edge crossings, vertex-triangle, edge-edge);
- hard, closed solids: a convex solid's interior entered by the other's triangles (or holding
  it), then the probe depth (vertices and edge stretches inside, coplanar same-side faces).

Meshes are packed once per *shape* (the same triangles up to a translation: every column of a
type) with :func:`pack_shapes`; a pair is (shape, offset) twice, and world coordinates are the
shape's plus the offset, as :func:`twin.clashgeom.translated` computes them. Pairs the kernel does
not decide (open meshes, touch mode, very large convex solids) come back as ``FALLBACK`` for the
reference code.

Needs numba (``available()``); without it callers use the reference code.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numpy.typing import NDArray

from twin.clashgeom import EPS, MeshInfo, _RAY

__all__ = ["ShapePack", "pack_shapes", "judge_pairs", "available", "NONE", "VERDICT", "FALLBACK",
           "METHODS", "MODES"]

NONE, VERDICT, FALLBACK = 0, 1, 2
METHODS = ("convex", "distance", "probe", "surface")
MODES = {"hard": 0, "clearance": 1, "touch": 2}

try:                                                   # optional: the reference code runs without it
    import numba as _numba

    def _jit(fn):
        return _numba.njit(cache=True, error_model="numpy", nogil=True)(fn)

    def _pjit(fn):
        return _numba.njit(cache=True, error_model="numpy", nogil=True, parallel=True)(fn)
    _prange = _numba.prange
    _HAVE = True
except ImportError:                                    # pragma: no cover - numba is a dependency
    _HAVE = False
    _prange = range

    def _jit(fn):
        return fn
    _pjit = _jit


def available() -> bool:
    """Is the compiled kernel usable (numba importable)?"""
    return _HAVE


@dataclass(frozen=True, eq=False, slots=True)
class ShapePack:
    """Shapes (meshes in local coordinates) concatenated into flat arrays, CSR style: shape ``s``
    owns rows ``off[s]:off[s + 1]`` of each table. Parts (convex shells of a window) are shapes too,
    listed per owner in ``part`` / ``p_off``.

    v : (NV, 3) welded vertices; t : (NT, 3, 3) triangles; n : (NT, 3) unit normals; tlo, thi :
    (NT, 3) triangle boxes; e : (NE, 2, 3) unique edges; fd, ed : (k, 3) face and edge axes (convex
    shapes); lo, hi : (S, 3) boxes; closed, convex : (S,) bool.
    """

    arrays: tuple


def pack_shapes(infos: Sequence[MeshInfo]) -> ShapePack:
    """Pack shape MeshInfos (and their parts, appended after them) for :func:`judge_pairs`."""
    shapes = list(infos)
    part_ids: list[list[int]] = []
    for k in range(len(infos)):
        ids = []
        for p in shapes[k].parts:
            ids.append(len(shapes))
            shapes.append(p)
        part_ids.append(ids)
    part_ids += [[] for _ in range(len(shapes) - len(infos))]

    def cat(name, shape):
        arrs = [np.asarray(getattr(x, name), dtype=np.float64).reshape((-1,) + shape) for x in shapes]
        off = np.zeros(len(shapes) + 1, dtype=np.int64)
        off[1:] = np.cumsum([len(a) for a in arrs])
        data = np.ascontiguousarray(np.concatenate(arrs)) if arrs else np.zeros((0,) + shape)
        return data, off

    v, v_off = cat("vertices", (3,))
    t, t_off = cat("tris", (3, 3))
    n, _ = cat("normals", (3,))
    tlo, _ = cat("tri_lo", (3,))
    thi, _ = cat("tri_hi", (3,))
    e, e_off = cat("edges", (2, 3))
    fd, fd_off = cat("face_dirs", (3,))
    ed, ed_off = cat("edge_dirs", (3,))
    lo = np.array([x.lo for x in shapes], dtype=np.float64).reshape(-1, 3)
    hi = np.array([x.hi for x in shapes], dtype=np.float64).reshape(-1, 3)
    closed = np.array([x.closed for x in shapes], dtype=np.bool_)
    convex = np.array([x.convex for x in shapes], dtype=np.bool_)
    part = np.array([i for ids in part_ids for i in ids], dtype=np.int64)
    p_off = np.zeros(len(shapes) + 1, dtype=np.int64)
    p_off[1:] = np.cumsum([len(ids) for ids in part_ids])
    return ShapePack((v, v_off, t, t_off, n, tlo, thi, e, e_off, fd, fd_off, ed, ed_off, lo, hi, closed, convex,
                      part, p_off))


def judge_pairs(pack: ShapePack, sa: NDArray[np.int64], oa: NDArray[np.float64], sb: NDArray[np.int64],
                ob: NDArray[np.float64], mode: str, tolerance: float, clearance: float
                ) -> tuple[NDArray[np.int8], NDArray[np.float64], NDArray[np.float64], NDArray[np.int8]]:
    """Verdicts for pairs (shape ``sa[k]`` moved by ``oa[k]``, shape ``sb[k]`` moved by ``ob[k]``).

    Parameters
    ----------
    sa, sb : (p,) int64 shape indices into ``pack``; oa, ob : (p, 3) float64 offsets (metres)
    mode : ``hard`` or ``clearance`` (``touch`` pairs all come back as FALLBACK)

    Returns
    -------
    code : (p,) int8, NONE (no clash), VERDICT, FALLBACK (decide with the reference code)
    distance : (p,) float64 (depth for hard, distance for clearance)
    point : (p, 3) float64
    method : (p,) int8 index into :data:`METHODS`
    """
    if not _HAVE:
        raise RuntimeError("numba is not installed: use the reference narrow phase")
    p = len(sa)
    code = np.zeros(p, dtype=np.int8)
    dist = np.zeros(p, dtype=np.float64)
    point = np.zeros((p, 3), dtype=np.float64)
    method = np.zeros(p, dtype=np.int8)
    if p:
        _judge_all(pack.arrays, np.ascontiguousarray(sa, dtype=np.int64), np.ascontiguousarray(oa, dtype=np.float64),
                   np.ascontiguousarray(sb, dtype=np.int64), np.ascontiguousarray(ob, dtype=np.float64),
                   MODES[mode], float(tolerance), float(clearance), code, dist, point, method)
    return code, dist, point, method


# ------------------------------------------------------------------------------ primitives

_RX, _RY, _RZ = float(_RAY[0]), float(_RAY[1]), float(_RAY[2])


@_jit
def _inst(P, s, o):
    """World-coordinate arrays of shape ``s`` moved by ``o`` (as clashgeom.translated)."""
    v_all, v_off, t_all, t_off, n_all, tlo_all, thi_all, e_all, e_off = P[0], P[1], P[2], P[3], P[4], P[5], P[6], \
        P[7], P[8]
    v = v_all[v_off[s]:v_off[s + 1]] + o
    t = t_all[t_off[s]:t_off[s + 1]] + o
    n = n_all[t_off[s]:t_off[s + 1]]
    tlo = tlo_all[t_off[s]:t_off[s + 1]] + o
    thi = thi_all[t_off[s]:t_off[s + 1]] + o
    e = e_all[e_off[s]:e_off[s + 1]] + o
    lo = P[13][s] + o
    hi = P[14][s] + o
    return v, t, n, tlo, thi, e, lo, hi


@_jit
def _inst_v(P, s, o):
    """Vertices and box of shape ``s`` moved by ``o``."""
    v = P[0][P[1][s]:P[1][s + 1]] + o
    return v, P[13][s] + o, P[14][s] + o


@_jit
def _box_tris(tlo, thi, lo, hi):
    """Indices of triangles whose boxes touch [lo, hi] (clashgeom._box_filter)."""
    out = np.empty(len(tlo), dtype=np.int64)
    k = 0
    for i in range(len(tlo)):
        if (tlo[i, 0] <= hi[0] and tlo[i, 1] <= hi[1] and tlo[i, 2] <= hi[2]
                and thi[i, 0] >= lo[0] and thi[i, 1] >= lo[1] and thi[i, 2] >= lo[2]):
            out[k] = i
            k += 1
    return out[:k]


@_jit
def _near_edges(e, lo, hi):
    """Indices of edges whose boxes touch [lo, hi] (clashgeom._edges_near)."""
    out = np.empty(len(e), dtype=np.int64)
    k = 0
    for i in range(len(e)):
        ok = True
        for c in range(3):
            if min(e[i, 0, c], e[i, 1, c]) > hi[c] or max(e[i, 0, c], e[i, 1, c]) < lo[c]:
                ok = False
                break
        if ok:
            out[k] = i
            k += 1
    return out[:k]


@_jit
def _in_box(p, lo, hi):
    return lo[0] <= p[0] <= hi[0] and lo[1] <= p[1] <= hi[1] and lo[2] <= p[2] <= hi[2]


@_jit
def _pt_tri(p0, p1, p2, t):
    """Distance from a point to a triangle and the closest point (clashgeom.point_triangle_distance)."""
    a0, a1, a2 = t[0, 0], t[0, 1], t[0, 2]
    b0, b1, b2 = t[1, 0], t[1, 1], t[1, 2]
    c0, c1, c2 = t[2, 0], t[2, 1], t[2, 2]
    ab0, ab1, ab2 = b0 - a0, b1 - a1, b2 - a2
    ac0, ac1, ac2 = c0 - a0, c1 - a1, c2 - a2
    ap0, ap1, ap2 = p0 - a0, p1 - a1, p2 - a2
    d1 = ab0 * ap0 + ab1 * ap1 + ab2 * ap2
    d2 = ac0 * ap0 + ac1 * ap1 + ac2 * ap2
    bp0, bp1, bp2 = p0 - b0, p1 - b1, p2 - b2
    d3 = ab0 * bp0 + ab1 * bp1 + ab2 * bp2
    d4 = ac0 * bp0 + ac1 * bp1 + ac2 * bp2
    cp0, cp1, cp2 = p0 - c0, p1 - c1, p2 - c2
    d5 = ab0 * cp0 + ab1 * cp1 + ab2 * cp2
    d6 = ac0 * cp0 + ac1 * cp1 + ac2 * cp2
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    if (d1 <= 0) and (d2 <= 0):
        q0, q1, q2 = a0, a1, a2
    elif (d3 >= 0) and (d4 <= d3):
        q0, q1, q2 = b0, b1, b2
    elif (d6 >= 0) and (d5 <= d6):
        q0, q1, q2 = c0, c1, c2
    elif (vc <= 0) and (d1 >= 0) and (d3 <= 0):
        den = d1 - d3
        tt = d1 / (den if den != 0 else 1.0)
        q0, q1, q2 = a0 + ab0 * tt, a1 + ab1 * tt, a2 + ab2 * tt
    elif (vb <= 0) and (d2 >= 0) and (d6 <= 0):
        den = d2 - d6
        tt = d2 / (den if den != 0 else 1.0)
        q0, q1, q2 = a0 + ac0 * tt, a1 + ac1 * tt, a2 + ac2 * tt
    elif (va <= 0) and (d4 - d3 >= 0) and (d5 - d6 >= 0):
        e43, e56 = d4 - d3, d5 - d6
        den = e43 + e56
        tt = e43 / (den if den != 0 else 1.0)
        q0, q1, q2 = b0 + (c0 - b0) * tt, b1 + (c1 - b1) * tt, b2 + (c2 - b2) * tt
    else:
        denom = va + vb + vc
        if abs(denom) > 0:
            v = vb / denom
            w = vc / denom
        else:
            v = 0.0
            w = 0.0
        q0 = a0 + ab0 * v + ac0 * w
        q1 = a1 + ab1 * v + ac1 * w
        q2 = a2 + ab2 * v + ac2 * w
    x0, x1, x2 = p0 - q0, p1 - q1, p2 - q2
    return np.sqrt(x0 * x0 + x1 * x1 + x2 * x2), q0, q1, q2


@_jit
def _seg_seg(p1, q1, p2, q2):
    """Closest distance between two segments and the closest points (clashgeom.segment_distance)."""
    d1 = q1 - p1
    d2 = q2 - p2
    r = p1 - p2
    a = d1[0] * d1[0] + d1[1] * d1[1] + d1[2] * d1[2]
    e = d2[0] * d2[0] + d2[1] * d2[1] + d2[2] * d2[2]
    f = d2[0] * r[0] + d2[1] * r[1] + d2[2] * r[2]
    c = d1[0] * r[0] + d1[1] * r[1] + d1[2] * r[2]
    b = d1[0] * d2[0] + d1[1] * d2[1] + d1[2] * d2[2]
    denom = a * e - b * b
    s = min(max((b * f - c * e) / denom, 0.0), 1.0) if denom > 1e-18 else 0.0
    t = (b * s + f) / e if e > 1e-18 else 0.0
    if t < 0:
        s = min(max(-c / a, 0.0), 1.0) if a > 1e-18 else 0.0
    elif t > 1:
        s = min(max((b - c) / a, 0.0), 1.0) if a > 1e-18 else 0.0
    t = min(max(t, 0.0), 1.0)
    c1 = p1 + d1 * s
    c2 = p2 + d2 * t
    x = c1 - c2
    return np.sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]), c1, c2


@_jit
def _crossing(p, q, tri, n, eps_in):
    """Does segment [p, q] cross the triangle strictly (ends on opposite sides by more than EPS)?
    Returns (u, x0, x1, x2) with u < 0 when not (clashgeom._segment_crossings, _in_triangle)."""
    off = n[0] * tri[0, 0] + n[1] * tri[0, 1] + n[2] * tri[0, 2]
    dp = p[0] * n[0] + p[1] * n[1] + p[2] * n[2] - off
    dq = q[0] * n[0] + q[1] * n[1] + q[2] * n[2] - off
    if not ((dp > EPS and dq < -EPS) or (dp < -EPS and dq > EPS)):
        return -1.0, 0.0, 0.0, 0.0
    u = dp / (dp - dq)
    x0 = p[0] + (q[0] - p[0]) * u
    x1 = p[1] + (q[1] - p[1]) * u
    x2 = p[2] + (q[2] - p[2]) * u
    for k in range(3):
        a = tri[k]
        b = tri[(k + 1) % 3]
        e0, e1, e2 = b[0] - a[0], b[1] - a[1], b[2] - a[2]
        w0, w1, w2 = x0 - a[0], x1 - a[1], x2 - a[2]
        s = (e1 * w2 - e2 * w1) * n[0] + (e2 * w0 - e0 * w2) * n[1] + (e0 * w1 - e1 * w0) * n[2]
        if s < -eps_in:
            return -1.0, 0.0, 0.0, 0.0
    return u, x0, x1, x2


@_jit
def _inside(px, py, pz, t, n, lo, hi):
    """Ray parity of a point against a closed mesh (clashgeom.points_inside)."""
    dx, dy, dz = hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]
    length = np.sqrt(dx * dx + dy * dy + dz * dz) * 2.0 + 1.0
    p = np.array((px, py, pz))
    q = np.array((px + _RX * length, py + _RY * length, pz + _RZ * length))
    count = 0
    for j in range(len(t)):
        u, _, _, _ = _crossing(p, q, t[j], n[j], 1e-9)
        if u >= 0:
            count += 1
    return count % 2 == 1


@_jit
def _surface_dist(px, py, pz, t):
    best = np.inf
    for j in range(len(t)):
        d, _, _, _ = _pt_tri(px, py, pz, t[j])
        if d < best:
            best = d
    return best


# ------------------------------------------------------------------------------ pair tests

@_jit
def _sat_overlap(va, fda, eda, vb, fdb, edb):
    """Smallest overlap over separating axes of two convex solids (negative: a gap)."""
    best = np.inf
    nfa, nfb = len(fda), len(fdb)
    for k in range(nfa + nfb + len(eda) * len(edb)):
        if k < nfa:
            x0, x1, x2 = fda[k, 0], fda[k, 1], fda[k, 2]
        elif k < nfa + nfb:
            x0, x1, x2 = fdb[k - nfa, 0], fdb[k - nfa, 1], fdb[k - nfa, 2]
        else:
            i, j = divmod(k - nfa - nfb, len(edb))
            a0, a1, a2 = eda[i, 0], eda[i, 1], eda[i, 2]
            b0, b1, b2 = edb[j, 0], edb[j, 1], edb[j, 2]
            x0, x1, x2 = a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0
            ln = np.sqrt(x0 * x0 + x1 * x1 + x2 * x2)
            if not ln > 1e-9:
                continue
            x0, x1, x2 = x0 / ln, x1 / ln, x2 / ln
        amin, amax = np.inf, -np.inf
        for r in range(len(va)):
            d = x0 * va[r, 0] + x1 * va[r, 1] + x2 * va[r, 2]
            amin = min(amin, d)
            amax = max(amax, d)
        bmin, bmax = np.inf, -np.inf
        for r in range(len(vb)):
            d = x0 * vb[r, 0] + x1 * vb[r, 1] + x2 * vb[r, 2]
            bmin = min(bmin, d)
            bmax = max(bmax, d)
        ov = min(amax - bmin, bmax - amin)
        if ov < best:
            best = ov
    return best


@_jit
def _share_vertex(va, vb, lo_a, hi_a, lo_b, hi_b):
    """A vertex in common within 1e-7 m (clash._share_a_vertex)."""
    lo = np.maximum(lo_a, lo_b) - EPS
    hi = np.minimum(hi_a, hi_b) + EPS
    kb = np.empty((len(vb), 3), dtype=np.int64)
    m = 0
    for r in range(len(vb)):
        if _in_box(vb[r], lo, hi):
            for c in range(3):
                kb[m, c] = np.int64(np.rint(vb[r, c] / 1e-7))
            m += 1
    if m == 0:
        return False
    for r in range(len(va)):
        if _in_box(va[r], lo, hi):
            k0 = np.int64(np.rint(va[r, 0] / 1e-7))
            k1 = np.int64(np.rint(va[r, 1] / 1e-7))
            k2 = np.int64(np.rint(va[r, 2] / 1e-7))
            for j in range(m):
                if kb[j, 0] == k0 and kb[j, 1] == k1 and kb[j, 2] == k2:
                    return True
    return False


@_jit
def _proj_range(vc, x0, x1, x2):
    lo, hi = np.inf, -np.inf
    for r in range(len(vc)):
        d = x0 * vc[r, 0] + x1 * vc[r, 1] + x2 * vc[r, 2]
        lo = min(lo, d)
        hi = max(hi, d)
    return lo, hi


@_jit
def _meets_interior(vc, fdc, edc, lo_c, hi_c, t, n, tlo, thi, eps):
    """Does a triangle of the other mesh enter the open interior of convex ``c`` by more than ``eps``
    (clashgeom.meets_interior)?"""
    idx = _box_tris(tlo, thi, lo_c + eps, hi_c - eps)
    if len(idx) == 0:
        return False
    nf = len(fdc)
    fmin = np.empty(nf)
    fmax = np.empty(nf)
    for f in range(nf):
        fmin[f], fmax[f] = _proj_range(vc, fdc[f, 0], fdc[f, 1], fdc[f, 2])
    ne = len(edc)
    for i in idx:
        tri = t[i]
        sep = False
        for f in range(nf):
            x0, x1, x2 = fdc[f, 0], fdc[f, 1], fdc[f, 2]
            tmin, tmax = np.inf, -np.inf
            for k in range(3):
                d = tri[k, 0] * x0 + tri[k, 1] * x1 + tri[k, 2] * x2
                tmin = min(tmin, d)
                tmax = max(tmax, d)
            if tmax <= fmin[f] + eps or tmin >= fmax[f] - eps:
                sep = True
                break
        if sep:
            continue
        n0, n1, n2 = n[i, 0], n[i, 1], n[i, 2]
        if n0 * n0 + n1 * n1 + n2 * n2 > 0.5:
            cmin, cmax = _proj_range(vc, n0, n1, n2)
            pt = n0 * tri[0, 0] + n1 * tri[0, 1] + n2 * tri[0, 2]
            if cmin >= pt - eps or cmax <= pt + eps:
                continue
        for k in range(3):
            a = tri[k]
            b = tri[(k + 1) % 3]
            e0, e1, e2 = b[0] - a[0], b[1] - a[1], b[2] - a[2]
            for j in range(ne):
                d0, d1, d2 = edc[j, 0], edc[j, 1], edc[j, 2]
                x0, x1, x2 = e1 * d2 - e2 * d1, e2 * d0 - e0 * d2, e0 * d1 - e1 * d0
                ln = np.sqrt(x0 * x0 + x1 * x1 + x2 * x2)
                if not ln > 1e-9:
                    continue
                x0, x1, x2 = x0 / ln, x1 / ln, x2 / ln
                cmin, cmax = _proj_range(vc, x0, x1, x2)
                tmin, tmax = np.inf, -np.inf
                for r in range(3):
                    d = tri[r, 0] * x0 + tri[r, 1] * x1 + tri[r, 2] * x2
                    tmin = min(tmin, d)
                    tmax = max(tmax, d)
                if tmax <= cmin + eps or tmin >= cmax - eps:
                    sep = True
                    break
            if sep:
                break
        if not sep:
            return True
    return False


@_jit
def _min_distance(va, ta, na, tloa, thia, ea, lo_a, hi_a, vb, tb, nb, tlob, thib, eb, lo_b, hi_b, limit):
    """Minimum distance between two surfaces within ``limit`` and the closest points
    (clashgeom.min_distance): (inf, ...) when nothing is closer than ``limit``."""
    nan3 = np.full(3, np.nan)
    lim = limit if np.isfinite(limit) else 1e300
    ia = _box_tris(tloa, thia, lo_b - lim, hi_b + lim)
    ib = _box_tris(tlob, thib, lo_a - lim, hi_a + lim)
    if len(ia) == 0 or len(ib) == 0:
        return np.inf, nan3, nan3
    ja = _near_edges(ea, lo_b - lim, hi_b + lim)
    jb = _near_edges(eb, lo_a - lim, hi_a + lim)
    for side in range(2):
        e, t, n, it = (ea, tb, nb, ib) if side == 0 else (eb, ta, na, ia)
        je = ja if side == 0 else jb
        for s in je:
            for j in it:
                u, x0, x1, x2 = _crossing(e[s, 0], e[s, 1], t[j], n[j], 1e-9)
                if u >= 0:
                    x = np.array((x0, x1, x2))
                    return 0.0, x, x.copy()
    best = np.inf
    pa = nan3
    pb = nan3
    for side in range(2):
        if side == 0:
            xv, ylo, yhi, ty, it = va, lo_b, hi_b, tb, ib
        else:
            xv, ylo, yhi, ty, it = vb, lo_a, hi_a, ta, ia
        for r in range(len(xv)):
            p = xv[r]
            if not (ylo[0] - lim <= p[0] <= yhi[0] + lim and ylo[1] - lim <= p[1] <= yhi[1] + lim
                    and ylo[2] - lim <= p[2] <= yhi[2] + lim):
                continue
            for j in it:
                d, q0, q1, q2 = _pt_tri(p[0], p[1], p[2], ty[j])
                if d < best:
                    best = d
                    q = np.array((q0, q1, q2))
                    if side == 0:
                        pa, pb = p.copy(), q
                    else:
                        pa, pb = q, p.copy()
        if best <= EPS:
            return best, pa, pb
    if len(ja) and len(jb):
        for i in ja:
            for j in jb:
                d, c1, c2 = _seg_seg(ea[i, 0], ea[i, 1], eb[j, 0], eb[j, 1])
                if d < best:
                    best, pa, pb = d, c1, c2
    if best > limit:
        return np.inf, nan3, nan3
    return best, pa, pb


# ------------------------------------------------------------------------------ penetration

@_jit
def _probes_in_convex(xv, xe, cv, ct, cn, lo_c, hi_c):
    """Deepest probe of x inside convex c: (depth, point) (clashgeom._probes_in_convex)."""
    nf = 0
    for i in range(len(cn)):
        if cn[i, 0] * cn[i, 0] + cn[i, 1] * cn[i, 1] + cn[i, 2] * cn[i, 2] > 0.5:
            nf += 1
    fn = np.empty((nf, 3))
    off = np.empty(nf)
    k = 0
    for i in range(len(cn)):
        if cn[i, 0] * cn[i, 0] + cn[i, 1] * cn[i, 1] + cn[i, 2] * cn[i, 2] > 0.5:
            fn[k] = cn[i]
            off[k] = cn[i, 0] * ct[i, 0, 0] + cn[i, 1] * ct[i, 0, 1] + cn[i, 2] * ct[i, 0, 2]
            k += 1
    lo = lo_c - EPS
    hi = hi_c + EPS
    best = -np.inf
    bp = np.full(3, np.nan)
    found = False
    # vertices first, then edge stretch midpoints (the reference's order: ties keep the first)
    for r in range(len(xv)):
        if _in_box(xv[r], lo, hi):
            dep = np.inf
            for f in range(nf):
                dep = min(dep, off[f] - (xv[r, 0] * fn[f, 0] + xv[r, 1] * fn[f, 1] + xv[r, 2] * fn[f, 2]))
            if not found or dep > best:
                best, bp, found = dep, xv[r].copy(), True
    for r in range(len(xe)):
        p0 = xe[r, 0]
        p1 = xe[r, 1]
        ok = True
        for c in range(3):
            if min(p0[c], p1[c]) > hi[c] or max(p0[c], p1[c]) < lo[c]:
                ok = False
        if not ok:
            continue
        d = p1 - p0
        enter, leave = -np.inf, np.inf
        out = False
        for f in range(nf):
            num = off[f] - (p0[0] * fn[f, 0] + p0[1] * fn[f, 1] + p0[2] * fn[f, 2])
            den = d[0] * fn[f, 0] + d[1] * fn[f, 1] + d[2] * fn[f, 2]
            if den < -1e-15:
                enter = max(enter, num / den)
            elif den > 1e-15:
                leave = min(leave, num / den)
            elif num < 0:
                out = True
        t0, t1 = max(enter, 0.0), min(leave, 1.0)
        if out or not t0 < t1:
            continue
        mid = p0 + d * ((t0 + t1) / 2)
        dep = np.inf
        for f in range(nf):
            dep = min(dep, off[f] - (mid[0] * fn[f, 0] + mid[1] * fn[f, 1] + mid[2] * fn[f, 2]))
        if not found or dep > best:
            best, bp, found = dep, mid, True
    if not found:
        return 0.0, np.full(3, np.nan)
    return max(best, 0.0), bp


@_jit
def _pierce_probes(ae, lo_a, hi_a, t, n, tlo, thi, lo_b, hi_b):
    """Midpoints of the stretches of a's edges between crossings of b's surface
    (clashgeom._pierce_probes), in the reference's order."""
    lo, hi = lo_b - EPS, hi_b + EPS
    je = _near_edges(ae, lo, hi)
    ib = _box_tris(tlo, thi, lo_a - EPS, hi_a + EPS)
    firsts = np.empty((0, 3))
    rest_list = []
    first_list = []
    for s in je:
        us = []
        for j in ib:
            u, _, _, _ = _crossing(ae[s, 0], ae[s, 1], t[j], n[j], 1e-9)
            if u >= 0:
                us.append(u)
        if len(us) == 0:
            continue
        ua = np.sort(np.array(us))
        p0 = ae[s, 0]
        d = ae[s, 1] - p0
        first_list.append(p0 + d * ((0.0 + ua[0]) / 2))
        for k in range(len(ua)):
            t1 = ua[k + 1] if k + 1 < len(ua) else 1.0
            rest_list.append(p0 + d * ((ua[k] + t1) / 2))
    out = np.empty((len(first_list) + len(rest_list), 3))
    for k in range(len(first_list)):
        out[k] = first_list[k]
    for k in range(len(rest_list)):
        out[len(first_list) + k] = rest_list[k]
    if len(out) == 0:
        return firsts
    return out


@_jit
def _thickness(p, dx, dy, dz, t, n, lo, hi):
    """Distance from p along the direction to the next crossing of the mesh (0 when none)."""
    ex, ey, ez = hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]
    length = np.sqrt(ex * ex + ey * ey + ez * ez) * 2.0 + 1.0
    s = np.array((p[0] + dx * 1e-7, p[1] + dy * 1e-7, p[2] + dz * 1e-7))
    q = np.array((s[0] + dx * length, s[1] + dy * length, s[2] + dz * length))
    best = np.inf
    for j in range(len(t)):
        u, _, _, _ = _crossing(s, q, t[j], n[j], 1e-9)
        if u >= 0:
            best = min(best, u * length)
    return best if np.isfinite(best) else 0.0


@_jit
def _strictly_in(p, tri, n):
    for k in range(3):
        a = tri[k]
        b = tri[(k + 1) % 3]
        e0, e1, e2 = b[0] - a[0], b[1] - a[1], b[2] - a[2]
        w0, w1, w2 = p[0] - a[0], p[1] - a[1], p[2] - a[2]
        s = (e1 * w2 - e2 * w1) * n[0] + (e2 * w0 - e0 * w2) * n[1] + (e0 * w1 - e1 * w0) * n[2]
        if not s > 1e-7:
            return False
    return True


@_jit
def _coplanar_depth(ta, na, tloa, thia, lo_a, hi_a, tb, nb, tlob, thib, lo_b, hi_b):
    """Coplanar faces with the same outward normal overlapping in area (clashgeom._coplanar_depth)."""
    ia = _box_tris(tloa, thia, lo_b - EPS, hi_b + EPS)
    ib = _box_tris(tlob, thib, lo_a - EPS, hi_a + EPS)
    best = -np.inf
    bp = np.full(3, np.nan)
    found = False
    cands = np.empty((8, 3))
    for i in ia:
        for j in ib:
            n = na[i]
            m = nb[j]
            if not n[0] * m[0] + n[1] * m[1] + n[2] * m[2] > 1 - 1e-9:
                continue
            oa = n[0] * ta[i, 0, 0] + n[1] * ta[i, 0, 1] + n[2] * ta[i, 0, 2]
            ob = m[0] * tb[j, 0, 0] + m[1] * tb[j, 0, 1] + m[2] * tb[j, 0, 2]
            if not abs(oa - ob) < EPS:
                continue
            ca = (ta[i, 0] + ta[i, 1] + ta[i, 2]) / 3
            cb = (tb[j, 0] + tb[j, 1] + tb[j, 2]) / 3
            cands[0] = ca
            cands[1] = cb
            for k in range(3):
                cands[2 + k] = (ta[i, k] + cb) / 2
                cands[5 + k] = (tb[j, k] + ca) / 2
            pick = -1
            for k in range(8):
                if _strictly_in(cands[k], ta[i], n) and _strictly_in(cands[k], tb[j], n):
                    pick = k
                    break
            if pick < 0:
                continue
            probe = cands[pick]
            dx, dy, dz = -n[0], -n[1], -n[2]
            th = min(_thickness(probe, dx, dy, dz, ta, na, lo_a, hi_a), _thickness(probe, dx, dy, dz, tb, nb, lo_b, hi_b))
            pt = np.array((probe[0] + dx * (th / 2), probe[1] + dy * (th / 2), probe[2] + dz * (th / 2)))
            if not th > 2 * EPS:
                continue
            if not (_inside(pt[0], pt[1], pt[2], ta, na, lo_a, hi_a) and _inside(pt[0], pt[1], pt[2], tb, nb, lo_b, hi_b)):
                continue
            dep = min(_surface_dist(pt[0], pt[1], pt[2], ta), _surface_dist(pt[0], pt[1], pt[2], tb))
            if not found or dep > best:
                best, bp, found = dep, pt, True
    if not found:
        return 0.0, np.full(3, np.nan)
    return best, bp


@_jit
def _probe_depth(xv, xe, lo_x, hi_x, yt, yn, ytlo, ythi, lo_y, hi_y):
    """Deepest probe of x (vertices in y's box, edge stretches through y) inside non-convex y."""
    lo, hi = lo_y - EPS, hi_y + EPS
    pierce = _pierce_probes(xe, lo_x, hi_x, yt, yn, ytlo, ythi, lo_y, hi_y)
    best = -np.inf
    bp = np.full(3, np.nan)
    found = False
    for r in range(len(xv) + len(pierce)):
        if r < len(xv):
            p = xv[r]
            if not _in_box(p, lo, hi):
                continue
        else:
            p = pierce[r - len(xv)]
        if not _inside(p[0], p[1], p[2], yt, yn, lo_y, hi_y):
            continue
        d = _surface_dist(p[0], p[1], p[2], yt)
        if not found or d > best:
            best, bp, found = d, p.copy(), True
    return found, best, bp


@_jit
def _penetration(va, ta, na, tloa, thia, ea, lo_a, hi_a, cva,
                 vb, tb, nb, tlob, thib, eb, lo_b, hi_b, cvb):
    """Probe depth of two closed solids, not both convex (clashgeom.penetration, "probe")."""
    best = 0.0
    point = np.full(3, np.nan)
    for side in range(2):
        if side == 0:
            xv, xe, lo_x, hi_x = va, ea, lo_a, hi_a
            yv, yt, yn, ytlo, ythi, lo_y, hi_y, ycv = vb, tb, nb, tlob, thib, lo_b, hi_b, cvb
        else:
            xv, xe, lo_x, hi_x = vb, eb, lo_b, hi_b
            yv, yt, yn, ytlo, ythi, lo_y, hi_y, ycv = va, ta, na, tloa, thia, lo_a, hi_a, cva
        if ycv:
            d, p = _probes_in_convex(xv, xe, yv, yt, yn, lo_y, hi_y)
            if d > max(best, EPS):
                best, point = d, p
            continue
        found, d, p = _probe_depth(xv, xe, lo_x, hi_x, yt, yn, ytlo, ythi, lo_y, hi_y)
        if found and d > max(best, EPS):
            best, point = d, p
    d, p = _coplanar_depth(ta, na, tloa, thia, lo_a, hi_a, tb, nb, tlob, thib, lo_b, hi_b)
    if d > best:
        best, point = d, p
    if not (np.isfinite(point[0]) and np.isfinite(point[1]) and np.isfinite(point[2])):
        point = (np.maximum(lo_a, lo_b) + np.minimum(hi_a, hi_b)) / 2
    return best, point


# ------------------------------------------------------------------------------ the judge

@_jit
def _mean_inside(cv, t, n, lo, hi):
    m = np.zeros(3)
    for r in range(len(cv)):
        m += cv[r]
    m = m / len(cv)
    return _inside(m[0], m[1], m[2], t, n, lo, hi)


@_jit
def _contained(lo_c, hi_c, cv, lo_o, hi_o, t, n):
    """c's box inside o's (EPS) and c's vertex mean inside o (parity)."""
    for k in range(3):
        if not (lo_c[k] >= lo_o[k] - EPS and hi_c[k] <= hi_o[k] + EPS):
            return False
    return _mean_inside(cv, t, n, lo_o, hi_o)


@_jit
def _judge_one(P, s_a, o_a, s_b, o_b, mode, tol, clear):
    """(code, distance, point, method) for one pair: the decisions of twin.ifc.clash._judge."""
    fd_all, fd_off, ed_all, ed_off = P[9], P[10], P[11], P[12]
    closed, convex, part, p_off = P[15], P[16], P[17], P[18]
    z = np.zeros(3)
    if mode == 2:
        return 2, 0.0, z, 0
    cxa, cxb = convex[s_a], convex[s_b]
    cla, clb = closed[s_a], closed[s_b]
    fda, eda = fd_all[fd_off[s_a]:fd_off[s_a + 1]], ed_all[ed_off[s_a]:ed_off[s_a + 1]]
    fdb, edb = fd_all[fd_off[s_b]:fd_off[s_b + 1]], ed_all[ed_off[s_b]:ed_off[s_b + 1]]
    if cxa and cxb and len(eda) * len(edb) > 40_000:
        return 2, 0.0, z, 0
    # vertices and boxes first: most pairs are decided on them alone
    va, lo_a, hi_a = _inst_v(P, s_a, o_a)
    vb, lo_b, hi_b = _inst_v(P, s_b, o_b)
    centre = (np.maximum(lo_a, lo_b) + np.minimum(hi_a, hi_b)) / 2
    if mode == 1:
        if cxa and cxb:
            ov = _sat_overlap(va, fda, eda, vb, fdb, edb)
            if ov >= -EPS:
                return 1, 0.0, centre, 0
            if -ov >= clear + 1e-9:
                return 0, 0.0, z, 0
        elif _share_vertex(va, vb, lo_a, hi_a, lo_b, hi_b):
            return 1, 0.0, centre, 1
    elif cxa and cxb:
        ov = _sat_overlap(va, fda, eda, vb, fdb, edb)
        if ov > tol:
            return 1, ov, centre, 0
        return 0, 0.0, z, 0
    _, ta, na, tloa, thia, ea, _, _ = _inst(P, s_a, o_a)
    _, tb, nb, tlob, thib, eb, _, _ = _inst(P, s_b, o_b)
    if mode == 1:
        if cxa != cxb and cla and clb:
            if cxa:
                hit = _meets_interior(va, fda, eda, lo_a, hi_a, tb, nb, tlob, thib, -EPS)
            else:
                hit = _meets_interior(vb, fdb, edb, lo_b, hi_b, ta, na, tloa, thia, -EPS)
            if hit:
                return 1, 0.0, centre, 0
            if cxa:
                near = _meets_interior(va, fda, eda, lo_a, hi_a, tb, nb, tlob, thib, -clear + 1e-9)
            else:
                near = _meets_interior(vb, fdb, edb, lo_b, hi_b, ta, na, tloa, thia, -clear + 1e-9)
            if not near:
                return 0, 0.0, z, 0
        d, pa, pb = _min_distance(va, ta, na, tloa, thia, ea, lo_a, hi_a, vb, tb, nb, tlob, thib, eb, lo_b, hi_b, clear)
        if not np.isfinite(d) or d >= clear:
            return 0, 0.0, z, 0
        return 1, d, (pa + pb) / 2, 1
    # hard, not both convex
    if not (cla and clb):
        return 2, 0.0, z, 0
    if cxa != cxb:
        if cxa:
            hit = (_meets_interior(va, fda, eda, lo_a, hi_a, tb, nb, tlob, thib, EPS)
                   or _contained(lo_a, hi_a, va, lo_b, hi_b, tb, nb))
        else:
            hit = (_meets_interior(vb, fdb, edb, lo_b, hi_b, ta, na, tloa, thia, EPS)
                   or _contained(lo_b, hi_b, vb, lo_a, hi_a, ta, na))
        if not hit:
            return 0, 0.0, z, 0
    elif p_off[s_a + 1] > p_off[s_a] or p_off[s_b + 1] > p_off[s_b]:
        npa, npb = p_off[s_a + 1] - p_off[s_a], p_off[s_b + 1] - p_off[s_b]
        use_a = npa > 0 and (npb == 0 or npa <= npb)
        s_sh, o_sh = (s_a, o_a) if use_a else (s_b, o_b)
        if use_a:
            ot, on, otlo, othi, olo, ohi = tb, nb, tlob, thib, lo_b, hi_b
        else:
            ot, on, otlo, othi, olo, ohi = ta, na, tloa, thia, lo_a, hi_a
        hit = False
        for k in range(p_off[s_sh], p_off[s_sh + 1]):
            ps = part[k]
            pv, _, _, _, _, _, plo, phi = _inst(P, ps, o_sh)
            pfd, ped = fd_all[fd_off[ps]:fd_off[ps + 1]], ed_all[ed_off[ps]:ed_off[ps + 1]]
            if (_meets_interior(pv, pfd, ped, plo, phi, ot, on, otlo, othi, EPS)
                    or _contained(plo, phi, pv, olo, ohi, ot, on)):
                hit = True
                break
        if not hit:
            return 0, 0.0, z, 0
    depth, point = _penetration(va, ta, na, tloa, thia, ea, lo_a, hi_a, cxa, vb, tb, nb, tlob, thib, eb, lo_b, hi_b, cxb)
    if depth > tol:
        return 1, depth, point, 2
    return 0, 0.0, z, 0


@_pjit
def _judge_all(P, sa, oa, sb, ob, mode, tol, clear, code, dist, point, method):
    for k in _prange(len(sa)):
        c, d, p, m = _judge_one(P, sa[k], oa[k], sb[k], ob[k], mode, tol, clear)
        code[k] = c
        dist[k] = d
        point[k, 0] = p[0]
        point[k, 1] = p[1]
        point[k, 2] = p[2]
        method[k] = m
