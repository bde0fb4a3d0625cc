"""MS Project XML (MSPDI) writer: a Schedule as a file MS Project, MPXJ and twin can read.

What is written (MS Project 2010 form, ``SaveVersion`` 14, elements in the schema's order):

* ``Project`` with ``StartDate``, ``StatusDate`` (the data date), ``CalendarUID`` (the default
  calendar), ``MinutesPerDay`` (from the default calendar's ``hours_per_day``), ``HonorConstraints``
  (1 when any constraint is mandatory).
* ``Calendars``: each calendar's week as ``WeekDays`` and its date exceptions as ``Exceptions``
  (consecutive dates with the same hours grouped in one period). Calendar UIDs are kept when they are
  positive integers (a schedule read from MSPDI), else numbered from 1.
* ``Tasks``: one per activity, nested under summary tasks by ``Activity.wbs`` (a ``WBS_SUMMARY``
  activity is the summary task of the path ``wbs + (name,)``; path levels without one get a summary
  task marked ``twin type = wbs_node`` in ``Text2`` that the reader turns back into a path).
  ``ID`` is the row number; when the twin ids are not the row numbers they go into ``Text1`` with the
  alias ``Activity ID``, which :func:`twin.importers.mspdi.read_mspdi` uses as the id. Start
  milestones, level-of-effort and resource-dependent activities carry their type in ``Text2``.
  Up to eight ``attributes`` go to ``Text3``..``Text10`` under their names as aliases.
* ``PredecessorLink`` with ``LinkLag`` in tenths of minutes (``LagFormat`` 7 = days, or 5 = hours
  for lags that are not whole days); durations as ``PT{h}H{m}M{s}S``.
* ``Resources`` and ``Assignments``.

The file is written to a temp file and renamed. What MSPDI cannot hold is returned, one line each.
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from twin.importers._common import atomic_write_bytes, format_iso_duration
from twin.importers.mspdi import ACTIVITY_ID_ALIAS, MSP_NS, TWIN_TYPE_ALIAS
from twin.schedule import Activity, ActivityType, Calendar, ConstraintType, Interval, Schedule

__all__ = ["write_mspdi", "ACTIVITY_ID_ALIAS", "TWIN_TYPE_ALIAS", "TEXT_FIELD_IDS"]

TEXT_FIELD_IDS = ("188743731", "188743734", "188743737", "188743740", "188743743", "188743746",
                  "188743747", "188743748", "188743749", "188743750")
"""MSPDI FieldIDs of task fields Text1..Text10."""
_CONSTRAINT_CODES = {
    ConstraintType.AS_LATE_AS_POSSIBLE: "1", ConstraintType.START_ON: "2", ConstraintType.FINISH_ON: "3",
    ConstraintType.START_ON_OR_AFTER: "4", ConstraintType.START_ON_OR_BEFORE: "5",
    ConstraintType.FINISH_ON_OR_AFTER: "6", ConstraintType.FINISH_ON_OR_BEFORE: "7",
    ConstraintType.MANDATORY_START: "2", ConstraintType.MANDATORY_FINISH: "3",
}
_LINK_CODES = {"FF": "0", "FS": "1", "SF": "2", "SS": "3"}
_RESOURCE_TYPES = {"material": "0", "labor": "1", "equipment": "1", "cost": "2"}
_MARKED_TYPES = {ActivityType.START_MILESTONE, ActivityType.LEVEL_OF_EFFORT, ActivityType.RESOURCE_DEPENDENT}


def _sub(parent: ET.Element, tag: str, text: Any = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = text if isinstance(text, str) else str(text)
    return el


def _dt(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def _hhmm(minutes: int) -> str:
    minutes = minutes % 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def _uid_map(ids: list[str]) -> dict[str, str]:
    """Keep ids that are distinct positive integers, else number them from 1."""
    if all(i.isdigit() and int(i) > 0 for i in ids) and len(set(map(int, ids))) == len(ids):
        return {i: str(int(i)) for i in ids}
    return {i: str(n) for n, i in enumerate(ids, start=1)}


def write_mspdi(schedule: Schedule, path: str | os.PathLike[str]) -> list[str]:
    """Write ``schedule`` as MS Project XML (see the module docstring for the mapping).

    Let's imagine a plan made by ``twin plan`` must go to a scheduler who uses MS Project::

        lost = write_mspdi(schedule, "plan.xml")   # open plan.xml in MS Project
        for line in lost: print("not exported:", line)

    Returns
    -------
    list of str
        What MSPDI cannot hold (second constraints, level-of-effort semantics, per-calendar day
        lengths...); empty when :func:`twin.importers.mspdi.read_mspdi` gives the schedule back.

    Raises
    ------
    ScheduleError
        The target folder does not exist.
    """
    lost: list[str] = []
    from_resources = _resource_scheduled(schedule)
    used_elsewhere = {a.calendar for a in schedule.activities.values() if a.id not in from_resources}
    written = [c for c in schedule.calendars if c not in set(from_resources.values()) - used_elsewhere
               or c == schedule.default_calendar]
    cal_uid = _uid_map(written)
    default_cal = schedule.calendars.get(schedule.default_calendar)
    hpd = default_cal.hours_per_day if default_cal else 8.0
    for cal in schedule.calendars.values():
        if cal.hours_per_day != hpd:
            lost.append(f"calendar '{cal.id}' has {cal.hours_per_day:g} h days but MS Project has one day "
                        f"length per project ({hpd:g} h); durations stay exact in hours")
    mandatory = any(c.type in (ConstraintType.MANDATORY_START, ConstraintType.MANDATORY_FINISH)
                    for a in schedule.activities.values() for c in a.constraints)
    soft_on = any(c.type in (ConstraintType.START_ON, ConstraintType.FINISH_ON)
                  for a in schedule.activities.values() for c in a.constraints)
    if mandatory and soft_on:
        lost.append("the schedule mixes mandatory and start/finish-on constraints; MS Project honours "
                    "all 'must' constraints alike, so start/finish-on read back as mandatory")
    rows = _rows(schedule)
    ids_are_rows = all(kind == "act" and act.id == str(n) for n, (kind, _, act, _) in enumerate(rows, 1))
    attr_keys = _attribute_keys(schedule, lost)
    root = ET.Element("Project", xmlns=MSP_NS)
    _header(root, schedule, cal_uid, hpd, mandatory)
    fields = [] if ids_are_rows else [(TEXT_FIELD_IDS[0], "Text1", ACTIVITY_ID_ALIAS)]
    fields.append((TEXT_FIELD_IDS[1], "Text2", TWIN_TYPE_ALIAS))
    fields += [(TEXT_FIELD_IDS[2 + i], f"Text{3 + i}", k) for i, k in enumerate(attr_keys)]
    eas = _sub(root, "ExtendedAttributes")
    for fid, fname, alias in fields:
        ea = _sub(eas, "ExtendedAttribute")
        _sub(ea, "FieldID", fid)
        _sub(ea, "FieldName", fname)
        _sub(ea, "Alias", alias)
    cals = _sub(root, "Calendars")
    for cid in written:
        _calendar(cals, schedule.calendars[cid], cal_uid[cid])
    task_uid = _task_uids(schedule, rows)
    tasks = _sub(root, "Tasks")
    preds: dict[str, list] = {}
    for r in schedule.relationships:
        preds.setdefault(r.succ, []).append(r)
    for n, (kind, level, act, number) in enumerate(rows, start=1):
        _task(tasks, n, kind, level, act, number, task_uid, cal_uid, preds, attr_keys, ids_are_rows,
              schedule, hpd, lost)
    _resources(root, schedule, cal_uid, task_uid, lost)
    ET.indent(root, space="  ")
    data = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    atomic_write_bytes(path, b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + data + b"\n")
    return lost


def _resource_scheduled(s: Schedule) -> dict[str, str]:
    """Activity id -> calendar id, for activities on a ``resources:`` union calendar that MS Project
    recreates by itself from their resources' calendars (so the task is written without a calendar)."""
    res_cals: dict[str, set[str]] = {}
    for a in s.assignments:
        r = s.resources.get(a.resource)
        if r is not None:
            res_cals.setdefault(a.activity, set()).add(r.calendar or s.default_calendar)
    out: dict[str, str] = {}
    for a in s.activities.values():
        if a.calendar and a.calendar.startswith("resources:"):
            if set(a.calendar[len("resources:"):].split("+")) == res_cals.get(a.id):
                out[a.id] = a.calendar
    return out


