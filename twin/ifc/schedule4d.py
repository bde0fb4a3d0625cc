"""IFC 4D export: write a schedule, its logic, calendars and element links into a copy of the model.

:func:`write_4d` adds to a copy of the IFC model, with ``ifcopenshell.api.sequence``:

* one ``IfcWorkPlan`` holding one ``IfcWorkSchedule`` (PLANNED);
* an ``IfcWorkCalendar`` per calendar used: weekly ``IfcWorkTime`` working times with an
  ``IfcRecurrencePattern`` (weekdays, ``IfcTimePeriod`` per working interval) and one exception
  work time per holiday (a yearly pattern on its day and month, bounded to that year); assigned to the tasks with ``IfcRelAssignsToControl``;
* an ``IfcTask`` per activity (Identification = activity id, Name, Description = WBS path,
  PredefinedType CONSTRUCTION, IsMilestone) with an ``IfcTaskTime`` (WORKTIME duration, scheduled start
  and finish; early/late dates, floats and criticality when a CPM result is given; actual dates and
  completion when progressed);
* an ``IfcRelSequence`` per relationship (FS/SS/FF/SF) with an ``IfcLagTime`` for non-zero lags;
* ``IfcRelAssignsToProduct`` from each linked element to its tasks.

Durations (task durations, lags, floats) are ISO 8601 durations in **working time of the task's
calendar**: a "day" is one working day of ``Calendar.hours_per_day`` hours, so 20 working hours on an
8-hour calendar is ``P2DT4H``. This is how IfcOpenShell's sequence utilities (and Bonsai, SYNCHRO and
Navisworks) read ``WORKTIME`` durations.

Dates are written as given: the api's ``edit_task_time`` would snap starts to 09:00 and finishes to
17:00 and cascade dates through the network with its own day-based arithmetic, so the task-time
attributes are set directly, and the sequences are created before the task times so that the api's
cascade has nothing to move. IFC2X3 has no IfcTaskTime, IfcLagTime or IfcWorkCalendar (its
IfcScheduleTimeControl model is not supported by the api, whose ``add_task`` fails on IFC2X3 files):
exporting into an IFC2X3 model raises an error saying so, unless ``upgrade=True``, which writes an IFC4
copy of the model migrated by IfcOpenShell's schema migrator (GlobalIds kept) and the schedule into it.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, Callable, Mapping

import ifcopenshell
import ifcopenshell.api.control
import ifcopenshell.api.sequence
import ifcopenshell.util.date

from twin.atomic import atomic_path
from twin.errors import IfcReadError, InputError, MissingFileError
from twin.links import Links
from twin.schedule import Calendar, RelationType, Schedule

__all__ = ["write_4d", "Export4D", "work_duration", "parse_work_duration", "upgrade_to_ifc4", "file_schema",
           "check_exportable", "SEQUENCE_TYPES"]

SEQUENCE_TYPES = {
    RelationType.FS: "FINISH_START", RelationType.SS: "START_START",
    RelationType.FF: "FINISH_FINISH", RelationType.SF: "START_FINISH",
}


@dataclass(frozen=True, slots=True)
class Export4D:
    """What :func:`write_4d` wrote."""

    path: str
    schema: str
    tasks: int
    sequences: int
    lags: int
    product_links: int
    calendars: int
    missing_global_ids: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "schema": self.schema, "tasks": self.tasks, "sequences": self.sequences,
                "lags": self.lags, "product_links": self.product_links, "calendars": self.calendars,
                "missing_global_ids": list(self.missing_global_ids), "warnings": list(self.warnings)}


def work_duration(hours: float, hours_per_day: float) -> str:
    """ISO 8601 duration of ``hours`` working hours in working days of ``hours_per_day`` hours.

    Examples
    --------
    >>> work_duration(20, 8), work_duration(16, 8), work_duration(0, 8), work_duration(-4, 8)
    ('P2DT4H', 'P2D', 'P0D', '-PT4H')
    """
    sign = "-" if hours < 0 else ""
    minutes = int(round(abs(hours) * 60))
    day_min = int(round(hours_per_day * 60))
    days, rest = divmod(minutes, day_min)
    h, m = divmod(rest, 60)
    text = f"{sign}P" + (f"{days}D" if days or not rest else "")
    if rest:
        text += "T" + (f"{h}H" if h else "") + (f"{m}M" if m else "")
    return text


def parse_work_duration(text: str, hours_per_day: float) -> float:
    """Working hours of an ISO duration written by :func:`work_duration` (days = working days)."""
    text = text.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    d = ifcopenshell.util.date.ifc2datetime(text.lstrip("+-"))
    years, months = getattr(d, "years", 0), getattr(d, "months", 0)
    if years or months:
        raise InputError(f"duration '{text}' in months or years cannot be converted to working hours")
    return sign * (d.days * hours_per_day + d.seconds / 3600.0)


_IFC2X3_REFUSAL = ("IFC2X3 cannot hold IfcTaskTime, IfcLagTime or IfcWorkCalendar (and ifcopenshell.api.sequence "
                   "cannot create IFC2X3 tasks), so no IFC 4D export into it; export into an IFC4 copy with "
                   "upgrade=True (twin link --upgrade), or upgrade the model first")


def file_schema(path: str | os.PathLike[str]) -> str | None:
    """The schema named in an IFC file's header (``FILE_SCHEMA``), read without parsing the file."""
    with open(path, "rb") as fh:
        head = fh.read(65536).decode("latin-1")
    m = re.search(r"FILE_SCHEMA\s*\(\s*\(\s*'([^']+)'", head, re.IGNORECASE)
    return m.group(1).upper() if m else None


