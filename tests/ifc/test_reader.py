"""twin.ifc reader: element selection, records, SI units, and errors on bad files.

Unit tests use a small IFC4 model in millimetres built with ifcopenshell.api (tests/ifc/small_models.py);
validation tests run on the real files in ../shared/samples and compare with ifcopenshell's own
utilities (by_type counts, get_local_placement, get_psets), which twin's reader does not call.
"""
from __future__ import annotations

from pathlib import Path

import pytest

ifcopenshell = pytest.importorskip("ifcopenshell")
import ifcopenshell.util.element  # noqa: E402
import ifcopenshell.util.placement  # noqa: E402
import numpy as np  # noqa: E402

from tests.conftest import SHARED, shared_path  # noqa: E402
from tests.ifc.small_models import build_small_model  # noqa: E402
from twin.errors import IfcReadError, MissingFileError  # noqa: E402
from twin.ifc import load_model, open_ifc, read_file, select_elements  # noqa: E402

SAMPLE_FILES = sorted(
    [*(SHARED / "samples" / "ifc").glob("*.ifc"), *(SHARED / "samples" / "ifc4d").glob("*.ifc")]
) or [pytest.param(None, marks=pytest.mark.skip(reason=f"{SHARED}/samples is absent"))]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp("small") / "small.ifc"
    ids = build_small_model(path)
    return path, ids


@pytest.fixture(scope="module")
def small_records(small):
    path, ids = small
    return {e.global_id: e for e in read_file(open_ifc(path), path).elements}, ids


def independent_count(ifc_file) -> int:
    """IfcElement minus feature and virtual elements, counted with by_type set arithmetic."""
    everything = {e.id() for e in ifc_file.by_type("IfcElement")}
    features = {e.id() for e in ifc_file.by_type("IfcFeatureElement")}
    virtual = {e.id() for e in ifc_file.by_type("IfcVirtualElement")}
    return len(everything - features - virtual)


# -- small model -------------------------------------------------------------------------------
def test_feature_and_virtual_elements_are_not_elements(small_records):
    elements, ids = small_records
    assert ids["opening"] not in elements
    assert ids["virtual"] not in elements
    assert set(elements) == {ids["wall1"], ids["wall2"], ids["duct"]}


def test_occurrence_property_overrides_type_property(small_records):
    elements, ids = small_records
    assert elements[ids["wall1"]].properties["Pset_WallCommon.FireRating"] == "REI90"
    assert elements[ids["wall2"]].properties["Pset_WallCommon.FireRating"] == "REI60"
    assert elements[ids["wall2"]].properties["Pset_WallCommon.IsExternal"] is True


def test_length_measure_property_is_converted_to_metres(small_records):
    elements, ids = small_records
    assert elements[ids["wall1"]].properties["Twin_Test.Offset"] == pytest.approx(0.25)


def test_quantities_are_in_si_units(small_records):
    elements, ids = small_records
    q = elements[ids["wall1"]].quantities
    assert q["Qto_WallBaseQuantities.Length"] == pytest.approx(5.0)  # 5000 mm
    assert q["Qto_WallBaseQuantities.NetSideArea"] == pytest.approx(15.0)  # declared m2
    assert q["Qto_WallBaseQuantities.NetVolume"] == pytest.approx(3.0)  # declared m3


def test_storey_container_material_and_type(small_records):
    elements, ids = small_records
    wall = elements[ids["wall1"]]
    assert wall.storey == "Level 1"
    assert wall.container == wall.storey_id
    assert wall.materials == ("Concrete",)
    assert wall.predefined_type == "SOLID"
    assert wall.has_body


def test_mep_element_carries_its_system(small_records):
    elements, ids = small_records
    duct = elements[ids["duct"]]
    assert duct.systems == ("Supply air",)
    assert duct.predefined_type == "RIGIDSEGMENT"
    assert not duct.has_body


def test_placement_is_world_origin_in_metres(small_records):
    elements, ids = small_records
    assert elements[ids["wall2"]].placement == pytest.approx((6.0, 1.0, 3.0))


def test_storey_elevation_in_metres(small):
    path, _ = small
    records = read_file(open_ifc(path), path)
    assert [(s.name, s.elevation) for s in records.storeys] == [("Level 1", pytest.approx(3.0))]
    assert records.file.length_unit == "MILLIMETRE"
    assert records.file.length_scale == pytest.approx(0.001)


# -- bad input -------------------------------------------------------------------------------
def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(MissingFileError, match="nothere.ifc"):
        open_ifc(tmp_path / "nothere.ifc")


