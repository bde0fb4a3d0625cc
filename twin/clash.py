"""Clash records and the review workflow (pure): selectors, exclusions, stable ids, smart groups,
diff against a previous run, statuses, and 4D coexistence windows.

The geometry lives in :mod:`twin.clashgeom` (mesh against mesh) and the run over a model in
:mod:`twin.ifc.clash`; this module only handles records, so the app and the CLI can read, filter,
group and compare clash results without loading a model.

Selector grammar (``twin clash --a SEL --b SEL``, documented in ``docs/clash.md``)::

    SEL    := TERM ('|' TERM)*                      union of terms
    TERM   := CLASSES? FILTER*
    CLASSES:= '*' | IfcClass (',' IfcClass)*        subclasses included (IfcWall takes IfcWallStandardCase);
                                                    ``Temporary``: a scenario's temporary objects
    FILTER := '[' KEY OP VALUE ']'                  OP: '=' equals, '!=' differs, '~' regex search
    KEY    := storey | system | file | name | type | material | class | Pset.Prop | Qto.Quantity

e.g. ``IfcDuctSegment,IfcPipeSegment[system!=Domestic Cold Water]``, ``*[storey=Level 01]|IfcRoof``.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from twin.errors import InputError
from twin.model import Element

__all__ = [
    "MODES", "STATUSES", "Clash", "ClashGroup", "Selector", "parse_selector", "ExcludeRule",
    "parse_exclude", "clash_id", "group_clashes", "diff_clashes", "read_previous", "clash_to_dict",
    "coexistence", "element_windows", "TemporaryObject", "parse_temporary", "temporary_mesh",
    "temporary_element",
]

MODES = ("hard", "touch", "clearance")
STATUSES = ("new", "active", "reviewed", "approved", "resolved")
_FILTER = re.compile(r"\[\s*([^\]=!~]+?)\s*(!=|=|~)\s*([^\]]*?)\s*\]")


@dataclass(frozen=True, slots=True)
class Clash:
    """One clash between elements ``a`` and ``b`` (GlobalIds; ``a < b`` is not assumed).

    ``type``: ``hard`` (solids overlap deeper than the tolerance), ``duplicate`` (same class and
    the same geometry within the tolerance), ``touch`` (surfaces within the tolerance, no overlap),
    ``clearance`` (closer than the clearance). ``distance``: penetration depth (hard, duplicate) or
    minimum distance (touch, clearance), metres. ``point``: a point in the overlap or the middle of
    the closest points. ``method``: how the depth was found (``convex``, ``probe``, ``surface``).
    ``first``/``last``: when both elements exist (4D), None without a schedule.
    """

    id: str
    a: str
    b: str
    type: str
    distance: float
    point: tuple[float, float, float]
    mode: str
    a_class: str = ""
    b_class: str = ""
    a_file: str = ""
    b_file: str = ""
    a_name: str | None = None
    b_name: str | None = None
    method: str = ""
    status: str = "new"
    group: str | None = None
    first: datetime | None = None
    last: datetime | None = None

    @property
    def pair(self) -> tuple[str, str]:
        """The GlobalIds sorted: the same for either A/B order."""
        return (self.a, self.b) if self.a <= self.b else (self.b, self.a)


@dataclass(frozen=True, slots=True)
class ClashGroup:
    """Nearby clashes between the same two systems (or storeys, or classes)."""

    id: str
    key: str
    clash_ids: tuple[str, ...]
    centre: tuple[float, float, float]


# ----------------------------------------------------------------------------------- selectors

@dataclass(frozen=True, slots=True)
class _Term:
    classes: tuple[str, ...] | None            # None: every class
    filters: tuple[tuple[str, str, str], ...]  # (key, op, value)


@dataclass(frozen=True, slots=True)
class Selector:
    """A parsed selector (see the module docstring); ``text`` is what the user wrote."""

    text: str
    terms: tuple[_Term, ...]

    def matches(self, element: Element, is_a: Callable[[str, str], bool] | None = None) -> bool:
        """Whether the element is selected. ``is_a(cls, parent)`` decides subclasses (default: the
        class name starts with the parent's, which covers IFC2X3's ``IfcWallStandardCase``)."""
        test = is_a or (lambda c, p: c.lower().startswith(p.lower()))
        for term in self.terms:
            if term.classes is not None and not any(test(element.ifc_class, c) for c in term.classes):
                continue
            if all(_filter_ok(element, k, op, v) for k, op, v in term.filters):
                return True
        return False

    def select(self, elements: Iterable[Element], is_a: Callable[[str, str], bool] | None = None) -> list[str]:
        """GlobalIds of the matching elements, in the order given."""
        return [e.global_id for e in elements if self.matches(e, is_a)]


def _values(element: Element, key: str) -> list[str]:
    k = key.lower()
    if k == "storey":
        return [element.storey or ""]
    if k == "system":
        return list(element.systems) or [""]
    if k == "file":
        return [element.file, Path(element.file).name] if element.file else [""]
    if k == "name":
        return [element.name or ""]
    if k == "type":
        return [element.predefined_type or "", element.object_type or ""]
    if k == "material":
        return list(element.materials) or [""]
    if k == "class":
        return [element.ifc_class]
    if key in element.properties:
        v = element.properties[key]
        return [str(x) for x in v] if isinstance(v, (list, tuple)) else [str(v)]
    if key in element.quantities:
        return [repr(float(element.quantities[key]))]
    return [""]


def _norm(v: str) -> str:
    return v.strip().lower()


def _filter_ok(element: Element, key: str, op: str, value: str) -> bool:
    vals = _values(element, key)
    if op == "~":
        rx = re.compile(value, re.IGNORECASE)
        return any(rx.search(v) for v in vals)
    hit = any(_norm(v) == _norm(value) or (_is_num(v) and _is_num(value) and float(v) == float(value)) for v in vals)
    return hit if op == "=" else not hit


def _is_num(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def parse_selector(text: str) -> Selector:
    """Parse a selector; raises InputError naming the selector and the part that is wrong.

    >>> parse_selector("IfcWall,IfcSlab[storey=Level 01]").terms[0].classes
    ('IfcWall', 'IfcSlab')
    """
    if text is None or not str(text).strip():
        raise InputError("selector is empty: give an IFC class, a comma list of classes, or '*'")
    terms = []
    for raw in str(text).split("|"):
        part = raw.strip()
        head = part.split("[", 1)[0].strip()
        rest = part[len(part.split("[", 1)[0]):]
        filters = []
        pos = 0
        for m in _FILTER.finditer(rest):
            if rest[pos:m.start()].strip():
                raise InputError(f"selector '{text}': cannot read '{rest[pos:m.start()].strip()}'")
            filters.append((m.group(1).strip(), m.group(2), m.group(3)))
            pos = m.end()
        if rest[pos:].strip():
            raise InputError(f"selector '{text}': cannot read '{rest[pos:].strip()}' (filters are [key=value])")
        for key, op, value in filters:
            if op == "~":
                try:
                    re.compile(value)
                except re.error as exc:
                    raise InputError(f"selector '{text}': bad regular expression '{value}': {exc}") from None
        if head in ("", "*"):
            if head == "" and not filters:
                raise InputError(f"selector '{text}': empty term")
            classes = None
        else:
            classes = tuple(c.strip() for c in head.split(",") if c.strip())
            bad = [c for c in classes if not re.fullmatch(r"[Ii][Ff][Cc][A-Za-z0-9_]+|Temporary", c)]
            if bad:
                raise InputError(f"selector '{text}': '{bad[0]}' is not an IFC class name (IfcWall, IfcSlab, ...)")
        terms.append(_Term(classes, tuple(filters)))
    return Selector(str(text), tuple(terms))


@dataclass(frozen=True, slots=True)
class ExcludeRule:
    """A pair that is not a clash: ``same`` (system, storey, file, class, type) or two selectors."""

    text: str
    same: str | None = None
    a: Selector | None = None
    b: Selector | None = None

    def excludes(self, x: Element, y: Element, is_a: Callable[[str, str], bool] | None = None) -> bool:
        if self.same is not None:
            if self.same == "system":
                return bool(set(x.systems) & set(y.systems))
            vx, vy = _values(x, self.same), _values(y, self.same)
            return bool(set(vx) & set(vy) - {""})
        assert self.a is not None and self.b is not None
        return ((self.a.matches(x, is_a) and self.b.matches(y, is_a))
                or (self.a.matches(y, is_a) and self.b.matches(x, is_a)))


def parse_exclude(text: str) -> ExcludeRule:
    """``same-system``, ``same-storey``, ``same-file``, ``same-class``, ``same-type``, or
    ``SEL<>SEL`` (pairs with one element in each selector are skipped, either order)."""
    t = text.strip()
    if t.startswith("same-"):
        what = t[5:]
        if what not in ("system", "storey", "file", "class", "type"):
            raise InputError(f"exclusion '{text}': expected same-system, same-storey, same-file, same-class "
                             f"or same-type")
        return ExcludeRule(t, same=what)
    if "<>" not in t:
        raise InputError(f"exclusion '{text}': expected same-system|same-storey|same-file|same-class|same-type "
                         f"or 'SELECTOR<>SELECTOR'")
    left, right = t.split("<>", 1)
    return ExcludeRule(t, a=parse_selector(left), b=parse_selector(right))


# --------------------------------------------------------------------------------- ids, groups

def clash_id(a: str, b: str, mode: str, point: Sequence[float] | None = None) -> str:
    """Stable id: hash of the sorted GlobalId pair and the mode (and a point rounded to 0.5 m when
    the same pair is reported at several places), so swapping A and B keeps it.

    >>> clash_id("x", "y", "hard") == clash_id("y", "x", "hard")
    True
    """
    lo, hi = sorted((a, b))
    key = f"{lo}|{hi}|{mode}"
    if point is not None:
        key += "|" + ",".join(f"{round(float(c) * 2) / 2:.1f}" for c in point)
    return "c" + hashlib.sha1(key.encode()).hexdigest()[:12]


def _group_key(c: Clash, elements: Mapping[str, Element], by: str) -> str:
    ea, eb = elements.get(c.a), elements.get(c.b)

    def side(e: Element | None, cls: str) -> str:
        if e is None:
            return cls
        if by == "system" and e.systems:
            return e.systems[0]
        if by in ("system", "storey") and e.storey:
            return e.storey if by == "storey" else f"{e.storey} {e.ifc_class}"
        return e.ifc_class or cls
    sa, sb = sorted((side(ea, c.a_class), side(eb, c.b_class)))
    return f"{sa} x {sb}"


def group_clashes(clashes: Sequence[Clash], elements: Mapping[str, Element], *, by: str = "system",
                  distance: float = 3.0) -> tuple[list[Clash], list[ClashGroup]]:
    """Smart groups: clashes of the same pair of systems (``by="system"``; elements without a system
    use storey and class) or storeys (``by="storey"``) whose points lie within ``distance`` metres
    of each other (single linkage). Returns the clashes with ``group`` set, and the groups."""
    from scipy.spatial import cKDTree

    if by not in ("system", "storey", "class"):
        raise InputError(f"group by must be system, storey or class, got '{by}'")
    buckets: dict[str, list[int]] = {}
    for i, c in enumerate(clashes):
        buckets.setdefault(_group_key(c, elements, by), []).append(i)
    out = list(clashes)
    groups: list[ClashGroup] = []
    for key in sorted(buckets):
        idx = buckets[key]
        pts = np.array([clashes[i].point for i in idx], dtype=float)
        parent = list(range(len(idx)))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x
        if len(idx) > 1 and np.isfinite(pts).all():
            for i, j in cKDTree(pts).query_pairs(distance):
                parent[find(i)] = find(j)
        members: dict[int, list[int]] = {}
        for k in range(len(idx)):
            members.setdefault(find(k), []).append(k)
        for ks in members.values():
            ids = tuple(sorted(clashes[idx[k]].id for k in ks))
            gid = "g" + hashlib.sha1(("|".join(ids)).encode()).hexdigest()[:10]
            centre = tuple(float(x) for x in np.nanmean(pts[ks], axis=0)) if len(ks) else (0.0, 0.0, 0.0)
            groups.append(ClashGroup(gid, key, ids, centre))  # type: ignore[arg-type]
            for k in ks:
                out[idx[k]] = replace(out[idx[k]], group=gid)
    return out, groups


# ---------------------------------------------------------------------------------------- diff

def read_previous(path: str | Path) -> dict[str, dict[str, Any]]:
    """Clashes of a previous ``twin clash --json`` output: id -> clash dict (with its status)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: previous clash report not found")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{p}: not a twin clash JSON report ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("clashes"), list):
        raise InputError(f"{p}: not a twin clash JSON report (no 'clashes' list)")
    out = {}
    for i, c in enumerate(data["clashes"]):
        if not isinstance(c, dict) or "id" not in c:
            raise InputError(f"{p}: clashes[{i}] has no 'id'")
        out[str(c["id"])] = c
    return out