def check_exportable(path: str | os.PathLike[str], upgrade: bool = False) -> None:
    """Raise before any work when :func:`write_4d` would refuse ``path`` (IFC2X3 without ``upgrade``)."""
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(p, "IFC model")
    schema = file_schema(p)
    if schema is not None and schema.startswith("IFC2X3") and not upgrade:
        raise IfcReadError(f"{p}: {_IFC2X3_REFUSAL}")


def upgrade_to_ifc4(f: ifcopenshell.file) -> tuple[ifcopenshell.file, int]:
    """An IFC4 copy of an IFC2X3 file, and how many attributes the migrator could not map.

    Uses ``ifcopenshell.util.schema.Migrator`` entity by entity (the ``ifcpatch`` Migrate recipe);
    its notes, which it prints, are captured and counted so they do not reach stdout.
    """
    import contextlib
    import io

    import ifcopenshell.util.schema

    new = ifcopenshell.file(schema="IFC4")
    migrator = ifcopenshell.util.schema.Migrator()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        migrator.preprocess(f, new)
        for element in f:
            migrator.migrate(element, new)
    return new, sum(1 for line in buf.getvalue().splitlines() if line.startswith("Unable to find"))


def _atomic_write(f: ifcopenshell.file, out: Path) -> None:
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise MissingFileError(folder, "output folder")
    with atomic_path(out, suffix=".ifc") as tmp:
        f.write(str(tmp))


def _calendar(f: ifcopenshell.file, cal: Calendar) -> Any:
    wc = ifcopenshell.api.sequence.add_work_calendar(f, name=cal.name or cal.id)
    wc.Identification = cal.id
    groups: dict[tuple, list[int]] = {}
    for day, intervals in enumerate(cal.week):
        if intervals:
            groups.setdefault(tuple(intervals), []).append(day + 1)     # IfcDayInWeekNumber: Monday = 1
    for intervals, days in groups.items():
        wt = ifcopenshell.api.sequence.add_work_time(f, work_calendar=wc, time_type="WorkingTimes")
        pattern = ifcopenshell.api.sequence.assign_recurrence_pattern(f, parent=wt, recurrence_type="WEEKLY")
        ifcopenshell.api.sequence.edit_recurrence_pattern(f, recurrence_pattern=pattern,
                                                          attributes={"WeekdayComponent": days})
        for s, e in intervals:
            ifcopenshell.api.sequence.add_time_period(
                f, recurrence_pattern=pattern, start_time=_clock(s), end_time=_clock(min(e, 1439)))
    for day, intervals in sorted(cal.exceptions.items()):
        if intervals:
            continue           # a changed working day: IFC exception times only hold non-working dates
        # A yearly pattern on the holiday's month and day, bounded to the day before and after: exactly that
        # date under the IFC reading of Start/Finish, and also under ifcopenshell.util.sequence (Bonsai),
        # whose date test is exclusive at both ends and would miss a plain Start = Finish = day.
        wt = ifcopenshell.api.sequence.add_work_time(f, work_calendar=wc, time_type="ExceptionTimes")
        wt.Name = f"Holiday {day.isoformat()}"
        pattern = ifcopenshell.api.sequence.assign_recurrence_pattern(
            f, parent=wt, recurrence_type="YEARLY_BY_DAY_OF_MONTH")
        ifcopenshell.api.sequence.edit_recurrence_pattern(
            f, recurrence_pattern=pattern, attributes={"DayComponent": [day.day], "MonthComponent": [day.month]})
        ifcopenshell.api.sequence.edit_work_time(
            f, work_time=wt, attributes={"Start": day - timedelta(days=1), "Finish": day + timedelta(days=1)})
    return wc


