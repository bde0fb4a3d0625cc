"""The compiled narrow phase (twin.clashkern) against the numpy reference, pair by pair.

``twin.ifc.clash._KERNEL = False`` runs the reference (``_judge`` over ``twin.clashgeom``); both must
give the same clashes: same pairs, types and methods, and depths, distances and points equal to
1e-9 m, on scenes built to hit every branch (convex, non-convex, several shells, open meshes,
coplanar faces, shared vertices, gaps of exactly the clearance) and on real and generated models.
"""
from __future__ import annotations

import numpy as np
import pytest

import twin.ifc.clash as clash_mod
from tests.clash.shapes import l_wall
from tests.conftest import ROOT, shared_path
from twin import clashkern
from twin.clash import TemporaryObject, temporary_mesh
from twin.clashgeom import _components, _surface_distance, mesh_info
from twin.model import BuildingModel, Element, Mesh

pytestmark = pytest.mark.skipif(not clashkern.available(), reason="numba is not installed")


def _box(lo, hi) -> Mesh:
    return temporary_mesh(TemporaryObject("b", "box", box=(tuple(map(float, lo)), tuple(map(float, hi)))))


def _rotated_box(rng, centre, size) -> Mesh:
    m = _box(-np.asarray(size) / 2, np.asarray(size) / 2)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    ang = rng.uniform(0, np.pi)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    rot = np.eye(3) + np.sin(ang) * k + (1 - np.cos(ang)) * k @ k
    return Mesh(m.vertices @ rot.T + centre, m.faces)


def _tube(x, y, z, r_out=0.3, r_in=0.2, length=2.0, n=12) -> Mesh:
    """A hollow cylinder along x (closed, not convex)."""
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.stack([np.zeros(n), np.cos(a), np.sin(a)], axis=1)
    v = np.concatenate([ring * (0, r_out, r_out), ring * (0, r_out, r_out) + (length, 0, 0),
                        ring * (0, r_in, r_in), ring * (0, r_in, r_in) + (length, 0, 0)])
    ob, ot, ib, it = 0, n, 2 * n, 3 * n
    f = []
    for i in range(n):
        j = (i + 1) % n
        f += [[ob + i, ob + j, ot + j], [ob + i, ot + j, ot + i]]          # outer side
        f += [[ib + i, it + j, ib + j], [ib + i, it + i, it + j]]          # inner side
        f += [[ob + i, ib + j, ob + j], [ob + i, ib + i, ib + j]]          # end at x = 0
        f += [[ot + i, ot + j, it + j], [ot + i, it + j, it + i]]          # end at x = length
    return Mesh(v + (x, y, z), np.array(f))


def _window(x, y, z) -> Mesh:
    """Two separate boxes in one mesh (a frame and a pane): closed, not convex, two convex shells."""
    a, b = _box((0, 0, 0), (0.1, 0.2, 1.0)), _box((0.3, 0, 0), (0.4, 0.2, 1.0))
    return Mesh(np.concatenate([a.vertices, b.vertices]) + (x, y, z), np.concatenate([a.faces, b.faces + len(a.vertices)]))


def _open_box(lo, hi) -> Mesh:
    m = _box(lo, hi)
    return Mesh(m.vertices, m.faces[:-2])


def _scene(seed: int) -> BuildingModel:
    """Objects on a 0.05 m grid in a 3 m cube: coplanar faces, shared corners and gaps of exactly
    0.05 m are common, as in real models."""
    rng = np.random.default_rng(seed)
    meshes: dict[str, Mesh] = {}
    kinds = ["box", "box", "box", "rot", "l", "tube", "window", "open"]
    for k in range(48):
        kind = kinds[k % len(kinds)]
        p = np.round(rng.uniform(0, 3, 3) / 0.05) * 0.05
        if kind == "box":
            s = np.round(rng.uniform(0.05, 1.2, 3) / 0.05) * 0.05
            m = _box(p, p + s)
        elif kind == "rot":
            m = _rotated_box(rng, p, rng.uniform(0.1, 1.0, 3))
        elif kind == "l":
            m = l_wall(*p)
        elif kind == "tube":
            m = _tube(*p)
        elif kind == "window":
            m = _window(*p)
        else:
            m = _open_box(p, p + np.round(rng.uniform(0.1, 1.0, 3) / 0.05) * 0.05)
        meshes[f"{kind}{k:02d}"] = m
    # copies of one shape side by side (shared shapes in the kernel's pack), one exactly on another
    for k in range(4):
        meshes[f"col{k}"] = _box((1.0 + 0.3 * k, 1.0, 0.0), (1.3 + 0.3 * k, 1.3, 3.0))
    meshes["dup"] = _box((1.0, 1.0, 0.0), (1.3, 1.3, 3.0))
    els = {g: Element(g, "IfcColumn" if g.startswith(("col", "dup")) else "IfcWall", bbox=m.bounds)
           for g, m in meshes.items()}
    return BuildingModel((), (), els, meshes)


