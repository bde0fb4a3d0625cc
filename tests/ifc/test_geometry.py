"""twin.ifc geometry: meshes in metres, per-element failures, the cache, and the real sample files.

The real files are tessellated once per module into a temporary cache (slow: about a minute on two
cores); checks compare with ifcopenshell's own element selection and the files' base quantities.
"""
from __future__ import annotations

import numpy as np
import pytest

ifcopenshell = pytest.importorskip("ifcopenshell")

from tests.conftest import SHARED, shared_path  # noqa: E402
from tests.ifc.small_models import build_small_model  # noqa: E402
from twin.ifc import load_model, open_ifc, tessellate  # noqa: E402
from twin.ifc import cache as ifc_cache  # noqa: E402
from twin.ifc import load as ifc_load  # noqa: E402

SAMPLES = sorted(
    [*(SHARED / "samples" / "ifc").glob("*.ifc"), *(SHARED / "samples" / "ifc4d").glob("*.ifc")]
)


@pytest.fixture(scope="module")
def broken_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("broken") / "broken.ifc"
    ids = build_small_model(path, broken=True)
    return path, ids


def _no_tessellation(*args, **kwargs):
    raise AssertionError("tessellate was called although the cache holds the meshes")


# -- small model ---------------------------------------------------------------------------------
def test_walls_are_meshed_in_metres_in_world_coordinates(broken_model, tmp_path):
    path, ids = broken_model
    model = load_model(path, cache_dir=tmp_path)
    lo, hi = model.elements[ids["wall2"]].bbox
    assert lo == pytest.approx((6.0, 1.0, 3.0), abs=1e-6)
    assert hi == pytest.approx((11.0, 1.2, 6.0), abs=1e-6)
    mesh = model.meshes[ids["wall2"]]
    assert mesh.vertices.shape[1] == 3 and mesh.faces.shape[1] == 3
    assert mesh.n_triangles == 12  # a box
    assert mesh.faces.max() < len(mesh.vertices)


def test_broken_element_is_reported_not_fatal(broken_model, tmp_path):
    path, ids = broken_model
    model = load_model(path, cache_dir=tmp_path)
    assert [f.global_id for f in model.geometry_failures] == [ids["broken"]]
    failure = model.geometry_failures[0]
    assert failure.file == str(path)
    assert "IfcBuildingElementProxy" in failure.message
    assert model.elements[ids["broken"]].bbox is None
    assert ids["wall1"] in model.meshes


def test_element_without_representation_is_not_a_failure(broken_model):
    path, ids = broken_model
    meshes, failures = tessellate(open_ifc(path), str(path))
    assert ids["duct"] not in meshes
    assert ids["duct"] not in {f.global_id for f in failures}


def test_progress_reaches_total(broken_model):
    path, _ = broken_model
    calls = []
    tessellate(open_ifc(path), str(path), progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1] == 3  # two walls and the broken proxy


