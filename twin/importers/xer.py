"""Primavera P6 XER reader: projects, calendars, activities, logic, constraints, progress, resources.

XER is a tab-separated text export: ``ERMHDR`` header line, then per table ``%T name``, ``%F``
field names and ``%R`` rows, ending with ``%E``. We parse it ourselves rather than through the
installed ``xerparser`` package because the format is this simple (one pass; 0.15 s of CPU for the
HS2 file where ``xerparser`` takes 0.55 s, see BENCHMARKS.md), because we need P6's raw computed columns (early/late dates, floats, remaining dates) kept
verbatim for validation, and because we must report corrupt values (dates in year 4637, unknown
calendars, links to unknown activities) as counted warnings naming the activity instead of failing or
dropping them silently.

Public functions
----------------
``read_xer(path, project=None) -> Schedule``
    One project: the only one, the one whose ``proj_short_name`` or ``proj_id`` is ``project``, or,
    when the file holds several and ``project`` is None, all of them merged into one schedule (links
    between projects kept; activity ids that clash are prefixed ``<proj_short_name>:``).
``read_xer_projects(path) -> list[Schedule]``
    One schedule per project, in file order; links to activities of other projects are reported as
    warnings (P6 treats them as external dates).

Conventions: durations and lags are P6's hour counts (``*_hr_cnt``); the activity id is P6's
``task_code`` (the Activity ID the planner sees), ``uid`` is ``task_id``. P6's computed dates go into
``Activity.reference`` under ``early_start``, ``early_finish``, ``late_start``, ``late_finish``,
``total_float_h``, ``free_float_h``, ``remaining_early_start`` (``restart_date``), ``remaining_early_finish``
(``reend_date``), ``remaining_late_start``, ``remaining_late_finish``, ``expected_finish``, ``status``,
``external_early_start``, ``external_late_finish``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from twin.errors import MissingFileError, ScheduleError
from twin.schedule import (
    Activity,
    ActivityType,
    Assignment,
    Calendar,
    Constraint,
    ConstraintType,
    Relationship,
    RelationType,
    Resource,
    Schedule,
    ScheduleOptions,
    STANDARD_WEEK,
)

__all__ = ["read_xer", "read_xer_projects", "read_xer_tables", "parse_calendar_data", "XerTables"]

TASK_TYPES = {
    "TT_Task": ActivityType.TASK,
    "TT_Rsrc": ActivityType.RESOURCE_DEPENDENT,
    "TT_Mile": ActivityType.START_MILESTONE,
    "TT_FinMile": ActivityType.FINISH_MILESTONE,
    "TT_LOE": ActivityType.LEVEL_OF_EFFORT,
    "TT_WBS": ActivityType.WBS_SUMMARY,
}
CONSTRAINT_TYPES = {
    "CS_MSO": ConstraintType.START_ON,
    "CS_MSOA": ConstraintType.START_ON_OR_AFTER,
    "CS_MSOB": ConstraintType.START_ON_OR_BEFORE,
    "CS_MEO": ConstraintType.FINISH_ON,
    "CS_MEOA": ConstraintType.FINISH_ON_OR_AFTER,
    "CS_MEOB": ConstraintType.FINISH_ON_OR_BEFORE,
    "CS_MANDSTART": ConstraintType.MANDATORY_START,
    "CS_MANDFIN": ConstraintType.MANDATORY_FINISH,
    "CS_ALAP": ConstraintType.AS_LATE_AS_POSSIBLE,
}
LINK_TYPES = {"PR_FS": RelationType.FS, "PR_SS": RelationType.SS, "PR_FF": RelationType.FF,
              "PR_SF": RelationType.SF}
LAG_CALENDARS = {"rcal_Predecessor": "predecessor", "rcal_Successor": "successor",
                 "rcal_24Hour": "24h", "rcal_ProjDefault": "project"}
FLOAT_TYPES = {"FT_FF": "finish", "FT_SF": "start", "FT_SMALL": "smallest"}
RESOURCE_KINDS = {"RT_Labor": "labor", "RT_Equip": "equipment", "RT_Mat": "material"}
_EXCEL_EPOCH = date(1899, 12, 30)
_MIN_YEAR, _MAX_YEAR = 1900, 2200


@dataclass(frozen=True, slots=True)
class XerTables:
    """Raw tables of an XER file: ``tables[name]`` is a list of rows (dict field -> text)."""

    path: str
    encoding: str
    header: tuple[str, ...]
    tables: dict[str, list[dict[str, str]]]
    lines: dict[str, int]  # table name -> line number of its %T line (1-based)


# -- low-level reading -------------------------------------------------------------------------------
def _decode(path: Path) -> tuple[str, str]:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise ScheduleError(
            f"{path}: byte 0x{data[exc.start]:02x} at offset {exc.start} is neither UTF-8 nor "
            f"Windows-1252 text; is this an XER file?") from None


def read_xer_tables(path: str | Path) -> XerTables:
    """Read the tables of an XER file (no interpretation).

    Raises
    ------
    MissingFileError
        If ``path`` does not exist.
    ScheduleError
        If the file is not an XER (no ``ERMHDR`` line), has undecodable bytes, or rows before fields.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, "XER file")
    text, encoding = _decode(path)
    lines = text.split("\n")
    if not lines or not lines[0].startswith("ERMHDR"):
        raise ScheduleError(f"{path}: line 1 does not start with ERMHDR; not a Primavera P6 XER file")
    header = tuple(lines[0].rstrip("\r").split("\t"))
    tables: dict[str, list[dict[str, str]]] = {}
    where: dict[str, int] = {}
    rows: list[dict[str, str]] | None = None
    fields: list[str] | None = None
    name = ""
    for no, line in enumerate(lines[1:], start=2):
        line = line.rstrip("\r")
        if line.startswith("%R\t"):
            if fields is None or rows is None:
                raise ScheduleError(f"{path}, line {no}: row before any %T/%F table header")
            values = line.split("\t")[1:]
            rows.append(dict(zip(fields, values)))
        elif line.startswith("%T\t"):
            name = line.split("\t", 1)[1].strip()
            rows = tables.setdefault(name, [])
            where.setdefault(name, no)
            fields = None
        elif line.startswith("%F\t"):
            if rows is None:
                raise ScheduleError(f"{path}, line {no}: %F fields before any %T table")
            fields = [f.strip() for f in line.split("\t")[1:]]
        elif line.startswith("%E") or not line.strip():
            continue
    return XerTables(str(path), encoding, header, tables, where)


