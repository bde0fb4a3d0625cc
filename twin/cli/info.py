"""``twin info MODEL...``: what is in one IFC file or a federated set (schema, units, storeys, counts).

Loads through the cache (a second ``twin info`` on the same file is instant), shows a progress bar
on stderr while tessellating, prints a table or ``--json``. Per-element geometry failures are
warnings naming each GlobalId (exit status 0); unreadable files are errors (exit status 1).
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from twin.cli._common import app, console, err_console, handle_errors, print_json, progress_bar

_MAX_LISTED_FAILURES = 20


def _fmt_box(box: list[list[float]] | None) -> str:
    if box is None:
        return "-"
    lo, hi = box
    size = [h - l for l, h in zip(lo, hi)]
    return (
        f"({lo[0]:.2f}, {lo[1]:.2f}, {lo[2]:.2f}) .. ({hi[0]:.2f}, {hi[1]:.2f}, {hi[2]:.2f}) m"
        f"  [{size[0]:.2f} x {size[1]:.2f} x {size[2]:.2f} m]"
    )


def _print_table(summary: dict[str, Any]) -> None:
    files = summary["files"]
    for f in files:
        table = Table(title=f["path"], show_header=False, title_justify="left")
        table.add_column("key", style="bold")
        table.add_column("value")
        table.add_row("schema", f["schema"])
        table.add_row("project", f["project"] or "-")
        units = f["units"]
        table.add_row("length unit", f"{units['length']} (x {units['length_scale_to_m']:g} to metres)")
        levels = [
            f"{lv['name']} ({lv['elevation']:+.2f} m)" if lv["elevation"] is not None else lv["name"]
            for lv in f["storey_levels"]
        ]
        table.add_row("storeys", ", ".join(levels) or "-")
        table.add_row("elements", str(f["elements"]))
        if f["with_geometry"] is not None:
            table.add_row("with geometry", str(f["with_geometry"]))
            table.add_row("without geometry", str(f["without_geometry"]))
        table.add_row("bounding box", _fmt_box(f["bbox"]))
        console.print(table)
    classes = Table(title="elements by class" + (" (all files)" if len(files) > 1 else ""), title_justify="left")
    classes.add_column("IFC class")
    classes.add_column("count", justify="right")
    for name, count in summary["by_class"].items():
        classes.add_row(name, str(count))
    console.print(classes)
    if len(files) > 1:
        console.print(
            f"[bold]total[/]: {summary['elements']} elements in {len(files)} files, "
            f"{summary['with_geometry'] if summary['with_geometry'] is not None else '-'} with geometry; "
            f"bounding box {_fmt_box(summary['bbox'])}"
        )


def _warn(summary: dict[str, Any]) -> None:
    failures = summary["geometry_failures"]
    if failures:
        err_console.print(
            f"[yellow]warning:[/] {len(failures)} element(s) have a Body representation but no geometry:",
            highlight=False,
        )
        for f in failures[:_MAX_LISTED_FAILURES]:
            err_console.print(f"  {f['file']}: element {f['global_id']}: {f['message']}", highlight=False, markup=False)
        if len(failures) > _MAX_LISTED_FAILURES:
            err_console.print(f"  ... and {len(failures) - _MAX_LISTED_FAILURES} more (see --json)")
    for message in summary["warnings"]:
        err_console.print(f"[yellow]warning:[/] {message}", highlight=False)


@app.command("info")
@handle_errors
def info_command(
    models: Annotated[list[Path], typer.Argument(help="IFC file(s); several files form a federated model.")],
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")] = False,
    geometry: Annotated[
        bool, typer.Option("--geometry/--no-geometry", help="Tessellate to count geometry and get the box.")
    ] = True,
    cache_dir: Annotated[
        Optional[Path], typer.Option("--cache-dir", help="Cache directory (default $TWIN_CACHE_DIR or ~/.cache/twin).")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.")] = False,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Parallel tessellation workers (default: all cores).")] = None,
) -> None:
    """Schema, units, storeys, element counts by class, geometry coverage and bounding box of IFC models."""
    from twin.ifc import load_model
    from twin.ifc.summary import summarize_model

    with progress_bar() as bar:
        task = bar.add_task("tessellating", total=None)

        def on_progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        model = load_model(
            [str(p) for p in models],
            geometry=geometry,
            cache_dir=cache_dir,
            use_cache=not no_cache,
            workers=workers,
            progress=on_progress,
        )
    summary = summarize_model(model, geometry=geometry)
    if json_out:
        print_json(summary)
    else:
        _print_table(summary)
    _warn(summary)
