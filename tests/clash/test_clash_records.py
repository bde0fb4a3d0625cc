"""Clash records: selectors, exclusions, stable ids, smart groups, diff and statuses, 4D windows,
temporary objects."""
from __future__ import annotations

from datetime import datetime

import pytest

from twin.clash import (Clash, clash_id, coexistence, diff_clashes, element_windows, group_clashes, parse_exclude,
                        parse_selector, parse_temporary, read_previous, temporary_mesh)
from twin.clashgeom import mesh_info
from twin.errors import InputError
from twin.fourd import TaskWindow, WorkKind
from twin.model import Element


def el(gid, cls="IfcWall", **kw) -> Element:
    return Element(gid, cls, **kw)


ELEMENTS = [
    el("W1", "IfcWallStandardCase", storey="Level 01", systems=()),
    el("D1", "IfcDuctSegment", storey="Level 01", systems=("Supply Air",), file="/x/hvac.ifc"),
    el("D2", "IfcDuctSegment", storey="Level 02", systems=("Extract Air",), file="/x/hvac.ifc"),
    el("P1", "IfcPipeSegment", storey="Level 01", systems=("Domestic Cold Water",),
       properties={"Pset_PipeSegmentCommon.Reference": "CW-54"}),
]


@pytest.mark.parametrize("text, expected", [
    ("*", ["W1", "D1", "D2", "P1"]),
    ("IfcWall", ["W1"]),                                        # subclasses included
    ("IfcDuctSegment,IfcPipeSegment", ["D1", "D2", "P1"]),
    ("IfcDuctSegment[storey=Level 01]", ["D1"]),
    ("*[system!=Supply Air]", ["W1", "D2", "P1"]),
    ("*[system~air$]", ["D1", "D2"]),
    ("*[file=hvac.ifc]", ["D1", "D2"]),
    ("IfcWall|IfcPipeSegment[Pset_PipeSegmentCommon.Reference=CW-54]", ["W1", "P1"]),
])
def test_selectors_select(text, expected):
    assert parse_selector(text).select(ELEMENTS) == expected


@pytest.mark.parametrize("text, message", [
    ("", "empty"), ("Wall", "not an IFC class"), ("IfcWall[storey", "cannot read"), ("*[name~(]", "regular expression"),
])
def test_bad_selectors_name_the_problem(text, message):
    with pytest.raises(InputError, match=message):
        parse_selector(text)


def test_exclusion_rules():
    same = parse_exclude("same-storey")
    assert same.excludes(ELEMENTS[0], ELEMENTS[1]) and not same.excludes(ELEMENTS[1], ELEMENTS[2])
    pair = parse_exclude("IfcPipeSegment<>IfcWall")
    assert pair.excludes(ELEMENTS[0], ELEMENTS[3]) and pair.excludes(ELEMENTS[3], ELEMENTS[0])
    assert not pair.excludes(ELEMENTS[1], ELEMENTS[3])
    assert parse_exclude("same-system").excludes(ELEMENTS[1], el("X", systems=("Supply Air",)))
    with pytest.raises(InputError, match="same-system"):
        parse_exclude("same-colour")


def test_clash_ids_do_not_depend_on_order_and_differ_by_mode():
    assert clash_id("A", "B", "hard") == clash_id("B", "A", "hard")
    assert clash_id("A", "B", "hard") != clash_id("A", "B", "clearance")
    assert clash_id("A", "B", "hard", (1.0, 2.0, 3.0)) != clash_id("A", "B", "hard", (9.0, 2.0, 3.0))


def _clash(a, b, point, status="new"):
    return Clash(clash_id(a, b, "hard"), a, b, "hard", 0.1, point, "hard", status=status)


def test_smart_groups_join_nearby_clashes_of_the_same_systems():
    els = {e.global_id: e for e in ELEMENTS + [el("B1", "IfcBeam", storey="Level 02"),
                                                 el("B2", "IfcBeam", storey="Level 02")]}
    cs = [_clash("D1", "B1", (0, 0, 3)), _clash("D1", "B2", (2, 0, 3)), _clash("D2", "B1", (1, 0, 3)),
          _clash("P1", "B2", (50, 0, 3))]
    out, groups = group_clashes(cs, els, distance=3.0)
    by_key = {g.key: g for g in groups}
    assert len(by_key) == 3
    supply = next(g for k, g in by_key.items() if "Supply Air" in k)
    assert len(supply.clash_ids) == 2
    assert len({c.group for c in out}) == 3


