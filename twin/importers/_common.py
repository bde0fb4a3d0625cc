"""Helpers shared by the schedule importers and exporters.

Built-in calendars (``standard``, ``24h``, ``6day``, ``7day``), the checks every importer runs before
handing out a :class:`~twin.schedule.Schedule` (unknown activities in links, unknown calendars, logic
loops, duplicated links), ISO 8601 duration parsing and formatting, date parsing with clear errors,
and atomic file writing (temp file + rename, so a failed export leaves nothing half-written).

Assumptions: durations and lags are working hours (see :mod:`twin.schedule`); date-times are
timezone-naive local times (an offset in a file is dropped: the wall-clock time is kept).
"""
from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path

from twin.atomic import atomic_write
from twin.errors import MissingFileError, ScheduleCycleError, ScheduleError
from twin.schedule import STANDARD_WEEK, Activity, Calendar, RelationType, Relationship

__all__ = [
    "BUILTIN_CALENDARS",
    "builtin_calendar",
    "check_logic",
    "find_cycle",
    "parse_iso_duration_h",
    "format_iso_duration",
    "parse_datetime",
    "next_monday",
    "atomic_write_text",
    "atomic_write_bytes",
    "is_builtin_calendar",
    "parse_xml",
    "schedule_xml_root",
    "local_name",
    "leaf_texts",
    "children",
    "fallback_start",
    "expand_summary_links",
]

_DAY_8H = ((480, 720), (780, 1020))
_BUILTIN: dict[str, Calendar] = {
    "standard": Calendar(id="standard", name="Standard (Mon-Fri 8h)", week=STANDARD_WEEK),
    "24h": Calendar(id="24h", name="24 hours, 7 days", week=(((0, 1440),),) * 7, hours_per_day=24.0),
    "6day": Calendar(id="6day", name="Mon-Sat 8h", week=(_DAY_8H,) * 6 + ((),)),
    "7day": Calendar(id="7day", name="7 days 8h", week=(_DAY_8H,) * 7),
}
BUILTIN_CALENDARS: tuple[str, ...] = tuple(_BUILTIN)
"""Names of the calendars every CSV schedule may use without defining them."""


def builtin_calendar(name: str) -> Calendar:
    """The built-in calendar called ``name`` (case-insensitive).

    Raises
    ------
    KeyError
        ``name`` is not one of :data:`BUILTIN_CALENDARS`.
    """
    return _BUILTIN[name.strip().lower()]


def is_builtin_calendar(cal: Calendar) -> bool:
    """True when ``cal`` has a built-in name and the same hours (and no exceptions)."""
    ref = _BUILTIN.get(cal.id)
    return (ref is not None and tuple(map(tuple, cal.week)) == ref.week and not cal.exceptions
            and cal.hours_per_day == ref.hours_per_day)


def find_cycle(activity_ids: Iterable[str], relationships: Iterable[Relationship]) -> list[str] | None:
    """Activity ids forming one logic loop, in link order, or None when the logic is acyclic.

    Iterative depth-first search (no recursion limit on long chains).
    """
    succ: dict[str, list[str]] = {a: [] for a in activity_ids}
    for r in relationships:
        succ.setdefault(r.pred, []).append(r.succ)
        succ.setdefault(r.succ, [])
    state: dict[str, int] = {}  # 1 on stack, 2 done
    for root in succ:
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = [root]
        state[root] = 1
        while stack:
            node, i = stack[-1]
            nexts = succ[node]
            if i < len(nexts):
                stack[-1] = (node, i + 1)
                nxt = nexts[i]
                st = state.get(nxt)
                if st == 1:
                    return path[path.index(nxt):]
                if st is None:
                    state[nxt] = 1
                    stack.append((nxt, 0))
                    path.append(nxt)
            else:
                state[node] = 2
                stack.pop()
                path.pop()
    return None


def check_logic(
    activities: Mapping[str, Activity],
    relationships: Iterable[Relationship],
    calendars: Mapping[str, Calendar],
    default_calendar: str,
    *,
    source: str,
) -> tuple[tuple[Relationship, ...], list[str]]:
    """Validate links and calendars of an imported schedule.

    Parameters
    ----------
    activities, relationships, calendars, default_calendar
        What the importer read.
    source
        File name used in messages.

    Returns
    -------
    (relationships, warnings)
        The links without exact duplicates, and one warning per duplicate removed.

    Raises
    ------
    ScheduleError
        A link names an unknown activity or links an activity to itself, or an activity (or the
        default) names an unknown calendar.
    ScheduleCycleError
        The links form a loop; the error lists the activities in the loop.
    """
    warnings: list[str] = []
    if default_calendar not in calendars:
        raise ScheduleError(f"{source}: default calendar '{default_calendar}' is not defined")
    for a in activities.values():
        if a.calendar is not None and a.calendar not in calendars:
            raise ScheduleError(f"{source}: activity '{a.id}' uses unknown calendar '{a.calendar}'")
    seen: set[Relationship] = set()
    kept: list[Relationship] = []
    for r in relationships:
        for end in (r.pred, r.succ):
            if end not in activities:
                raise ScheduleError(f"{source}: relationship {r.pred} -> {r.succ} ({r.type.value}) "
                                    f"names unknown activity '{end}'")
        if r.pred == r.succ:
            raise ScheduleError(f"{source}: activity '{r.pred}' is linked to itself")
        if r in seen:
            warnings.append(f"{source}: duplicate relationship {r.pred} -> {r.succ} "
                            f"{r.type.value} lag {r.lag_h:g}h removed")
            continue
        seen.add(r)
        kept.append(r)
    cycle = find_cycle(activities, kept)
    if cycle:
        err = ScheduleCycleError(cycle)
        err.args = (f"{source}: {err.args[0]}",)
        raise err
    return tuple(kept), warnings


