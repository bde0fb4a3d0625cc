"""``twin progress`` (record actuals, status, re-forecast) and ``twin report`` (the weekly progress report).

The commands read inputs, call :mod:`twin.store.updates` and :mod:`twin.report`, and print.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from twin.cli._common import app, console, err_console, handle_errors, print_json, progress_bar
from twin.errors import InputError

_DB = typer.Option("--db", help="Database URL (default: the scenario's progress.db, else SQLite beside it).")
_JSON = typer.Option("--json", help="Machine-readable output on stdout.")
_TOL = typer.Option("--tolerance", help="Yellow band: % of planned duration behind "
                                        "(default: the scenario's progress.tolerance, else 5).")
_PRIOR = typer.Option("--prior-strength", help="Shrinkage k, finished-activity equivalents "
                                               "(default: the scenario's progress.prior_strength, else 2).")
_RUNS = typer.Option("--runs", "-n", help="Monte Carlo runs (default: the scenario's, else 500).")
_ACTUALS = typer.Option("--actuals", "-a", help="Progress CSV, or a P6/MS Project file with actuals.")
_AS_OF = typer.Option("--as-of", help="Data date: 2027-03-12 (end of that day) or 2027-03-12T17:00.")


def _store(scenario: Path, db: str | None, project=None):
    """--db, else the scenario's [progress] db, else SQLite beside the scenario."""
    from twin.store import default_url, open_store

    return open_store(db or (project.settings.get("db") if project is not None else None) or default_url(scenario))


def _date(text: str | None, option: str):
    if text is None:
        return None
    from twin.progress import parse_data_date

    try:
        return parse_data_date(text)
    except InputError:
        raise InputError(f"{option}: expected a date like 2027-03-12 or 2027-03-12T17:00, got '{text}'") from None


_LIGHT = {"green": "[green]green[/]", "yellow": "[yellow]yellow[/]", "red": "[red]red[/]"}


def _print(out: dict[str, Any]) -> None:
    from rich.table import Table

    fc, prev = out["forecast"], out["previous_forecast"]
    head = "already imported (nothing changed)" if out["already_imported"] else f"{out['accepted']} rows recorded"
    from twin.progress import show_data_date

    console.print(f"[bold]{out['source']}[/]: {head}, data date {show_data_date(out['data_date'])} -> {out['db']}")
    p = out["project"]
    spi = "n/a" if out["spi"] is None else f"{out['spi']:.2f}"
    console.print(f"project: planned {p['planned_percent']:.1f} %, actual {p['actual_percent']:.1f} %, "
                  f"SPI {spi}, {_LIGHT[p['light']]}  ({p['counts']['green']} green, {p['counts']['yellow']} yellow, "
                  f"{p['counts']['red']} red)")
    if fc is not None:
        plan = f"plan: CPM {fc['plan_finish']:%Y-%m-%d}" if fc["plan_finish"] else "plan: no baseline"
        if fc.get("plan_p50"):
            plan += f", simulated P50 {fc['plan_p50']:%Y-%m-%d}"
        line = f"forecast finish: P50 {fc['p50']:%Y-%m-%d}, P80 {fc['p80']:%Y-%m-%d} ({plan})"
        if prev is not None:
            ch = out["change_days"]
            line += f"; since {show_data_date(prev['data_date'])}: P50 {ch['p50']:+.1f} d, P80 {ch['p80']:+.1f} d"
        console.print(line)
    if out["slipping"]:
        t = Table(title="Slipping activities", show_lines=False)
        for col in ("id", "name", "light", "planned %", "actual %", "SV days", "finish slip days"):
            t.add_column(col, no_wrap=col != "name", max_width=40 if col == "name" else None,
                         overflow="ellipsis" if col == "name" else "fold")
        for s in out["slipping"]:
            t.add_row(s["id"], s["name"], _LIGHT[s["light"]], f"{s['planned_percent']:.0f}",
                      f"{s['actual_percent']:.0f}", f"{s['sv_days']:.1f}", f"{s['finish_slip_days']:.1f}")
        console.print(t)


