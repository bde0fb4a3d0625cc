"""Which elements of an edited IFC file must be read again: a dependency index, a text diff, a verdict.

Let's imagine a coordinator who moves one duct in a 20,000-element model, saves, and asks for the
clashes again. The file's hash changed, so the cache keyed by it misses; reading the whole file again
costs seconds. Most of the file is the same text: this module finds the few elements the edit can
have changed, so that :func:`twin.ifc.load.load_file` reads and tessellates only those and takes
everything else from the cache entries of the version it last read in full (the *base*).

Three steps, on STEP text and numpy arrays (no ifcopenshell entities; the schema is asked only which
classes are objects and products):

- :func:`build_index`, once per base: the file's reference graph (``#a`` refers to ``#b``; owner
  histories left out, since edit dates change on every save and nothing reads them) and, per element,
  what the reader (:mod:`twin.ifc.reader`) and the geometry kernel read for it:

  ``objects``
      the element and what is reached from it through relationships, as the reader walks them: its
      parents (``IfcRelAggregates``, ``IfcRelNests``), containers (``IfcRelContainedInSpatialStructure``)
      and their parents up the spatial tree, its type (``IfcRelDefinesByType``), and the openings and
      projections cut into it (``IfcRelVoidsElement``, ``IfcRelProjectsElement``);
  ``roots``
      records whose whole forward subgraph matters: the objects, and what the relationships reaching
      them point to that is not an object (property sets, quantities, material definitions...);
  ``lines``
      records whose own text matters: those relationships, and the non-product objects they name
      (groups and systems, processes).

- :func:`diff_text`: the records removed, added and modified between the base text and the new one,
  by comparing lines (a record per line, as every exporter writes them).

- :func:`affected`: an element must be read again when a record changed in the forward subgraph of
  one of its roots (the changed records and everything that refers to them, up the reference graph),
  when one of its lines changed, or when a new or modified relationship names one of its objects.
  Edits the index cannot vouch for give a reason to read the whole file instead: another schema, a
  changed project, unit or storey (file-wide records), an element added or deleted, a record whose
  class changed, lines that are not whole records, a renumbered re-export.

The index and the base text are stored with the base's cache entries (:mod:`twin.ifc.cache`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, Sequence

import numpy as np

from twin.ifc.fingerprint import scan_records

__all__ = ["DeltaIndex", "Diff", "Affected", "build_index", "diff_text", "affected", "header_schema"]

_TOKEN = re.compile(rb"'(?:[^']|'')*'|#(\d+)")
_LINE = re.compile(rb"#(\d+)\s*=\s*([A-Za-z0-9_]*)\s*\(((?:[^;']|'(?:[^']|'')*')*)\)\s*;")
_DATA = re.compile(rb"(?m)^[ \t]*DATA[ \t]*;")
_SCHEMA = re.compile(rb"FILE_SCHEMA\s*\(\s*\(\s*'([^']*)'")
_OWNER = b"IFCOWNERHISTORY"
_UP = {  # relationship class -> (argument holding the element side, argument holding what the reader walks to)
    b"IFCRELAGGREGATES": (5, 4),
    b"IFCRELNESTS": (5, 4),
    b"IFCRELCONTAINEDINSPATIALSTRUCTURE": (4, 5),
    b"IFCRELDEFINESBYTYPE": (4, 5),
}
_CUTS = {b"IFCRELVOIDSELEMENT": (4, 5), b"IFCRELPROJECTSELEMENT": (4, 5)}
_PARTS = (b"IFCRELAGGREGATES", b"IFCRELNESTS")
_FILE_WIDE = ("IfcProject", "IfcBuildingStorey")
MAX_CHANGED_FRACTION = 0.2
"""A diff touching more than this share of the base's records is read in full (a re-export)."""


