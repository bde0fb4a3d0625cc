"""Text edits of IFC (STEP) files as an authoring tool saves them, for the tests of the cache and of the
incremental ("delta") loader: move an element through a new local placement, edit one record in
place, add or drop a reference in a list, delete records, renumber every ``#id``, touch the header.

Every helper takes and returns the whole file text; records are expected one per line (as the
samples are). Nothing here imports ``twin``.
"""
from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Iterator

import ifcopenshell
import ifcopenshell.guid

_STRING_OR_REF = re.compile(r"'(?:[^']|'')*'|#(\d+)")


def read_step(path: Path) -> str:
    """The file's text, byte for byte (latin-1, line endings kept), so an edit changes only what it edits."""
    with open(path, encoding="latin-1", newline="") as fh:
        return fh.read()


def write_step(path: Path, text: str) -> None:
    with open(path, "w", encoding="latin-1", newline="") as fh:
        fh.write(text)


def record_match(text: str, rid: int) -> re.Match[str]:
    """The line of record ``#rid`` (fails the test if it is missing)."""
    m = re.search(rf"^#{rid}\s*=.*$", text, flags=re.M)
    assert m is not None, f"record #{rid} is not in the file"
    return m


def get_record(text: str, rid: int) -> str:
    return record_match(text, rid).group(0)


def set_record(text: str, rid: int, line: str) -> str:
    """Text with the line of record ``#rid`` replaced by ``line``."""
    m = record_match(text, rid)
    return text[:m.start()] + line + text[m.end():]


def sub_record(text: str, rid: int, old: str, new: str) -> str:
    """In record ``#rid``, the first ``old`` (plain text) becomes ``new``."""
    line = get_record(text, rid)
    assert old in line, f"{old!r} is not in {line!r}"
    return set_record(text, rid, line.replace(old, new, 1))


def record_ids(text: str, entity: str) -> list[int]:
    """Ids of the records of one STEP entity name (upper case, e.g. ``IFCBEAM``), in file order."""
    return [int(x) for x in re.findall(rf"^#(\d+)\s*=\s*{entity}\(", text, flags=re.M)]


def id_of(text: str, global_id: str) -> int:
    """Step id of the record whose first attribute is ``global_id``."""
    m = re.search(rf"^#(\d+)\s*=\s*\w+\('{re.escape(global_id)}'", text, flags=re.M)
    assert m is not None, f"no record with GlobalId {global_id}"
    return int(m.group(1))


def global_id_of(text: str, rid: int) -> str:
    """First attribute (the GlobalId) of record ``#rid``."""
    m = re.match(r"#\d+\s*=\s*\w+\('([^']*)'", get_record(text, rid))
    assert m is not None, f"record #{rid} has no GlobalId"
    return m.group(1)


def referrers(text: str, rid: int) -> list[int]:
    """Ids of the records that reference ``#rid``."""
    return [int(m.group(1)) for m in re.finditer(rf"^#(\d+)\s*=.*#{rid}(?!\d).*$", text, flags=re.M)]


def append_records(text: str, records: list[str]) -> str:
    """Text with records added at the end of the DATA section."""
    data = text.index("DATA;")
    end = text.index("ENDSEC;", data)
    newline = "\r\n" if "\r\n" in text[data:end] else "\n"
    return text[:end] + "".join(r + newline for r in records) + text[end:]


def delete_records(text: str, ids: list[int]) -> str:
    """Text without the lines of the given records."""
    for rid in ids:
        m = record_match(text, rid)
        end = m.end() + 1 if text[m.end():m.end() + 1] == "\n" else m.end()
        text = text[:m.start()] + text[end:]
    return text


def next_id(text: str) -> int:
    return max(int(x) for x in re.findall(r"^#(\d+)\s*=", text, flags=re.M)) + 1


def replace_ref(text: str, owner: int, old: int, new: int) -> str:
    """In record #owner, the reference #old becomes #new."""
    m = record_match(text, owner)
    line = re.sub(rf"#{old}(?!\d)", f"#{new}", m.group(0), count=1)
    return text[:m.start()] + line + text[m.end():]


def drop_ref(text: str, owner: int, rid: int) -> str:
    """Record #owner without the reference #rid in one of its lists (``(#a,#rid,#b)``)."""
    line = get_record(text, owner)
    new = re.sub(rf",#{rid}(?!\d)|#{rid},|#{rid}(?=\))", "", line, count=1)
    assert new != line, f"#{rid} is not in a list of {line!r}"
    return set_record(text, owner, new)


def add_ref(text: str, owner: int, after: int, rid: int) -> str:
    """Record #owner with #rid inserted after the reference #after (in the same list)."""
    line = get_record(text, owner)
    new = re.sub(rf"#{after}(?!\d)", f"#{after},#{rid}", line, count=1)
    assert new != line, f"#{after} is not in {line!r}"
    return set_record(text, owner, new)


def _list_ref_spans(line: str, rid: int) -> list[tuple[int, int]]:
    """Spans of ``#rid`` tokens of ``line`` that sit in a list (inside the record's own parentheses),
    with one neighbouring comma, quoted strings skipped."""
    spans: list[tuple[int, int]] = []
    depth, i = 0, 0
    while i < len(line):
        c = line[i]
        if c == "'":
            m = re.compile(r"'(?:[^']|'')*'").match(line, i)
            i = m.end()
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "#" and depth >= 2:
            m = re.compile(rf"#{rid}(?!\d)").match(line, i)
            if m:
                start, end = m.start(), m.end()
                if line[end] == ",":
                    end += 1
                elif line[start - 1] == ",":
                    start -= 1
                spans.append((start, end))
        i += 1
    return spans


