"""Mesh-against-mesh geometry: hard depth, touching, coplanar overlaps, containment, clearance."""
from __future__ import annotations

import numpy as np
import pytest

from tests.clash.shapes import l_wall
from twin.clash import TemporaryObject, temporary_mesh
from twin.clashgeom import mesh_info, min_distance, penetration, points_inside, surfaces_cross
from twin.ifc.clash import candidate_pairs, detect_clashes
from twin.model import BuildingModel, Element, Mesh


def box(lo, hi) -> Mesh:
    return temporary_mesh(TemporaryObject("b", "box", box=(tuple(map(float, lo)), tuple(map(float, hi)))))


def info(m: Mesh):
    return mesh_info(m.vertices, m.faces)


def model_of(meshes: dict[str, Mesh], cls: str = "IfcWall") -> BuildingModel:
    els = {g: Element(g, cls, bbox=m.bounds) for g, m in meshes.items()}
    return BuildingModel((), (), els, meshes)


def test_box_mesh_is_a_closed_convex_solid():
    i = info(box((0, 0, 0), (1, 2, 3)))
    assert i.closed and i.convex


def test_overlapping_boxes_have_the_minimum_translation_as_depth():
    depth, point, how = penetration(info(box((0, 0, 0), (1, 1, 1))), info(box((0.7, 0.2, 0.2), (2, 0.8, 0.8))))
    assert how == "convex"
    assert depth == pytest.approx(0.3)
    assert 0.7 <= point[0] <= 1.0


def test_touching_boxes_have_zero_depth_and_zero_distance():
    a, b = info(box((0, 0, 0), (1, 1, 1))), info(box((1, 0, 0), (2, 1, 1)))
    assert penetration(a, b)[0] == pytest.approx(0.0, abs=1e-12)
    assert min_distance(a, b)[0] == pytest.approx(0.0, abs=1e-12)


def test_coplanar_overlapping_walls_are_a_hard_clash():
    # two walls drawn over each other along x: every face of one is coplanar with a face of the other
    walls = {"W1": box((0, 0, 0), (2, 0.2, 3)), "W2": box((1, 0, 0), (3, 0.2, 3))}
    run = detect_clashes(model_of(walls), ["W1", "W2"], use_cache=False)
    assert [(c.a, c.b, c.type) for c in run.clashes] == [("W1", "W2", "hard")]
    assert run.clashes[0].distance == pytest.approx(0.2)


def test_coplanar_overlap_is_found_for_non_convex_walls_too():
    # an L-shaped wall (non-convex) over a straight one, faces flush
    l_shape = l_wall()
    walls = {"L": l_shape, "W": box((1, 0, 0), (3, 0.2, 3))}
    assert not info(l_shape).convex and info(l_shape).closed
    run = detect_clashes(model_of(walls), ["L"], ["W"], use_cache=False)
    assert len(run.clashes) == 1 and run.clashes[0].method == "probe"
    assert run.clashes[0].distance == pytest.approx(0.1, abs=1e-6)   # middle of the 0.2 m overlap


def test_swapping_a_and_b_gives_the_same_clashes():
    rng = np.random.default_rng(3)
    meshes = {}
    for k in range(30):
        lo = rng.uniform(0, 5, 3)
        meshes[f"E{k:02d}"] = box(lo, lo + rng.uniform(0.2, 1.5, 3))
    m = model_of(meshes)
    a, b = list(meshes)[:15], list(meshes)[15:]
    r1 = detect_clashes(m, a, b, use_cache=False)
    r2 = detect_clashes(m, b, a, use_cache=False)
    assert {c.pair for c in r1.clashes} == {c.pair for c in r2.clashes}
    assert {c.id for c in r1.clashes} == {c.id for c in r2.clashes}
    assert r1.clashes, "the random boxes were meant to overlap somewhere"
    assert all(c.a in a for c in r1.clashes) and all(c.a in b for c in r2.clashes)


def test_an_element_inside_another_is_a_hard_clash():
    meshes = {"BIG": box((0, 0, 0), (4, 4, 4)), "IN": box((1, 1, 1), (2, 2, 2))}
    run = detect_clashes(model_of(meshes), ["BIG"], ["IN"], use_cache=False)
    assert len(run.clashes) == 1 and run.clashes[0].distance == pytest.approx(2.0)