_ISO_DUR = re.compile(
    r"^(?P<sign>-)?P(?:(?P<y>\d+(?:\.\d+)?)Y)?(?:(?P<mo>\d+(?:\.\d+)?)M)?(?:(?P<w>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<mi>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_iso_duration_h(text: str, *, hours_per_day: float = 8.0, days_per_week: float = 5.0,
                         days_per_month: float = 20.0, elapsed: bool = False,
                         what: str = "duration") -> float:
    """Hours in an ISO 8601 duration such as ``PT8H0M0S`` or ``P2DT4H``.

    Days count ``hours_per_day`` working hours (24 when ``elapsed``), weeks ``days_per_week`` days,
    months ``days_per_month`` days; years are 12 months.

    Raises
    ------
    ScheduleError
        ``text`` is not an ISO 8601 duration; the message starts with ``what``.

    Examples
    --------
    >>> parse_iso_duration_h("PT8H30M0S")
    8.5
    >>> parse_iso_duration_h("P2DT4H")
    20.0
    """
    m = _ISO_DUR.match(text.strip())
    if not m or text.strip() in ("P", "PT", "-P") or text.strip().endswith("T"):
        raise ScheduleError(f"{what}: '{text}' is not an ISO 8601 duration (e.g. PT8H0M0S, P3D)")
    g = {k: float(v) if v else 0.0 for k, v in m.groupdict().items() if k != "sign"}
    hpd = 24.0 if elapsed else hours_per_day
    dpw = 7.0 if elapsed else days_per_week
    dpm = 30.0 if elapsed else days_per_month
    days = g["d"] + g["w"] * dpw + (g["mo"] + 12 * g["y"]) * dpm
    hours = days * hpd + g["h"] + g["mi"] / 60.0 + g["s"] / 3600.0
    return -hours if m.group("sign") else hours


def format_iso_duration(hours: float) -> str:
    """MS Project's form of a duration in hours: ``PT{h}H{m}M{s}S``.

    Examples
    --------
    >>> format_iso_duration(8.5)
    'PT8H30M0S'
    >>> format_iso_duration(-4)
    '-PT4H0M0S'
    """
    sign = "-" if hours < 0 else ""
    total_s = round(abs(hours) * 3600)
    h, rest = divmod(total_s, 3600)
    m, s = divmod(rest, 60)
    return f"{sign}PT{h}H{m}M{s}S"


_DT_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
               "%Y-%m-%d")


def parse_datetime(text: str, *, what: str) -> datetime:
    """A timezone-naive date-time from ISO text (date only gives midnight).

    A UTC offset or ``Z`` and fractions of seconds are dropped (the wall-clock time is kept).

    Raises
    ------
    ScheduleError
        ``text`` is not an ISO date or date-time; the message starts with ``what``.
    """
    s = text.strip()
    try:  # fast path: ISO forms (about 20x quicker than strptime)
        value = datetime.fromisoformat(s)
        return value.replace(tzinfo=None) if value.tzinfo else value
    except ValueError:
        pass
    s = re.sub(r"(Z|[+-]\d\d:?\d\d)$", "", s) if "T" in s or " " in s else s
    s = re.sub(r"\.\d+$", "", s)
    for fmt in _DT_FORMATS:
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            continue
    raise ScheduleError(f"{what}: '{text}' is not a date (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM)")