def diff_clashes(current: Sequence[Clash], previous: Mapping[str, Mapping[str, Any]]
                 ) -> tuple[list[Clash], list[dict[str, Any]]]:
    """Compare with a previous run: a clash seen before keeps a reviewer's status (``reviewed``,
    ``approved``) or becomes ``active``; an unseen one is ``new``; a previous clash that is gone is
    returned in the second list with status ``resolved`` (already resolved ones are not repeated)."""
    out = []
    for c in current:
        old = previous.get(c.id)
        if old is None:
            out.append(replace(c, status="new"))
        else:
            st = str(old.get("status", "active"))
            out.append(replace(c, status=st if st in ("reviewed", "approved") else "active"))
    ids = {c.id for c in current}
    resolved = [dict(v, status="resolved") for k, v in previous.items()
                if k not in ids and v.get("status") != "resolved"]
    return out, resolved


def clash_to_dict(c: Clash) -> dict[str, Any]:
    """The JSON shape of a clash (``twin clash --json``)."""
    return {
        "id": c.id, "a": c.a, "b": c.b, "type": c.type,
        "distance": None if not math.isfinite(c.distance) else round(float(c.distance), 6),
        "point": [round(float(x), 4) for x in c.point], "mode": c.mode, "status": c.status,
        "group": c.group, "a_class": c.a_class, "b_class": c.b_class, "a_file": c.a_file,
        "b_file": c.b_file, "a_name": c.a_name, "b_name": c.b_name, "method": c.method,
        "first": c.first, "last": c.last,
        "days": None if c.first is None or c.last is None else round((c.last - c.first).total_seconds() / 86400, 3),
    }