def test_progress_reaches_total_with_worker_processes(broken_model):
    path, _ = broken_model
    calls = []
    tessellate(open_ifc(path), str(path), processes=True, workers=2,
               progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (3, 3)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_second_load_comes_from_cache(broken_model, tmp_path, monkeypatch):
    path, ids = broken_model
    first = load_model(path, cache_dir=tmp_path)
    monkeypatch.setattr(ifc_load, "tessellate", _no_tessellation)
    monkeypatch.setattr(ifc_load, "open_ifc", _no_tessellation)
    second = load_model(path, cache_dir=tmp_path)
    assert second.elements.keys() == first.elements.keys()
    for gid, element in first.elements.items():
        other = second.elements[gid]
        assert other.bbox == element.bbox
        assert other.properties == element.properties
        assert other.quantities == element.quantities
        assert other.materials == element.materials and other.systems == element.systems
    for gid, mesh in first.meshes.items():
        assert np.array_equal(second.meshes[gid].vertices, mesh.vertices)
        assert np.array_equal(second.meshes[gid].faces, mesh.faces)
    assert second.geometry_failures == first.geometry_failures
    assert second.files == first.files


def test_corrupt_cache_entry_is_rebuilt(broken_model, tmp_path):
    path, ids = broken_model
    load_model(path, cache_dir=tmp_path)
    entries = sorted(tmp_path.iterdir())
    assert {e.name.split("-")[0] for e in entries} == {"records", "meshes", "latest", "index"}
    for entry in entries:
        entry.write_bytes(b"garbage" * 10)
    model = load_model(path, cache_dir=tmp_path)
    assert ids["wall1"] in model.meshes
    assert model.elements[ids["wall1"]].properties["Twin_Test.Offset"] == pytest.approx(0.25)
    assert all(e.read_bytes() != b"garbage" * 10 for e in tmp_path.iterdir())  # rewritten


def test_changed_settings_use_another_cache_entry(broken_model, tmp_path):
    path, _ = broken_model
    load_model(path, cache_dir=tmp_path)
    load_model(path, cache_dir=tmp_path, settings={"weld-vertices": False})
    assert len(list(tmp_path.glob("meshes-*.npz"))) == 2
    assert len(list(tmp_path.glob("records-*.json"))) == 1


def test_no_cache_writes_nothing(broken_model, tmp_path):
    path, ids = broken_model
    model = load_model(path, cache_dir=tmp_path / "c", use_cache=False)
    assert ids["wall1"] in model.meshes
    assert not (tmp_path / "c").exists()


def test_unwritable_cache_is_not_fatal(broken_model, tmp_path):
    path, ids = broken_model
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    model = load_model(path, cache_dir=blocker / "cache")
    assert ids["wall1"] in model.meshes


def test_geometry_false_gives_records_without_boxes(broken_model, tmp_path):
    path, ids = broken_model
    model = load_model(path, cache_dir=tmp_path, geometry=False)
    assert model.meshes == {}
    assert model.elements[ids["wall1"]].bbox is None
    assert model.elements[ids["wall1"]].has_body


def test_cache_key_depends_on_file_content(tmp_path):
    assert ifc_cache.entry_key("a" * 64, "meshes") != ifc_cache.entry_key("b" * 64, "meshes")
    assert ifc_cache.entry_key("a" * 64, "meshes", "s1") != ifc_cache.entry_key("a" * 64, "meshes", "s2")


def test_default_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "tc"))
    assert ifc_cache.default_cache_dir() == tmp_path / "tc"


def test_unknown_geometry_setting_is_named(broken_model):
    path, _ = broken_model
    with pytest.raises(ValueError, match="no-such-setting"):
        tessellate(open_ifc(path), str(path), settings={"no-such-setting": True})


def test_process_pool_failure_falls_back_to_threads(broken_model, monkeypatch):
    """If worker processes cannot be started, the meshes come from threads in this process."""
    from twin.ifc import parallel

    class NoProcesses:
        def __init__(self, *args, **kwargs):
            raise OSError("no processes allowed here")

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", NoProcesses)
    path, ids = broken_model
    meshes, failures = tessellate(open_ifc(path), str(path), processes=True, workers=2)
    assert {ids["wall1"], ids["wall2"]} <= meshes.keys()
    assert [f.global_id for f in failures] == [ids["broken"]]


def test_spawned_workers_reopen_the_file_by_path(broken_model, monkeypatch):
    from twin.ifc import parallel

    monkeypatch.setattr(parallel, "_context", lambda ifc_file: parallel.mp.get_context("spawn"))
    path, ids = broken_model
    packed = parallel.tessellate_in_processes(
        str(path), [open_ifc(path).by_guid(ids["wall1"]).id()], settings=None, workers=2
    )
    assert list(packed) == [ids["wall1"]] and packed[ids["wall1"]].n_triangles == 12


@pytest.mark.slow
def test_processes_and_threads_give_identical_meshes():
    path = shared_path("samples", "ifc", "Duplex_A_20110907.ifc")
    ifc_file = open_ifc(path)
    by_processes, failures_p = tessellate(ifc_file, str(path), processes=True, workers=2)
    by_threads, failures_t = tessellate(ifc_file, str(path), processes=False, workers=2)
    assert by_processes.keys() == by_threads.keys() and len(by_threads) == 215
    for gid, mesh in by_threads.items():
        assert np.array_equal(by_processes[gid].vertices, mesh.vertices)
        assert np.array_equal(by_processes[gid].faces, mesh.faces)
    assert failures_p == failures_t == []


# -- real files ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_models(tmp_path_factory):
    if not SAMPLES:
        pytest.skip(f"{SHARED}/samples is absent (../shared is only guaranteed in CI)")
    cache = tmp_path_factory.mktemp("cache")
    return {p.name: load_model(p, cache_dir=cache) for p in SAMPLES}, cache