_DATE_CACHE: dict[str, datetime | None] = {}


def _parse_date(text: str) -> datetime | None:
    """'YYYY-MM-DD HH:MM' (or 'YYYY-MM-DD') -> datetime; None if malformed. Cached: XER repeats dates."""
    try:
        return _DATE_CACHE[text]
    except KeyError:
        pass
    t = text.strip()
    try:
        if len(t) >= 16 and t[4] == "-" and t[7] == "-" and t[13] == ":":
            value = datetime(int(t[0:4]), int(t[5:7]), int(t[8:10]), int(t[11:13]), int(t[14:16]))
        else:
            value = datetime.strptime(t[:10], "%Y-%m-%d")
    except ValueError:
        value = None
    if len(_DATE_CACHE) < 200_000:
        _DATE_CACHE[text] = value
    return value


def _date(text: str, what: str, warnings: list[str]) -> datetime | None:
    """Parse 'YYYY-MM-DD HH:MM'; out-of-range or malformed dates become a warning and None."""
    if not text:
        return None
    value = _parse_date(text)
    if value is None:
        warnings.append(f"{what}: unreadable date '{text}' ignored")
        return None
    if not (_MIN_YEAR <= value.year <= _MAX_YEAR):
        warnings.append(f"{what}: corrupt date {text} (outside {_MIN_YEAR}-{_MAX_YEAR}) ignored")
        return None
    return value


def _num(text: str | None, default: float = 0.0) -> float:
    if text is None or text == "":
        return default
    try:
        return float(text)
    except ValueError:
        return default


# -- calendars ---------------------------------------------------------------------------------------
_NODE = re.compile(r"\(0\|\|([^()]*)\(([^()]*)\)")


