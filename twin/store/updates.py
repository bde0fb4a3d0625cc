"""The digital-twin workflow over the store: record a progress update, re-forecast, and read the state back.

:func:`load_project` reads a scenario (or a bare schedule file) into the records the twin needs;
:func:`record_progress` checks an actuals file, replays the stored history up to the data date, computes
status and the forecast, and writes the import, its rows and the forecast in one transaction
(``twin progress`` and the app call it); :func:`twin_state` reads the state at a data date back from
the store (``twin report`` and the app). The JSON of ``twin progress`` is :meth:`UpdateOutcome.to_json`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Sequence

from twin.errors import InputError, MissingFileError
from twin.progress import (ProgressRecord, ProgressRejectedError, Rejection, activity_records, apply_progress,
                           make_update, read_progress_csv, records_from_schedule)
from twin.store.repository import (ForecastSnapshot, Store, add_update, find_import, forecast_for_import,
                                   get_forecasts, get_progress)

__all__ = ["Project", "UpdateOutcome", "TwinState", "load_project", "progress_settings", "project_from_resolved",
           "project_from_scenario_model",
           "read_actuals", "record_progress", "twin_state", "merge_records"]


@dataclass(frozen=True, slots=True, eq=False)
class Project:
    """A scenario (or schedule file) loaded for the twin: schedule, simulator config, model, links."""

    key: str                      # resolved path: the scenario's identity in the store
    name: str
    schedule: Any                 # twin.schedule.Schedule, as planned (with any progress the file carries)
    config: Any                   # twin.sim.SimConfig
    model: Any = None             # twin.model.BuildingModel or None (schedule file)
    links: tuple[tuple[str, str], ...] = ()
    runs: int | None = None
    seed: int | None = None
    path: Path | None = None
    settings: dict = field(default_factory=dict)   # the scenario's [progress] table (progress_settings)

    @property
    def element_ids(self) -> set[str] | None:
        """GlobalIds progress may name: the model's elements, else the linked ones, else None (no check)."""
        if self.model is not None:
            return set(self.model.elements)
        return {g for _, g in self.links} or None

    def element_storeys(self) -> dict[str, str]:
        """Activity id -> the most common storey of its linked elements (for status by storey)."""
        if self.model is None:
            return {}
        from collections import Counter

        by_act: dict[str, Counter] = {}
        for aid, g in self.links:
            el = self.model.elements.get(g)
            if el is not None and el.storey:
                by_act.setdefault(aid, Counter())[el.storey] += 1
        return {aid: c.most_common(1)[0][0] for aid, c in by_act.items()}


_SETTINGS = {"db": str, "tolerance": (int, float), "prior_strength": (int, float)}


def progress_settings(scenario: Any) -> dict[str, Any]:
    """The scenario's ``[progress]`` table, checked: ``db`` (URL), ``tolerance`` (percent, 0..100),
    ``prior_strength`` (>= 0). Relative SQLite paths in ``db`` are relative to the scenario file.

    Raises
    ------
    ScenarioError
        An unknown key or a wrong value, naming the file and the field.
    """
    from twin.errors import ScenarioError

    raw = (getattr(scenario, "other", None) or {}).get("progress", {})
    where = f"{scenario.path.name if scenario.path else 'scenario'}: progress"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: must be a table")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        kind = _SETTINGS.get(key)
        if kind is None:
            raise ScenarioError(f"{where}.{key}: unknown key (allowed: {', '.join(_SETTINGS)})")
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ScenarioError(f"{where}.{key}: expected {'text' if kind is str else 'a number'}, got {value!r}")
        out[key] = value
    if not 0 <= out.get("tolerance", 5) <= 100:
        raise ScenarioError(f"{where}.tolerance: must be within 0..100 (% of planned duration), got {out['tolerance']}")
    if out.get("prior_strength", 0) < 0:
        raise ScenarioError(f"{where}.prior_strength: must be >= 0, got {out['prior_strength']}")
    db = out.get("db")
    if db and db.startswith("sqlite:///") and not db.startswith("sqlite:////") and scenario.path is not None:
        out["db"] = "sqlite:///" + str((Path(scenario.path).parent / db[len("sqlite:///"):]).resolve())
    return out