def test_text_file_is_not_ifc(tmp_path):
    bad = tmp_path / "notes.ifc"
    bad.write_text("just some notes\n")
    with pytest.raises(IfcReadError, match=r"notes\.ifc: not an IFC file"):
        open_ifc(bad)


def test_empty_file_is_rejected(tmp_path):
    bad = tmp_path / "empty.ifc"
    bad.write_bytes(b"")
    with pytest.raises(IfcReadError, match="empty"):
        open_ifc(bad)


def test_directory_is_rejected(tmp_path):
    with pytest.raises(IfcReadError, match="directory"):
        open_ifc(tmp_path)


def test_truncated_file_is_rejected(tmp_path, small):
    path, _ = small
    data = path.read_bytes()
    cut = tmp_path / "cut.ifc"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(IfcReadError, match=r"cut\.ifc: IFC file is truncated"):
        open_ifc(cut)


def test_truncated_real_file_is_rejected(tmp_path):
    source = shared_path("samples", "ifc", "Duplex_A_20110907.ifc")
    data = source.read_bytes()
    cut = tmp_path / "Duplex_half.ifc"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(IfcReadError, match="Duplex_half.ifc: IFC file is truncated"):
        load_model(cut, use_cache=False)


def test_unknown_schema_is_named(tmp_path, small):
    path, _ = small
    text = path.read_text().replace("FILE_SCHEMA(('IFC4'))", "FILE_SCHEMA(('IFC5'))")
    assert "IFC5" in text
    other = tmp_path / "future.ifc"
    other.write_text(text)
    with pytest.raises(IfcReadError, match=r"future\.ifc: unknown IFC schema.*IFC5"):
        open_ifc(other)


def test_ifczip_is_read(small, tmp_path):
    import zipfile

    path, ids = small
    packed = tmp_path / "small.ifczip"
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(path, "small.ifc")
    records = read_file(open_ifc(packed), packed)
    assert {e.global_id for e in records.elements} == {ids["wall1"], ids["wall2"], ids["duct"]}


def test_broken_ifczip_is_an_ifc_read_error(tmp_path):
    bad = tmp_path / "model.ifczip"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(IfcReadError, match=r"model\.ifczip: cannot be read as IFC"):
        open_ifc(bad)


def test_damaged_line_is_reported_with_its_line_number(small, tmp_path):
    path, _ = small
    text = path.read_text()
    damaged = text.replace("IFCWALL(", "IFCWALL(((garbage", 1)
    line = next(i for i, row in enumerate(damaged.splitlines(), 1) if "garbage" in row)
    bad = tmp_path / "damaged.ifc"
    bad.write_text(damaged)
    model = load_model(bad, use_cache=False, geometry=False)
    assert "parse error" in model.warnings[0] and "elements may be missing" in model.warnings[0]
    assert any(w.startswith(f"{bad} line {line}: ") and "garbage" in w for w in model.warnings)


def test_clean_file_has_no_parse_warnings(small):
    path, _ = small
    assert load_model(path, use_cache=False, geometry=False).warnings == ()


# -- real files --------------------------------------------------------------------------------
@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: getattr(p, "name", "absent"))
def test_element_count_matches_independent_count(path):
    ifc_file = ifcopenshell.open(str(path))
    records = read_file(open_ifc(path), path)
    assert len(records.elements) == independent_count(ifc_file) > 0
    assert len({e.global_id for e in records.elements}) == len(records.elements)


@pytest.mark.parametrize(
    ("name", "unit", "scale"),
    [
        ("House.ifc", "MILLIMETRE", 0.001),
        ("Mini_Project_steel.ifc", "MILLIMETRE", 0.001),
        ("Duplex_A_20110907.ifc", "METRE", 1.0),
        ("Office_A_20110811.ifc", "METRE", 1.0),
    ],
)
def test_declared_length_unit_is_read(name, unit, scale):
    path = shared_path("samples", "ifc", name)
    records = read_file(open_ifc(path), path)
    assert (records.file.length_unit, records.file.length_scale) == (unit, pytest.approx(scale))


def test_inch_file_is_converted_to_metres():
    path = shared_path("samples", "ifc4d", "construction-scheduling-task.ifc")
    ifc_file = open_ifc(path)
    records = read_file(ifc_file, path)
    assert records.file.length_scale == pytest.approx(0.0254)
    by_id = {e.GlobalId: e for e in select_elements(ifc_file)}
    for element in records.elements:
        raw = ifcopenshell.util.placement.get_local_placement(by_id[element.global_id].ObjectPlacement)
        assert element.placement == pytest.approx(tuple(raw[:3, 3] * 0.0254))


