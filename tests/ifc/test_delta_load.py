"""Adversarial tests of the incremental ("delta") load of an edited IFC file.

The contract: after ``load_model(original, cache_dir=C)``, the same path edited and loaded with
``load_model(edited, cache_dir=C)`` gives a model equal, field by field and mesh by mesh, to
``load_model(edited, use_cache=False)``, whatever the edit (the loader may fall back to a full read
whenever it cannot prove a delta safe). For the edits the delta path is built for (one element
moved, a property or quantity changed, a header-only save) a spy on ``twin.ifc.load._load_delta``
checks that the delta path ran and that only the edited elements were tessellated and re-read.

Every edit is a text edit of the STEP file (:mod:`tests.ifc.edits`), as an authoring tool saves it.
"""
from __future__ import annotations

import contextlib
import importlib
import math
import re
import shutil
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable

import ifcopenshell
import numpy as np
import pytest

from tests.conftest import ROOT, shared_path
from tests.ifc import edits as ed
from tests.ifc.small_models import build_small_model
from twin.errors import TwinError
from twin.ifc import geometry as geometry_mod
from twin.ifc import load as load_mod
from twin.ifc import load_model
from twin.ifc import reader as reader_mod
from twin.model import BuildingModel, Element

DEMO = ROOT / "samples" / "demo_building.ifc"
BBOX_TOL = 1e-9


# --------------------------------------------------------------------------- model equality

def _describe_dict_diff(a: dict, b: dict) -> str:
    keys = sorted(set(a) | set(b), key=str)
    diffs = [f"{k}: {a.get(k, '<missing>')!r} != {b.get(k, '<missing>')!r}" for k in keys if a.get(k, ...) != b.get(k, ...)]
    return "; ".join(diffs[:5]) + (f" (+{len(diffs) - 5} more)" if len(diffs) > 5 else "")


def differences(a: BuildingModel, b: BuildingModel, *, files: bool | str = True) -> list[str]:
    """What differs between two models (empty when equal): element ids and order, every Element field
    (bbox within 1e-9), storeys, files, failures, warnings, meshes. ``files="content"`` compares the
    files' fields except their sha256 (two versions of one file); ``files=False`` skips them."""
    out: list[str] = []
    ids_a, ids_b = list(a.elements), list(b.elements)
    if ids_a != ids_b:
        only_a, only_b = set(ids_a) - set(ids_b), set(ids_b) - set(ids_a)
        if only_a or only_b:
            out.append(f"element ids differ: only in first {sorted(only_a)[:5]}, only in second {sorted(only_b)[:5]}")
        else:
            first = next(i for i, (x, y) in enumerate(zip(ids_a, ids_b)) if x != y)
            out.append(f"element order differs from position {first}: {ids_a[first]} vs {ids_b[first]}")
    for gid, ea in a.elements.items():
        eb = b.elements.get(gid)
        if eb is None:
            continue
        for f in fields(Element):
            va, vb = getattr(ea, f.name), getattr(eb, f.name)
            if f.name == "bbox":
                if (va is None) != (vb is None) or (
                        va is not None and not np.allclose(np.asarray(va), np.asarray(vb), rtol=0.0, atol=BBOX_TOL)):
                    out.append(f"element {gid} ({ea.ifc_class}) bbox: {va} != {vb}")
            elif f.name in ("properties", "quantities"):
                if dict(va) != dict(vb):
                    out.append(f"element {gid} ({ea.ifc_class}) {f.name}: {_describe_dict_diff(dict(va), dict(vb))}")
                elif list(va) != list(vb):          # same entries; the order is what a user lists and exports
                    out.append(f"element {gid} ({ea.ifc_class}) {f.name} order: {list(va)} != {list(vb)}")
            elif va != vb:
                out.append(f"element {gid} ({ea.ifc_class}) {f.name}: {va!r} != {vb!r}")
    if a.storeys != b.storeys:
        out.append(f"storeys: {a.storeys} != {b.storeys}")
    if files == "content":
        fa, fb = [replace(f, sha256="") for f in a.files], [replace(f, sha256="") for f in b.files]
        if fa != fb:
            out.append(f"files: {fa} != {fb}")
    elif files and a.files != b.files:
        out.append(f"files: {a.files} != {b.files}")
    if list(a.geometry_failures) != list(b.geometry_failures):
        out.append(f"geometry failures: {list(a.geometry_failures)} != {list(b.geometry_failures)}")
    if list(a.warnings) != list(b.warnings):
        out.append(f"warnings: {list(a.warnings)} != {list(b.warnings)}")
    if set(a.meshes) != set(b.meshes):
        out.append(f"mesh keys: only in first {sorted(set(a.meshes) - set(b.meshes))[:5]}, "
                   f"only in second {sorted(set(b.meshes) - set(a.meshes))[:5]}")
    for gid in sorted(set(a.meshes) & set(b.meshes)):
        ma, mb = a.meshes[gid], b.meshes[gid]
        if not np.array_equal(ma.vertices, mb.vertices):
            out.append(f"mesh {gid}: vertices differ ({ma.vertices.shape} vs {mb.vertices.shape})")
        if not np.array_equal(ma.faces, mb.faces):
            out.append(f"mesh {gid}: faces differ ({ma.faces.shape} vs {mb.faces.shape})")
    return out


def assert_same_model(a: BuildingModel, b: BuildingModel) -> None:
    """``a`` (loaded through the cache) equals ``b`` (read from scratch) in everything a user sees."""
    found = differences(a, b)
    assert not found, f"{len(found)} difference(s):\n" + "\n".join(found[:25])


def test_differences_sees_each_kind_of_change(tmp_path):
    """The equality helper itself: it must catch a change of each kind, or every test below is void."""
    path = tmp_path / "demo.ifc"
    path.write_bytes(DEMO.read_bytes())
    base = load_model(path, use_cache=False)
    assert differences(base, load_model(path, use_cache=False)) == []
    gid = next(g for g, x in base.elements.items() if len(x.properties) >= 2 and x.bbox is not None)
    e = base.elements[gid]
    mesh_gid = next(iter(base.meshes))
    m = base.meshes[mesh_gid]

    def variant(**kw: Any) -> BuildingModel:
        args = {"files": base.files, "storeys": base.storeys, "elements": dict(base.elements), "meshes": dict(base.meshes),
                "geometry_failures": base.geometry_failures, "warnings": base.warnings}
        args.update(kw)
        return BuildingModel(**args)

    from twin.model import Mesh

    shifted_box = ((e.bbox[0][0] + 1e-6, *e.bbox[0][1:]), e.bbox[1]) if e.bbox else ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    cases = {
        "properties": {**base.elements, gid: replace(e, properties={**e.properties, "X.Y": 1})},
        "properties order": {**base.elements, gid: replace(e, properties=dict(reversed(list(e.properties.items()))))},
        "quantities": {**base.elements, gid: replace(e, quantities={**e.quantities, "X.Y": 1.0})},
        "materials": {**base.elements, gid: replace(e, materials=(*e.materials, "Gold"))},
        "systems": {**base.elements, gid: replace(e, systems=(*e.systems, "S"))},
        "storey": {**base.elements, gid: replace(e, storey="Elsewhere")},
        "placement": {**base.elements, gid: replace(e, placement=(9.0, 9.0, 9.0))},
        "bbox": {**base.elements, gid: replace(e, bbox=shifted_box)},
        "order": dict(reversed(list(base.elements.items()))),
    }
    for name, elements in cases.items():
        assert differences(base, variant(elements=elements)), name
    moved = Mesh(m.vertices + [0.0, 0.0, 1e-12], m.faces)
    assert differences(base, variant(meshes={**base.meshes, mesh_gid: moved}))
    assert differences(base, variant(warnings=(*base.warnings, "w")))
    assert differences(base, variant(storeys=base.storeys[:-1]))
    assert differences(base, variant(files=(replace(base.files[0], sha256="0"),)))
    assert not differences(base, variant(files=(replace(base.files[0], sha256="0"),)), files=False)
    assert not differences(base, variant(files=(replace(base.files[0], sha256="0"),)), files="content")
    assert differences(base, variant(files=(replace(base.files[0], project="P"),)), files="content")


# --------------------------------------------------------------------------- spies and the edit runner

