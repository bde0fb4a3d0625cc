"""Progress records: what the site reports, read from CSV or a progressed schedule, checked, applied.

A :class:`ProgressRecord` says, for one activity (and optionally one element, by GlobalId), what was
done by a data date: actual start, actual finish, percent complete, remaining duration, who reported
it and when. A :class:`ProgressUpdate` is one report (one file) at one data date, with a content hash
that makes re-importing the same file a no-op (``twin.store``).

Rules every update must pass (:func:`check_records`); a file with any bad row is refused whole, every
bad row listed (:class:`ProgressRejectedError`):

* the activity exists in the schedule; a GlobalId, when given, exists in the model (or the links);
* percent complete is a number in 0..100; remaining duration is >= 0;
* an actual finish needs an actual start, not before it; a finish means 100 % and no remaining work;
  percent above 0 needs an actual start;
* no actual date is after the data date;
* one row per (activity, GlobalId).

Dates are timezone-naive local date-times. A date without a time means the start of that day's work
(actual start) or the end of that day's work (actual finish), on the activity's calendar; a data date
without a time means the end of that day (the next midnight). Durations are working hours
(``remaining_days`` in the CSV: days of the activity's calendar).

Element rows (with a GlobalId) roll up into the activity's progress when the file has no row for the
activity itself (:func:`activity_records`): started when any element started, finished when every
linked element finished, percent the mean over the linked elements.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from twin.errors import InputError, MissingFileError
from twin.schedule import Activity, Schedule

__all__ = [
    "CSV_COLUMNS", "ProgressRecord", "Rejection", "ProgressUpdate", "ProgressRejectedError",
    "parse_data_date", "show_data_date", "read_progress_csv", "parse_progress_csv", "records_from_schedule", "check_records",
    "content_hash", "make_update", "activity_records", "apply_progress", "strip_progress",
]

CSV_COLUMNS = ("activity_id", "actual_start", "actual_finish", "percent_complete")
OPTIONAL_COLUMNS = ("global_id", "remaining_days", "reported_by", "reported_at")


@dataclass(frozen=True, slots=True)
class ProgressRecord:
    """Progress of one activity (``global_id`` None) or of one of its elements, at a data date.

    ``percent_complete`` is 0..100 (None: not reported); ``remaining_h`` working hours (None: derived
    from the percent). ``row`` is the line of the source file, for messages.
    """

    activity_id: str
    actual_start: datetime | None = None
    actual_finish: datetime | None = None
    percent_complete: float | None = None
    remaining_h: float | None = None
    global_id: str | None = None
    reported_by: str = ""
    reported_at: datetime | None = None
    row: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.activity_id, self.global_id or ""

    @property
    def percent(self) -> float:
        """Percent complete as reported, else 100 when finished, else 0."""
        if self.percent_complete is not None:
            return self.percent_complete
        return 100.0 if self.actual_finish is not None else 0.0


@dataclass(frozen=True, slots=True)
class Rejection:
    """A refused row: its line in the file (0 for the file as a whole) and why."""

    row: int
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {"row": self.row, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    """One progress report: the records, the data date, where it came from and its content hash."""

    data_date: datetime
    records: tuple[ProgressRecord, ...]
    source: str = ""
    content_hash: str = ""


class ProgressRejectedError(InputError):
    """A progress file with bad rows; ``rejected`` lists every one (nothing was written)."""

    def __init__(self, source: str, rejected: Sequence[Rejection]) -> None:
        first = "; ".join(f"line {r.row}: {r.reason}" for r in rejected[:3])
        more = f" (and {len(rejected) - 3} more)" if len(rejected) > 3 else ""
        super().__init__(f"{source}: {len(rejected)} bad row(s), nothing imported: {first}{more}")
        self.source = source
        self.rejected = list(rejected)


# ------------------------------------------------------------------------------------------- reading

def parse_data_date(text: str | date | datetime) -> datetime:
    """A data date from ISO text: a date alone means the end of that day (the next midnight).

    >>> parse_data_date("2027-03-12")
    datetime.datetime(2027, 3, 13, 0, 0)
    >>> parse_data_date("2027-03-12T17:00")
    datetime.datetime(2027, 3, 12, 17, 0)
    """
    if isinstance(text, datetime):
        return text
    if isinstance(text, date):
        return datetime.combine(text, time()) + timedelta(days=1)
    s = str(text).strip()
    try:
        if len(s) == 10:
            return datetime.combine(date.fromisoformat(s), time()) + timedelta(days=1)
        value = datetime.fromisoformat(s)
    except ValueError:
        raise InputError(f"data date '{text}' is not a date (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None
    return value.replace(tzinfo=None)


def show_data_date(when: datetime) -> str:
    """A data date as people read it: midnight is shown as the end of the day before.

    >>> show_data_date(datetime(2027, 3, 13))
    'end of 2027-03-12'
    >>> show_data_date(datetime(2027, 3, 12, 17, 0))
    '2027-03-12 17:00'
    """
    if when.hour == 0 and when.minute == 0 and when.second == 0:
        return f"end of {(when - timedelta(days=1)):%Y-%m-%d}"
    return f"{when:%Y-%m-%d %H:%M}"


def _cell_date(text: str, *, finish: bool, calendar) -> datetime:
    s = text.strip()
    if len(s) == 10:
        d = datetime.combine(date.fromisoformat(s), time())
        if calendar is None:
            return d + (timedelta(hours=17) if finish else timedelta(hours=8))
        if finish:  # end of that day's work (or of the last working day before it)
            return calendar.previous_working_dt(d + timedelta(days=1))
        return calendar.next_working_dt(d)
    value = datetime.fromisoformat(s)
    return value.replace(tzinfo=None)


def _number(text: str) -> float:
    value = float(text.strip().replace(",", ".") if text.count(",") == 1 and "." not in text else text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _calendars(schedule: Schedule | None) -> dict[str, object]:
    if schedule is None:
        return {}
    from twin.worktime import compile_calendars

    return compile_calendars(dict(schedule.calendars))


def parse_progress_csv(text: str, schedule: Schedule | None = None, *, source: str = "progress.csv",
                       ) -> tuple[list[ProgressRecord], list[Rejection]]:
    """Parse progress CSV text into records and the rows that could not be read.

    Columns (header names case-insensitive, in any order, a space counts as ``_``): ``activity_id``,
    ``actual_start``, ``actual_finish``, ``percent_complete`` (required), ``global_id``,
    ``remaining_days``, ``reported_by``, ``reported_at`` (optional); other columns are refused.
    ``schedule`` gives the calendars that turn dates alone and ``remaining_days`` into hours.
    Only the form of each cell is checked here; :func:`check_records` checks the content.
    """
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    if not rows:
        return [], [Rejection(0, f"{source} is empty (expected a header {','.join(CSV_COLUMNS)})")]
    header = [h.strip().lower().replace(" ", "_") for h in rows[0]]
    missing = [c for c in CSV_COLUMNS if c not in header]
    unknown = [h for h in header if h and h not in CSV_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        why = []
        if missing:
            why.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            why.append(f"unknown column(s) {', '.join(unknown)} (allowed: "
                       f"{', '.join(CSV_COLUMNS + OPTIONAL_COLUMNS)})")
        return [], [Rejection(1, "; ".join(why) + f"; found {', '.join(header)}")]
    cals = _calendars(schedule)
    records, bad = [], []
    for line, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            bad.append(Rejection(line, f"{len(cells)} cells, expected {len(header)} like the header"))
            continue
        cell = {h: c.strip() for h, c in zip(header, cells)}
        rec, errors = _record(cell, line, schedule, cals)
        if errors:
            bad.append(Rejection(line, "; ".join(errors)))
        else:
            records.append(rec)
    return records, bad


def _record(cell: Mapping[str, str], line: int, schedule: Schedule | None, cals) -> tuple[ProgressRecord | None, list[str]]:
    aid = cell.get("activity_id", "")
    errors: list[str] = []
    act = schedule.activities.get(aid) if schedule is not None else None
    cal = None
    if act is not None:
        cal = cals.get(act.calendar or schedule.default_calendar)
    values: dict[str, object] = {}
    for col, finish in (("actual_start", False), ("actual_finish", True), ("reported_at", False)):
        text = cell.get(col, "")
        if text:
            try:
                values[col] = _cell_date(text, finish=finish, calendar=cal if col != "reported_at" else None)
            except ValueError:
                errors.append(f"{col} '{text}' is not a date (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
    for col in ("percent_complete", "remaining_days"):
        text = cell.get(col, "")
        if text:
            try:
                values[col] = _number(text)
            except ValueError:
                errors.append(f"{col} '{text}' is not a number")
    if errors:
        return None, [f"activity '{aid}': {e}" if aid else e for e in errors]
    remaining_h = None
    if "remaining_days" in values:
        hpd = schedule.get_calendar(act).hours_per_day if act is not None else 8.0
        remaining_h = float(values["remaining_days"]) * hpd
    return ProgressRecord(
        activity_id=aid, actual_start=values.get("actual_start"), actual_finish=values.get("actual_finish"),
        percent_complete=values.get("percent_complete"), remaining_h=remaining_h,
        global_id=cell.get("global_id") or None, reported_by=cell.get("reported_by", ""),
        reported_at=values.get("reported_at"), row=line), []


def read_progress_csv(path: str | Path, schedule: Schedule | None = None) -> tuple[list[ProgressRecord], list[Rejection], str]:
    """Read a progress CSV: (records, rejected rows, text as read). UTF-8 (with or without BOM)."""
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(p, "progress file")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{p}: not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save it as UTF-8") from None
    records, bad = parse_progress_csv(text, schedule, source=p.name)
    return records, bad, text


def records_from_schedule(progressed: Schedule, *, reported_by: str = "") -> list[ProgressRecord]:
    """Progress carried by a schedule file (P6 / MS Project actuals): one record per started activity.

    The row number is the activity's position in the file (1-based), for messages.
    """
    out = []
    for n, a in enumerate(progressed.activities.values(), start=1):
        if a.actual_start is None and a.actual_finish is None and not a.percent_complete:
            continue
        remaining = None if a.actual_finish is not None else a.remaining_h
        out.append(ProgressRecord(a.id, a.actual_start, a.actual_finish,
                                  100.0 if a.actual_finish is not None else float(a.percent_complete),
                                  remaining, None, reported_by, None, n))
    return out


# ------------------------------------------------------------------------------------------ checking

def check_records(records: Sequence[ProgressRecord], schedule: Schedule, data_date: datetime, *,
                  element_ids: Iterable[str] | None = None) -> list[Rejection]:
    """Every rule of the module docstring, one :class:`Rejection` per bad row (all reasons joined).

    ``element_ids``: the GlobalIds that may be named (model elements or linked elements); None skips
    that check.
    """
    known = set(element_ids) if element_ids is not None else None
    seen: dict[tuple[str, str], int] = {}
    out = []
    for r in records:
        row = r.row or 0
        why: list[str] = []
        if not r.activity_id:
            why.append("activity_id is empty")
        elif r.activity_id not in schedule.activities:
            why.append(f"unknown activity '{r.activity_id}'")
        if r.global_id is not None and known is not None and r.global_id not in known:
            why.append(f"unknown GlobalId '{r.global_id}'")
        pc = r.percent_complete
        if pc is not None and not 0.0 <= pc <= 100.0:
            why.append(f"percent_complete {pc:g} is outside 0-100")
        if r.remaining_h is not None and r.remaining_h < 0:
            why.append(f"remaining duration {r.remaining_h:g} h is negative")
        if r.actual_finish is not None:
            if r.actual_start is None:
                why.append("actual_finish given without actual_start")
            elif r.actual_finish < r.actual_start:
                why.append(f"actual_finish {r.actual_finish:%Y-%m-%d %H:%M} is before actual_start "
                           f"{r.actual_start:%Y-%m-%d %H:%M}")
            if pc is not None and pc < 100.0:
                why.append(f"actual_finish given but percent_complete is {pc:g} (a finished activity is 100)")
            if r.remaining_h:
                why.append("actual_finish given but remaining duration is not 0")
        elif pc and r.actual_start is None:
            why.append(f"percent_complete {pc:g} without actual_start")
        for col, value in (("actual_start", r.actual_start), ("actual_finish", r.actual_finish)):
            if value is not None and value > data_date:
                why.append(f"{col} {value:%Y-%m-%d %H:%M} is after the data date {data_date:%Y-%m-%d %H:%M}")
        if r.key in seen:
            why.append(f"activity '{r.activity_id}'{' element ' + repr(r.global_id) if r.global_id else ''} "
                       f"already reported on line {seen[r.key]}")
        else:
            seen[r.key] = row
        if why:
            prefix = f"activity '{r.activity_id}': " if r.activity_id and "unknown activity" not in why[0] else ""
            out.append(Rejection(row, prefix + "; ".join(why)))
    return out


def content_hash(records: Sequence[ProgressRecord], scenario: str, data_date: datetime) -> str:
    """SHA-256 of the normalised records (sorted, canonical values) + scenario key + data date.

    Row order, spacing, date spelling and reported_at do not change it; any value does.
    """
    def fmt(v: object) -> str:
        if v is None:
            return ""
        if isinstance(v, datetime):
            return v.isoformat(timespec="minutes")
        if isinstance(v, float):
            return f"{v:.6g}"
        return str(v)

    lines = sorted("|".join(fmt(x) for x in (r.activity_id, r.global_id, r.actual_start, r.actual_finish,
                                             r.percent_complete, r.remaining_h, r.reported_by))
                   for r in records)
    h = hashlib.sha256()
    h.update(f"{scenario}\n{fmt(data_date)}\n".encode())
    h.update("\n".join(lines).encode())
    return h.hexdigest()


def make_update(records: Sequence[ProgressRecord], schedule: Schedule, data_date: datetime, *,
                scenario: str = "", source: str = "", element_ids: Iterable[str] | None = None,
                rejected: Sequence[Rejection] = ()) -> ProgressUpdate:
    """Check ``records`` and wrap them as one update; raise if any row (read or checked) is bad.

    Raises
    ------
    ProgressRejectedError
        With every bad row of ``rejected`` (rows that could not be read) and of :func:`check_records`.
    """
    bad = sorted([*rejected, *check_records(records, schedule, data_date, element_ids=element_ids)],
                 key=lambda r: r.row)
    if bad:
        raise ProgressRejectedError(source or "progress", bad)
    return ProgressUpdate(data_date, tuple(records), source, content_hash(records, scenario, data_date))


# -------------------------------------------------------------------------------------------- applying

def activity_records(records: Sequence[ProgressRecord], links: Iterable[tuple[str, str]] = ()) -> dict[str, ProgressRecord]:
    """One record per activity: its own row, else the roll-up of its element rows.

    ``links``: (activity id, GlobalId) pairs, so that an element not reported counts as 0 % in the mean.
    """
    own = {r.activity_id: r for r in records if r.global_id is None}
    by_act: dict[str, list[ProgressRecord]] = {}
    for r in records:
        if r.global_id is not None:
            by_act.setdefault(r.activity_id, []).append(r)
    linked: dict[str, set[str]] = {}
    for aid, g in links:
        linked.setdefault(aid, set()).add(g)
    out = dict(own)
    for aid, rows in by_act.items():
        if aid in own:
            continue
        elements = linked.get(aid, set()) | {r.global_id for r in rows}
        reported = {r.global_id: r for r in rows}
        starts = [r.actual_start for r in rows if r.actual_start is not None]
        done = all(g in reported and reported[g].actual_finish is not None for g in elements)
        pc = sum(reported[g].percent if g in reported else 0.0 for g in elements) / max(len(elements), 1)
        finish = max(r.actual_finish for r in rows) if done else None
        latest = max(rows, key=lambda r: r.reported_at or datetime.min)
        out[aid] = ProgressRecord(aid, min(starts) if starts else None, finish, 100.0 if done else pc, None,
                                  None, latest.reported_by, latest.reported_at, min(r.row or 0 for r in rows))
    return out


def strip_progress(schedule: Schedule) -> Schedule:
    """The schedule as planned: no actual dates, no percent, no remaining, data date = start."""
    acts = {aid: replace(a, actual_start=None, actual_finish=None, percent_complete=0.0, remaining_h=None)
            for aid, a in schedule.activities.items()}
    return replace(schedule, activities=acts, data_date=None)


def _apply(a: Activity, r: ProgressRecord) -> Activity:
    if r.actual_finish is not None:
        return replace(a, actual_start=r.actual_start, actual_finish=r.actual_finish, percent_complete=100.0,
                       remaining_h=0.0)
    if r.actual_start is None:
        return replace(a, actual_start=None, actual_finish=None, percent_complete=0.0, remaining_h=None)
    pc = r.percent
    remaining = r.remaining_h if r.remaining_h is not None else a.duration_h * (1.0 - pc / 100.0)
    return replace(a, actual_start=r.actual_start, actual_finish=None, percent_complete=pc, remaining_h=remaining)


def apply_progress(schedule: Schedule, records: Mapping[str, ProgressRecord] | Sequence[ProgressRecord],
                   data_date: datetime, *, links: Iterable[tuple[str, str]] = ()) -> Schedule:
    """A new schedule with the reported progress and the data date; the input is not changed.

    Activities with a record take its actual dates, percent and remaining duration (remaining
    defaults to planned x (1 - percent)); the others keep whatever progress the schedule already had.
    """
    by_act = records if isinstance(records, Mapping) else activity_records(records, links)
    acts = {aid: (_apply(a, by_act[aid]) if aid in by_act else a) for aid, a in schedule.activities.items()}
    return replace(schedule, activities=acts, data_date=data_date)