def test_far_apart_clashes_of_the_same_systems_are_separate_groups():
    els = {e.global_id: e for e in ELEMENTS + [el("B1", "IfcBeam", storey="Level 01")]}
    _, groups = group_clashes([_clash("D1", "B1", (0, 0, 0)), _clash("D1", "W1", (30, 0, 0))], els, by="class")
    assert len(groups) == 2


def test_diff_against_a_previous_run(tmp_path):
    old = [_clash("A", "B", (0, 0, 0)), _clash("A", "C", (0, 0, 0)), _clash("X", "Y", (0, 0, 0))]
    prev = {c.id: {"id": c.id, "a": c.a, "b": c.b, "status": s}
            for c, s in zip(old, ["approved", "new", "active"])}
    now = [_clash("B", "A", (0, 0, 0)), _clash("C", "A", (0, 0, 0)), _clash("D", "E", (0, 0, 0))]
    cur, resolved = diff_clashes(now, prev)
    assert [c.status for c in cur] == ["approved", "active", "new"]
    assert [r["a"] for r in resolved] == ["X"] and resolved[0]["status"] == "resolved"


def test_read_previous_rejects_other_files(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"foo": 1}')
    with pytest.raises(InputError, match="no 'clashes' list"):
        read_previous(p)
    with pytest.raises(InputError, match="not found"):
        read_previous(tmp_path / "missing.json")


def test_4d_windows_and_coexistence():
    d = datetime
    wins = {"C": TaskWindow("C", d(2027, 1, 4, 8), d(2027, 1, 8, 17), WorkKind.CONSTRUCT),
            "T": TaskWindow("T", d(2027, 1, 6, 8), d(2027, 1, 20, 17), WorkKind.TEMPORARY),
            "X": TaskWindow("X", d(2027, 2, 1, 8), d(2027, 2, 5, 17), WorkKind.DEMOLISH)}
    ew = element_windows(wins, [("C", "slab"), ("T", "prop"), ("C", "old"), ("X", "old")])
    assert ew["slab"] == (d(2027, 1, 4, 8), None)
    assert ew["prop"] == (d(2027, 1, 6, 8), d(2027, 1, 20, 17))
    end = d(2027, 6, 1)
    assert coexistence(ew["slab"], ew["prop"], end) == (d(2027, 1, 6, 8), d(2027, 1, 20, 17))
    assert coexistence(ew["old"], None, end) == (d(2027, 1, 4, 8), d(2027, 2, 5, 17))
    assert coexistence((d(2027, 3, 1), None), (d(2027, 1, 1), d(2027, 2, 1)), end) is None


def test_temporary_objects_parse_and_mesh():
    objs = parse_temporary([
        {"name": "scaffold N", "kind": "scaffold", "box": [[0, 0, 0], [10, 1.2, 12]], "start": "2027-01-04",
         "finish": "2027-03-01"},
        {"name": "mast", "cylinder": {"x": 5, "y": 5, "radius": 1.0, "height": 40}, "activity": "A10"},
    ])
    assert objs[0].start == datetime(2027, 1, 4) and objs[1].activity == "A10"
    for o in objs:
        m = temporary_mesh(o)
        info = mesh_info(m.vertices, m.faces)
        assert info.closed and info.convex
    with pytest.raises(InputError, match=r"temporary\[0\]: give exactly one of box or cylinder"):
        parse_temporary([{"name": "x"}])
    with pytest.raises(InputError, match=r"temporary\[1\].name: 'a' is used twice"):
        parse_temporary([{"name": "a", "box": [[0, 0, 0], [1, 1, 1]]}, {"name": "a", "box": [[0, 0, 0], [1, 1, 1]]}])
    with pytest.raises(InputError, match="unknown key 'colour'"):
        parse_temporary([{"name": "a", "box": [[0, 0, 0], [1, 1, 1]], "colour": "red"}])
