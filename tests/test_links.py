"""Link rules, explicit link lists and the link report, on inline records; zones."""
from __future__ import annotations

import pytest

from twin.errors import InputError, MissingFileError
from twin.links import LinkRule, Links, apply_rules, read_link_csv, rules_from_config, write_link_csv
from twin.model import BuildingModel, Element, Storey
from twin.schedule import Activity, ActivityType, Schedule
from twin.zones import Zone, point_zone, split_zones, split_zones_of_extent


def box(x: float, y: float, z: float, d: float = 1.0):
    return ((x, y, z), (x + d, y + d, z + d))


def make_model() -> BuildingModel:
    els = [
        Element("S0", "IfcSlab", name="Slab 0", storey="Level 0", predefined_type="FLOOR", bbox=box(0, 0, 0),
                quantities={"Qto_SlabBaseQuantities.NetVolume": 12.0}, materials=("Concrete C30",)),
        Element("S1", "IfcSlab", name="Slab 1", storey="Level 1", predefined_type="FLOOR", bbox=box(12, 0, 3),
                quantities={"Qto_SlabBaseQuantities.NetVolume": 30.0}, materials=("Concrete C30",)),
        Element("W0", "IfcWallStandardCase", name="Wall ext", storey="Level 0", bbox=box(1, 1, 0),
                properties={"Pset_WallCommon.IsExternal": True}),
        Element("W1", "IfcWall", name="Wall int", storey="Level 1", bbox=box(13, 1, 3),
                properties={"Pset_WallCommon.IsExternal": False}),
        Element("D0", "IfcDoor", name="Door 1", storey="Level 0", bbox=None, systems=("Doors",)),
        Element("P0", "IfcFlowSegment", name="Pipe", storey="Level 1", bbox=box(2, 2, 3), systems=("Cold water",)),
    ]
    storeys = (Storey("st1", "Level 1", 3.0), Storey("st0", "Level 0", 0.0))
    return BuildingModel(files=(), storeys=storeys, elements={e.global_id: e for e in els})


def make_schedule(ids, **kw) -> Schedule:
    acts = {i: Activity(i, duration_h=8) for i in ids}
    acts.update({k: Activity(k, type=ActivityType.FINISH_MILESTONE) for k in kw.get("milestones", ())})
    return Schedule(activities=acts, element_links=kw.get("element_links", ()), source="sched.csv")


def test_rule_by_class_and_storey_links_only_matching_elements():
    model = make_model()
    sched = make_schedule(["SLAB-L0", "SLAB-L1"])
    links, report = apply_rules(model, sched, [LinkRule("SLAB-L0", {"class": "IfcSlab", "storey": "Level 0"})])
    assert links.pairs == (("SLAB-L0", "S0"),)
    assert report.rules[0].matched == 1 and report.rules[0].linked == 1
    assert report.empty_activities == ("SLAB-L1",)


def test_template_with_storey_index_links_many_activities():
    model = make_model()
    sched = make_schedule(["L00-SLAB", "L01-SLAB"])
    links, _ = apply_rules(model, sched, [LinkRule("L{storey_index:02d}-SLAB", {"class": "IfcSlab"})])
    assert sorted(links.pairs) == [("L00-SLAB", "S0"), ("L01-SLAB", "S1")]


def test_class_matches_ifc2x3_standard_case_variant():
    model = make_model()
    sched = make_schedule(["WALLS"])
    links, _ = apply_rules(model, sched, [LinkRule("WALLS", {"class": "IfcWall"})])
    assert set(links.elements_of("WALLS")) == {"W0", "W1"}


def test_property_criterion_with_wildcard_set():
    model = make_model()
    sched = make_schedule(["EXT"])
    links, _ = apply_rules(model, sched, [LinkRule("EXT", {"*.IsExternal": True})])
    assert links.elements_of("EXT") == ("W0",)


