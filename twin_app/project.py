"""The app's current project: a twin scenario built from the user's choice on the Project page.

A :class:`Project` is a validated :class:`twin.scenario.Scenario` plus a key naming its content, so
the cached loaders (:mod:`twin_app.loaders`) can share work between pages and sessions. Projects are
made from the bundled demo building, from uploaded IFC and schedule files (saved content-addressed
under the app's work folder), from a freshly generated demo building, or from a scenario file. Every
one is written as a scenario TOML (the same file ``twin init`` writes) that the user can download and
use with the command line.

The work folder is ``$TWIN_APP_DIR``, else ``<temp>/twin-app``.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, Mapping, Sequence

from twin.atomic import atomic_write
from twin.errors import InputError, MissingFileError

__all__ = ["Project", "work_dir", "bundled_sample", "save_upload", "project_from_files", "project_from_scenario",
           "file_digest", "default_start", "check_ifc_upload", "rebuild_project"]

STATE_KEY = "twin_project"


@dataclass(frozen=True, slots=True, eq=False)
class Project:
    """What the app shows: a scenario, where it came from, and a key naming its content."""

    key: str
    label: str
    source: str                  # "demo", "upload", "generated", "scenario"
    scenario: Any                # twin.scenario.Scenario
    scenario_text: str = ""      # the TOML the scenario was read from


def work_dir() -> Path:
    """The app's folder for uploads, generated models and scenario files (created on demand)."""
    path = Path(os.environ.get("TWIN_APP_DIR") or Path(tempfile.gettempdir()) / "twin-app")
    path.mkdir(parents=True, exist_ok=True)
    return path


def bundled_sample() -> Path:
    """``samples/demo_building.ifc`` of the source tree, else a copy generated into the work folder."""
    path = Path(__file__).resolve().parents[1] / "samples" / "demo_building.ifc"
    if path.is_file():
        return path
    out = work_dir() / "generated" / "demo_building.ifc"
    if not out.is_file():
        from twin.ifc.generate import DEFAULT_SAMPLE_ARGS, generate_building

        out.parent.mkdir(parents=True, exist_ok=True)
        generate_building(out, **DEFAULT_SAMPLE_ARGS)
    return out


def file_digest(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes (hex, first 16 characters)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def save_upload(name: str, data: bytes) -> Path:
    """Save uploaded bytes as ``<work>/uploads/<sha>/<name>`` (same content, same path)."""
    safe = Path(name).name or "upload"
    digest = hashlib.sha256(data).hexdigest()[:16]
    folder = work_dir() / "uploads" / digest
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / safe
    if not path.is_file():
        _write_bytes_atomic(path, data)
    return path


def _write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file of its own beside ``path``, then rename it into place.

    The temporary name is unique, so two sessions saving the same upload at once each rename a whole
    file (a shared ``.part`` name let one session rename the other's half-written file, and the second
    rename then failed).
    """
    atomic_write(path, data, suffix=".part")


def default_start(today: datetime | None = None) -> datetime:
    """Monday 08:00 six weeks before today: the demo is then under way, so status pages show something."""
    now = today or datetime.now()
    monday = datetime.combine((now - timedelta(days=now.weekday())).date(), time(8, 0))
    return monday - timedelta(weeks=6)


def project_from_files(
    model_files: Sequence[Path],
    model: Any,
    *,
    schedule_file: Path | None = None,
    schedule: Any | None = None,
    strategy: str = "storey-by-storey",
    zones: int = 2,
    start: datetime | None = None,
    links_csv: Path | None = None,
    rules: Sequence[Mapping[str, Any]] = (),
    name: str | None = None,
    source: str = "upload",
) -> Project:
    """A project over model files and a schedule file (or a plan ``strategy`` without one).

    ``model`` is the loaded model of ``model_files`` (used to place the crane and list the trades);
    ``schedule`` the read schedule when there is one. The scenario TOML is written to the work folder
    and read back with :func:`twin.scenario.scenario_from_dict`, exactly as ``twin init`` does.
    """
    from twin.scenario import scenario_from_dict, starter_resources, starter_scenario, write_text_atomic

    res = starter_resources(model, schedule, two_crews=strategy == "two-crews" and schedule is None)
    if schedule is not None and start is None:
        start = schedule.start
    parts = [file_digest(f) for f in model_files]
    if schedule_file is not None:
        parts.append(file_digest(schedule_file))
    if links_csv is not None:
        parts.append(file_digest(links_csv))
    label = name or Path(model_files[0]).stem
    tag = repr((parts, None if schedule_file else strategy, zones, start, list(map(dict, rules)), label))
    key = hashlib.sha256(tag.encode()).hexdigest()[:16]
    out = work_dir() / "scenarios" / key / "scenario.toml"
    out.parent.mkdir(parents=True, exist_ok=True)
    text = starter_scenario(out, [Path(f).resolve() for f in model_files], schedule_file, strategy=strategy,
                            zones=zones, name=label, start=start, links_csv=links_csv, rules=rules,
                            crews=res["crews"], crane_at=res["crane_at"], crane_capacity=res["crane_capacity"],
                            hoist_at=res["hoist_at"])
    scenario = scenario_from_dict(tomllib.loads(text), out.resolve())
    write_text_atomic(out, text)
    return Project(key, label, source, scenario, text)


def project_from_scenario(path: str | os.PathLike[str]) -> Project:
    """A project from a scenario TOML file (``twin app --scenario FILE``)."""
    from twin.scenario import load_scenario

    p = Path(path)
    if not p.is_file():
        raise MissingFileError(p, "scenario file")
    scenario = load_scenario(p)
    digests = [file_digest(p)] + [file_digest(f) for f in scenario.model_files]
    if scenario.schedule_file is not None:
        digests.append(file_digest(scenario.schedule_file))
    key = hashlib.sha256(repr((str(p.resolve()), digests)).encode()).hexdigest()[:16]
    return Project(key, scenario.name, "scenario", scenario, p.read_text(encoding="utf-8"))


def check_ifc_upload(name: str, data: bytes) -> None:
    """Refuse an upload that is not an IFC file before it is saved: name the file and what is wrong."""
    if not name.lower().endswith((".ifc", ".ifczip")):
        raise InputError(f"{name}: not an IFC file (expected a .ifc file exported from a BIM tool)")
    if name.lower().endswith(".ifc") and b"ISO-10303-21" not in data[:1024]:
        raise InputError(f"{name}: not an IFC file (an IFC file starts with 'ISO-10303-21;', this one does not)")


def rebuild_project(project: Project, model: Any, schedule: Any = None, *, strategy: str | None = None,
                    rules: Sequence[Mapping[str, Any]] | None = None, name: str | None = None) -> Project:
    """The same model with another plan ``strategy`` (replacing any schedule file) or other link ``rules``.

    ``schedule`` is the project's read schedule (kept when no strategy is given); ``name`` the label
    (a variant to simulate beside the original needs its own name).
    """
    sc = project.scenario
    schedule_file = None if strategy else sc.schedule_file
    return project_from_files(
        list(sc.model_files), model, schedule_file=schedule_file, schedule=schedule if schedule_file else None,
        strategy=strategy or (sc.plan.strategy if sc.plan else "storey-by-storey"),
        zones=sc.plan.zones if sc.plan else 2, start=sc.start, links_csv=None if strategy else sc.links.csv,
        rules=list(rules) if rules is not None else [dict(activity=r.activity, where=dict(r.where)) for r in sc.links.rules],
        name=name or project.label, source=project.source)
