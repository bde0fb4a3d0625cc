"""After an IFC file is edited, the loader tessellates only the elements whose geometry inputs changed
(fingerprints of their STEP subgraphs, openings included) and the meshes equal a load from scratch."""
from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.ifc.edits import add_opening_geometry, moved_up
from twin.ifc import load as load_mod
from twin.ifc import load_model
from twin.ifc.fingerprint import merkle, scan_records

DEMO = ROOT / "samples" / "demo_building.ifc"


@pytest.fixture
def count_tessellated(monkeypatch):
    """Number of elements handed to tessellate by the loader, per call."""
    calls: list[int] = []
    real = load_mod.tessellate

    def counting(ifc_file, path="", *, elements=None, **kw):
        from twin.ifc.reader import select_elements

        todo = list(elements) if elements is not None else select_elements(ifc_file)
        calls.append(sum(1 for e in todo if e.Representation))
        return real(ifc_file, path, elements=todo, **kw)

    monkeypatch.setattr(load_mod, "tessellate", counting)
    return calls


def assert_same_meshes(a, b):
    assert set(a.meshes) == set(b.meshes)
    for g, m in a.meshes.items():
        assert np.array_equal(m.vertices, b.meshes[g].vertices) and np.array_equal(m.faces, b.meshes[g].faces), g
    assert [f.global_id for f in a.geometry_failures] == [f.global_id for f in b.geometry_failures]


def test_fingerprints_ignore_numbering_and_owner_history_but_not_values():
    a = scan_records(b"DATA;#1=IFCOWNERHISTORY(#9,$,$,$,1);#2=IFCWALL('g',#1,#3);#3=IFCPOINT((1.,2.));ENDSEC;")
    b = scan_records(b"DATA;#7=IFCOWNERHISTORY(#9,$,$,$,2);#8=IFCWALL('g',#7,#5);#5=IFCPOINT((1.,2.));ENDSEC;")
    c = scan_records(b"DATA;#7=IFCOWNERHISTORY(#9,$,$,$,2);#8=IFCWALL('g',#7,#5);#5=IFCPOINT((1.,2.5));ENDSEC;")
    assert merkle(a, [2])[2] == merkle(b, [8])[8] != merkle(c, [8])[8]
    with pytest.raises(ValueError, match="#4"):
        merkle(scan_records(b"#1=IFCWALL(#4);"), [1])


def test_an_edited_file_retessellates_only_the_moved_element(tmp_path, count_tessellated):
    src = tmp_path / "demo.ifc"
    shutil.copy(DEMO, src)
    cache = tmp_path / "cache"
    before = load_model(src, cache_dir=cache)
    assert count_tessellated[-1] == len(before.meshes) + len(before.geometry_failures)
    duct = next(g for g, e in before.elements.items() if e.ifc_class == "IfcDuctSegment" and g in before.meshes)
    moved_up(src, src, duct, 0.3)
    after = load_model(src, cache_dir=cache)
    assert count_tessellated[-1] == 1
    fresh = load_model(src, use_cache=False)
    assert_same_meshes(after, fresh)
    assert np.allclose(after.meshes[duct].vertices, before.meshes[duct].vertices + [0, 0, 0.3])


def test_a_changed_shared_shape_retessellates_every_element_using_it(tmp_path, count_tessellated):
    src = tmp_path / "demo.ifc"
    shutil.copy(DEMO, src)
    cache = tmp_path / "cache"
    load_model(src, cache_dir=cache)
    text = src.read_text()
    # the first extrusion inside a representation map: change its depth
    maps = re.findall(r"^#\d+\s*=\s*IFCREPRESENTATIONMAP\(.*$", text, flags=re.M)
    assert maps, "the demo building shares shapes through representation maps"
    m = re.search(r"^(#\d+\s*=\s*IFCEXTRUDEDAREASOLID\(.*,)([0-9.E+-]+)\);$", text, flags=re.M)
    src.write_text(text[:m.start()] + m.group(1) + repr(float(m.group(2)) * 1.5) + ");" + text[m.end():])
    after = load_model(src, cache_dir=cache)
    changed = count_tessellated[-1]
    assert 1 <= changed < len(after.meshes)
    assert_same_meshes(after, load_model(src, use_cache=False))


def test_moving_an_opening_retessellates_its_wall(tmp_path, count_tessellated):
    from tests.ifc.small_models import build_small_model

    src = tmp_path / "small.ifc"
    ids = build_small_model(src)
    add_opening_geometry(src, ids)
    cache = tmp_path / "cache"
    before = load_model(src, cache_dir=cache)
    moved_up(src, src, ids["opening"], 800.0)
    after = load_model(src, cache_dir=cache)
    assert count_tessellated[-1] == 1                       # the wall, not the other one
    assert_same_meshes(after, load_model(src, use_cache=False))
    assert not np.array_equal(after.meshes[ids["wall1"]].vertices, before.meshes[ids["wall1"]].vertices)


def test_a_copy_read_from_the_cache_is_then_edited_cheaply(tmp_path, count_tessellated):
    src, copy = tmp_path / "demo.ifc", tmp_path / "copy.ifc"
    shutil.copy(DEMO, src)
    cache = tmp_path / "cache"
    model = load_model(src, cache_dir=cache)
    shutil.copy(src, copy)
    load_model(copy, cache_dir=cache)                       # same content: meshes from the cache
    assert len(count_tessellated) == 1
    beam = next(g for g, e in model.elements.items() if e.ifc_class == "IfcBeam" and g in model.meshes)
    moved_up(copy, copy, beam, 0.25)
    after = load_model(copy, cache_dir=cache)
    assert count_tessellated[-1] == 1
    assert_same_meshes(after, load_model(copy, use_cache=False))