def load_project(path: str | Path, *, geometry: bool = False, progress: Callable[[str], None] | None = None) -> Project:
    """Read a scenario ``.toml`` (model, schedule, links, resources) or a schedule file (schedule only).

    Raises
    ------
    MissingFileError, InputError (ScenarioError, ScheduleError)
    """
    p = Path(path)
    if not p.exists():
        raise MissingFileError(p, "scenario or schedule")
    if p.suffix.lower() == ".toml":
        from twin.scenario import load_scenario, resolve
        from twin.sim.inputs import config_from_scenario

        scenario = load_scenario(p)
        resolved = resolve(scenario, geometry=geometry, progress=progress)
        config = config_from_scenario(resolved)
        settings = progress_settings(scenario)
        return Project(str(p.resolve()), scenario.name, resolved.schedule, config, resolved.model,
                       tuple(config.element_links), scenario.uncertainty.runs, scenario.uncertainty.seed, p,
                       settings)
    from twin.sim.inputs import load_config

    config, runs, seed = load_config(p)
    return Project(str(p.resolve()), config.name, config.schedule, config, None,
                   tuple(config.schedule.element_links), runs, seed, p)


def project_from_scenario_model(scenario: Any, model: Any, *, key: str | None = None) -> Project:
    """A :class:`Project` from a scenario and an already loaded model (e.g. the app's, with meshes).

    ``twin.scenario.resolve`` gives the same plan whether the model was read with geometry or not, so
    this judges against the plan ``twin progress`` records against.
    """
    from twin.scenario import resolve

    return project_from_resolved(resolve(scenario, model=model), key=key)


def project_from_resolved(resolved: Any, *, key: str | None = None) -> Project:
    """A :class:`Project` from an already resolved scenario (``twin.scenario.resolve``), e.g. the app's.

    ``key`` defaults to the scenario file's resolved path.
    """
    from twin.sim.inputs import config_from_scenario

    sc = resolved.scenario
    if key is None:
        if sc.path is None:
            raise InputError("the scenario has no file: pass a key naming it in the store")
        key = str(Path(sc.path).resolve())
    config = config_from_scenario(resolved)
    return Project(key, sc.name, resolved.schedule, config, resolved.model, tuple(config.element_links),
                   sc.uncertainty.runs, sc.uncertainty.seed, sc.path, progress_settings(sc))


def read_actuals(path: str | Path, schedule: Any) -> tuple[list[ProgressRecord], list[Rejection], str]:
    """Records from a progress CSV, or from the actuals in a P6 / MS Project file: (records, rejected, kind)."""
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(p, "actuals file")
    if p.suffix.lower() == ".csv":
        records, bad, _ = read_progress_csv(p, schedule)
        return records, bad, "csv"
    if p.suffix.lower() in (".xer", ".xml"):
        from twin.importers import read_schedule

        return records_from_schedule(read_schedule(p)), [], "schedule"
    raise InputError(f"{p}: actuals must be a progress .csv or a P6 / MS Project schedule (.xer, .xml), "
                     f"got '{p.suffix}'")


def merge_records(history: Sequence[ProgressRecord], new: Sequence[ProgressRecord]) -> list[ProgressRecord]:
    """History with ``new`` on top: a new report of an (activity, element) replaces the stored one."""
    out = {r.key: r for r in history}
    out.update({r.key: r for r in new})
    return list(out.values())


@dataclass(frozen=True, slots=True, eq=False)
class TwinState:
    """The twin at a data date: progressed schedule, baseline, CPM, status, forecast history."""

    project: Project
    data_date: datetime
    records: tuple[ProgressRecord, ...]
    progressed: Any                # Schedule with actuals
    baseline: dict                 # activity id -> (start, finish), as planned
    plan_finish: datetime
    cpm: Any                       # CpmResult of the progressed schedule
    status: Any                    # twin.status.StatusReport
    forecasts: tuple[ForecastSnapshot, ...] = ()

    @property
    def forecast(self) -> ForecastSnapshot | None:
        return self.forecasts[-1] if self.forecasts else None