@dataclass
class Spy:
    """What the loader did during one load: delta attempts (True = the delta result was used),
    element GlobalIds handed to tessellate, elements whose records were extracted, full reads."""

    has_delta: bool = False
    delta: list[bool] = field(default_factory=list)
    tessellated: list[set[str]] = field(default_factory=list)
    extracted: list[str] = field(default_factory=list)
    full_reads: int = 0
    fail_for: set[str] = field(default_factory=set)     # elements whose record extraction is made to fail

    def reset(self) -> None:
        self.delta, self.tessellated, self.extracted, self.full_reads = [], [], [], 0

    def snapshot(self) -> Spy:
        return Spy(self.has_delta, list(self.delta), [set(s) for s in self.tessellated], list(self.extracted),
                   self.full_reads, set(self.fail_for))

    @property
    def delta_used(self) -> bool:
        return any(self.delta)

    @property
    def tessellated_ids(self) -> set[str]:
        return set().union(*self.tessellated) if self.tessellated else set()

    def assert_delta_used(self) -> None:
        assert self.has_delta, "twin.ifc.load._load_delta does not exist: no delta path to use"
        assert self.delta, "the loader did not try the delta path (_load_delta was not called)"
        assert self.delta_used, f"the delta path fell back to the full read (_load_delta returned None: {self.delta})"
        assert self.full_reads == 0, f"a full read_file ran although the delta path was used ({self.full_reads})"


@pytest.fixture
def spy(monkeypatch) -> Spy:
    """Wraps ``_load_delta``, ``tessellate`` (wherever twin.ifc bound it), ``read_file`` and the
    per-element record extraction, and records what each did."""
    with contextlib.suppress(ImportError):
        importlib.import_module("twin.ifc.delta")
    s = Spy()
    real_delta = getattr(load_mod, "_load_delta", None)
    if real_delta is not None:
        s.has_delta = True

        def delta(*args: Any, **kw: Any) -> Any:
            result = real_delta(*args, **kw)
            s.delta.append(result is not None)
            return result

        monkeypatch.setattr(load_mod, "_load_delta", delta)

    real_tessellate = geometry_mod.tessellate

    def tessellate(ifc_file: Any, path: str = "", *, elements: Any = None, **kw: Any) -> Any:
        todo = list(elements) if elements is not None else reader_mod.select_elements(ifc_file)
        s.tessellated.append({e.GlobalId for e in todo if e.Representation})
        return real_tessellate(ifc_file, path, elements=todo, **kw)

    real_read = reader_mod.read_file

    def read_file(*args: Any, **kw: Any) -> Any:
        s.full_reads += 1
        return real_read(*args, **kw)

    for name, module in list(sys.modules.items()):
        if name == "twin.ifc" or name.startswith("twin.ifc."):
            if getattr(module, "tessellate", None) is real_tessellate:
                monkeypatch.setattr(module, "tessellate", tessellate)
            if getattr(module, "read_file", None) is real_read:
                monkeypatch.setattr(module, "read_file", read_file)

    real_element = reader_mod._Extractor.element

    def element(self: Any, entity: Any) -> Element:
        s.extracted.append(entity.GlobalId)
        if entity.GlobalId in s.fail_for:
            raise ValueError("simulated unreadable data")
        return real_element(self, entity)

    monkeypatch.setattr(reader_mod._Extractor, "element", element)
    return s


@dataclass
class Run:
    before: BuildingModel       # the base, loaded fully through the cache
    after: BuildingModel        # the edited file through the cache (delta or fallback)
    fresh: BuildingModel        # the edited file read from scratch
    seen: Spy                   # what the loader did for ``after``


def load_edit(tmp_path: Path, spy: Spy, original: str, edited: str, *, name: str = "model.ifc",
              geometry: bool = True, base_geometry: bool | None = None, others: tuple[Path, ...] = (),
              cache: Path | None = None, settings: dict | None = None, base_settings: dict | None = None,
              loaded: tuple[Path, BuildingModel] | None = None) -> Run:
    """Load ``original`` at a path through a cache, overwrite the path with ``edited``, load again
    through the cache and from scratch, and check the two are equal. ``others`` are further files of
    a federated load (not edited). ``loaded`` = (path, model) says the original is already loaded at
    that path through ``cache``."""
    path = loaded[0] if loaded else tmp_path / name
    cache = cache or tmp_path / "cache"
    paths = [path, *others] if others else path
    if loaded:
        before = loaded[1]
    else:
        ed.write_step(path, original)
        before = load_model(paths, cache_dir=cache, geometry=geometry if base_geometry is None else base_geometry,
                            settings=base_settings)
    spy.reset()
    ed.write_step(path, edited)
    after = load_model(paths, cache_dir=cache, geometry=geometry, settings=settings)
    seen = spy.snapshot()
    fresh = load_model(paths, use_cache=False, geometry=geometry, settings=settings)
    assert_same_model(after, fresh)
    return Run(before, after, fresh, seen)


# --------------------------------------------------------------------------- the demo building's edits

@pytest.fixture(scope="module")
def demo_text() -> str:
    return ed.read_step(DEMO)


def gid(text: str, rid: int) -> str:
    return ed.global_id_of(text, rid)


def _move_duct(t: str, tmp: Path) -> str:
    return ed.moved_up_text(t, tmp, gid(t, 1023), 0.3)


def _new_beam(t: str, tmp: Path) -> str:
    """A copy of beam #1730 (same shape, new placement 1 m higher, new GlobalId) in the same storey."""
    line = ed.get_record(t, 1730)
    n = ed.next_id(t)
    t = ed.append_records(t, [
        f"#{n}=IFCCARTESIANPOINT((0.,0.,1.));",
        f"#{n + 1}=IFCAXIS2PLACEMENT3D(#{n},$,$);",
        f"#{n + 2}=IFCLOCALPLACEMENT(#1719,#{n + 1});",
        line.replace("#1730=", f"#{n + 3}=", 1).replace(gid(t, 1730), ed.new_guid(), 1)
            .replace("#1719,", f"#{n + 2},", 1).replace("'Beam A/1-2 Level 01'", "'Beam copy'", 1),
    ])
    return ed.add_ref(t, 3788, 1730, n + 3)


def _delete_beam(t: str, tmp: Path) -> str:
    return ed.delete_records(ed.drop_everywhere(t, 1759), [1759])


def _swap_guids(t: str, tmp: Path) -> str:
    a, b = gid(t, 1730), gid(t, 1759)
    t = ed.sub_record(t, 1730, a, "TMP")
    t = ed.sub_record(t, 1759, b, a)
    return ed.sub_record(t, 1730, "TMP", b)


def _beam_line_to_end(t: str, tmp: Path) -> str:
    line = ed.get_record(t, 1730)
    return ed.append_records(ed.delete_records(t, [1730]), [line])


def _multi_line_record(t: str, tmp: Path) -> str:
    line = ed.get_record(t, 1730).replace("'Beam A/1-2 Level 01',", "'Beam A/1-2 Level 01 split',\n", 1)
    return ed.set_record(t, 1730, line)


def _new_property_unit(t: str, tmp: Path) -> str:
    n = ed.next_id(t)
    t = ed.append_records(t, [f"#{n}=IFCSIUNIT(*,.LENGTHUNIT.,.MILLI.,.METRE.);"])
    return ed.sub_record(t, 925, "IFCPOSITIVELENGTHMEASURE(0.18),$)", f"IFCPOSITIVELENGTHMEASURE(0.18),#{n})")


def _new_group(t: str, tmp: Path) -> str:
    n = ed.next_id(t)
    return ed.append_records(t, [f"#{n}=IFCRELASSIGNSTOGROUP('{ed.new_guid()}',$,$,$,(#121),$,#3956);"])


def _type_material(t: str, tmp: Path) -> str:
    n = ed.next_id(t)
    return ed.append_records(t, [f"#{n}=IFCRELASSOCIATESMATERIAL('{ed.new_guid()}',$,$,$,(#3802),#55);"])


def _stair_placement(t: str, tmp: Path) -> str:
    n = ed.next_id(t)
    t = ed.append_records(t, [f"#{n}=IFCCARTESIANPOINT((0.,1.,0.));", f"#{n + 1}=IFCAXIS2PLACEMENT3D(#{n},$,$);"])
    return ed.sub_record(t, 921, "IFCLOCALPLACEMENT(#25,#11)", f"IFCLOCALPLACEMENT(#25,#{n + 1})")