def _hhmm(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def _intervals(body: str) -> tuple[tuple[int, int], ...]:
    out = []
    for m in re.finditer(r"s\|(\d{1,2}:\d\d)\|f\|(\d{1,2}:\d\d)", body):
        s, f = _hhmm(m.group(1)), _hhmm(m.group(2))
        if f <= s:
            f += 1440 if f == 0 else 0  # P6 writes midnight ends as 00:00
        if f > s:
            out.append((s, min(f, 1440)))
    for m in re.finditer(r"f\|(\d{1,2}:\d\d)\|s\|(\d{1,2}:\d\d)", body):  # some exports swap the order
        s, f = _hhmm(m.group(2)), _hhmm(m.group(1))
        f = 1440 if f == 0 else f
        if f > s:
            out.append((s, f))
    return tuple(sorted(out))


def _split_section(data: str, name: str) -> str:
    """The text of the ``(0||Name()( ... ))`` section of clndr_data, '' if absent."""
    i = data.find(f"||{name}(")
    if i < 0:
        return ""
    j = data.find("(", data.find(")", i) + 1)
    depth, k = 0, j
    while k < len(data):
        c = data[k]
        depth += (c == "(") - (c == ")")
        if depth == 0:
            return data[j + 1:k]
        k += 1
    return data[j + 1:]


def _top_nodes(section: str) -> list[tuple[str, str]]:
    """Split a section into its direct children: (head like '0(d|41462)', body)."""
    out, depth, start = [], 0, None
    for k, c in enumerate(section):
        if c == "(":
            if depth == 0:
                start = k
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0 and start is not None:
                node = section[start + 1:k]
                m = re.match(r"0\|\|([^()]*\([^()]*\))", node)
                head = m.group(1) if m else ""
                out.append((head, node[m.end():] if m else node))
    return out


def parse_calendar_data(data: str, calendar_id: str = "?") -> tuple[tuple[tuple[int, int], ...] | None,
                                                                     dict[date, tuple[tuple[int, int], ...]]]:
    """Parse P6's ``clndr_data`` text into a Monday-first week and dated exceptions.

    P6 numbers days of the week 1 = Sunday .. 7 = Saturday; exception dates are day serials from
    1899-12-30 (``d|41462`` is 2013-07-07). Returns ``(week, exceptions)``; ``week`` is None when the
    text has no ``DaysOfWeek`` section.
    """
    week_text = _split_section(data, "DaysOfWeek")
    week: list[tuple[tuple[int, int], ...]] | None = None
    if week_text:
        week = [()] * 7
        for head, body in _top_nodes(week_text):
            m = re.match(r"(\d)\(", head)
            if not m:
                continue
            p6_day = int(m.group(1))
            if 1 <= p6_day <= 7:
                week[(p6_day - 2) % 7] = _intervals(body)
    exceptions: dict[date, tuple[tuple[int, int], ...]] = {}
    for head, body in _top_nodes(_split_section(data, "Exceptions")):
        m = re.search(r"d\|(\d+)", head)
        if m:
            exceptions[_EXCEL_EPOCH + timedelta(days=int(m.group(1)))] = _intervals(body)
    return (tuple(week) if week is not None else None), exceptions


def _calendars(tables: XerTables, warnings: list[str]) -> dict[str, Calendar]:
    out: dict[str, Calendar] = {}
    for row in tables.tables.get("CALENDAR", []):
        cid = row.get("clndr_id", "")
        hpd = _num(row.get("day_hr_cnt"), 8.0) or 8.0
        try:
            week, exc = parse_calendar_data(row.get("clndr_data", ""), cid)
        except (ValueError, IndexError) as exc_:
            warnings.append(f"calendar {cid} '{row.get('clndr_name', '')}': unreadable clndr_data ({exc_}); "
                            "using Mon-Fri 08:00-17:00")
            week, exc = None, {}
        if week is None:
            warnings.append(f"calendar {cid} '{row.get('clndr_name', '')}': no DaysOfWeek data; "
                            "using Mon-Fri 08:00-12:00, 13:00-17:00")
            week = STANDARD_WEEK
        exc = {d: iv for d, iv in exc.items() if _MIN_YEAR <= d.year <= _MAX_YEAR}
        out[cid] = Calendar(cid, name=row.get("clndr_name", ""), week=week, exceptions=exc, hours_per_day=hpd)
    return out


# -- projects ------------------------------------------------------------------------------------------
def _options(tables: XerTables, proj: dict[str, str]) -> ScheduleOptions:
    pid = proj.get("proj_id")
    so = next((r for r in tables.tables.get("SCHEDOPTIONS", []) if r.get("proj_id") == pid), {})
    if so.get("sched_progress_override") == "Y":
        progress = "progress_override"
    elif so.get("sched_retained_logic", "Y") == "Y":
        progress = "retained_logic"
    else:
        progress = "actual_dates"
    return ScheduleOptions(
        lag_calendar=LAG_CALENDARS.get(so.get("sched_calendar_on_relationship_lag", ""), "predecessor"),
        progress=progress,
        critical="longest_path" if proj.get("critical_path_type") == "CT_DrivPath" else "total_float",
        critical_float_h=_num(proj.get("critical_drtn_hr_cnt"), 0.0),
        total_float=FLOAT_TYPES.get(so.get("sched_float_type", ""), "finish"),
        open_ends_critical=so.get("sched_open_critical_flag") == "Y",
        use_expected_finish=so.get("sched_use_expect_end_flag") == "Y",
    )


def _wbs_paths(tables: XerTables) -> dict[str, tuple[str, ...]]:
    nodes = {r["wbs_id"]: r for r in tables.tables.get("PROJWBS", []) if "wbs_id" in r}
    cache: dict[str, tuple[str, ...]] = {}

    def path(wid: str, depth: int = 0) -> tuple[str, ...]:
        if wid in cache:
            return cache[wid]
        node = nodes.get(wid)
        if node is None or node.get("proj_node_flag") == "Y" or depth > 200:
            return ()
        result = (*path(node.get("parent_wbs_id", ""), depth + 1), node.get("wbs_short_name", wid))
        cache[wid] = result
        return result

    return {wid: path(wid) for wid in nodes}


_REF_DATES = {
    "early_start": "early_start_date", "early_finish": "early_end_date",
    "late_start": "late_start_date", "late_finish": "late_end_date",
    "remaining_early_start": "restart_date", "remaining_early_finish": "reend_date",
    "remaining_late_start": "rem_late_start_date", "remaining_late_finish": "rem_late_end_date",
    "expected_finish": "expect_end_date", "suspend": "suspend_date", "resume": "resume_date",
    "external_early_start": "external_early_start_date", "external_late_finish": "external_late_end_date",
}


def _activity(row: dict[str, str], aid: str, wbs: tuple[str, ...], cals: dict[str, Calendar],
              default_cal: str, warnings: list[str]) -> Activity:
    what = f"activity '{aid}'"
    cal = row.get("clndr_id") or None
    if cal is not None and cal not in cals:
        warnings.append(f"{what}: unknown calendar '{cal}'; using the project default '{default_cal}'")
        cal = None
    constraints = []
    for tkey, dkey in (("cstr_type", "cstr_date"), ("cstr_type2", "cstr_date2")):
        code = row.get(tkey, "")
        if not code:
            continue
        ctype = CONSTRAINT_TYPES.get(code)
        if ctype is None:
            warnings.append(f"{what}: unknown constraint type '{code}' ignored")
            continue
        cdate = _date(row.get(dkey, ""), f"{what} {dkey}", warnings)
        if cdate is None and ctype is not ConstraintType.AS_LATE_AS_POSSIBLE:
            warnings.append(f"{what}: constraint {code} without a date ignored")
            continue
        constraints.append(Constraint(ctype, cdate))
    ttype = TASK_TYPES.get(row.get("task_type", ""), None)
    if ttype is None:
        warnings.append(f"{what}: unknown task_type '{row.get('task_type')}'; read as a task")
        ttype = ActivityType.TASK
    status = row.get("status_code", "")
    ref: dict[str, Any] = {k: _date(row.get(v, ""), f"{what} {v}", warnings) for k, v in _REF_DATES.items()}
    ref["total_float_h"] = _num(row.get("total_float_hr_cnt"), float("nan")) if row.get("total_float_hr_cnt") else None
    ref["free_float_h"] = _num(row.get("free_float_hr_cnt"), float("nan")) if row.get("free_float_hr_cnt") else None
    ref["status"] = status
    ref["driving_path"] = row.get("driving_path_flag") == "Y"
    actual_start = _date(row.get("act_start_date", ""), f"{what} act_start_date", warnings)
    actual_finish = _date(row.get("act_end_date", ""), f"{what} act_end_date", warnings)
    if status == "TK_NotStart":
        actual_start = actual_finish = None
    elif status == "TK_Active":
        actual_finish = None
    duration = _num(row.get("target_drtn_hr_cnt"))
    remaining = _num(row.get("remain_drtn_hr_cnt"), duration)
    if row.get("complete_pct_type") == "CP_Phys" or not duration:
        pct = _num(row.get("phys_complete_pct"))
    else:
        pct = max(0.0, min(100.0, 100.0 * (duration - remaining) / duration))
    if status == "TK_Complete":
        pct, remaining = 100.0, 0.0
    return Activity(
        id=aid, name=row.get("task_name", ""), duration_h=duration, type=ttype, calendar=cal, wbs=wbs,
        uid=row.get("task_id"), constraints=tuple(constraints), actual_start=actual_start,
        actual_finish=actual_finish, percent_complete=pct, remaining_h=remaining,
        planned_start=_date(row.get("target_start_date", ""), f"{what} target_start_date", warnings),
        planned_finish=_date(row.get("target_end_date", ""), f"{what} target_end_date", warnings),
        expected_finish=ref["expected_finish"],
        reference=ref,
        attributes={"status": status, "duration_type": row.get("duration_type", ""),
                    "project": row.get("proj_id", "")},
    )


def _build(tables: XerTables, projects: list[dict[str, str]], warnings: list[str]) -> Schedule:
    """One Schedule from the given PROJECT rows (several: merged)."""
    cals = _calendars(tables, warnings)
    pids = {p.get("proj_id") for p in projects}
    short = {p.get("proj_id"): p.get("proj_short_name", p.get("proj_id")) for p in projects}
    proj = projects[0]
    default_cal = proj.get("clndr_id") or next(
        (r["clndr_id"] for r in tables.tables.get("CALENDAR", []) if r.get("default_flag") == "Y"), "")
    if default_cal not in cals:
        if default_cal:
            warnings.append(f"project {short[proj.get('proj_id')]}: unknown default calendar '{default_cal}'")
        default_cal = next(iter(cals), "standard")
        if default_cal not in cals:
            cals[default_cal] = Calendar(default_cal, name="standard (no calendar in file)")
            warnings.append("no CALENDAR table: using Mon-Fri 08:00-12:00, 13:00-17:00")
    wbs = _wbs_paths(tables)
    rows = [r for r in tables.tables.get("TASK", []) if r.get("proj_id") in pids]
    codes: dict[str, int] = {}
    for r in rows:
        codes[r.get("task_code", "")] = codes.get(r.get("task_code", ""), 0) + 1
    by_uid: dict[str, str] = {}
    activities: dict[str, Activity] = {}
    for r in rows:
        code = r.get("task_code", "") or r.get("task_id", "")
        aid = code
        if codes.get(code, 0) > 1 or aid in activities:
            aid = f"{short.get(r.get('proj_id'))}:{code}"
            if aid in activities:
                aid = f"{aid}#{r.get('task_id')}"
            warnings.append(f"activity id '{code}' occurs more than once; task_id {r.get('task_id')} read as '{aid}'")
        by_uid[r.get("task_id", "")] = aid
        activities[aid] = _activity(r, aid, wbs.get(r.get("wbs_id", ""), ()), cals, default_cal, warnings)
    all_tasks = {r.get("task_id") for r in tables.tables.get("TASK", [])}
    rels: list[Relationship] = []
    external = 0
    for no, r in enumerate(tables.tables.get("TASKPRED", []), start=1):
        if r.get("proj_id") not in pids and r.get("pred_proj_id") not in pids:
            continue
        p, s = by_uid.get(r.get("pred_task_id", "")), by_uid.get(r.get("task_id", ""))
        if p is None or s is None:
            missing = r.get("pred_task_id") if p is None else r.get("task_id")
            if missing in all_tasks:
                external += 1
            else:
                warnings.append(f"TASKPRED row {no} (task_pred_id {r.get('task_pred_id')}): links to unknown "
                                f"task_id {missing}; relationship ignored")
            continue
        ltype = LINK_TYPES.get(r.get("pred_type", ""))
        if ltype is None:
            warnings.append(f"TASKPRED row {no}: unknown pred_type '{r.get('pred_type')}' between '{p}' and "
                            f"'{s}'; read as FS")
            ltype = RelationType.FS
        rels.append(Relationship(p, s, ltype, _num(r.get("lag_hr_cnt"))))
    if external:
        warnings.append(f"{external} relationships link to activities of other projects in the file; "
                        "ignored (read the file without choosing a project to keep them)")
    resources = {}
    rsrc_ids: dict[str, str] = {}
    for r in tables.tables.get("RSRC", []):
        rid = r.get("rsrc_short_name") or r.get("rsrc_id", "")
        rsrc_ids[r.get("rsrc_id", "")] = rid
        resources[rid] = Resource(rid, name=r.get("rsrc_name", ""),
                                  kind=RESOURCE_KINDS.get(r.get("rsrc_type", ""), "labor"),
                                  units=_num(r.get("max_qty_per_hr"), 0.0) or 1.0,
                                  calendar=r.get("clndr_id") or None,
                                  attributes={"uid": r.get("rsrc_id", "")})
    assignments = []
    for no, r in enumerate(tables.tables.get("TASKRSRC", []), start=1):
        if r.get("proj_id") not in pids:
            continue
        act, res = by_uid.get(r.get("task_id", "")), rsrc_ids.get(r.get("rsrc_id", ""))
        if act is None or res is None:
            warnings.append(f"TASKRSRC row {no}: unknown task_id {r.get('task_id')} or rsrc_id "
                            f"{r.get('rsrc_id')}; assignment ignored")
            continue
        assignments.append(Assignment(act, res, units=_num(r.get("target_qty_per_hr"), 1.0),
                                      hours=_num(r.get("target_qty"), 0.0)))
    where = f"project {short[proj.get('proj_id')]}"
    return Schedule(
        activities=activities, relationships=tuple(rels), calendars=cals, default_calendar=default_cal,
        start=_date(proj.get("plan_start_date", ""), f"{where} plan_start_date", warnings),
        data_date=_date(proj.get("last_recalc_date", ""), f"{where} last_recalc_date", warnings),
        finish_constraint=_date(proj.get("plan_end_date", ""), f"{where} plan_end_date", warnings),
        options=_options(tables, proj), resources=resources, assignments=tuple(assignments),
        name=", ".join(p.get("proj_short_name", "") for p in projects), source=tables.path,
        warnings=tuple(warnings),
    )


def _projects(tables: XerTables) -> list[dict[str, str]]:
    projects = [p for p in tables.tables.get("PROJECT", []) if p.get("export_flag", "Y") != "N"]
    if not projects:
        projects = tables.tables.get("PROJECT", [])
    if not projects:
        raise ScheduleError(f"{tables.path}: no PROJECT table; not a P6 project export")
    return projects


def read_xer_projects(path: str | Path) -> list[Schedule]:
    """Read every project of an XER file, one :class:`Schedule` each, in file order."""
    tables = read_xer_tables(path)
    return [_build(tables, [p], []) for p in _projects(tables)]


def read_xer(path: str | Path, project: str | None = None) -> Schedule:
    """Read a P6 XER file into a :class:`Schedule`.

    Parameters
    ----------
    path : str or Path
        The ``.xer`` file (UTF-8 or Windows-1252).
    project : str, optional
        ``proj_short_name`` or ``proj_id`` of the project to read. None: the only project, or all
        projects merged when there are several.

    Returns
    -------
    Schedule
        Activities keyed by P6 Activity ID, relationships, calendars, options from SCHEDOPTIONS,
        data date (``last_recalc_date``), resources, assignments and counted ``warnings``.

    Raises
    ------
    MissingFileError, ScheduleError
        Missing file, not an XER, undecodable bytes, or an unknown ``project``.

    Examples
    --------
    >>> s = read_xer("HS2_SP10_cost_loaded.xer")            # doctest: +SKIP
    >>> len(s.activities), s.data_date                        # doctest: +SKIP
    (3994, datetime.datetime(2017, 9, 16, 0, 0))
    """
    tables = read_xer_tables(path)
    projects = _projects(tables)
    if project is not None:
        chosen = [p for p in projects if project in (p.get("proj_short_name"), p.get("proj_id"))]
        if not chosen:
            names = ", ".join(p.get("proj_short_name", "?") for p in projects)
            raise ScheduleError(f"{tables.path}: no project '{project}' (projects in file: {names})")
        projects = chosen
    return _build(tables, projects, [])