def _state(project: Project, records: Sequence[ProgressRecord], data_date: datetime, tolerance: float,
           forecasts: Sequence[ForecastSnapshot] = ()) -> TwinState:
    from twin.cpm import compute_cpm
    from twin.forecast import baseline_dates
    from twin.status import compute_status

    progressed = apply_progress(project.schedule, activity_records(records, project.links), data_date)
    baseline, plan_finish = baseline_dates(project.schedule)
    cpm = compute_cpm(progressed)
    status = compute_status(progressed, baseline, data_date, cpm=cpm, tolerance=tolerance,
                            element_storeys=project.element_storeys())
    return TwinState(project, data_date, tuple(records), progressed, baseline, plan_finish, cpm, status,
                     tuple(forecasts))


def twin_state(project: Project, store: Store, *, as_of: datetime | None = None, tolerance: float = 0.05) -> TwinState:
    """The state replayed from the store up to ``as_of`` (default: the latest import's data date).

    Raises
    ------
    InputError
        Nothing recorded for this scenario yet.
    """
    from twin.store.repository import list_imports

    imports = [i for i in list_imports(store, project.key) if as_of is None or i["data_date"] <= as_of]
    if not imports:
        raise InputError(f"no progress recorded for '{project.key}' in {store.url}"
                         f"{f' up to {as_of:%Y-%m-%d %H:%M}' if as_of else ''}: run `twin progress` first")
    dd = as_of or imports[-1]["data_date"]
    return _state(project, get_progress(store, project.key, dd), dd, tolerance,
                  get_forecasts(store, project.key, as_of=dd))


@dataclass(frozen=True, slots=True, eq=False)
class UpdateOutcome:
    """What one ``twin progress`` did (see :meth:`to_json` for the documented keys)."""

    accepted: int
    rejected: tuple[Rejection, ...] = ()
    already_imported: bool = False
    import_id: int | None = None
    state: TwinState | None = None
    forecast: ForecastSnapshot | None = None
    previous: ForecastSnapshot | None = None
    db: str = ""
    source: str = ""
    productivity: dict = field(default_factory=dict)

    def to_json(self, top: int = 10) -> dict[str, Any]:
        st = self.state.status if self.state is not None else None
        fc, prev = self.forecast, self.previous

        def fin(s: ForecastSnapshot | None) -> dict[str, Any] | None:
            return None if s is None else {**dict(s.finish), "cpm_finish": s.cpm_finish, "plan_finish": s.plan_finish,
                                           "plan_p50": s.plan_p50, "plan_p80": s.plan_p80,
                                           "data_date": s.data_date, "runs": s.runs, "seed": s.seed}

        change = None
        if fc is not None and prev is not None:
            change = {k: (fc.finish[k] - prev.finish[k]).total_seconds() / 86400.0 for k in ("p50", "p80")}
        return {
            "source": self.source, "db": self.db,
            "data_date": self.state.data_date if self.state is not None else None,
            "accepted": self.accepted, "rejected": [r.to_dict() for r in self.rejected],
            "already_imported": self.already_imported, "import_id": self.import_id,
            "status": st.lights if st is not None else {},
            "spi": st.project.spi if st is not None else None,
            "project": st.project.to_dict() if st is not None else None,
            "groups": ({kind: {k: g.light for k, g in gs.items()} for kind, gs in st.groups.items()}
                       if st is not None else {}),
            "slipping": ([{"id": s.activity_id, "name": s.name, "light": s.light, "planned_percent": s.planned_percent,
                           "actual_percent": s.actual_percent, "sv_days": s.sv_days,
                           "finish_slip_days": s.finish_slip_days} for s in st.slipping(top)] if st is not None else []),
            "forecast": fin(fc), "previous_forecast": fin(prev), "change_days": change,
            "productivity": self.productivity,
        }


