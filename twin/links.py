"""Links between model elements and schedule activities: rules, explicit lists, and the link report.

A 4D model is only as good as its links. Links come from three sources, applied in this order:

1. the schedule file itself (``Schedule.element_links``, e.g. IfcRelAssignsToProduct of an IFC 4D file);
2. an explicit CSV of ``GlobalId,activity_id`` rows (:func:`read_link_csv`);
3. link rules (:class:`LinkRule`), in the order given, each selecting elements by storey, IFC class,
   predefined/object type, material, system, zone, name pattern, property or quantity values, and
   naming the activity with a template such as ``"{zone}-{storey}-SLAB"``.

In ``mode="first"`` (the default) an element linked by an earlier source or rule is not linked again
by a later rule; in ``mode="all"`` every matching rule adds a link. The :class:`LinkReport` lists the
linked and unlinked elements, elements linked to several activities, activities without elements,
per-rule counts and warnings (rules matching nothing, templates naming unknown activities, link
lists naming unknown GlobalIds or activities, a schedule that looks like another project's).

Criteria (keys of ``where``; a list means "any of"; strings are shell-style globs, ``*`` and ``?``):

========================= ==================================================================
``class``                 IFC class, case-insensitive; ``IfcWall`` also matches ``IfcWallStandardCase``
``storey``                storey name
``zone``                  zone name (zones given to :func:`apply_rules`)
``predefined_type``       PredefinedType, e.g. ``"ROOF"``
``object_type``           ObjectType
``name``                  element Name (glob); ``name_regex``: regular expression (``re.search``)
``material``              any of the element's material names
``system``                any of the element's system names
``file``                  base name of the IFC file (federated models)
``global_id``             GlobalId(s)
``trade``                 trade given by the ``classify`` function (e.g. the planner's trade table)
``"Pset.Prop"``           property or quantity value: scalar (equality; strings as globs), a list of
                          values, or a range table ``{min = .., max = ..}`` (inclusive); ``"*.Prop"``
                          looks in every property/quantity set
``not``                   a nested table of criteria that must NOT all hold
========================= ==================================================================

Activity templates take ``{storey}``, ``{storey_index}`` (0 = lowest storey; format specs work,
``{storey_index:02d}``), ``{zone}``, ``{class}``, ``{predefined_type}``, ``{object_type}``,
``{name}``, ``{material}``, ``{system}`` (first one), ``{file}``, ``{global_id}`` and ``{trade}``.
"""
from __future__ import annotations

import csv
import fnmatch
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from twin.atomic import atomic_path
from twin.errors import InputError, MissingFileError
from twin.model import BuildingModel, Element
from twin.schedule import ActivityType, Schedule
from twin.zones import Zone, assign_zones

__all__ = [
    "Links",
    "LinkRule",
    "RuleCount",
    "LinkReport",
    "CRITERIA",
    "match_element",
    "apply_rules",
    "rules_from_config",
    "read_link_csv",
    "write_link_csv",
    "link_report",
]

CRITERIA = frozenset({
    "class", "storey", "zone", "predefined_type", "object_type", "name", "name_regex", "material",
    "system", "file", "global_id", "trade", "not",
})
"""Criterion keys a rule's ``where`` accepts, besides dotted ``"Pset.Prop"`` keys."""

_MODES = ("first", "all")


@dataclass(frozen=True, slots=True)
class Links:
    """Element-activity links as ``(activity id, GlobalId)`` pairs, in the order they were made."""

    pairs: tuple[tuple[str, str], ...] = ()

    def elements_of(self, activity: str) -> tuple[str, ...]:
        """GlobalIds linked to ``activity``, in link order."""
        return tuple(g for a, g in self.pairs if a == activity)

    def activities_of(self, global_id: str) -> tuple[str, ...]:
        """Activity ids linked to element ``global_id``, in link order."""
        return tuple(a for a, g in self.pairs if g == global_id)

    def by_activity(self) -> dict[str, list[str]]:
        """Activity id -> GlobalIds (one pass; use this in loops over many activities)."""
        out: dict[str, list[str]] = defaultdict(list)
        for a, g in self.pairs:
            out[a].append(g)
        return dict(out)

    def by_element(self) -> dict[str, list[str]]:
        """GlobalId -> activity ids."""
        out: dict[str, list[str]] = defaultdict(list)
        for a, g in self.pairs:
            out[g].append(a)
        return dict(out)

    def __len__(self) -> int:
        return len(self.pairs)


