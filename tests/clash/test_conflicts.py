"""Sequence conflicts: support graph against the demo building's design manifest, support order,
work zones, cranes and logic."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.conftest import ROOT
from twin.conflicts import (capacity_at, crane_conflicts, element_construct_windows, element_weight, logic_conflicts,
                            support_conflicts, support_graph, workspace_conflicts)
from twin.fourd import TaskWindow, WorkKind
from twin.model import Element
from twin.scenario import CraneSpec
from twin.schedule import Activity, Relationship, Schedule

DEMO = ROOT / "samples" / "demo_building.ifc"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from twin.ifc import load_model
    from twin.ifc.generate import DEFAULT_SAMPLE_ARGS, describe_building

    model = load_model(DEMO, cache_dir=tmp_path_factory.mktemp("cache"))
    return model, describe_building(DEMO, **DEFAULT_SAMPLE_ARGS)


def test_support_graph_equals_the_designed_bearing_contacts(demo):
    model, summary = demo
    assert set(support_graph(model.elements)) == set(summary.supports)


def test_a_wall_marked_not_load_bearing_carries_nothing():
    wall = Element("W", "IfcWall", bbox=((0, 0, 0), (10, 0.2, 2.8)))
    beam = Element("B", "IfcBeam", bbox=((0, 0, 2.8), (10, 0.2, 3.2)))
    assert support_graph({"W": wall, "B": beam}) == [("B", "W")]
    free = Element("W", "IfcWall", bbox=wall.bbox, properties={"Pset_WallCommon.LoadBearing": False})
    assert support_graph({"W": free, "B": beam}) == []


def _windows(order: list[str], t0=datetime(2027, 3, 1, 8)):
    return {a: TaskWindow(a, t0 + timedelta(days=7 * k), t0 + timedelta(days=7 * k + 5), WorkKind.CONSTRUCT)
            for k, a in enumerate(order)}


def _level1_links(model):
    links = []
    for g, e in model.elements.items():
        if e.ifc_class == "IfcColumn" and e.storey == "Level 00":
            links.append(("COL", g))
        elif e.ifc_class == "IfcBeam" and e.storey == "Level 01":
            links.append(("BEA", g))
        elif e.ifc_class == "IfcSlab" and e.storey == "Level 01":
            links.append(("SLB", g))
    return links


def test_a_slab_placed_before_its_columns_and_beams_is_flagged(demo):
    model, _ = demo
    graph = support_graph(model.elements)
    links = _level1_links(model)
    wrong = support_conflicts(graph, element_construct_windows(_windows(["SLB", "BEA", "COL"]), links), model.elements)
    assert {(f.details["activity"], f.details["support_activity"]) for f in wrong} == {("SLB", "BEA"), ("BEA", "COL")}
    slab_on_beams = next(f for f in wrong if f.details["activity"] == "SLB")
    assert all(model.elements[s].ifc_class == "IfcSlab" and model.elements[p].ifc_class == "IfcBeam"
               for s, p in slab_on_beams.details["pairs"])
    assert "SLB starts" in slab_on_beams.message


def test_the_right_order_is_not_flagged(demo):
    model, _ = demo
    graph = support_graph(model.elements)
    ok = support_conflicts(graph, element_construct_windows(_windows(["COL", "BEA", "SLB"]), _level1_links(model)))
    assert ok == []


def test_work_in_one_activity_is_not_compared_with_itself(demo):
    model, _ = demo
    links = [("FRAME", g) for _, g in _level1_links(model)]
    assert support_conflicts(support_graph(model.elements),
                             element_construct_windows(_windows(["FRAME"]), links)) == []


def _box_el(gid, lo, hi, **kw):
    return Element(gid, kw.pop("cls", "IfcBeam"), bbox=(lo, hi), **kw)


def test_workspace_conflict_needs_time_and_space_overlap():
    els = {"a": _box_el("a", (0, 0, 0), (5, 1, 1)), "b": _box_el("b", (5.5, 0, 0), (9, 1, 1)),
           "c": _box_el("c", (40, 0, 0), (45, 1, 1))}
    t = datetime(2027, 1, 4, 8)
    wins = {"A": TaskWindow("A", t, t + timedelta(days=3), WorkKind.CONSTRUCT),
            "B": TaskWindow("B", t + timedelta(days=1), t + timedelta(days=4), WorkKind.CONSTRUCT),
            "C": TaskWindow("C", t, t + timedelta(days=4), WorkKind.CONSTRUCT)}
    found = workspace_conflicts(wins, {"A": ["a"], "B": ["b"], "C": ["c"]}, els, margin=1.0)
    assert [f.activities for f in found] == [("A", "B")]
    assert found[0].details["from"] == t + timedelta(days=1)
    assert workspace_conflicts(wins, {"A": ["a"], "B": ["b"]}, els, margin=0.1) == []


def test_capacity_chart_interpolates_and_ends_at_the_last_point():
    chart = ((10.0, 8.0), (30.0, 4.0), (50.0, 2.0))
    assert capacity_at(chart, 5) == 8.0 and capacity_at(chart, 20) == pytest.approx(6.0)
    assert capacity_at(chart, 55) is None and capacity_at((), 20) is None


def test_weights_from_quantities_or_volume_times_density():
    e = Element("w", "IfcBeam", quantities={"Qto_BeamBaseQuantities.GrossWeight": 1200.0})
    assert element_weight(e) == (1200.0, "quantity Qto_BeamBaseQuantities.GrossWeight")
    s = Element("s", "IfcBeam", materials=("Steel S355",), quantities={"Qto_BeamBaseQuantities.NetVolume": 0.1})
    assert element_weight(s)[0] == pytest.approx(785.0)
    assert element_weight(Element("x", "IfcBeam"), 2.0)[0] == pytest.approx(4800.0)


def test_crane_reach_load_and_slew_overlap():
    t = datetime(2027, 1, 4, 8)
    els = {"near": _box_el("near", (9, -0.5, 0), (11, 0.5, 1), quantities={"Q.GrossWeight": 3000.0}),
           "heavy": _box_el("heavy", (29, -0.5, 0), (31, 0.5, 1), quantities={"Q.GrossWeight": 9000.0}),
           "far": _box_el("far", (119, -0.5, 0), (121, 0.5, 1), quantities={"Q.GrossWeight": 100.0}),
           "cast": _box_el("cast", (99, 5, 0), (101, 6, 1), cls="IfcSlab",
                           properties={"Pset_ConcreteElementGeneral.ConstructionMethod": "In-Situ"}),
           "east": _box_el("east", (59, -0.5, 0), (61, 0.5, 1), quantities={"Q.GrossWeight": 500.0})}
    cranes = [CraneSpec("TC1", 0.0, 0.0, 50.0, ((10.0, 8.0), (50.0, 2.0))),
              CraneSpec("TC2", 70.0, 0.0, 30.0, ((30.0, 5.0),))]
    acts = {a: Activity(a, a, 8.0, attributes={"lifts": 3}) for a in ("L1", "L2", "L3")}
    wins = {a: TaskWindow(a, t, t + timedelta(days=2), WorkKind.CONSTRUCT) for a in acts}
    found = crane_conflicts(cranes, acts, wins, {"L1": ["near", "heavy"], "L2": ["far", "cast"], "L3": ["east"]}, els)
    codes = sorted((f.code, f.elements) for f in found)
    assert ("overload", ("heavy",)) in codes
    assert ("out_of_reach", ("far",)) in codes
    assert not any("cast" in f.elements for f in found)         # poured in place: not lifted
    assert not any("near" in f.elements for f in found)
    slew = [f for f in found if f.code == "slew_overlap"]
    assert len(slew) == 1 and set(slew[0].activities) == {"L1", "L3"}


def test_logic_findings():
    sched = Schedule({a: Activity(a, a, 8.0) for a in ("A", "B", "C", "D")},
                     (Relationship("A", "B"), Relationship("B", "C"), Relationship("C", "A")))
    els = {g: Element(g, "IfcWall", bbox=((0, 0, 0), (1, 1, 1))) for g in ("w1", "w2", "w3")}
    found = logic_conflicts(sched, [("A", "w1"), ("B", "w1"), ("C", "w2")], els)
    codes = {f.code: f for f in found}
    assert set(codes["cycle"].activities) == {"A", "B", "C"}
    assert codes["unlinked_elements"].elements == ("w3",)
    assert codes["element_in_several_activities"].activities == ("A", "B")
    assert codes["activity_without_elements"].activities == ("D",)