def record_progress(
    project: Project,
    actuals: str | Path,
    as_of: datetime,
    store: Store,
    *,
    runs: int | None = None,
    seed: int | None = None,
    workers: int | None = 1,
    tolerance: float = 0.05,
    deterministic: bool = False,
    prior_strength: float = 2.0,
    progress: Callable[[int], None] | None = None,
) -> UpdateOutcome:
    """Check, store and forecast one progress update (one transaction; idempotent).

    A file with any bad row raises :class:`twin.progress.ProgressRejectedError` listing them all, before
    anything is written. The same file for the same scenario and data date a second time writes nothing
    and returns ``already_imported`` with the forecast stored the first time.
    """
    from twin.forecast import run_forecast

    records, bad, kind = read_actuals(actuals, project.schedule)
    update = make_update(records, project.schedule, as_of, scenario=project.key, source=str(actuals),
                         element_ids=project.element_ids, rejected=bad)
    old = find_import(store, project.key, update.content_hash)
    if old is not None:
        state = twin_state(project, store, as_of=as_of, tolerance=tolerance)
        fc = forecast_for_import(store, old)
        return UpdateOutcome(len(records), (), True, old, state, fc, _previous(state.forecasts, fc), store.url,
                             str(actuals), dict(fc.factors) if fc is not None else {})
    history = get_progress(store, project.key, as_of)
    state = _state(project, merge_records(history, update.records), as_of, tolerance)
    n, sd = runs or project.runs or 500, seed if seed is not None else (project.seed or 1)
    forecast, _ = run_forecast(state.progressed, config=project.config, runs=n, seed=sd, workers=workers,
                               deterministic=deterministic, prior_strength=prior_strength,
                               plan_finish=state.plan_finish, progress=progress,
                               plan_simulation=_plan_simulation(store, project.key, n, sd, deterministic,
                                                                state.plan_finish))
    result = add_update(store, update, scenario_key=project.key, scenario_name=project.name, project=project.name,
                        kind=kind, forecast=forecast, spi=state.status.project.spi, lights=state.status.lights)
    history_fc = get_forecasts(store, project.key, as_of=as_of)
    mine = forecast_for_import(store, result.import_id)
    state = TwinState(state.project, state.data_date, state.records, state.progressed, state.baseline,
                      state.plan_finish, state.cpm, state.status, tuple(history_fc))
    productivity = {k: {"factor": p.factor, "observed": p.observed, "observations": p.observations}
                    for k, p in forecast.productivity.items()}
    return UpdateOutcome(len(records), (), result.already_imported, result.import_id, state, mine,
                         _previous(history_fc, mine), store.url, str(actuals), productivity)


def _plan_simulation(store: Store, key: str, runs: int, seed: int, deterministic: bool,
                     plan_finish: datetime | None) -> bool | dict[str, datetime]:
    """Reuse the plan's simulated P50/P80 of an earlier forecast made with the same runs, seed, mode and
    plan; else ask for a new one (True)."""
    for s in reversed(get_forecasts(store, key)):
        if (s.plan_p50 is not None and s.runs == runs and s.seed == seed and s.deterministic == deterministic
                and s.plan_finish == plan_finish):
            return {"p50": s.plan_p50, "p80": s.plan_p80}
    return True


def _previous(history: Sequence[ForecastSnapshot], current: ForecastSnapshot | None) -> ForecastSnapshot | None:
    """The forecast before ``current`` in the history (by data date, then as recorded)."""
    if current is None:
        return history[-1] if history else None
    before = [h for h in history if h.id != current.id and (h.data_date, h.id) < (current.data_date, current.id)]
    return before[-1] if before else None


def rejected_outcome(exc: ProgressRejectedError, source: str, db: str) -> UpdateOutcome:
    """The outcome of a refused file (nothing written), for the same JSON shape."""
    return UpdateOutcome(0, tuple(exc.rejected), db=db, source=source)