@pytest.mark.slow
@pytest.mark.parametrize("name", [p.name for p in SAMPLES] or ["absent"])
def test_meshes_exist_for_99_percent_of_body_elements(sample_models, name):
    models, _ = sample_models
    model = models[name]
    body = [e for e in model.elements.values() if e.has_body]
    meshed = [e for e in body if e.global_id in model.meshes]
    assert len(meshed) >= 0.99 * len(body)
    assert all(e.bbox is not None for e in meshed)
    assert {f.global_id for f in model.geometry_failures} == {e.global_id for e in body} - {e.global_id for e in meshed}


@pytest.mark.slow
@pytest.mark.parametrize("name", [p.name for p in SAMPLES] or ["absent"])
def test_model_box_is_building_sized_in_metres(sample_models, name):
    models, _ = sample_models
    lo, hi = models[name].bbox
    size = np.subtract(hi, lo)
    assert 1.0 < size.max() < 300.0, size  # a building in metres, not millimetres


@pytest.mark.slow
def test_beam_boxes_match_their_length_quantity_in_a_mm_file(sample_models):
    """Mini_Project is in millimetres: the box of a straight beam is as long as its BaseQuantities.Length."""
    models, _ = sample_models
    model = models["Mini_Project_steel.ifc"]
    assert model.files[0].length_scale == pytest.approx(0.001)
    ratios = []
    for element in model.elements.values():
        length = element.quantities.get("BaseQuantities.Length")
        if element.ifc_class == "IfcBeam" and length and element.bbox is not None:
            extent = float(np.max(np.subtract(element.bbox[1], element.bbox[0])))
            ratios.append(extent / length)
    assert len(ratios) > 500
    assert np.median(ratios) == pytest.approx(1.0, abs=0.02)


@pytest.mark.slow
def test_elements_sit_on_their_storeys(sample_models):
    """Duplex: each element's box overlaps the band between its storey and the next one (metres)."""
    models, _ = sample_models
    model = models["Duplex_A_20110907.ifc"]
    levels = sorted(s.elevation for s in model.storeys)
    elevation = {s.global_id: s.elevation for s in model.storeys}
    checked = 0
    for element in model.elements.values():
        if element.bbox is None or element.storey_id is None:
            continue
        base = elevation[element.storey_id]
        above = [lv for lv in levels if lv > base + 0.01]
        top = above[0] if above else base + 10.0
        assert element.bbox[1][2] >= base - 2.0 and element.bbox[0][2] <= top + 0.5, element.global_id
        checked += 1
    assert checked > 150


@pytest.mark.slow
def test_revit_star_names_are_repaired_and_meshed(sample_models):
    """House.ifc writes '*' in Name; the kernel refuses such elements until the marker is nulled."""
    models, _ = sample_models
    model = models["House.ifc"]
    windows = [e for e in model.elements.values() if e.ifc_class == "IfcWindow"]
    assert len(windows) == 23
    assert all(w.global_id in model.meshes for w in windows)


@pytest.mark.slow
def test_hvac_flue_meets_the_chimney_in_the_federated_set(sample_models):
    """PCERT: the HVAC flue duct and the structural chimney overlap (MANIFEST notes this clash)."""
    models, cache = sample_models
    names = ["PCERT_Building-Structural.ifc", "PCERT_Building-Hvac.ifc"]
    model = load_model([shared_path("samples", "ifc", n) for n in names], cache_dir=cache)
    duct = next(e for e in model.elements.values() if e.ifc_class == "IfcDuctSegment")
    chimney = next(e for e in model.elements.values() if e.ifc_class == "IfcChimney")
    (a_lo, a_hi), (b_lo, b_hi) = duct.bbox, chimney.bbox
    assert all(a_lo[i] <= b_hi[i] and b_lo[i] <= a_hi[i] for i in range(3))
    assert [f.path for f in model.files] == [str(shared_path("samples", "ifc", n)) for n in names]


@pytest.mark.slow
def test_warm_reload_of_a_real_file_equals_cold(sample_models, monkeypatch):
    models, cache = sample_models
    cold = models["Duplex_A_20110907.ifc"]
    monkeypatch.setattr(ifc_load, "tessellate", _no_tessellation)
    warm = load_model(shared_path("samples", "ifc", "Duplex_A_20110907.ifc"), cache_dir=cache)
    assert warm.elements.keys() == cold.elements.keys()
    assert all(warm.elements[g].bbox == e.bbox for g, e in cold.elements.items())
    assert all(warm.elements[g].properties == e.properties for g, e in cold.elements.items())
    assert all(np.array_equal(warm.meshes[g].vertices, m.vertices) for g, m in cold.meshes.items())
