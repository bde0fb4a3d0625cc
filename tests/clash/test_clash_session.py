"""Incremental clash re-runs (ClashSession): after every kind of edit the result equals a full
detect_clashes of the edited model, and only the changed elements' pairs are judged."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.clash.shapes import l_wall
from tests.conftest import ROOT
from twin.clash import TemporaryObject, parse_exclude, temporary_mesh
from twin.errors import InputError
from twin.ifc import clash_session
from twin.ifc.clash import detect_clashes
from twin.ifc.clash_session import ClashSession
from twin.model import BuildingModel, Element, Mesh

MODES = [("hard", {}), ("touch", {"tolerance": 0.01}), ("clearance", {"clearance": 0.1})]


def box(lo, hi) -> Mesh:
    return temporary_mesh(TemporaryObject("b", "box", box=(tuple(map(float, lo)), tuple(map(float, hi)))))


def sheet(x, y, z) -> Mesh:
    """An open square sheet (no inside)."""
    return Mesh(np.array([[x, y, z], [x + 1.5, y, z], [x + 1.5, y + 1.5, z], [x, y + 1.5, z]], float),
                np.array([[0, 1, 2], [0, 2, 3]]))


def moved(mesh: Mesh, d) -> Mesh:
    return Mesh(mesh.vertices + np.asarray(d, float), mesh.faces)


CLASSES = ("IfcWall", "IfcDuctSegment", "IfcBeam", "IfcPipeSegment")
SYSTEMS = ((), ("Supply Air",), ("Extract Air",), ("Supply Air",))


def random_model(seed: int = 0, n: int = 60) -> BuildingModel:
    rng = np.random.default_rng(seed)
    meshes: dict[str, Mesh] = {}
    elements: dict[str, Element] = {}
    for k in range(n):
        g = f"E{k:03d}"
        lo = rng.uniform(0, 6, 3)
        kind = k % 6
        if kind == 4:
            meshes[g] = l_wall(*lo)
        elif kind == 5:
            meshes[g] = sheet(*lo)
        else:
            meshes[g] = box(lo, lo + rng.uniform(0.2, 1.5, 3))
        c = int(rng.integers(len(CLASSES)))
        elements[g] = Element(g, CLASSES[c], name=f"n{k}", systems=SYSTEMS[c])
    # a duplicate (same class, same geometry), a touching pair and a pair 5 cm apart
    meshes["DUP1"], meshes["DUP2"] = box((20, 0, 0), (21, 1, 1)), box((20, 0, 0), (21, 1, 1))
    meshes["T1"], meshes["T2"] = box((30, 0, 0), (31, 1, 1)), box((31.005, 0, 0), (32, 1, 1))
    meshes["G1"], meshes["G2"] = box((40, 0, 0), (41, 1, 1)), box((41.05, 0, 0), (42, 1, 1))
    for g in ("DUP1", "DUP2", "T1", "T2", "G1", "G2"):
        elements[g] = Element(g, "IfcColumn", name=g)
    elements["NOGEO"] = Element("NOGEO", "IfcWall")
    return BuildingModel((), (), elements, meshes)


def with_meshes(model: BuildingModel, **changes) -> BuildingModel:
    meshes = dict(model.meshes)
    for g, m in changes.items():
        if m is None:
            meshes.pop(g, None)
        else:
            meshes[g] = m
    return replace(model, meshes=meshes)


def assert_same_as_full(run, model, a, b=None, **opts):
    full = detect_clashes(model, a, b, use_cache=False, **opts)
    assert run.clashes == full.clashes          # records equal field by field, ids, depths and points included
    assert run.warnings == full.warnings
    return full


@pytest.mark.parametrize("mode, opts", MODES)
def test_every_kind_of_edit_gives_the_full_result(mode, opts):
    model = random_model()
    ids = [*model.elements]
    s = ClashSession(model, ids, mode=mode, **opts)
    first = assert_same_as_full(s.run, model, ids, mode=mode, **opts)
    assert first.clashes and s.run.stats["incremental"] is False
    # move one element into others
    model = with_meshes(model, E007=moved(model.meshes["E007"], (0.4, 0.3, -0.2)))
    assert_same_as_full(s.rerun(model, ids), model, ids, mode=mode, **opts)
    assert s.run.stats["changed"] == 1
    # change a box into an L-shaped wall, and a sheet into a box
    model = with_meshes(model, E001=l_wall(1.0, 1.0, 1.0), E005=box((2, 2, 2), (3, 3, 3)))
    assert_same_as_full(s.rerun(model, ids), model, ids, mode=mode, **opts)
    # add two elements (one overlapping many) and delete one
    model = with_meshes(model, NEW1=box((0, 0, 0), (6, 6, 0.5)), NEW2=sheet(3, 3, 3), E010=None)
    model = replace(model, elements={**model.elements, "NEW1": Element("NEW1", "IfcSlab"),
                                     "NEW2": Element("NEW2", "IfcPlate")})
    ids = [*model.elements]
    assert_same_as_full(s.rerun(model, ids), model, ids, mode=mode, **opts)
    assert s.run.stats["changed"] == 3
    # remove an element from the model and the selection altogether
    model = replace(with_meshes(model, E020=None), elements={g: e for g, e in model.elements.items() if g != "E020"})
    ids = [*model.elements]
    assert_same_as_full(s.rerun(model, ids), model, ids, mode=mode, **opts)
    # the same selection: an element loses its mesh (skipped, and named in the warning), then gets it back
    kept = model.meshes["E030"]
    model = with_meshes(model, E030=None)
    run = s.rerun(model, ids)
    assert_same_as_full(run, model, ids, mode=mode, **opts)
    assert run.stats["changed"] == 1 and "E030" in run.warnings[0]
    model = with_meshes(model, E030=kept)
    assert_same_as_full(s.rerun(model, ids), model, ids, mode=mode, **opts)


@pytest.mark.parametrize("mode, opts", MODES)
def test_changing_selections_and_swapping_a_and_b(mode, opts):
    model = random_model(1)
    ids = sorted(model.meshes)
    a, b = ids[::2], ids[1::2]
    s = ClashSession(model, a, b, mode=mode, **opts)
    assert_same_as_full(s.run, model, a, b, mode=mode, **opts)
    swapped = s.rerun(model, b, a)
    full = assert_same_as_full(swapped, model, b, a, mode=mode, **opts)
    assert {c.id for c in swapped.clashes} == {c.id for c in full.clashes}
    assert all(c.a in b for c in swapped.clashes)
    narrower = a[:10]
    assert_same_as_full(s.rerun(model, narrower, b), model, narrower, b, mode=mode, **opts)
    assert_same_as_full(s.rerun(model, ids), model, ids, mode=mode, **opts)


def test_changed_records_count_too_duplicates_and_exclusions():
    model = random_model(2)
    ids = [*model.elements]
    rules = [parse_exclude("same-system")]
    s = ClashSession(model, ids, exclude=rules)
    assert_same_as_full(s.run, model, ids, exclude=rules)
    assert any(c.type == "duplicate" for c in s.run.clashes)
    els = dict(model.elements)
    els["DUP2"] = Element("DUP2", "IfcBeam", name="DUP2")              # not the same class: a hard clash
    els["E003"] = replace(els["E003"], systems=("Supply Air",), name="renamed")
    model = replace(model, elements=els)
    run = s.rerun(model, ids)
    assert_same_as_full(run, model, ids, exclude=rules)
    assert run.stats["changed"] == 2 and run.stats["computed"] == 0       # verdicts of the meshes kept
    assert not any(c.type == "duplicate" for c in run.clashes)


def test_only_the_changed_elements_pairs_are_judged_and_ids_stay():
    model = random_model(3)
    ids = [*model.meshes]
    s = ClashSession(model, ids, mode="clearance", clearance=0.1)
    before = {c.pair: c for c in s.run.clashes}
    victim = "E012"
    model2 = with_meshes(model, **{victim: moved(model.meshes[victim], (0.0, 0.0, 0.3))})
    run = s.rerun(model2, ids)
    full = assert_same_as_full(run, model2, ids, mode="clearance", clearance=0.1)
    near = sum(1 for g in ids if g != victim and _boxes_near(model2, (victim, g), 0.1))
    assert near and run.stats["computed"] == run.stats["candidates"] == near
    after = {c.pair: c for c in full.clashes}
    for pair, c in before.items():
        if victim not in pair and pair in after:
            assert after[pair].id == c.id
    # moving it back costs no judging at all: the verdicts of the old mesh are kept
    back = s.rerun(model, ids)
    assert back.clashes == tuple(sorted(before.values(), key=lambda c: c.id)) and back.stats["computed"] == 0


def _boxes_near(model, pair, margin):
    (a, b) = (model.meshes[g].vertices for g in pair)
    return bool(np.all(a.min(axis=0) <= b.max(axis=0) + margin) and np.all(b.min(axis=0) <= a.max(axis=0) + margin))


def test_an_unchanged_model_in_new_objects_is_not_rejudged():
    model = random_model(4)
    ids = [*model.meshes]
    s = ClashSession(model, ids)
    copy = replace(model, meshes={g: Mesh(m.vertices.copy(), m.faces.copy()) for g, m in model.meshes.items()},
                   elements={g: replace(e) for g, e in model.elements.items()})
    run = s.rerun(copy, ids)
    assert run.stats["changed"] == 0 and run.stats["candidates"] == 0 and run.clashes == s.run.clashes


def test_many_changes_take_the_grid_path(monkeypatch):
    monkeypatch.setattr(clash_session, "_DIRECT_LIMIT", 3)
    model = random_model(5)
    ids = [*model.meshes]
    s = ClashSession(model, ids, mode="clearance", clearance=0.1)
    shifted = with_meshes(model, **{g: moved(model.meshes[g], (0.25, 0, 0)) for g in ids[:20]})
    assert_same_as_full(s.rerun(shifted, ids), shifted, ids, mode="clearance", clearance=0.1)
    assert s.run.stats["changed"] == 20


def test_temporary_objects_are_clashed_and_can_move():
    model = random_model(6)
    ids = [*model.meshes]
    crane = Element("crane", "Temporary", name="crane")
    s = ClashSession(model, [*ids, "crane"], extra={"crane": (box((2, 2, 0), (3, 3, 9)), crane)})
    run = s.rerun(model, [*ids, "crane"], extra={"crane": (box((4, 4, 0), (5, 5, 9)), crane)})
    assert_same_as_full(run, model, [*ids, "crane"], extra={"crane": (box((4, 4, 0), (5, 5, 9)), crane)})
    assert any("crane" in c.pair for c in run.clashes)


def test_bad_settings_are_refused():
    with pytest.raises(InputError, match="clash mode"):
        ClashSession(random_model(), ["E000"], mode="soft")
    with pytest.raises(InputError, match="clearance"):
        ClashSession(random_model(), ["E000"], mode="clearance", clearance=0)


def test_the_demo_building_rerun_equals_a_full_clash(tmp_path):
    from twin.ifc import load_model

    model = load_model(ROOT / "samples" / "demo_building.ifc", cache_dir=tmp_path)
    ids = [*model.meshes]
    ducts = [g for g in ids if model.elements[g].ifc_class == "IfcDuctSegment"]
    for mode in ("hard", "clearance"):
        s = ClashSession(model, ids, mode=mode)
        assert_same_as_full(s.run, model, ids, mode=mode)
        victim = ducts[len(ducts) // 2]
        changed = with_meshes(model, **{victim: moved(model.meshes[victim], (0, 0, 0.3))})
        run = s.rerun(changed, ids)
        assert_same_as_full(run, changed, ids, mode=mode)
        assert run.stats["changed"] == 1 and run.stats["computed"] <= run.stats["candidates"] < 50


def test_the_on_disk_pair_cache_is_shared_with_detect_clashes(tmp_path):
    model = random_model(7)
    ids = [*model.meshes]
    detect_clashes(model, ids, cache_dir=tmp_path)                    # writes the verdicts, duplicates typed
    s = ClashSession(model, ids, pair_cache=tmp_path)
    assert s.run.stats["computed"] == 0 and s.run.stats["candidates"] > 0
    assert_same_as_full(s.run, model, ids)
    # a record change turns the cached duplicate back into a hard clash
    els = {**model.elements, "DUP2": Element("DUP2", "IfcBeam", name="DUP2")}
    other = replace(model, elements=els)
    s2 = ClashSession(other, ids, pair_cache=tmp_path)
    assert s2.run.stats["computed"] == 0
    assert_same_as_full(s2.run, other, ids)
    # and what a session judged, detect_clashes reads back
    moved_model = with_meshes(model, E001=moved(model.meshes["E001"], (0.3, 0, 0)))
    ClashSession(moved_model, ids, pair_cache=tmp_path)
    assert detect_clashes(moved_model, ids, cache_dir=tmp_path).stats["computed"] == 0


def test_run_clash_reruns_through_a_kept_session(tmp_path):
    from twin.ifc import load_model
    from twin.ifc.clash import run_clash

    demo = ROOT / "samples" / "demo_building.ifc"
    model = load_model(demo, cache_dir=tmp_path)
    mep = "IfcDuctSegment,IfcPipeSegment"
    first = run_clash([demo], mep, "*", model=model, incremental=True, cache_dir=tmp_path)
    session = first["_session"]
    assert isinstance(session, ClashSession) and first["stats"]["incremental"] is False
    duct = next(g for g, e in model.elements.items() if e.ifc_class == "IfcDuctSegment" and g in model.meshes)
    changed = with_meshes(model, **{duct: moved(model.meshes[duct], (0, 0, -0.5))})
    again = run_clash([demo], mep, "*", model=changed, session=session, cache_dir=tmp_path)
    full = run_clash([demo], mep, "*", model=changed, use_cache=False)
    assert again["_session"] is session and again["stats"]["incremental"] is True and again["stats"]["changed"] == 1
    assert again["clashes"] == full["clashes"] and again["groups"] == full["groups"]
    # other settings: the session is not used
    other = run_clash([demo], mep, "*", model=changed, mode="clearance", session=session, use_cache=False)
    assert other["_session"] is None and "incremental" not in other["stats"]


def test_the_app_reclashes_a_changed_project_through_its_kept_session(tmp_path, monkeypatch):
    pytest.importorskip("streamlit")
    monkeypatch.setenv("TWIN_APP_DIR", str(tmp_path / "app"))
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "cache"))
    from twin.ifc import load_model
    from twin.ifc.clash import run_clash
    from twin_app import loaders
    from twin_app.project import default_start, project_from_files, rebuild_project

    demo = ROOT / "samples" / "demo_building.ifc"
    model = load_model(demo)
    first = project_from_files([demo], model, start=default_start(), name="Demo", source="demo")
    loaders.clear()
    try:
        doc1 = loaders.get_clashes(first, "IfcDuctSegment,IfcPipeSegment", "*", "hard", 0.002, 0.05)
        assert doc1["stats"]["incremental"] is False and doc1["clashes"]
        # another plan of the same model: a new project, whose clash run goes through the kept session
        second = rebuild_project(first, model, strategy="two-crews")
        assert second.key != first.key
        doc2 = loaders.get_clashes(second, "IfcDuctSegment,IfcPipeSegment", "*", "hard", 0.002, 0.05)
    finally:
        loaders.clear()
    assert doc2["stats"]["incremental"] is True and doc2["stats"]["changed"] == 0 and doc2["stats"]["computed"] == 0
    full = run_clash([second.scenario.path], "IfcDuctSegment,IfcPipeSegment", "*", use_cache=False)
    assert doc2["clashes"] == full["clashes"]


def test_a_failed_rerun_leaves_a_session_that_still_gives_the_full_result(monkeypatch):
    model = random_model(8)
    ids = [*model.meshes]
    s = ClashSession(model, ids)
    moved_model = with_meshes(model, E002=moved(model.meshes["E002"], (0.5, 0.5, 0)))

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(clash_session, "_judge_many", boom)
    with pytest.raises(KeyboardInterrupt):
        s.rerun(moved_model, ids)
    monkeypatch.undo()
    assert_same_as_full(s.rerun(moved_model, ids), moved_model, ids)


@pytest.mark.parametrize("first, second, expect", [("IfcWall", "IfcSlab", "hard"), ("IfcSlab", "IfcWall", "duplicate")])
def test_pair_cache_does_not_carry_a_duplicate_verdict_to_other_records(tmp_path, first, second, expect):
    """The pair cache is keyed by the two meshes; whether two equal meshes are a duplicate depends on
    the elements' classes, so a warm cache must give what a cold run gives for the new records."""
    meshes = {"a": box((0, 0, 0), (1, 1, 1)), "b": box((0, 0, 0), (1, 1, 1))}

    def model(b_class):
        return BuildingModel((), (), {"a": Element("a", "IfcWall", name="a"), "b": Element("b", b_class, name="b")},
                             meshes)

    detect_clashes(model(first), ["a", "b"], cache_dir=tmp_path)          # fills the pair cache
    warm = detect_clashes(model(second), ["a", "b"], cache_dir=tmp_path)
    cold = detect_clashes(model(second), ["a", "b"], use_cache=False)
    assert warm.stats["cached"] == 1
    assert [c.type for c in warm.clashes] == [c.type for c in cold.clashes] == [expect]


