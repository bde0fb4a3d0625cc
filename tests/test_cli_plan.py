"""`twin plan`, `twin link`, `twin init` through typer's CliRunner, on the real sample models."""
from __future__ import annotations

import json
import tomllib

import pytest
from typer.testing import CliRunner

from twin.cli import app

runner = CliRunner()
pytestmark = pytest.mark.slow


@pytest.fixture
def house(shared):
    path = shared / "samples" / "ifc" / "IfcOpenHouse_IFC4.ifc"
    if not path.exists():
        pytest.skip(f"reference file {path} is absent")
    return path


def run(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    return result


def test_plan_writes_a_csv_that_twin_schedule_reads_back(house, tmp_path):
    out = tmp_path / "plan.csv"
    r = run("plan", house, "--strategy", "structure-first", "--zones", "2", "--start", "2027-03-01", "-o", out, "--json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["strategy"] == "structure-first" and info["activities"] > 0
    assert info["start"] == "2027-03-01T08:00" and info["finish"] > info["start"]
    assert (tmp_path / "plan.links.csv").is_file() and info["links"] > 0
    back = run("schedule", out, "--json")
    assert back.exit_code == 0, back.output
    from twin.importers import read_schedule

    sched = read_schedule(out)
    assert len(sched.activities) == info["activities"] + info["milestones"]
    assert len(sched.relationships) == info["relationships"]
    a = next(a for a in sched.activities.values() if a.attributes.get("trade") == "slabs")
    assert a.attributes["zone"] in ("Z1", "Z2") and isinstance(a.attributes["lifts"], int)


def test_plan_writes_ms_project_xml(house, tmp_path):
    out = tmp_path / "plan.xml"
    r = run("plan", house, "-s", "zone-vertical", "-o", out, "--json")
    assert r.exit_code == 0, r.output
    from twin.importers import read_schedule

    assert len(read_schedule(out).activities) == json.loads(r.stdout)["activities"] + 2


def test_link_uses_the_plan_links_and_exports_ifc_4d(house, tmp_path):
    import ifcopenshell
    import ifcopenshell.util.sequence

    sched = tmp_path / "plan.csv"
    assert run("plan", house, "-o", sched, "--json").exit_code == 0
    out = tmp_path / "house-4d.ifc"
    r = run("link", house, sched, "-o", out, "--json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["counts"]["unlinked_with_geometry"] == 0 and info["counts"]["empty_activities"] == 0
    assert info["export"]["product_links"] == info["counts"]["linked"]
    f = ifcopenshell.open(str(out))
    ws = f.by_type("IfcWorkSchedule")[0]
    assert len(list(ifcopenshell.util.sequence.get_work_schedule_tasks(ws))) == info["counts"]["activities"]


def test_link_with_rules_reports_rules_that_match_nothing(house, tmp_path):
    sched = tmp_path / "s.csv"
    sched.write_text("id,name,duration_days,predecessors\nWALLS,Walls,5,\nSLABS,Slabs,3,WALLS\nPILES,Piles,2,\n")
    rules = tmp_path / "rules.toml"
    rules.write_text('[[links.rules]]\nactivity = "WALLS"\nwhere = { class = "IfcWall" }\n'
                     '[[links.rules]]\nactivity = "SLABS"\nwhere = { class = "IfcSlab" }\n'
                     '[[links.rules]]\nactivity = "PILES"\nwhere = { class = "IfcPile" }\nlabel = "piles"\n')
    r = run("link", house, sched, "--rules", rules, "--json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert [x["matched"] > 0 for x in info["rules"]] == [True, True, False]
    assert any("piles: matched no element" in w for w in info["warnings"])
    assert info["empty_activities"] == ["PILES"] and info["counts"]["unlinked"] > 0


def test_link_csv_with_unknown_ids_is_listed_and_strict_fails(house, tmp_path):
    sched = tmp_path / "s.csv"
    sched.write_text("id,name,duration_days,predecessors\nA,All,5,\n")
    links = tmp_path / "links.csv"
    links.write_text("GlobalId,activity_id\nNOT_A_GUID_0000000000,A\n")
    r = run("link", house, sched, "--links", links, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["unknown_global_ids"] == ["NOT_A_GUID_0000000000"]
    r = run("link", house, sched, "--links", links, "--strict")
    assert r.exit_code == 1 and "NOT_A_GUID_0000000000" in " ".join(r.output.split())
    assert "Traceback" not in r.output


def test_init_writes_a_scenario_that_loads(house, tmp_path):
    from twin.scenario import load_scenario

    out = tmp_path / "scenario.toml"
    r = run("init", house, "-o", out, "--strategy", "two-crews", "--json")
    assert r.exit_code == 0, r.output
    sc = load_scenario(out)
    assert sc.plan.strategy == "two-crews" and sc.model_files == (house.resolve(),)
    assert sc.cranes and sc.cranes[0].radius_m > 0
    assert sc.hoists == () and json.loads(r.stdout)["hoist"] is None    # one storey: no hoist
    assert set(tomllib.loads(out.read_text())) >= {"project", "model", "plan", "links", "calendar", "resources",
                                                  "weather", "uncertainty"}
    again = run("init", house, "-o", out)
    assert again.exit_code == 1 and "--force" in " ".join(again.output.split())


def test_init_with_a_schedule_points_at_it_and_its_links(house, tmp_path):
    from twin.scenario import load_scenario

    sched = tmp_path / "plan.csv"
    assert run("plan", house, "-o", sched, "--start", "2027-05-03", "--json").exit_code == 0
    out = tmp_path / "scenario.toml"
    r = run("init", house, sched, "-o", out, "--json")
    assert r.exit_code == 0, r.output
    sc = load_scenario(out)
    assert sc.schedule_file == sched.resolve() and sc.links.csv == (tmp_path / "plan.links.csv").resolve()
    assert sc.start.date().isoformat() == "2027-05-03"


@pytest.mark.parametrize(
    "args, message",
    [
        (["plan", "{house}", "-s", "diagonal", "-o", "{tmp}/x.csv"], "unknown strategy 'diagonal'"),
        (["plan", "{house}", "-o", "{tmp}/x.txt"], "must end in .csv or .xml"),
        (["plan", "{tmp}/missing.ifc", "-o", "{tmp}/x.csv"], "IFC model not found"),
        (["plan", "{house}", "-o", "{tmp}/x.csv", "--crews", "slabs"], "--crews: expected TRADE=COUNT"),
        (["plan", "{house}", "-o", "{tmp}/x.csv", "--start", "soon"], "--start: expected a date"),
        (["link", "{house}", "{tmp}/missing.csv"], "schedule file not found"),
    ],
)
def test_bad_input_exits_1_with_a_clear_message(house, tmp_path, args, message):
    r = run(*[a.format(house=house, tmp=tmp_path) for a in args])
    assert r.exit_code == 1
    text = " ".join(r.output.split())        # rich wraps long lines
    assert message in text and "Traceback" not in text
    assert not (tmp_path / "x.csv").exists()


def test_link_schedule_from_another_project_reports_the_overlap(house, shared):
    pytest.importorskip("twin.ifc.schedule4d_read", reason="the IFC work-schedule reader has not landed")
    other = shared / "samples" / "ifc4d" / "construction-scheduling-task.ifc"
    r = run("link", house, other, "--json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["overlap"] == {"schedule_global_ids": 6, "found_in_model": 0}
    assert any("different projects" in w and "0 of the 6" in w for w in info["warnings"])
    assert info["counts"]["linked"] == 0


def test_link_the_4d_sample_to_itself_exports_it_again(shared, tmp_path):
    pytest.importorskip("twin.ifc.schedule4d_read", reason="the IFC work-schedule reader has not landed")
    src = shared / "samples" / "ifc4d" / "construction-scheduling-task.ifc"
    out = tmp_path / "again.ifc"
    r = run("link", src, src, "-o", out, "--json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["overlap"]["found_in_model"] == info["overlap"]["schedule_global_ids"]
    assert info["export"]["tasks"] == 8 and info["export"]["sequences"] == 7


def test_init_scenario_resolves_to_a_linked_plan(house, tmp_path):
    from twin.scenario import load_scenario, resolve

    out = tmp_path / "scenario.toml"
    r = run("init", house, "-o", out, "-s", "two-crews", "--start", "2027-03-01", "--json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["crews"] and set(info["crews"].values()) == {2}
    res = resolve(load_scenario(out))
    assert res.plan.strategy == "two-crews" and res.schedule.start.isoformat() == "2027-03-01T08:00:00"
    assert res.report.unlinked_with_geometry == () and res.report.empty_activities == ()
    assert "CREW-SLB-2" in res.schedule.resources or "CREW-WAL-2" in res.schedule.resources


def test_plan_all_strategies_side_by_side(house, tmp_path):
    out = tmp_path / "plan.csv"
    r = run("plan", house, "-s", "all", "-o", out, "--start", "2027-03-01", "--json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    from twin.plan import STRATEGIES

    assert [p["strategy"] for p in info["plans"]] == list(STRATEGIES)
    assert info["fastest"] == min(info["plans"], key=lambda p: p["finish"])["strategy"]
    for name in STRATEGIES:
        assert (tmp_path / f"plan-{name}.csv").is_file() and (tmp_path / f"plan-{name}.links.csv").is_file()
    text = run("plan", house, "-s", "all", "-o", out)
    assert text.exit_code == 0 and "Strategies side by side" in text.output


def test_link_into_ifc2x3_without_upgrade_fails_early_with_the_reason(shared, tmp_path):
    duplex = shared / "samples" / "ifc" / "Duplex_A_20110907.ifc"
    sched = tmp_path / "s.csv"
    sched.write_text("id,name,duration_days,predecessors\nA,All,5,\n")
    r = run("link", duplex, sched, "-o", tmp_path / "out.ifc")
    assert r.exit_code == 1
    text = " ".join(r.output.split())
    assert "IFC2X3 cannot hold IfcTaskTime" in text and "--upgrade" in text and "Traceback" not in text
    assert not (tmp_path / "out.ifc").exists()


def test_init_adds_a_hoist_for_a_building_with_upper_storeys(shared, tmp_path):
    from twin.scenario import load_scenario

    duplex = shared / "samples" / "ifc" / "Duplex_A_20110907.ifc"
    out = tmp_path / "scenario.toml"
    r = run("init", duplex, "-o", out, "--json")
    assert r.exit_code == 0, r.output
    sc = load_scenario(out)
    assert len(sc.hoists) == 1 and sc.hoists[0].trip_time_min > 0
    (x0, y0, _), (x1, y1, _) = __import__("twin.ifc", fromlist=["load_model"]).load_model(str(duplex)).bbox
    assert sc.hoists[0].x < x0 and y0 <= sc.hoists[0].y <= y1