def test_quantity_range_selects_large_slabs():
    model = make_model()
    sched = make_schedule(["BIG"])
    rule = LinkRule("BIG", {"Qto_SlabBaseQuantities.NetVolume": {"min": 20.0}})
    links, _ = apply_rules(model, sched, [rule])
    assert links.elements_of("BIG") == ("S1",)


@pytest.mark.parametrize(
    "where, expected",
    [
        ({"material": "Concrete*"}, {"S0", "S1"}),
        ({"system": "Cold water"}, {"P0"}),
        ({"name": "Wall *"}, {"W0", "W1"}),
        ({"name_regex": r"^Door \d$"}, {"D0"}),
        ({"predefined_type": "FLOOR", "not": {"storey": "Level 1"}}, {"S0"}),
        ({"global_id": ["W1", "P0"]}, {"W1", "P0"}),
    ],
)
def test_each_criterion_selects_the_expected_elements(where, expected):
    model = make_model()
    sched = make_schedule(["A"])
    links, _ = apply_rules(model, sched, [LinkRule("A", where)])
    assert set(links.elements_of("A")) == expected


def test_zone_criterion_and_placeholder_use_bbox_centre():
    model = make_model()
    zones = split_zones_of_extent((0, 0, 20, 10), 2, axis="x")
    sched = make_schedule(["Z1-SLAB", "Z2-SLAB"])
    links, _ = apply_rules(model, sched, [LinkRule("{zone}-SLAB", {"class": "IfcSlab"})], zones=zones)
    assert sorted(links.pairs) == [("Z1-SLAB", "S0"), ("Z2-SLAB", "S1")]


def test_first_mode_links_each_element_once_and_all_mode_reports_multiples():
    model = make_model()
    sched = make_schedule(["A", "B"])
    rules = [LinkRule("A", {"class": "IfcSlab"}), LinkRule("B", {"storey": "Level 0"})]
    first, rep1 = apply_rules(model, sched, rules, mode="first")
    assert first.activities_of("S0") == ("A",)
    assert rep1.multiple == ()
    every, rep2 = apply_rules(model, sched, rules, mode="all")
    assert every.activities_of("S0") == ("A", "B")
    assert rep2.multiple == (("S0", ("A", "B")),)


def test_report_lists_unlinked_elements_and_empty_activities_but_not_milestones():
    model = make_model()
    sched = make_schedule(["A", "EMPTY"], milestones=["DONE"])
    _, report = apply_rules(model, sched, [LinkRule("A", {"class": "IfcSlab"})])
    assert set(report.unlinked) == {"W0", "W1", "D0", "P0"}
    assert set(report.unlinked_with_geometry) == {"W0", "W1", "P0"}   # the door has no box
    assert report.empty_activities == ("EMPTY",)
    d = report.to_dict()
    assert d["counts"]["linked"] == 2 and d["counts"]["unlinked"] == 4


def test_rule_matching_nothing_is_a_warning_naming_the_rule():
    model = make_model()
    sched = make_schedule(["A"])
    _, report = apply_rules(model, sched, [LinkRule("A", {"class": "IfcColumn"}, label="columns")])
    assert any("columns" in w and "matched no element" in w for w in report.warnings)


def test_template_naming_unknown_activity_is_reported():
    model = make_model()
    sched = make_schedule(["L00-SLAB"])
    _, report = apply_rules(model, sched, [LinkRule("L{storey_index:02d}-SLAB", {"class": "IfcSlab"})])
    assert report.rules[0].unknown_activities == ("L01-SLAB",)
    assert any("L01-SLAB" in w for w in report.warnings)


def test_explicit_pairs_with_unknown_ids_are_listed():
    model = make_model()
    sched = make_schedule(["A"])
    explicit = [("A", "S0"), ("A", "NOPE"), ("ZZZ", "W0")]
    links, report = apply_rules(model, sched, explicit=explicit, explicit_source="links.csv")
    assert links.pairs == (("A", "S0"),)
    assert report.unknown_global_ids == ("NOPE",)
    assert report.unknown_activities == ("ZZZ",)
    assert any("links.csv" in w and "NOPE" in w for w in report.warnings)


