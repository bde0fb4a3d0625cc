"""``twin convert``: formats in and out, JSON keys, and bad input as one line with exit status 1."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from twin.cli import app
from twin.importers import read_schedule

runner = CliRunner()


def test_ms_project_sample_to_csv_and_back(sample, tmp_path):
    src = sample("schedules/msp_sample.xml")
    out = tmp_path / "sample.csv"
    res = runner.invoke(app, ["convert", str(src), str(out), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert {k: data[k] for k in ("source_format", "target_format", "activities", "relationships")} == {
        "source_format": "mspdi", "target_format": "csv", "activities": 19, "relationships": 6}
    assert any("calendar '1'" in line for line in data["not_written"])   # MSP calendars are not built-in
    back = read_schedule(out, start="2003-01-07", calendars=read_schedule(src).calendars)
    assert len(back.activities) == 19 and len(back.relationships) == 6


def test_csv_to_ms_project_xml_with_a_start(tmp_path):
    src = tmp_path / "plan.csv"
    src.write_text("id,name,duration_days,predecessors\nA,Dig,2,\nB,Pour,1,A SS+1d\n")
    out = tmp_path / "plan.xml"
    res = runner.invoke(app, ["convert", str(src), str(out), "--start", "2026-03-02T08:00"])
    assert res.exit_code == 0, res.output
    assert "2 activities, 1 relationships" in res.stdout
    back = read_schedule(out)
    assert back.start.isoformat() == "2026-03-02T08:00:00" and back.relationships[0].lag_h == 8.0


@pytest.mark.parametrize("args, message", [
    (["--project", "X"], "--project does not apply"),
    (["--to", "mpp"], "--to: expected mspdi or csv"),
])
def test_bad_options_are_one_line_and_exit_1(tmp_path, args, message):
    src = tmp_path / "plan.csv"
    src.write_text("id,name,duration_days,predecessors\nA,Dig,2,\n")
    res = runner.invoke(app, ["convert", str(src), str(tmp_path / "out.xml"), *args])
    assert res.exit_code == 1 and message in res.output and "Traceback" not in res.output


def test_bad_input_file_names_the_line_and_writes_nothing(tmp_path):
    src = tmp_path / "bad.csv"
    src.write_text("id,name,duration_days,predecessors\nA,Dig,2,Z\n")
    out = tmp_path / "out.xml"
    res = runner.invoke(app, ["convert", str(src), str(out)])
    assert res.exit_code == 1 and "line 2" in res.output and "unknown predecessor id 'Z'" in res.output
    assert "Traceback" not in res.output and not out.exists()


def test_unknown_output_extension_and_missing_input(tmp_path):
    src = tmp_path / "plan.csv"
    src.write_text("id,name,duration_days,predecessors\nA,Dig,2,\n")
    res = runner.invoke(app, ["convert", str(src), str(tmp_path / "out.mpp"), "--start", "2026-03-02"])
    assert res.exit_code == 1 and "unknown schedule format '.mpp'" in res.output
    res = runner.invoke(app, ["convert", str(tmp_path / "none.xer"), str(tmp_path / "x.csv")])
    assert res.exit_code == 1 and "not found" in res.output
