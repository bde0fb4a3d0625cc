"""read_schedule / write_schedule: format detection by content and extension, clear errors."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from twin.errors import MissingFileError, ScheduleError
from twin.importers import detect_format, read_schedule, write_schedule


def _sample(shared: Path, name: str) -> Path:
    p = shared / "samples" / name
    if not p.exists():
        pytest.skip(f"reference file {p} is absent")
    return p


@pytest.mark.parametrize("name, fmt", [
    ("schedules/msp_relations.xml", "mspdi"),
    ("schedules/msp_sample.xml", "mspdi"),
    ("schedules/HS2_SP10_cost_loaded.xer", "xer"),
    ("schedules/p6_resource_rates.xer", "xer"),
    ("ifc4d/construction-scheduling-task.ifc", "ifc"),
])
def test_real_files_are_detected_by_content(shared, name, fmt):
    assert detect_format(_sample(shared, name)) == fmt


@pytest.mark.parametrize("content, fmt", [
    (b'<?xml version="1.0"?>\n<APIBusinessObjects xmlns="http://xmlns.oracle.com/Primavera/P6/V8.3/API/BusinessObjects">', "p6xml"),
    (b'\xef\xbb\xbf<?xml version="1.0"?><Project xmlns="http://schemas.microsoft.com/project">', "mspdi"),
    (b"ERMHDR\t8.0\t2017-01-01", "xer"),
    (b"id,name,duration_days,predecessors\n", "csv"),
])
def test_content_wins_over_a_misleading_extension(tmp_path, content, fmt):
    p = tmp_path / "schedule.dat"
    p.write_bytes(content)
    assert detect_format(p) == fmt


def test_csv_is_read_through_the_dispatcher(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("id,name,duration_days,predecessors\nA,a,2,\nB,b,1,A\n")
    s = read_schedule(p, start="2026-03-02")
    assert [a.duration_h for a in s.activities.values()] == [16.0, 8.0]
    assert len(s.relationships) == 1


@pytest.mark.parametrize("content, message", [
    (b"<note><to>x</to></note>", "neither P6 XML"),
    (b"\x00\x01binary", "unknown schedule format"),
])
def test_unknown_formats_name_the_file(tmp_path, content, message):
    p = tmp_path / "mystery.bin"
    p.write_bytes(content)
    with pytest.raises(ScheduleError, match=f"mystery.bin.*{message}|{message}") as info:
        read_schedule(p)
    assert "mystery.bin" in str(info.value)


def test_explicit_unknown_format_is_refused(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("id,name,duration_days,predecessors\n")
    with pytest.raises(ScheduleError, match="unknown schedule format 'mpp'"):
        read_schedule(p, format="mpp")


def test_missing_file_is_a_missing_file_error(tmp_path):
    with pytest.raises(MissingFileError, match="nothing.xml"):
        read_schedule(tmp_path / "nothing.xml")


def test_write_schedule_refuses_unknown_extensions(tmp_path):
    from twin.schedule import Activity, Schedule
    with pytest.raises(ScheduleError, match="unknown schedule format '.mpp'"):
        write_schedule(Schedule({"A": Activity("A")}), tmp_path / "x.mpp")
    assert list(tmp_path.iterdir()) == []


def test_importing_the_package_loads_no_heavy_dependency():
    import subprocess
    code = ("import sys, twin.importers, twin.importers.csv; "
            "bad = [m for m in ('ifcopenshell', 'pyvista', 'simpy', 'streamlit', 'sqlalchemy') if m in sys.modules]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_xer_goes_to_the_xer_reader(shared):
    path = _sample(shared, "schedules/p6_resource_rates.xer")
    s = read_schedule(path)
    assert len(s.activities) == 1 and s.source == str(path)


def test_options_that_do_not_apply_are_refused(shared):
    path = _sample(shared, "schedules/msp_relations.xml")
    with pytest.raises(ScheduleError, match="option\\(s\\) start do not apply to MS Project XML files"):
        read_schedule(path, start="2026-03-02")


def test_utf16_ms_project_xml_is_detected_and_read(shared, tmp_path):
    text = _sample(shared, "schedules/msp_relations.xml").read_text(encoding="utf-8")
    path = tmp_path / "u16.xml"
    path.write_text(text.replace('encoding="UTF-8"', 'encoding="UTF-16"'), encoding="utf-16")
    assert detect_format(path) == "mspdi"
    assert len(read_schedule(path).relationships) == 4