def _rel_taking_a_low_number(t: str, tmp: Path) -> str:
    """Property #122 renumbered to a new id and its number given to a containment rel putting footing
    #121 on Level 01: the reader takes an element's first containment (by step id), now this one."""
    n = ed.next_id(t)
    moved = ed.get_record(t, 122).replace("#122=", f"#{n}=", 1)
    t = ed.set_record(t, 122, f"#122=IFCRELCONTAINEDINSPATIALSTRUCTURE('{ed.new_guid()}',$,$,$,(#121),#30);")
    return ed.replace_ref(ed.append_records(t, [moved]), 125, 122, n)


def _sub(rid: int, old: str, new: str) -> Callable[[str, Path], str]:
    return lambda t, tmp: ed.sub_record(t, rid, old, new)


def _chain(*steps: Callable[[str, Path], str]) -> Callable[[str, Path], str]:
    def run(t: str, tmp: Path) -> str:
        for step in steps:
            t = step(t, tmp)
        return t
    return run


# name -> (edit, the full read of the edited file differs from the base's)
DEMO_EDITS: dict[str, tuple[Callable[[str, Path], str], bool]] = {
    # 1-2. placements
    "duct moved by a new local placement": (_move_duct, True),
    "flight placement point edited in place": (_sub(934, "((1.4,0.4,0.))", "((1.4,0.9,0.))"), True),
    "stair placement (parent of the flight's) edited in place": (_stair_placement, True),
    "storey placement point edited (whole storey moves)": (_sub(27, "((0.,0.,3.6))", "((0.,0.,3.7))"), True),
    "world origin point edited (everything moves)": (_sub(10, "((0.,0.,0.))", "((1.,0.,0.))"), True),
    "shared representation-map extrusion deepened": (_sub(110, ",0.6);", ",0.75);"), True),
    "shared extrusion made flat (every footing fails)": (_sub(110, ",0.6);", ",0.);"), True),
    # 3. properties and quantities
    "occurrence property value": (_sub(122, "'PF2000x600'", "'PF2400x600'"), True),
    "type property value (every duct of the type)": (_sub(3808, "'D600x300'", "'D650x300'"), True),
    "quantity value": (_sub(135, "'Length',$,$,2.,$", "'Length',$,$,2.5,$"), True),
    "property unit set (new unit record)": (_new_property_unit, True),
    "property set renamed": (_sub(125, "'Pset_FootingCommon'", "'Pset_FootingSpecial'"), True),
    "property set rel deleted": (lambda t, tmp: ed.delete_records(t, [3882]), True),
    # 4. materials
    "material renamed (many elements)": (_sub(49, "'Concrete C25/30'", "'Concrete C28/35'"), True),
    "occurrence moved to another material rel": (lambda t, tmp: ed.add_ref(ed.drop_ref(t, 3840, 121), 3841, 580, 121), True),
    "material rel pointed at another material": (_sub(3844, ",#58);", ",#55);"), True),
    "material added on a type whose walls have their own": (_type_material, False),
    "material moved from an occurrence to its type": (_chain(lambda t, tmp: ed.drop_ref(t, 3842, 728), _type_material), True),
    # 5. storeys, systems, types
    "element moved to another storey": (lambda t, tmp: ed.add_ref(ed.drop_ref(t, 3787, 121), 3788, 1426, 121), True),
    "storey renamed": (_sub(30, "'Level 01'", "'First floor'"), True),
    "storey elevation edited": (_sub(30, ".ELEMENT.,3.6);", ".ELEMENT.,3.65);"), True),
    "element put in a system by a new group rel": (_new_group, True),
    "element removed from a system": (lambda t, tmp: ed.drop_ref(t, 3957, 1023), True),
    "system renamed": (_sub(3956, "'Supply Air'", "'Supply Air North'"), True),
    "element given another type": (lambda t, tmp: ed.add_ref(ed.drop_ref(t, 3799, 288), 3835, 1426, 288), True),
    "type predefined type edited": (_sub(3798, ".BASESLAB.);", ".FLOOR.);"), True),
    "flight taken out of its stair aggregate": (lambda t, tmp: ed.delete_records(t, [3792]), True),
    "stair moved to another storey (its flight follows)": (lambda t, tmp: ed.add_ref(ed.drop_ref(t, 3787, 922), 3788, 1426, 922), True),
    "second containment rel for an element (the first one wins)": (
        lambda t, tmp: ed.append_records(
            t, [f"#{ed.next_id(t)}=IFCRELCONTAINEDINSPATIALSTRUCTURE('{ed.new_guid()}',$,$,$,(#121),#30);"]), False),
    "new containment rel numbered below the old one (now it wins)": (_rel_taking_a_low_number, True),
    # 7. elements added, deleted, re-classed, re-identified
    "element added": (_new_beam, True),
    "element deleted": (_delete_beam, True),
    "element class changed on the same line": (_sub(728, "=IFCWALL(", "=IFCSLAB("), True),
    "element class changed with its predefined type": (
        _chain(_sub(728, "=IFCWALL(", "=IFCSLAB("), _sub(728, ".SOLIDWALL.", ".FLOOR.")), True),
    "GlobalId changed": (lambda t, tmp: ed.sub_record(t, 1730, gid(t, 1730), ed.new_guid()), True),
    "GlobalIds of two elements swapped": (_swap_guids, True),
    "GlobalId duplicated": (lambda t, tmp: ed.sub_record(t, 1759, gid(t, 1759), gid(t, 1730)), True),
    "representation removed": (_sub(1730, ",#1729,", ",$,"), True),
    "representation swapped with a slab's": (_sub(1730, ",#1729,", ",#287,"), True),
    "representation swapped with an identical beam's": (_sub(1730, ",#1729,", ",#1758,"), False),
    "element name with STEP syntax in it": (_sub(1730, "'Beam A/1-2 Level 01'", "'B;#1759=IFCWALL(''x'',#5);\\X\\E9'"), True),
    "element line moved to the end of the file": (_beam_line_to_end, False),
    # 8-10. header, units, numbering, formatting
    "header time stamp only": (lambda t, tmp: ed.set_file_name_timestamp(t, "2026-11-21T10:00:00"), False),
    "length unit metre -> millimetre": (_sub(1, ".LENGTHUNIT.,$,.METRE.", ".LENGTHUNIT.,.MILLI.,.METRE."), True),
    "project name edited (its long name is what the reader shows)": (
        _sub(20, "'Demo Building',$,$,'twin", "'Demo Tower',$,$,'twin"), False),
    "project long name edited": (_sub(20, "'twin demo building'", "'twin demo tower'"), True),
    "every #id shifted by 1000": (lambda t, tmp: ed.renumber(t, 1000), False),
    "renumbered and one element moved": (lambda t, tmp: ed.renumber(_move_duct(t, tmp), 1000), True),
    "record split over two lines (formatting only)": (_multi_line_record, True),
    "line endings changed to CRLF": (lambda t, tmp: t.replace("\n", "\r\n"), False),
    "two property records swap numbers (set order changes)": (
        lambda t, tmp: ed.set_record(ed.set_record(t, 122, ed.get_record(t, 123).replace("#123=", "#122=", 1)),
                                     123, ed.get_record(t, 122).replace("#122=", "#123=", 1)), True),
    "lower-case class name": (lambda t, tmp: ed.sub_record(t, 1730, "=IFCBEAM(", "=IfcBeam("), False),
    "trailing blanks after a record": (lambda t, tmp: ed.set_record(t, 1730, ed.get_record(t, 1730) + "  "), False),
    "record line duplicated": (lambda t, tmp: ed.append_records(t, [ed.get_record(t, 122)]), False),
    "record line duplicated with another value": (
        lambda t, tmp: ed.append_records(t, [ed.get_record(t, 122).replace("'PF2000x600'", "'PF9'")]), False),
    "element line moved after the DATA section's ENDSEC": (
        lambda t, tmp: ed.delete_records(t, [1730]).replace("ENDSEC;\nEND-ISO", f"ENDSEC;\n{ed.get_record(t, 1730)}\nEND-ISO"), False),
    "edited record moved after END-ISO-10303-21": (
        lambda t, tmp: ed.delete_records(t, [122]) + ed.get_record(t, 122).replace("'PF2000x600'", "'PF9'") + "\n", True),
    "comment line added in DATA": (lambda t, tmp: ed.append_records(t, ["/* edited by hand */"]), False),
    "blank lines and indentation": (lambda t, tmp: ed.set_record(t, 1730, "\n  " + ed.get_record(t, 1730)), False),
    "unreferenced record appended": (lambda t, tmp: ed.append_records(t, [f"#{ed.next_id(t)}=IFCCARTESIANPOINT((5.,5.,5.));"]), False),
    "geometric context precision edited": (_sub(13, "3,1.E-05,#11", "3,1.E-03,#11"), False),
}