@dataclass(frozen=True, slots=True)
class LinkRule:
    """One link rule: elements matching ``where`` link to the activity named by ``activity``.

    ``activity`` is an activity id or a template with ``{placeholders}`` (see the module docstring).
    ``label`` names the rule in reports; by default ``"rule N (activity '...')"``.
    """

    activity: str
    where: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""

    def __post_init__(self) -> None:
        name = self.label or f"rule (activity '{self.activity}')"
        if not isinstance(self.activity, str) or not self.activity.strip():
            raise InputError(f"{name}: 'activity' must be a non-empty string")
        _check_where(self.where, name)


def _check_where(where: Mapping[str, Any], name: str) -> None:
    if not isinstance(where, Mapping):
        raise InputError(f"{name}: 'where' must be a table of criteria, got {type(where).__name__}")
    for key, value in where.items():
        if key not in CRITERIA and "." not in key:
            raise InputError(
                f"{name}: unknown criterion '{key}' (expected one of {', '.join(sorted(CRITERIA))} "
                "or a 'Pset.Property' key)"
            )
        if key == "not":
            _check_where(value, f"{name}.not")
        elif key == "name_regex":
            for pattern in _as_list(value):
                try:
                    re.compile(str(pattern))
                except re.error as exc:
                    raise InputError(f"{name}: bad name_regex '{pattern}': {exc}") from None
        elif isinstance(value, Mapping):
            if "." not in key or not set(value) <= {"min", "max"} or not value:
                raise InputError(f"{name}: '{key}' takes a value or a list; only property/quantity "
                                 "keys take a range table {min = .., max = ..}")


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]


def _glob(value: str | None, patterns: Any) -> bool:
    if value is None:
        return False
    return any(fnmatch.fnmatchcase(value, str(p)) for p in _as_list(patterns))


def _class_match(ifc_class: str, patterns: Any) -> bool:
    cls = ifc_class.lower()
    for p in _as_list(patterns):
        p = str(p).lower()
        if fnmatch.fnmatchcase(cls, p):
            return True
        if not any(ch in p for ch in "*?[") and cls in (p + "standardcase", p + "elementedcase"):
            return True
    return False


def _lookup(element: Element, key: str) -> list[Any]:
    """Values of a dotted property/quantity key; ``*.Prop`` searches every set."""
    out = []
    for source in (element.properties, element.quantities):
        if key.startswith("*."):
            suffix = key[1:]
            out.extend(v for k, v in source.items() if k.endswith(suffix))
        elif key in source:
            out.append(source[key])
    return out


def _value_match(actual: Any, wanted: Any) -> bool:
    if isinstance(wanted, Mapping):
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            return False
        lo, hi = wanted.get("min"), wanted.get("max")
        return (lo is None or actual >= lo) and (hi is None or actual <= hi)
    for w in _as_list(wanted):
        if isinstance(w, bool) or isinstance(actual, bool):
            if isinstance(w, bool) and isinstance(actual, bool) and w == actual:
                return True
        elif isinstance(w, str):
            if isinstance(actual, str) and fnmatch.fnmatchcase(actual, w):
                return True
        elif isinstance(actual, (int, float)) and abs(float(actual) - float(w)) <= 1e-9 * max(1.0, abs(w)):
            return True
    return False


def match_element(
    element: Element, where: Mapping[str, Any], *, zone: str | None = None, trade: str | None = None
) -> bool:
    """True when ``element`` (in ``zone``, of ``trade``) satisfies every criterion of ``where``."""
    for key, want in where.items():
        if key == "class":
            ok = _class_match(element.ifc_class, want)
        elif key == "storey":
            ok = _glob(element.storey, want)
        elif key == "zone":
            ok = _glob(zone, want)
        elif key == "trade":
            ok = _glob(trade, want)
        elif key in ("predefined_type", "object_type", "name", "global_id"):
            ok = _glob(getattr(element, key), want)
        elif key == "file":
            ok = _glob(os.path.basename(element.file) if element.file else None, want)
        elif key == "name_regex":
            ok = element.name is not None and any(re.search(str(p), element.name) for p in _as_list(want))
        elif key == "material":
            ok = any(_glob(m, want) for m in element.materials)
        elif key == "system":
            ok = any(_glob(s, want) for s in element.systems)
        elif key == "not":
            ok = not match_element(element, want, zone=zone, trade=trade)
        else:
            ok = any(_value_match(v, want) for v in _lookup(element, key))
        if not ok:
            return False
    return True


