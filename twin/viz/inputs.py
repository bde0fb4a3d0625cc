"""Inputs of a 4D view, loaded from a scenario TOML or from model + schedule (+ link CSV) files.

:func:`load_4d_inputs` is what ``twin render`` and ``twin animate`` call (the CLI holds no logic):

* one ``.toml`` argument: the scenario (:func:`twin.scenario.load_scenario`, then
  :func:`twin.scenario.resolve` with geometry), and its optional ``[appearance]`` table
  (:func:`twin.viz.appearance.profile_from_dict`);
* otherwise: every ``.ifc`` argument is a model file and at most one other argument is the schedule
  (P6 XER/XML, MS Project XML, CSV); without one, the schedule is read from the first IFC file (IFC 4D
  work schedule). Links are the schedule's own (IFC ``IfcRelAssignsToProduct``) plus ``links_csv``.

The CPM runs once (at the schedule's data date) and gives the current dates; the file's planned
dates are the baseline. :func:`activity_criticality` gives per-activity criticality for colouring
from the CPM; :func:`simulation_values` runs the Monte Carlo simulation (:mod:`twin.sim`) for the
probability that each element is complete by a date, or the criticality index.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from twin.errors import InputError, MissingFileError
from twin.fourd import TaskWindow, task_windows
from twin.viz.appearance import DEFAULT_PROFILE, AppearanceProfile, profile_from_dict

__all__ = ["FourDInputs", "load_4d_inputs", "activity_criticality", "simulation_values", "highlight_ids"]


@dataclass(frozen=True, slots=True, eq=False)
class FourDInputs:
    """Everything a 4D view needs, as records."""

    name: str
    model: Any                               # twin.model.BuildingModel, with meshes
    schedule: Any                            # twin.schedule.Schedule
    cpm: Any                                 # twin.cpm.CpmResult
    windows: Mapping[str, TaskWindow]
    links: tuple[tuple[str, str], ...]       # (activity id, GlobalId)
    profile: AppearanceProfile = DEFAULT_PROFILE
    sources: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _split(paths: Sequence[Path]) -> tuple[list[Path], Path | None]:
    models = [p for p in paths if p.suffix.lower() in (".ifc", ".ifczip")]
    others = [p for p in paths if p not in models]
    if not models:
        raise InputError("no model: give a scenario .toml, or one or more .ifc files and a schedule")
    if len(others) > 1:
        raise InputError(f"more than one schedule file given: {', '.join(map(str, others))}")
    return models, (others[0] if others else None)


def load_4d_inputs(
    paths: Sequence[str | os.PathLike[str]],
    *,
    links_csv: str | os.PathLike[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> FourDInputs:
    """Load model (with meshes), schedule, links and CPM dates for rendering.

    Raises
    ------
    MissingFileError
        A named file does not exist.
    InputError
        Wrong combination of files, nothing linked, or a bad ``[appearance]`` table.
    """
    from twin.cpm import compute_cpm

    say = progress or (lambda _msg: None)
    files = [Path(p) for p in paths]
    if not files:
        raise InputError("give a scenario .toml, or model .ifc file(s) and a schedule")
    for f in files:
        if not f.exists():
            raise MissingFileError(f, "scenario" if f.suffix.lower() == ".toml" else "input file")
    profile = DEFAULT_PROFILE
    warnings: list[str] = []
    if len(files) == 1 and files[0].suffix.lower() == ".toml":
        from twin.scenario import load_scenario, resolve

        scenario = load_scenario(files[0])
        resolved = resolve(scenario, geometry=True, progress=say)
        model, schedule = resolved.model, resolved.schedule
        pairs = list(resolved.links.pairs)
        name = scenario.name
        appearance = scenario.other.get("appearance") if scenario.other else None
        if appearance is not None:
            if not isinstance(appearance, Mapping):
                raise InputError(f"{files[0]}: [appearance] must be a table")
            profile = profile_from_dict(appearance, where=f"{files[0].name}: appearance")
        warnings += list(getattr(resolved.report, "warnings", ()) or ())
        if links_csv is not None:
            from twin.links import read_link_csv

            pairs += read_link_csv(links_csv)
    else:
        if any(f.suffix.lower() == ".toml" for f in files):
            raise InputError("a scenario .toml must be the only input")
        from twin.ifc import load_model
        from twin.importers import read_schedule

        models, schedule_file = _split(files)
        say("reading model")
        model = load_model([str(m) for m in models], geometry=True)
        say("reading schedule")
        schedule = read_schedule(schedule_file or models[0])
        pairs = list(schedule.element_links)
        if links_csv is not None:
            from twin.links import read_link_csv

            pairs += read_link_csv(links_csv)
        name = schedule.name or models[0].stem
    say("scheduling (CPM)")
    cpm = compute_cpm(schedule, data_date=schedule.data_date)
    windows = task_windows(schedule, cpm.dates)
    pairs = list(dict.fromkeys(pairs))
    dated = [(a, g) for a, g in pairs if a in windows]
    if len(dated) < len(pairs):
        skipped = sorted({a for a, _ in pairs if a not in windows})
        warnings.append(f"{len(pairs) - len(dated)} link(s) to activities without dates ignored: "
                        f"{', '.join(skipped[:5])}{' ...' if len(skipped) > 5 else ''}")
    if not dated:
        raise InputError("no element is linked to a dated activity: nothing would change over time "
                         "(add links: a link CSV, [links] rules in the scenario, or IFC task assignments)")
    if not model.meshes:
        raise InputError("the model has no tessellated geometry to draw")
    return FourDInputs(name, model, schedule, cpm, windows, tuple(dated), profile,
                       tuple(str(f) for f in files), tuple(warnings) + tuple(cpm.warnings))


def activity_criticality(cpm: Any, *, near: float = 0.5) -> dict[str, float]:
    """Deterministic criticality per activity from a CPM result: 1 critical, ``near`` near-critical, 0.

    A Monte Carlo criticality index (share of runs in which the activity was critical) is the better
    measure; this is what a single CPM pass can say.
    """
    crit = set(cpm.critical_path) | {a for a, d in cpm.dates.items() if getattr(d, "critical", False)}
    near_set = set(getattr(cpm, "near_critical", ()))
    return {a: 1.0 if a in crit else near if a in near_set else 0.0 for a in cpm.dates}


def simulation_values(
    source: str | os.PathLike[str],
    colour_by: str,
    links: Sequence[tuple[str, str]],
    element_ids: Sequence[str],
    *,
    runs: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Any:
    """Per-element values from a Monte Carlo simulation of ``source`` (scenario or schedule file).

    ``colour_by="probability"`` returns a callable ``at -> ndarray (n,)``: the probability that all
    activities linked to each element have finished by ``at`` (``nan`` where no simulated activity is
    linked). ``colour_by="criticality"`` returns an ndarray (n,): the highest criticality index (share
    of runs on the driving path) of each element's activities. ``runs``/``seed`` default to the
    scenario's ``[uncertainty]`` values (else 500 and 1). ``progress(done, total)`` follows the runs.
    """
    import numpy as np

    from twin.fourd import element_values_from_activities
    from twin.sim.inputs import load_config
    from twin.sim.montecarlo import run_monte_carlo
    from twin.sim.results import completion_probability, criticality

    if colour_by not in ("probability", "criticality"):
        raise InputError(f"simulation values are 'probability' or 'criticality', got '{colour_by}'")
    config, scen_runs, scen_seed = load_config(source)
    runs = runs if runs is not None else (scen_runs or 500)
    seed = seed if seed is not None else (scen_seed if scen_seed is not None else 1)
    if runs < 1:
        raise InputError(f"runs must be >= 1, got {runs}")
    tick = (lambda done: progress(done, runs)) if progress is not None else None
    result = run_monte_carlo(config, runs, seed, workers=workers, progress=tick)
    if colour_by == "criticality":
        return element_values_from_activities(links, criticality(result), element_ids, reduce="max")
    index = {g: i for i, g in enumerate(element_ids)}
    pairs = list(links)

    def probability(at: Any) -> Any:
        out = np.full(len(index), np.nan)
        for gid, p in completion_probability(result, at, pairs).items():
            i = index.get(gid)
            if i is not None:
                out[i] = p
        return out

    return probability


_GUID = None


def highlight_ids(spec: str) -> list[str]:
    """GlobalIds to highlight from ``"id1,id2"`` or ``"@file"``.

    A file may be anything that names GlobalIds (a list one per line, a CSV, a clash report in JSON, BCF
    markup): every 22-character IFC GlobalId token in it is taken, in order, without repeats.

    Raises
    ------
    MissingFileError
        ``@file`` does not exist.
    InputError
        No GlobalId in the file.
    """
    import re

    global _GUID
    _GUID = _GUID or re.compile(r"(?<![0-9A-Za-z_$])[0-9A-Za-z_$]{22}(?![0-9A-Za-z_$])")
    spec = spec.strip()
    if spec.startswith("@"):
        path = Path(spec[1:])
        if not path.is_file():
            raise MissingFileError(path, "highlight file")
        text = path.read_text(encoding="utf-8", errors="replace")
        found = list(dict.fromkeys(_GUID.findall(text)))
        if not found:
            raise InputError(f"{path}: no IFC GlobalId (22 characters of 0-9, A-Z, a-z, _ and $) found")
        return found
    return [p.strip() for p in spec.split(",") if p.strip()]