def _both(model: BuildingModel, mode: str, monkeypatch) -> tuple:
    ids = list(model.meshes)
    out = []
    for kernel in (True, False):
        monkeypatch.setattr(clash_mod, "_KERNEL", kernel)
        run = clash_mod.detect_clashes(model, ids, mode=mode, tolerance=0.002, clearance=0.05, use_cache=False)
        out.append({(c.a, c.b): c for c in run.clashes})
    return out[0], out[1]


def _assert_same(kern: dict, ref: dict, model: BuildingModel) -> int:
    """Same pairs, types, methods and distances; the same points, except where several points are
    equally good (a probe depth or a closest distance reached at more than one place, decided by
    the last bit of rounding): then the kernel's point must be as good. Returns the number of such
    ties."""
    assert set(kern) == set(ref), (set(kern) ^ set(ref))
    ties = 0
    for k, c in ref.items():
        d = kern[k]
        assert (d.type, d.method) == (c.type, c.method), k
        assert d.distance == pytest.approx(c.distance, abs=1e-9), k
        if not np.allclose(d.point, c.point, atol=1e-9):
            ties += 1
            assert c.method in ("probe", "distance"), (k, d.point, c.point)
            p = np.asarray(d.point)[None]
            got = [float(_surface_distance(p, mesh_info(model.meshes[g].vertices, model.meshes[g].faces))[0])
                   for g in k]
            if c.method == "probe":           # as deep in one of the two solids as the reference's probe
                assert min(abs(x - c.distance) for x in got) <= 1e-9, (k, got, c.distance)
            else:                             # the middle of two closest points
                assert max(got) <= c.distance / 2 + 1e-9, (k, got, c.distance)
    return ties


@pytest.mark.parametrize("mode", ["hard", "clearance"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_kernel_equals_reference_on_mixed_scenes(seed, mode, monkeypatch):
    model = _scene(seed)
    kern, ref = _both(model, mode, monkeypatch)
    ties = _assert_same(kern, ref, model)
    assert ref, "the scene should clash somewhere"
    assert ties <= max(2, len(ref) // 10)


def test_scenes_reach_every_kernel_branch(monkeypatch):
    """The scenes above are not trivially easy: convex, probe and distance verdicts all occur, and
    the duplicate column is typed duplicate."""
    methods, types = set(), set()
    for seed in range(4):
        for mode in ("hard", "clearance"):
            kern, _ = _both(_scene(seed), mode, monkeypatch)
            methods |= {c.method for c in kern.values()}
            types |= {c.type for c in kern.values()}
    assert {"convex", "probe", "distance"} <= methods
    assert {"hard", "duplicate", "clearance"} <= types


@pytest.mark.parametrize("mode", ["hard", "clearance"])
def test_kernel_equals_reference_on_the_demo_building(mode, tmp_path, monkeypatch):
    from twin.ifc import load_model

    model = load_model(ROOT / "samples" / "demo_building.ifc", cache_dir=tmp_path)
    kern, ref = _both(model, mode, monkeypatch)
    assert _assert_same(kern, ref, model) == 0


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hard", "clearance"])
def test_kernel_equals_reference_on_office_a(mode, tmp_path_factory, monkeypatch):
    from twin.ifc import load_model

    path = shared_path("samples", "ifc", "Office_A_20110811.ifc")
    model = load_model(path, cache_dir=tmp_path_factory.getbasetemp() / "office-cache")
    kern, ref = _both(model, mode, monkeypatch)
    assert _assert_same(kern, ref, model) == 0


def test_touch_mode_and_open_meshes_are_left_to_the_reference():
    box, opened = _box((0, 0, 0), (1, 1, 1)), _open_box((0.5, 0.5, 0.5), (2, 2, 2))
    a, b = mesh_info(box.vertices, box.faces), mesh_info(opened.vertices, opened.faces)
    assert a.convex and not b.closed
    pack = clashkern.pack_shapes([a, b])
    s0, s1 = np.array([0]), np.array([1])
    z = np.zeros((1, 3))
    assert clashkern.judge_pairs(pack, s0, z, s1, z, "touch", 0.002, 0.05)[0][0] == clashkern.FALLBACK
    assert clashkern.judge_pairs(pack, s0, z, s1, z, "hard", 0.002, 0.05)[0][0] == clashkern.FALLBACK
    code, dist, point, method = clashkern.judge_pairs(pack, s0, z, s0, z + (0.5, 0, 0), "hard", 0.002, 0.05)
    assert code[0] == clashkern.VERDICT and dist[0] == pytest.approx(0.5)
    assert clashkern.METHODS[method[0]] == "convex" and np.allclose(point[0], (0.75, 0.5, 0.5))


def test_shells_are_found_without_scipy_as_scipy_finds_them():
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rng = np.random.default_rng(5)
    for trial in range(200):
        n = int(rng.integers(1, 120))
        if trial % 2:
            perm = rng.permutation(n)                      # long chains: many hooking rounds
            e = np.stack([perm[:-1], perm[1:]], axis=1)[: int(rng.integers(0, n))]
        else:
            e = rng.integers(0, n, (int(rng.integers(0, 150)), 2))
        k, label = _components(n, e)
        g = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
        k2, label2 = connected_components(g, directed=False)
        assert k == k2
        assert len(set(zip(label.tolist(), label2.tolist()))) == k       # the same partition
