"""MS Project XML (MSPDI) reader: calendars, tasks, logic with lags, constraints, progress, resources.

What is read, and how it maps onto :mod:`twin.schedule`:

* ``Project``: ``Name``/``Title`` -> ``Schedule.name``, ``StartDate`` -> ``start``, ``StatusDate``
  -> ``data_date``, ``CalendarUID`` -> ``default_calendar``, ``MinutesPerDay`` -> every calendar's
  ``hours_per_day`` (MS Project's day length is project-wide), ``FinishDate`` of a project scheduled
  from its finish -> ``finish_constraint``.
* ``Calendar`` (id = ``UID``): ``WeekDays`` (DayType 1 = Sunday ... 7 = Saturday; DayType 0 with a
  ``TimePeriod`` is a Project 2003 exception), ``Exceptions`` (daily, weekly, monthly and yearly
  by-date recurrences expanded to dates; relative "first Monday" patterns are warned and skipped),
  ``WorkWeeks`` (expanded to date exceptions over their period), ``BaseCalendarUID`` inheritance
  (days a derived calendar does not define come from its base).
* ``Task``: ``ID`` -> ``Activity.id``, ``UID`` -> ``uid``; ``Summary`` -> ``WBS_SUMMARY`` and the
  path of summary names -> ``wbs`` of the tasks below (by ``OutlineLevel``); ``Milestone`` with a
  zero duration -> ``FINISH_MILESTONE``; ``Duration`` (ISO 8601, hours) -> ``duration_h``;
  ``Start``/``Finish`` -> ``planned_start``/``planned_finish``; ``ConstraintType``/``ConstraintDate``
  (MSO/MFO are mandatory when the project honours constraints, else start/finish-on);
  ``ActualStart``/``ActualFinish``/``PercentComplete``/``RemainingDuration``; ``CalendarUID``;
  ``EarlyStart``... ``TotalSlack``/``FreeSlack`` (tenths of minutes) -> ``reference``; extended
  attributes -> ``attributes`` under their alias or field name (a text field aliased
  ``Activity ID`` gives the activity id instead, one aliased ``twin type`` the activity type: both
  are written by :mod:`twin.importers.mspdi_write`). The project summary task (UID 0,
  outline level 0) and blank rows (``IsNull``) are not activities (counted warnings say so).
* ``PredecessorLink``: ``PredecessorUID``, ``Type`` (0 FF, 1 FS, 2 SF, 3 SS), ``LinkLag`` in tenths of
  minutes. Elapsed lag formats are converted at one elapsed day = one working day; percent lags
  (``LagFormat`` 19/20) become that share of the predecessor's duration. Both are warned.
* ``Resources`` / ``Assignments``: resource kind from ``Type`` (0 material, 1 work, 2 cost), units
  from ``MaxUnits``; assignments of the "unassigned" placeholder resource (UID -65535) are skipped.
* Links on summary tasks keep MS Project's meaning: a finish-based link from a summary (FS, FF) is
  moved to each task below it, a start-based link to a summary (FS, SS) likewise; other kinds stay on
  the summary. Each move is a warning (:func:`twin.importers._common.expand_summary_links`).
* Split tasks (timephased work with a zero-work gap between worked periods) are read as one
  continuous activity; the gaps go into ``reference['splits']`` and a warning.

Date-times are read as written (no time zone). Dates before 1900 or after 2200 are corrupt: the value
is dropped and a warning names the task and field.
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from calendar import monthrange
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from twin.errors import ScheduleError
from twin.importers._common import (
    check_logic, children, expand_summary_links, fallback_start, leaf_texts, local_name, parse_datetime,
    parse_iso_duration_h, schedule_xml_root,
)
from twin.schedule import (
    Activity, ActivityType, Assignment, Calendar, Constraint, ConstraintType, Interval, RelationType,
    Relationship, Resource, Schedule,
)
from twin.worktime import merge_intervals

__all__ = ["read_mspdi", "MSP_NS", "LINK_TYPES", "CONSTRAINT_TYPES", "ACTIVITY_ID_ALIAS", "TWIN_TYPE_ALIAS"]

MSP_NS = "http://schemas.microsoft.com/project"
LINK_TYPES = {"0": RelationType.FF, "1": RelationType.FS, "2": RelationType.SF, "3": RelationType.SS}
"""MSPDI ``PredecessorLink/Type`` codes."""
CONSTRAINT_TYPES: dict[str, ConstraintType | None] = {
    "0": None,                                   # as soon as possible
    "1": ConstraintType.AS_LATE_AS_POSSIBLE,
    "2": ConstraintType.START_ON,                # must start on (mandatory when honoured)
    "3": ConstraintType.FINISH_ON,               # must finish on
    "4": ConstraintType.START_ON_OR_AFTER,       # start no earlier than
    "5": ConstraintType.START_ON_OR_BEFORE,      # start no later than
    "6": ConstraintType.FINISH_ON_OR_AFTER,      # finish no earlier than
    "7": ConstraintType.FINISH_ON_OR_BEFORE,     # finish no later than
}
"""MSPDI ``ConstraintType`` codes."""
_ELAPSED_FORMATS = {"4", "6", "8", "10", "12", "20", "36", "38", "40", "42", "44", "52"}
_PERCENT_FORMATS = {"19", "20", "51", "52"}
_MIN_YEAR, _MAX_YEAR = 1900, 2200
_DEFAULT_DAY: tuple[Interval, ...] = ((480, 720), (780, 1020))
_MAX_EXPANDED_DAYS = 40000
_UNASSIGNED = "-65535"
ACTIVITY_ID_ALIAS = "Activity ID"
"""Alias of the task text field whose value, when present, is the activity id (twin writes it)."""
TWIN_TYPE_ALIAS = "twin type"
"""Alias of the task text field holding an activity type MS Project has no flag for."""


_local = local_name
_leaf = leaf_texts
_kids = children


class _Ctx:
    """What the reader accumulates: file name for messages, warnings, project settings."""

    def __init__(self, path: Path, minutes_per_day: float) -> None:
        self.path = path
        self.warnings: list[str] = []
        self.minutes_per_day = minutes_per_day

    def date(self, text: str | None, what: str) -> datetime | None:
        if not text:
            return None
        value = parse_datetime(text, what=f"{self.path}: {what}")
        if not _MIN_YEAR <= value.year <= _MAX_YEAR:
            self.warnings.append(f"{self.path}: {what}: corrupt date {text} (outside "
                                 f"{_MIN_YEAR}-{_MAX_YEAR}) ignored")
            return None
        return value

    def hours(self, text: str | None, what: str) -> float | None:
        if not text:
            return None
        return parse_iso_duration_h(text, hours_per_day=self.minutes_per_day / 60.0,
                                    what=f"{self.path}: {what}")


def read_mspdi(path: str | os.PathLike[str]) -> Schedule:
    """Read an MS Project XML (MSPDI) file.

    Let's imagine a planner saved a programme from MS Project as XML (File > Save As > XML)::

        s = read_mspdi("tower.xml")
        s.activities["12"].duration_h      # task ID 12, in working hours
        [r for r in s.relationships if r.succ == "12"]

    Parameters
    ----------
    path
        The ``.xml`` file (``<Project xmlns="http://schemas.microsoft.com/project">``).

    Returns
    -------
    Schedule
        Activities keyed by task ID in file order; ``warnings`` lists each thing converted or skipped.

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    ScheduleError
        Malformed XML (file, line and column), not MSPDI, unreadable dates or durations (naming the
        task), links to an activity id that is not in the file, unknown calendars.
    ScheduleCycleError
        The links form a loop.
    """
    p, root = schedule_xml_root(path, "Project", "MS Project")
    head = _leaf(root)
    mpd = float(head.get("MinutesPerDay") or 480) or 480.0
    ctx = _Ctx(p, mpd)
    calendars = _calendars(root, ctx)
    default_cal = head.get("CalendarUID") or ""
    if default_cal not in calendars:
        if calendars:
            first = next(iter(calendars))
            ctx.warnings.append(f"{p}: project calendar UID '{default_cal}' is not defined; using "
                                f"calendar {first} '{calendars[first].name}'")
            default_cal = first
        else:
            ctx.warnings.append(f"{p}: no calendars in the file; using Mon-Fri 08:00-12:00, 13:00-17:00")
            default_cal = "standard"
            calendars = {"standard": Calendar("standard", "Standard", hours_per_day=mpd / 60.0)}
    honour = head.get("HonorConstraints", "1") == "1"
    fields = _extended_attribute_names(root)
    activities, uid_to_id, links, leaves = _tasks(root, ctx, calendars, honour, fields)
    rels = expand_summary_links(_relationships(links, activities, uid_to_id, ctx), leaves, ctx.warnings, str(p))
    resources, assignments = _resources(root, ctx, calendars, uid_to_id)
    _resource_calendars(activities, resources, assignments, calendars, default_cal, ctx)
    _mark_splits(root, ctx, activities, uid_to_id)
    rels, dups = check_logic(activities, rels, calendars, default_cal, source=str(p))
    ctx.warnings += dups
    from_finish = head.get("ScheduleFromStart") == "0"
    start = fallback_start(ctx.date(head.get("StartDate"), "project StartDate"), activities, ctx.warnings, str(p))
    return Schedule(
        activities=activities, relationships=rels, calendars=calendars, default_calendar=default_cal,
        start=start, data_date=ctx.date(head.get("StatusDate"), "project StatusDate"),
        finish_constraint=ctx.date(head.get("FinishDate"), "project FinishDate") if from_finish else None,
        resources=resources, assignments=assignments, name=head.get("Title") or head.get("Name") or p.stem,
        source=str(p), warnings=tuple(ctx.warnings),
    )


# ------------------------------------------------------------------------------------------ calendars

def _minutes(text: str, *, end: bool) -> int:
    hh, mm, *ss = (text or "0:0").split(":")
    value = int(hh) * 60 + int(mm)
    return 1440 if end and value == 0 else value


def _times(day: ET.Element, where: str) -> tuple[Interval, ...]:
    out: list[Interval] = []
    for wt in _kids(day, "WorkingTimes", "WorkingTime"):
        d = _leaf(wt)
        if not d.get("FromTime") or not d.get("ToTime"):
            continue
        try:
            s, e = _minutes(d["FromTime"], end=False), _minutes(d["ToTime"], end=True)
        except ValueError:
            raise ScheduleError(f"{where}: bad working time {d['FromTime']}-{d['ToTime']}") from None
        if not 0 <= s < e <= 1440:
            raise ScheduleError(f"{where}: bad working time {d['FromTime']}-{d['ToTime']}")
        out.append((s, e))
    return tuple(sorted(out))


def _day_hours(day: ET.Element, where: str) -> tuple[Interval, ...]:
    working = _leaf(day).get("DayWorking") == "1"
    if not working:
        return ()
    return _times(day, where) or _DEFAULT_DAY


def _date_range(tp: ET.Element | None, ctx: _Ctx, where: str) -> tuple[date, date] | None:
    if tp is None:
        return None
    d = _leaf(tp)
    start = ctx.date(d.get("FromDate"), f"{where} FromDate")
    finish = ctx.date(d.get("ToDate"), f"{where} ToDate")
    if start is None or finish is None:
        return None
    if finish.date() < start.date():
        raise ScheduleError(f"{ctx.path}: {where}: period ends {finish:%Y-%m-%d} before it starts "
                            f"{start:%Y-%m-%d}")
    return start.date(), finish.date()


def _days(a: date, b: date, ctx: _Ctx, where: str) -> list[date]:
    n = (b - a).days + 1
    if n > _MAX_EXPANDED_DAYS:
        ctx.warnings.append(f"{ctx.path}: {where}: period {a}..{b} longer than {_MAX_EXPANDED_DAYS} days; "
                            "only the first ones are read")
        n = _MAX_EXPANDED_DAYS
    return [a + timedelta(days=i) for i in range(n)]


def _recurrence_dates(exc: dict[str, str], a: date, b: date, ctx: _Ctx, where: str) -> list[date] | None:
    """Dates of one MSPDI exception, or None when its recurrence kind is not supported."""
    kind = exc.get("Type", "1") or "1"
    period = max(1, int(exc.get("Period") or 1))
    occurrences = int(exc.get("Occurrences") or 0) if exc.get("EnteredByOccurrences") == "1" else 0
    span = _days(a, b, ctx, where)
    if kind in ("1", "7"):
        out = span[::period]
    elif kind == "6":
        mask = int(exc.get("DaysOfWeek") or 0)
        out = [d for d in span if mask & (1 << ((d.weekday() + 1) % 7))
               and ((d - a).days // 7) % period == 0]
    elif kind == "4":
        day = int(exc.get("MonthDay") or a.day)
        out = [d for d in span if d.day == day and ((d.year - a.year) * 12 + d.month - a.month) % period == 0]
    elif kind == "2":
        month, day = int(exc.get("Month") or 0) + 1, int(exc.get("MonthDay") or a.day)
        out = [d for d in span if d.month == month and d.day == min(day, monthrange(d.year, month)[1])]
    else:
        return None
    return out[:occurrences] if occurrences else out


def _calendars(root: ET.Element, ctx: _Ctx) -> dict[str, Calendar]:
    raw: dict[str, ET.Element] = {}
    for cal in _kids(root, "Calendars", "Calendar"):
        uid = _leaf(cal).get("UID", "")
        if not uid:
            raise ScheduleError(f"{ctx.path}: a <Calendar> has no UID")
        raw[uid] = cal
    resolved: dict[str, tuple[list[tuple[Interval, ...] | None], dict[date, tuple[Interval, ...]]]] = {}

    def resolve(uid: str, chain: tuple[str, ...]) -> tuple[list[tuple[Interval, ...] | None],
                                                           dict[date, tuple[Interval, ...]]]:
        if uid in resolved:
            return resolved[uid]
        if uid in chain:
            raise ScheduleError(f"{ctx.path}: calendars {' -> '.join((*chain, uid))} derive from each other")
        cal = raw[uid]
        d = _leaf(cal)
        where = f"calendar {uid} '{d.get('Name', '')}'"
        week: list[tuple[Interval, ...] | None] = [None] * 7
        exceptions: dict[date, tuple[Interval, ...]] = {}
        base = d.get("BaseCalendarUID", "-1")
        if base not in ("", "-1"):
            if base not in raw:
                ctx.warnings.append(f"{ctx.path}: {where}: base calendar {base} is not defined; "
                                    "its days are read as Mon-Fri 8h")
            else:
                bweek, bexc = resolve(base, (*chain, uid))
                week, exceptions = list(bweek), dict(bexc)
        _read_weekdays(cal, where, week, exceptions, ctx)
        _read_exceptions(cal, where, exceptions, ctx)
        _read_work_weeks(cal, where, week, exceptions, ctx)
        resolved[uid] = (week, exceptions)
        return resolved[uid]

    out: dict[str, Calendar] = {}
    for uid, cal in raw.items():
        week, exceptions = resolve(uid, ())
        std = (_DEFAULT_DAY,) * 5 + ((), ())
        full = tuple(w if w is not None else std[i] for i, w in enumerate(week))
        out[uid] = Calendar(id=uid, name=_leaf(cal).get("Name", ""), week=full, exceptions=exceptions,
                            hours_per_day=ctx.minutes_per_day / 60.0)
    return out


def _read_weekdays(cal: ET.Element, where: str, week: list, exceptions: dict, ctx: _Ctx) -> None:
    for day in _kids(cal, "WeekDays", "WeekDay"):
        dtype = _leaf(day).get("DayType", "")
        if dtype == "0":  # Project 2003 exception
            rng = _date_range(next(_kids(day, "TimePeriod"), None), ctx, f"{where} exception")
            if rng:
                hours = _day_hours(day, where)
                for d in _days(*rng, ctx, where):
                    exceptions[d] = hours
        elif dtype in ("1", "2", "3", "4", "5", "6", "7"):
            week[(int(dtype) - 2) % 7] = _day_hours(day, where)
        else:
            raise ScheduleError(f"{ctx.path}: {where}: unknown DayType '{dtype}'")


def _read_exceptions(cal: ET.Element, where: str, exceptions: dict, ctx: _Ctx) -> None:
    for exc in _kids(cal, "Exceptions", "Exception"):
        d = _leaf(exc)
        name = f"{where} exception '{d.get('Name', '')}'"
        rng = _date_range(next(_kids(exc, "TimePeriod"), None), ctx, name)
        if rng is None:
            ctx.warnings.append(f"{ctx.path}: {name}: no FromDate/ToDate; skipped")
            continue
        dates = _recurrence_dates(d, *rng, ctx, name)
        if dates is None:
            ctx.warnings.append(f"{ctx.path}: {name}: relative recurrence (Type {d.get('Type')}) "
                                f"between {rng[0]} and {rng[1]} is not supported; skipped")
            continue
        hours = _times(exc, name) if d.get("DayWorking") == "1" else ()
        if d.get("DayWorking") == "1" and not hours:
            hours = _DEFAULT_DAY
        for day in dates:
            exceptions[day] = hours


def _read_work_weeks(cal: ET.Element, where: str, week: list, exceptions: dict, ctx: _Ctx) -> None:
    for ww in _kids(cal, "WorkWeeks", "WorkWeek"):
        name = f"{where} work week '{_leaf(ww).get('Name', '')}'"
        rng = _date_range(next(_kids(ww, "TimePeriod"), None), ctx, name)
        days = list(_kids(ww, "WeekDays", "WeekDay"))
        if rng is None or not days:
            ctx.warnings.append(f"{ctx.path}: {name}: no period or no week days; skipped")
            continue
        wweek: list[tuple[Interval, ...]] = [()] * 7
        for day in days:
            dtype = _leaf(day).get("DayType", "")
            if dtype in ("1", "2", "3", "4", "5", "6", "7"):
                wweek[(int(dtype) - 2) % 7] = _day_hours(day, name)
        for d in _days(*rng, ctx, name):
            exceptions.setdefault(d, wweek[d.weekday()])


# ---------------------------------------------------------------------------------------------- tasks

def _extended_attribute_names(root: ET.Element) -> dict[str, str]:
    names: dict[str, str] = {}
    for ea in _kids(root, "ExtendedAttributes", "ExtendedAttribute"):
        d = _leaf(ea)
        if d.get("FieldID"):
            names[d["FieldID"]] = d.get("Alias") or d.get("FieldName") or f"field_{d['FieldID']}"
    return names


def _tasks(root: ET.Element, ctx: _Ctx, calendars: dict[str, Calendar], honour: bool,
           fields: dict[str, str]) -> tuple[dict[str, Activity], dict[str, str], list[tuple[str, dict[str, str]]],
                                            dict[str, list[str]]]:
    activities: dict[str, Activity] = {}
    uid_to_id: dict[str, str] = {}
    links: list[tuple[str, dict[str, str]]] = []
    summary_path: list[tuple[int, str, str | None]] = []  # (outline level, name, activity id) of open summaries
    leaves: dict[str, list[str]] = {}                     # summary activity id -> tasks below it
    for task in _kids(root, "Tasks", "Task"):
        d = _leaf(task)
        uid = d.get("UID", "")
        if not uid:
            raise ScheduleError(f"{ctx.path}: a <Task> has no UID (name '{d.get('Name', '')}')")
        level = int(d.get("OutlineLevel") or 1)
        if d.get("IsNull") == "1":
            ctx.warnings.append(f"{ctx.path}: task UID {uid} is a blank row (IsNull); not an activity")
            continue
        if level == 0 or uid == "0" and d.get("Summary") == "1":
            ctx.warnings.append(f"{ctx.path}: task UID {uid} '{d.get('Name', '')}' is the project summary "
                                "task; not an activity")
            continue
        ext = {fields.get(e.get("FieldID", ""), f"field_{e.get('FieldID')}"): e.get("Value", "")
               for e in map(_leaf, _kids(task, "ExtendedAttribute")) if e.get("FieldID")}
        while summary_path and summary_path[-1][0] >= level:
            summary_path.pop()
        twin_type = ext.pop(TWIN_TYPE_ALIAS, "")
        if twin_type == "wbs_node":  # a WBS level written by twin: a path, not an activity
            summary_path.append((level, d.get("Name", ""), None))
            continue
        aid = ext.pop(ACTIVITY_ID_ALIAS, "") or d.get("ID") or f"UID{uid}"
        if aid in activities:
            ctx.warnings.append(f"{ctx.path}: task ID {aid} occurs twice; task UID {uid} read as 'UID{uid}'")
            aid = f"UID{uid}"
        act = _activity(d, aid, tuple(n for _, n, _ in summary_path), ctx, calendars, honour, ext)
        if twin_type:
            try:
                act = replace(act, type=ActivityType(twin_type))
            except ValueError:
                ctx.warnings.append(f"{ctx.path}: task {aid}: unknown '{TWIN_TYPE_ALIAS}' value "
                                    f"'{twin_type}' ignored")
        activities[aid] = act
        uid_to_id[uid] = aid
        if act.type is ActivityType.WBS_SUMMARY:
            summary_path.append((level, act.name or aid, aid))
            leaves[aid] = []
        else:
            for _, _, sid in summary_path:
                if sid is not None:
                    leaves[sid].append(aid)
        links += [(aid, _leaf(link)) for link in _kids(task, "PredecessorLink")]
    return activities, uid_to_id, links, leaves


def _activity(d: dict[str, str], aid: str, wbs: tuple[str, ...], ctx: _Ctx,
              calendars: dict[str, Calendar], honour: bool, ext: dict[str, str]) -> Activity:
    what = f"task {aid} (UID {d['UID']})"
    duration = ctx.hours(d.get("Duration"), f"{what} Duration") or 0.0
    remaining = ctx.hours(d.get("RemainingDuration"), f"{what} RemainingDuration")
    atype = ActivityType.TASK
    if d.get("Summary") == "1":
        atype = ActivityType.WBS_SUMMARY
    elif d.get("Milestone") == "1":
        if duration == 0:
            atype = ActivityType.FINISH_MILESTONE
        else:
            ctx.warnings.append(f"{ctx.path}: {what} is flagged milestone but lasts {duration:g} h; "
                                "read as a task")
    elif duration == 0 and d.get("Milestone") is None:
        atype = ActivityType.FINISH_MILESTONE
    cal = d.get("CalendarUID")
    if cal in (None, "", "-1"):
        cal = None
    elif cal not in calendars:
        ctx.warnings.append(f"{ctx.path}: {what}: unknown calendar UID {cal}; uses the project calendar")
        cal = None
    constraints: tuple[Constraint, ...] = ()
    code = d.get("ConstraintType", "0") or "0"
    if code not in CONSTRAINT_TYPES:
        raise ScheduleError(f"{ctx.path}: {what}: unknown ConstraintType '{code}'")
    ctype = CONSTRAINT_TYPES[code]
    if ctype is not None:
        if honour and ctype is ConstraintType.START_ON:
            ctype = ConstraintType.MANDATORY_START
        elif honour and ctype is ConstraintType.FINISH_ON:
            ctype = ConstraintType.MANDATORY_FINISH
        cdate = ctx.date(d.get("ConstraintDate"), f"{what} ConstraintDate")
        if cdate is None and ctype is not ConstraintType.AS_LATE_AS_POSSIBLE:
            ctx.warnings.append(f"{ctx.path}: {what}: constraint type {code} without a date ignored")
        else:
            constraints = (Constraint(ctype, cdate if ctype is not ConstraintType.AS_LATE_AS_POSSIBLE else None),)
    ref: dict[str, Any] = {
        key: ctx.date(d.get(tag), f"{what} {tag}")
        for key, tag in (("early_start", "EarlyStart"), ("early_finish", "EarlyFinish"),
                         ("late_start", "LateStart"), ("late_finish", "LateFinish"))
    }
    for key, tag in (("total_float_h", "TotalSlack"), ("free_float_h", "FreeSlack")):
        ref[key] = float(d[tag]) / 600.0 if d.get(tag) not in (None, "") else None
    ref["critical"] = d.get("Critical") == "1"
    attrs: dict[str, Any] = dict(ext)
    for tag, key in (("Manual", "manual"), ("Estimated", "estimated"),
                     ("IgnoreResourceCalendar", "ignore_resource_calendar")):
        if d.get(tag) == "1":
            attrs[key] = True
    if d.get("WBS"):
        attrs["wbs_code"] = d["WBS"]
    pct = float(d.get("PercentComplete") or 0)
    actual_start = ctx.date(d.get("ActualStart"), f"{what} ActualStart")
    actual_finish = ctx.date(d.get("ActualFinish"), f"{what} ActualFinish")
    return Activity(
        id=aid, name=d.get("Name", ""), duration_h=duration, type=atype, calendar=cal, wbs=wbs,
        uid=d["UID"], constraints=constraints, actual_start=actual_start, actual_finish=actual_finish,
        percent_complete=max(0.0, min(100.0, pct)), remaining_h=remaining,
        planned_start=ctx.date(d.get("Start"), f"{what} Start"),
        planned_finish=ctx.date(d.get("Finish"), f"{what} Finish"), reference=ref, attributes=attrs,
    )


def _relationships(links: list[tuple[str, dict[str, str]]], activities: dict[str, Activity],
                   uid_to_id: dict[str, str], ctx: _Ctx) -> list[Relationship]:
    rels: list[Relationship] = []
    for succ, d in links:
        puid = d.get("PredecessorUID", "")
        where = f"{ctx.path}: task {succ}: predecessor link from UID {puid}"
        if d.get("CrossProject") == "1":
            ctx.warnings.append(f"{where} is to another project ({d.get('CrossProjectName', '?')}); skipped")
            continue
        if puid not in uid_to_id:
            ctx.warnings.append(f"{where}: no task with that UID; link skipped")
            continue
        code = d.get("Type", "1") or "1"
        if code not in LINK_TYPES:
            raise ScheduleError(f"{where}: unknown link Type '{code}' (expected 0 FF, 1 FS, 2 SF, 3 SS)")
        pred = uid_to_id[puid]
        try:
            raw = float(d.get("LinkLag") or 0)
        except ValueError:
            raise ScheduleError(f"{where}: LinkLag '{d.get('LinkLag')}' is not a number") from None
        fmt = d.get("LagFormat", "7") or "7"
        if raw and fmt in _PERCENT_FORMATS:
            lag_h = raw / 100.0 * activities[pred].duration_h
            ctx.warnings.append(f"{where}: lag of {raw:g}% of the predecessor's duration read as {lag_h:g} h")
        elif raw and fmt in _ELAPSED_FORMATS:
            lag_h = raw / 10.0 / 1440.0 * ctx.minutes_per_day / 60.0
            ctx.warnings.append(f"{where}: elapsed lag of {raw / 600.0:g} h read as {lag_h:g} working h "
                                "(one elapsed day = one working day)")
        else:
            lag_h = raw / 600.0
        rels.append(Relationship(pred=pred, succ=succ, type=LINK_TYPES[code], lag_h=lag_h))
    return rels


def _resources(root: ET.Element, ctx: _Ctx, calendars: dict[str, Calendar],
               uid_to_id: dict[str, str]) -> tuple[dict[str, Resource], tuple[Assignment, ...]]:
    kinds = {"0": "material", "1": "labor", "2": "cost"}
    resources: dict[str, Resource] = {}
    for res in _kids(root, "Resources", "Resource"):
        d = _leaf(res)
        uid = d.get("UID", "")
        if not d.get("Name") and uid == "0":
            continue  # MS Project's blank resource row
        cal = d.get("CalendarUID")
        resources[uid] = Resource(id=uid, name=d.get("Name", ""), kind=kinds.get(d.get("Type", "1"), "labor"),
                                  units=float(d.get("MaxUnits") or 1.0),
                                  calendar=cal if cal in calendars else None,
                                  attributes={"resource_id": d.get("ID", "")})
    assignments: list[Assignment] = []
    for asg in _kids(root, "Assignments", "Assignment"):
        d = _leaf(asg)
        ruid, tuid = d.get("ResourceUID", ""), d.get("TaskUID", "")
        if ruid == _UNASSIGNED or tuid not in uid_to_id and tuid == "0":
            continue
        if tuid not in uid_to_id or ruid not in resources:
            ctx.warnings.append(f"{ctx.path}: assignment UID {d.get('UID')} links task UID {tuid} and "
                                f"resource UID {ruid}, one of which is not in the file; skipped")
            continue
        work = ctx.hours(d.get("Work"), f"assignment UID {d.get('UID')} Work")
        assignments.append(Assignment(activity=uid_to_id[tuid], resource=ruid,
                                      units=float(d.get("Units") or 1.0), hours=work))
    return resources, tuple(assignments)


def _resource_calendars(activities: dict[str, Activity], resources: Mapping[str, Resource],
                        assignments: tuple[Assignment, ...], calendars: dict[str, Calendar], default_cal: str,
                        ctx: _Ctx) -> None:
    """Give tasks with resources and no calendar of their own the working time of their resources.

    MS Project schedules such a task when its resources work (each on its own calendar), so its
    duration runs on the union of their calendars; the union becomes a calendar of its own
    (id ``resources:<uid>+<uid>``) and a warning names the task.
    """
    by_task: dict[str, set[str]] = {}
    for a in assignments:
        by_task.setdefault(a.activity, set()).add(resources[a.resource].calendar or default_cal)
    for aid, cal_ids in by_task.items():
        act = activities[aid]
        if (act.calendar is not None or act.type is ActivityType.WBS_SUMMARY or act.type.is_milestone
                or act.attributes.get("ignore_resource_calendar") or cal_ids == {default_cal}):
            continue
        ids = sorted(cal_ids, key=lambda c: (len(c), c))
        cid = "resources:" + "+".join(ids)
        if cid not in calendars:
            calendars[cid] = _union_calendar(cid, [calendars[c] for c in ids])
        activities[aid] = replace(act, calendar=cid)
        ctx.warnings.append(f"{ctx.path}: task {aid} has no calendar of its own: it works when its resources "
                            f"work, on the union of calendars {', '.join(ids)}")


def _union_calendar(cid: str, cals: list[Calendar]) -> Calendar:
    def merge(days: list[tuple[Interval, ...]]) -> tuple[Interval, ...]:
        return merge_intervals(iv for day in days for iv in day)

    week = tuple(merge([c.week[i] for c in cals]) for i in range(7))
    dates = {d for c in cals for d in c.exceptions}
    exceptions = {d: merge([c.exceptions.get(d, c.week[d.weekday()]) for c in cals]) for d in dates}
    exceptions = {d: h for d, h in exceptions.items() if h != week[d.weekday()]}
    return Calendar(id=cid, name="Resources " + " + ".join(c.name or c.id for c in cals), week=week,
                    exceptions=exceptions, hours_per_day=cals[0].hours_per_day)


def _mark_splits(root: ET.Element, ctx: _Ctx, activities: dict[str, Activity],
                 uid_to_id: dict[str, str]) -> None:
    """Find zero-work gaps between worked periods of an assignment (MS Project task splits)."""
    gaps: dict[str, list[tuple[datetime, datetime]]] = {}
    for asg in _kids(root, "Assignments", "Assignment"):
        tuid = _leaf(asg).get("TaskUID", "")
        if tuid not in uid_to_id:
            continue
        seen_work = False
        pending: list[tuple[datetime, datetime]] = []
        for td in _kids(asg, "TimephasedData"):
            d = _leaf(td)
            if d.get("Type") not in ("1", "2"):
                continue
            value = d.get("Value")
            what = f"task UID {tuid} timephased work"
            start, finish = ctx.date(d.get("Start"), f"{what} Start"), ctx.date(d.get("Finish"), f"{what} Finish")
            if value is None:  # non-working time: a pause running through it continues
                if pending and finish and pending[-1][1] == start:
                    pending[-1] = (pending[-1][0], finish)
                continue
            hours = ctx.hours(value, what) or 0.0
            if hours > 0:
                if seen_work and pending:
                    gaps.setdefault(uid_to_id[tuid], []).extend(pending)
                pending = []
                seen_work = True
            elif seen_work and start and finish:
                if pending and pending[-1][1] == start:
                    pending[-1] = (pending[-1][0], finish)
                else:
                    pending.append((start, finish))
    for aid, periods in gaps.items():
        merged = sorted(set(periods))
        act = activities[aid]
        ref = dict(act.reference)
        ref["splits"] = merged
        activities[aid] = replace(act, reference=ref)
        ctx.warnings.append(f"{ctx.path}: task {aid} is split ({len(merged)} pause(s) from "
                            f"{merged[0][0]:%Y-%m-%d %H:%M}); read as one continuous activity")
