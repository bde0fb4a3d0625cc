"""IFC work schedule reader (IFC4, IFC4X3): IfcWorkSchedule, IfcTask, IfcTaskTime, IfcRelSequence,
IfcRelAssignsToProduct and IfcWorkCalendar into a :class:`twin.schedule.Schedule`.

What is read, and how:

* ``IfcWorkSchedule``: ``Name`` -> ``Schedule.name``, ``StartTime`` -> ``start`` (the earliest
  task start when that is earlier, with a warning), its work plan's name when it has none; ``schedule=`` picks one of several by Name, Identification or GlobalId, else all are read.
* ``IfcTask`` (the schedule's tasks, nested through ``IfcRelNests``): id = ``Identification`` when
  present and unique, else the GlobalId; ``uid`` = GlobalId; tasks with nested tasks are
  ``WBS_SUMMARY`` and their names make the ``wbs`` path of the tasks below; ``IsMilestone`` ->
  ``FINISH_MILESTONE``; ``ObjectType``, ``Description``, ``PredefinedType``, ``Status`` -> ``attributes``.
* ``IfcTaskTime``: ``ScheduleDuration`` (ISO 8601), ``DurationType`` (``WORKTIME``; ``ELAPSEDTIME``
  is converted at one elapsed day = one working day, with a warning), ``ScheduleStart``/``Finish`` ->
  ``planned_start``/``planned_finish``, ``ActualStart``/``Finish``, ``Completion`` (a ratio),
  ``RemainingTime``; ``EarlyStart``... ``TotalFloat``/``FreeFloat``/``IsCritical`` -> ``reference``.
  A "day" in a WORKTIME duration is one working day of the task calendar (as IfcOpenShell and Bonsai
  read it), unless the file's own start and finish dates show that its days are 24 hours, as in the
  buildingSMART example (``P0Y0M1DT16H0M0S`` for five 8-hour days); a warning says which was used.
* ``IfcRelSequence``: ``SequenceType`` (``START_START``... ; ``USERDEFINED`` and missing read as FS
  with a warning), ``TimeLag`` (``IfcLagTime`` with a duration, or a ratio of the predecessor's
  duration, converted with a warning).
* Sequences on summary tasks keep their meaning on the tasks below them where that is exact
  (finish-based links from a summary, start-based links to one), as for MS Project, with a warning.
* ``IfcRelAssignsToProduct`` (task outputs) -> ``Schedule.element_links`` as (activity id, GlobalId);
  products assigned as task inputs (``IfcRelAssignsToProcess``) go to ``attributes['inputs']``.
* ``IfcWorkCalendar`` (assigned to a task, an ancestor task, or the only one in the file; id =
  Identification, else GlobalId): ``WorkingTimes`` with ``DAILY`` or ``WEEKLY`` patterns make the week
  (bounded ones become date exceptions), ``ExceptionTimes`` (daily, weekly, monthly and yearly
  by-day patterns, or a plain Start..Finish range) become holidays, or shorter days when they carry
  time periods. Unbounded recurring exceptions are expanded over the schedule's years plus ten.
  A calendar's ``hours_per_day`` is its most common daily working time.

IFC2X3 files (``IfcScheduleTimeControl``) are refused with a message saying so.
"""
from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import ifcopenshell
import ifcopenshell.util.sequence

from twin.errors import MissingFileError, ScheduleError
from twin.importers._common import check_logic, expand_summary_links, parse_datetime, parse_iso_duration_h
from twin.schedule import (
    STANDARD_WEEK, Activity, ActivityType, Calendar, Interval, RelationType, Relationship, Schedule,
)
from twin.worktime import merge_intervals

__all__ = ["read_ifc_schedule", "list_work_schedules", "SEQUENCE_TYPES"]

SEQUENCE_TYPES = {"START_START": RelationType.SS, "START_FINISH": RelationType.SF,
                  "FINISH_START": RelationType.FS, "FINISH_FINISH": RelationType.FF}
_MAX_DAYS = 40000


