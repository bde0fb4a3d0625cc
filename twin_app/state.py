"""Session state of the app: the current project, progress bars, and the error guard of every page.

The current :class:`twin_app.project.Project` lives in ``st.session_state["twin_project"]``. When a
session starts it is the scenario named by ``$TWIN_APP_SCENARIO`` (set by ``twin app --scenario``) or
``--scenario FILE`` after ``--`` on the ``streamlit run`` line, else the bundled demo building planned
storey by storey.

Element positions must not depend on whether the session is new: Streamlit keys an element without an
id by its index in its parent, so one extra element on a session's first run (a progress bar) moved
everything below it on the next run, and the browser remounted the 3D viewer of the Model page (a
second, stale ``twin_viewer`` iframe during that rerun, and a new iframe without the geometry). So
:func:`current_project` claims its slot on every run. (An element with an id, like the viewer, is
matched by id within its parent block: only shifts of the blocks around it remount it.)
"""
from __future__ import annotations

import functools
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import streamlit as st

from twin.errors import TwinError
from twin_app.project import (Project, bundled_sample, default_start, project_from_files,
                              project_from_scenario)

__all__ = ["current_project", "set_project", "demo_project", "progress", "guard", "startup_scenario", "inputs"]

KEY = "twin_project"


def startup_scenario() -> str | None:
    """Scenario file given at launch: ``$TWIN_APP_SCENARIO``, else ``--scenario FILE`` in ``sys.argv``."""
    env = os.environ.get("TWIN_APP_SCENARIO")
    if env:
        return env
    argv = sys.argv[1:]
    for i, arg in enumerate(argv):
        if arg == "--scenario" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--scenario="):
            return arg.split("=", 1)[1]
    return None


@contextmanager
def progress(label: str, slot: Any = None) -> Iterator[Callable[[float, str], None]]:
    """A progress bar for long work; yields ``update(fraction, message)``; removed when done.

    ``slot``: an ``st.empty()`` the caller made on every run (see :func:`current_project`); by default
    the bar takes a new slot here.
    """
    slot = st.empty() if slot is None else slot
    bar = slot.progress(0.0, text=label)

    def update(fraction: float, message: str = "") -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=f"{label}: {message}" if message else label)

    try:
        yield update
    finally:
        slot.empty()


def demo_project(strategy: str = "storey-by-storey", zones: int = 2, start: Any = None,
                 update: Callable[[float, str], None] | None = None) -> Project:
    """The bundled demo building (``samples/demo_building.ifc``) with a generated plan."""
    from twin_app.loaders import get_model, model_key

    path = bundled_sample()
    model = get_model([str(path)], model_key([path]), update or (lambda f, m: None))
    return project_from_files([path], model, strategy=strategy, zones=zones, start=start or default_start(),
                              name="Demo building", source="demo")


def current_project() -> Project:
    """The session's project, made on first use (scenario given at launch, else the demo).

    Takes one (empty) slot on every run, not only on the first one where it shows a progress bar, so
    the page's elements keep their positions from the session's first run to the next.
    """
    slot = st.empty()
    project = st.session_state.get(KEY)
    if project is None:
        with progress("Opening the project", slot) as update:
            path = startup_scenario()
            project = project_from_scenario(Path(path)) if path else demo_project(update=update)
        st.session_state[KEY] = project
    return project


def set_project(project: Project) -> None:
    """Make ``project`` the session's project (every page follows it)."""
    st.session_state[KEY] = project
    for k in [k for k in st.session_state.keys() if str(k).startswith("sim_")]:
        del st.session_state[k]


def inputs(project: Project) -> Any:
    """The project's resolved inputs (:func:`twin_app.loaders.get_inputs`), with a progress bar."""
    from twin_app.loaders import get_inputs

    with progress("Loading the model and schedule") as update:
        return get_inputs(project, update)


def guard(page: Callable[[], None]) -> Callable[[], None]:
    """Run a page; a user error (:class:`twin.errors.TwinError`) becomes a message in the page."""
    @functools.wraps(page)
    def run() -> None:
        try:
            page()
        except TwinError as exc:
            st.error(f"{exc}")
    return run
