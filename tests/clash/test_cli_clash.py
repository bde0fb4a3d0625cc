"""`twin clash` and `twin conflicts` through typer's CliRunner: JSON keys, review diff, 4D dates and
temporary objects, BCF 2.1 / 3.0 read back with bcf-client, and bad input (exit 1, one line)."""
from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from tests.conftest import ROOT
from twin.cli import app

runner = CliRunner()
DEMO = ROOT / "samples" / "demo_building.ifc"
MEP = "IfcDuctSegment,IfcPipeSegment"


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "cache"))


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def clash_json(*args):
    r = run("clash", *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_clash_json_keys_and_the_designed_clashes():
    doc = clash_json(DEMO, "--a", MEP, "--b", "IfcBeam")
    assert {"clashes", "groups", "warnings", "counts", "stats", "resolved"} <= set(doc)
    assert len(doc["clashes"]) == 24 and doc["counts"] == {"hard": 24}
    c = doc["clashes"][0]
    assert {"id", "a", "b", "type", "distance", "point", "status", "group"} <= set(c)
    assert c["a_class"] in ("IfcDuctSegment", "IfcPipeSegment") and c["b_class"] == "IfcBeam"
    assert sum(len(g["clashes"]) for g in doc["groups"]) == 24
    swapped = clash_json(DEMO, "--a", "IfcBeam", "--b", MEP)
    assert {x["id"] for x in swapped["clashes"]} == {x["id"] for x in doc["clashes"]}


def test_review_statuses_carry_over_and_resolved_clashes_are_listed(tmp_path):
    first = clash_json(DEMO, "--a", MEP, "--b", "IfcBeam")
    first["clashes"][0]["status"] = "approved"
    first["clashes"][1]["status"] = "reviewed"
    prev = tmp_path / "prev.json"
    prev.write_text(json.dumps(first))
    # the pipes are fixed: only ducts remain
    second = clash_json(DEMO, "--a", "IfcDuctSegment", "--b", "IfcBeam", "--previous", prev)
    ids = {c["id"]: c["status"] for c in second["clashes"]}
    assert set(ids.values()) <= {"active", "approved", "reviewed"}
    for c in first["clashes"][:2]:
        if c["id"] in ids:
            assert ids[c["id"]] == c["status"]
    assert len(second["resolved"]) == 24 - len(second["clashes"]) > 0
    assert second["status"]["resolved"] == len(second["resolved"])


def test_clearance_and_touch_modes():
    clear = clash_json(DEMO, "--a", "IfcDuctSegment", "--b", "IfcBeam", "--mode", "clearance", "--clearance", "0.15")
    assert clear["counts"]["clearance"] > 12                     # supply ducts run 0.1 m under the beams
    assert all(c["distance"] < 0.15 for c in clear["clashes"])
    touch = clash_json(DEMO, "--a", "IfcColumn", "--b", "IfcBeam", "--mode", "touch")
    assert touch["counts"].get("touch", 0) > 0 and "hard" not in touch["counts"]


def test_a_selection_matching_nothing_is_a_warning():
    r = run("clash", DEMO, "--a", "IfcDoor", "--b", "IfcBeam", "--json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["clashes"] == [] and any("--a 'IfcDoor' matches no element" in w for w in doc["warnings"])


@pytest.mark.parametrize("args, message", [
    (["--mode", "soft"], "--mode must be hard, touch or clearance"),
    (["--a", "Wall"], "not an IFC class name"),
    (["--exclude", "same-colour"], "exclusion 'same-colour'"),
    (["--bcf", "/nonexistent/folder/out.bcf"], "folder '/nonexistent/folder' does not exist"),
    (["--bcf", "out.txt"], "must end in .bcf"),
    (["--bcf-version", "4.0", "--bcf", "x.bcf"], "--bcf-version must be 2.1 or 3.0"),
])
def test_bad_options_exit_1_with_one_line(args, message):
    r = run("clash", DEMO, *args)
    assert r.exit_code == 1
    assert message in r.output and "Traceback" not in r.output


def test_unwritable_bcf_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        import os
        if os.access(ro, os.W_OK):
            pytest.skip("running as a user that can write anywhere")
        r = run("clash", DEMO, "--bcf", ro / "x.bcf")
        assert r.exit_code == 1 and "not writable" in r.output
    finally:
        ro.chmod(0o700)


def test_a_model_without_geometry_is_an_error(tmp_path):
    import ifcopenshell.api.project
    import ifcopenshell.api.root

    f = ifcopenshell.api.project.create_file(version="IFC4")
    ifcopenshell.api.root.create_entity(f, ifc_class="IfcProject", name="P")
    ifcopenshell.api.root.create_entity(f, ifc_class="IfcWall", name="no body")
    path = tmp_path / "empty.ifc"
    f.write(str(path))
    r = run("clash", path)
    assert r.exit_code == 1 and "no geometry" in r.output and "Traceback" not in r.output


def test_a_missing_model_is_an_error(tmp_path):
    r = run("clash", tmp_path / "nope.ifc")
    assert r.exit_code == 1 and "nope.ifc" in r.output


@pytest.mark.parametrize("version", ["2.1", "3.0"])
def test_bcf_is_read_back_by_bcf_client(tmp_path, version):
    from twin.bcf import read_bcf_topics

    out = tmp_path / "clashes.bcf"
    doc = clash_json(DEMO, "--a", "IfcDuctSegment", "--b", "IfcBeam", "--bcf", out, "--bcf-version", version)
    assert doc["bcf"]["topics"] == len(doc["clashes"]) == doc["bcf"]["snapshots"]
    topics = read_bcf_topics(out)
    assert len(topics) == len(doc["clashes"])
    pairs = {frozenset((c["a"], c["b"])) for c in doc["clashes"]}
    for t in topics:
        assert t["title"].startswith("Hard clash c")
        (vp,) = t["viewpoints"]
        assert frozenset(vp["selected"]) in pairs
        assert vp["snapshot_bytes"] > 5000
    import zipfile

    with zipfile.ZipFile(out) as z:
        png = next(n for n in z.namelist() if n.endswith(".png"))
        data = z.read(png)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        version_xml = z.read("bcf.version").decode()
        assert version in version_xml


def test_bcf_one_topic_per_group(tmp_path):
    from twin.bcf import read_bcf_topics

    out = tmp_path / "groups.bcf"
    doc = clash_json(DEMO, "--a", MEP, "--b", "IfcBeam", "--bcf", out, "--bcf-per", "group", "--no-snapshots")
    topics = read_bcf_topics(out)
    assert len(topics) == len(doc["groups"]) and all(t["viewpoints"][0]["snapshot_bytes"] == 0 for t in topics)


@pytest.fixture
def scenario(tmp_path):
    model = tmp_path / "demo_building.ifc"
    shutil.copy(DEMO, model)
    out = tmp_path / "demo.toml"
    r = run("init", model, "-o", out, "--start", "2027-03-01")
    assert r.exit_code == 0, r.output
    return out


def test_4d_clash_dates_and_temporary_objects(scenario):
    text = scenario.read_text()
    text += ('\n[[temporary]]\nname = "scaffold south"\nkind = "scaffold"\nbox = [[0.0, -1.0, 0.0], [30.0, -0.1, 8.0]]\n'
             'start = 2027-03-01\nfinish = 2027-05-01\n')
    scenario.write_text(text)
    doc = clash_json(scenario, "--a", "Temporary|" + MEP, "--b", "*")
    assert doc["four_d"] is True
    mep = [c for c in doc["clashes"] if c["a_class"] != "Temporary" and c["b_class"] == "IfcBeam"]
    assert len(mep) == 24 and all(c["first"] is not None and c["days"] >= 0 for c in mep)
    temp = [c for c in doc["clashes"] if "TEMP:scaffold south" in (c["a"], c["b"])]
    assert temp, "the scaffold stands where the south walls go"
    assert all(c["first"] is None or c["first"] >= "2027-03-01" and c["last"] <= "2027-05-01T00:00" for c in temp)


def test_conflicts_json_keys(scenario):
    r = run("conflicts", scenario, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert {"support", "workspace", "crane", "logic", "counts", "warnings"} <= set(doc)
    assert doc["support_graph"]["pairs"] == 654
    for f in doc["support"] + doc["workspace"] + doc["crane"]:
        assert f["activities"] and f["message"]


def test_conflicts_bad_scenario_is_an_error(tmp_path):
    r = run("conflicts", tmp_path / "missing.toml")
    assert r.exit_code == 1 and "missing.toml" in r.output and "Traceback" not in r.output
