"""The demo-building generator: counts, IFC validity, determinism, and the design manifest checked
against IfcOpenShell's own validator and geometry tree (code this project did not write)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

ifcopenshell = pytest.importorskip("ifcopenshell")
import ifcopenshell.geom  # noqa: E402
import ifcopenshell.util.element  # noqa: E402
import ifcopenshell.validate  # noqa: E402

from tests.conftest import ROOT  # noqa: E402
from twin.errors import InputError  # noqa: E402
from twin.ifc.generate import (  # noqa: E402
    DEFAULT_SAMPLE_ARGS,
    BuildingSpec,
    count_elements,
    describe_building,
    generate_building,
    generate_for_elements,
    plan_building,
    size_for_elements,
)

SMALL = dict(storeys=3, bays=(3, 2))
SAMPLE = ROOT / "samples" / "demo_building.ifc"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp("gen") / "small.ifc"
    summary = generate_building(path, **SMALL)
    return summary, ifcopenshell.open(str(path))


@pytest.fixture(scope="module")
def tree(small):
    """IfcOpenShell's BVH clash tree over every element of the small building."""
    _, f = small
    t = ifcopenshell.geom.tree(backend="opencascade.trianglebvh")
    it = ifcopenshell.geom.iterator(ifcopenshell.geom.settings(), f, 1)
    assert it.initialize()
    while True:
        t.add_element(it.get())
        if not it.next():
            break
    return t


def _validate(path_or_file, express_rules: bool = True) -> list[dict]:
    logger = ifcopenshell.validate.json_logger()
    ifcopenshell.validate.validate(path_or_file, logger, express_rules=express_rules)
    return [s for s in logger.statements if s["level"] == "error"]


# -- counts and sizing ----------------------------------------------------------------------------


@pytest.mark.parametrize("storeys,bays,mep,stairs", [
    (1, (2, 1), True, True), (1, (3, 1), True, True), (2, (2, 2), True, True), (4, (4, 3), True, True),
    (5, (6, 4), False, True), (3, (5, 5), True, False), (7, (3, 2), True, True),
])
def test_count_elements_predicts_the_layout(storeys, bays, mep, stairs):
    layout = plan_building(BuildingSpec(storeys=storeys, bays=bays, mep=mep, stairs=stairs))
    assert len(layout.parts) == count_elements(storeys, bays, mep=mep, stairs=stairs)
    assert len({p.key for p in layout.parts}) == len(layout.parts)


@pytest.mark.parametrize("target", [50, 435, 2_000, 20_000, 50_000])
def test_size_for_elements_hits_the_target_within_two_percent(target):
    storeys, bays = size_for_elements(target)
    assert abs(count_elements(storeys, bays) - target) <= max(5, 0.02 * target)


def test_a_fifty_element_building_is_about_fifty_elements(tmp_path):
    s = generate_for_elements(tmp_path / "fifty.ifc", 50)
    assert 45 <= s.elements <= 55
    assert s.by_class["IfcColumn"] > 0 and s.by_class["IfcDuctSegment"] > 0


def test_small_building_counts_by_class_and_storey(small):
    s, f = small
    assert s.elements == count_elements(3, (3, 2)) == len(f.by_type("IfcElement"))
    assert dict(Counter(e.is_a() for e in f.by_type("IfcElement"))) == dict(s.by_class)
    nodes = 4 * 3
    assert s.by_class["IfcFooting"] == nodes
    assert s.by_class["IfcColumn"] == 3 * nodes
    assert s.by_class["IfcBeam"] == 3 * (3 * 3 + 4 * 2)
    assert s.by_class["IfcSlab"] == 4 * 6
    assert s.by_class["IfcStairFlight"] == s.by_class["IfcStair"] == 2
    assert sum(s.by_storey.values()) == s.elements


# -- the IFC file ------------------------------------------------------------------------------


def test_small_building_passes_ifcopenshell_validate_with_express_rules(small):
    errors = _validate(small[0].path)
    assert errors == [], errors[:5]


def test_validation_harness_reports_a_broken_file(small, tmp_path):
    """The validator used above does find errors when there are some (a duplicated GlobalId, a
    missing required attribute), so its silence on our files means something."""
    f = ifcopenshell.open(small[0].path)
    cols = f.by_type("IfcColumn")
    cols[1].GlobalId = cols[0].GlobalId
    f.by_type("IfcRelContainedInSpatialStructure")[0].RelatingStructure = None
    broken = tmp_path / "broken.ifc"
    f.write(str(broken))
    messages = " ".join(e["message"] for e in _validate(str(broken), express_rules=False))
    assert "GlobalId should be unique" in messages
    assert "not optional" in messages.lower()