# ------------------------------------------------------------------------------------------ 4D

def element_windows(windows: Mapping[str, Any], links: Iterable[tuple[str, str]]
                    ) -> dict[str, tuple[datetime, datetime | None]]:
    """When each linked element exists: ``GlobalId -> (from, until)``.

    ``windows``: activity id -> :class:`twin.fourd.TaskWindow`. A constructed element exists from the
    start of its first construct activity (work in place counts) until the end of any demolish
    activity (None: to the end); a temporary one only during its temporary activities.
    """
    out: dict[str, tuple[datetime, datetime | None]] = {}
    kinds: dict[str, dict[str, list]] = {}
    for aid, gid in links:
        w = windows.get(aid)
        if w is None:
            continue
        kind = getattr(w.kind, "value", str(w.kind))
        kinds.setdefault(gid, {}).setdefault(kind, []).append(w)
    for gid, by in kinds.items():
        if "construct" in by:
            s = min(w.effective_start for w in by["construct"])
            e = max(w.effective_finish for w in by["demolish"]) if "demolish" in by else None
            out[gid] = (s, e)
        elif "temporary" in by:
            out[gid] = (min(w.effective_start for w in by["temporary"]),
                        max(w.effective_finish for w in by["temporary"]))
        elif "demolish" in by:
            out[gid] = (datetime.min, max(w.effective_finish for w in by["demolish"]))
    return out