def _header(root: ET.Element, s: Schedule, cal_uid: Mapping[str, str], hpd: float, mandatory: bool) -> None:
    _sub(root, "SaveVersion", 14)
    _sub(root, "Name", s.name or "twin schedule")
    _sub(root, "Title", s.name or "twin schedule")
    _sub(root, "ScheduleFromStart", 1)
    if s.start:
        _sub(root, "StartDate", _dt(s.start))
    if s.default_calendar in cal_uid:
        _sub(root, "CalendarUID", cal_uid[s.default_calendar])
    _sub(root, "MinutesPerDay", round(hpd * 60))
    _sub(root, "MinutesPerWeek", round(hpd * 60 * 5))
    _sub(root, "DaysPerMonth", 20)
    _sub(root, "DurationFormat", 7)
    _sub(root, "HonorConstraints", 1 if mandatory else 0)
    if s.data_date:
        _sub(root, "StatusDate", _dt(s.data_date))


def _calendar(parent: ET.Element, cal: Calendar, uid: str) -> None:
    el = _sub(parent, "Calendar")
    _sub(el, "UID", uid)
    _sub(el, "Name", cal.name or cal.id)
    _sub(el, "IsBaseCalendar", 1)
    _sub(el, "BaseCalendarUID", -1)
    days = _sub(el, "WeekDays")
    for msp_day in range(1, 8):  # 1 = Sunday
        hours = cal.week[(msp_day - 2) % 7]
        wd = _sub(days, "WeekDay")
        _sub(wd, "DayType", msp_day)
        _working_times(wd, hours)
    if cal.exceptions:
        excs = _sub(el, "Exceptions")
        for first, last, hours in _date_runs(cal.exceptions):
            ex = _sub(excs, "Exception")
            _sub(ex, "EnteredByOccurrences", 0)
            tp = _sub(ex, "TimePeriod")
            _sub(tp, "FromDate", f"{first:%Y-%m-%d}T00:00:00")
            _sub(tp, "ToDate", f"{last:%Y-%m-%d}T23:59:00")
            _sub(ex, "Occurrences", 1)
            _sub(ex, "Name", "holiday" if not hours else "changed hours")
            _sub(ex, "Type", 1)
            _working_times(ex, hours)


