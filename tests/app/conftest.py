"""Fixtures of the app tests: a work folder for uploads, the demo project's library results."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import ROOT

APP = ROOT / "app.py"
SAMPLE = ROOT / "samples" / "demo_building.ifc"
TIMEOUT = 900          # AppTest needs a bound per run; generous, not a performance limit


@pytest.fixture(scope="session", autouse=True)
def app_dir(tmp_path_factory) -> Path:
    """Uploads, generated buildings and scenario files of the app go to a temporary folder."""
    path = tmp_path_factory.mktemp("twin-app")
    old = os.environ.get("TWIN_APP_DIR")
    os.environ["TWIN_APP_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("TWIN_APP_DIR", None)
    else:
        os.environ["TWIN_APP_DIR"] = old


def _page_test(module: str, project=None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(f"from twin_app.pages import {module}\n{module}.render()\n", default_timeout=TIMEOUT)
    if project is not None:
        at.session_state["twin_project"] = project
    return at


@pytest.fixture(scope="session")
def page_test():
    """``page_test(module, project=None)``: an AppTest running one page's ``render()`` (project preset)."""
    return _page_test


@pytest.fixture(scope="session")
def demo():
    """The demo project the app opens first, and the library's own results for it (not the app's caches)."""
    from types import SimpleNamespace

    from twin.cpm import compute_cpm
    from twin.fourd import task_windows
    from twin.ifc import load_model
    from twin.scenario import resolve
    from twin_app.project import default_start, project_from_files

    model = load_model(str(SAMPLE), geometry=True)
    project = project_from_files([SAMPLE], model, start=default_start(), name="Demo building", source="demo")
    resolved = resolve(project.scenario, geometry=True, model=model)
    cpm = compute_cpm(resolved.schedule, data_date=resolved.schedule.data_date)
    windows = task_windows(resolved.schedule, cpm.dates)
    return SimpleNamespace(project=project, model=model, resolved=resolved, cpm=cpm, windows=windows)