@pytest.mark.parametrize("name", ["AC20-FZK-Haus.ifc", "Mini_Project_steel.ifc", "House.ifc"])
def test_placements_match_ifcopenshell(name):
    path = shared_path("samples", "ifc", name)
    ifc_file = open_ifc(path)
    records = read_file(ifc_file, path)
    scale = records.file.length_scale
    by_id = {e.GlobalId: e for e in select_elements(ifc_file)}
    for element in records.elements:
        entity = by_id[element.global_id]
        expected = ifcopenshell.util.placement.get_local_placement(entity.ObjectPlacement)[:3, 3] * scale
        assert np.allclose(element.placement, expected, atol=1e-9), element.global_id


def test_single_value_properties_match_get_psets():
    """Duplex is in metres, so single values must equal ifcopenshell's get_psets exactly."""
    path = shared_path("samples", "ifc", "Duplex_A_20110907.ifc")
    ifc_file = open_ifc(path)
    records = {e.global_id: e for e in read_file(ifc_file, path).elements}
    checked = 0
    for entity in select_elements(ifc_file):
        psets = ifcopenshell.util.element.get_psets(entity, psets_only=True)
        for pset_name, props in psets.items():
            for prop_name, value in props.items():
                if prop_name == "id" or isinstance(value, (dict, list)):
                    continue
                got = records[entity.GlobalId].properties[f"{pset_name}.{prop_name}"]
                assert got == pytest.approx(value) if isinstance(value, float) else got == value
                checked += 1
    assert checked > 1000


def test_quantities_match_get_psets_times_unit_scale():
    """Mini_Project declares mm lengths, m2 areas, m3 volumes, kg masses."""
    path = shared_path("samples", "ifc", "Mini_Project_steel.ifc")
    ifc_file = open_ifc(path)
    records = {e.global_id: e for e in read_file(ifc_file, path).elements}
    scale = {"IfcQuantityLength": 0.001, "IfcQuantityArea": 1.0, "IfcQuantityVolume": 1.0, "IfcQuantityWeight": 1.0}
    checked = 0
    for entity in select_elements(ifc_file)[:400]:
        for rel in entity.IsDefinedBy:
            qto = getattr(rel, "RelatingPropertyDefinition", None)
            if qto is None or not qto.is_a("IfcElementQuantity"):
                continue
            for q in qto.Quantities:
                if q.is_a() in scale:
                    got = records[entity.GlobalId].quantities[f"{qto.Name}.{q.Name}"]
                    assert got == pytest.approx(q[3] * scale[q.is_a()])
                    checked += 1
    assert checked > 100


def test_every_element_of_a_storeyed_file_has_a_storey():
    path = shared_path("samples", "ifc", "Duplex_A_20110907.ifc")
    ifc_file = open_ifc(path)
    records = read_file(ifc_file, path)
    storey_names = {s.name for s in records.storeys}
    for element in records.elements:
        entity = ifc_file.by_guid(element.global_id)
        expected = ifcopenshell.util.element.get_container(entity, ifc_class="IfcBuildingStorey")
        assert element.storey_id == (expected.GlobalId if expected else None)
        assert element.storey is None or element.storey in storey_names


def test_tekla_materials_are_read():
    path = shared_path("samples", "ifc", "Mini_Project_steel.ifc")
    ifc_file = open_ifc(path)
    records = read_file(ifc_file, path)
    for element in records.elements[:300]:
        entity = ifc_file.by_guid(element.global_id)
        expected = {m.Name for m in ifcopenshell.util.element.get_materials(entity) if m.Name}
        assert set(element.materials) == expected, element.global_id


def test_hvac_elements_belong_to_their_system():
    path = shared_path("samples", "ifc", "PCERT_Building-Hvac.ifc")
    records = read_file(open_ifc(path), path)
    in_systems = [e for e in records.elements if e.systems]
    assert {e.ifc_class for e in in_systems} >= {"IfcDuctSegment", "IfcAirTerminal"}


def test_read_file_accepts_path_objects(small):
    path, _ = small
    assert read_file(open_ifc(Path(path)), Path(path)).file.path == str(path)


def test_damaged_line_is_reported_after_ifcopenshell_validate_changed_the_log_format(small, tmp_path):
    import ifcopenshell.validate

    path, _ = small
    ifcopenshell.validate.validate(str(path), ifcopenshell.validate.json_logger())   # leaves the log in JSON
    bad = tmp_path / "damaged.ifc"
    bad.write_text(path.read_text().replace("IFCWALL(", "IFCWALL(((garbage", 1))
    model = load_model(bad, use_cache=False, geometry=False)
    assert model.warnings and "parse error" in model.warnings[0]
