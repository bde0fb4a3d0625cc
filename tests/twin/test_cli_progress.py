"""``twin progress`` and ``twin report`` through CliRunner: JSON keys, one transaction, idempotence, errors."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.conftest import ROOT
import twin.cli  # noqa: F401  (registers every command)
from twin.cli._common import app
from twin.store import open_store
from twin.store import tables as t

runner = CliRunner()

WEEK1 = """activity_id,actual_start,actual_finish,percent_complete,remaining_days,reported_by
A,2027-03-01,2027-03-08,100,,site
B,2027-03-09,,25,,site
"""
WEEK2 = """activity_id,actual_start,actual_finish,percent_complete
B,2027-03-09,2027-03-16,100
C,2027-03-17,,10
D,2027-03-17,,20
"""
BAD = """activity_id,actual_start,actual_finish,percent_complete
A,2027-03-01,2027-03-08,100
NOPE,2027-03-01,,10
B,2027-03-09,2027-03-05,100
C,2027-03-17,,140
D,2027-04-30,,10
"""


def _w(folder: Path, name: str, text: str) -> Path:
    p = folder / name
    p.write_text(text)
    return p


def _run(*args: str) -> tuple[int, dict | None, str]:
    r = runner.invoke(app, [str(a) for a in args])
    try:
        data = json.loads(r.stdout) if r.stdout.strip().startswith("{") else None
    except json.JSONDecodeError:
        data = None
    return r.exit_code, data, r.stderr if hasattr(r, "stderr") else r.output


def _counts(url: str) -> dict[str, int]:
    store = open_store(url)
    with store.engine.connect() as conn:
        out = {tb.name: conn.execute(select(func.count()).select_from(tb)).scalar_one()
               for tb in (t.imports, t.progress, t.forecasts)}
    store.close()
    return out


def _progress(plan: Path, actuals: Path, as_of: str, *extra: str):
    return _run("progress", plan, "--actuals", actuals, "--as-of", as_of, "--runs", "60", "--seed", "4", "--json", *extra)


def test_progress_json_has_the_documented_keys(schedule_csv, tmp_path):
    code, out, err = _progress(schedule_csv, _w(tmp_path, "w1.csv", WEEK1), "2027-03-10")
    assert code == 0, err
    assert {"accepted", "rejected", "status", "spi", "forecast", "previous_forecast", "already_imported",
            "data_date", "project", "groups", "slipping", "change_days", "productivity", "db"} <= set(out)
    assert out["accepted"] == 2 and out["rejected"] == [] and out["previous_forecast"] is None
    assert out["status"]["A"] == "green" and out["status"]["B"] == "red"      # B: 25 % of 4 days, 75 % planned
    assert set(out["status"].values()) <= {"green", "yellow", "red"}
    assert 0 < out["spi"] < 1 and out["data_date"] == "2027-03-11T00:00"
    assert out["forecast"]["p50"] <= out["forecast"]["p80"] and out["forecast"]["plan_finish"] == "2027-04-07T08:00"   # M: a 0-day task after E
    assert out["db"].endswith("plan.twin.sqlite") and (schedule_csv.parent / "plan.twin.sqlite").exists()
    assert out["productivity"]["earthworks"]["observed"] == pytest.approx(1.2)


def test_a_second_update_reports_the_previous_forecast_and_the_change(schedule_csv, tmp_path):
    _progress(schedule_csv, _w(tmp_path, "w1.csv", WEEK1), "2027-03-10")
    code, out, err = _progress(schedule_csv, _w(tmp_path, "w2.csv", WEEK2), "2027-03-17")
    assert code == 0, err
    prev = out["previous_forecast"]
    assert prev["data_date"] == "2027-03-11T00:00" and out["forecast"]["data_date"] == "2027-03-18T00:00"
    # the plan's own simulation (same runs and seed) is computed once and reused while the plan is unchanged
    assert prev["plan_p50"] and out["forecast"]["plan_p50"] == prev["plan_p50"]
    assert prev["plan_p50"] <= out["forecast"]["p50"]
    assert out["change_days"]["p50"] == pytest.approx(
        (_iso(out["forecast"]["p50"]) - _iso(prev["p50"])).total_seconds() / 86400)
    # history was replayed: A (week 1) is still complete in week 2's status
    assert out["status"]["A"] == "green" and out["project"]["actual_percent"] > 30


def _iso(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text)


def test_re_importing_the_same_file_changes_nothing(schedule_csv, tmp_path):
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    w1 = _w(tmp_path, "w1.csv", WEEK1)
    _, first, _ = _progress(schedule_csv, w1, "2027-03-10", "--db", url)
    before = _counts(url)
    code, again, err = _progress(schedule_csv, _w(tmp_path, "copy.csv", WEEK1.replace(",site", ", site ")),
                                 "2027-03-10", "--db", url)
    assert code == 0, err
    assert again["already_imported"] is True and again["import_id"] == first["import_id"]
    assert again["forecast"] == first["forecast"] and again["status"] == first["status"]
    assert _counts(url) == before == {"imports": 1, "progress": 2, "forecasts": 1}


def test_a_file_with_bad_rows_is_refused_whole_and_the_database_is_unchanged(schedule_csv, tmp_path):
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    _progress(schedule_csv, _w(tmp_path, "w1.csv", WEEK1), "2027-03-10", "--db", url)
    before = _counts(url)
    code, out, err = _progress(schedule_csv, _w(tmp_path, "bad.csv", BAD), "2027-03-17", "--db", url)
    assert code == 1 and "Traceback" not in err
    assert out["accepted"] == 0 and [r["row"] for r in out["rejected"]] == [3, 4, 5, 6]
    reasons = " | ".join(r["reason"] for r in out["rejected"])
    for why in ("unknown activity 'NOPE'", "before actual_start", "outside 0-100", "after the data date"):
        assert why in reasons
    assert "4 bad row(s), nothing imported" in err
    assert _counts(url) == before


@pytest.mark.parametrize("args, message", [
    (["--as-of", "someday"], "--as-of: expected a date"),
    (["--as-of", "2027-03-10", "--runs", "0"], "--runs must be >= 1"),
    (["--as-of", "2027-03-10", "--tolerance", "150"], "--tolerance must be within 0..100"),
])
def test_bad_options_are_one_line_errors(schedule_csv, tmp_path, args, message):
    r = runner.invoke(app, ["progress", str(schedule_csv), "--actuals", str(_w(tmp_path, "w1.csv", WEEK1)), *args])
    assert r.exit_code == 1 and message in r.output and "Traceback" not in r.output


def test_missing_files_are_named(schedule_csv, tmp_path):
    r = runner.invoke(app, ["progress", str(tmp_path / "none.toml"), "--actuals", str(_w(tmp_path, "w.csv", WEEK1)),
                            "--as-of", "2027-03-10"])
    assert r.exit_code == 1 and "none.toml" in r.output
    r = runner.invoke(app, ["progress", str(schedule_csv), "--actuals", str(tmp_path / "gone.csv"), "--as-of", "2027-03-10"])
    assert r.exit_code == 1 and "gone.csv" in r.output


def test_a_database_url_that_cannot_work_is_a_clear_error(schedule_csv, tmp_path):
    r = runner.invoke(app, ["progress", str(schedule_csv), "--actuals", str(_w(tmp_path, "w.csv", WEEK1)),
                            "--as-of", "2027-03-10", "--db", "sqlite:////no/such/folder/x.sqlite"])
    assert r.exit_code == 1 and "database folder does not exist" in r.output


@pytest.mark.postgres
def test_progress_into_postgresql(schedule_csv, tmp_path, pg_url):
    code, out, err = _progress(schedule_csv, _w(tmp_path, "w1.csv", WEEK1), "2027-03-10", "--db", pg_url)
    assert code == 0, err
    assert out["db"].startswith("postgresql+psycopg://") and _counts(pg_url)["imports"] == 1
    code, again, _ = _progress(schedule_csv, _w(tmp_path, "w1.csv", WEEK1), "2027-03-10", "--db", pg_url)
    assert again["already_imported"] and _counts(pg_url) == {"imports": 1, "progress": 2, "forecasts": 1}


def test_report_before_any_progress_says_what_to_do(schedule_csv, tmp_path):
    r = runner.invoke(app, ["report", str(schedule_csv), "-o", str(tmp_path / "r.html")])
    assert r.exit_code == 1 and "run `twin progress` first" in r.output
    assert not (tmp_path / "r.html").exists()


def test_report_of_a_schedule_writes_html_with_charts(schedule_csv, tmp_path):
    _progress(schedule_csv, _w(tmp_path, "w1.csv", WEEK1), "2027-03-10")
    _progress(schedule_csv, _w(tmp_path, "w2.csv", WEEK2), "2027-03-17")
    code, out, err = _run("report", schedule_csv, "-o", tmp_path / "r.html", "--json")
    assert code == 0, err
    html = (tmp_path / "r.html").read_text()
    assert out["sections"][:2] == ["Summary", "Forecast"] and "Gantt" in out["sections"]
    assert out["images"] == html.count("data:image/png;base64,") >= 3      # forecast history, S-curve, Gantt
    assert "3D snapshots left out" in " ".join(out["warnings"])              # a schedule file has no model
    slipping = html.split("Top slipping activities")[1].split("</table>")[0]
    assert "<td>C</td>" in slipping and "<td>A</td>" not in slipping   # C: 10 % done of 40 % planned
    assert out["data_date"] == "2027-03-18T00:00" and out["forecast"]["p50"]


def test_report_of_an_earlier_data_date_replays_the_history(schedule_csv, tmp_path):
    _progress(schedule_csv, _w(tmp_path, "w1.csv", WEEK1), "2027-03-10")
    _progress(schedule_csv, _w(tmp_path, "w2.csv", WEEK2), "2027-03-17")
    code, out, err = _run("report", schedule_csv, "-o", tmp_path / "r.html", "--as-of", "2027-03-10", "--json",
                          "--no-3d")
    assert code == 0, err
    assert out["status"]["B"] == "red" and out["data_date"] == "2027-03-11T00:00"


@pytest.fixture(scope="module")
def demo_scenario(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    shutil.copy(ROOT / "samples" / "demo_building.ifc", folder / "demo.ifc")
    r = runner.invoke(app, ["init", str(folder / "demo.ifc"), "-o", str(folder / "tower.toml"), "--start", "2027-03-01"])
    assert r.exit_code == 0, r.output
    return folder / "tower.toml"


def test_progress_on_a_scenario_checks_global_ids_and_reports_by_storey(demo_scenario, tmp_path):
    from twin.store.updates import load_project

    project = load_project(demo_scenario)
    fnd = [(a, g) for a, g in project.links if a == "L00-Z1-FND"]
    gid = fnd[0][1]
    bad = _w(tmp_path, "bad.csv", "activity_id,actual_start,actual_finish,percent_complete,global_id\n"
                                  "L00-Z1-FND,2027-03-01,,50,0000000000000000000000\n")
    code, out, _ = _progress(demo_scenario, bad, "2027-03-05", "--db", f"sqlite:///{tmp_path / 'd.sqlite'}")
    assert code == 1 and "unknown GlobalId '0000000000000000000000'" in out["rejected"][0]["reason"]
    good = _w(tmp_path, "good.csv", "activity_id,actual_start,actual_finish,percent_complete,global_id\n"
                                    "START,2027-03-01T08:00,2027-03-01T08:00,100,\n"
                                    f"L00-Z1-FND,2027-03-01,,40,{gid}\n")
    code, out, err = _progress(demo_scenario, good, "2027-03-05", "--db", f"sqlite:///{tmp_path / 'd.sqlite'}")
    assert code == 0, err
    # one element of several at 40 %: the activity is far behind its plan
    assert out["status"]["L00-Z1-FND"] == "red" and "Level 00" in " ".join(out["groups"]["storey"])
    assert set(out["groups"]["zone"]) == {"Z1", "Z2"}


@pytest.mark.slow
def test_report_of_a_scenario_has_3d_views_and_a_pdf(demo_scenario, tmp_path):
    if shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (the PDF needs it)")
    db = f"sqlite:///{tmp_path / 'r.sqlite'}"
    csv = _w(tmp_path, "w.csv", "activity_id,actual_start,actual_finish,percent_complete\n"
                                "START,2027-03-01T08:00,2027-03-01T08:00,100\nL00-Z1-FND,2027-03-01,2027-03-11,100\n"
                                "L00-Z2-FND,2027-03-12,,20\n")
    code, recorded, err = _progress(demo_scenario, csv, "2027-03-12", "--db", db)
    assert code == 0, err
    code, out, err = _run("report", demo_scenario, "--db", db, "-o", tmp_path / "r.html", "--pdf", tmp_path / "r.pdf",
                          "--json")
    assert code == 0, err
    # the report loads the model with geometry for its 3D views, yet judges against the same plan
    assert out["spi"] == recorded["spi"] and out["status"] == recorded["status"]
    assert "3D at the data date" in out["sections"] and out["images"] >= 6 and not out["warnings"]
    pdf = (tmp_path / "r.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000
    if shutil.which("pdftoppm"):   # the printed pages carry the pictures, not blank paper
        import subprocess

        import imageio.v3 as iio

        subprocess.run(["pdftoppm", "-r", "40", "-png", str(tmp_path / "r.pdf"), str(tmp_path / "page")], check=True)
        pages = sorted(tmp_path.glob("page*.png"))
        assert len(pages) >= 3
        spread = [float(iio.imread(p).std()) for p in pages]
        assert min(spread) > 2 and sum(s > 15 for s in spread) >= 2, spread   # text everywhere, pictures on some


def test_the_scenarios_progress_table_sets_the_database_and_the_tolerance(demo_scenario, tmp_path):
    scen = tmp_path / "site.toml"
    text = demo_scenario.read_text().replace('files = ["demo.ifc"]', f'files = ["{demo_scenario.parent / "demo.ifc"}"]')
    scen.write_text(text + '\n[progress]\ndb = "sqlite:///team.sqlite"\ntolerance = 100\n')
    csv = _w(tmp_path, "w.csv", "activity_id,actual_start,actual_finish,percent_complete\n"
                                "START,2027-03-01T08:00,2027-03-01T08:00,100\nL00-Z1-FND,2027-03-01,,60\n")
    code, out, err = _progress(scen, csv, "2027-03-05", "--deterministic")
    assert code == 0, err
    assert out["db"] == f"sqlite:///{tmp_path / 'team.sqlite'}" and (tmp_path / "team.sqlite").exists()
    fnd = next(s for s in out["slipping"] if s["id"] == "L00-Z1-FND")
    assert fnd["light"] == "red"                      # critical and behind: red whatever the tolerance
    scen.write_text(text + '\n[progress]\ncolour = "red"\n')
    r = runner.invoke(app, ["progress", str(scen), "--actuals", str(csv), "--as-of", "2027-03-05"])
    assert r.exit_code == 1 and "site.toml: progress.colour: unknown key" in r.output


def test_ms_project_actuals_are_imported(schedule_csv, tmp_path):
    """An MS Project update (written here by twin's MSPDI writer from a progressed copy of the plan)."""
    from datetime import datetime

    from twin.importers import read_schedule, write_schedule
    from twin.progress import ProgressRecord, apply_progress

    plan = read_schedule(schedule_csv)
    progressed = apply_progress(plan, [ProgressRecord("A", datetime(2027, 3, 1, 8), datetime(2027, 3, 8, 17), 100.0),
                                       ProgressRecord("B", datetime(2027, 3, 9, 8), None, 25.0)],
                                datetime(2027, 3, 11))
    write_schedule(progressed, tmp_path / "update.xml")
    code, out, err = _progress(schedule_csv, tmp_path / "update.xml", "2027-03-10")
    assert code == 0, err
    assert out["accepted"] == 2 and out["status"]["A"] == "green" and out["status"]["B"] == "red"
    assert out["project"]["actual_percent"] == pytest.approx(100 * (40 + 8) / (40 + 32 + 80 + 48 + 64))