@pytest.fixture(scope="module")
def demo_loaded(tmp_path_factory, demo_text) -> tuple[Path, Path, BuildingModel]:
    """The demo building loaded once through a template cache (path, cache, model): a test copies the
    cache and edits the same path, which saves a full read and tessellation per edit."""
    root = tmp_path_factory.mktemp("demo")
    path, cache = root / "model.ifc", root / "cache"
    ed.write_step(path, demo_text)
    return path, cache, load_model(path, cache_dir=cache)


@pytest.mark.parametrize("name", list(DEMO_EDITS))
def test_an_edited_demo_building_loads_equal_to_a_full_read(name, tmp_path, spy, demo_text, demo_loaded):
    edit, changes = DEMO_EDITS[name]
    edited = edit(demo_text, tmp_path)
    assert edited != demo_text
    path, template, before = demo_loaded
    shutil.copytree(template, tmp_path / "cache")
    ed.write_step(path, demo_text)           # the last test left its edit here
    run = load_edit(tmp_path, spy, demo_text, edited, loaded=(path, before))
    # the edit is what it claims to be: the full read sees a change (or agrees there is none)
    assert bool(differences(run.before, run.fresh, files="content")) == changes, differences(run.before, run.fresh, files="content")[:5]


# --------------------------------------------------------------------------- the delta path is used

def test_a_moved_element_is_reloaded_alone_through_the_delta_path(tmp_path, spy, demo_text):
    duct = gid(demo_text, 1023)
    run = load_edit(tmp_path, spy, demo_text, _move_duct(demo_text, tmp_path))
    run.seen.assert_delta_used()
    assert run.seen.tessellated_ids == {duct}
    assert set(run.seen.extracted) <= {duct}
    before, after = run.before.elements[duct], run.after.elements[duct]
    assert math.isclose(after.placement[2] - before.placement[2], 0.3, abs_tol=1e-9)
    assert np.allclose(run.after.meshes[duct].vertices, run.before.meshes[duct].vertices + [0.0, 0.0, 0.3])


@pytest.mark.parametrize("name, rid, affected", [
    ("occurrence property value", 122, "footings sharing Pset_FootingCommon"),
    ("type property value (every duct of the type)", 3808, "ducts of type D600x300"),
    ("quantity value", 135, "the footing of the quantity set"),
])
def test_a_record_only_edit_uses_the_delta_path_and_tessellates_nothing(name, rid, affected, tmp_path, spy, demo_text):
    edit, _ = DEMO_EDITS[name]
    run = load_edit(tmp_path, spy, demo_text, edit(demo_text, tmp_path))
    run.seen.assert_delta_used()
    assert run.seen.tessellated_ids == set(), f"a {name} edit changes no geometry"
    changed = {g for g in run.fresh.elements
               if differences(_only(run.before, g), _only(run.fresh, g), files="content")}
    assert changed, f"the edit changed no element ({affected})"
    assert set(run.seen.extracted) <= _elements_referencing(demo_text, rid, run.fresh), (
        f"re-read elements the edit cannot affect: {sorted(set(run.seen.extracted))[:10]}")


def test_a_header_only_save_uses_the_delta_path_and_reads_nothing(tmp_path, spy, demo_text):
    run = load_edit(tmp_path, spy, demo_text, ed.set_file_name_timestamp(demo_text, "2026-11-21T10:00:00"))
    run.seen.assert_delta_used()
    assert run.seen.tessellated_ids == set()
    assert run.seen.extracted == []
    assert run.after.files[0].sha256 != run.before.files[0].sha256


def _only(model: BuildingModel, global_id: str) -> BuildingModel:
    """The model reduced to one element (for per-element comparisons)."""
    element = model.elements[global_id]
    meshes = {global_id: model.meshes[global_id]} if global_id in model.meshes else {}
    return BuildingModel(files=model.files, storeys=model.storeys, elements={global_id: element}, meshes=meshes)


def _elements_referencing(text: str, rid: int, model: BuildingModel) -> set[str]:
    """GlobalIds of the model's elements whose STEP records reach #rid through references in either
    direction (a generous bound on what an edit of #rid can affect)."""
    refs: dict[int, set[int]] = {}
    for m in re.finditer(r"^#(\d+)\s*=(.*)$", text, flags=re.M):
        body = re.sub(r"'(?:[^']|'')*'", "''", m.group(2))
        refs[int(m.group(1))] = {int(x) for x in re.findall(r"#(\d+)", body)}
    back: dict[int, set[int]] = {}
    for a, bs in refs.items():
        for b in bs:
            back.setdefault(b, set()).add(a)
    # records that reference #rid (transitively: psets, rels, types), then what those rels point at
    up, todo = {rid}, [rid]
    while todo:
        for a in back.get(todo.pop(), ()):
            if a not in up:
                up.add(a)
                todo.append(a)
    reach = set(up)
    for a in up:
        reach |= refs.get(a, set())
    by_id = {int(m.group(1)): m.group(2) for m in re.finditer(r"^#(\d+)\s*=\s*\w+\('([^']*)'", text, flags=re.M)}
    return {by_id[i] for i in reach if i in by_id and by_id[i] in model.elements}


def test_a_space_moved_to_another_storey_moves_the_storey_of_what_it_contains(tmp_path, spy, demo_text):
    """Footing #121 sits in a space aggregated into Level 00; the edit re-aggregates the space into
    Level 01: the footing's storey (found through its container's parents) changes although none of
    its own records did."""
    n = ed.next_id(demo_text)
    base = ed.drop_ref(demo_text, 3787, 121)
    base = ed.append_records(base, [
        f"#{n}=IFCSPACE('{ed.new_guid()}',$,'Plant room',$,$,#25,$,'Plant room',.ELEMENT.,.INTERNAL.,$);",
        f"#{n + 1}=IFCRELAGGREGATES('{ed.new_guid()}',$,$,$,#26,(#{n}));",
        f"#{n + 2}=IFCRELCONTAINEDINSPATIALSTRUCTURE('{ed.new_guid()}',$,$,$,(#121),#{n});",
    ])
    edited = ed.sub_record(base, n + 1, ",#26,(", ",#30,(")
    run = load_edit(tmp_path, spy, base, edited)
    footing = gid(demo_text, 121)
    assert run.before.elements[footing].storey == "Level 00"
    assert run.after.elements[footing].storey == "Level 01"
    assert run.after.elements[footing].container == gid(base, n)


def test_systems_of_a_reread_element_keep_the_full_read_order(tmp_path, spy, demo_text):
    """Duct #1023 is in three systems through a plain rel, a by-factor rel (a subclass) and a plain rel
    numbered after it; moved, it is read again from the rels that reach it: same systems, same order."""
    n = ed.next_id(demo_text)
    base = ed.append_records(demo_text, [
        f"#{n}=IFCDISTRIBUTIONSYSTEM('{ed.new_guid()}',$,'Smoke extract',$,$,$,.VENTILATION.);",
        f"#{n + 1}=IFCDISTRIBUTIONSYSTEM('{ed.new_guid()}',$,'Kitchen extract',$,$,$,.EXHAUST.);",
        f"#{n + 2}=IFCRELASSIGNSTOGROUPBYFACTOR('{ed.new_guid()}',$,$,$,(#1023),$,#{n},0.5);",
        f"#{n + 3}=IFCRELASSIGNSTOGROUP('{ed.new_guid()}',$,$,$,(#1023),$,#{n + 1});",
    ])
    run = load_edit(tmp_path, spy, base, _move_duct(base, tmp_path))
    duct = gid(demo_text, 1023)
    assert len(run.fresh.elements[duct].systems) == 3, run.fresh.elements[duct].systems
    run.seen.assert_delta_used()
    assert duct in run.seen.extracted


