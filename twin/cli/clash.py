"""``twin clash`` (geometric clashes, review diff, 4D dates, BCF) and ``twin conflicts`` (sequence
conflicts of a scenario: support, workspace, crane, logic). The work is in :mod:`twin.ifc.clash`,
:mod:`twin.clash`, :mod:`twin.bcf` and :mod:`twin.conflicts`; see ``docs/clash.md``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from twin.cli._common import app, console, err_console, handle_errors, print_json, progress_bar


@app.command("clash")
@handle_errors
def clash_command(
    inputs: Annotated[list[Path], typer.Argument(help="IFC model file(s) (several: a federated model), "
                                                      "or one scenario .toml for 4D dates and temporary objects.")],
    a: Annotated[str, typer.Option("--a", help="Selection A: IFC class, comma list, '*', with \\[key=value] "
                                               "filters and '|' unions (docs/clash.md).")] = "*",
    b: Annotated[Optional[str], typer.Option("--b", help="Selection B (default: A against itself).")] = None,
    mode: Annotated[str, typer.Option(help="hard (overlap deeper than --tolerance), touch, or clearance.")] = "hard",
    tolerance: Annotated[float, typer.Option(help="Metres: hard overlaps up to this depth, and touch "
                                                   "gaps up to it, are ignored / counted as touching.")] = 0.002,
    clearance: Annotated[float, typer.Option(help="Metres: clearance mode reports surfaces closer than this.")] = 0.05,
    exclude: Annotated[Optional[list[str]], typer.Option(help="Pairs to skip: same-system, same-storey, same-file, "
                                                             "same-class, same-type, or 'SEL<>SEL' (repeatable).")] = None,
    group_by: Annotated[str, typer.Option(help="Smart groups by system, storey or class.")] = "system",
    group_distance: Annotated[float, typer.Option(help="Metres: clashes closer than this join a group.")] = 3.0,
    previous: Annotated[Optional[Path], typer.Option(help="A previous --json report: new/active/resolved "
                                                          "and reviewer statuses carried over.")] = None,
    bcf: Annotated[Optional[Path], typer.Option(help="Write a BCF file (.bcf) with a viewpoint and "
                                                     "snapshot per clash.")] = None,
    bcf_version: Annotated[str, typer.Option(help="BCF version: 2.1 or 3.0.")] = "2.1",
    bcf_per: Annotated[str, typer.Option(help="One BCF topic per clash or per group.")] = "clash",
    snapshots: Annotated[bool, typer.Option(help="Render a PNG snapshot per BCF viewpoint.")] = True,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write caches.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the JSON report on stdout.")] = False,
) -> None:
    """Find clashes between two selections of a (federated) model, group them for review, compare
    with a previous run, date them with the schedule, and export BCF."""
    from twin.bcf import _check_target, write_bcf
    from twin.errors import InputError

    if bcf is not None:
        if bcf_version not in ("2.1", "3.0"):
            raise InputError(f"--bcf-version must be 2.1 or 3.0, got '{bcf_version}'")
        _check_target(bcf)
    if mode not in ("hard", "touch", "clearance"):
        raise InputError(f"--mode must be hard, touch or clearance, got '{mode}'")
    with progress_bar() as bar:
        tasks: dict[str, int] = {}

        def progress(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done, total=total)

        from twin.ifc.clash import run_clash

        doc = run_clash(inputs, a, b, mode=mode, tolerance=tolerance, clearance=clearance,
                        exclude=exclude or (), group_by=group_by, group_distance=group_distance,
                        previous=previous, use_cache=not no_cache, progress=progress)
        if bcf is not None:
            model = doc["_model"]
            meshes = dict(model.meshes)
            elements = dict(model.elements)
            for k, (m, e) in doc["_extra"].items():
                meshes[k], elements[k] = m, e
            doc["bcf"] = write_bcf(bcf, doc["_clashes"], version=bcf_version, groups=doc["_groups"],
                                   per=bcf_per, meshes=meshes, elements=elements, snapshots=snapshots,
                                   progress=lambda d, t: progress("writing BCF", d, t))
    out = {k: v for k, v in doc.items() if not k.startswith("_")}
    for w in out["warnings"]:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False, markup=True)
    if json_out:
        print_json(out)
        return
    console.print(f"{len(out['clashes'])} clash(es) ({', '.join(f'{k} {v}' for k, v in out['counts'].items()) or 'none'}) "
                  f"in {len(out['groups'])} group(s); A {out['selected']['a']} elements, B {out['selected']['b']}")
    for c in out["clashes"][:30]:
        dist = "" if c["distance"] is None else f"{c['distance'] * 1000:.0f} mm"
        when = f"  from {c['first']:%Y-%m-%d} for {c['days']:.1f} d" if c.get("first") else ""
        console.print(f"  {c['id']} {c['status']:<8} {c['type']:<9} {dist:>8}  {c['a_class']} {c['a']} x "
                      f"{c['b_class']} {c['b']}{when}", highlight=False)
    if len(out["clashes"]) > 30:
        console.print(f"  ... and {len(out['clashes']) - 30} more (use --json)")
    if out["resolved"]:
        console.print(f"{len(out['resolved'])} clash(es) resolved since the previous run")
    if "bcf" in out:
        console.print(f"BCF {out['bcf']['version']}: {out['bcf']['topics']} topic(s) -> {out['bcf']['path']}")


@app.command("conflicts")
@handle_errors
def conflicts_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario .toml (model, schedule or plan, links, cranes).")],
    margin: Annotated[float, typer.Option(help="Metres added around element boxes to make work zones.")] = 1.0,
    contact: Annotated[float, typer.Option(help="Metres: boxes this close count as touching (support graph).")] = 0.01,
    density: Annotated[float, typer.Option(help="kg/m3 used for elements without a weight or known material.")] = 2400.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the JSON report on stdout.")] = False,
) -> None:
    """Sequence conflicts of a scenario: elements started before their supports are finished,
    overlapping work zones, crane reach and load, two cranes slewing over each other, and logic."""
    from twin.conflicts import run_conflicts

    with progress_bar() as bar:
        task = bar.add_task("checking", total=5)
        doc = run_conflicts(scenario, margin=margin, contact=contact, density=density,
                            progress=lambda what, done: bar.update(task, completed=done, description=what))
    for w in doc["warnings"]:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False, markup=True)
    if json_out:
        print_json(doc)
        return
    for key in ("support", "workspace", "crane", "logic"):
        console.print(f"[bold]{key}[/]: {len(doc[key])}")
        for f in doc[key][:10]:
            console.print(f"  {f['message']}", highlight=False)
        if len(doc[key]) > 10:
            console.print(f"  ... and {len(doc[key]) - 10} more (use --json)")