def _working_times(el: ET.Element, hours: tuple[Interval, ...]) -> None:
    _sub(el, "DayWorking", 1 if hours else 0)
    if hours:
        wts = _sub(el, "WorkingTimes")
        for s, e in hours:
            wt = _sub(wts, "WorkingTime")
            _sub(wt, "FromTime", _hhmm(s))
            _sub(wt, "ToTime", _hhmm(e))


def _date_runs(exceptions: Mapping[date, tuple[Interval, ...]]) -> list[tuple[date, date, tuple[Interval, ...]]]:
    runs: list[tuple[date, date, tuple[Interval, ...]]] = []
    for d in sorted(exceptions):
        hours = tuple(exceptions[d])
        if runs and runs[-1][2] == hours and runs[-1][1] + timedelta(days=1) == d:
            runs[-1] = (runs[-1][0], d, hours)
        else:
            runs.append((d, d, hours))
    return runs


class _Node:
    __slots__ = ("name", "header", "children")

    def __init__(self, name: str) -> None:
        self.name = name
        self.header: Activity | None = None
        self.children: list[Any] = []  # _Node or Activity


def _rows(s: Schedule) -> list[tuple[str, int, Any, str]]:
    """(kind 'act'|'node', outline level, activity or node name, outline number) in file order."""
    root = _Node("")

    def node_at(path: tuple[str, ...]) -> _Node:
        node = root
        for name in path:
            nxt = next((c for c in node.children if isinstance(c, _Node) and c.name == name), None)
            if nxt is None:
                nxt = _Node(name)
                node.children.append(nxt)
            node = nxt
        return node

    for a in s.activities.values():
        if a.type is ActivityType.WBS_SUMMARY:
            node = node_at((*a.wbs, a.name or a.id))
            if node.header is None:
                node.header = a
                continue
            twin = _Node(a.name or a.id)
            twin.header = a
            node_at(a.wbs).children.append(twin)
            continue
        node_at(a.wbs).children.append(a)
    out: list[tuple[str, int, Any, str]] = []

    def emit(node: _Node, level: int, prefix: str) -> None:
        for i, child in enumerate(node.children, start=1):
            number = f"{prefix}{i}"
            if isinstance(child, _Node):
                if child.header is not None:
                    out.append(("act", level, child.header, number))
                else:
                    out.append(("node", level, child.name, number))
                emit(child, level + 1, number + ".")
            else:
                out.append(("act", level, child, number))

    emit(root, 1, "")
    return out