@pytest.mark.parametrize("mode, opts", MODES)
def test_rerun_after_the_ifc_file_was_edited_in_place(mode, opts, tmp_path):
    """What the app does when the coordinator saves an edit: load the file again (a delta of the
    version loaded before, twin.ifc.delta) and re-run the session. Unchanged elements come back as
    the very objects the session holds, so only the moved duct is looked at; the result equals a
    full clash of a load from scratch."""
    import shutil

    from tests.ifc import edits
    from twin.ifc import load_model

    path, cache = tmp_path / "demo.ifc", tmp_path / "cache"
    shutil.copy(ROOT / "samples" / "demo_building.ifc", path)
    before = load_model(path, cache_dir=cache)
    ids = list(before.meshes)
    session = ClashSession(before, ids, mode=mode, **opts)
    duct = next(g for g, e in before.elements.items() if e.ifc_class == "IfcDuctSegment" and g in before.meshes)
    edits.moved_up(path, tmp_path / "edited.ifc", duct, 0.4)
    shutil.move(tmp_path / "edited.ifc", path)
    after = load_model(path, cache_dir=cache)
    assert sum(after.elements[g] is not before.elements[g] for g in ids) == 1
    assert sum(after.meshes[g] is not before.meshes[g] for g in ids) == 1
    assert not np.array_equal(after.meshes[duct].vertices, before.meshes[duct].vertices)
    again = session.rerun(after, ids)
    assert again.stats["changed"] == 1
    scratch = load_model(path, use_cache=False)
    assert again.clashes == detect_clashes(scratch, ids, mode=mode, use_cache=False, **opts).clashes
