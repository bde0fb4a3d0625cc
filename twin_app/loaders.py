"""Cached loaders of the app: the heavy work, done once per project and shared by pages and sessions.

Everything here is held by one :func:`streamlit.cache_resource` registry keyed by the project's
content key (:class:`twin_app.project.Project`), because the long steps (IFC load, 4D scene) report
progress to a bar the calling page owns, which a ``st.cache_*`` function may not touch. Results are
the library's own records: the pages only display them.

| loader | gives |
|---|---|
| :func:`get_model` | ``BuildingModel`` with meshes (``twin.ifc.load_model``, itself disk-cached) |
| :func:`get_inputs` | :class:`ProjectData`: resolved scenario, CPM, task windows |
| :func:`get_view` | a ``twin.viz.frames.FourDView`` (offscreen scene) on its own render thread |
| :func:`get_geometry` | the merged geometry for the browser viewer |
| :func:`get_strategies` | the four plan strategies compared (plan summary + CPM finish) |
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import streamlit as st

__all__ = ["ProjectData", "model_key", "get_model", "get_inputs", "get_view", "get_geometry", "get_strategies",
           "element_table", "clear", "simulate", "get_clashes", "get_conflicts"]

Progress = Callable[[float, str], None]

_MAX = 24   # entries kept (models, scenes...): older ones are dropped first


class _Registry:
    """A small thread-safe LRU of computed objects, with one lock per key (no double work)."""

    def __init__(self) -> None:
        self.items: OrderedDict[tuple, Any] = OrderedDict()
        self.lock = threading.Lock()
        self.key_locks: dict[tuple, threading.Lock] = {}

    def get(self, key: tuple, make: Callable[[], Any]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
            klock = self.key_locks.setdefault(key, threading.Lock())
        with klock:
            with self.lock:
                if key in self.items:
                    return self.items[key]
            try:
                value = make()
            except BaseException:
                with self.lock:             # nothing cached: no lock kept for the key either
                    if key not in self.items:
                        self.key_locks.pop(key, None)
                raise
            with self.lock:
                self.items[key] = value
                while len(self.items) > _MAX:
                    old, _ = self.items.popitem(last=False)
                    self.key_locks.pop(old, None)
            return value


@st.cache_resource
def _registry() -> _Registry:
    return _Registry()


def clear() -> None:
    """Forget every cached object (tests, or after files changed on disk)."""
    _registry.clear()


def _quiet(_f: float, _m: str) -> None:
    return None


@dataclass(frozen=True, slots=True, eq=False)
class ProjectData:
    """A project's inputs as records: model, schedule, links, link report, plan, CPM and 4D windows."""

    resolved: Any        # twin.scenario.ResolvedScenario
    cpm: Any             # twin.cpm.CpmResult
    windows: Mapping[str, Any]   # activity id -> twin.fourd.TaskWindow
    links: tuple[tuple[str, str], ...]   # (activity id, GlobalId) pairs with a dated activity

    @property
    def model(self) -> Any:
        return self.resolved.model

    @property
    def schedule(self) -> Any:
        return self.resolved.schedule

    @property
    def report(self) -> Any:
        return self.resolved.report


def model_key(paths: Sequence[Any]) -> str:
    """The registry key of the model of ``paths``: their content digests, so that every page and session
    opening the same files shares one model (and a changed file is a new one)."""
    from twin_app.project import file_digest

    return "files:" + ",".join(file_digest(p) for p in paths)


def get_model(paths: Sequence[str], key: str, progress: Progress = _quiet) -> Any:
    """The model of ``paths`` with meshes; ``key`` names the content (e.g. file digests)."""
    def make() -> Any:
        from twin.ifc import load_model

        progress(0.0, "reading the model")
        return load_model(list(paths), geometry=True,
                          progress=lambda done, total: progress(done / max(total, 1), f"tessellating {done}/{total}"))

    return _registry().get(("model", key), make)


def get_inputs(project: Any, progress: Progress = _quiet) -> ProjectData:
    """Resolve the project's scenario (model, schedule or plan, links), run the CPM, make 4D windows."""
    def make() -> ProjectData:
        from twin.cpm import compute_cpm
        from twin.fourd import task_windows
        from twin.scenario import resolve

        scenario = project.scenario
        paths = [str(p) for p in scenario.model_files]
        # the key the Project page and current_project() loaded these files under: one model in memory
        model = get_model(paths, model_key(paths), progress)
        progress(0.9, "scheduling and linking")
        resolved = resolve(scenario, geometry=True, model=model)
        cpm = compute_cpm(resolved.schedule, data_date=resolved.schedule.data_date)
        windows = task_windows(resolved.schedule, cpm.dates)
        links = tuple(dict.fromkeys((a, g) for a, g in resolved.links.pairs if a in windows))
        progress(1.0, "ready")
        return ProjectData(resolved, cpm, windows, links)

    return _registry().get(("inputs", project.key), make)


class ViewHandle:
    """A 4D view (offscreen scene) owned by one render thread.

    An OpenGL context belongs to the thread that made it current, while Streamlit runs every rerun
    (and every session) in a new thread: so the scene is built, changed and rendered only on this
    handle's own thread (:meth:`call`), which also serialises sessions sharing the view.
    """

    def __init__(self, make: Callable[[], Any]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="twin-render")
        self.view = self._pool.submit(make).result()

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(view, *args, **kwargs)`` on the render thread and return its result."""
        return self._pool.submit(fn, self.view, *args, **kwargs).result()


def get_view(project: Any, size: tuple[int, int] = (1280, 720), view: str = "iso",
             progress: Progress = _quiet) -> ViewHandle:
    """The project's 4D view: one ``Scene4D`` (geometry merged once) and ``FourDView`` per size and camera."""
    data = get_inputs(project, progress)

    def make() -> ViewHandle:
        from twin.viz.frames import FourDView
        from twin.viz.scene import Scene4D

        progress(0.95, "building the 3D scene")

        def build() -> Any:
            scene = Scene4D(data.model.meshes, data.model.elements, window_size=size, view=view)
            return FourDView(scene, data.windows, data.links, title=project.label)

        return ViewHandle(build)

    return _registry().get(("view", project.key, size, view), make)