def _task_uids(s: Schedule, rows: list[tuple[str, int, Any, str]]) -> dict[str, str]:
    """Task UID per activity id (kept when the uids are distinct positive integers) and per row."""
    acts = [a for kind, _, a, _ in rows if kind == "act"]
    uids = [a.uid or "" for a in acts]
    keep = all(u.isdigit() and int(u) > 0 for u in uids) and len(set(uids)) == len(uids)
    out: dict[str, str] = {}
    used: set[int] = set()
    if keep:
        for a in acts:
            out[a.id] = str(int(a.uid or 0))
            used.add(int(a.uid or 0))
    nxt = max(used, default=0) + 1
    for n, (kind, _, a, _) in enumerate(rows, start=1):
        key = a.id if kind == "act" else f"\0node{n}"
        if key not in out:
            out[key] = str(nxt)
            nxt += 1
    return out


def _attribute_keys(s: Schedule, lost: list[str]) -> list[str]:
    keys: list[str] = []
    skip = {"wbs_code", "manual", "estimated"}
    for a in s.activities.values():
        for k, v in a.attributes.items():
            if k in skip or v is None or k in keys:
                continue
            keys.append(str(k))
    if len(keys) > 8:
        lost.append(f"only 8 activity attributes fit in Text3..Text10; not written: {', '.join(keys[8:])}")
    return keys[:8]