def test_schedule_from_another_project_reports_the_overlap():
    model = make_model()
    sched = make_schedule(["A"], element_links=(("A", "X1"), ("A", "X2"), ("A", "S0")))
    _, report = apply_rules(model, sched)
    assert report.overlap == {"schedule_global_ids": 3, "found_in_model": 1}
    assert any("different projects" in w and "1 of the 3" in w for w in report.warnings)


def test_unknown_criterion_is_an_error_naming_the_rule_table():
    with pytest.raises(InputError, match=r"links.rules\[1\].*unknown criterion 'clas'"):
        rules_from_config([{"activity": "A", "where": {"class": "IfcSlab"}},
                           {"activity": "B", "where": {"clas": "IfcWall"}}])


def test_unknown_placeholder_is_an_error_naming_the_rule():
    model = make_model()
    sched = make_schedule(["A"])
    with pytest.raises(InputError, match="rule 1.*placeholder '{level}'"):
        apply_rules(model, sched, [LinkRule("{level}-A", {"class": "IfcSlab"})])


def test_link_csv_round_trip(tmp_path):
    links = Links((("A", "S0"), ("B", "W1")))
    path = write_link_csv(links, tmp_path / "links.csv")
    assert read_link_csv(path) == [("A", "S0"), ("B", "W1")]


def test_link_csv_without_header_names_file_and_line(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("S0;A\n")
    with pytest.raises(InputError, match=r"bad.csv:1: header"):
        read_link_csv(p)
    with pytest.raises(MissingFileError):
        read_link_csv(tmp_path / "missing.csv")


def test_split_zones_puts_every_element_with_a_point_in_one_zone():
    model = make_model()
    zones = split_zones(model, 3, axis="x")
    assert [z.name for z in zones] == ["Z1", "Z2", "Z3"]
    for e in model.elements.values():
        if e.bbox is not None:
            (x0, y0, _), (x1, y1, _) = e.bbox
            hits = [z.name for z in zones if z.contains(((x0 + x1) / 2, (y0 + y1) / 2))]
            assert len(hits) >= 1


def test_polygon_zone_contains_points_inside_and_on_edges_only():
    l_shape = Zone("L", ((0, 0), (10, 0), (10, 5), (5, 5), (5, 10), (0, 10)))
    assert l_shape.contains((2, 8)) and l_shape.contains((10, 2)) and not l_shape.contains((8, 8))
    assert point_zone((8, 8), [l_shape]) is None


def test_split_zones_ignores_a_far_outlier_when_cutting():
    els = {f"E{i}": Element(f"E{i}", "IfcColumn", bbox=((float(i), 0, 0), (i + 0.5, 0.5, 3))) for i in range(40)}
    els["FAR"] = Element("FAR", "IfcBuildingElementProxy", bbox=((500, 0, 0), (501, 1, 1)))
    model = BuildingModel(files=(), storeys=(), elements=els)
    zones = split_zones(model, 2, axis="x")
    names = [point_zone(((e.bbox[0][0] + e.bbox[1][0]) / 2, 0.25), zones) for e in els.values()]
    assert 15 <= names.count("Z1") <= 25                 # the building is split in two, not 40 to 1
    assert point_zone((500.5, 0.5), zones) == "Z2"        # the outlier still has a zone


def test_nothing_linked_at_all_is_a_warning():
    model = make_model()
    _, report = apply_rules(model, make_schedule(["A"]), [LinkRule("A", {"class": "IfcPile"})])
    assert any("no element is linked" in w and "same project" in w for w in report.warnings)


def test_a_link_to_a_storey_is_kept():
    model = make_model()
    sched = make_schedule(["A"], element_links=(("A", "st0"), ("A", "S0")))
    links, report = apply_rules(model, sched)
    assert links.pairs == (("A", "st0"), ("A", "S0"))
    assert report.overlap == {"schedule_global_ids": 2, "found_in_model": 2} and report.warnings == ()
