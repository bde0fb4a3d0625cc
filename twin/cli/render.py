"""``twin render`` (one 4D frame as PNG) and ``twin animate`` (MP4 or GIF over a date range).

Both take a scenario TOML, or model ``.ifc`` file(s) plus a schedule file (and ``--links CSV``); the
loading, CPM and drawing live in :mod:`twin.viz` (see ``docs/4d-visualisation.md``).
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from twin.cli._common import app, console, err_console, handle_errors, print_json, progress_bar
from twin.errors import InputError

_INPUTS_HELP = "Scenario .toml, or model .ifc file(s) and a schedule file (XER, P6 XML, MSP XML, CSV)."
_VIEW = typer.Option("--view", help="Camera: iso (from the south-east), iso-sw, iso-ne, iso-nw, top, south, north, "
                          "east, west.")
_LATE = typer.Option("--late-after", help="Draw elements as late only when behind the baseline by more "
                                           "than this (e.g. 1d, 4h); default: any delay.")
_HIGHLIGHT = typer.Option(help="GlobalIds drawn in magenta over any state (clashes, conflicts): "
                               "'id1,id2' or '@file' (any file naming GlobalIds: list, CSV, JSON, BCF).")
_COLOUR_BY = typer.Option("--colour-by", help="state | criticality | probability")
_LINKS = typer.Option("--links", help="Link CSV (GlobalId,activity_id).")
_RUNS = typer.Option(help="Monte Carlo runs for --colour-by probability (and criticality index); default: the "
                          "scenario's.")
_SEED = typer.Option(help="Seed of the Monte Carlo runs.")


def _parse_date(text: str, option: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{option}: expected a date like 2025-06-30 or 2025-06-30T14:00, got '{text}'") from None


def _values(inputs: Any, colour_by: str, element_ids: tuple[str, ...], runs: Optional[int], seed: Optional[int]):
    """None for state colours; CPM criticality; or Monte Carlo values (with a progress bar)."""
    from twin.fourd import element_values_from_activities
    from twin.viz.inputs import activity_criticality, simulation_values

    if colour_by == "state":
        return None
    if colour_by == "criticality" and runs is None:
        crit = activity_criticality(inputs.cpm)
        return element_values_from_activities(inputs.links, crit, element_ids, reduce="max")
    sources = [Path(s) for s in inputs.sources]
    source = sources[0] if sources[0].suffix.lower() == ".toml" else \
        next((s for s in sources if s.suffix.lower() not in (".ifc", ".ifczip")), sources[0])
    with progress_bar() as bar:
        task = bar.add_task(f"simulating ({colour_by})", total=runs)
        return simulation_values(source, colour_by, inputs.links, element_ids, runs=runs, seed=seed,
                                 progress=lambda done, total: bar.update(task, completed=done, total=total))


def _check_size(width: int, height: int) -> None:
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise InputError(f"--width and --height must be 16..8192 pixels, got {width}x{height}")


def _late(text: str) -> timedelta:
    from twin.viz.frames import parse_step

    if text.strip() in ("0", "0m", "0h", "0d", ""):
        return timedelta(0)
    try:
        return parse_step(text)
    except InputError:
        raise InputError(f"--late-after: expected e.g. '1d', '4h' or '1d12h', got '{text}'") from None


def _load(paths: list[Path], links: Optional[Path], width: int, height: int, multi_samples: int, view: str,
          late_after: timedelta = timedelta(0)):
    from twin.viz.frames import FourDView
    from twin.viz.inputs import load_4d_inputs
    from twin.viz.scene import Scene4D

    with progress_bar() as bar:
        task = bar.add_task("loading", total=None)
        inputs = load_4d_inputs(paths, links_csv=links,
                                progress=lambda msg: bar.update(task, description=msg))
        bar.update(task, description="building scene")
        scene = Scene4D(inputs.model.meshes, inputs.model.elements, profile=inputs.profile,
                        window_size=(width, height), multi_samples=multi_samples, view=view)
    for w in inputs.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
    return inputs, FourDView(scene, inputs.windows, inputs.links, title=inputs.name, late_after=late_after)


def _check_view(camera: str, colour_by: str) -> None:
    """Refuse an unknown ``--view`` or ``--colour-by`` before any loading."""
    from twin.viz.frames import COLOUR_MODES
    from twin.viz.scene import VIEWS

    if camera not in VIEWS:
        raise InputError(f"--view must be one of {', '.join(VIEWS)}, got '{camera}'")
    if colour_by not in COLOUR_MODES:
        raise InputError(f"--colour-by must be one of {', '.join(COLOUR_MODES)}, got '{colour_by}'")


def _open_view(paths: list[Path], links: Optional[Path], width: int, height: int, multi_samples: int, camera: str,
               late_after: timedelta, colour_by: str, runs: Optional[int], seed: Optional[int],
               highlight: Optional[str]):
    """What ``render`` and ``animate`` both draw from: (inputs, FourDView, colour values, highlighted count)."""
    from twin.viz.inputs import highlight_ids

    wanted = highlight_ids(highlight) if highlight else []
    data, view = _load(paths, links, width, height, multi_samples=multi_samples, view=camera, late_after=late_after)
    values = _values(data, colour_by, view.scene.element_ids, runs, seed)
    highlighted = view.scene.highlight(wanted) if wanted else 0
    return data, view, values, highlighted


def _backend() -> str:
    from twin.viz.backend import select_backend

    return select_backend().name


@app.command("render")
@handle_errors
def render_command(
    inputs: Annotated[list[Path], typer.Argument(help=_INPUTS_HELP, show_default=False)],
    at: Annotated[str, typer.Option("--at", help="Date (and time) to show, e.g. 2025-06-30.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="PNG file to write.")] = Path("frame.png"),
    width: Annotated[int, typer.Option(help="Image width, pixels.")] = 1280,
    height: Annotated[int, typer.Option(help="Image height, pixels.")] = 720,
    colour_by: Annotated[str, _COLOUR_BY] = "state",
    links: Annotated[Optional[Path], _LINKS] = None,
    runs: Annotated[Optional[int], _RUNS] = None,
    seed: Annotated[Optional[int], _SEED] = None,
    highlight: Annotated[Optional[str], _HIGHLIGHT] = None,
    camera: Annotated[str, _VIEW] = "iso",
    late_after: Annotated[str, _LATE] = "0m",
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Render the model as built at one date into a PNG (date caption, active tasks, legend)."""
    from twin.viz.frames import render_frame

    _check_view(camera, colour_by)
    when = _parse_date(at, "--at")
    if output.suffix.lower() != ".png":
        raise InputError(f"-o must name a .png file, got '{output}'")
    late = _late(late_after)
    _check_size(width, height)
    t0 = time.perf_counter()
    data, view, values, highlighted = _open_view(inputs, links, width, height, 4, camera, late, colour_by, runs,
                                                 seed, highlight)       # one frame: anti-aliased
    info = render_frame(view, when, output, colour_by=colour_by, values=values)
    view.scene.close()
    result = {
        "output": str(output), "at": when, "colour_by": colour_by, "view": camera, "counts": dict(info.counts),
        "active": list(info.active), "elements": len(view.scene.element_ids), "linked": view.n_linked,
        "triangles": view.scene.n_cells, "highlighted": highlighted, "backend": _backend(),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    if json_out:
        print_json(result)
    else:
        c = info.counts
        console.print(f"wrote {output}: {when:%Y-%m-%d %H:%M}, {c['complete']} complete, "
                      f"{c['in_progress']} in progress, {c['late']} late, {c['not_started']} not started; "
                      f"{len(info.active)} activities under way")


@app.command("animate")
@handle_errors
def animate_command(
    inputs: Annotated[list[Path], typer.Argument(help=_INPUTS_HELP, show_default=False)],
    output: Annotated[Path, typer.Option("-o", "--output", help="Animation to write: .mp4 or .gif.")] = Path("4d.mp4"),
    step: Annotated[str, typer.Option(help="Time between frames: 7d, 1w, 12h, 1d12h.")] = "7d",
    start: Annotated[Optional[str], typer.Option(help="First date (default: project start).")] = None,
    end: Annotated[Optional[str], typer.Option(help="Last date (default: project finish).")] = None,
    fps: Annotated[float, typer.Option(help="Frames per second in the output.")] = 4.0,
    width: Annotated[int, typer.Option(help="Frame width, pixels.")] = 1280,
    height: Annotated[int, typer.Option(help="Frame height, pixels.")] = 720,
    colour_by: Annotated[str, _COLOUR_BY] = "state",
    links: Annotated[Optional[Path], _LINKS] = None,
    runs: Annotated[Optional[int], _RUNS] = None,
    seed: Annotated[Optional[int], _SEED] = None,
    highlight: Annotated[Optional[str], _HIGHLIGHT] = None,
    camera: Annotated[str, _VIEW] = "iso",
    late_after: Annotated[str, _LATE] = "0m",
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Write a 4D animation (MP4 or GIF) from start to end every STEP, with a progress bar."""
    from twin.viz.frames import animate, frame_dates, parse_step

    _check_view(camera, colour_by)
    if output.suffix.lower() not in (".mp4", ".gif"):
        raise InputError(f"-o must name a .mp4 or .gif file, got '{output}'")
    delta = parse_step(step)
    if fps <= 0 or fps > 120:
        raise InputError(f"--fps must be > 0 and <= 120, got {fps:g}")
    first = _parse_date(start, "--start") if start else None
    last = _parse_date(end, "--end") if end else None
    late = _late(late_after)
    _check_size(width, height)
    t0 = time.perf_counter()
    data, view, values, highlighted = _open_view(inputs, links, width, height, 0, camera, late, colour_by, runs,
                                                 seed, highlight)       # many frames: speed first
    span = view.timeline.span
    first = first or (span[0] if span else data.cpm.start)
    last = last or (span[1] if span else data.cpm.finish)
    dates = frame_dates(first, last, delta)
    with progress_bar() as bar:
        task = bar.add_task("rendering frames", total=len(dates))
        infos = animate(view, dates, output, fps=fps, colour_by=colour_by, values=values,
                        on_frame=lambda i, _info: bar.update(task, completed=i + 1))
    view.scene.close()
    result = {
        "output": str(output), "frames": len(infos), "start": first, "end": last,
        "step_hours": delta.total_seconds() / 3600, "fps": fps, "colour_by": colour_by,
        "elements": len(view.scene.element_ids), "linked": view.n_linked,
        "first": dict(infos[0].counts), "last": dict(infos[-1].counts), "highlighted": highlighted,
        "backend": _backend(),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    if json_out:
        print_json(result)
    else:
        console.print(f"wrote {output}: {len(infos)} frames from {first:%Y-%m-%d} to {last:%Y-%m-%d} "
                      f"every {step} at {fps:g} fps ({result['seconds']:.1f} s)")