@app.command("progress")
@handle_errors
def progress_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario .toml (or a schedule file).")],
    actuals: Annotated[Path, _ACTUALS],
    as_of: Annotated[str, _AS_OF],
    db: Annotated[Optional[str], _DB] = None,
    runs: Annotated[Optional[int], _RUNS] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed (default: the scenario's, else 1).")] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", help="Worker processes for the simulation.")] = 1,
    tolerance: Annotated[Optional[float], _TOL] = None,
    prior: Annotated[Optional[float], _PRIOR] = None,
    deterministic: Annotated[bool, typer.Option("--deterministic", help="Forecast the CPM only.")] = False,
    top: Annotated[int, typer.Option("--top", help="Slipping activities listed.")] = 10,
    json_out: Annotated[bool, _JSON] = False,
) -> None:
    """Record site progress at a data date, show status (traffic lights, SPI) and re-forecast the finish."""
    from twin.progress import ProgressRejectedError
    from twin.store.updates import load_project, record_progress, rejected_outcome

    when = _date(as_of, "--as-of")
    if runs is not None and runs < 1:
        raise InputError(f"--runs must be >= 1, got {runs}")
    if workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    if tolerance is not None and not 0 <= tolerance <= 100:
        raise InputError(f"--tolerance must be within 0..100 (% of planned duration), got {tolerance}")
    if prior is not None and prior < 0:
        raise InputError(f"--prior-strength must be >= 0, got {prior}")
    if not actuals.exists():
        raise InputError(f"actuals file not found: '{actuals}'")
    with progress_bar() as bar:
        task = bar.add_task("loading scenario", total=None)
        project = load_project(scenario, progress=lambda msg: bar.update(task, description=msg))
        tolerance = tolerance if tolerance is not None else float(project.settings.get("tolerance", 5.0))
        prior = prior if prior is not None else float(project.settings.get("prior_strength", 2.0))
        store = _store(scenario, db, project)
        n = 1 if deterministic else (runs or project.runs or 500)
        bar.update(task, description="forecasting", total=n, completed=0)
        try:
            outcome = record_progress(project, actuals, when, store, runs=runs, seed=seed, workers=workers,
                                      tolerance=tolerance / 100.0, deterministic=deterministic, prior_strength=prior,
                                      progress=lambda done: bar.update(task, completed=done))
        except ProgressRejectedError as exc:
            outcome = rejected_outcome(exc, str(actuals), store.url)
            if json_out:
                print_json(outcome.to_json(top))
            else:
                for r in exc.rejected:
                    err_console.print(f"line {r.row}: {r.reason}", highlight=False, markup=False)
            raise
        finally:
            store.close()
    out = outcome.to_json(top)
    if json_out:
        print_json(out)
    else:
        _print(out)


@app.command("report")
@handle_errors
def report_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario .toml (or a schedule file) with recorded progress.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML report to write.")] = Path("report.html"),
    db: Annotated[Optional[str], _DB] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Data date (default: the latest recorded).")] = None,
    pdf: Annotated[Optional[Path], typer.Option("--pdf", help="Also write a PDF (headless Chromium).")] = None,
    no_3d: Annotated[bool, typer.Option("--no-3d", help="Leave out the 3D snapshots.")] = False,
    tolerance: Annotated[Optional[float], _TOL] = None,
    top: Annotated[int, typer.Option("--top", help="Slipping activities listed.")] = 15,
    json_out: Annotated[bool, _JSON] = False,
) -> None:
    """Write the weekly progress report: status, S-curves, Gantt, slipping activities, forecast, 3D views."""
    from twin.progress import show_data_date
    from twin.report import build_report, write_pdf, write_report
    from twin.store.updates import load_project, twin_state

    if output.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"--output must end in .html, got '{output}'")
    if pdf is not None and pdf.suffix.lower() != ".pdf":
        raise InputError(f"--pdf must end in .pdf, got '{pdf}'")
    when = _date(as_of, "--as-of")
    with progress_bar() as bar:
        task = bar.add_task("loading scenario", total=None)
        project = load_project(scenario, geometry=not no_3d, progress=lambda msg: bar.update(task, description=msg))
        tolerance = tolerance if tolerance is not None else float(project.settings.get("tolerance", 5.0))
        if not 0 <= tolerance <= 100:
            raise InputError(f"--tolerance must be within 0..100 (% of planned duration), got {tolerance}")
        store = _store(scenario, db, project)
        try:
            state = twin_state(project, store, as_of=when, tolerance=tolerance / 100.0)
        finally:
            store.close()
        bar.update(task, description="drawing charts and views")
        report = build_report(state, top=top, views=not no_3d)
        written = write_report(report, output)
        pdf_written = None
        if pdf is not None:
            bar.update(task, description="printing PDF")
            pdf_written = write_pdf(written, pdf)
    out = {"output": str(written), "pdf": str(pdf_written) if pdf_written else None, "data_date": state.data_date,
           "sections": report.sections, "images": report.images, "warnings": list(report.warnings),
           "status": state.status.lights, "spi": state.status.project.spi,
           "forecast": None if state.forecast is None else {"p50": state.forecast.p50, "p80": state.forecast.p80}}
    if json_out:
        print_json(out)
    else:
        console.print(f"wrote {written}" + (f" and {pdf_written}" if pdf_written else "")
                      + f" ({report.images} images; data date {show_data_date(state.data_date)})")
        for w in report.warnings:
            err_console.print(f"warning: {w}", highlight=False, markup=False)