def test_storeys_are_named_elevated_and_hold_every_element(small):
    s, f = small
    storeys = sorted(f.by_type("IfcBuildingStorey"), key=lambda st: st.Elevation)
    assert [(st.Name, st.Elevation) for st in storeys] == [
        ("Level 00", 0.0), ("Level 01", 3.6), ("Level 02", 7.2), ("Roof", 10.8)]
    for el in f.by_type("IfcElement"):
        container = ifcopenshell.util.element.get_container(el)
        assert container is not None and container.is_a("IfcBuildingStorey"), el


def test_units_are_metres_and_kilograms(small):
    _, f = small
    units = {u.UnitType: (u.Prefix, u.Name) for u in f.by_type("IfcSIUnit")}
    assert units["LENGTHUNIT"] == (None, "METRE")
    assert units["MASSUNIT"] == ("KILO", "GRAM")


def test_every_element_with_a_body_has_volume_area_and_weight_quantities(small):
    _, f = small
    for el in f.by_type("IfcElement"):
        qtos = {k: v for k, v in ifcopenshell.util.element.get_psets(el, qtos_only=True).items()}
        if el.is_a("IfcStair"):
            continue     # an aggregate: its flight carries the quantities
        assert len(qtos) == 1, el
        (name, q), = qtos.items()
        assert name == f"Qto_{el.is_a()[3:]}BaseQuantities", (el, name)
        if el.is_a("IfcRoof"):
            assert q["GrossArea"] > 0
            continue
        assert any(k.endswith("Volume") and v > 0 for k, v in q.items()), (el, q)
        assert any(k.endswith("Area") and v > 0 for k, v in q.items()), (el, q)
        assert q["NetWeight"] > 0 and q["GrossWeight"] >= q["NetWeight"], (el, q)


def test_weight_is_volume_times_density(small):
    _, f = small
    col = f.by_type("IfcColumn")[0]
    q = ifcopenshell.util.element.get_psets(col)["Qto_ColumnBaseQuantities"]
    assert q["NetWeight"] == pytest.approx(q["NetVolume"] * 2500.0)
    assert q["NetVolume"] == pytest.approx(0.4 * 0.4 * q["Length"])


def test_elements_carry_common_psets_materials_types_and_sequencing_properties(small):
    _, f = small
    for el in f.by_type("IfcElement"):
        psets = ifcopenshell.util.element.get_psets(el, psets_only=True)
        assert psets["Twin_Sequencing"]["Zone"] in ("Zone 1", "Zone 2"), el
        if el.is_a() in ("IfcColumn", "IfcBeam", "IfcSlab", "IfcWall", "IfcFooting"):
            assert psets[f"Pset_{el.is_a()[3:]}Common"]["LoadBearing"] in (True, False)
            assert psets["Pset_ConcreteElementGeneral"]["StrengthClass"].startswith("C")
            assert ifcopenshell.util.element.get_type(el) is not None
        if el.Representation is not None:
            assert ifcopenshell.util.element.get_material(el) is not None, el


def test_mep_segments_are_grouped_in_distribution_systems(small):
    _, f = small
    systems = {s.Name: s for s in f.by_type("IfcDistributionSystem")}
    assert {n: s.PredefinedType for n, s in systems.items()} == {
        "Supply Air": "VENTILATION", "Extract Air": "EXHAUST", "Chilled Water": "CHILLEDWATER",
        "Domestic Cold Water": "DOMESTICCOLDWATER"}
    segments = f.by_type("IfcDuctSegment") + f.by_type("IfcPipeSegment")
    grouped = [o for s in systems.values() for rel in s.IsGroupedBy for o in rel.RelatedObjects]
    assert sorted(e.id() for e in grouped) == sorted(e.id() for e in segments)


def test_mep_runs_are_chains_of_segments_connected_by_ports(small):
    import ifcopenshell.util.placement
    import ifcopenshell.util.system

    _, f = small
    segments = f.by_type("IfcDuctSegment") + f.by_type("IfcPipeSegment")
    starts = [s for s in segments if not ifcopenshell.util.system.get_connected_from(s)]
    assert len(starts) == 4 * 3                      # 4 runs in the one MEP row, 3 storeys
    walked = 0
    for seg in starts:
        system = ifcopenshell.util.system.get_element_systems(seg)[0]
        while seg is not None:
            walked += 1
            assert ifcopenshell.util.system.get_element_systems(seg)[0] == system
            ports = ifcopenshell.util.system.get_ports(seg)
            assert sorted(p.FlowDirection for p in ports) == ["SINK", "SOURCE"]
            nxt = ifcopenshell.util.system.get_connected_to(seg)
            if nxt:
                (n,) = nxt
                out = next(p for p in ports if p.FlowDirection == "SOURCE")
                inlet = next(p for p in ifcopenshell.util.system.get_ports(n) if p.FlowDirection == "SINK")
                a = ifcopenshell.util.placement.get_local_placement(out.ObjectPlacement)[:3, 3]
                b = ifcopenshell.util.placement.get_local_placement(inlet.ObjectPlacement)[:3, 3]
                assert a == pytest.approx(b), (seg.Name, n.Name)
            seg = nxt[0] if nxt else None
    assert walked == len(segments)


