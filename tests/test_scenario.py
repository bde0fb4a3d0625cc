"""Scenario TOML: loading, validation messages naming the field, the writer, the starter file."""
from __future__ import annotations

import json
import math
import tomllib
from datetime import date, datetime

import pytest

from tests.conftest import ROOT
from twin.errors import MissingFileError, ScenarioError
from twin.model import BuildingModel, Element, Storey
from twin.scenario import dumps_toml, load_scenario, resolve, scenario_from_dict, starter_scenario

FULL = """
[project]
name = "Tower A"
start = 2027-03-01T07:30:00

[model]
files = ["model.ifc"]

[plan]
strategy = "structure-first"
zones = 3
axis = "y"
lag_storeys = 2

[[zones.regions]]
name = "North"
polygon = [[0, 0], [10, 0], [10, 10], [0, 10]]

[links]
mode = "all"
csv = "links.csv"

[[links.rules]]
activity = "{zone}-SLAB"
where = { class = "IfcSlab", "Pset_SlabCommon.IsExternal" = false }

[calendar]
work_days = ["mon", "tue", "wed", "thu", "fri", "sat"]
hours = [["07:00", "12:00"], ["12:30", "16:00"]]
holidays = [2027-12-25]

[[resources.crews]]
trade = "slabs"
count = 2
size = 8

[[resources.cranes]]
name = "TC1"
x = 12.5
y = -4.0
radius_m = 50.0
capacity = [[20.0, 8.0], [50.0, 2.5]]
lift_time_min = 12.0

[[resources.hoists]]
name = "H1"
x = 0.0
y = 0.0

[weather]
climate = "temperate"
wind_ms = 18.0

[uncertainty]
distribution = "triangular"
pessimistic = 1.5
runs = 200
seed = 7

[[uncertainty.risks]]
name = "late steel"
probability = 0.2
impact_days = 10
activities = ["L01-Z1-COL"]

[clash]
tolerance_mm = 10
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "model.ifc").write_text("ISO-10303-21;\nEND-ISO-10303-21;\n")
    (tmp_path / "links.csv").write_text("GlobalId,activity_id\n")
    return tmp_path


def write(folder, text: str):
    p = folder / "scenario.toml"
    p.write_text(text)
    return p


def test_full_scenario_loads_every_section(folder):
    sc = load_scenario(write(folder, FULL))
    assert sc.name == "Tower A" and sc.start == datetime(2027, 3, 1, 7, 30)
    assert sc.model_files == ((folder / "model.ifc").resolve(),)
    assert sc.plan.strategy == "structure-first" and sc.plan.zones == 3 and sc.plan.lag_storeys == 2
    assert sc.zones[0].name == "North" and sc.zones[0].contains((5, 5))
    assert sc.links.mode == "all" and sc.links.csv == (folder / "links.csv").resolve()
    assert sc.links.rules[0].activity == "{zone}-SLAB"
    cal = sc.calendar.to_calendar()
    assert cal.week[5] == ((420, 720), (750, 960)) and cal.week[6] == ()
    assert cal.hours_per_day == 8.5 and date(2027, 12, 25) in cal.exceptions
    assert sc.crew_counts() == {"slabs": 2}
    assert sc.cranes[0].capacity == ((20.0, 8.0), (50.0, 2.5)) and sc.cranes[0].lift_time_min == 12.0
    assert sc.hoists[0].name == "H1"
    assert sc.weather.wind_ms == 18.0 and sc.uncertainty.runs == 200
    assert sc.uncertainty.risks[0].activities == ("L01-Z1-COL",)
    assert sc.other == {"clash": {"tolerance_mm": 10}}      # another module's section is kept, unread


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("radius_m = 50.0", "radius_m = -3", r"resources.cranes\[0\].radius_m: must be > 0, got -3"),
        ("lag_storeys = 2", "lag_stories = 2", r"plan.lag_stories: unknown key"),
        ('strategy = "structure-first"', 'strategy = "spiral"', r"plan.strategy: must be one of"),
        ("probability = 0.2", "probability = 1.2", r"uncertainty.risks\[0\].probability: must be <= 1"),
        ('"12:30", "16:00"', '"16:30", "16:00"', r"calendar.hours\[1\]: end must be after start"),
        ("[20.0, 8.0], [50.0, 2.5]", "[50.0, 8.0], [20.0, 2.5]", r"capacity\[1\]: radii must increase"),
        ('class = "IfcSlab"', 'klass = "IfcSlab"', r"links.rules\[0\].*unknown criterion 'klass'"),
        ('files = ["model.ifc"]', 'files = ["missing.ifc"]', r"model.files\[0\]: file not found: 'missing.ifc'"),
        ("pessimistic = 1.5", "pessimistic = 0.5", r"uncertainty: need optimistic <= most_likely <= pessimistic"),
        ("count = 2", "count = 0", r"resources.crews\[0\].count: must be >= 1, got 0"),
        ('"sat"]', '"saturday", "funday"]', r"calendar.work_days\[6\]: expected a day name"),
    ],
)
def test_invalid_field_is_named(folder, old, new, message):
    assert old in FULL
    with pytest.raises(ScenarioError, match=message):
        load_scenario(write(folder, FULL.replace(old, new, 1)))


def test_error_message_starts_with_the_file(folder):
    with pytest.raises(ScenarioError, match=r"scenario.toml: plan.zones: must be >= 1"):
        load_scenario(write(folder, FULL.replace("zones = 3", "zones = 0")))


def test_schedule_or_plan_is_required_but_not_both(folder):
    base = '[model]\nfiles = ["model.ifc"]\n'
    with pytest.raises(ScenarioError, match="needs a schedule file or a plan strategy"):
        scenario_from_dict(tomllib.loads(base), folder / "s.toml")
    (folder / "s.csv").write_text("id,name,duration_days,predecessors\n")
    both = base + '[schedule]\nfile = "s.csv"\n[plan]\nstrategy = "zone-vertical"\n'
    with pytest.raises(ScenarioError, match="both given"):
        scenario_from_dict(tomllib.loads(both), folder / "s.toml")


def test_bad_toml_reports_the_line(folder):
    with pytest.raises(ScenarioError, match=r"not valid TOML.*line 2"):
        load_scenario(write(folder, '[project]\nname = "unterminated\n'))
    with pytest.raises(MissingFileError):
        load_scenario(folder / "nope.toml")


def test_dumps_toml_round_trips_plain_data():
    data = {
        "project": {"name": 'A "quoted" name', "start": datetime(2027, 3, 1, 8, 0)},
        "calendar": {"holidays": [date(2027, 12, 25)], "hours": [["08:00", "12:00"]]},
        "links": {"mode": "first", "rules": [{"activity": "{zone}-X", "where": {"class": ["IfcSlab"], "Pset.P": True}}]},
        "resources": {"cranes": [{"name": "TC1", "x": 1.5, "y": -2.0, "radius_m": 40.0}]},
    }
    assert tomllib.loads(dumps_toml(data)) == data


def test_starter_scenario_loads_back_with_a_plan(folder):
    out = folder / "scenario.toml"
    text = starter_scenario(out, [folder / "model.ifc"], strategy="zone-vertical", zones=3,
                            start=datetime(2027, 3, 1, 8), crews={"slabs": 2}, crane_at=(10.0, 5.0, 45.0))
    out.write_text(text)
    sc = load_scenario(out)
    assert sc.plan.strategy == "zone-vertical" and sc.plan.zones == 3
    assert sc.cranes[0].radius_m == 45.0 and sc.crew_counts() == {"slabs": 2}
    assert "# twin scenario" in text and "docs/scenario.md" in text


def test_starter_scenario_with_schedule_uses_relative_paths(folder):
    (folder / "sched").mkdir()
    sched = folder / "sched" / "s.csv"
    sched.write_text("id,name,duration_days,predecessors\n")
    out = folder / "scenario.toml"
    out.write_text(starter_scenario(out, [folder / "model.ifc"], sched))
    raw = tomllib.loads(out.read_text())
    assert raw["schedule"] == {"file": "sched/s.csv"} and raw["model"] == {"files": ["model.ifc"]}
    assert load_scenario(out).schedule_file == sched.resolve()


def test_resolve_plans_and_links_with_a_given_model(folder):
    els = [Element(f"S{i}", "IfcSlab", storey="L0", bbox=((10 * i, 0, 0), (10 * i + 10, 8, 0.3)),
                   quantities={"Q.NetVolume": 24.0}) for i in range(2)]
    model = BuildingModel((), (Storey("s", "L0", 0.0),), {e.global_id: e for e in els})
    raw = tomllib.loads('[model]\nfiles = ["model.ifc"]\n[plan]\nstrategy = "two-crews"\nzones = 2\n'
                        '[[links.rules]]\nactivity = "L00-{zone}-SLB"\nwhere = { trade = "slabs" }\n')
    sc = scenario_from_dict(raw, folder / "s.toml")
    r = resolve(sc, model=model)
    assert set(r.links.activities_of("S0")) == {"L00-Z1-SLB"}
    assert r.report.unlinked == () and r.plan.strategy == "two-crews"
    assert r.report.rules[0].matched == 0          # "first" mode: the plan's links came first


def test_core_modules_do_not_import_ifcopenshell_or_engines():
    import subprocess
    import sys

    code = ("import sys, twin.links, twin.plan, twin.scenario, twin.zones; "
            "bad = [m for m in ('ifcopenshell', 'simpy', 'pyvista', 'plotly', 'streamlit', 'sqlalchemy') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_zone_split_links_a_schedule_by_zone(folder):
    els = [Element(f"S{i}", "IfcSlab", storey="L0", bbox=((10 * i, 0, 0), (10 * i + 10, 8, 0.3))) for i in range(2)]
    model = BuildingModel((), (Storey("s", "L0", 0.0),), {e.global_id: e for e in els})
    (folder / "s.csv").write_text("id,name,duration_days,predecessors\nZ1-SLAB,Slab 1,2,\nZ2-SLAB,Slab 2,2,Z1-SLAB\n")
    raw = tomllib.loads('[model]\nfiles = ["model.ifc"]\n[schedule]\nfile = "s.csv"\n[zones]\ncount = 2\naxis = "x"\n'
                        '[[links.rules]]\nactivity = "{zone}-SLAB"\nwhere = { class = "IfcSlab" }\n')
    sc = scenario_from_dict(raw, folder / "scenario.toml")
    assert sc.zone_split == (2, "x")
    r = resolve(sc, model=model)
    assert sorted(r.links.pairs) == [("Z1-SLAB", "S0"), ("Z2-SLAB", "S1")]


def test_zone_count_and_regions_together_is_an_error(folder):
    raw = tomllib.loads('[model]\nfiles = ["model.ifc"]\n[plan]\n[zones]\ncount = 2\n'
                        '[[zones.regions]]\nname = "A"\npolygon = [[0, 0], [1, 0], [1, 1]]\n')
    with pytest.raises(ScenarioError, match="zones.count and zones.regions are both given"):
        scenario_from_dict(raw, folder / "s.toml")


def test_a_scenario_resolves_to_one_plan_whether_geometry_is_asked_or_not(tmp_path):
    from dataclasses import asdict

    from tests.conftest import ROOT
    from twin.ifc import load_model
    from twin.plan import generate_plan
    from twin.scenario import needs_geometry
    from twin.sim.inputs import config_from_scenario

    demo = ROOT / "samples" / "demo_building.ifc"
    out = tmp_path / "tower.toml"
    out.write_text(starter_scenario(out, [demo], start=datetime(2027, 3, 1, 8), crane_at=(15.0, 10.0, 60.0)))
    sc = load_scenario(out)
    assert needs_geometry(sc)
    plain = resolve(sc, geometry=False)
    full = resolve(sc, geometry=True)
    given = resolve(sc, model=load_model(str(demo), geometry=False))     # a caller's model read without meshes
    assert not plain.model.meshes and full.model.meshes and not given.model.meshes
    assert plain.model.bbox == full.model.bbox is not None                # boxes come either way
    for other in (full, given):
        assert [asdict(a) for a in plain.schedule.activities.values()] == \
               [asdict(a) for a in other.schedule.activities.values()]
        assert [a.duration_h for a in plain.schedule.activities.values()] == \
               [a.duration_h for a in other.schedule.activities.values()]
        assert plain.schedule.relationships == other.schedule.relationships
        assert sorted(plain.links.pairs) == sorted(other.links.pairs)
        assert config_from_scenario(plain).demands == config_from_scenario(other).demands
    # the plan does depend on geometry: planned from records alone, durations differ
    bare = generate_plan(load_model(str(demo), geometry=False), "storey-by-storey", zones=2, start=sc.start,
                         calendar=sc.calendar.to_calendar())
    assert [a.duration_h for a in bare.schedule.activities.values()] != \
           [a.duration_h for a in plain.schedule.activities.values()]


def test_starter_resources_place_crane_hoist_and_crews():
    from twin.schedule import Activity, Schedule
    from twin.scenario import starter_resources

    els = [Element("W", "IfcWall", storey="L1", bbox=((0.0, 0.0, 3.0), (30.0, 40.0, 6.0)))]
    model = BuildingModel((), (Storey("s0", "L0", 0.0), Storey("s1", "L1", 3.0)), {"W": els[0]})
    res = starter_resources(model, two_crews=True)
    x, y, reach = res["crane_at"]
    # 30 x 40 m: on a long side, 4 m clear of the footprint, facing the wall's centre (15, 20); the west
    # side is where the hoist stands, so east; the reach is 19 m + 1 m spare (the 20 m minimum)
    assert (x, y) == (34.0, 20.0) and reach == 20.0
    assert res["crane_capacity"][0][1] >= 8.0
    assert res["hoist_at"] == (-2.0, 20.0) and set(res["crews"].values()) == {2}
    sched = Schedule(activities={"A": Activity("A", "a", attributes={"trade": "walls"}),
                                 "B": Activity("B", "b")})
    assert starter_resources(model, sched)["crews"] == {"walls": 1}
    flat = BuildingModel((), (Storey("s0", "L0", 0.0),), {"W": Element("W", "IfcWall")})
    assert starter_resources(flat, sched) == {"crews": {"walls": 1}, "crane_at": None, "crane_capacity": None,
                                              "hoist_at": None}


def test_place_crane_takes_the_side_needing_the_least_reach_and_charts_the_heaviest_lift():
    from twin.conflicts import capacity_at
    from twin.scenario import place_crane

    # a 60 x 20 m plan: the long sides need less reach than the short ones; a 12 t panel at the far corner
    els = {f"B{i}": Element(f"B{i}", "IfcBeam", bbox=((x, y, 3.0), (x + 1.0, y + 1.0, 3.5)),
                            quantities={"Qto.NetWeight": 500.0})
           for i, (x, y) in enumerate([(0.0, 0.0), (59.0, 0.0), (0.0, 19.0), (59.0, 19.0)])}
    els["P"] = Element("P", "IfcWall", bbox=((58.0, 18.0, 0.0), (60.0, 20.0, 3.0)), quantities={"Qto.GrossWeight": 12000.0})
    model = BuildingModel((), (Storey("s0", "L0", 0.0),), els)
    crane = place_crane(model, sorted(els))
    assert crane["side"] == "south" and crane["y"] == -4.0 and abs(crane["x"] - 30.0) <= 0.5
    far = math.hypot(59.0 - crane["x"], 19.0 + 4.0)
    assert crane["radius_m"] >= far + 1.0 - 1e-9
    assert capacity_at(crane["capacity"], far) >= 12.0 and crane["heaviest_t"] == 12.0
    assert place_crane(model, sorted(els)) == crane                          # deterministic
    # the hoist's spot is avoided
    moved = place_crane(model, sorted(els), avoid=[(crane["x"], crane["y"])])
    assert math.hypot(moved["x"] - crane["x"], moved["y"] - crane["y"]) >= 5.0


def test_the_demo_starter_crane_stands_clear_and_reaches_and_lifts_everything(tmp_path):
    from typer.testing import CliRunner

    from twin.cli import app
    from twin.conflicts import run_conflicts

    demo = ROOT / "samples" / "demo_building.ifc"
    out = tmp_path / "s" / "scenario.toml"
    out.parent.mkdir()
    res = CliRunner().invoke(app, ["init", str(demo), "-o", str(out), "--json"])
    assert res.exit_code == 0, res.output
    sc = load_scenario(out)
    doc = run_conflicts(out)
    assert doc["crane"] == [] and doc["support"] == []
    # the mast passes through no element: a 4D clash of the temporary objects against the building
    res = CliRunner().invoke(app, ["clash", str(out), "--a", "Temporary", "--b", "*", "--no-snapshots",
                                   "--no-cache", "--json"])
    assert res.exit_code == 0, res.output
    clash = json.loads(res.stdout)
    assert clash["clashes"] == [] and clash["selected"]
    (lo, hi) = load_model_box(demo)
    c = sc.cranes[0]
    assert not (lo[0] <= c.x <= hi[0] and lo[1] <= c.y <= hi[1])           # outside the footprint
    again = tmp_path / "t" / "scenario.toml"
    again.parent.mkdir()
    assert CliRunner().invoke(app, ["init", str(demo), "-o", str(again)]).exit_code == 0
    assert load_scenario(again).cranes == sc.cranes                         # deterministic


def load_model_box(path):
    from twin.ifc import load_model

    return load_model(str(path), geometry=True).bbox