def _task(parent: ET.Element, n: int, kind: str, level: int, act: Any, number: str,
          task_uid: Mapping[str, str], cal_uid: Mapping[str, str], preds: Mapping[str, list],
          attr_keys: list[str], ids_are_rows: bool, s: Schedule, hpd: float, lost: list[str]) -> None:
    t = _sub(parent, "Task")
    if kind == "node":
        _sub(t, "UID", task_uid[f"\0node{n}"])
        _sub(t, "ID", n)
        _sub(t, "Name", act)
        _sub(t, "OutlineNumber", number)
        _sub(t, "OutlineLevel", level)
        _sub(t, "Summary", 1)
        ext = _sub(t, "ExtendedAttribute")
        _sub(ext, "FieldID", TEXT_FIELD_IDS[1])
        _sub(ext, "Value", "wbs_node")
        return
    a: Activity = act
    _sub(t, "UID", task_uid[a.id])
    _sub(t, "ID", n)
    _sub(t, "Name", a.name)
    if a.attributes.get("wbs_code"):
        _sub(t, "WBS", a.attributes["wbs_code"])
    _sub(t, "OutlineNumber", number)
    _sub(t, "OutlineLevel", level)
    if a.planned_start:
        _sub(t, "Start", _dt(a.planned_start))
    if a.planned_finish:
        _sub(t, "Finish", _dt(a.planned_finish))
    _sub(t, "Duration", format_iso_duration(a.duration_h))
    _sub(t, "DurationFormat", 7 if abs(a.duration_h / hpd - round(a.duration_h / hpd, 3)) < 1e-9 else 5)
    if a.attributes.get("estimated"):
        _sub(t, "Estimated", 1)
    _sub(t, "Milestone", 1 if a.type.is_milestone else 0)
    _sub(t, "Summary", 1 if a.type is ActivityType.WBS_SUMMARY else 0)
    _sub(t, "PercentComplete", round(a.percent_complete))
    if a.percent_complete != round(a.percent_complete):
        lost.append(f"activity '{a.id}': percent complete {a.percent_complete:g} rounded to a whole percent")
    if a.actual_start:
        _sub(t, "ActualStart", _dt(a.actual_start))
    if a.actual_finish:
        _sub(t, "ActualFinish", _dt(a.actual_finish))
    if a.remaining_h is not None:
        _sub(t, "RemainingDuration", format_iso_duration(a.remaining_h))
    if a.reference.get("splits"):
        lost.append(f"activity '{a.id}': its split periods are not written (one continuous task)")
    cons = list(a.constraints)
    if len(cons) > 1:
        lost.append(f"activity '{a.id}': MS Project holds one constraint; "
                    f"{', '.join(c.type.value for c in cons[1:])} not written")
    _sub(t, "ConstraintType", _CONSTRAINT_CODES[cons[0].type] if cons else 0)
    _sub(t, "CalendarUID", cal_uid.get(a.calendar, -1) if a.calendar and a.calendar in cal_uid else -1)
    if cons and cons[0].date is not None:
        _sub(t, "ConstraintDate", _dt(cons[0].date))
    for r in preds.get(a.id, ()):
        if r.pred not in task_uid:
            lost.append(f"relationship {r.pred} -> {r.succ} names an unknown activity")
            continue
        link = _sub(t, "PredecessorLink")
        _sub(link, "PredecessorUID", task_uid[r.pred])
        _sub(link, "Type", _LINK_CODES[r.type.value])
        _sub(link, "CrossProject", 0)
        _sub(link, "LinkLag", round(r.lag_h * 600))
        whole_days = abs(r.lag_h / hpd - round(r.lag_h / hpd)) < 1e-9
        _sub(link, "LagFormat", 7 if whole_days else 5)
        if abs(round(r.lag_h * 600) - r.lag_h * 600) > 1e-6:
            lost.append(f"relationship {r.pred} -> {r.succ}: lag {r.lag_h:g} h rounded to 0.1 minute")
    ext_values: list[tuple[str, str]] = []
    if not ids_are_rows:
        ext_values.append((TEXT_FIELD_IDS[0], a.id))
    if a.type in _MARKED_TYPES:
        ext_values.append((TEXT_FIELD_IDS[1], a.type.value))
    for i, k in enumerate(attr_keys):
        v = a.attributes.get(k)
        if v is not None:
            ext_values.append((TEXT_FIELD_IDS[2 + i], v if isinstance(v, str) else str(v)))
    for fid, value in ext_values:
        ext = _sub(t, "ExtendedAttribute")
        _sub(ext, "FieldID", fid)
        _sub(ext, "Value", value)


def _resources(root: ET.Element, s: Schedule, cal_uid: Mapping[str, str], task_uid: Mapping[str, str],
               lost: list[str]) -> None:
    if not s.resources:
        return
    res_uid = _uid_map(list(s.resources))
    rs = _sub(root, "Resources")
    for n, r in enumerate(s.resources.values(), start=1):
        el = _sub(rs, "Resource")
        _sub(el, "UID", res_uid[r.id])
        _sub(el, "ID", n)
        _sub(el, "Name", r.name or r.id)
        _sub(el, "Type", _RESOURCE_TYPES.get(r.kind, "1"))
        if r.kind not in ("material", "labor", "cost"):
            lost.append(f"resource '{r.id}': kind '{r.kind}' written as an MS Project work resource")
        _sub(el, "MaxUnits", f"{r.units:g}")
        if r.calendar in cal_uid:
            _sub(el, "CalendarUID", cal_uid[r.calendar])
    asg = _sub(root, "Assignments")
    for n, a in enumerate(s.assignments, start=1):
        if a.activity not in task_uid or a.resource not in res_uid:
            lost.append(f"assignment of resource '{a.resource}' to activity '{a.activity}': unknown id")
            continue
        el = _sub(asg, "Assignment")
        _sub(el, "UID", n)
        _sub(el, "TaskUID", task_uid[a.activity])
        _sub(el, "ResourceUID", res_uid[a.resource])
        _sub(el, "Units", f"{a.units:g}")
        if a.hours is not None:
            _sub(el, "Work", format_iso_duration(a.hours))