def _clock(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def _dt(value: datetime | None) -> str | None:
    return None if value is None else ifcopenshell.util.date.datetime2ifc(value, "IfcDateTime")


def write_4d(
    model_path: str | os.PathLike[str],
    schedule: Schedule,
    links: Links,
    out_path: str | os.PathLike[str],
    cpm: Any = None,
    *,
    name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    upgrade: bool = False,
) -> Export4D:
    """Write ``schedule`` and ``links`` into a copy of the IFC model at ``model_path``.

    Let's imagine a planned schedule for the Duplex: ``write_4d("duplex.ifc", plan.schedule, plan.links,
    "duplex-4d.ifc", cpm=compute_cpm(plan.schedule))`` gives a file Bonsai, SYNCHRO or Navisworks can
    play, its tasks carrying the CPM dates.

    Parameters
    ----------
    model_path : the source IFC (IFC4 or IFC4X3); it is not modified
    schedule : activities, relationships, calendars
    links : (activity id, GlobalId) pairs; GlobalIds not in the model are skipped and listed
    out_path : the file to write (atomically: temp file in the same folder, then rename)
    cpm : a ``twin.cpm.CpmResult``: scheduled, early and late dates, floats and criticality; without it
        task times hold the activities' planned dates, if any, and their durations
    name : work plan and work schedule name (default: the schedule's name)
    progress : called as ``progress(done, total)`` while tasks and links are written
    upgrade : for an IFC2X3 model, write an IFC4 copy (migrated with IfcOpenShell's schema migrator, as
        its ``ifcpatch`` Migrate recipe does; GlobalIds are kept) instead of refusing

    Returns
    -------
    Export4D

    Raises
    ------
    MissingFileError, IfcReadError : the model cannot be read, or is IFC2X3 without ``upgrade``
    InputError : a relationship names an unknown activity
    """
    src = Path(model_path)
    if not src.is_file():
        raise MissingFileError(src, "IFC model")
    try:
        f = ifcopenshell.open(str(src))
    except Exception as exc:  # ifcopenshell raises bare errors for unreadable files
        raise IfcReadError(f"{src}: cannot read IFC: {exc}") from None
    notes: list[str] = []
    if f.schema == "IFC2X3":
        if not upgrade:
            raise IfcReadError(f"{src}: {_IFC2X3_REFUSAL}")
        f, dropped = upgrade_to_ifc4(f)
        notes.append(f"{src.name} was upgraded from IFC2X3 to IFC4 (ifcopenshell.util.schema.Migrator); "
                     f"{dropped} attribute(s) without an IFC4 equivalent were left empty")
    title = name or schedule.name or "Construction schedule"
    start = cpm.start if cpm is not None else schedule.start
    plan = ifcopenshell.api.sequence.add_work_plan(f, name=title, start_time=start)
    ws = ifcopenshell.api.sequence.add_work_schedule(f, name=title, predefined_type="PLANNED",
                                                     start_time=start, work_plan=plan)
    cal_of = {a.id: a.calendar or schedule.default_calendar for a in schedule.activities.values()}
    calendars = {cid: _calendar(f, schedule.calendars[cid]) for cid in dict.fromkeys(cal_of.values())
                 if cid in schedule.calendars}
    hpd = {aid: schedule.calendars[c].hours_per_day if c in schedule.calendars else 8.0 for aid, c in cal_of.items()}
    total = len(schedule.activities) + len(links.pairs)
    done = 0
    tasks: dict[str, Any] = {}
    for a in schedule.activities.values():
        task = ifcopenshell.api.sequence.add_task(     # assigned to the schedule below, all at once
            f, name=a.name or a.id, identification=a.id,
            description=" / ".join(a.wbs) or None, predefined_type="CONSTRUCTION")
        task.IsMilestone = a.type.is_milestone
        if a.attributes.get("trade"):
            task.ObjectType = str(a.attributes["trade"])
        tasks[a.id] = task
        done += 1
        if progress and done % 50 == 0:
            progress(done, total)
    # One IfcRelAssignsToControl for every task (add_task(work_schedule=...) appends to the relationship
    # task by task, which is quadratic in the number of tasks).
    ifcopenshell.api.control.assign_control(f, relating_control=ws, related_objects=list(tasks.values()))
    by_cal: dict[str, list[Any]] = {}
    for aid, cid in cal_of.items():
        if cid in calendars:
            by_cal.setdefault(cid, []).append(tasks[aid])
    for cid, members in by_cal.items():
        ifcopenshell.api.control.assign_control(f, relating_control=calendars[cid], related_objects=members)
    n_lags = 0
    for r in schedule.relationships:
        if r.pred not in tasks or r.succ not in tasks:
            raise InputError(f"relationship {r.pred} -> {r.succ} names an activity not in the schedule")
        rel = ifcopenshell.api.sequence.assign_sequence(
            f, relating_process=tasks[r.pred], related_process=tasks[r.succ], sequence_type=SEQUENCE_TYPES[r.type])
        if r.lag_h:
            ifcopenshell.api.sequence.assign_lag_time(
                f, rel_sequence=rel, lag_value=work_duration(r.lag_h, hpd[r.pred]), duration_type="WORKTIME")
            n_lags += 1
    for a in schedule.activities.values():
        _task_time(f, tasks[a.id], a, hpd[a.id], cpm)
    missing: list[str] = []
    by_product: dict[str, list[Any]] = {}
    for act, gid in links.pairs:
        if act not in tasks:
            raise InputError(f"link ({act}, {gid}) names an activity not in the schedule")
        by_product.setdefault(gid, [])
        if tasks[act] not in by_product[gid]:
            by_product[gid].append(tasks[act])
    n_links = 0
    for gid, outputs in by_product.items():
        done += len(outputs)
        if progress and done % 200 < len(outputs):
            progress(done, total)
        try:
            product = f.by_guid(gid)
        except RuntimeError:
            missing.append(gid)
            continue
        _assign_products(f, product, outputs)
        n_links += len(outputs)
    if progress:
        progress(total, total)
    out = Path(out_path)
    _atomic_write(f, out)
    warnings = notes
    if missing:
        warnings.append(f"{len(missing)} linked GlobalId(s) are not in {src.name}: "
                        + ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else ""))
    return Export4D(str(out), f.schema, len(tasks), len(schedule.relationships), n_lags, n_links,
                    len(calendars), tuple(dict.fromkeys(missing)), tuple(warnings))