# --------------------------------------------------------------------------- sequences, partial loads, federations

def test_two_successive_edits_and_going_back(tmp_path, spy, demo_text):
    path, cache = tmp_path / "model.ifc", tmp_path / "cache"
    ed.write_step(path, demo_text)
    original = load_model(path, cache_dir=cache)
    first = _move_duct(demo_text, tmp_path)
    second = DEMO_EDITS["occurrence property value"][0](first, tmp_path)
    third = DEMO_EDITS["element moved to another storey"][0](second, tmp_path)
    for text in (first, second, third, demo_text, third):
        ed.write_step(path, text)
        assert_same_model(load_model(path, cache_dir=cache), load_model(path, use_cache=False))
    ed.write_step(path, demo_text)
    assert_same_model(load_model(path, cache_dir=cache), original)


def test_an_edit_on_top_of_a_delta_loaded_edit(tmp_path, spy, demo_text):
    """Second edit made from the first edit's text (the first loaded through the delta path): still a
    delta, re-tessellating at most what differs from the last fully loaded version (the original)."""
    first = _move_duct(demo_text, tmp_path)
    path, cache = tmp_path / "model.ifc", tmp_path / "cache"
    ed.write_step(path, demo_text)
    load_model(path, cache_dir=cache)
    ed.write_step(path, first)
    load_model(path, cache_dir=cache)
    beam = gid(first, 1730)
    second = ed.moved_up_text(first, tmp_path, beam, 0.2)
    spy.reset()
    ed.write_step(path, second)
    after = load_model(path, cache_dir=cache)
    seen = spy.snapshot()
    assert_same_model(after, load_model(path, use_cache=False))
    seen.assert_delta_used()
    assert beam in seen.tessellated_ids <= {beam, gid(first, 1023)}


@pytest.mark.parametrize("base_geometry, geometry", [(False, False), (True, False), (False, True)])
def test_records_only_loads_of_an_edited_file(base_geometry, geometry, tmp_path, spy, demo_text):
    for name in ("occurrence property value", "duct moved by a new local placement", "element deleted"):
        sub = tmp_path / name.replace(" ", "_")
        sub.mkdir()
        edit, _ = DEMO_EDITS[name]
        run = load_edit(sub, spy, demo_text, edit(demo_text, sub), geometry=geometry, base_geometry=base_geometry)
        if not geometry:
            assert not run.after.meshes and all(e.bbox is None for e in run.after.elements.values())


@pytest.mark.parametrize("base_settings, settings", [(None, {"weld-vertices": False}),
                                                     ({"weld-vertices": False}, {"weld-vertices": False}),
                                                     ({"weld-vertices": False}, None)])
def test_geometry_settings_of_the_base_and_of_the_edit(base_settings, settings, tmp_path, spy, demo_text):
    """Meshes made with other settings are never reused: the delta takes the base's meshes of the
    settings asked for, or reads in full."""
    run = load_edit(tmp_path, spy, demo_text, _move_duct(demo_text, tmp_path), settings=settings,
                    base_settings=base_settings)
    if base_settings == settings:
        run.seen.assert_delta_used()
        assert run.seen.tessellated_ids == {gid(demo_text, 1023)}


def test_an_edit_loaded_without_geometry_then_with_it(tmp_path, spy, demo_text):
    """A records-only load of the edit (a summary), then a load with geometry (a clash run), then records only again."""
    path, cache = tmp_path / "model.ifc", tmp_path / "cache"
    ed.write_step(path, demo_text)
    load_model(path, cache_dir=cache)
    ed.write_step(path, _move_duct(demo_text, tmp_path))
    for geometry in (False, True, False, True):
        assert_same_model(load_model(path, cache_dir=cache, geometry=geometry),
                          load_model(path, use_cache=False, geometry=geometry))


@pytest.mark.parametrize("name", ["duct moved by a new local placement", "element deleted", "occurrence property value",
                                  "header time stamp only"])
def test_a_federated_load_with_one_file_edited(name, tmp_path, spy, demo_text):
    other = tmp_path / "small.ifc"
    build_small_model(other, broken=True)
    edit, _ = DEMO_EDITS[name]
    run = load_edit(tmp_path, spy, demo_text, edit(demo_text, tmp_path), others=(other,))
    assert len(run.after.files) == 2
    assert run.after.files[1] == run.before.files[1]


@pytest.mark.parametrize("edited_first", [True, False])
def test_a_federation_of_two_copies_sharing_every_global_id(edited_first, tmp_path, spy, demo_text):
    """Every element is in both files (kept once, the first copy); one copy is edited."""
    other = tmp_path / "copy.ifc"
    ed.write_step(other, demo_text)
    path, cache = tmp_path / "model.ifc", tmp_path / "cache"
    paths = [path, other] if edited_first else [other, path]
    ed.write_step(path, demo_text)
    load_model(paths, cache_dir=cache)
    ed.write_step(path, _move_duct(demo_text, tmp_path))
    after = load_model(paths, cache_dir=cache)
    assert_same_model(after, load_model(paths, use_cache=False))
    duct = gid(demo_text, 1023)
    assert after.elements[duct].file == str(paths[0])


def test_one_path_listed_twice_in_a_federation(tmp_path, spy, demo_text):
    """The second listing shares every GlobalId with the first (kept once, with a warning)."""
    path = tmp_path / "model.ifc"
    run = load_edit(tmp_path, spy, demo_text, _move_duct(demo_text, tmp_path), others=(path,))
    assert len(run.after.files) == 2 and run.after.warnings


@pytest.mark.parametrize("name", ["type property value (every duct of the type)", "duct moved by a new local placement"])
def test_the_same_edit_twice_and_a_revert_through_one_cache(name, tmp_path, spy, demo_text):
    """Loading the edited file a second time hits its own cache entry; the original's entry is still right."""
    edited = DEMO_EDITS[name][0](demo_text, tmp_path)
    run = load_edit(tmp_path, spy, demo_text, edited)
    path, cache = tmp_path / "model.ifc", tmp_path / "cache"
    assert_same_model(load_model(path, cache_dir=cache), run.fresh)
    ed.write_step(path, demo_text)
    assert_same_model(load_model(path, cache_dir=cache), run.before)


def test_a_reread_element_keeps_its_warning_once(tmp_path, spy, demo_text):
    """Elements whose data cannot be read carry a warning each (simulated: extraction raises); one of
    them moved, so read again by the delta path, still has exactly the full read's warnings."""
    duct, beam = gid(demo_text, 1023), gid(demo_text, 1730)
    spy.fail_for = {duct, beam}
    run = load_edit(tmp_path, spy, demo_text, _move_duct(demo_text, tmp_path))
    run.seen.assert_delta_used()
    assert [w for w in run.fresh.warnings if duct in w] and [w for w in run.fresh.warnings if beam in w]
    assert sum(duct in w for w in run.after.warnings) == 1, run.after.warnings


def test_warnings_name_the_path_loaded_when_a_copy_comes_from_the_cache(tmp_path, spy, demo_text):
    """The same content at two paths shares cache entries; each load's warnings name its own path, as
    a full read of that path does (then the copy is edited: the delta path's warnings too)."""
    beam = gid(demo_text, 1730)
    spy.fail_for = {beam}
    a, b, cache = tmp_path / "a.ifc", tmp_path / "b.ifc", tmp_path / "cache"
    ed.write_step(a, demo_text)
    ed.write_step(b, demo_text)
    load_model(b, cache_dir=cache)
    load_model(a, cache_dir=cache)
    assert_same_model(load_model(a, cache_dir=cache), load_model(a, use_cache=False))
    ed.write_step(b, _move_duct(demo_text, tmp_path))
    assert_same_model(load_model(b, cache_dir=cache), load_model(b, use_cache=False))


