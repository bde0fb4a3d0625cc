"""``twin convert``: read a schedule in any supported format and write it as MS Project XML or CSV."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from twin.cli._common import app, console, err_console, handle_errors, print_json, progress_bar
from twin.errors import InputError


@app.command("convert")
@handle_errors
def convert_command(
    source: Annotated[Path, typer.Argument(help="Schedule to read: P6 XER or XML, MS Project XML, CSV, IFC.")],
    target: Annotated[Path, typer.Argument(help="File to write: .xml (MS Project XML) or .csv.")],
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    to: Annotated[Optional[str], typer.Option("--to", help="Output format when the extension does not say: mspdi or csv.")] = None,
    start: Annotated[Optional[str], typer.Option("--start", help="CSV input: project start (ISO date or date-time).")] = None,
    project: Annotated[Optional[str], typer.Option("--project", help="P6 XER/XML input: project id or short name.")] = None,
    work_schedule: Annotated[Optional[str], typer.Option("--schedule", help="IFC input: work schedule name or GlobalId.")] = None,
) -> None:
    """Convert a schedule: P6 or MS Project or IFC or CSV in, MS Project XML or CSV out.

    Everything the reader converted or skipped is listed as a warning, and everything the output
    format cannot hold as 'not written'; the output file is written whole or not at all.
    """
    from twin.importers import detect_format, read_schedule, write_schedule

    fmt = detect_format(source)
    options: dict[str, Any] = {}
    for name, value, formats in (("start", start, ("csv",)), ("project", project, ("xer", "p6xml")),
                                 ("schedule", work_schedule, ("ifc",))):
        if value is None:
            continue
        if fmt not in formats:
            flag = "--schedule" if name == "schedule" else f"--{name}"
            raise InputError(f"{flag} does not apply to '{source}' ({fmt}); it is for {', '.join(formats)} input")
        options[name] = value
    if to is not None and to.lower() not in ("mspdi", "csv"):
        raise InputError(f"--to: expected mspdi or csv, got '{to}'")
    with progress_bar() as bar:
        task = bar.add_task(f"reading {source.name}", total=2)
        schedule = read_schedule(source, **options)
        bar.update(task, advance=1, description=f"writing {target.name}")
        not_written = write_schedule(schedule, target, format=to)
        bar.update(task, advance=1)
    summary = {
        "source": str(source), "source_format": fmt, "target": str(target),
        "target_format": (to or {".xml": "mspdi", ".csv": "csv"}[target.suffix.lower()]).lower(),
        "activities": len(schedule.activities), "relationships": len(schedule.relationships),
        "calendars": len(schedule.calendars), "element_links": len(schedule.element_links),
        "warnings": list(schedule.warnings), "not_written": not_written,
    }
    if json_out:
        print_json(summary)
        return
    console.print(f"{source} ({fmt}) -> {target} ({summary['target_format']}): {summary['activities']:,} activities, "
                  f"{summary['relationships']:,} relationships, {summary['calendars']} calendars", highlight=False)
    for w in schedule.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
    for line in not_written:
        err_console.print(f"[yellow]not written:[/] {line}", highlight=False)