def next_monday(today: date | None = None, calendar: Calendar | None = None) -> datetime:
    """The first working minute of the Monday after ``today`` (default: the real today)."""
    today = today or date.today()
    monday = today + timedelta(days=7 - today.weekday())
    cal = calendar or _BUILTIN["standard"]
    first = cal.week[0][0][0] if cal.week[0] else 0
    return datetime.combine(monday, time()) + timedelta(minutes=first)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temp file in the same folder and a rename."""
    target = Path(path)
    if not target.parent.exists():
        raise ScheduleError(f"cannot write '{target}': folder '{target.parent}' does not exist")
    return atomic_write(target, data)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode(encoding))


def parse_xml(path: Path) -> ET.Element:
    """The root element of an XML file; malformed XML is a ScheduleError naming file, line and column.

    Parsed with lxml when it is installed (about 3x faster on large exports; entities not resolved,
    no network), else with ElementTree (expat fetches no external entities and limits entity
    expansion). Errors are always reported from ElementTree's parse, so messages do not depend on
    which parser is present. Comments and processing instructions are dropped.
    """
    try:
        from lxml import etree as lxml_etree
    except ImportError:  # pragma: no cover - lxml comes with the project's dependencies
        lxml_etree = None
    if lxml_etree is not None:
        parser = lxml_etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True,
                                      remove_comments=True, remove_pis=True)
        try:
            return lxml_etree.parse(str(path), parser).getroot()
        except (lxml_etree.XMLSyntaxError, LookupError, ValueError):
            pass  # fall through: ElementTree names the problem the same way every time
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        line, col = exc.position
        raise ScheduleError(f"{path}, line {line}, column {col + 1}: malformed XML "
                            f"({str(exc).split(':')[0]})") from None
    except LookupError as exc:
        raise ScheduleError(f"{path}, line 1: the XML declaration names an {exc}") from None


def schedule_xml_root(path: str | os.PathLike[str], root_tag: str | None = None, tool: str = "") -> tuple[Path, ET.Element]:
    """(path, root element) of a schedule XML file, the root checked to be ``<root_tag>`` when given.

    Raises
    ------
    MissingFileError
        ``path`` is not a file.
    ScheduleError
        Malformed XML (:func:`parse_xml`), or another root element, e.g. ``f.xml: root element is
        <Foo>, expected MS Project's <Project>`` (``tool`` names the program that writes the format).
    """
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(p, "schedule file")
    root = parse_xml(p)
    if root_tag is not None and local_name(root.tag) != root_tag:
        raise ScheduleError(f"{p}: root element is <{local_name(root.tag)}>, expected {tool}'s <{root_tag}>")
    return p, root


_LOCAL: dict[str, str] = {}


def local_name(tag: str) -> str:
    """``{namespace}Tag`` -> ``Tag`` (memoised: files repeat a few hundred tag names)."""
    name = _LOCAL.get(tag)
    if name is None:
        name = _LOCAL[tag] = tag.rsplit("}", 1)[-1]
    return name


def leaf_texts(elem: ET.Element) -> dict[str, str]:
    """Text of the childless children of ``elem`` by local tag name (stripped; empty for none)."""
    get = _LOCAL.get
    return {(get(c.tag) or local_name(c.tag)): (c.text or "").strip() for c in elem if len(c) == 0}


def children(elem: ET.Element | None, *path: str) -> Iterator[ET.Element]:
    """Descendants of ``elem`` along ``path`` of local names, whatever the namespace."""
    if elem is None:
        return
    if not path:
        yield elem
        return
    for c in elem:
        if local_name(c.tag) == path[0]:
            yield from children(c, *path[1:])


def fallback_start(declared: datetime | None, activities: Mapping[str, Activity], warnings: list[str],
                   source: str) -> datetime | None:
    """The project start: as declared, else the earliest planned or actual start (with a warning)."""
    if declared is not None:
        return declared
    starts = [d for a in activities.values() for d in (a.planned_start, a.actual_start) if d is not None]
    if not starts:
        return None
    first = min(starts)
    warnings.append(f"{source}: no project start date in the file; using the earliest activity start "
                    f"{first:%Y-%m-%d %H:%M}")
    return first


def expand_summary_links(relationships: Iterable[Relationship], leaves_of: Mapping[str, list[str]],
                         warnings: list[str], source: str) -> list[Relationship]:
    """Move links on summary tasks to the tasks below them, where that keeps their meaning exactly.

    In MS Project and IFC a summary task spans its tasks: its finish is their last finish, and a
    task below it may not start before a link into the summary allows. So a finish-based link *from*
    a summary (FS, FF) becomes the same link from each task below it, and a start-based link *to* a
    summary (FS, SS) the same link to each task below it. Other links on summaries (SS/SF from one,
    FF/SF to one) have no exact equivalent and are kept on the summary, with a warning.

    Parameters
    ----------
    leaves_of
        Summary activity id -> ids of the non-summary activities below it (any depth).
    """
    out: list[Relationship] = []
    for r in relationships:
        pred_leaves, succ_leaves = leaves_of.get(r.pred), leaves_of.get(r.succ)
        if not pred_leaves and not succ_leaves:
            out.append(r)
            continue
        preds = pred_leaves if pred_leaves and r.type in (RelationType.FS, RelationType.FF) else [r.pred]
        succs = succ_leaves if succ_leaves and r.type in (RelationType.FS, RelationType.SS) else [r.succ]
        if preds == [r.pred] and succs == [r.succ]:
            warnings.append(f"{source}: {r.type.value} link {r.pred} -> {r.succ} on a summary task has no exact "
                            "equivalent on the tasks below it; kept on the summary")
            out.append(r)
            continue
        moved = [Relationship(p, q, r.type, r.lag_h) for p in preds for q in succs if p != q]
        warnings.append(f"{source}: {r.type.value} link {r.pred} -> {r.succ} on a summary task moved to "
                        f"{len(moved)} link(s) between the tasks below it")
        out.extend(moved)
    return out