def get_geometry(project: Any) -> Any:
    """The merged geometry of the project's model for the browser viewer."""
    def make() -> Any:
        from twin_app.viewer import viewer_geometry

        return viewer_geometry(get_inputs(project).model.meshes, key=project.key)

    return _registry().get(("geometry", project.key), make)


def get_strategies(project: Any) -> list[dict[str, Any]]:
    """Each plan strategy for the project's model: ``Plan.summary()`` plus CPM start, finish, calendar days."""
    def make() -> list[dict[str, Any]]:
        from twin.cpm import compute_cpm
        from twin.plan import STRATEGIES, generate_plan, load_rates

        sc = project.scenario
        spec = sc.plan
        model = get_inputs(project).model
        rows = []
        for strategy in STRATEGIES:
            plan = generate_plan(model, strategy, zones=spec.zones if spec else 2, axis=spec.axis if spec else "x",
                                 rates=load_rates(spec.rates if spec else None), start=sc.start,
                                 lag_storeys=spec.lag_storeys if spec else 1, calendar=sc.calendar.to_calendar())
            cpm = compute_cpm(plan.schedule)
            row = plan.summary()
            row.update(start=cpm.start, finish=cpm.finish,
                       calendar_days=round((cpm.finish - cpm.start).total_seconds() / 86400.0, 1))
            rows.append(row)
        return rows

    return _registry().get(("strategies", project.key), make)


def element_table(model: Any) -> Any:
    """One row per element (pandas DataFrame): GlobalId, class, name, storey, type, materials, systems,
    file, has geometry, volume (m3, from quantities)."""
    import pandas as pd

    rows = []
    for gid, el in model.elements.items():
        vol = next((v for k, v in el.quantities.items() if k.endswith(("NetVolume", "GrossVolume"))), None)
        rows.append({
            "GlobalId": gid, "class": el.ifc_class, "name": el.name or "", "storey": el.storey or "",
            "type": el.predefined_type or el.object_type or "", "materials": ", ".join(el.materials),
            "systems": ", ".join(el.systems), "file": str(el.file).rsplit("/", 1)[-1] if el.file else "",
            "geometry": gid in model.meshes, "volume_m3": vol,
        })
    return pd.DataFrame(rows)


def simulate(project: Any, runs: int, seed: int, progress: Progress = _quiet) -> Any:
    """Monte Carlo of the project's scenario (``twin.sim``: crews, cranes, weather, uncertainty), in this
    process; cached per project, runs and seed. Returns a ``MonteCarloResult``."""
    def make() -> Any:
        from twin.sim import config_from_scenario, run_monte_carlo

        data = get_inputs(project, progress)
        config = config_from_scenario(data.resolved)
        progress(0.0, f"simulating {project.label}")
        return run_monte_carlo(config, runs, seed, workers=1, chunk_size=max(10, runs // 20),
                               progress=lambda done: progress(done / runs, f"{project.label}: {done}/{runs} runs"))

    return _registry().get(("simulate", project.key, int(runs), int(seed)), make)


def get_clashes(project: Any, a: str, b: str | None, mode: str, tolerance: float, clearance: float,
                progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """``twin.ifc.clash.run_clash`` on the project's scenario (4D dates, temporary objects), reusing its
    loaded model; cached per project and parameters. The ``twin clash --json`` document plus the records
    under ``_clashes``, ``_groups``, ``_model``, ``_extra``.

    One :class:`twin.ifc.clash_session.ClashSession` is kept per schema, selection and settings: when the
    project's model changed (files edited, the project rebuilt), the new clash run re-judges only the
    pairs of the elements that changed, added or removed, and gives what a full run gives."""
    def make() -> dict[str, Any]:
        from twin.ifc.clash import run_clash

        data = get_inputs(project)
        # the session keeps the schema's class test (exclusion rules): one per schema as well
        schema = data.model.files[0].schema if data.model.files else "IFC4"
        slot = _registry().get(("clash-session", schema, a, b, mode, float(tolerance), float(clearance)), _SessionSlot)
        with slot.lock:
            doc = run_clash([str(project.scenario.path)], a, b, mode=mode, tolerance=tolerance, clearance=clearance,
                            model=data.model, progress=progress, incremental=True, session=slot.session)
            slot.session = doc["_session"]
        return doc

    return _registry().get(("clash", project.key, a, b, mode, float(tolerance), float(clearance)), make)


class _SessionSlot:
    """The clash session of one selection and settings, shared by the app's sessions (one at a time)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.session: Any = None


def get_conflicts(project: Any, margin: float = 1.0) -> dict[str, Any]:
    """``twin.conflicts.run_conflicts`` on the project (support, workspace, crane, logic findings)."""
    def make() -> dict[str, Any]:
        from twin.conflicts import run_conflicts

        return run_conflicts(project.scenario.path, margin=margin, resolved=get_inputs(project).resolved)

    return _registry().get(("conflicts", project.key, float(margin)), make)
