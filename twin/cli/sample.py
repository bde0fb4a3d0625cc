"""``twin sample`` (write a parametric demo building) and ``twin demo`` (show the bundled one).

``twin sample -o DIR`` writes ``DIR/<name>.ifc`` atomically and prints what is in it, including the
MEP/beam clashes it was designed to contain. ``twin demo`` loads the bundled
``samples/demo_building.ifc`` (or, with ``--out``, a freshly generated copy) through the IFC reader
and prints its summary; it stands in for the app until the app exists.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from twin.cli._common import app, console, handle_errors, print_json, progress_bar
from twin.errors import InputError

_LISTED_CLASHES = 10


def bundled_sample() -> Path:
    """Path of ``samples/demo_building.ifc`` in the source tree (it may be absent in an installed copy)."""
    return Path(__file__).resolve().parents[2] / "samples" / "demo_building.ifc"


def _generate(out: Path, name: str, target_elements: int | None, kwargs: dict[str, Any]):
    from twin.ifc.generate import generate_building, size_for_elements

    if not name or Path(name).name != name or name in (".", ".."):
        raise InputError(f"--name must be a plain file name without folders, got '{name}'")
    if out.exists() and not out.is_dir():
        raise InputError(f"output folder is a file: '{out}'")
    out.mkdir(parents=True, exist_ok=True)
    if target_elements is not None:
        storeys, bays = size_for_elements(target_elements, mep=kwargs["mep"], stairs=kwargs["stairs"])
        kwargs = {**kwargs, "storeys": storeys, "bays": bays}
    path = out / (name if name.endswith(".ifc") else f"{name}.ifc")
    with progress_bar() as bar:
        task = bar.add_task("writing IFC", total=None)
        return generate_building(path, progress=lambda d, t: bar.update(task, completed=d, total=t), **kwargs)


def _print_summary(d: dict[str, Any]) -> None:
    p = d["parameters"]
    console.print(f"[bold]{d['path']}[/]: {d['elements']} elements, {len(d['storeys'])} storeys "
                  f"({p['storeys']} + roof), {p['bays'][0]} x {p['bays'][1]} bays of "
                  f"{p['bay_width'][0]:g} x {p['bay_width'][1]:g} m, {p['zones']} zones, seed {p['seed']}",
                  highlight=False)
    table = Table(title="elements by storey", title_justify="left")
    table.add_column("storey")
    table.add_column("elevation (m)", justify="right")
    table.add_column("elements", justify="right")
    for s in d["storeys"]:
        table.add_row(s["name"], f"{s['elevation']:.2f}", str(d["by_storey"][s["name"]]))
    console.print(table)
    table = Table(title="elements by class", title_justify="left")
    table.add_column("IFC class")
    table.add_column("count", justify="right")
    for cls, n in d["by_class"].items():
        table.add_row(cls, str(n))
    console.print(table)
    clashes = d["clashes_expected"]
    console.print(f"[bold]{len(clashes)}[/] MEP segments designed to pass through beams (hard clashes); "
                  f"{d['supports']} designed bearing contacts")
    for c in clashes[:_LISTED_CLASHES]:
        console.print(f"  {c['mep_name']} ({c['mep']})  x  {c['beam_name']} ({c['beam']})", highlight=False)
    if len(clashes) > _LISTED_CLASHES:
        console.print(f"  ... and {len(clashes) - _LISTED_CLASHES} more (see --json)")


@app.command("sample")
@handle_errors
def sample_command(
    out: Annotated[Path, typer.Option("-o", "--out", help="Output folder (created if missing).")] = Path("."),
    storeys: Annotated[int, typer.Option("--storeys", help="Occupied storeys; a roof level is added.")] = 4,
    bays: Annotated[tuple[int, int], typer.Option("--bays", help="Bays along x and y (x >= 2, y >= 1).")] = (4, 3),
    bay_width: Annotated[tuple[float, float], typer.Option("--bay-width", help="Bay sizes along x and y, m.")] = (7.5, 6.0),
    storey_height: Annotated[float, typer.Option("--storey-height", help="Floor to floor, m.")] = 3.6,
    zones: Annotated[int, typer.Option("--zones", help="Plan zones along x.")] = 2,
    target_elements: Annotated[
        Optional[int], typer.Option("--target-elements", help="Pick storeys and bays for about N elements.")
    ] = None,
    mep: Annotated[bool, typer.Option("--mep/--no-mep", help="Ducts and pipes in systems.")] = True,
    stairs: Annotated[bool, typer.Option("--stairs/--no-stairs", help="Core stair flights.")] = True,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the GlobalIds.")] = 0,
    name: Annotated[str, typer.Option("--name", help="File name (without .ifc).")] = "demo_building",
    ids: Annotated[bool, typer.Option("--ids", help="With --json: add the GlobalId of every part key.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")] = False,
) -> None:
    """Write a parametric IFC4 demo building (concrete frame, core, envelope, MEP) and summarise it."""
    kwargs = dict(storeys=storeys, bays=bays, bay_width=bay_width, storey_height=storey_height, zones=zones,
                  mep=mep, stairs=stairs, seed=seed)
    summary = _generate(out, name, target_elements, kwargs)
    if json_out:
        print_json(summary.to_dict(with_ids=ids))
    else:
        _print_summary(summary.to_dict())


@app.command("demo")
@handle_errors
def demo_command(
    out: Annotated[
        Optional[Path], typer.Option("--out", help="Generate a fresh demo building in this folder instead.")
    ] = None,
    geometry: Annotated[bool, typer.Option("--geometry/--no-geometry", help="Tessellate while loading.")] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")] = False,
) -> None:
    """Load the bundled demo building and show what is in it (the app replaces this later)."""
    from twin.ifc import load_model
    from twin.ifc.generate import DEFAULT_SAMPLE_ARGS, describe_building
    from twin.ifc.summary import summarize_model

    path = bundled_sample()
    generated = out is not None or not path.is_file()
    if generated:
        folder = out if out is not None else Path(".twin-demo")
        summary = _generate(folder, "demo_building", None, dict(DEFAULT_SAMPLE_ARGS, mep=True, stairs=True))
        path = Path(summary.path)
    else:
        summary = describe_building(path, **DEFAULT_SAMPLE_ARGS)
    with progress_bar() as bar:
        task = bar.add_task("loading", total=None)
        model = load_model(str(path), geometry=geometry, progress=lambda d, t: bar.update(task, completed=d, total=t))
    loaded = summarize_model(model, geometry=geometry)
    if len(model.elements) != summary.elements:
        raise InputError(f"'{path}' has {len(model.elements)} elements, the demo building should have "
                         f"{summary.elements}: regenerate it with 'twin sample -o samples'")
    if json_out:
        print_json({"source": str(path), "generated": generated, "summary": summary.to_dict(), "loaded": loaded})
        return
    _print_summary(summary.to_dict())
    box = loaded.get("bbox")
    console.print(f"loaded with the IFC reader: {len(model.elements)} elements, "
                  f"{len(model.meshes)} meshes, {len(model.geometry_failures)} geometry failures"
                  + (f", box {box[0]} .. {box[1]} m" if box else ""), highlight=False)