def test_a_moved_element_that_fails_to_tessellate_keeps_the_failure_order(tmp_path, spy):
    """Two elements whose geometry fails; the first one moved: the failures come in the full read's order."""
    path = tmp_path / "built.ifc"
    ids = build_small_model(path, broken=True)
    text = ed.read_step(path)
    proxy = ed.id_of(text, ids["broken"])
    line = ed.get_record(text, proxy)
    n = ed.next_id(text)
    twin_gid = ed.new_guid()
    text = ed.append_records(text, [line.replace(f"#{proxy}=", f"#{n}=", 1).replace(ids["broken"], twin_gid, 1)
                                    .replace("'Broken'", "'Broken twin'", 1)])
    rel = next(r for r in ed.referrers(text, proxy) if "IFCRELCONTAINEDINSPATIALSTRUCTURE" in ed.get_record(text, r))
    text = ed.add_ref(text, rel, proxy, n)
    edited = ed.moved_up_text(text, tmp_path, ids["broken"], 100.0)
    run = load_edit(tmp_path, spy, text, edited, name="small.ifc")
    assert [f.global_id for f in run.fresh.geometry_failures] == [ids["broken"], twin_gid]
    run.seen.assert_delta_used()


# --------------------------------------------------------------------------- damaged lines

@pytest.mark.parametrize("rid, damage, warns", [
    (122, lambda line: line[:-3] + ";", True),                                   # a property loses its brackets
    (1730, lambda line: line[:-2] + ";", True),                                  # an element loses its bracket
    (1730, lambda line: line.replace("'", "", 1), True),                         # unterminated string
    (3957, lambda line: line.replace("IFCRELASSIGNSTOGROUP", "IFCRELASSIGNSTOGRUOP"), True),  # unknown entity
    (3957, lambda line: line.replace("(#1023,", "(#99999,", 1), True),          # reference to no record
    (3957, lambda line: line.replace("(#1023,", "(#1023,,", 1), False),         # empty list member (tolerated)
    (3957, lambda line: line.replace(",$,#3956);", ",#3956);", 1), False),      # one attribute missing
], ids=["property-bracket", "element-bracket", "unterminated-string", "unknown-entity", "dangling-ref",
        "empty-member", "attribute-missing"])
def test_a_damaged_line_gives_the_warnings_of_a_full_read(rid, damage, warns, tmp_path, spy, demo_text):
    line = ed.get_record(demo_text, rid)
    fresh = _same_as_full_read_or_same_error(tmp_path, demo_text, ed.set_record(demo_text, rid, damage(line)))
    if fresh is not None:
        assert any("parse error" in w for w in fresh.warnings) == warns, fresh.warnings


def _same_as_full_read_or_same_error(tmp_path, base: str, edited: str):
    """Load ``base`` through a cache, overwrite it with ``edited`` and load again: when the full read
    refuses the file (the parser gives up), the cached load must raise the same error (None is
    returned); otherwise the models must be equal (the full read's model is returned)."""
    path, cache = tmp_path / "model.ifc", tmp_path / "cache"
    ed.write_step(path, base)
    load_model(path, cache_dir=cache)
    ed.write_step(path, edited)
    try:
        fresh = load_model(path, use_cache=False)
    except TwinError as exc:
        with pytest.raises(type(exc)) as cached:
            load_model(path, cache_dir=cache)
        assert str(cached.value) == str(exc)
        return None
    assert_same_model(load_model(path, cache_dir=cache), fresh)
    return fresh


HEADER_EDITS = {
    "FILE_NAME left unclosed": ("'twin demo-building generator','none');", "'twin demo-building generator','none';"),
    "ISO-10303-21 first line removed": ("ISO-10303-21;\n", ""),
    "garbage line in the header": ("FILE_SCHEMA(('IFC4'));", "FILE_SCHEMA(('IFC4'));\nGARBAGE(((;"),
    "header ENDSEC removed": ("FILE_SCHEMA(('IFC4'));\nENDSEC;", "FILE_SCHEMA(('IFC4'));"),
    "END-ISO-10303-21 removed": ("END-ISO-10303-21;", ""),
    "schema spelled in lower case": ("FILE_SCHEMA(('IFC4'))", "FILE_SCHEMA(('ifc4'))"),
    "schema changed to IFC4X3": ("FILE_SCHEMA(('IFC4'))", "FILE_SCHEMA(('IFC4X3_ADD2'))"),
}


@pytest.mark.parametrize("name", list(HEADER_EDITS))
def test_a_header_edit_reads_as_a_full_read_does(name, tmp_path, spy, demo_text):
    """Data lines unchanged, header edited: when the full read refuses the file, so must the cached
    load (same error), otherwise the models are equal."""
    old, new = HEADER_EDITS[name]
    assert old in demo_text
    _same_as_full_read_or_same_error(tmp_path, demo_text, demo_text.replace(old, new, 1))


def test_a_damaged_line_then_repaired(tmp_path, spy, demo_text):
    line = ed.get_record(demo_text, 122)
    damaged = ed.set_record(demo_text, 122, line[:-3] + ";")
    run = load_edit(tmp_path, spy, demo_text, damaged)
    repaired = ed.sub_record(demo_text, 122, "'PF2000x600'", "'PF2100x600'")
    path, cache = tmp_path / "model.ifc", tmp_path / "cache"
    ed.write_step(path, repaired)
    assert_same_model(load_model(path, cache_dir=cache), load_model(path, use_cache=False))
    assert run.after.warnings


# --------------------------------------------------------------------------- the small IFC4 model (millimetres)

@pytest.fixture
def small(tmp_path) -> tuple[str, dict[str, str]]:
    """The small model with an opening cutting wall1, written with owner histories; its text and ids."""
    path = tmp_path / "built.ifc"
    with ed.authoring_user():
        ids = build_small_model(path, broken=True)
    ed.add_opening_geometry(path, ids)
    return ed.read_step(path), ids


def test_small_model_has_what_the_edits_need(small):
    text, ids = small
    assert ed.record_ids(text, "IFCOWNERHISTORY") and ed.record_ids(text, "IFCRELVOIDSELEMENT")
    assert ed.record_ids(text, "IFCRELASSOCIATESMATERIAL")


def _small_edit(text: str, ids: dict[str, str], tmp: Path, name: str) -> str:
    if name == "opening moved":
        return ed.moved_up_text(text, tmp, ids["opening"], 800.0)
    if name == "opening deleted":
        voids = ed.record_ids(text, "IFCRELVOIDSELEMENT")
        return ed.delete_records(text, [*voids, ed.id_of(text, ids["opening"])])
    if name == "opening re-hosted to the other wall":
        rel = ed.record_ids(text, "IFCRELVOIDSELEMENT")[0]
        return ed.replace_ref(text, rel, ed.id_of(text, ids["wall1"]), ed.id_of(text, ids["wall2"]))
    if name == "opening made deeper in place":
        opening = ed.id_of(text, ids["opening"])
        shape = int(re.findall(r"#(\d+)", ed.get_record(text, opening))[-1])
        rep = int(re.findall(r"#(\d+)", ed.get_record(text, shape).split("=", 1)[1])[-1])
        solid = int(re.findall(r"#(\d+)", ed.get_record(text, rep).split("=", 1)[1])[-1])
        line = ed.get_record(text, solid)
        assert "IFCEXTRUDEDAREASOLID" in line, line
        depth = line.rsplit(",", 1)[1].rstrip(");")
        return ed.set_record(text, solid, line[:line.rindex(",") + 1] + repr(float(depth) * 0.5) + ");")
    if name == "type material changed":
        rel = ed.record_ids(text, "IFCRELASSOCIATESMATERIAL")[0]
        n = ed.next_id(text)
        text = ed.append_records(text, [f"#{n}=IFCMATERIAL('Brick',$,$);"])
        line = ed.get_record(text, rel)
        return ed.set_record(text, rel, line[:line.rindex("#")] + f"#{n});")
    if name == "type property value":
        rid = next(r for r in ed.record_ids(text, "IFCPROPERTYSINGLEVALUE") if "'IsExternal'" in ed.get_record(text, r))
        return ed.sub_record(text, rid, "IFCBOOLEAN(.T.)", "IFCBOOLEAN(.F.)")
    if name == "occurrence property overriding the type":
        rid = next(r for r in ed.record_ids(text, "IFCPROPERTYSINGLEVALUE") if "'REI90'" in ed.get_record(text, r))
        return ed.sub_record(text, rid, "'REI90'", "'REI120'")
    if name == "property unit set":
        rid = next(r for r in ed.record_ids(text, "IFCPROPERTYSINGLEVALUE") if "'Offset'" in ed.get_record(text, r))
        n = ed.next_id(text)
        text = ed.append_records(text, [f"#{n}=IFCSIUNIT(*,.LENGTHUNIT.,$,.METRE.);"])
        return ed.sub_record(text, rid, "IFCLENGTHMEASURE(250.),$)", f"IFCLENGTHMEASURE(250.),#{n})")
    if name == "length unit millimetre -> metre":
        rid = next(r for r in ed.record_ids(text, "IFCSIUNIT") if ".LENGTHUNIT." in ed.get_record(text, r))
        return ed.sub_record(text, rid, ".MILLI.", "$")
    if name == "owner history edited":
        rid = ed.record_ids(text, "IFCOWNERHISTORY")[0]
        line = ed.get_record(text, rid)
        return ed.set_record(text, rid, line.replace(".ADDED.", ".MODIFIED.", 1).replace(",$,", ",1700000000,", 1)
                             if ".ADDED." in line else line[:-2] + "1);")
    if name == "broken element repaired":
        rid = next(r for r in ed.record_ids(text, "IFCPOLYLOOP"))
        n = ed.next_id(text)
        text = ed.append_records(text, [f"#{n}=IFCCARTESIANPOINT((1000.,0.,0.));", f"#{n + 1}=IFCCARTESIANPOINT((0.,1000.,0.));"])
        line = ed.get_record(text, rid)
        return ed.set_record(text, rid, line[:-3] + f",#{n},#{n + 1}));")
    raise AssertionError(name)