def test_grid_has_one_axis_per_grid_line(small):
    _, f = small
    (grid,) = f.by_type("IfcGrid")
    assert [a.AxisTag for a in grid.UAxes] == ["1", "2", "3", "4"]
    assert [a.AxisTag for a in grid.VAxes] == ["A", "B", "C"]


def test_representations_are_shared_through_representation_maps(small):
    s, f = small
    maps = f.by_type("IfcRepresentationMap")
    assert 0 < len(maps) < s.elements / 3
    for el in f.by_type("IfcElement"):
        if el.Representation:
            (rep,) = el.Representation.Representations
            assert rep.RepresentationType == "MappedRepresentation"


# -- determinism and the bundled sample ---------------------------------------------------------


def test_same_arguments_give_the_same_bytes(tmp_path):
    a, b = tmp_path / "a" / "x.ifc", tmp_path / "b" / "x.ifc"
    a.parent.mkdir()
    b.parent.mkdir()
    generate_building(a, storeys=2, bays=(2, 2))
    generate_building(b, storeys=2, bays=(2, 2))
    assert a.read_bytes() == b.read_bytes()


def test_another_seed_gives_other_global_ids_and_the_same_building(tmp_path):
    s0 = generate_building(tmp_path / "s0.ifc", storeys=2, bays=(2, 2), seed=0)
    s1 = generate_building(tmp_path / "s1.ifc", storeys=2, bays=(2, 2), seed=1)
    assert s0.by_class == s1.by_class
    assert not set(s0.global_ids.values()) & set(s1.global_ids.values())


def _data_section(path: Path) -> bytes:
    text = path.read_bytes()
    return text[text.index(b"DATA;"):]


def test_bundled_sample_is_what_the_generator_makes_now(tmp_path):
    if not SAMPLE.is_file():
        pytest.skip(f"{SAMPLE} is absent")
    fresh = tmp_path / SAMPLE.name
    generate_building(fresh, **DEFAULT_SAMPLE_ARGS)
    assert _data_section(fresh) == _data_section(SAMPLE), (
        "samples/demo_building.ifc is stale: regenerate it with `twin sample -o samples`")
    assert SAMPLE.stat().st_size < 2_000_000


def test_bundled_sample_has_the_documented_size():
    s = describe_building(SAMPLE, **DEFAULT_SAMPLE_ARGS)
    assert s.elements == 435
    assert [n for n, _ in s.storeys] == ["Level 00", "Level 01", "Level 02", "Level 03", "Roof"]
    assert len(s.clashes_expected) == 24


@pytest.mark.slow
def test_bundled_sample_passes_ifcopenshell_validate_with_express_rules():
    if not SAMPLE.is_file():
        pytest.skip(f"{SAMPLE} is absent")
    errors = _validate(str(SAMPLE))
    assert errors == [], errors[:5]


# -- the design manifest against IfcOpenShell's geometry ------------------------------------------


def _pairs(results) -> set[tuple[str, str]]:
    return {tuple(sorted((r.a.GlobalId, r.b.GlobalId))) for r in results if r.a.GlobalId != r.b.GlobalId}


def test_clash_detection_finds_exactly_the_expected_mep_beam_clashes(small, tree):
    s, f = small
    mep = f.by_type("IfcDuctSegment") + f.by_type("IfcPipeSegment")
    solids = [e for e in f.by_type("IfcElement") if e.Representation]
    found = {(r.a.GlobalId, r.b.GlobalId) for r in tree.clash_intersection_many(mep, solids, tolerance=0.002,
                                                                                 check_all=False)}
    assert found == set(s.clashes_expected)
    assert len(found) == 2 * 3 * 2          # 2 through-runs x 3 storeys x 2 interior beam lines
    assert {f.by_guid(b).is_a() for _, b in found} == {"IfcBeam"}


def test_nothing_else_overlaps(small, tree):
    s, f = small
    solids = [e for e in f.by_type("IfcElement") if e.Representation]
    overlaps = _pairs(tree.clash_intersection_many(solids, solids, tolerance=0.002, check_all=True))
    assert overlaps == {tuple(sorted(p)) for p in s.clashes_expected}