def _assign_products(f: ifcopenshell.file, product: Any, outputs: list[Any]) -> None:
    """Make ``outputs`` (tasks) produce ``product``: what ``api.sequence.assign_product`` does per task
    (one IfcRelAssignsToProduct per product, tasks appended to the one the product already has), in one
    step per product, because the api's per-call duplicate scan over the task's assignments is quadratic
    for tasks that build many elements."""
    rel = product.ReferencedBy[0] if product.ReferencedBy else None
    if rel is None:
        ifcopenshell.api.sequence.assign_product(f, relating_product=product, related_object=outputs[0])
        rel = product.ReferencedBy[0]
        outputs = outputs[1:]
    new = [t for t in outputs if t not in rel.RelatedObjects]
    if new:
        rel.RelatedObjects = list(rel.RelatedObjects) + new


def _task_time(f: ifcopenshell.file, task: Any, a: Any, hpd: float, cpm: Any) -> None:
    tt = ifcopenshell.api.sequence.add_task_time(f, task=task)
    tt.DurationType = "WORKTIME"
    tt.ScheduleDuration = work_duration(0.0 if a.type.is_milestone else a.duration_h, hpd)
    d = cpm.dates.get(a.id) if cpm is not None else None
    if d is not None:
        tt.ScheduleStart, tt.ScheduleFinish = _dt(d.early_start), _dt(d.early_finish)
        tt.EarlyStart, tt.EarlyFinish = _dt(d.early_start), _dt(d.early_finish)
        tt.LateStart, tt.LateFinish = _dt(d.late_start), _dt(d.late_finish)
        if d.total_float_h is not None and math.isfinite(d.total_float_h):
            tt.TotalFloat = work_duration(d.total_float_h, hpd)
        if d.free_float_h is not None and math.isfinite(d.free_float_h):
            tt.FreeFloat = work_duration(d.free_float_h, hpd)
        tt.IsCritical = bool(d.critical)
    else:
        tt.ScheduleStart, tt.ScheduleFinish = _dt(a.planned_start), _dt(a.planned_finish)
    if a.actual_start is not None:
        tt.ActualStart = _dt(a.actual_start)
    if a.actual_finish is not None:
        tt.ActualFinish = _dt(a.actual_finish)
    if a.percent_complete:
        tt.Completion = float(a.percent_complete) / 100.0
    if a.remaining_h is not None and a.is_started:
        tt.RemainingTime = work_duration(a.remaining_h, hpd)