def drop_everywhere(text: str, rid: int) -> str:
    """Text where no list holds #rid any more (what deleting an element does to its rels); a rel
    whose list becomes empty is deleted. Fails if some record holds #rid as a single attribute."""
    for owner in referrers(text, rid):
        line = get_record(text, owner)
        spans = _list_ref_spans(line, rid)
        assert spans, f"#{rid} is a single attribute of {line!r}: deleting it would leave a dangling reference"
        for start, end in reversed(spans):
            line = line[:start] + line[end:]
        if "()" in line and re.match(r"#\d+\s*=\s*IFCREL", line):
            text = delete_records(text, [owner])
        else:
            text = set_record(text, owner, line)
    return text


def renumber(text: str, offset: int) -> str:
    """Every ``#id`` of the file shifted by ``offset`` (quoted strings untouched), as a re-export does."""
    def shift(m: re.Match[str]) -> str:
        return f"#{int(m.group(1)) + offset}" if m.group(1) else m.group(0)

    head = text.index("DATA;")
    return text[:head] + _STRING_OR_REF.sub(shift, text[head:])


def set_file_name_timestamp(text: str, stamp: str) -> str:
    """Header with a new FILE_NAME time stamp (the second attribute), as every save writes."""
    m = re.search(r"FILE_NAME\s*\(\s*'(?:[^']|'')*'\s*,\s*'([^']*)'", text)
    assert m is not None, "no FILE_NAME in the header"
    assert m.group(1) != stamp
    return text[:m.start(1)] + stamp + text[m.end(1):]


def new_guid() -> str:
    return ifcopenshell.guid.new()


def moved_up(path: Path, out: Path, gid: str, dz: float) -> None:
    """Copy of ``path`` with element ``gid`` (or an opening) moved ``dz`` file units up through a new
    local placement on the same parent: what an authoring tool writes; nothing else changes."""
    f = ifcopenshell.open(str(path))
    el = f.by_guid(gid)
    pl = el.ObjectPlacement
    rel = pl.RelativePlacement
    x, y, z = (tuple(rel.Location.Coordinates) + (0.0,))[:3]
    text = read_step(path)
    n = next_id(text)
    ref = lambda e: f"#{e.id()}" if e is not None else "$"          # noqa: E731
    text = append_records(text, [
        f"#{n}=IFCCARTESIANPOINT(({x!r},{y!r},{z + dz!r}));",
        f"#{n + 1}=IFCAXIS2PLACEMENT3D(#{n},{ref(rel.Axis)},{ref(rel.RefDirection)});",
        f"#{n + 2}=IFCLOCALPLACEMENT({ref(pl.PlacementRelTo)},#{n + 1});",
    ])
    write_step(out, replace_ref(text, el.id(), pl.id(), n + 2))


def moved_up_text(text: str, tmp: Path, gid: str, dz: float) -> str:
    """:func:`moved_up` on text (through a scratch file in ``tmp``)."""
    scratch = tmp / f"_moved_{gid.replace('$', '_')}.ifc"
    write_step(scratch, text)
    moved_up(scratch, scratch, gid, dz)
    out = read_step(scratch)
    scratch.unlink()
    return out


@contextlib.contextmanager
def authoring_user() -> Iterator[None]:
    """While active, ifcopenshell.api writes an IfcOwnerHistory on every rooted entity (an IfcPerson,
    IfcOrganization and IfcApplication are created once per file), as authoring tools do."""
    import ifcopenshell.api.owner.settings as owner

    def get_user(f: ifcopenshell.file) -> ifcopenshell.entity_instance:
        found = f.by_type("IfcPersonAndOrganization")
        if found:
            return found[0]
        person = f.createIfcPerson(None, "Tester", "Tess")
        org = f.createIfcOrganization(None, "Twin tests")
        return f.createIfcPersonAndOrganization(person, org)

    def get_application(f: ifcopenshell.file) -> ifcopenshell.entity_instance:
        found = f.by_type("IfcApplication")
        if found:
            return found[0]
        return f.createIfcApplication(get_user(f).TheOrganization, "1.0", "twin tests", "twin-tests")

    saved = owner.get_user, owner.get_application
    owner.get_user, owner.get_application = get_user, get_application
    try:
        yield
    finally:
        owner.get_user, owner.get_application = saved


def add_opening_geometry(path: Path, ids: dict[str, str]) -> None:
    """Give the small model's opening a 1 x 1 m box cutting ``wall1`` (an IfcRelVoidsElement), in place."""
    import ifcopenshell.api.feature
    import ifcopenshell.api.geometry

    f = ifcopenshell.open(str(path))
    wall, opening = f.by_guid(ids["wall1"]), f.by_guid(ids["opening"])
    body = next(c for c in f.by_type("IfcGeometricRepresentationSubContext") if c.ContextIdentifier == "Body")
    rep = ifcopenshell.api.geometry.add_wall_representation(f, context=body, length=1.0, height=1.0, thickness=0.6)
    ifcopenshell.api.geometry.assign_representation(f, product=opening, representation=rep)
    matrix = [[1.0, 0.0, 0.0, 1000.0], [0.0, 1.0, 0.0, 900.0], [0.0, 0.0, 1.0, 3500.0], [0.0, 0.0, 0.0, 1.0]]
    ifcopenshell.api.geometry.edit_object_placement(f, product=opening, matrix=matrix, is_si=False)
    ifcopenshell.api.feature.add_feature(f, feature=opening, element=wall)
    f.write(str(path))
