"""``twin plan``, ``twin link``, ``twin init``: propose sequences from a model, link and export 4D, start a scenario.

Each command loads its inputs, calls :mod:`twin.plan`, :mod:`twin.links`, :mod:`twin.scenario` or
:mod:`twin.ifc.schedule4d`, and prints a summary (or JSON with ``--json``). See
``docs/linking-and-planning.md`` and ``docs/scenario.md``.
"""
from __future__ import annotations

import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any, Optional

import typer

from twin.cli._common import app, console, err_console, handle_errors, print_json, progress_bar
from twin.errors import InputError, MissingFileError

__all__ = ["plan_command", "link_command", "init_command", "links_path_for"]


def links_path_for(schedule_path: str | Path) -> Path:
    """Where ``twin plan`` writes the links of ``schedule.csv``: ``schedule.links.csv`` beside it."""
    p = Path(schedule_path)
    return p.with_name(p.stem + ".links.csv")


def _load_model(paths: list[Path], quiet: bool):
    from twin.ifc import load_model

    for p in paths:
        if not p.is_file():
            raise MissingFileError(p, "IFC model")
    if quiet:
        return load_model([str(p) for p in paths], geometry=True)
    with progress_bar() as bar:
        task = bar.add_task("reading model", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return load_model([str(p) for p in paths], geometry=True, progress=tick)


def _parse_start(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--start: expected a date or date-time such as 2027-03-01 or 2027-03-01T08:00, got '{text}'") from None
    if len(text) <= 10:
        value = value.replace(hour=8)
    return value


def _parse_crews(items: list[str]) -> dict[str, int]:
    out = {}
    for item in items:
        trade, sep, count = item.partition("=")
        if not sep or not count.strip().isdigit() or int(count) < 1:
            raise InputError(f"--crews: expected TRADE=COUNT with COUNT >= 1, got '{item}'")
        out[trade.strip()] = int(count)
    return out


def _cpm_summary(schedule) -> dict[str, Any]:
    from twin.cpm import compute_cpm

    cpm = compute_cpm(schedule)
    return {"start": cpm.start, "finish": cpm.finish, "critical_path": list(cpm.critical_path)}, cpm


@app.command("plan")
@handle_errors
def plan_command(
    models: list[Path] = typer.Argument(..., help="IFC model file(s); several files form one federated model."),
    strategy: str = typer.Option("storey-by-storey", "--strategy", "-s",
                                 help="storey-by-storey | zone-vertical | structure-first | two-crews | all"),
    output: Path = typer.Option(..., "--output", "-o", help="Schedule to write: .csv or .xml (MS Project)."),
    zones: int = typer.Option(2, "--zones", "-z", help="Number of plan zones (equal bands)."),
    axis: str = typer.Option("x", "--axis", help="Axis the zones are cut along: x or y."),
    rates: Optional[Path] = typer.Option(None, "--rates", help="Production-rate TOML overriding the defaults."),
    start: Optional[str] = typer.Option(None, "--start", help="Project start, e.g. 2027-03-01 (default: next Monday)."),
    lag_storeys: int = typer.Option(1, "--lag-storeys", help="structure-first: storeys the follow-on trades stay behind."),
    crews: list[str] = typer.Option([], "--crews", help="Crews per trade, TRADE=COUNT (repeatable), e.g. slabs=2."),
    links_out: Optional[Path] = typer.Option(None, "--links-out", help="Links CSV (default: OUTPUT.links.csv)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Propose a schedule from the model: activities per storey x zone x trade, linked to their elements.

    ``--strategy all`` writes one schedule per strategy (OUTPUT with the strategy name added to its
    stem) and prints them side by side.
    """
    from twin.plan import STRATEGIES, load_rates

    if strategy != "all" and strategy not in STRATEGIES:
        raise InputError(f"--strategy: unknown strategy '{strategy}' (expected one of {', '.join(STRATEGIES)} or all)")
    if output.suffix.lower() not in (".csv", ".xml"):
        raise InputError(f"--output: '{output}' must end in .csv or .xml (MS Project)")
    if strategy == "all" and links_out is not None:
        raise InputError("--links-out: not with --strategy all (each schedule gets its own OUTPUT.links.csv)")
    options = dict(zones=zones, axis=axis, rates=load_rates(rates), start=_parse_start(start),
                   lag_storeys=lag_storeys, crews=_parse_crews(crews) or None)
    model = _load_model(models, json_out)
    if strategy != "all":
        info, warnings = _plan_one(model, strategy, output, links_out, options)
        if json_out:
            print_json(info)
            return
        console.print(f"[bold]{strategy}[/]: {info['activities']} activities, {info['relationships']} relationships, "
                      f"{info['links']} element links, zones {', '.join(info['zones'])}")
        console.print(f"start {info['start']:%Y-%m-%d %H:%M}, finish {info['finish']:%Y-%m-%d %H:%M}, "
                      f"{info['crane_lifts']} crane lifts, {info['work_hours']:g} crew-hours")
        console.print(f"wrote {output} and {info['links_file']}")
    else:
        plans, warnings = [], []
        for name in STRATEGIES:
            target = output.with_name(f"{output.stem}-{name}{output.suffix}")
            info, w = _plan_one(model, name, target, None, options)
            plans.append(info)
            warnings += [x for x in w if x not in warnings]
        fastest = min(plans, key=lambda i: i["finish"])["strategy"]
        if json_out:
            print_json({"plans": plans, "fastest": fastest})
            return
        _print_comparison(plans, fastest)
    for w in warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)


def _plan_one(model, strategy: str, output: Path, links_out: Path | None, options: dict[str, Any]):
    """Generate, schedule and write one plan; (JSON-shaped summary, warnings)."""
    from twin.importers import write_schedule
    from twin.links import write_link_csv
    from twin.plan import generate_plan

    plan = generate_plan(model, strategy, **options)
    dates, _ = _cpm_summary(plan.schedule)
    not_written = write_schedule(plan.schedule, output)
    links_file = links_out or links_path_for(output)
    write_link_csv(plan.links, links_file)
    info = {"output": str(output), "links_file": str(links_file), **plan.summary(), **dates,
            "calendar_days": (dates["finish"].date() - dates["start"].date()).days + 1, "not_written": not_written}
    return info, [*plan.warnings, *not_written]


def _print_comparison(plans: list[dict[str, Any]], fastest: str) -> None:
    from rich.table import Table

    table = Table(title="Strategies side by side")
    for col in ("strategy", "activities", "logic", "finish", "days", "crew-h", "lifts"):
        table.add_column(col, justify="left" if col == "strategy" else "right", no_wrap=True)
    for i in plans:
        mark = " *" if i["strategy"] == fastest else ""
        table.add_row(i["strategy"] + mark, str(i["activities"]), str(i["relationships"]), f"{i['finish']:%Y-%m-%d}",
                      str(i["calendar_days"]), f"{i['work_hours']:g}", str(i["crane_lifts"]))
    console.print(table)
    console.print("wrote " + ", ".join(Path(i["output"]).name for i in plans) + " (and their .links.csv)")
    console.print(f"* earliest finish (CPM, unlimited crane time): {fastest}; simulate them to compare with "
                  "shared cranes, weather and uncertainty")


def _rules_file(path: Path | None, model, schedule):
    """(rules, zones, mode, csv path) from a rules TOML or a scenario TOML."""
    from twin.links import rules_from_config
    from twin.scenario import _Section, _zone_split, _zones
    from twin.zones import split_zones

    if path is None:
        return (), (), "first", None
    if not path.is_file():
        raise MissingFileError(path, "rules file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    try:
        sec = _Section(raw.get("links", {}), "links", ("mode", "csv", "use_schedule_links", "rules"))
        rules = rules_from_config(sec.table_list("rules"), "links.rules")
        mode = sec.choice("mode", ("first", "all"), "first")
        csv = sec.path("csv", path.resolve().parent)
        zones = _zones(raw)
        split = _zone_split(raw)
        if not zones and split is not None:
            zones = split_zones(model, *split)
        elif not zones and isinstance(raw.get("plan"), dict):
            zones = split_zones(model, int(raw["plan"].get("zones", 2)), axis=str(raw["plan"].get("axis", "x")))
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    return rules, zones, mode, csv


@app.command("link")
@handle_errors
def link_command(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="IFC model (an IFC2X3 model needs --upgrade for -o)."),
    schedule_path: Path = typer.Argument(..., metavar="SCHEDULE", help="Schedule: .xer, .xml, .csv or IFC 4D."),
    rules: Optional[Path] = typer.Option(None, "--rules", help="Rules TOML, or a scenario.toml (its links section)."),
    links_csv: Optional[Path] = typer.Option(None, "--links", help="Explicit GlobalId,activity_id CSV."),
    mode: Optional[str] = typer.Option(None, "--mode", help="first (default) or all."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the 4D IFC here (a copy of MODEL)."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when any link names an unknown element or activity."),
    upgrade: bool = typer.Option(False, "--upgrade", help="IFC2X3 model: write the 4D file as an IFC4 copy."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Link model elements to schedule activities, report the links, and export an IFC 4D model."""
    from twin.importers import read_schedule
    from twin.links import apply_rules, read_link_csv
    from twin.plan import load_rates

    if mode not in (None, "first", "all"):
        raise InputError(f"--mode: must be 'first' or 'all', got '{mode}'")
    if not model_path.is_file():
        raise MissingFileError(model_path, "IFC model")
    if output is not None:
        from twin.ifc.schedule4d import check_exportable

        check_exportable(model_path, upgrade)            # refuse IFC2X3 before any long work
    schedule = read_schedule(schedule_path)
    model = _load_model([model_path], json_out)
    rule_list, zones, file_mode, file_csv = _rules_file(rules, model, schedule)
    csv_path = links_csv or file_csv
    if csv_path is None and links_path_for(schedule_path).is_file():
        csv_path = links_path_for(schedule_path)          # written by `twin plan` beside the schedule
    explicit = read_link_csv(csv_path) if csv_path else []
    links, report = apply_rules(model, schedule, rule_list, zones=zones, mode=mode or file_mode,
                                explicit=explicit, explicit_source=str(csv_path or "link list"),
                                classify=load_rates().trade_of)
    info: dict[str, Any] = {"model": str(model_path), "schedule": str(schedule_path),
                            "links_file": str(csv_path) if csv_path else None, **report.to_dict()}
    if strict and (report.unknown_global_ids or report.unknown_activities):
        raise InputError(f"links name {len(report.unknown_global_ids)} unknown GlobalId(s) and "
                         f"{len(report.unknown_activities)} unknown activity id(s): {'; '.join(report.warnings)}")
    if output is not None:
        info["export"] = _export(model_path, schedule, links, output, json_out, upgrade)
    if json_out:
        print_json(info)
        return
    c = info["counts"]
    console.print(f"{c['linked']} of {c['elements']} elements linked, {c['unlinked']} unlinked "
                  f"({c['unlinked_with_geometry']} with geometry), {c['multiple']} on several activities, "
                  f"{c['empty_activities']} of {c['activities']} activities without elements")
    def label(g: str) -> str:
        el = model.elements[g]
        return f"{el.ifc_class} '{el.name}' {g}" if el.name else f"{el.ifc_class} {g}"

    for title, items in (("unlinked elements with geometry", [label(g) for g in report.unlinked_with_geometry]),
                         ("elements on several activities", [f"{label(g)} ({', '.join(a)})" for g, a in report.multiple]),
                         ("activities without elements", report.empty_activities)):
        if items:
            shown = ", ".join(list(items)[:10]) + (f" ... and {len(items) - 10} more (see --json)" if len(items) > 10 else "")
            console.print(f"{title}: {shown}", highlight=False)
    if output is not None:
        e = info["export"]
        console.print(f"wrote {e['path']} ({e['schema']}): {e['tasks']} tasks, {e['sequences']} sequences "
                      f"({e['lags']} with lags), {e['product_links']} product links, {e['calendars']} calendars")
    for w in report.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)


def _export(model_path: Path, schedule, links, output: Path, quiet: bool, upgrade: bool) -> dict[str, Any]:
    from twin.ifc.schedule4d import write_4d

    _, cpm = _cpm_summary(schedule)
    if quiet:
        return write_4d(model_path, schedule, links, output, cpm=cpm, upgrade=upgrade).to_dict()
    with progress_bar() as bar:
        task = bar.add_task("writing IFC 4D", total=None)
        result = write_4d(model_path, schedule, links, output, cpm=cpm, upgrade=upgrade,
                          progress=lambda d, t: bar.update(task, completed=d, total=t))
    for w in result.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
    return result.to_dict()


@app.command("init")
@handle_errors
def init_command(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="IFC model file."),
    schedule_path: Optional[Path] = typer.Argument(None, metavar="SCHEDULE", help="Schedule file (else a plan strategy)."),
    output: Path = typer.Option(Path("scenario.toml"), "--output", "-o", help="Scenario file to write."),
    strategy: str = typer.Option("storey-by-storey", "--strategy", "-s", help="Plan strategy when there is no schedule."),
    zones: int = typer.Option(2, "--zones", "-z", help="Plan zones when there is no schedule."),
    name: Optional[str] = typer.Option(None, "--name", help="Project name (default: the model file name)."),
    start: Optional[str] = typer.Option(None, "--start", help="Project start (default: the schedule's, else today 08:00)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing scenario file."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Write a starter scenario file (model, schedule or strategy, links, calendar, resources, weather, uncertainty)."""
    from twin.plan import STRATEGIES
    from twin.scenario import scenario_from_dict, starter_resources, starter_scenario, write_text_atomic

    if strategy not in STRATEGIES:
        raise InputError(f"--strategy: unknown strategy '{strategy}' (expected one of {', '.join(STRATEGIES)})")
    if output.exists() and not force:
        raise InputError(f"'{output}' exists: pass --force to overwrite it")
    if not model_path.is_file():
        raise MissingFileError(model_path, "IFC model")
    begin = _parse_start(start)
    links_csv = None
    n_acts = None
    sched = None
    if schedule_path is not None:
        from twin.importers import read_schedule

        sched = read_schedule(schedule_path)
        begin = begin or sched.start
        n_acts = len(sched.activities)
        if links_path_for(schedule_path).is_file():
            links_csv = links_path_for(schedule_path)
    model = _load_model([model_path], json_out)
    res = starter_resources(model, sched, two_crews=strategy == "two-crews" and schedule_path is None)
    crews = res["crews"]
    text = starter_scenario(output, [model_path], schedule_path, strategy=strategy, zones=zones, name=name,
                            start=begin, links_csv=links_csv, **res)
    scenario = scenario_from_dict(tomllib.loads(text), output.resolve())      # what we write must load
    write_text_atomic(output, text)
    info = {"scenario": str(output), "model": str(model_path), "elements": len(model.elements),
            "schedule": str(schedule_path) if schedule_path else None, "activities": n_acts,
            "plan": None if scenario.plan is None else {"strategy": scenario.plan.strategy, "zones": scenario.plan.zones},
            "links_file": str(links_csv) if links_csv else None, "crews": crews,
            "crane": None if not scenario.cranes else {"x": scenario.cranes[0].x, "y": scenario.cranes[0].y,
                                                         "radius_m": scenario.cranes[0].radius_m},
            "hoist": None if not scenario.hoists else {"x": scenario.hoists[0].x, "y": scenario.hoists[0].y},
            "start": scenario.start}
    if json_out:
        print_json(info)
        return
    console.print(f"wrote {output}: model {model_path.name} ({len(model.elements)} elements), "
                  + (f"schedule {schedule_path.name}" if schedule_path else f"plan strategy {strategy}, {zones} zones"))
