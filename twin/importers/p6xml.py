"""Primavera P6 XML (``APIBusinessObjects``, PMXML) reader.

Supported business objects and fields (anything else in the file is ignored):

* ``Project``: ``Id``, ``Name``, ``PlannedStartDate`` -> ``Schedule.start``, ``DataDate`` ->
  ``data_date``, ``MustFinishByDate`` -> ``finish_constraint``, ``ActivityDefaultCalendarObjectId``
  -> ``default_calendar``; its ``ScheduleOptions`` (``RelationshipLagCalendar``,
  ``OutOfSequenceScheduleType``, ``CriticalActivityPathType``, ``CriticalActivityFloatThreshold``,
  ``ComputeTotalFloatType``, ``MakeOpenEndedActivitiesCritical``) -> ``ScheduleOptions``.
* ``Calendar`` (global, project and resource calendars; id = ``ObjectId``): ``Name``, ``HoursPerDay``,
  ``StandardWorkWeek/StandardWorkHours`` (``DayOfWeek``, ``WorkTime`` ``Start``/``Finish``; P6 writes
  finishes as the last working minute, ``11:59``, read as ``12:00``), ``HolidayOrExceptions``
  (``Date`` with or without ``WorkTime``); a calendar without a work week takes its
  ``BaseCalendarObjectId``'s.
* ``WBS``: ``ParentObjectId`` chain of ``Name`` -> ``Activity.wbs``.
* ``Activity``: ``Id`` -> ``Activity.id``, ``ObjectId`` -> ``uid``, ``Name``, ``Type``,
  ``PlannedDuration`` and ``RemainingDuration`` (hours), ``CalendarObjectId``,
  ``Primary``/``SecondaryConstraintType`` and ``Date``, ``ActualStartDate``/``ActualFinishDate``,
  ``PercentComplete`` (a fraction in the file, 0..100 in twin), ``Status``, ``PlannedStartDate``/
  ``PlannedFinishDate``, P6's computed ``EarlyStartDate``... ``TotalFloat``/``FreeFloat`` ->
  ``reference`` (keys as the XER reader's), ``UDF`` values and activity ``Code`` values ->
  ``attributes`` under the UDF title / code type name.
* ``Relationship`` (anywhere in the file): ``Predecessor``/``SuccessorActivityObjectId``, ``Type``,
  ``Lag`` (hours). Links to activities not in the file are counted warnings.
* ``Resource`` (``ResourceType`` Labor / Nonlabor / Material -> labor / equipment / material,
  ``MaxUnitsPerTime``) and ``ResourceAssignment`` (``PlannedUnitsPerTime``, ``PlannedUnits`` hours).

Several projects in one file: ``project=`` picks one by ``Id`` or ``ObjectId``; without it they are
merged (activity ids that clash get a ``<project Id>:`` prefix, with a warning). Baseline projects
(``BaselineProject``) are not read (a warning counts them).
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from twin.errors import ScheduleError
from twin.importers._common import (
    check_logic, children, fallback_start, leaf_texts, local_name, parse_datetime, schedule_xml_root,
)
from twin.schedule import (
    Activity, ActivityType, Assignment, Calendar, Constraint, ConstraintType, Interval, RelationType,
    Relationship, Resource, Schedule, ScheduleOptions,
)

__all__ = ["read_p6xml", "list_p6xml_projects"]

ACTIVITY_TYPES = {
    "task dependent": ActivityType.TASK, "resource dependent": ActivityType.RESOURCE_DEPENDENT,
    "level of effort": ActivityType.LEVEL_OF_EFFORT, "start milestone": ActivityType.START_MILESTONE,
    "finish milestone": ActivityType.FINISH_MILESTONE, "wbs summary": ActivityType.WBS_SUMMARY,
}
LINK_TYPES = {"finish to start": RelationType.FS, "start to start": RelationType.SS,
              "finish to finish": RelationType.FF, "start to finish": RelationType.SF}
CONSTRAINT_TYPES = {
    "start on": ConstraintType.START_ON, "start on or after": ConstraintType.START_ON_OR_AFTER,
    "start on or before": ConstraintType.START_ON_OR_BEFORE, "finish on": ConstraintType.FINISH_ON,
    "finish on or after": ConstraintType.FINISH_ON_OR_AFTER, "finish on or before": ConstraintType.FINISH_ON_OR_BEFORE,
    "mandatory start": ConstraintType.MANDATORY_START, "mandatory finish": ConstraintType.MANDATORY_FINISH,
    "as late as possible": ConstraintType.AS_LATE_AS_POSSIBLE,
}
_DAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
_RESOURCE_KINDS = {"labor": "labor", "nonlabor": "equipment", "material": "material"}
_LAG_CALENDARS = {"predecessor activity calendar": "predecessor", "successor activity calendar": "successor",
                  "24 hour calendar": "24h", "project default calendar": "project"}
_PROGRESS = {"retained logic": "retained_logic", "progress override": "progress_override",
             "actual dates": "actual_dates"}
_TOTAL_FLOAT = {"start float": "start", "finish float": "finish",
                "smallest of start float and finish float": "smallest"}
_REF_DATES = {"early_start": "EarlyStartDate", "early_finish": "EarlyFinishDate", "late_start": "LateStartDate",
              "late_finish": "LateFinishDate", "remaining_early_start": "RemainingEarlyStartDate",
              "remaining_early_finish": "RemainingEarlyFinishDate"}
_MIN_YEAR, _MAX_YEAR = 1900, 2200


class _Reader:
    """One pass over a P6 XML tree; collects warnings naming the file and object."""

    def __init__(self, path: Path, root: ET.Element) -> None:
        self.path = path
        self.root = root
        self.warnings: list[str] = []
        self.index: dict[str, list[ET.Element]] = {}   # local tag name -> elements, in document order
        names: dict[str, str] = {}
        for e in root.iter():
            name = names.get(e.tag)
            if name is None:
                name = names[e.tag] = local_name(e.tag)
            self.index.setdefault(name, []).append(e)

    def all(self, name: str) -> list[ET.Element]:
        """Every element with this local name anywhere in the file."""
        return self.index.get(name, [])

    def date(self, text: str | None, what: str) -> datetime | None:
        if not text:
            return None
        value = parse_datetime(text, what=f"{self.path}: {what}")
        if not _MIN_YEAR <= value.year <= _MAX_YEAR:
            self.warnings.append(f"{self.path}: {what}: corrupt date {text} (outside {_MIN_YEAR}-{_MAX_YEAR}) ignored")
            return None
        return value

    def number(self, text: str | None, what: str, default: float | None = 0.0) -> float | None:
        if text in (None, ""):
            return default
        try:
            return float(text)
        except ValueError:
            raise ScheduleError(f"{self.path}: {what}: '{text}' is not a number") from None

    # ----------------------------------------------------------------------------------- calendars
    def calendars(self) -> dict[str, Calendar]:
        raw = {leaf_texts(c).get("ObjectId", ""): c for c in self.all("Calendar")}
        raw.pop("", None)
        out: dict[str, Calendar] = {}
        for oid, el in raw.items():
            out[oid] = self._calendar(oid, el, raw, ())
        return out

    def _calendar(self, oid: str, el: ET.Element, raw: Mapping[str, ET.Element], chain: tuple[str, ...]) -> Calendar:
        d = leaf_texts(el)
        where = f"calendar {oid} '{d.get('Name', '')}'"
        hpd = self.number(d.get("HoursPerDay"), f"{where} HoursPerDay", 8.0) or 8.0
        days = list(children(el, "StandardWorkWeek", "StandardWorkHours"))
        base = d.get("BaseCalendarObjectId", "")
        if not days and base in raw and base not in chain and base != oid:
            week = self._calendar(base, raw[base], raw, (*chain, oid)).week
        else:
            week_list: list[tuple[Interval, ...]] = [()] * 7
            for day in days:
                name = leaf_texts(day).get("DayOfWeek", "").lower()
                if name not in _DAYS:
                    raise ScheduleError(f"{self.path}: {where}: unknown DayOfWeek '{name}'")
                week_list[_DAYS[name]] = self._work_times(day, where)
            if not days:
                self.warnings.append(f"{self.path}: {where} has no StandardWorkWeek; read as no working time")
            week = tuple(week_list)
        exceptions: dict[date, tuple[Interval, ...]] = {}
        for exc in children(el, "HolidayOrExceptions", "HolidayOrException"):
            when = self.date(leaf_texts(exc).get("Date"), f"{where} HolidayOrException Date")
            if when is not None:
                exceptions[when.date()] = self._work_times(exc, where)
        return Calendar(id=oid, name=d.get("Name", ""), week=week, exceptions=exceptions, hours_per_day=hpd)

    def _work_times(self, el: ET.Element, where: str) -> tuple[Interval, ...]:
        out: list[Interval] = []
        for wt in children(el, "WorkTime"):
            d = leaf_texts(wt)
            try:
                s = _minute(d.get("Start", ""))
                f = _minute(d.get("Finish", ""))
            except ValueError:
                raise ScheduleError(f"{self.path}: {where}: bad WorkTime {d.get('Start')}-{d.get('Finish')}") from None
            e = f + 1 if f % 60 == 59 or f % 30 == 29 else f  # P6 writes the last working minute
            e = 1440 if e == 0 else e
            if not 0 <= s < e <= 1440:
                raise ScheduleError(f"{self.path}: {where}: bad WorkTime {d.get('Start')}-{d.get('Finish')}")
            out.append((s, e))
        return tuple(sorted(out))


def _minute(text: str) -> int:
    hh, mm, *_ = text.split(":")
    return int(hh) * 60 + int(mm)


def list_p6xml_projects(path: str | os.PathLike[str]) -> list[tuple[str, str, str]]:
    """(ObjectId, Id, Name) of each project in a P6 XML file, in file order."""
    _, root = schedule_xml_root(path)
    return [(d.get("ObjectId", ""), d.get("Id", ""), d.get("Name", ""))
            for d in (leaf_texts(e) for e in children(root, "Project"))]


def read_p6xml(path: str | os.PathLike[str], *, project: str | None = None) -> Schedule:
    """Read a Primavera P6 XML export (see the module docstring for what is read).

    Let's imagine the planner exported the programme from P6 as XML (File > Export > XML)::

        s = read_p6xml("programme.xml")                 # the only project, or all of them merged
        s = read_p6xml("programme.xml", project="HS2")  # one project by its Id

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    ScheduleError
        Malformed XML (file, line, column), not P6 XML, no or unknown project, bad numbers or dates
        (naming the object), unknown activity or link types, links within the file to missing activities.
    ScheduleCycleError
        The relationships form a loop.
    """
    p, root = schedule_xml_root(path, "APIBusinessObjects", "P6")
    r = _Reader(p, root)
    projects = _pick_projects(r, project)
    calendars = r.calendars()
    head = leaf_texts(projects[0])
    default_cal = _default_calendar(r, head, calendars)
    wbs_paths = _wbs_paths(r)
    udf_titles = {d.get("ObjectId", ""): d.get("Title", "") for d in map(leaf_texts, children(root, "UDFType"))}
    codes = _activity_codes(r)
    activities: dict[str, Activity] = {}
    by_oid: dict[str, str] = {}
    for proj in projects:
        pid = leaf_texts(proj).get("Id", "")
        for el in children(proj, "Activity"):
            act = _activity(r, el, wbs_paths, calendars, udf_titles, codes)
            if act.id in activities:
                r.warnings.append(f"{p}: activity id '{act.id}' occurs in more than one project; "
                                  f"ObjectId {act.uid} read as '{pid}:{act.id}'")
                act = replace(act, id=f"{pid}:{act.id}")
            activities[act.id] = act
            by_oid[act.uid or ""] = act.id
    rels = _relationships(r, by_oid)
    resources, assignments = _resources(r, by_oid, calendars)
    rels, dups = check_logic(activities, rels, calendars, default_cal, source=str(p))
    r.warnings += dups
    start = fallback_start(r.date(head.get("PlannedStartDate"), "project PlannedStartDate"), activities,
                           r.warnings, str(p))
    return Schedule(
        activities=activities, relationships=rels, calendars=calendars, default_calendar=default_cal,
        start=start,
        data_date=r.date(head.get("DataDate") or head.get("CurrentDataDate"), "project DataDate"),
        finish_constraint=r.date(head.get("MustFinishByDate"), "project MustFinishByDate"),
        options=_options(projects[0]), resources=resources, assignments=assignments,
        name=head.get("Name") or head.get("Id") or p.stem, source=str(p), warnings=tuple(r.warnings),
    )


def _pick_projects(r: _Reader, project: str | None) -> list[ET.Element]:
    projects = list(children(r.root, "Project"))
    baselines = list(children(r.root, "BaselineProject"))
    if baselines:
        r.warnings.append(f"{r.path}: {len(baselines)} baseline project(s) not read")
    if not projects:
        raise ScheduleError(f"{r.path}: no <Project> in this P6 XML file")
    if project is None:
        if len(projects) > 1:
            ids = ", ".join(leaf_texts(e).get("Id", "?") for e in projects)
            r.warnings.append(f"{r.path}: {len(projects)} projects ({ids}) merged into one schedule")
        return projects
    chosen = [e for e in projects if project in (leaf_texts(e).get("Id"), leaf_texts(e).get("ObjectId"))]
    if not chosen:
        ids = ", ".join(leaf_texts(e).get("Id", "?") for e in projects)
        raise ScheduleError(f"{r.path}: no project '{project}' (projects in the file: {ids})")
    return chosen


def _default_calendar(r: _Reader, head: Mapping[str, str], calendars: dict[str, Calendar]) -> str:
    cid = head.get("ActivityDefaultCalendarObjectId", "")
    if cid in calendars:
        return cid
    flagged = [leaf_texts(c).get("ObjectId", "") for c in r.all("Calendar")
               if leaf_texts(c).get("IsDefault") in ("1", "true")]
    fallback = next((c for c in flagged if c in calendars), None) or next(iter(calendars), None)
    if fallback is None:
        calendars["standard"] = Calendar("standard", "Standard")
        r.warnings.append(f"{r.path}: no calendars in the file; using Mon-Fri 08:00-12:00, 13:00-17:00")
        return "standard"
    if cid:
        r.warnings.append(f"{r.path}: project default calendar {cid} is not in the file; using calendar {fallback}")
    return fallback


def _wbs_paths(r: _Reader) -> dict[str, tuple[str, ...]]:
    nodes = {d.get("ObjectId", ""): d for d in map(leaf_texts, r.all("WBS"))}
    paths: dict[str, tuple[str, ...]] = {}

    def path(oid: str) -> tuple[str, ...]:
        chain: list[str] = []
        seen: set[str] = set()
        cur = oid
        while cur in nodes and cur not in seen:
            seen.add(cur)
            chain.append(nodes[cur].get("Name") or nodes[cur].get("Code", cur))
            cur = nodes[cur].get("ParentObjectId", "")
        if cur in seen:
            raise ScheduleError(f"{r.path}: WBS {oid} is its own ancestor")
        return tuple(reversed(chain))

    for oid in nodes:
        paths[oid] = path(oid)
    return paths


def _activity_codes(r: _Reader) -> dict[str, tuple[str, str]]:
    """ActivityCode ObjectId -> (code type name, code value)."""
    types = {d.get("ObjectId", ""): d.get("Name", "") for d in map(leaf_texts, r.all("ActivityCodeType"))}
    out: dict[str, tuple[str, str]] = {}
    for d in map(leaf_texts, r.all("ActivityCode")):
        if d.get("ObjectId"):
            out[d["ObjectId"]] = (types.get(d.get("CodeTypeObjectId", ""), d.get("CodeTypeName", "code")),
                                  d.get("CodeValue", ""))
    return out


def _activity(r: _Reader, el: ET.Element, wbs_paths: Mapping[str, tuple[str, ...]], calendars: Mapping[str, Calendar],
              udf_titles: Mapping[str, str], codes: Mapping[str, tuple[str, str]]) -> Activity:
    d = leaf_texts(el)
    oid = d.get("ObjectId", "")
    aid = d.get("Id", "") or f"OBJ{oid}"
    what = f"activity '{aid}' (ObjectId {oid})"
    if not oid:
        raise ScheduleError(f"{r.path}: {what} has no ObjectId")
    type_text = d.get("Type", "Task Dependent")
    atype = ACTIVITY_TYPES.get(type_text.lower())
    if atype is None:
        raise ScheduleError(f"{r.path}: {what}: unknown activity Type '{type_text}'")
    cal = d.get("CalendarObjectId") or None
    if cal is not None and cal not in calendars:
        r.warnings.append(f"{r.path}: {what}: unknown calendar {cal}; uses the project default")
        cal = None
    constraints = []
    for prefix in ("Primary", "Secondary"):
        text = d.get(f"{prefix}ConstraintType", "")
        if not text or text.lower() == "<none>":
            continue
        ctype = CONSTRAINT_TYPES.get(text.lower())
        if ctype is None:
            raise ScheduleError(f"{r.path}: {what}: unknown {prefix}ConstraintType '{text}'")
        cdate = r.date(d.get(f"{prefix}ConstraintDate"), f"{what} {prefix}ConstraintDate")
        if cdate is None and ctype is not ConstraintType.AS_LATE_AS_POSSIBLE:
            r.warnings.append(f"{r.path}: {what}: constraint '{text}' without a date ignored")
            continue
        constraints.append(Constraint(ctype, cdate if ctype is not ConstraintType.AS_LATE_AS_POSSIBLE else None))
    duration = r.number(d.get("PlannedDuration") or d.get("AtCompletionDuration"), f"{what} PlannedDuration") or 0.0
    remaining = r.number(d.get("RemainingDuration"), f"{what} RemainingDuration", None)
    fraction = r.number(d.get("PercentComplete"), f"{what} PercentComplete") or 0.0
    status = d.get("Status", "")
    actual_start = r.date(d.get("ActualStartDate"), f"{what} ActualStartDate")
    actual_finish = r.date(d.get("ActualFinishDate"), f"{what} ActualFinishDate")
    pct = fraction * 100.0 if fraction <= 1.0 else fraction
    if status == "Not Started":
        actual_start = actual_finish = None
    elif status == "Completed":
        pct, remaining = 100.0, 0.0
    ref: dict[str, Any] = {k: r.date(d.get(tag), f"{what} {tag}") for k, tag in _REF_DATES.items()}
    ref["total_float_h"] = r.number(d.get("TotalFloat"), f"{what} TotalFloat", None)
    ref["free_float_h"] = r.number(d.get("FreeFloat"), f"{what} FreeFloat", None)
    ref["status"] = status
    attrs: dict[str, Any] = {}
    for udf in map(leaf_texts, children(el, "UDF")):
        title = udf_titles.get(udf.get("TypeObjectId", ""), f"udf_{udf.get('TypeObjectId', '')}")
        value = next((v for k, v in udf.items() if k.endswith("Value")), None)
        if value is not None:
            attrs[title] = value
    for code in map(leaf_texts, children(el, "Code")):
        if code.get("ValueObjectId") in codes:
            name, value = codes[code["ValueObjectId"]]
            attrs[name] = value
    if attrs.get("Activity ID"):  # written by twin's MSPDI writer and carried through MPXJ
        aid = attrs.pop("Activity ID")
    twin_type = attrs.pop("twin type", None)
    if twin_type:
        try:
            atype = ActivityType(twin_type)
        except ValueError:
            r.warnings.append(f"{r.path}: {what}: unknown 'twin type' value '{twin_type}' ignored")
    return Activity(
        id=aid, name=d.get("Name", ""), duration_h=duration, type=atype, calendar=cal,
        wbs=wbs_paths.get(d.get("WBSObjectId", ""), ()), uid=oid, constraints=tuple(constraints),
        actual_start=actual_start, actual_finish=actual_finish, percent_complete=max(0.0, min(100.0, pct)),
        remaining_h=remaining, planned_start=r.date(d.get("PlannedStartDate") or d.get("StartDate"), f"{what} PlannedStartDate"),
        planned_finish=r.date(d.get("PlannedFinishDate") or d.get("FinishDate"), f"{what} PlannedFinishDate"),
        reference=ref, attributes=attrs,
    )


def _relationships(r: _Reader, by_oid: Mapping[str, str]) -> list[Relationship]:
    rels: list[Relationship] = []
    for el in r.all("Relationship"):
        d = leaf_texts(el)
        pred, succ = d.get("PredecessorActivityObjectId", ""), d.get("SuccessorActivityObjectId", "")
        what = f"relationship ObjectId {d.get('ObjectId', '?')} ({pred} -> {succ})"
        if pred not in by_oid or succ not in by_oid:
            missing = pred if pred not in by_oid else succ
            r.warnings.append(f"{r.path}: {what}: activity ObjectId {missing} is not in the imported "
                              "project(s); link skipped")
            continue
        rtype = LINK_TYPES.get(d.get("Type", "Finish to Start").lower())
        if rtype is None:
            raise ScheduleError(f"{r.path}: {what}: unknown Type '{d.get('Type')}'")
        lag = r.number(d.get("Lag"), f"{what} Lag") or 0.0
        rels.append(Relationship(by_oid[pred], by_oid[succ], rtype, lag))
    return rels


def _resources(r: _Reader, by_oid: Mapping[str, str], calendars: Mapping[str, Calendar]) -> tuple[dict[str, Resource], tuple[Assignment, ...]]:
    resources: dict[str, Resource] = {}
    for d in map(leaf_texts, r.all("Resource")):
        oid = d.get("ObjectId", "")
        if not oid:
            continue
        kind = _RESOURCE_KINDS.get(d.get("ResourceType", "Labor").lower(), "labor")
        cal = d.get("CalendarObjectId")
        resources[oid] = Resource(id=oid, name=d.get("Name", ""), kind=kind,
                                  units=r.number(d.get("MaxUnitsPerTime"), f"resource {oid} MaxUnitsPerTime", 1.0) or 1.0,
                                  calendar=cal if cal in calendars else None, attributes={"resource_id": d.get("Id", "")})
    assignments: list[Assignment] = []
    for d in map(leaf_texts, r.all("ResourceAssignment")):
        act, res = d.get("ActivityObjectId", ""), d.get("ResourceObjectId", "")
        if act not in by_oid or res not in resources:
            r.warnings.append(f"{r.path}: resource assignment ObjectId {d.get('ObjectId', '?')}: activity {act} or "
                              f"resource {res} is not in the file; skipped")
            continue
        what = f"resource assignment ObjectId {d.get('ObjectId', '?')}"
        assignments.append(Assignment(activity=by_oid[act], resource=res,
                                      units=r.number(d.get("PlannedUnitsPerTime"), f"{what} PlannedUnitsPerTime", 1.0) or 0.0,
                                      hours=r.number(d.get("PlannedUnits"), f"{what} PlannedUnits", None)))
    return resources, tuple(assignments)


def _options(project: ET.Element) -> ScheduleOptions:
    so = next(children(project, "ScheduleOptions"), None)
    head = leaf_texts(project)
    d = leaf_texts(so) if so is not None else {}
    lag_cal = (d.get("RelationshipLagCalendar") or head.get("RelationshipLagCalendar") or "").lower()
    path_type = (d.get("CriticalActivityPathType") or head.get("CriticalActivityPathType") or "").lower()
    threshold = d.get("CriticalActivityFloatThreshold") or head.get("CriticalActivityFloatLimit") or "0"
    try:
        critical_float = float(threshold)
    except ValueError:
        critical_float = 0.0
    return ScheduleOptions(
        lag_calendar=_LAG_CALENDARS.get(lag_cal, "predecessor"),
        progress=_PROGRESS.get(d.get("OutOfSequenceScheduleType", "").lower(), "retained_logic"),
        critical="longest_path" if "longest" in path_type else "total_float",
        critical_float_h=critical_float,
        total_float=_TOTAL_FLOAT.get(d.get("ComputeTotalFloatType", "").lower(), "finish"),
        open_ends_critical=d.get("MakeOpenEndedActivitiesCritical") in ("1", "true"),
    )
