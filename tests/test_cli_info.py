"""`twin info`: JSON keys and values, the readable table, warnings for broken elements, errors."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("ifcopenshell")

from typer.testing import CliRunner  # noqa: E402

from tests.conftest import shared_path  # noqa: E402
from tests.ifc.small_models import build_small_model  # noqa: E402
from twin.cli import app  # noqa: E402

REQUIRED_KEYS = {"schema", "units", "storeys", "elements", "by_class", "with_geometry", "without_geometry", "bbox"}


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "broken.ifc"
    ids = build_small_model(path, broken=True)
    return path, ids


def _info(runner, *args):
    return runner.invoke(app, ["info", *map(str, args)])


def test_json_has_the_documented_keys_and_values(runner, broken, tmp_path):
    path, ids = broken
    result = _info(runner, path, "--json", "--cache-dir", tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert REQUIRED_KEYS <= data.keys()
    assert data["schema"] == "IFC4"
    assert data["units"] == {"length": "MILLIMETRE", "length_scale_to_m": 0.001}
    assert data["storeys"] == ["Level 1"]
    assert data["elements"] == 4
    assert data["by_class"] == {"IfcWall": 2, "IfcBuildingElementProxy": 1, "IfcDuctSegment": 1}
    assert (data["with_geometry"], data["without_geometry"]) == (2, 2)
    assert data["files"][0]["storey_levels"][0]["elevation"] == pytest.approx(3.0)  # 3000 mm
    assert data["bbox"] == [[pytest.approx(0.0), pytest.approx(1.0), pytest.approx(3.0)],
                            [pytest.approx(11.0), pytest.approx(1.2), pytest.approx(6.0)]]


def test_broken_element_is_a_warning_naming_it_and_exit_zero(runner, broken, tmp_path):
    path, ids = broken
    result = _info(runner, path, "--json", "--cache-dir", tmp_path)
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [f["global_id"] for f in data["geometry_failures"]] == [ids["broken"]]
    assert ids["broken"] in result.stderr and "warning" in result.stderr


def test_table_output_is_readable(runner, broken, tmp_path):
    path, _ = broken
    result = _info(runner, path, "--cache-dir", tmp_path)
    assert result.exit_code == 0
    for text in ("IFC4", "MILLIMETRE", "Level 1 (+3.00 m)", "IfcWall", "with geometry", "bounding box"):
        assert text in result.stdout


def test_no_geometry_reports_unknown_geometry_counts(runner, broken, tmp_path):
    path, _ = broken
    result = _info(runner, path, "--json", "--no-geometry", "--cache-dir", tmp_path)
    data = json.loads(result.stdout)
    assert data["elements"] == 4
    assert data["with_geometry"] is None and data["bbox"] is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello, not a model\n", "not an IFC file"),
        (b"", "empty"),
    ],
)
def test_bad_file_is_one_line_error_without_traceback(runner, tmp_path, content, message):
    bad = tmp_path / "bad.ifc"
    bad.write_bytes(content)
    result = _info(runner, bad, "--json", "--no-cache")
    assert result.exit_code == 1
    assert message in result.stderr and "bad.ifc" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_truncated_file_is_an_error(runner, broken, tmp_path):
    path, _ = broken
    cut = tmp_path / "cut.ifc"
    cut.write_bytes(path.read_bytes()[:2000])
    result = _info(runner, cut, "--no-cache")
    assert result.exit_code == 1
    assert "truncated" in result.stderr and "Traceback" not in result.output


def test_unknown_schema_is_an_error(runner, broken, tmp_path):
    path, _ = broken
    other = tmp_path / "ifc9.ifc"
    other.write_text(path.read_text().replace("FILE_SCHEMA(('IFC4'))", "FILE_SCHEMA(('IFC9'))"))
    result = _info(runner, other, "--no-cache")
    assert result.exit_code == 1
    assert "unknown IFC schema" in result.stderr and "ifc9.ifc" in result.stderr


def test_missing_file_is_an_error(runner, tmp_path):
    result = _info(runner, tmp_path / "absent.ifc")
    assert result.exit_code == 1
    assert "absent.ifc" in result.stderr and "Traceback" not in result.output


def test_federated_set_reports_each_file_and_totals(runner, tmp_path):
    names = ["PCERT_Building-Structural.ifc", "PCERT_Building-Hvac.ifc"]
    paths = [shared_path("samples", "ifc", n) for n in names]
    result = _info(runner, *paths, "--json", "--cache-dir", tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == ["IFC4X3_ADD2", "IFC4X3_ADD2"]
    assert [f["path"] for f in data["files"]] == [str(p) for p in paths]
    assert [f["elements"] for f in data["files"]] == [18, 6]
    assert data["elements"] == 18 + 6 - 3  # origin, geo-reference and chimney are in both files
    assert data["by_class"]["IfcDuctSegment"] == 1


def test_real_mm_file_box_is_in_metres(runner, tmp_path):
    path = shared_path("samples", "ifc", "example_revit.ifc")
    result = _info(runner, path, "--json", "--cache-dir", tmp_path)
    data = json.loads(result.stdout)
    assert data["units"]["length"] == "MILLIMETRE"
    lo, hi = data["bbox"]
    assert 5.0 < max(h - l for l, h in zip(lo, hi)) < 100.0
    assert data["elements"] == data["with_geometry"] + data["without_geometry"] == 115
