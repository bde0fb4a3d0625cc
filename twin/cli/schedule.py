"""``twin schedule``: read a schedule file, run the P6-rule CPM, print a summary or JSON, write a CSV."""
from __future__ import annotations

import csv
import math
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from twin.atomic import atomic_path
from twin.cli._common import app, console, handle_errors, print_json, progress_bar
from twin.errors import InputError

CSV_COLUMNS = ("id", "name", "early_start", "early_finish", "late_start", "late_finish",
               "total_float_h", "free_float_h", "critical")


def _parse_when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"--data-date: expected an ISO date or date-time like 2017-09-16 or "
                         f"2017-09-16T08:00, got '{text}'") from None


def _iso(dt: datetime | None) -> str:
    return "" if dt is None else dt.isoformat(timespec="minutes")


def _hours(x: float) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:g}"


def write_cpm_csv(path: Path, schedule, result) -> None:
    """One row per activity (schedule order), written to a temporary file then renamed into place."""
    path = Path(path)
    with atomic_path(path, suffix=".csv") as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for aid, d in result.dates.items():
            w.writerow([aid, schedule.activities[aid].name, _iso(d.early_start), _iso(d.early_finish),
                        _iso(d.late_start), _iso(d.late_finish), _hours(d.total_float_h),
                        _hours(d.free_float_h), "true" if d.critical else "false"])


def reference_check(schedule, result) -> dict[str, Any] | None:
    """How many activities' dates equal the dates the source tool (P6) stored in the file."""
    keys = ("early_start", "early_finish", "late_start", "late_finish")
    compared = dates_equal = tf_compared = tf_equal = 0
    for aid, act in schedule.activities.items():
        ref = act.reference
        if not ref or any(ref.get(k) is None for k in keys):
            continue
        d = result.dates[aid]
        compared += 1
        dates_equal += all(ref[k] == getattr(d, k) for k in keys)
        tf = ref.get("total_float_h")
        if tf is not None and not math.isnan(d.total_float_h):
            tf_compared += 1
            tf_equal += math.isclose(tf, d.total_float_h, abs_tol=1e-6)
    if not compared:
        return None
    return {"compared": compared, "dates_equal": dates_equal, "total_float_compared": tf_compared,
            "total_float_equal": tf_equal}


@app.command("schedule")
@handle_errors
def schedule_command(
    file: Annotated[Path, typer.Argument(help="Schedule file: P6 XER or XML, MS Project XML, CSV, IFC.")],
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write one CSV row per activity here.")] = None,
    data_date: Annotated[Optional[str], typer.Option("--data-date", help="Progress date (ISO); default: the file's.")] = None,
    project: Annotated[Optional[str], typer.Option("--project", help="XER: project short name or id.")] = None,
) -> None:
    """Compute early/late dates, floats and the critical path with P6's rules."""
    from twin.cpm import compute_cpm
    from twin.importers import detect_format, read_schedule

    when = _parse_when(data_date)
    options = {"project": project} if project else {}
    if project and detect_format(file) not in ("xer", "p6xml"):
        raise InputError(f"--project applies to P6 files only; '{file}' is not one")
    with progress_bar() as bar:
        task = bar.add_task(f"reading {file.name}", total=2)
        schedule = read_schedule(file, **options)
        bar.update(task, advance=1, description="critical path")
        result = compute_cpm(schedule, data_date=when)
        bar.update(task, advance=1)
    if out is not None:
        write_cpm_csv(out, schedule, result)
    summary = {
        "file": str(file),
        "name": schedule.name,
        "activities": len(schedule.activities),
        "relationships": len(schedule.relationships),
        "calendars": len(schedule.calendars),
        "data_date": result.data_date,
        "start": result.start,
        "finish": result.finish,
        "critical_path": list(result.critical_path),
        "critical": len(result.critical),
        "near_critical": list(result.near_critical),
        "warnings": list(result.warnings),
        "reference_check": reference_check(schedule, result),
        "out": str(out) if out else None,
    }
    if json_out:
        print_json(summary)
        return
    _print_summary(summary)


def _print_summary(s: dict[str, Any]) -> None:
    from rich.table import Table

    t = Table(title=f"{Path(s['file']).name}  {s['name']}", show_header=False, box=None)
    for key in ("activities", "relationships", "calendars"):
        t.add_row(key, f"{s[key]:,}")
    for key in ("data_date", "start", "finish"):
        t.add_row(key.replace("_", " "), _iso(s[key]))
    t.add_row("critical activities", f"{s['critical']:,}")
    t.add_row("near-critical", f"{len(s['near_critical']):,}")
    ref = s["reference_check"]
    if ref:
        t.add_row("dates equal to those in the file", f"{ref['dates_equal']:,} of {ref['compared']:,}")
        t.add_row("total float equal", f"{ref['total_float_equal']:,} of {ref['total_float_compared']:,}")
    console.print(t)
    path = s["critical_path"]
    shown = " -> ".join(path[:12]) + (f" -> ... ({len(path)} activities)" if len(path) > 12 else "")
    console.print(f"[bold]longest path[/]: {shown}", highlight=False)
    if s["warnings"]:
        console.print(f"[yellow]{len(s['warnings'])} warnings[/] (first ones):", highlight=False)
        for w in s["warnings"][:8]:
            console.print(f"  {w}", highlight=False, markup=False)
    if s["out"]:
        console.print(f"wrote {s['out']}", highlight=False)