@dataclass(frozen=True)
class DeltaIndex:
    """What an element of the base reads, as step ids of the base.

    Parameters
    ----------
    schema : str
        The base's schema identifier (``FILE_SCHEMA``).
    source : bytes
        The base's text.
    ids : ndarray (n,) int64
        Every record id of the base, sorted.
    src, dst : ndarray (e,) int64
        Reference edges: record ``src`` refers to record ``dst``.
    gids : tuple of str
        The elements' GlobalIds, in the base's element order.
    sids : ndarray (k,) int64
        Their step ids.
    roots, lines, objects : tuple (offsets (k+1,) int64, ids int64)
        Per element, in CSR form (see the module docstring).
    shape : tuple (offsets (k+1,) int64, ids int64)
        Per element, the roots of its geometry: itself and the openings and projections cut into it
        or into the assemblies it is part of (the kernel cuts a part with its assembly's openings).
    shape_rels : tuple (offsets (k+1,) int64, ids int64)
        Per element, the relationships that lead there (cuts and assemblies; their own text counts).
    wholes : tuple (offsets (k+1,) int64, ids int64)
        Per element, itself and the assemblies it is part of (a new opening or part relationship
        naming one of them may change its shape).
    file_wide : ndarray int64
        Project and storey records: a change under them reads the whole file.
    """

    schema: str
    source: bytes
    ids: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    gids: tuple[str, ...]
    sids: np.ndarray
    roots: tuple[np.ndarray, np.ndarray]
    lines: tuple[np.ndarray, np.ndarray]
    objects: tuple[np.ndarray, np.ndarray]
    shape: tuple[np.ndarray, np.ndarray]
    shape_rels: tuple[np.ndarray, np.ndarray]
    wholes: tuple[np.ndarray, np.ndarray]
    file_wide: np.ndarray

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The index as named arrays (for ``np.savez``)."""
        return {
            "schema": np.array(self.schema), "source": np.frombuffer(self.source, dtype=np.uint8),
            "ids": self.ids, "src": self.src, "dst": self.dst, "gids": np.array(self.gids, dtype=str),
            "sids": self.sids, "roots_at": self.roots[0], "roots": self.roots[1], "lines_at": self.lines[0],
            "lines": self.lines[1], "objects_at": self.objects[0], "objects": self.objects[1],
            "shape_at": self.shape[0], "shape": self.shape[1], "wholes_at": self.wholes[0],
            "shape_rels_at": self.shape_rels[0], "shape_rels": self.shape_rels[1],
            "wholes": self.wholes[1], "file_wide": self.file_wide,
        }

    @classmethod
    def from_arrays(cls, a: Mapping[str, np.ndarray]) -> "DeltaIndex":
        """Inverse of :meth:`to_arrays`; raises ``KeyError``/``ValueError`` on a damaged entry."""
        k = len(a["sids"])
        idx = cls(
            schema=str(a["schema"]), source=a["source"].tobytes(), ids=a["ids"], src=a["src"], dst=a["dst"],
            gids=tuple(a["gids"].tolist()), sids=a["sids"], roots=(a["roots_at"], a["roots"]),
            lines=(a["lines_at"], a["lines"]), objects=(a["objects_at"], a["objects"]),
            shape=(a["shape_at"], a["shape"]), shape_rels=(a["shape_rels_at"], a["shape_rels"]),
            wholes=(a["wholes_at"], a["wholes"]), file_wide=a["file_wide"],
        )
        for at, ids in (idx.roots, idx.lines, idx.objects, idx.shape, idx.shape_rels, idx.wholes):
            if len(at) != k + 1 or int(at[-1]) != len(ids):
                raise ValueError("index arrays do not fit together")
        if len(idx.gids) != k or len(idx.src) != len(idx.dst):
            raise ValueError("index arrays do not fit together")
        return idx


@dataclass(frozen=True)
class Diff:
    """Records that differ between two versions of a file (step ids).

    ``changed`` are ids whose base record was removed or rewritten; ``added`` maps the ids of new and
    rewritten records to ``(CLASS, argument text)`` as they are now; ``header_changed`` says whether the
    text around the records (header, end of file) differs.
    """

    changed: np.ndarray
    added: dict[int, tuple[bytes, bytes]]
    header_changed: bool = False


@lru_cache(maxsize=8)
def _kinds(schema: str):
    """``CLASS -> 'owner' | 'product' | 'object' | 'other'`` for one schema (memoised per class)."""
    import ifcopenshell.ifcopenshell_wrapper as wrapper

    decls = wrapper.schema_by_name(schema)

    @lru_cache(maxsize=None)
    def kind(cls: bytes) -> str:
        if cls == _OWNER:
            return "owner"
        try:
            decl = decls.declaration_by_name(cls.decode())
        except Exception:  # noqa: BLE001 - unknown class (or a complex record): only its text counts
            return "other"
        names = set()
        while decl is not None:
            names.add(decl.name())
            decl = decl.supertype() if hasattr(decl, "supertype") else None
        if "IfcProduct" in names:
            return "product"
        return "object" if "IfcObjectDefinition" in names else "other"

    return kind


def header_schema(data: bytes) -> str | None:
    """The schema named in a STEP header (``FILE_SCHEMA(('IFC4'))`` gives ``'IFC4'``), or None."""
    m = _SCHEMA.search(data[:_data_start(data) if _data_start(data) >= 0 else 4096])
    return m.group(1).decode("ascii", "replace").upper() if m else None


def _data_start(data: bytes) -> int:
    m = _DATA.search(data)
    return m.start() if m else -1


def _refs(args: bytes) -> list[int]:
    return [int(m.group(1)) for m in _TOKEN.finditer(args) if m.group(1) is not None]


def _split_args(args: bytes) -> list[bytes]:
    """Top-level arguments of a record's argument text (strings and nested lists kept whole)."""
    out, depth, start, i, n = [], 0, 0, 0, len(args)
    while i < n:
        c = args[i]
        if c == 0x27:                                   # a string: skip to its closing quote ('' escapes)
            i += 1
            while i < n:
                if args[i] == 0x27:
                    if i + 1 < n and args[i + 1] == 0x27:
                        i += 2
                        continue
                    break
                i += 1
        elif c == 0x28:
            depth += 1
        elif c == 0x29:
            depth -= 1
        elif c == 0x2C and depth == 0:
            out.append(args[start:i])
            start = i + 1
        i += 1
    out.append(args[start:])
    return out


