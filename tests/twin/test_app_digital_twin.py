"""The app's digital-twin page (Streamlit AppTest): record pasted progress, refuse a bad file, show status."""
from __future__ import annotations

import shutil

import pytest

from tests.conftest import ROOT

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

SCRIPT = """
import streamlit as st
from twin_app.project import project_from_scenario
from twin_app.state import set_project
if "twin_project" not in st.session_state:
    set_project(project_from_scenario({path!r}))
from twin_app.pages.digital_twin import render
render()
"""

GOOD = ("activity_id,actual_start,actual_finish,percent_complete\n"
        "START,2027-03-01T08:00,2027-03-01T08:00,100\n"
        "L00-Z1-FND,2027-03-01,2027-03-11,100\n"
        "L00-Z2-FND,2027-03-12,,20\n")
BAD = ("activity_id,actual_start,actual_finish,percent_complete\n"
       "L00-Z1-FND,2027-03-01,2027-03-11,100\n"
       "NOPE,2027-03-01,,10\n"
       "L00-Z2-FND,2027-03-12,,120\n")


@pytest.fixture
def scenario(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import twin.cli  # noqa: F401
    from twin.cli._common import app

    monkeypatch.setenv("TWIN_APP_DIR", str(tmp_path / "work"))
    shutil.copy(ROOT / "samples" / "demo_building.ifc", tmp_path / "demo.ifc")
    r = CliRunner().invoke(app, ["init", str(tmp_path / "demo.ifc"), "-o", str(tmp_path / "tower.toml"),
                                 "--start", "2027-03-01"])
    assert r.exit_code == 0, r.output
    return tmp_path / "tower.toml"


def _app(scenario) -> AppTest:
    at = AppTest.from_string(SCRIPT.format(path=str(scenario)), default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    return at


def _record(at: AppTest, text: str) -> AppTest:
    from datetime import date

    at.date_input(key="dt_data_date").set_value(date(2027, 3, 12))
    at.number_input(key="dt_runs").set_value(20)
    at.text_area(key="dt_paste").input(text)
    at.button(key="dt_record").click()
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_page_opens_with_nothing_recorded(scenario):
    at = _app(scenario)
    assert at.title[0].value == "Digital twin"
    assert any("No progress recorded yet" in i.value for i in at.info)
    assert any("tower.twin.sqlite" in c.value for c in at.caption)


def test_pasted_progress_is_recorded_and_the_status_shows_lights(scenario):
    at = _record(_app(scenario), GOOD)
    assert any("Recorded 3 rows" in s.value for s in at.success), [s.value for s in at.success]
    assert (scenario.parent / "tower.twin.sqlite").exists()
    frames = [df.value for df in at.dataframe]
    every = next(f for f in frames if "status" in f.columns and "id" in f.columns and len(f) > 20)
    lights = dict(zip(every["id"], every["status"]))
    assert lights["L00-Z1-FND"].endswith("green") and lights["L00-Z2-FND"].endswith("red")
    assert any(m.label == "SPI" for m in at.metric) and any(m.label == "P50 finish" for m in at.metric)
    # the command line reads the same store and judges against the same plan
    import json

    from typer.testing import CliRunner

    from twin.cli._common import app

    r = CliRunner().invoke(app, ["report", str(scenario), "-o", str(scenario.parent / "r.html"), "--no-3d", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["status"] == {k: v for k, v in lights.items()}
    at = _record(at, GOOD)                               # the same rows again: nothing changes
    assert any("already recorded" in i.value for i in at.info)


def test_a_bad_paste_is_refused_with_every_bad_row_and_nothing_recorded(scenario):
    from twin.store import list_imports, open_store

    at = _record(_app(scenario), BAD)
    assert any("2 bad row(s): nothing was recorded" in e.value for e in at.error)
    rejected = next(df.value for df in at.dataframe if "reason" in df.value.columns)
    assert list(rejected["row"]) == [3, 4]
    store = open_store(f"sqlite:///{scenario.parent / 'tower.twin.sqlite'}")
    assert list_imports(store, str(scenario.resolve())) == []
    store.close()


def test_forecast_tab_and_3d_views_after_an_update(scenario):
    at = _record(_app(scenario), GOOD)
    labels = [m.label for m in at.metric]
    assert {"P50 finish", "P80 finish", "Planned finish (CPM)"} <= set(labels)
    assert any("Duration factors" in c.value for c in at.caption)
    at.button(key="dt_views").click()
    at.run()
    assert not at.exception, at.exception
    images = at.get("image")
    assert len(images) == 3, images


def test_rows_typed_into_the_entry_table_become_progress_csv():
    from datetime import date

    import pandas as pd

    from twin.importers.csv import read_csv  # noqa: F401  (the app imports the same library)
    from twin_app.pages.digital_twin import entry_csv

    frame = pd.DataFrame([{"activity_id": "A", "actual_start": date(2027, 3, 1), "actual_finish": None,
                           "percent_complete": 40.0, "remaining_days": float("nan"), "reported_by": "Ann"},
                          {"activity_id": None, "actual_start": None, "actual_finish": None, "percent_complete": None,
                           "remaining_days": None, "reported_by": None}])
    assert entry_csv(frame) == ("activity_id,actual_start,actual_finish,percent_complete,remaining_days,reported_by\n"
                                "A,2027-03-01,,40,,Ann\n")
    assert entry_csv(frame.iloc[1:]) == ""