def coexistence(a: tuple[datetime, datetime | None] | None, b: tuple[datetime, datetime | None] | None,
                end: datetime) -> tuple[datetime, datetime] | None:
    """Interval in which both elements exist (``None`` window: always there), clipped at ``end``
    (the last finish of the schedule); None when they never coexist."""
    lo = max((a[0] if a else datetime.min), (b[0] if b else datetime.min))
    hi = min((a[1] if a and a[1] else end), (b[1] if b and b[1] else end))
    if hi < lo or (hi == lo and (a or b)):
        return None
    return lo, hi


# --------------------------------------------------------------------------- temporary objects

@dataclass(frozen=True, slots=True)
class TemporaryObject:
    """A ``[[temporary]]`` object of a scenario: a box or a vertical cylinder that stands from
    ``start`` to ``finish`` (or during ``activity``), e.g. a scaffold, a crane mast, a work zone."""

    name: str
    kind: str
    box: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    cylinder: tuple[float, float, float, float, float] | None = None     # x, y, z base, radius, height
    start: datetime | None = None
    finish: datetime | None = None
    activity: str | None = None

    @property
    def global_id(self) -> str:
        return f"TEMP:{self.name}"


def _when(value: Any, where: str) -> datetime | None:
    from datetime import date

    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise InputError(f"{where}: expected a date or date-time, got {value!r}")


def _numbers(value: Any, n: int, where: str) -> tuple[float, ...]:
    if not isinstance(value, (list, tuple)) or len(value) != n or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
        raise InputError(f"{where}: expected {n} numbers, got {value!r}")
    return tuple(float(x) for x in value)