def build_index(data: bytes, schema: str, elements: Mapping[str, int], file_wide: Sequence[int],
                records: Mapping[int, tuple[bytes, bytes]] | None = None) -> DeltaIndex:
    """The dependency index of one file (see the module docstring).

    Parameters
    ----------
    data : the file's bytes
    schema : its schema identifier (as ifcopenshell names it, e.g. ``IFC4X3_ADD2``)
    elements : GlobalId -> step id of every element the reader returns, in its order
    file_wide : step ids of the project and the storeys
    records : :func:`twin.ifc.fingerprint.scan_records` of ``data`` if already made
    """
    recs = scan_records(data) if records is None else records
    kind = _kinds(schema)
    owners = {i for i, (cls, _) in recs.items() if cls == _OWNER}
    src: list[int] = []
    dst: list[int] = []
    refs_of: dict[int, list[int]] = {}
    inverse: dict[int, list[int]] = {}
    for rid, (cls, args) in recs.items():
        if cls == _OWNER:
            continue
        refs = [r for r in _refs(args) if r not in owners]
        if cls.startswith(b"IFCREL"):
            refs_of[rid] = refs
            for r in refs:
                inverse.setdefault(r, []).append(rid)
        src.extend([rid] * len(refs))
        dst.extend(refs)

    walk: dict[int, tuple[frozenset[int], tuple[int, ...], str]] = {}   # rel -> (element side, walked-to, kind)

    def rel_walk(rid: int) -> tuple[frozenset[int], tuple[int, ...], str]:
        """The element side and the walked-to side of a relationship the reader or the kernel follows;
        kind: ``cut`` (openings, projections), ``part`` (aggregation, nesting), ``other`` (containment,
        type) or ``""`` (not followed)."""
        got = walk.get(rid)
        if got is None:
            cls, args = recs[rid]
            spec = _UP.get(cls) or _CUTS.get(cls)
            got = (frozenset(), (), "")
            if spec is not None:
                parts = _split_args(args)
                if len(parts) > max(spec):
                    kind_ = "cut" if cls in _CUTS else "part" if cls in _PARTS else "other"
                    got = (frozenset(_refs(parts[spec[0]])), tuple(_refs(parts[spec[1]])), kind_)
            walk[rid] = got
        return got

    rel_parts: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    def rel_reads(rid: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(roots, lines) a relationship adds: non-object targets, itself and the non-product objects it names."""
        got = rel_parts.get(rid)
        if got is None:
            roots, lines = [], [rid]
            for r in refs_of.get(rid, ()):
                rec = recs.get(r)
                k = kind(rec[0]) if rec is not None else "other"
                if k == "other":
                    roots.append(r)
                elif k == "object":
                    lines.append(r)
            got = rel_parts[rid] = (tuple(roots), tuple(lines))
        return got

    gids, sids = [], []
    csr: dict[str, tuple[list[int], list[int]]] = {
        name: ([0], []) for name in ("roots", "lines", "objects", "shape", "shape_rels", "wholes")}
    for gid, sid in elements.items():
        # the shape: the element, the wholes it is part of (the kernel cuts a part with the openings of
        # its assembly), the openings and projections of all of them, and the relationships between
        shape, shape_rels, wholes, i = {sid}, set(), [sid], 0
        while i < len(wholes):
            o = wholes[i]
            i += 1
            for rid in inverse.get(o, ()):
                side, to, kind_ = rel_walk(rid)
                if o not in side or kind_ not in ("cut", "part"):
                    continue
                shape_rels.add(rid)
                for u in to:
                    if kind_ == "cut":
                        shape.add(u)
                    elif u not in wholes:
                        wholes.append(u)
        # what the reader reads: parents, containers and types, walked up; openings count as read too
        objects, seen, rels = [sid], {sid}, set()
        i = 0
        while i < len(objects):
            o = objects[i]
            i += 1
            for rid in inverse.get(o, ()):
                rels.add(rid)
                side, to, kind_ = rel_walk(rid)
                if o in side and kind_ and (kind_ != "cut" or o in wholes):
                    for u in to:
                        if u not in seen:
                            seen.add(u)
                            objects.append(u)
        roots, lines = set(objects), set()
        for rid in rels:
            r, ln = rel_reads(rid)
            roots.update(r)
            lines.update(ln)
        gids.append(gid)
        sids.append(sid)
        for name, values in (("roots", roots), ("lines", lines), ("objects", objects), ("shape", shape),
                             ("shape_rels", shape_rels), ("wholes", wholes)):
            at, ids = csr[name]
            ids.extend(sorted(values))
            at.append(len(ids))
    schema_text = header_schema(data) or schema

    def pack(name: str) -> tuple[np.ndarray, np.ndarray]:
        at, ids = csr[name]
        return np.array(at, dtype=np.int64), np.array(ids, dtype=np.int64)

    return DeltaIndex(
        schema=schema_text, source=bytes(data), ids=np.array(sorted(recs), dtype=np.int64),
        src=np.array(src, dtype=np.int64), dst=np.array(dst, dtype=np.int64), gids=tuple(gids),
        sids=np.array(sids, dtype=np.int64), roots=pack("roots"), lines=pack("lines"), objects=pack("objects"),
        shape=pack("shape"), shape_rels=pack("shape_rels"), wholes=pack("wholes"),
        file_wide=np.array(sorted(file_wide), dtype=np.int64),
    )


def _data_lines(data: bytes) -> list[bytes] | None:
    start = _data_start(data)
    if start < 0:
        return None
    return data[start:].splitlines()


def diff_text(old: bytes, new: bytes) -> Diff | str:
    """The records that differ between ``old`` and ``new`` (DATA sections compared line by line), or
    the reason they cannot be compared that way (a string).

    >>> d = diff_text(b"DATA;\\n#1=A(1.);\\n#2=B(#1);\\nENDSEC;", b"DATA;\\n#1=A(2.);\\n#2=B(#1);\\n#3=C(#2);\\nENDSEC;")
    >>> d.changed.tolist(), sorted(d.added)
    ([1], [1, 3])
    """
    if header_schema(old) != header_schema(new):
        return "the schema changed"
    a, b = _data_lines(old), _data_lines(new)
    if a is None or b is None:
        return "no DATA section"
    in_a, in_b = set(a), set(b)
    removed: dict[int, bytes] = {}
    added: dict[int, tuple[bytes, bytes]] = {}
    for side, lines, other in (("removed", a, in_b), ("added", b, in_a)):
        for ln in lines:
            if ln in other:
                continue
            ln = ln.strip()
            if not ln:
                continue
            m = _LINE.fullmatch(ln)
            if m is None:
                return f"a changed line is not one whole record: {ln[:60]!r}"
            rid = int(m.group(1))
            if side == "removed":
                if rid in removed:
                    return f"#{rid} appears twice"
                removed[rid] = m.group(2).upper()
            else:
                if rid in added:
                    return f"#{rid} appears twice"
                added[rid] = (m.group(2).upper(), m.group(3))
    for rid, (cls, _) in added.items():
        if rid in removed and removed[rid] != cls:
            return f"#{rid} changed class ({removed[rid].decode()} -> {cls.decode()})"
    header_changed = old[:_data_start(old)] != new[:_data_start(new)] or a[-3:] != b[-3:]
    return Diff(changed=np.array(sorted(removed), dtype=np.int64), added=added, header_changed=header_changed)


def _ancestors(index: DeltaIndex, start: np.ndarray) -> np.ndarray:
    """``start`` and every base record that refers to one of them, directly or through others."""
    order = np.argsort(index.dst, kind="stable")
    dst, src = index.dst[order], index.src[order]
    seen = np.unique(start)
    frontier = seen
    while frontier.size:
        lo = np.searchsorted(dst, frontier, "left")
        hi = np.searchsorted(dst, frontier, "right")
        counts = hi - lo
        total = int(counts.sum())
        if not total:
            break
        offsets = np.repeat(lo - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        parents = np.unique(src[offsets + np.arange(total)])
        frontier = np.setdiff1d(parents, seen, assume_unique=True)
        seen = np.union1d(seen, frontier)
    return seen


def _hits(csr: tuple[np.ndarray, np.ndarray], ids: np.ndarray) -> np.ndarray:
    """Per element: does its CSR row hold one of ``ids``? (bool, shape (k,))"""
    at, values = csr
    hit = np.isin(values, ids).astype(np.int64)
    sums = np.add.reduceat(np.concatenate([hit, [0]]), at[:-1]) if len(at) > 1 else np.zeros(0, np.int64)
    sums[at[:-1] == at[1:]] = 0
    return sums > 0


@dataclass(frozen=True)
class Affected:
    """Elements to read again after an edit (GlobalIds, base order): ``records`` their data, ``shapes``
    (a subset) their geometry too."""

    records: tuple[str, ...]
    shapes: tuple[str, ...]


def affected(index: DeltaIndex, diff: Diff) -> Affected | str:
    """The elements to read again after ``diff``, or why the whole file must be read.

    >>> data = (b"DATA;\\n#1=IFCPROJECT('p',$,$,$,$,$,$,$,$);\\n#2=IFCCARTESIANPOINT((0.,0.,0.));\\n"
    ...         b"#3=IFCCARTESIANPOINT((1.,0.,0.));\\n#4=IFCWALL('a',$,$,$,$,#2,$,$,$);\\n"
    ...         b"#5=IFCWALL('b',$,$,$,$,#3,$,$,$);\\nENDSEC;")
    >>> index = build_index(data, "IFC4", {"a": 4, "b": 5}, [1])
    >>> affected(index, diff_text(data, data.replace(b"((1.,0.,0.))", b"((2.,0.,0.))")))
    Affected(records=('b',), shapes=('b',))
    >>> affected(index, diff_text(data, data.replace(b"'p'", b"'q'")))
    'the project or a storey changed'
    """
    kind = _kinds(index.schema)
    added_ids = np.array(sorted(diff.added), dtype=np.int64)
    fresh = np.setdiff1d(added_ids, diff.changed)
    if np.isin(fresh, index.ids).any():
        return "a new record reuses the number of an unchanged one"
    if len(diff.changed) + len(fresh) > MAX_CHANGED_FRACTION * max(len(index.ids), 1):
        return f"{len(diff.changed) + len(fresh)} of {len(index.ids)} records changed"
    gone = np.setdiff1d(diff.changed[np.isin(diff.changed, index.sids)], added_ids)
    if len(gone):
        return f"an element was deleted (#{int(gone[0])})"
    for rid in fresh.tolist():
        cls = diff.added[rid][0]
        if kind(cls) == "product" or cls == b"IFCPROJECT":
            return f"a new {cls.decode()} (#{rid})"
    named: set[int] = set()
    cut: set[int] = set()
    for cls, args in diff.added.values():
        if cls.startswith(b"IFCREL"):
            refs = _refs(args)
            named.update(refs)
            if cls in _CUTS or cls in _PARTS:
                cut.update(refs)
    dirty = _ancestors(index, diff.changed)
    if np.isin(index.file_wide, dirty).any():
        return "the project or a storey changed"
    records = _hits(index.roots, dirty) | _hits(index.lines, diff.changed)
    if named:
        records |= _hits(index.objects, np.array(sorted(named), dtype=np.int64))
    shapes = _hits(index.shape, dirty) | _hits(index.shape_rels, diff.changed)
    if cut:        # a new or rewritten cut or assembly naming the element or a whole it is part of
        shapes |= _hits(index.wholes, np.array(sorted(cut), dtype=np.int64))
    records |= shapes
    return Affected(records=tuple(index.gids[i] for i in np.nonzero(records)[0].tolist()),
                    shapes=tuple(index.gids[i] for i in np.nonzero(shapes)[0].tolist()))
