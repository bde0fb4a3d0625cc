"""``twin sample`` and ``twin demo`` through typer's CliRunner: exit codes, JSON keys, bad input."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

pytest.importorskip("ifcopenshell")

from twin.cli import app  # noqa: E402
from twin.ifc.generate import count_elements  # noqa: E402

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args))


def test_sample_writes_the_file_and_prints_json(tmp_path):
    res = _run("sample", "-o", str(tmp_path / "out"), "--storeys", "2", "--bays", "3", "2", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) >= {"path", "elements", "by_class", "by_storey", "storeys", "clashes_expected", "systems"}
    assert data["path"].endswith("demo_building.ifc")
    assert (tmp_path / "out" / "demo_building.ifc").is_file()
    assert data["elements"] == count_elements(2, (3, 2)) == sum(data["by_class"].values())
    assert [s["name"] for s in data["storeys"]] == ["Level 00", "Level 01", "Roof"]
    assert data["clashes_expected"] and set(data["clashes_expected"][0]) == {"mep", "beam", "mep_name", "beam_name"}
    assert "global_ids" not in data
    assert not list((tmp_path / "out").glob(".*tmp*")), "temporary file left behind"


def test_sample_name_zones_and_ids(tmp_path):
    res = _run("sample", "-o", str(tmp_path), "--storeys", "1", "--bays", "4", "2", "--zones", "4",
               "--name", "tower", "--ids", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert (tmp_path / "tower.ifc").is_file()
    assert set(data["by_zone"]) == {"Zone 1", "Zone 2", "Zone 3", "Zone 4"}
    assert data["global_ids"]["column/00/A1"]


def test_sample_target_elements_picks_the_size(tmp_path):
    res = _run("sample", "-o", str(tmp_path), "--target-elements", "600", "--json")
    assert res.exit_code == 0, res.output
    assert abs(json.loads(res.stdout)["elements"] - 600) <= 12


def test_sample_prints_a_readable_summary(tmp_path):
    res = _run("sample", "-o", str(tmp_path), "--storeys", "1", "--bays", "3", "2")
    assert res.exit_code == 0, res.output
    assert "elements by storey" in res.stdout and "Level 00" in res.stdout
    assert "pass through beams" in res.stdout


@pytest.mark.parametrize("args,message", [
    (["--bays", "1", "1"], "bays must be at least 2 x 1"),
    (["--zones", "0"], "zones must be between 1"),
    (["--storey-height", "2"], "storey_height must be >="),
    (["--name", "a/b"], "--name must be a plain file name"),
    (["--target-elements", "0"], "target element count must be >= 1"),
])
def test_sample_bad_input_is_one_line_and_exit_1(tmp_path, args, message):
    res = _run("sample", "-o", str(tmp_path / "o"), *args)
    assert res.exit_code == 1
    assert message in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_sample_output_folder_that_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    res = _run("sample", "-o", str(f))
    assert res.exit_code == 1 and "output folder is a file" in res.output


def test_demo_loads_the_bundled_sample(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "cache"))
    res = _run("demo", "--no-geometry", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) == {"source", "generated", "summary", "loaded"}
    assert data["summary"]["elements"] == data["loaded"]["elements"] == 435
    assert len(data["summary"]["clashes_expected"]) == 24


def test_demo_can_generate_a_fresh_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "cache"))
    res = _run("demo", "--out", str(tmp_path / "demo"), "--no-geometry", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["generated"] is True
    assert (tmp_path / "demo" / "demo_building.ifc").is_file()