def parse_temporary(raw: Any, source: str = "scenario") -> tuple[TemporaryObject, ...]:
    """Read the ``[[temporary]]`` tables of a scenario (kept in ``Scenario.other``).

    Keys: ``name`` (unique, required), ``kind`` (free text, default ``temporary``), exactly one of
    ``box = [[x0, y0, z0], [x1, y1, z1]]`` or ``cylinder = {x, y, z, radius, height}`` (metres,
    model coordinates), and either ``start``/``finish`` (dates) or ``activity`` (its dates), or
    neither (there all the time). Errors name the table and the key.
    """
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError(f"{source}: temporary: expected [[temporary]] tables")
    out, seen = [], set()
    for i, t in enumerate(raw):
        w = f"{source}: temporary[{i}]"
        if not isinstance(t, dict):
            raise InputError(f"{w}: expected a table")
        unknown = set(t) - {"name", "kind", "box", "cylinder", "start", "finish", "activity"}
        if unknown:
            raise InputError(f"{w}: unknown key '{sorted(unknown)[0]}'")
        name = t.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"{w}.name: required, a non-empty string")
        if name in seen:
            raise InputError(f"{w}.name: '{name}' is used twice")
        seen.add(name)
        if ("box" in t) == ("cylinder" in t):
            raise InputError(f"{w}: give exactly one of box or cylinder")
        box = cyl = None
        if "box" in t:
            b = t["box"]
            if not isinstance(b, list) or len(b) != 2:
                raise InputError(f"{w}.box: expected [[x0, y0, z0], [x1, y1, z1]], got {b!r}")
            lo, hi = _numbers(b[0], 3, f"{w}.box[0]"), _numbers(b[1], 3, f"{w}.box[1]")
            if not all(h > l for l, h in zip(lo, hi)):
                raise InputError(f"{w}.box: the second corner must be above the first on every axis")
            box = (lo, hi)
        else:
            c = t["cylinder"]
            if not isinstance(c, dict) or set(c) - {"x", "y", "z", "radius", "height"} or not {"x", "y", "radius", "height"} <= set(c):
                raise InputError(f"{w}.cylinder: expected {{x, y, z, radius, height}}, got {c!r}")
            vals = _numbers([c["x"], c["y"], c.get("z", 0.0), c["radius"], c["height"]], 5, f"{w}.cylinder")
            if vals[3] <= 0 or vals[4] <= 0:
                raise InputError(f"{w}.cylinder: radius and height must be > 0")
            cyl = vals
        start, finish = _when(t.get("start"), f"{w}.start"), _when(t.get("finish"), f"{w}.finish")
        if start and finish and finish < start:
            raise InputError(f"{w}: finish {finish} is before start {start}")
        act = t.get("activity")
        if act is not None and not isinstance(act, str):
            raise InputError(f"{w}.activity: expected an activity id")
        out.append(TemporaryObject(name, str(t.get("kind", "temporary")), box, cyl, start, finish, act))  # type: ignore[arg-type]
    return tuple(out)


def temporary_mesh(obj: TemporaryObject, segments: int = 24) -> "Mesh":
    """Closed triangle mesh of a temporary object (a box, or a prism of ``segments`` sides)."""
    from twin.model import Mesh

    if obj.box is not None:
        (x0, y0, z0), (x1, y1, z1) = obj.box
        v = np.array([[x, y, z] for z in (z0, z1) for y in (y0, y1) for x in (x0, x1)], dtype=float)
        f = np.array([[0, 2, 1], [1, 2, 3], [4, 5, 6], [5, 7, 6], [0, 1, 4], [1, 5, 4],
                      [2, 6, 3], [3, 6, 7], [0, 4, 2], [2, 4, 6], [1, 3, 5], [3, 7, 5]])
        return Mesh(v, f)
    assert obj.cylinder is not None
    x, y, z, r, h = obj.cylinder
    ang = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    ring = np.stack([x + r * np.cos(ang), y + r * np.sin(ang)], axis=1)
    v = np.concatenate([np.c_[ring, np.full(segments, z)], np.c_[ring, np.full(segments, z + h)],
                        [[x, y, z], [x, y, z + h]]])
    faces = []
    bc, tc = 2 * segments, 2 * segments + 1
    for i in range(segments):
        j = (i + 1) % segments
        faces += [[i, j, segments + j], [i, segments + j, segments + i], [bc, j, i], [tc, segments + i, segments + j]]
    return Mesh(v, np.array(faces))


def temporary_element(obj: TemporaryObject) -> Element:
    """An Element record for a temporary object (class ``IfcBuildingElementProxy``-like
    ``Temporary``), so selectors and reports treat it like a model element."""
    m = temporary_mesh(obj)
    lo, hi = m.vertices.min(axis=0), m.vertices.max(axis=0)
    return Element(obj.global_id, "Temporary", name=obj.name, object_type=obj.kind,
                   bbox=(tuple(map(float, lo)), tuple(map(float, hi))), file="scenario")  # type: ignore[arg-type]