def storey_order(model: BuildingModel) -> dict[str, int]:
    """Storey name -> index by elevation (0 = lowest); storeys without elevation come last, by name."""
    names: dict[str, float] = {}
    for s in model.storeys:
        elev = s.elevation if s.elevation is not None else float("inf")
        names[s.name] = min(names.get(s.name, elev), elev)
    for e in model.elements.values():
        if e.storey is not None and e.storey not in names:
            names[e.storey] = float("inf")
    ordered = sorted(names, key=lambda n: (names[n], n))
    return {n: i for i, n in enumerate(ordered)}


class _SafeDict(dict):
    def __missing__(self, key: str) -> Any:
        raise InputError(f"unknown placeholder '{{{key}}}' in activity template")


def _template_values(element: Element, zone: str | None, trade: str | None, storey_idx: Mapping[str, int]) -> dict:
    return _SafeDict(
        storey=element.storey or "", storey_index=storey_idx.get(element.storey or "", -1), zone=zone or "",
        **{"class": element.ifc_class}, predefined_type=element.predefined_type or "",
        object_type=element.object_type or "", name=element.name or "",
        material=element.materials[0] if element.materials else "",
        system=element.systems[0] if element.systems else "",
        file=os.path.basename(element.file) if element.file else "", global_id=element.global_id,
        trade=trade or "",
    )