def test_designed_supports_touch_and_under_beam_runs_keep_clearance(small, tree):
    s, f = small
    solids = [e for e in f.by_type("IfcElement") if e.Representation]
    touching = _pairs(tree.clash_clearance_many(solids, solids, clearance=0.001, check_all=True))
    supports = {tuple(sorted(p)) for p in s.supports}
    assert supports and supports <= touching
    under = [e for e in f.by_type("IfcDuctSegment") + f.by_type("IfcPipeSegment")
             if e.Name.startswith(("Supply Air", "Domestic Cold Water"))]
    beams = f.by_type("IfcBeam")
    assert not _pairs(tree.clash_clearance_many(under, beams, clearance=0.09, check_all=True))


def test_every_column_and_beam_and_slab_is_supported(small):
    s, f = small
    supported = {a for a, _ in s.supports}
    for cls in ("IfcColumn", "IfcBeam", "IfcSlab", "IfcWall", "IfcStairFlight"):
        for el in f.by_type(cls):
            assert el.GlobalId in supported, el


def test_layout_boxes_match_the_tessellated_geometry(small):
    """Placements, directions and profiles as written give the boxes the layout intends."""
    s, f = small
    layout = plan_building(BuildingSpec(**SMALL))
    want = {s.global_ids[p.key]: layout.world_bounds(p) for p in layout.parts if p.shape is not None}
    settings = ifcopenshell.geom.settings()
    settings.set("use-world-coords", True)
    it = ifcopenshell.geom.iterator(settings, f, 1)
    assert it.initialize()
    seen = 0
    while True:
        shape = it.get()
        v = shape.geometry.verts
        xs, ys, zs = v[0::3], v[1::3], v[2::3]
        lo, hi = want[shape.guid]
        assert (min(xs), min(ys), min(zs)) == pytest.approx(lo, abs=2e-3), shape.guid
        assert (max(xs), max(ys), max(zs)) == pytest.approx(hi, abs=2e-3), shape.guid
        seen += 1
        if not it.next():
            break
    assert seen == len(want)


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs,match", [
    (dict(bays=(1, 1)), "bays must be at least 2 x 1"),
    (dict(storeys=0), "storeys must be >= 1"),
    (dict(zones=9), "zones must be between 1"),
    (dict(storey_height=2.0), "storey_height must be >="),
    (dict(bay_width=(5.0, 6.0)), "too small for the stair"),
    (dict(bay_width=(7.5, 4.0)), "to fit the MEP runs"),
    (dict(bays=("a", 2)), "pairs of numbers"),
])
def test_bad_parameters_raise_input_error_naming_the_parameter(tmp_path, kwargs, match):
    with pytest.raises(InputError, match=match):
        generate_building(tmp_path / "x.ifc", **kwargs)
    assert not list(tmp_path.iterdir())


def test_missing_output_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="output folder does not exist"):
        generate_building(tmp_path / "nope" / "x.ifc")


def test_small_bays_work_without_stairs_and_mep(tmp_path):
    s = generate_building(tmp_path / "x.ifc", storeys=2, bays=(2, 1), bay_width=(4.0, 4.0), mep=False,
                          stairs=False)
    assert "IfcStairFlight" not in s.by_class and "IfcDuctSegment" not in s.by_class
    assert s.clashes_expected == ()


def test_the_ifc_reader_loads_the_building_with_storeys_quantities_and_systems(small, tmp_path):
    load_model = pytest.importorskip("twin.ifc").load_model
    s, _ = small
    model = load_model(s.path, cache_dir=tmp_path / "cache")
    assert len(model.elements) == s.elements
    assert [st.name for st in model.storeys] == [n for n, _ in s.storeys]
    duct = next(e for e in model.elements.values() if e.ifc_class == "IfcDuctSegment")
    assert duct.systems and duct.quantities["Qto_DuctSegmentBaseQuantities.Length"] > 0
    assert not model.geometry_failures



@pytest.mark.slow
def test_a_twenty_thousand_element_building_has_what_the_summary_says(tmp_path):
    s = generate_for_elements(tmp_path / "big.ifc", 20_000)
    assert abs(s.elements - 20_000) <= 400
    f = ifcopenshell.open(s.path)
    elements = f.by_type("IfcElement")
    assert len(elements) == s.elements
    assert len({e.GlobalId for e in elements}) == s.elements
    assert dict(Counter(e.is_a() for e in elements)) == dict(s.by_class)
    assert len(f.by_type("IfcRepresentationMap")) < 100           # shapes shared, not per element
    assert Path(s.path).stat().st_size < 20_000 * 500               # under ~0.5 kB per element