def _open(path: Path) -> ifcopenshell.file:
    from twin.ifc.reader import open_ifc
    return open_ifc(path)


def list_work_schedules(path: str | os.PathLike[str]) -> list[tuple[str, str, int]]:
    """(GlobalId, Name, number of tasks) of each IfcWorkSchedule in an IFC file."""
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(p, "IFC file")
    f = _open(p)
    if f.schema == "IFC2X3":
        return []
    return [(ws.GlobalId, ws.Name or "", sum(1 for _ in ifcopenshell.util.sequence.get_work_schedule_tasks(ws)))
            for ws in f.by_type("IfcWorkSchedule")]


def read_ifc_schedule(path: str | os.PathLike[str], *, schedule: str | None = None) -> Schedule:
    """Read the work schedule(s) of an IFC4 or IFC4X3 file (see the module docstring).

    Let's imagine a 4D model from Bonsai or SYNCHRO::

        s = read_ifc_schedule("tower-4d.ifc")
        s.element_links        # (activity id, element GlobalId) pairs
        s.relationships        # from IfcRelSequence, with lags in working hours

    Parameters
    ----------
    path
        The IFC file.
    schedule
        Name, Identification or GlobalId of the IfcWorkSchedule to read; None reads all of them.

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    IfcReadError
        The file is not readable IFC.
    ScheduleError
        IFC2X3, no tasks, an unknown ``schedule``, unreadable durations or dates (naming the task).
    ScheduleCycleError
        The sequences form a loop.
    """
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(p, "IFC file")
    f = _open(p)
    if f.schema == "IFC2X3":
        raise ScheduleError(f"{p}: IFC2X3 work schedules (IfcScheduleTimeControl) are not supported; "
                            "upgrade the file to IFC4 (IfcOpenShell or Bonsai) or export the schedule as XML")
    return _Reader(p, f).read(schedule)