@dataclass(frozen=True, slots=True)
class RuleCount:
    """What one rule did: elements its criteria matched, links it added, unknown activity ids it named."""

    rule: str
    matched: int
    linked: int
    unknown_activities: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LinkReport:
    """The link report: every list a planner checks before trusting a 4D model."""

    n_elements: int
    n_activities: int
    linked: tuple[str, ...]
    unlinked: tuple[str, ...]
    unlinked_with_geometry: tuple[str, ...]
    multiple: tuple[tuple[str, tuple[str, ...]], ...]
    empty_activities: tuple[str, ...]
    rules: tuple[RuleCount, ...] = ()
    unknown_global_ids: tuple[str, ...] = ()
    unknown_activities: tuple[str, ...] = ()
    overlap: Mapping[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-shaped report: ``counts`` plus each list (the CLI prints this)."""
        return {
            "counts": {
                "elements": self.n_elements, "activities": self.n_activities, "linked": len(self.linked),
                "unlinked": len(self.unlinked), "unlinked_with_geometry": len(self.unlinked_with_geometry),
                "multiple": len(self.multiple), "empty_activities": len(self.empty_activities),
                "unknown_global_ids": len(self.unknown_global_ids),
                "unknown_activities": len(self.unknown_activities),
            },
            "linked": list(self.linked),
            "unlinked": list(self.unlinked),
            "unlinked_with_geometry": list(self.unlinked_with_geometry),
            "multiple": {g: list(a) for g, a in self.multiple},
            "empty_activities": list(self.empty_activities),
            "rules": [{"rule": r.rule, "matched": r.matched, "linked": r.linked,
                       "unknown_activities": list(r.unknown_activities)} for r in self.rules],
            "unknown_global_ids": list(self.unknown_global_ids),
            "unknown_activities": list(self.unknown_activities),
            "overlap": dict(self.overlap),
            "warnings": list(self.warnings),
        }


def _shown(items: Sequence[str], n: int = 10) -> str:
    head = ", ".join(f"'{i}'" for i in items[:n])
    return head + (f" and {len(items) - n} more" if len(items) > n else "")


def _linkable(model: BuildingModel) -> set[str]:
    """GlobalIds a link may name: the elements, and the storeys (a task may build a whole storey)."""
    return set(model.elements) | {s.global_id for s in model.storeys}


def _explicit(
    pairs: Iterable[tuple[str, str]], model: BuildingModel, schedule: Schedule, source: str,
    warnings: list[str], unknown_g: list[str], unknown_a: list[str],
) -> list[tuple[str, str]]:
    kept, bad_g, bad_a = [], [], []
    known = _linkable(model)
    for act, gid in pairs:
        if gid not in known:
            bad_g.append(gid)
        elif act not in schedule.activities:
            bad_a.append(act)
        else:
            kept.append((act, gid))
    if bad_g:
        bad_g = list(dict.fromkeys(bad_g))
        warnings.append(f"{source}: {len(bad_g)} GlobalId(s) not in the model: {_shown(bad_g)}")
        unknown_g.extend(bad_g)
    if bad_a:
        bad_a = list(dict.fromkeys(bad_a))
        warnings.append(f"{source}: {len(bad_a)} activity id(s) not in the schedule: {_shown(bad_a)}")
        unknown_a.extend(bad_a)
    return kept


def apply_rules(
    model: BuildingModel,
    schedule: Schedule,
    rules: Sequence[LinkRule] = (),
    *,
    zones: Sequence[Zone] = (),
    mode: str = "first",
    explicit: Iterable[tuple[str, str]] = (),
    explicit_source: str = "link list",
    use_schedule_links: bool = True,
    classify: Callable[[Element], str | None] | None = None,
) -> tuple[Links, LinkReport]:
    """Link the elements of ``model`` to the activities of ``schedule``.

    Let's imagine a schedule with one slab activity per storey, ``L00-SLAB`` and ``L01-SLAB``: the rule
    ``LinkRule("L{storey_index:02d}-SLAB", {"class": "IfcSlab"})`` links every slab to its storey's
    activity, and the report lists the walls no rule reached.

    Parameters
    ----------
    model, schedule : the records to link
    rules : link rules, applied in order after the schedule's own links and ``explicit`` pairs
    zones : plan zones for the ``zone`` criterion and ``{zone}`` placeholder
    mode : "first" (an element takes the first source/rule that links it) or "all"
    explicit : ``(activity id, GlobalId)`` pairs, e.g. from :func:`read_link_csv`
    explicit_source : name of the explicit list in warnings (e.g. the CSV path)
    use_schedule_links : take ``schedule.element_links`` first
    classify : element -> trade name, for the ``trade`` criterion and ``{trade}`` placeholder

    Returns
    -------
    (Links, LinkReport)
    """
    if mode not in _MODES:
        raise InputError(f"links.mode must be one of {', '.join(_MODES)}, got '{mode}'")
    warnings: list[str] = []
    unknown_g: list[str] = []
    unknown_a: list[str] = []
    pairs: list[tuple[str, str]] = []
    overlap: dict[str, int] = {}
    if use_schedule_links and schedule.element_links:
        gids = {g for _, g in schedule.element_links}
        known = _linkable(model)
        found = sum(1 for g in gids if g in known)
        overlap = {"schedule_global_ids": len(gids), "found_in_model": found}
        if found < len(gids):
            what = "look like different projects" if found * 2 < len(gids) else "do not fully match"
            warnings.append(f"schedule and model {what}: {found} of the {len(gids)} elements the schedule "
                            f"'{schedule.source or schedule.name}' links to are in the model")
        pairs += _explicit(schedule.element_links, model, schedule, "schedule links", warnings, [], [])
    pairs += _explicit(explicit, model, schedule, explicit_source, warnings, unknown_g, unknown_a)
    zone_of = assign_zones(model, zones) if zones else {}
    s_idx = storey_order(model)
    taken = {g for _, g in pairs}
    seen = set(pairs)
    counts = []
    for i, rule in enumerate(rules, 1):
        label = rule.label or f"rule {i} (activity '{rule.activity}')"
        matched, linked, missing = 0, 0, []
        for gid, el in model.elements.items():
            if mode == "first" and gid in taken:
                continue
            zone = zone_of.get(gid)
            trade = classify(el) if classify is not None and _needs_trade(rule) else None
            if not match_element(el, rule.where, zone=zone, trade=trade):
                continue
            matched += 1
            try:
                act = rule.activity.format_map(_template_values(el, zone, trade, s_idx))
            except (ValueError, IndexError) as exc:
                raise InputError(f"{label}: bad activity template '{rule.activity}': {exc}") from None
            except InputError as exc:
                raise InputError(f"{label}: {exc}") from None
            if act not in schedule.activities:
                missing.append(act)
                continue
            if (act, gid) not in seen:
                seen.add((act, gid))
                pairs.append((act, gid))
                linked += 1
            taken.add(gid)
        missing = list(dict.fromkeys(missing))
        if matched == 0:
            warnings.append(f"{label}: matched no element")
        elif missing:
            warnings.append(f"{label}: names {len(missing)} activity id(s) not in the schedule: {_shown(missing)}")
        counts.append(RuleCount(label, matched, linked, tuple(missing)))
    links = Links(tuple(pairs))
    if not pairs and model.elements and schedule.activities:
        warnings.append(f"no element is linked to any of the {len(schedule.activities)} activities: check the "
                        "rules, or whether the schedule and the model belong to the same project")
    report = link_report(model, schedule, links, rules=counts, warnings=warnings,
                         unknown_global_ids=unknown_g, unknown_activities=unknown_a, overlap=overlap)
    return links, report


def _needs_trade(rule: LinkRule) -> bool:
    return "trade" in rule.where or "{trade" in rule.activity or "trade" in rule.where.get("not", {})


def link_report(
    model: BuildingModel, schedule: Schedule, links: Links, *, rules: Sequence[RuleCount] = (),
    warnings: Sequence[str] = (), unknown_global_ids: Sequence[str] = (),
    unknown_activities: Sequence[str] = (), overlap: Mapping[str, int] | None = None,
) -> LinkReport:
    """The four lists of a link report for given links (milestones and summaries need no elements)."""
    by_el = links.by_element()
    by_act = links.by_activity()
    linked = tuple(g for g in model.elements if g in by_el)
    unlinked = tuple(g for g in model.elements if g not in by_el)
    with_geom = tuple(g for g in unlinked if model.elements[g].bbox is not None or g in model.meshes)
    multiple = tuple((g, tuple(by_el[g])) for g in model.elements if len(by_el.get(g, ())) > 1)
    skip = {ActivityType.START_MILESTONE, ActivityType.FINISH_MILESTONE, ActivityType.WBS_SUMMARY,
            ActivityType.LEVEL_OF_EFFORT}
    empty = tuple(a.id for a in schedule.activities.values() if a.type not in skip and a.id not in by_act)
    return LinkReport(
        n_elements=len(model.elements), n_activities=len(schedule.activities), linked=linked,
        unlinked=unlinked, unlinked_with_geometry=with_geom, multiple=multiple, empty_activities=empty,
        rules=tuple(rules), unknown_global_ids=tuple(unknown_global_ids),
        unknown_activities=tuple(unknown_activities), overlap=dict(overlap or {}), warnings=tuple(warnings),
    )


def rules_from_config(items: Sequence[Mapping[str, Any]], where_name: str = "links.rules") -> tuple[LinkRule, ...]:
    """Build rules from TOML tables ``[[links.rules]] activity = .., where = {..}, label = ..``.

    Errors name the table, e.g. ``links.rules[2].where: unknown criterion 'clas'``.
    """
    out = []
    for i, item in enumerate(items):
        name = f"{where_name}[{i}]"
        if not isinstance(item, Mapping):
            raise InputError(f"{name}: expected a table, got {type(item).__name__}")
        unknown = set(item) - {"activity", "where", "label"}
        if unknown:
            raise InputError(f"{name}: unknown key(s) {', '.join(sorted(unknown))} "
                             "(expected activity, where, label)")
        if "activity" not in item:
            raise InputError(f"{name}: missing 'activity'")
        try:
            out.append(LinkRule(str(item["activity"]), dict(item.get("where", {})), str(item.get("label", ""))))
        except InputError as exc:
            raise InputError(f"{name}: {str(exc).split(': ', 1)[-1]}") from None
    return tuple(out)


_GID_COLS = ("globalid", "global_id", "guid", "element")
_ACT_COLS = ("activity_id", "activity", "task_id", "task")


def read_link_csv(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Read ``GlobalId,activity_id`` rows (header required; names case-insensitive) as (activity, GlobalId).

    Raises
    ------
    MissingFileError, InputError (naming the file and line)
    """
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(p, "link CSV")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise InputError(f"{p}: empty link CSV (expected a header 'GlobalId,activity_id')")
    header = [h.strip().lower() for h in rows[0]]
    gi = next((header.index(c) for c in _GID_COLS if c in header), None)
    ai = next((header.index(c) for c in _ACT_COLS if c in header), None)
    if gi is None or ai is None:
        raise InputError(f"{p}:1: header must name a GlobalId column and an activity_id column, got {rows[0]}")
    out = []
    for line, row in enumerate(rows[1:], 2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) <= max(gi, ai):
            raise InputError(f"{p}:{line}: expected {len(header)} columns, got {len(row)}")
        gid, act = row[gi].strip(), row[ai].strip()
        if not gid or not act:
            raise InputError(f"{p}:{line}: empty GlobalId or activity_id")
        out.append((act, gid))
    return out


def write_link_csv(links: Links, path: str | os.PathLike[str]) -> Path:
    """Write ``GlobalId,activity_id`` rows atomically (temp file, then rename)."""
    p = Path(path)
    with atomic_path(p) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["GlobalId", "activity_id"])
        for act, gid in links.pairs:
            w.writerow([gid, act])
    return p