SMALL_EDITS = ["opening moved", "opening deleted", "opening re-hosted to the other wall", "opening made deeper in place",
               "type material changed", "type property value",
               "occurrence property overriding the type", "property unit set", "length unit millimetre -> metre",
               "owner history edited", "broken element repaired"]


@pytest.mark.parametrize("name", SMALL_EDITS)
def test_an_edited_small_model_loads_equal_to_a_full_read(name, tmp_path, spy, small):
    text, ids = small
    edited = _small_edit(text, ids, tmp_path, name)
    assert edited != text
    run = load_edit(tmp_path, spy, text, edited, name="small.ifc")
    changed = differences(run.before, run.fresh, files="content")
    assert bool(changed) == (name != "owner history edited"), changed[:5]
    if name == "owner history edited":
        run.seen.assert_delta_used()
        assert run.seen.tessellated_ids == set() and run.seen.extracted == []
    if name.startswith("opening"):
        # the opening box sits in wall1 only: re-hosted to wall2 it cuts nothing there (wall1 is whole again)
        for wall in (ids["wall1"], ids["wall2"]):
            same = np.array_equal(run.after.meshes[wall].vertices, run.before.meshes[wall].vertices)
            assert same == (wall == ids["wall2"]), (name, wall)
        if run.seen.delta_used:
            cut = {ids["wall1"], ids["wall2"]} if "re-hosted" in name else {ids["wall1"]}
            assert run.seen.tessellated_ids == cut


@pytest.mark.parametrize("storey_renamed", [False, True], ids=["delta", "full-read-reusing-meshes"])
@pytest.mark.parametrize("edit", ["opening moved", "wall1 taken out of the assembly", "opening of an outer assembly moved"])
def test_an_opening_of_an_assembly_cuts_its_parts(edit, storey_renamed, tmp_path, spy):
    """The opening voids an IfcElementAssembly that aggregates wall1: the geometry kernel subtracts the
    openings of the whole from its parts, so moving the opening, or taking wall1 out of the assembly,
    changes wall1's mesh. With the storey renamed too the records are read in full and meshes are
    reused by geometry fingerprints."""
    import ifcopenshell.api.aggregate
    import ifcopenshell.api.root

    def outer_assembly(f, assembly):
        if edit != "opening of an outer assembly moved":
            return assembly
        outer = ifcopenshell.api.root.create_entity(f, ifc_class="IfcElementAssembly", name="Outer assembly")
        ifcopenshell.api.aggregate.assign_object(f, relating_object=outer, products=[assembly])
        return outer                                      # the opening voids the assembly of the assembly

    ids, text, aggregate, _ = _voided_assembly(tmp_path, "wall1", outer_assembly)
    if edit in ("opening moved", "opening of an outer assembly moved"):
        edited = ed.moved_up_text(text, tmp_path, ids["opening"], 800.0)
    else:
        rel = ed.get_record(text, aggregate)
        edited = ed.delete_records(text, [aggregate])
        assert f"(#{ed.id_of(text, ids['wall1'])})" in rel, rel
    if storey_renamed:
        edited = edited.replace("'Level 1'", "'Level one'", 1)
    run = load_edit(tmp_path, spy, text, edited, name="small.ifc")
    wall = ids["wall1"]
    assert run.before.meshes[wall].vertices.shape != run.before.meshes[ids["wall2"]].vertices.shape, \
        "the assembly's opening cuts wall1"
    assert not np.array_equal(run.fresh.meshes[wall].vertices, run.before.meshes[wall].vertices)


def _voided_assembly(tmp_path, part: str, voided=lambda f, assembly: assembly):
    """The small model with its opening geometry, ``part`` (a wall key) aggregated into a new
    IfcElementAssembly, and the opening voiding ``voided(file, assembly)`` (the assembly itself by
    default) instead of its wall. Returns the ids, the STEP text, and the step ids of the aggregation
    and of the assembly."""
    import ifcopenshell.api.aggregate
    import ifcopenshell.api.root

    path = tmp_path / "built.ifc"
    ids = build_small_model(path)
    ed.add_opening_geometry(path, ids)
    f = ifcopenshell.open(str(path))
    assembly = ifcopenshell.api.root.create_entity(f, ifc_class="IfcElementAssembly", name="Assembly")
    ifcopenshell.api.aggregate.assign_object(f, relating_object=assembly, products=[f.by_guid(ids[part])])
    aggregate, asm_id = assembly.IsDecomposedBy[0].id(), assembly.id()
    host = voided(f, assembly)
    for rel in f.by_type("IfcRelVoidsElement"):
        rel.RelatingBuildingElement = host
    f.write(str(path))
    return ids, ed.read_step(path), aggregate, asm_id


@pytest.mark.parametrize("storey_renamed", [False, True], ids=["delta", "full-read-reusing-meshes"])
@pytest.mark.parametrize("how", ["its aggregate rel edited", "a new aggregate rel"])
def test_a_wall_put_into_an_assembly_gets_the_assembly_openings(how, storey_renamed, tmp_path, spy):
    """The assembly holds wall2 and is voided by an opening where wall1 stands (cutting nothing);
    the edit makes wall1 a part of the assembly too: now the opening cuts it."""
    ids, text, aggregate, asm_id = _voided_assembly(tmp_path, "wall2")
    wall1, wall2 = ed.id_of(text, ids["wall1"]), ed.id_of(text, ids["wall2"])
    if how == "its aggregate rel edited":
        edited = ed.add_ref(text, aggregate, wall2, wall1)
    else:
        edited = ed.append_records(text, [f"#{ed.next_id(text)}=IFCRELAGGREGATES('{ed.new_guid()}',$,$,$,#{asm_id},(#{wall1}));"])
    if storey_renamed:
        edited = edited.replace("'Level 1'", "'Level one'", 1)
    run = load_edit(tmp_path, spy, text, edited, name="small.ifc")
    wall = ids["wall1"]
    assert run.fresh.meshes[wall].vertices.shape != run.before.meshes[wall].vertices.shape, "now the opening cuts wall1"