class _Reader:
    def __init__(self, path: Path, f: ifcopenshell.file) -> None:
        self.path = path
        self.f = f
        self.warnings: list[str] = []

    def date(self, value: Any, what: str) -> datetime | None:
        if not value:
            return None
        return parse_datetime(str(value), what=f"{self.path}: {what}")

    # ----------------------------------------------------------------------------------------- read
    def read(self, wanted: str | None) -> Schedule:
        schedules = self._schedules(wanted)
        tasks = self._tasks(schedules)
        if not tasks:
            raise ScheduleError(f"{self.path}: no IfcTask in " + (
                f"work schedule '{wanted}'" if wanted else "the file"))
        ids = self._ids(tasks)
        cal_entities = self._calendar_entities(tasks)
        start = self._start(schedules, tasks)
        years = (start.year if start else date.today().year) - 1, (start.year if start else date.today().year) + 10
        calendars = {cid: self._calendar(cid, ent, years) for cid, ent in cal_entities.items()}
        default = self._default_calendar(calendars, cal_entities)
        task_cal = {t.id(): self._task_calendar(t, cal_entities) for t in tasks}
        day_h = self._day_length(tasks, task_cal, calendars, default)
        activities: dict[str, Activity] = {}
        for t in tasks:
            act = self._activity(t, ids, task_cal[t.id()], calendars, default, day_h)
            activities[act.id] = act
        rels = self._sequences(tasks, ids, activities, task_cal, calendars, default, day_h)
        rels = expand_summary_links(rels, self._leaves(tasks, ids), self.warnings, str(self.path))
        links, inputs = self._products(tasks, ids)
        for aid, gids in inputs.items():
            attrs = dict(activities[aid].attributes)
            attrs["inputs"] = tuple(gids)
            activities[aid] = replace(activities[aid], attributes=attrs)
        rels, dups = check_logic(activities, rels, calendars, default, source=str(self.path))
        self.warnings += dups
        name = " + ".join(_schedule_name(ws) for ws in schedules) if schedules else self.path.stem
        return Schedule(activities=activities, relationships=rels, calendars=calendars, default_calendar=default,
                        start=start, element_links=links, name=name, source=str(self.path),
                        warnings=tuple(self.warnings))

    def _schedules(self, wanted: str | None) -> list[Any]:
        all_ws = list(self.f.by_type("IfcWorkSchedule"))
        if wanted is None:
            return all_ws
        chosen = [ws for ws in all_ws if wanted in (ws.Name, ws.GlobalId, ws.Identification)]
        if not chosen:
            names = ", ".join(ws.Name or ws.GlobalId for ws in all_ws) or "none"
            raise ScheduleError(f"{self.path}: no work schedule '{wanted}' (work schedules: {names})")
        return chosen

    def _tasks(self, schedules: list[Any]) -> list[Any]:
        if not schedules:
            tasks = list(self.f.by_type("IfcTask"))
            if tasks:
                self.warnings.append(f"{self.path}: no IfcWorkSchedule; all {len(tasks)} IfcTask read")
            return tasks
        seen: dict[int, Any] = {}
        for ws in schedules:
            for t in ifcopenshell.util.sequence.get_work_schedule_tasks(ws):
                seen.setdefault(t.id(), t)
        orphans = [t for t in self.f.by_type("IfcTask") if t.id() not in seen]
        if orphans and len(schedules) == len(self.f.by_type("IfcWorkSchedule")):
            self.warnings.append(f"{self.path}: {len(orphans)} IfcTask in no work schedule not read "
                                 f"(e.g. '{orphans[0].Name}')")
        return list(seen.values())

    def _ids(self, tasks: list[Any]) -> dict[int, str]:
        idents = Counter(t.Identification for t in tasks if t.Identification)
        out: dict[int, str] = {}
        for t in tasks:
            ident = t.Identification
            if ident and idents[ident] == 1:
                out[t.id()] = ident
            else:
                if ident:
                    self.warnings.append(f"{self.path}: task Identification '{ident}' is used {idents[ident]} "
                                         f"times; task {t.GlobalId} is read by its GlobalId")
                out[t.id()] = t.GlobalId
        return out

    def _start(self, schedules: list[Any], tasks: list[Any]) -> datetime | None:
        starts = [self.date(t.TaskTime.ScheduleStart or t.TaskTime.EarlyStart, f"task '{t.Name}' start")
                  for t in tasks if t.TaskTime and (t.TaskTime.ScheduleStart or t.TaskTime.EarlyStart)]
        first_task = min(starts) if starts else None
        declared = [self.date(ws.StartTime, f"work schedule '{ws.Name}' StartTime") for ws in schedules if ws.StartTime]
        if not declared:
            return first_task
        start = min(declared)
        if first_task is not None and first_task < start:
            self.warnings.append(f"{self.path}: tasks start {first_task:%Y-%m-%d %H:%M}, before the work schedule "
                                 f"StartTime {start:%Y-%m-%d %H:%M}; the schedule starts with its first task")
            return first_task
        return start

    # ------------------------------------------------------------------------------------ calendars
    def _calendar_entities(self, tasks: list[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for wc in self.f.by_type("IfcWorkCalendar"):
            cid = wc.Identification or wc.GlobalId
            if cid in out:
                cid = wc.GlobalId
            out[cid] = wc
        return out

    def _task_calendar(self, task: Any, cals: Mapping[str, Any]) -> str | None:
        wc = ifcopenshell.util.sequence.derive_calendar(task)
        if wc is None:
            return None
        return next((cid for cid, ent in cals.items() if ent == wc), None)

    def _default_calendar(self, calendars: dict[str, Calendar], ents: Mapping[str, Any]) -> str:
        if len(calendars) == 1:
            return next(iter(calendars))
        if "standard" not in calendars:
            calendars["standard"] = Calendar("standard", "Standard (Mon-Fri 8h)")
        if not ents:
            self.warnings.append(f"{self.path}: no IfcWorkCalendar; tasks use Mon-Fri 08:00-12:00, 13:00-17:00")
        return "standard"

    def _calendar(self, cid: str, wc: Any, years: tuple[int, int]) -> Calendar:
        where = f"calendar '{wc.Name or cid}'"
        week: list[list[Interval]] = [[] for _ in range(7)]
        dated: dict[date, list[Interval]] = {}
        any_weekly = False
        for wt in wc.WorkingTimes or ():
            bounded, days = self._work_time_days(wt, years, where)
            periods = self._periods(wt)
            if days is None:
                continue
            if bounded:
                for d in days:
                    dated.setdefault(d, []).extend(periods)
            else:
                any_weekly = True
                for wd in {d.weekday() for d in days}:
                    week[wd].extend(periods)
        if not any_weekly and not dated:
            self.warnings.append(f"{self.path}: {where} has no working times; read as Mon-Fri 8h")
            week = [list(d) for d in STANDARD_WEEK]
        week_t = tuple(merge_intervals(d) for d in week)
        exceptions: dict[date, tuple[Interval, ...]] = {d: merge_intervals(v) for d, v in dated.items()}
        for wt in wc.ExceptionTimes or ():
            _, days = self._work_time_days(wt, years, where)
            if days is None:
                continue
            off = self._periods(wt)
            for d in days:
                base = exceptions.get(d, week_t[d.weekday()])
                exceptions[d] = _subtract(base, off) if off else ()
        hpd = _typical_day_hours(week_t)
        return Calendar(id=cid, name=wc.Name or "", week=week_t, exceptions=exceptions, hours_per_day=hpd)

    def _periods(self, wt: Any) -> tuple[Interval, ...]:
        rp = wt.RecurrencePattern
        out: list[Interval] = []
        for tp in (rp.TimePeriods or ()) if rp else ():
            s, e = _clock(tp.StartTime), _clock(tp.EndTime)
            e = e + 1 if e % 60 == 59 else e
            e = 1440 if e == 0 else e
            if s < e:
                out.append((s, e))
        return tuple(out)

    def _work_time_days(self, wt: Any, years: tuple[int, int], where: str) -> tuple[bool, list[date] | None]:
        """(bounded, dates) of a work time; unbounded weekly ones give one sample week."""
        start = getattr(wt, "StartDate", None) if hasattr(wt, "StartDate") else getattr(wt, "Start", None)
        finish = getattr(wt, "FinishDate", None) if hasattr(wt, "FinishDate") else getattr(wt, "Finish", None)
        d0 = self.date(start, f"{where} work time '{wt.Name}' start")
        d1 = self.date(finish, f"{where} work time '{wt.Name}' finish")
        bounded = d0 is not None or d1 is not None
        lo = d0.date() if d0 else date(years[0], 1, 1)
        hi = d1.date() if d1 else date(years[1], 12, 31)
        rp = wt.RecurrencePattern
        if rp is None:
            if not bounded:
                self.warnings.append(f"{self.path}: {where} work time '{wt.Name}' has neither pattern nor dates; skipped")
                return bounded, None
            return True, _span(lo, hi)
        kind = rp.RecurrenceType
        if kind in ("DAILY", "WEEKLY") and not bounded:
            sample = _span(date(2001, 1, 1), date(2001, 1, 7))  # a Monday..Sunday
            wd = set(rp.WeekdayComponent or ()) if kind == "WEEKLY" else set(range(1, 8))
            return False, [d for d in sample if d.isoweekday() in wd]
        days = _span(lo, hi)
        interval = max(1, rp.Interval or 1)
        if kind == "DAILY":
            out = days[::interval]
        elif kind == "WEEKLY":
            wd = set(rp.WeekdayComponent or ())
            out = [d for d in days if d.isoweekday() in wd and ((d - lo).days // 7) % interval == 0]
        elif kind == "MONTHLY_BY_DAY_OF_MONTH":
            dc = set(rp.DayComponent or ())
            out = [d for d in days if d.day in dc and ((d.year - lo.year) * 12 + d.month - lo.month) % interval == 0]
        elif kind == "YEARLY_BY_DAY_OF_MONTH":
            dc, mc = set(rp.DayComponent or ()), set(rp.MonthComponent or ())
            out = [d for d in days if d.day in dc and d.month in mc and (d.year - lo.year) % interval == 0]
        else:
            self.warnings.append(f"{self.path}: {where} work time '{wt.Name}': recurrence {kind} is not supported; skipped")
            return bounded, None
        if rp.Occurrences:
            out = out[: rp.Occurrences]
        return True, out

    # ---------------------------------------------------------------------------------- durations
    def _duration(self, text: Any, elapsed: bool, day_h: float, hpd: float, what: str) -> float | None:
        if text in (None, ""):
            return None
        hours = parse_iso_duration_h(str(text), hours_per_day=24.0 if elapsed else day_h or hpd,
                                     days_per_week=7.0 if elapsed else 5.0, what=f"{self.path}: {what}")
        return hours * hpd / 24.0 if elapsed else hours

    def _day_length(self, tasks: list[Any], task_cal: Mapping[int, str | None], cals: Mapping[str, Calendar],
                    default: str) -> float:
        """0.0 (a day = one working day of the task's calendar) or 24.0, whichever the file's dates support."""
        votes = Counter()
        for t in tasks:
            tt = t.TaskTime
            if not tt or tt.DurationType == "ELAPSEDTIME" or not tt.ScheduleDuration or not _has_days(tt.ScheduleDuration):
                continue
            s = self.date(tt.ScheduleStart or tt.EarlyStart, f"task '{t.Name}' start")
            e = self.date(tt.ScheduleFinish or tt.EarlyFinish, f"task '{t.Name}' finish")
            if not s or not e or e <= s:
                continue
            cal = cals[task_cal[t.id()] or default]
            worked = _working_hours(cal, s, e)
            as_work = parse_iso_duration_h(str(tt.ScheduleDuration), hours_per_day=cal.hours_per_day, what="duration")
            as_24 = parse_iso_duration_h(str(tt.ScheduleDuration), hours_per_day=24.0, what="duration")
            if abs(as_24 - worked) < 1e-6 and abs(as_work - worked) > 1e-6:
                votes["24"] += 1
            elif abs(as_work - worked) < 1e-6:
                votes["work"] += 1
        if votes["24"] > votes["work"]:
            self.warnings.append(f"{self.path}: task durations read with days of 24 h: that matches the start and "
                                 f"finish of {votes['24']} task(s) with day counts, working days match {votes['work']}")
            return 24.0
        return 0.0

    # ---------------------------------------------------------------------------------- activities
    def _activity(self, t: Any, ids: Mapping[int, str], cal: str | None, cals: Mapping[str, Calendar],
                  default: str, day_h: float) -> Activity:
        aid = ids[t.id()]
        what = f"task '{t.Name or ''}' ({aid})"
        hpd = cals[cal or default].hours_per_day
        nested = ifcopenshell.util.sequence.get_nested_tasks(t)
        parents: list[str] = []
        parent = ifcopenshell.util.sequence.get_parent_task(t)
        while parent is not None and len(parents) < 100:
            parents.append(parent.Name or ids.get(parent.id(), parent.GlobalId))
            parent = ifcopenshell.util.sequence.get_parent_task(parent)
        tt = t.TaskTime
        elapsed = bool(tt and tt.DurationType == "ELAPSEDTIME")
        duration = self._duration(tt.ScheduleDuration if tt else None, elapsed, day_h, hpd, f"{what} ScheduleDuration")
        if elapsed and duration:
            self.warnings.append(f"{self.path}: {what}: elapsed duration {tt.ScheduleDuration} read as "
                                 f"{duration:g} working h (one elapsed day = one working day)")
        if duration is None:
            s = self.date(tt.ScheduleStart, f"{what} ScheduleStart") if tt else None
            e = self.date(tt.ScheduleFinish, f"{what} ScheduleFinish") if tt else None
            duration = _working_hours(cals[cal or default], s, e) if s and e and e > s else 0.0
            if not t.IsMilestone and not nested:
                self.warnings.append(f"{self.path}: {what} has no ScheduleDuration; "
                                     f"{duration:g} h from its start and finish")
        atype = ActivityType.TASK
        if nested:
            atype = ActivityType.WBS_SUMMARY
        elif t.IsMilestone:
            atype = ActivityType.FINISH_MILESTONE
            if duration:
                self.warnings.append(f"{self.path}: {what} is a milestone lasting {duration:g} h; read as 0 h")
                duration = 0.0
        attrs = {k: v for k, v in (("object_type", t.ObjectType), ("description", t.Description),
                                   ("predefined_type", t.PredefinedType), ("status", t.Status)) if v}
        ref: dict[str, Any] = {}
        kw: dict[str, Any] = {}
        if tt:
            for key, attr in (("early_start", "EarlyStart"), ("early_finish", "EarlyFinish"),
                              ("late_start", "LateStart"), ("late_finish", "LateFinish")):
                ref[key] = self.date(getattr(tt, attr), f"{what} {attr}")
            for key, attr in (("total_float_h", "TotalFloat"), ("free_float_h", "FreeFloat")):
                ref[key] = self._duration(getattr(tt, attr), False, day_h, hpd, f"{what} {attr}")
            ref["critical"] = tt.IsCritical
            kw = dict(planned_start=self.date(tt.ScheduleStart or tt.EarlyStart, f"{what} ScheduleStart"),
                      planned_finish=self.date(tt.ScheduleFinish or tt.EarlyFinish, f"{what} ScheduleFinish"),
                      actual_start=self.date(tt.ActualStart, f"{what} ActualStart"),
                      actual_finish=self.date(tt.ActualFinish, f"{what} ActualFinish"),
                      percent_complete=max(0.0, min(100.0, float(tt.Completion or 0.0) * 100.0)),
                      remaining_h=self._duration(tt.RemainingTime, elapsed, day_h, hpd, f"{what} RemainingTime"))
        return Activity(id=aid, name=t.Name or "", duration_h=duration, type=atype, calendar=cal,
                        wbs=tuple(reversed(parents)), uid=t.GlobalId, reference=ref, attributes=attrs, **kw)

    def _sequences(self, tasks: list[Any], ids: Mapping[int, str], acts: Mapping[str, Activity],
                   task_cal: Mapping[int, str | None], cals: Mapping[str, Calendar], default: str,
                   day_h: float) -> list[Relationship]:
        inside = {t.id() for t in tasks}
        rels: list[Relationship] = []
        for rs in self.f.by_type("IfcRelSequence"):
            a, b = rs.RelatingProcess, rs.RelatedProcess
            if a is None or b is None or a.id() not in inside or b.id() not in inside:
                if (a is not None and a.id() in inside) or (b is not None and b.id() in inside):
                    self.warnings.append(f"{self.path}: IfcRelSequence {rs.GlobalId} links a task outside the "
                                         "work schedule(s) read; skipped")
                continue
            pred, succ = ids[a.id()], ids[b.id()]
            what = f"IfcRelSequence {rs.GlobalId} ({pred} -> {succ})"
            rtype = SEQUENCE_TYPES.get(rs.SequenceType or "")
            if rtype is None:
                self.warnings.append(f"{self.path}: {what}: sequence type {rs.SequenceType} "
                                     f"({rs.UserDefinedSequenceType or 'none'}) read as finish-to-start")
                rtype = RelationType.FS
            lag = 0.0
            lt = rs.TimeLag
            if lt is not None and lt.LagValue is not None:
                value = lt.LagValue
                hpd = cals[task_cal[a.id()] or default].hours_per_day
                if value.is_a("IfcRatioMeasure") or value.is_a("IfcNormalisedRatioMeasure") or value.is_a("IfcPositiveRatioMeasure"):
                    lag = float(value.wrappedValue) * acts[pred].duration_h
                    self.warnings.append(f"{self.path}: {what}: lag of {value.wrappedValue:g} x the predecessor's "
                                         f"duration read as {lag:g} h")
                else:
                    elapsed = lt.DurationType == "ELAPSEDTIME"
                    lag = self._duration(value.wrappedValue, elapsed, day_h, hpd, f"{what} lag") or 0.0
                    if elapsed and lag:
                        self.warnings.append(f"{self.path}: {what}: elapsed lag {value.wrappedValue} read as "
                                             f"{lag:g} working h (one elapsed day = one working day)")
            rels.append(Relationship(pred, succ, rtype, lag))
        return rels

    def _leaves(self, tasks: list[Any], ids: Mapping[int, str]) -> dict[str, list[str]]:
        """Summary task id -> ids of the tasks without nested tasks below it (any depth)."""
        inside = {t.id() for t in tasks}
        out: dict[str, list[str]] = {}
        for t in tasks:
            if not ifcopenshell.util.sequence.get_nested_tasks(t):
                continue
            out[ids[t.id()]] = [ids[x.id()] for x in ifcopenshell.util.sequence.get_all_nested_tasks(t)
                                if x.id() in inside and not ifcopenshell.util.sequence.get_nested_tasks(x)]
        return out

    def _products(self, tasks: list[Any], ids: Mapping[int, str]) -> tuple[tuple[tuple[str, str], ...], dict[str, list[str]]]:
        inside = {t.id() for t in tasks}
        links: list[tuple[str, str]] = []
        for rel in self.f.by_type("IfcRelAssignsToProduct"):
            product = rel.RelatingProduct
            for obj in rel.RelatedObjects or ():
                if obj.id() in inside and product is not None:
                    links.append((ids[obj.id()], product.GlobalId))
        inputs: dict[str, list[str]] = {}
        for rel in self.f.by_type("IfcRelAssignsToProcess"):
            proc = rel.RelatingProcess
            if proc is None or proc.id() not in inside:
                continue
            for obj in rel.RelatedObjects or ():
                if obj.is_a("IfcProduct"):
                    inputs.setdefault(ids[proc.id()], []).append(obj.GlobalId)
        return tuple(dict.fromkeys(links)), inputs


def _has_days(duration: Any) -> bool:
    """True when an ISO duration has a non-zero day or week count (so its reading of a day matters)."""
    head = str(duration).split("T")[0]
    return any(float(n) > 0 for n in re.findall(r"(\d+(?:\.\d+)?)[DW]", head))


def _schedule_name(ws: Any) -> str:
    if ws.Name:
        return ws.Name
    for rel in getattr(ws, "Nests", None) or ():
        if rel.RelatingObject is not None and rel.RelatingObject.is_a("IfcWorkPlan") and rel.RelatingObject.Name:
            return rel.RelatingObject.Name
    return ws.GlobalId


def _clock(value: Any) -> int:
    t = value if isinstance(value, time) else time.fromisoformat(str(value)[:8])
    return t.hour * 60 + t.minute


def _span(lo: date, hi: date) -> list[date]:
    n = min((hi - lo).days + 1, _MAX_DAYS)
    return [lo + timedelta(days=i) for i in range(max(0, n))]


def _subtract(base: tuple[Interval, ...], off: tuple[Interval, ...]) -> tuple[Interval, ...]:
    out: list[Interval] = []
    for s, e in base:
        pieces = [(s, e)]
        for os_, oe in off:
            pieces = [p for ps, pe in pieces for p in ((ps, min(pe, os_)), (max(ps, oe), pe)) if p[0] < p[1]]
        out.extend(pieces)
    return tuple(out)


def _typical_day_hours(week: tuple[tuple[Interval, ...], ...]) -> float:
    lengths = [sum(e - s for s, e in day) for day in week if day]
    if not lengths:
        return 8.0
    return Counter(lengths).most_common(1)[0][0] / 60.0


def _working_hours(cal: Calendar, start: datetime | None, finish: datetime | None) -> float:
    if start is None or finish is None or finish <= start:
        return 0.0
    total = 0
    for d in _span(start.date(), finish.date()):
        day0 = datetime.combine(d, time())
        for s, e in cal.exceptions.get(d, cal.week[d.weekday()]):
            lo = max(day0 + timedelta(minutes=s), start)
            hi = min(day0 + timedelta(minutes=e), finish)
            if hi > lo:
                total += int((hi - lo).total_seconds() // 60)
    return total / 60.0
