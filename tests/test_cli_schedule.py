"""`twin schedule`: JSON keys, CSV output, data date, bad input exits 1 with a clear message."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twin.cli import app

runner = CliRunner()

CSV_SCHEDULE = """id,name,duration_days,predecessors
A,Excavate,2,
B,Foundations,3,A
C,Frame,4,B
D,Services,1,B
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _xer(tmp_path: Path, tasks: list[tuple[str, str, float]], preds: list[tuple[str, str]]) -> Path:
    """A minimal XER: one project, the standard calendar, tasks (task_id, code, hours), FS links."""
    cal = ("(0||CalendarData()((0||DaysOfWeek()((0||1()())(0||2()((0||0(s|08:00|f|16:00)())))"
           "(0||3()((0||0(s|08:00|f|16:00)())))(0||4()((0||0(s|08:00|f|16:00)())))"
           "(0||5()((0||0(s|08:00|f|16:00)())))(0||6()((0||0(s|08:00|f|16:00)())))(0||7()())))"
           "(0||Exceptions()())))")
    lines = ["ERMHDR\t8.1\t2024-01-01\tProject\tadmin",
             "%T\tPROJECT", "%F\tproj_id\tproj_short_name\tclndr_id\tlast_recalc_date\tplan_start_date",
             "%R\t1\tDEMO\t10\t2024-03-04 00:00\t2024-03-04 00:00",
             "%T\tCALENDAR", "%F\tclndr_id\tclndr_name\tday_hr_cnt\tclndr_data",
             f"%R\t10\tStandard\t8\t{cal}",
             "%T\tTASK", "%F\ttask_id\tproj_id\tclndr_id\ttask_code\ttask_name\ttask_type\tstatus_code\t"
                         "target_drtn_hr_cnt\tremain_drtn_hr_cnt"]
    for tid, code, hours in tasks:
        lines.append(f"%R\t{tid}\t1\t10\t{code}\tTask {code}\tTT_Task\tTK_NotStart\t{hours}\t{hours}")
    lines += ["%T\tTASKPRED", "%F\ttask_pred_id\ttask_id\tpred_task_id\tproj_id\tpred_proj_id\tpred_type\tlag_hr_cnt"]
    for k, (p, s) in enumerate(preds):
        lines.append(f"%R\t{k}\t{s}\t{p}\t1\t1\tPR_FS\t0")
    lines.append("%E")
    path = tmp_path / "demo.xer"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="cp1252")
    return path


def test_json_output_has_the_documented_keys(tmp_path):
    xer = _xer(tmp_path, [("1", "A", 16), ("2", "B", 8), ("3", "C", 24)], [("1", "2"), ("1", "3")])
    res = runner.invoke(app, ["schedule", str(xer), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert {"activities", "relationships", "calendars", "start", "finish", "critical_path",
            "warnings"} <= set(data)
    assert (data["activities"], data["relationships"], data["calendars"]) == (3, 2, 1)
    assert data["start"] == "2024-03-04T08:00"
    assert data["finish"] == "2024-03-08T16:00"
    assert data["critical_path"] == ["A", "C"]
    assert data["warnings"] == []


def test_out_writes_one_row_per_activity(tmp_path):
    xer = _xer(tmp_path, [("1", "A", 16), ("2", "B", 8)], [("1", "2")])
    out = tmp_path / "cpm.csv"
    res = runner.invoke(app, ["schedule", str(xer), "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == ["id", "name", "early_start", "early_finish", "late_start", "late_finish",
                             "total_float_h", "free_float_h", "critical"]
    assert [r["id"] for r in rows] == ["A", "B"]
    assert rows[1]["early_start"] == "2024-03-06T08:00"
    assert rows[1]["early_finish"] == "2024-03-06T16:00"
    assert rows[1]["critical"] == "true"


def test_data_date_option_moves_unstarted_work(tmp_path):
    xer = _xer(tmp_path, [("1", "A", 8)], [])
    res = runner.invoke(app, ["schedule", str(xer), "--json", "--data-date", "2024-03-11"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["start"] == "2024-03-11T08:00"


def test_a_logic_loop_exits_1_naming_the_activities(tmp_path):
    xer = _xer(tmp_path, [("1", "A", 8), ("2", "B", 8), ("3", "C", 8)], [("1", "2"), ("2", "3"), ("3", "2")])
    res = runner.invoke(app, ["schedule", str(xer), "--json"])
    assert res.exit_code == 1
    assert "loop" in res.output and "B" in res.output and "C" in res.output
    assert "Traceback" not in res.output


def test_a_missing_file_exits_1(tmp_path):
    res = runner.invoke(app, ["schedule", str(tmp_path / "nope.xer")])
    assert res.exit_code == 1
    assert "nope.xer" in res.output and "Traceback" not in res.output


def test_a_bad_data_date_exits_1_with_the_expected_form(tmp_path):
    xer = _xer(tmp_path, [("1", "A", 8)], [])
    res = runner.invoke(app, ["schedule", str(xer), "--data-date", "next tuesday"])
    assert res.exit_code == 1
    assert "--data-date" in res.output and "Traceback" not in res.output


def test_bad_input_leaves_no_half_written_csv(tmp_path):
    xer = _xer(tmp_path, [("1", "A", 8), ("2", "B", 8)], [("1", "2"), ("2", "1")])
    out = tmp_path / "cpm.csv"
    res = runner.invoke(app, ["schedule", str(xer), "--out", str(out)])
    assert res.exit_code == 1
    assert not out.exists()
    assert not list(tmp_path.glob(".cpm-*"))


def test_csv_schedules_are_read_through_read_schedule(tmp_path):
    path = _write(tmp_path, "plan.csv", CSV_SCHEDULE)
    res = runner.invoke(app, ["schedule", str(path), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["activities"] == 4
    assert data["critical_path"] == ["A", "B", "C"]


def test_hs2_summary_reports_full_agreement_with_p6(shared):
    path = shared / "samples" / "schedules" / "HS2_SP10_cost_loaded.xer"
    if not path.exists():
        pytest.skip(f"reference file {path} is absent")
    res = runner.invoke(app, ["schedule", str(path), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert (data["activities"], data["relationships"], data["calendars"]) == (3994, 5966, 6)
    assert data["finish"] == "2023-01-13T17:00"
    assert data["reference_check"]["dates_equal"] == 3994
    assert len([w for w in data["warnings"] if "corrupt date" in w]) == 19