def test_a_part_follows_its_assembly_to_another_storey(tmp_path, spy):
    """wall1 has no container of its own: it is a part of an assembly contained in Level 1. The edit
    moves the assembly to Level 2's containment: wall1's storey and container change with it."""
    import ifcopenshell.api.aggregate
    import ifcopenshell.api.root
    import ifcopenshell.api.spatial

    path = tmp_path / "built.ifc"
    ids = build_small_model(path)
    f = ifcopenshell.open(str(path))
    level1 = f.by_type("IfcBuildingStorey")[0]
    level2 = ifcopenshell.api.root.create_entity(f, ifc_class="IfcBuildingStorey", name="Level 2")
    level2.Elevation = 6000.0
    ifcopenshell.api.aggregate.assign_object(f, relating_object=f.by_type("IfcBuilding")[0], products=[level2])
    wall1, duct = f.by_guid(ids["wall1"]), f.by_guid(ids["duct"])
    assembly = ifcopenshell.api.root.create_entity(f, ifc_class="IfcElementAssembly", name="Assembly")
    ifcopenshell.api.spatial.unassign_container(f, products=[wall1])
    ifcopenshell.api.aggregate.assign_object(f, relating_object=assembly, products=[wall1])
    ifcopenshell.api.spatial.assign_container(f, relating_structure=level1, products=[assembly])
    ifcopenshell.api.spatial.assign_container(f, relating_structure=level2, products=[duct])
    rel1 = assembly.ContainedInStructure[0].id()
    rel2 = duct.ContainedInStructure[0].id()
    asm_id = assembly.id()
    f.write(str(path))
    text = ed.read_step(path)
    edited = ed.add_ref(ed.drop_ref(text, rel1, asm_id), rel2, duct.id(), asm_id)
    run = load_edit(tmp_path, spy, text, edited, name="small.ifc")
    assert run.before.elements[ids["wall1"]].storey == "Level 1"
    assert run.after.elements[ids["wall1"]].storey == "Level 2"
    assert run.seen.delta_used


def test_an_opening_moved_is_a_delta_that_retessellates_its_wall(tmp_path, spy, small):
    text, ids = small
    run = load_edit(tmp_path, spy, text, _small_edit(text, ids, tmp_path, "opening moved"), name="small.ifc")
    run.seen.assert_delta_used()
    assert run.seen.tessellated_ids == {ids["wall1"]}


def test_a_base_loaded_by_a_relative_path_and_the_edit_by_an_absolute_one(tmp_path, spy, small, monkeypatch):
    """The two spellings of one path share the base; everything that names the file (elements, storeys,
    failures, warnings) names it as the edited load spelled it."""
    text, ids = small
    spy.fail_for = {ids["wall2"]}
    monkeypatch.chdir(tmp_path)
    ed.write_step(tmp_path / "small.ifc", text)
    cache = tmp_path / "cache"
    load_model("small.ifc", cache_dir=cache)
    spy.reset()
    ed.write_step(tmp_path / "small.ifc", _small_edit(text, ids, tmp_path, "opening moved"))
    after = load_model(tmp_path / "small.ifc", cache_dir=cache)
    seen = spy.snapshot()
    fresh = load_model(tmp_path / "small.ifc", use_cache=False)
    assert fresh.warnings and fresh.geometry_failures
    assert_same_model(after, fresh)
    seen.assert_delta_used()


def test_a_type_property_edit_reaches_every_element_of_the_type(tmp_path, spy, small):
    text, ids = small
    run = load_edit(tmp_path, spy, text, _small_edit(text, ids, tmp_path, "type property value"), name="small.ifc")
    for wall in ("wall1", "wall2"):
        key = next(k for k in run.fresh.elements[ids[wall]].properties if k.endswith("IsExternal"))
        assert run.after.elements[ids[wall]].properties[key] is False
    run.seen.assert_delta_used()
    assert run.seen.tessellated_ids == set()


# --------------------------------------------------------------------------- a real exporter's file (IFC2X3, CRLF)

@pytest.fixture(scope="module")
def office_text() -> str:
    return ed.read_step(shared_path("samples", "ifc", "Office_A_20110811.ifc"))


@pytest.fixture(scope="module")
def office_loaded(tmp_path_factory, office_text) -> tuple[Path, Path, BuildingModel]:
    """Office_A loaded once through a template cache (path, cache, model): each test copies the cache
    and edits the same path, which saves a full read per test."""
    root = tmp_path_factory.mktemp("office")
    path, cache = root / "office.ifc", root / "cache"
    ed.write_step(path, office_text)
    return path, cache, load_model(path, cache_dir=cache)


def _office_wall_with_openings(text: str) -> int:
    voids = [re.search(r"IFCRELVOIDSELEMENT\('[^']*',[^,]*,[^,]*,[^,]*,#(\d+),", ed.get_record(text, r))
             for r in ed.record_ids(text, "IFCRELVOIDSELEMENT")]
    return int(next(m.group(1) for m in voids if m))


@pytest.mark.parametrize("name", ["wall with openings moved", "door moved", "owner history edited",
                                  "door property edited"])
def test_an_edited_office_model_loads_equal_to_a_full_read(name, tmp_path, spy, office_text, office_loaded):
    t = office_text
    if name == "wall with openings moved":
        edited = ed.moved_up_text(t, tmp_path, gid(t, _office_wall_with_openings(t)), 0.5)
    elif name == "door moved":
        edited = ed.moved_up_text(t, tmp_path, gid(t, ed.record_ids(t, "IFCDOOR")[0]), 0.5)
    elif name == "owner history edited":
        edited = ed.sub_record(t, 1, ".NOCHANGE.,$,$,$,0);", ".MODIFIED.,$,$,$,1700000000);")
    elif name == "door property edited":
        door = ed.record_ids(t, "IFCDOOR")[0]
        rels = [r for r in ed.referrers(t, door) if "IFCRELDEFINESBYPROPERTIES" in ed.get_record(t, r)]
        psets = [int(re.findall(r"#(\d+)", ed.get_record(t, r))[-1]) for r in rels]
        props = [int(x) for p in psets if "IFCPROPERTYSET(" in ed.get_record(t, p)
                 for x in re.findall(r"#(\d+)", ed.get_record(t, p).split("=", 1)[1])[1:]]
        prop = next(x for x in props if "IFCPROPERTYSINGLEVALUE('" in ed.get_record(t, x))
        line = ed.get_record(t, prop)
        edited = ed.set_record(t, prop, line.replace("',", "X',", 1))
        assert edited != t, f"the door's first property #{prop} is not a single value: {line[:80]}"
    assert "\r\n" in edited and edited.count("\n") == edited.count("\r\n"), "the CRLF line ends are kept"
    path, template, before = office_loaded
    shutil.copytree(template, tmp_path / "cache")
    ed.write_step(path, t)           # the last test left its edit here
    run = load_edit(tmp_path, spy, t, edited, loaded=(path, before))
    changes = differences(run.before, run.fresh, files="content")
    assert bool(changes) == (name != "owner history edited"), changes[:5]
    if name == "wall with openings moved":
        wall = gid(t, _office_wall_with_openings(t))
        if run.seen.delta_used:
            assert wall in run.seen.tessellated_ids
    if name == "door moved":                 # the target case on a real exporter's file
        run.seen.assert_delta_used()
        assert run.seen.tessellated_ids == {gid(t, ed.record_ids(t, "IFCDOOR")[0])}
    if name == "owner history edited":       # every record refers to it, nothing reads it
        run.seen.assert_delta_used()
        assert run.seen.tessellated_ids == set() and run.seen.extracted == []


@pytest.mark.parametrize("sample", ["PCERT_Building-Structural.ifc", "PCERT_Building-Hvac.ifc"])
def test_an_edited_ifc4x3_file(sample, tmp_path, spy):
    """IFC4X3_ADD2 files (another schema's classes decide what is a product): one element moved."""
    text = ed.read_step(shared_path("samples", "ifc", sample))
    full = load_model(shared_path("samples", "ifc", sample), use_cache=False)
    moved = next(g for g in full.elements if g in full.meshes)
    run = load_edit(tmp_path, spy, text, ed.moved_up_text(text, tmp_path, moved, 0.5), name=sample)
    run.seen.assert_delta_used()
    assert run.seen.tessellated_ids == {moved}
    assert differences(run.before, run.fresh, files="content")


def test_a_deleted_record_that_leaves_a_reference_dangling_warns_as_a_full_read(tmp_path):
    """Office_A's person record deleted: no element reads it, but the record that refers to it is now
    damaged; the delta must see the parser's complaint (and read in full) like a full read does."""
    text = ed.read_step(shared_path("samples", "ifc", "Office_A_20110811.ifc"))
    person = ed.record_ids(text, "IFCPERSON")[0]
    edited = ed.delete_records(text, [person])
    fresh = _same_as_full_read_or_same_error(tmp_path, text, edited)
    assert fresh is not None and any(f"#{person}" in w for w in fresh.warnings), fresh.warnings
