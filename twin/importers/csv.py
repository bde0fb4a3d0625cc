"""The documented CSV schedule format: read it into a Schedule, write a Schedule back.

One row per activity. Required columns (header names case-insensitive, order free; spaces in a name
count as ``_``): ``id, name, duration_days, predecessors``. Optional: ``optimistic, most_likely,
pessimistic`` (days, all three or none), ``calendar`` (a built-in name: ``standard``, ``24h``,
``6day``, ``7day``, or one passed in ``calendars=``), ``start`` (start-no-earlier-than, date or
date-time), ``type`` (``task``, ``milestone``, ``start_milestone``, ``finish_milestone``,
``wbs_summary``, ``level_of_effort``, ``resource_dependent``), ``wbs`` (levels joined by `` / ``),
``actual_start, actual_finish, percent_complete, remaining_days``. Any other column is kept per
activity in ``Activity.attributes`` (``trade``, ``zone``, ``storey``, ``crew``, ``lifts``...);
a value that reads back exactly as an int or float is stored as one, anything else as text.

Days are working days of the activity's calendar (``hours_per_day``: 8 for ``standard``, ``6day``
and ``7day``, 24 for ``24h``). ``predecessors`` holds ``;``-separated tokens ``ID[ TYPE][LAG]``:
``A10``, ``A10 SS``, ``A10 SS+2d``, ``A10 FF-4h``, ``A10+1`` (FS, one day), ``A10:SF 3``; a lag
without a unit is in days; lag days are working days of the predecessor's calendar.

Text is decoded as UTF-8 (a byte-order mark is allowed); bytes that are not UTF-8 make the reader
fall back to Windows-1252 with a counted warning naming the first bad byte offset; an ``encoding=``
the caller gives is used strictly. Errors name the file and the line.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from twin.errors import MissingFileError, ScheduleError
from twin.importers._common import (
    BUILTIN_CALENDARS, atomic_write_text, builtin_calendar, check_logic, is_builtin_calendar,
    next_monday, parse_datetime,
)
from twin.schedule import (
    Activity, ActivityType, Calendar, Constraint, ConstraintType, RelationType, Relationship,
    Schedule, ThreePoint,
)

__all__ = ["read_csv", "write_csv", "parse_predecessor", "REQUIRED_COLUMNS", "OPTIONAL_COLUMNS"]

REQUIRED_COLUMNS: tuple[str, ...] = ("id", "name", "duration_days", "predecessors")
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "optimistic", "most_likely", "pessimistic", "calendar", "start", "type", "wbs",
    "actual_start", "actual_finish", "percent_complete", "remaining_days",
)
_KNOWN = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)

_TYPE_ALIASES = {
    "task": ActivityType.TASK, "": ActivityType.TASK,
    "start_milestone": ActivityType.START_MILESTONE, "finish_milestone": ActivityType.FINISH_MILESTONE,
    "wbs_summary": ActivityType.WBS_SUMMARY, "summary": ActivityType.WBS_SUMMARY,
    "level_of_effort": ActivityType.LEVEL_OF_EFFORT, "loe": ActivityType.LEVEL_OF_EFFORT,
    "resource_dependent": ActivityType.RESOURCE_DEPENDENT,
}
_NUM = r"\d+(?:\.\d*)?|\.\d+"
_LAG = rf"(?P<lag>[+-]?\s*(?:{_NUM})\s*(?:d|h|days?|hours?|hrs?)?)"
_WITH_TYPE = re.compile(rf"^(?P<id>.+?)\s*:?\s*(?P<type>FS|SS|FF|SF)\s*{_LAG}?$", re.IGNORECASE)
_LAG_ONLY = re.compile(rf"^(?P<id>.+?)\s*:?\s*(?P<lag>[+-]\s*(?:{_NUM})\s*(?:d|h|days?|hours?|hrs?)?)$",
                       re.IGNORECASE)


def parse_predecessor(token: str, known: set[str] | Mapping[str, Any]) -> tuple[str, RelationType, float, str]:
    """Split one predecessor token into (id, type, lag value, lag unit 'd' or 'h').

    ``known`` holds the activity ids of the file: a token that is exactly a known id is a plain FS
    link even if it ends in letters that look like a type (``PASS``).

    Raises
    ------
    ValueError
        The token is not ``ID[ TYPE][LAG]`` or names an id not in ``known`` (message says which).

    Examples
    --------
    >>> parse_predecessor("A10 SS+2d", {"A10"})
    ('A10', <RelationType.SS: 'SS'>, 2.0, 'd')
    >>> parse_predecessor("A10-4h", {"A10"})
    ('A10', <RelationType.FS: 'FS'>, -4.0, 'h')
    """
    tok = token.strip()
    if tok in known:
        return tok, RelationType.FS, 0.0, "d"
    unknown: str | None = None
    for pattern in (_WITH_TYPE, _LAG_ONLY):
        m = pattern.match(tok)
        if not m:
            continue
        pid = m.group("id").strip()
        if pid not in known:
            unknown = unknown or pid
            continue
        rtype = RelationType(m.group("type").upper()) if "type" in m.groupdict() and m.group("type") else RelationType.FS
        value, unit = _split_lag(m.group("lag"))
        return pid, rtype, value, unit
    prefix = next((k for k in known if tok.startswith(k) and k), None)  # error path only
    if prefix is None and (unknown is not None or re.fullmatch(r"[^\s:+]+", tok)):
        raise ValueError(f"unknown predecessor id '{unknown or tok}' in '{token}'")
    raise ValueError(f"bad predecessor '{token}': expected ID, ID TYPE or ID TYPE+LAG "
                     "(TYPE one of FS SS FF SF, LAG like +2d or -4h)")


def _split_lag(text: str | None) -> tuple[float, str]:
    if not text:
        return 0.0, "d"
    s = re.sub(r"\s+", "", text).lower()
    m = re.fullmatch(rf"([+-]?)({_NUM})([a-z]*)", s)
    assert m is not None  # the token regex only lets such text through
    unit = "h" if m.group(3).startswith("h") else "d"
    value = float(m.group(2))
    return (-value if m.group(1) == "-" else value), unit


def _decode(raw: bytes, path: Path, encoding: str | None) -> tuple[str, list[str]]:
    if encoding is not None:
        try:
            return raw.decode(encoding), []
        except LookupError:
            raise ScheduleError(f"{path}: unknown encoding '{encoding}'") from None
        except UnicodeDecodeError as exc:
            raise ScheduleError(f"{path}: byte 0x{raw[exc.start]:02x} at offset {exc.start} cannot be "
                                f"decoded as {encoding}") from None
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        first = exc.start
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ScheduleError(f"{path}: not UTF-8 (byte 0x{raw[first]:02x} at offset {first}) nor "
                            f"Windows-1252 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                            "save it as UTF-8 or pass the encoding") from None
    return text, [f"{path}: not UTF-8 (byte 0x{raw[first]:02x} at offset {first}); read as Windows-1252"]


def _number(text: str, *, where: str, column: str, minimum: float | None = 0.0) -> float:
    if re.fullmatch(r"\s*-?\d+,\d+\s*", text):  # a decimal comma, as European spreadsheets write
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        raise ScheduleError(f"{where}: {column} '{text}' is not a number") from None
    if not math.isfinite(value) or (minimum is not None and value < minimum):
        raise ScheduleError(f"{where}: {column} must be a finite number >= {minimum:g}, got '{text}'")
    return value


def _date(text: str, *, what: str) -> datetime:
    """A date cell; years outside 1900-2200 are typing mistakes (or corrupt exports), an error here."""
    value = parse_datetime(text, what=what)
    if not 1900 <= value.year <= 2200:
        raise ScheduleError(f"{what}: year {value.year} in '{text.strip()}' is outside 1900-2200")
    return value


def _typed(value: str) -> Any:
    """An attribute cell as int or float when that is lossless, else the text."""
    if re.fullmatch(r"-?(0|[1-9]\d*)", value):
        return int(value)
    try:
        f = float(value)
    except ValueError:
        return value
    return f if repr(f) == value else value


def read_csv(
    path: str | os.PathLike[str],
    *,
    start: datetime | date | str | None = None,
    calendars: Mapping[str, Calendar] | None = None,
    default_calendar: str = "standard",
    encoding: str | None = None,
) -> Schedule:
    """Read a CSV schedule (see the module docstring and ``docs/schedule-formats.md``).

    Let's imagine a planner typed three rows in a spreadsheet::

        id,name,duration_days,predecessors,trade
        A,Excavate,3,,earthworks
        B,Footings,5,A,concrete
        C,Walls,4,B SS+2d,masonry

    ``read_csv`` gives activities A, B, C with 24, 40 and 32 working hours, links A->B FS and
    B->C SS with a 16 h lag, and ``attributes['trade']`` on each.

    Parameters
    ----------
    path
        The CSV file.
    start
        Project start. When None: the earliest ``start`` cell, else the first working minute of
        next Monday (a warning says so).
    calendars
        Calendars the ``calendar`` column may name besides the built-in ones (keyed by id).
    default_calendar
        Calendar of rows with an empty ``calendar`` cell.
    encoding
        Force a text encoding (decoding errors are then fatal).

    Returns
    -------
    Schedule
        Activities in file order; ``warnings`` lists everything the reader changed or guessed.

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    ScheduleError
        Missing column, bad number or date, duplicated or empty id, unknown predecessor or calendar,
        bad predecessor token, undecodable bytes: the message names the file and line.
    ScheduleCycleError
        The predecessors form a loop.
    """
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(p, "schedule file")
    text, warnings = _decode(p.read_bytes(), p, encoding)
    rows, columns = _read_rows(text, p)
    cals = _calendar_table(calendars)
    if default_calendar.lower() not in cals and default_calendar not in cals:
        raise ScheduleError(f"{p}: unknown default calendar '{default_calendar}'")
    default_id = _resolve_calendar(default_calendar, cals)
    used: dict[str, Calendar] = {default_id: cals[default_id]}
    activities: dict[str, Activity] = {}
    links: list[tuple[int, str, str]] = []  # (line, successor id, predecessors cell)
    for line, row in rows:
        where = f"{p}, line {line}"
        act = _activity(row, columns, where, cals, used, default_id)
        if act.id in activities:
            raise ScheduleError(f"{where}: duplicated id '{act.id}'")
        activities[act.id] = act
        if row.get("predecessors", "").strip():
            links.append((line, act.id, row["predecessors"]))
    rels = _relationships(links, activities, used, default_id, p)
    rels, dup_warnings = check_logic(activities, rels, used, default_id, source=str(p))
    warnings += dup_warnings
    project_start = _project_start(start, activities, used[default_id], warnings, p)
    return Schedule(activities=activities, relationships=rels, calendars=used,
                    default_calendar=default_id, start=project_start, name=p.stem, source=str(p),
                    warnings=tuple(warnings))


def _read_rows(text: str, p: Path) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ScheduleError(f"{p}: the file is empty (expected a header line with "
                            f"{', '.join(REQUIRED_COLUMNS)})") from None
    except csv.Error as exc:
        raise ScheduleError(f"{p}, line 1: {exc}") from None
    columns = [re.sub(r"\s+", "_", h.strip().lower()) for h in header]
    for i, c in enumerate(columns):
        if c and c in columns[:i]:
            raise ScheduleError(f"{p}, line 1: column '{header[i].strip()}' appears twice")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        hint = " (the separator must be a comma)" if len(header) == 1 and ";" in header[0] else ""
        raise ScheduleError(f"{p}, line 1: missing required column(s) {', '.join(missing)}{hint}; "
                            f"found {', '.join(h.strip() for h in header) or 'nothing'}")
    three = [c for c in ("optimistic", "most_likely", "pessimistic") if c in columns]
    if three and len(three) != 3:
        raise ScheduleError(f"{p}, line 1: optimistic, most_likely and pessimistic go together; "
                            f"found only {', '.join(three)}")
    rows: list[tuple[int, dict[str, str]]] = []
    line = reader.line_num
    try:
        for cells in reader:
            first = line + 1
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(columns):
                raise ScheduleError(f"{p}, line {first}: {len(cells)} cells but the header has "
                                    f"{len(columns)} columns (quote cells that contain commas)")
            rows.append((first, {c: v for c, v in zip(columns, cells) if c}))
    except csv.Error as exc:
        raise ScheduleError(f"{p}, line {reader.line_num}: {exc}") from None
    return rows, [c for c in columns if c]


def _calendar_table(extra: Mapping[str, Calendar] | None) -> dict[str, Calendar]:
    table = {name: builtin_calendar(name) for name in BUILTIN_CALENDARS}
    for cid, cal in (extra or {}).items():
        table[cid] = cal
    return table


def _resolve_calendar(name: str, cals: Mapping[str, Calendar]) -> str:
    if name in cals:
        return name
    return name.lower()


def _activity(row: dict[str, str], columns: list[str], where: str, cals: Mapping[str, Calendar],
              used: dict[str, Calendar], default_id: str) -> Activity:
    aid = row.get("id", "").strip()
    if not aid:
        raise ScheduleError(f"{where}: the id is empty")
    if ";" in aid:
        raise ScheduleError(f"{where}: id '{aid}' contains ';' (the predecessor separator)")
    where = f"{where} (activity '{aid}')"
    cal_name = row.get("calendar", "").strip()
    cal_id: str | None = None
    if cal_name:
        cal_id = _resolve_calendar(cal_name, cals)
        if cal_id not in cals:
            raise ScheduleError(f"{where}: unknown calendar '{cal_name}' (known: {', '.join(cals)})")
        used[cal_id] = cals[cal_id]
    hpd = cals[cal_id or default_id].hours_per_day
    atype = _activity_type(row.get("type", ""), bool(row.get("predecessors", "").strip()), where)
    dur_text = row.get("duration_days", "").strip()
    if not dur_text and (atype.is_milestone or atype is ActivityType.WBS_SUMMARY):
        dur_text = "0"
    if not dur_text:
        raise ScheduleError(f"{where}: duration_days is empty")
    duration_h = _number(dur_text, where=where, column="duration_days") * hpd
    if atype.is_milestone and duration_h:
        raise ScheduleError(f"{where}: a milestone must have duration_days 0, got '{dur_text}'")
    three = None
    if "optimistic" in columns:
        vals = [row.get(c, "").strip() for c in ("optimistic", "most_likely", "pessimistic")]
        if any(vals):
            if not all(vals):
                raise ScheduleError(f"{where}: give all of optimistic, most_likely, pessimistic or none")
            o, m, pe = (_number(v, where=where, column=c) * hpd
                        for v, c in zip(vals, ("optimistic", "most_likely", "pessimistic")))
            if not o <= m <= pe:
                raise ScheduleError(f"{where}: need optimistic <= most_likely <= pessimistic, got "
                                    f"{', '.join(vals)}")
            three = ThreePoint(o, m, pe)
    constraints: tuple[Constraint, ...] = ()
    if row.get("start", "").strip():
        constraints = (Constraint(ConstraintType.START_ON_OR_AFTER, _date(row["start"], what=f"{where}: start")),)
    progress = _progress(row, where, hpd)
    wbs = tuple(s.strip() for s in row.get("wbs", "").split(" / ") if s.strip())
    attributes = {c: _typed(v.strip()) for c, v in row.items() if c not in _KNOWN and v.strip()}
    return Activity(id=aid, name=row.get("name", "").strip(), duration_h=duration_h, type=atype,
                    calendar=cal_id, wbs=wbs, constraints=constraints, three_point=three,
                    attributes=attributes, **progress)


def _activity_type(text: str, has_preds: bool, where: str) -> ActivityType:
    key = re.sub(r"[\s-]+", "_", text.strip().lower())
    if key == "milestone":
        return ActivityType.FINISH_MILESTONE if has_preds else ActivityType.START_MILESTONE
    try:
        return _TYPE_ALIASES[key]
    except KeyError:
        raise ScheduleError(f"{where}: unknown type '{text}' (expected task, milestone, start_milestone,"
                            " finish_milestone, wbs_summary, level_of_effort, resource_dependent)") from None


def _progress(row: dict[str, str], where: str, hpd: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in ("actual_start", "actual_finish"):
        if row.get(col, "").strip():
            out[col] = _date(row[col], what=f"{where}: {col}")
    if out.get("actual_finish") and not out.get("actual_start"):
        raise ScheduleError(f"{where}: actual_finish without actual_start")
    if out.get("actual_finish") and out["actual_finish"] < out["actual_start"]:
        raise ScheduleError(f"{where}: actual_finish {out['actual_finish']} is before actual_start "
                            f"{out['actual_start']}")
    if row.get("percent_complete", "").strip():
        pc = _number(row["percent_complete"].strip().rstrip("%"), where=where, column="percent_complete")
        if pc > 100:
            raise ScheduleError(f"{where}: percent_complete must be 0..100, got '{row['percent_complete']}'")
        out["percent_complete"] = pc
    if row.get("remaining_days", "").strip():
        out["remaining_h"] = _number(row["remaining_days"], where=where, column="remaining_days") * hpd
    return out


def _relationships(links: list[tuple[int, str, str]], activities: Mapping[str, Activity],
                   cals: Mapping[str, Calendar], default_id: str, p: Path) -> list[Relationship]:
    rels: list[Relationship] = []
    for line, succ, cell in links:
        for token in cell.split(";"):
            if not token.strip():
                continue
            try:
                pred, rtype, value, unit = parse_predecessor(token, activities)
            except ValueError as exc:
                raise ScheduleError(f"{p}, line {line} (activity '{succ}'): {exc}") from None
            pred_cal = cals[activities[pred].calendar or default_id]
            lag_h = value * pred_cal.hours_per_day if unit == "d" else value
            rels.append(Relationship(pred=pred, succ=succ, type=rtype, lag_h=lag_h))
    return rels


def _project_start(start: datetime | date | str | None, activities: Mapping[str, Activity],
                   default: Calendar, warnings: list[str], p: Path) -> datetime:
    if isinstance(start, str):
        return parse_datetime(start, what="project start")
    if isinstance(start, datetime):
        return start
    if isinstance(start, date):
        return datetime(start.year, start.month, start.day)
    starts = [c.date for a in activities.values() for c in a.constraints if c.date is not None]
    if starts:
        return min(starts)
    first = next_monday(calendar=default)
    warnings.append(f"{p}: no start given and no activity has a start; project start set to next "
                    f"Monday {first:%Y-%m-%d %H:%M}")
    return first


# ---------------------------------------------------------------------------------------------- writer

def _fmt(x: float) -> str:
    """Shortest text for a float that reads back to within 1e-9 (``3`` not ``3.0``)."""
    r = round(x, 9)
    if r == int(r):
        return str(int(r))
    return repr(r)


def _fmt_dt(d: datetime) -> str:
    return d.strftime("%Y-%m-%d") if d.time() == datetime.min.time() else d.strftime("%Y-%m-%dT%H:%M")


def _fmt_lag(lag_h: float, hpd: float) -> str:
    if lag_h == 0:
        return ""
    days = lag_h / hpd
    sign = "+" if lag_h > 0 else "-"
    if abs(round(days, 3) - days) < 1e-9:
        return f"{sign}{_fmt(abs(days))}d"
    return f"{sign}{_fmt(abs(lag_h))}h"


def write_csv(schedule: Schedule, path: str | os.PathLike[str]) -> list[str]:
    """Write ``schedule`` in the CSV format :func:`read_csv` reads (UTF-8, comma-separated).

    Columns written: the four required ones, then ``calendar``, ``start``, ``type``, ``wbs``, the
    three-point and progress columns when any activity needs them, then every attribute key (in the
    order first seen). Lags are written in days of the predecessor's calendar when whole to 1/1000
    day, else in hours. The file is written to a temp file and renamed.

    Returns
    -------
    list of str
        What the CSV cannot hold (constraints other than start-no-earlier-than, calendars that
        are not built-in, summary-task links...): one line each; empty when the round trip is exact.

    Raises
    ------
    ScheduleError
        An id contains ``;`` or the folder does not exist.
    """
    lost: list[str] = []
    acts = list(schedule.activities.values())
    cal_of = {a.id: a.calendar or schedule.default_calendar for a in acts}

    def hpd(aid: str) -> float:
        cal = schedule.calendars.get(cal_of[aid])
        return cal.hours_per_day if cal else 8.0

    for cid in sorted(set(cal_of.values())):
        cal = schedule.calendars.get(cid)
        if cal is None or not is_builtin_calendar(cal):
            lost.append(f"calendar '{cid}' is not a built-in calendar: read the CSV back with "
                        f"read_csv(..., calendars={{'{cid}': ...}}) or export to MSPDI")
    preds: dict[str, list[str]] = {a.id: [] for a in acts}
    for r in schedule.relationships:
        if r.succ not in preds or r.pred not in preds:
            lost.append(f"relationship {r.pred} -> {r.succ} names an unknown activity")
            continue
        typ = "" if r.type is RelationType.FS and r.lag_h == 0 else f" {r.type.value}"
        preds[r.succ].append(f"{r.pred}{typ}{_fmt_lag(r.lag_h, hpd(r.pred))}")
    attr_keys: list[str] = []
    for a in acts:
        if ";" in a.id:
            raise ScheduleError(f"cannot write '{path}': activity id '{a.id}' contains ';'")
        if any(" / " in level or level != level.strip() for level in a.wbs):
            lost.append(f"activity '{a.id}': WBS level names with ' / ' or outer spaces do not read back: {a.wbs}")
        for k in a.attributes:
            col = re.sub(r"\s+", "_", str(k).strip().lower())
            if col in _KNOWN:
                lost.append(f"activity '{a.id}': attribute '{k}' clashes with a CSV column")
            elif k not in attr_keys:
                attr_keys.append(k)
    cols = list(REQUIRED_COLUMNS)
    own_default = schedule.default_calendar != "standard"
    if own_default or any(a.calendar for a in acts):
        cols.append("calendar")
    if any(a.constraints for a in acts):
        cols.append("start")
    if any(a.type is not ActivityType.TASK for a in acts):
        cols.append("type")
    if any(a.wbs for a in acts):
        cols.append("wbs")
    if any(a.three_point for a in acts):
        cols += ["optimistic", "most_likely", "pessimistic"]
    for col, attr in (("actual_start", "actual_start"), ("actual_finish", "actual_finish"),
                      ("percent_complete", "percent_complete"), ("remaining_days", "remaining_h")):
        if any(getattr(a, attr) not in (None, 0, 0.0) for a in acts) or (
                attr == "remaining_h" and any(a.remaining_h is not None for a in acts)):
            cols.append(col)
    buf = io.StringIO(newline="")
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(cols + attr_keys)
    for a in acts:
        h = hpd(a.id)
        row: dict[str, str] = {
            "id": a.id, "name": a.name, "duration_days": _fmt(a.duration_h / h),
            "predecessors": ";".join(preds[a.id]),
            "calendar": cal_of[a.id] if own_default else (a.calendar or ""),
            "type": a.type.value if a.type is not ActivityType.TASK else "",
            "wbs": " / ".join(a.wbs),
        }
        for c in a.constraints:
            if c.type is ConstraintType.START_ON_OR_AFTER and c.date is not None and "start" not in row:
                row["start"] = _fmt_dt(c.date)
            else:
                lost.append(f"activity '{a.id}': constraint {c.type.value} "
                            f"{c.date or ''} cannot be written to CSV")
        if a.three_point:
            tp = a.three_point
            row.update(optimistic=_fmt(tp.optimistic / h), most_likely=_fmt(tp.most_likely / h),
                       pessimistic=_fmt(tp.pessimistic / h))
        if a.actual_start:
            row["actual_start"] = _fmt_dt(a.actual_start)
        if a.actual_finish:
            row["actual_finish"] = _fmt_dt(a.actual_finish)
        if a.percent_complete:
            row["percent_complete"] = _fmt(a.percent_complete)
        if a.remaining_h is not None and "remaining_days" in cols:
            row["remaining_days"] = _fmt(a.remaining_h / h)
        cells = [row.get(c, "") for c in cols]
        for k in attr_keys:
            v = a.attributes.get(k)
            cells.append("" if v is None else v if isinstance(v, str)
                         else repr(v) if isinstance(v, float) else str(v) if isinstance(v, (int, bool))
                         else json.dumps(v, default=str))
        out.writerow(cells)
    atomic_write_text(path, buf.getvalue())
    return lost