def test_touch_mode_reports_touching_but_not_hard_pairs():
    meshes = {"A": box((0, 0, 0), (1, 1, 1)), "B": box((1.0005, 0, 0), (2, 1, 1)), "C": box((0.5, 0.5, 0.5), (1.5, 1.5, 1.5))}
    run = detect_clashes(model_of(meshes), ["A"], ["B", "C"], mode="touch", tolerance=0.001, use_cache=False)
    assert [(c.b, c.type) for c in run.clashes] == [("B", "touch")]
    assert run.clashes[0].distance == pytest.approx(0.0005, abs=1e-9)


def test_clearance_distance_is_the_exact_gap():
    a = info(box((0, 0, 0), (1, 1, 1)))
    b = info(box((1.03, 0.5, 1.04), (2, 2, 2)))            # corner-to-edge gap sqrt(0.03^2 + 0.04^2)
    d, pa, pb = min_distance(a, b, limit=0.1)
    assert d == pytest.approx(0.05)
    assert np.linalg.norm(pa - pb) == pytest.approx(0.05)


def test_duplicate_elements_are_typed_duplicate():
    meshes = {"A": box((0, 0, 0), (1, 1, 1)), "B": box((0, 0, 0), (1, 1, 1))}
    run = detect_clashes(model_of(meshes), ["A", "B"], use_cache=False)
    assert [c.type for c in run.clashes] == ["duplicate"]


def test_an_open_mesh_falls_back_to_a_surface_test_and_says_so():
    # a single square sheet (open) cutting through a box
    sheet = Mesh(np.array([[-1, -1, 0.5], [2, -1, 0.5], [2, 2, 0.5], [-1, 2, 0.5]], float), np.array([[0, 1, 2], [0, 2, 3]]))
    assert not info(sheet).closed
    run = detect_clashes(model_of({"S": sheet, "B": box((0, 0, 0), (1, 1, 1))}), ["S"], ["B"], use_cache=False)
    assert len(run.clashes) == 1 and run.clashes[0].method == "surface"
    assert any("open or non-manifold" in w and "S" in w for w in run.warnings)


def test_open_meshes_that_only_touch_are_not_hard_clashes():
    sheet = Mesh(np.array([[0, 0, 1], [1, 0, 1], [1, 1, 1]], float), np.array([[0, 1, 2]]))
    a, b = info(sheet), info(box((0, 0, 0), (1, 1, 1)))
    assert surfaces_cross(a, b) is None
    run = detect_clashes(model_of({"S": sheet, "B": box((0, 0, 0), (1, 1, 1))}), ["S"], ["B"], use_cache=False)
    assert run.clashes == ()


def test_points_inside_uses_parity():
    i = info(box((0, 0, 0), (1, 1, 1)))
    assert points_inside(np.array([[0.5, 0.5, 0.5], [1.5, 0.5, 0.5]]), i).tolist() == [True, False]


def test_candidate_pairs_match_brute_force():
    rng = np.random.default_rng(0)
    lo = rng.uniform(0, 10, (200, 3))
    hi = lo + rng.uniform(0.1, 2, (200, 3))
    in_a = rng.random(200) < 0.5
    in_b = ~in_a | (rng.random(200) < 0.2)
    got = {tuple(p) for p in candidate_pairs(lo, hi, in_a, in_b, 0.01).tolist()}
    want = set()
    for i in range(200):
        for j in range(i + 1, 200):
            if np.all(lo[i] <= hi[j] + 0.01) and np.all(lo[j] <= hi[i] + 0.01) and (
                    (in_a[i] and in_b[j]) or (in_a[j] and in_b[i])):
                want.add((i, j))
    assert got == want


def test_pair_cache_rejudges_only_what_changed(tmp_path):
    meshes = {f"E{k}": box((k * 0.9, 0, 0), (k * 0.9 + 1, 1, 1)) for k in range(10)}
    m = model_of(meshes)
    first = detect_clashes(m, list(meshes), cache_dir=tmp_path)
    again = detect_clashes(m, list(meshes), cache_dir=tmp_path)
    assert first.stats["computed"] == 9 and again.stats["computed"] == 0 and again.stats["cached"] == 9
    meshes["E4"] = box((4 * 0.9, 0, 0.5), (4 * 0.9 + 1, 1, 1.5))          # one element moved up
    third = detect_clashes(model_of(meshes), list(meshes), cache_dir=tmp_path)
    assert third.stats["computed"] == 2 and third.stats["cached"] == 7
    assert {c.pair for c in third.clashes} == {c.pair for c in detect_clashes(model_of(meshes), list(meshes),
                                                                              use_cache=False).clashes}
