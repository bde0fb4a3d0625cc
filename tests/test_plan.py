"""Model-based sequence generation on inline models; the real sample models when the reader is there."""
from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime

import networkx as nx
import pytest

from twin.errors import InputError, MissingFileError
from twin.model import BuildingModel, Element, Storey
from twin.plan import STRATEGIES, element_quantity, generate_plan, load_rates
from twin.schedule import ActivityType

START = datetime(2027, 3, 1, 8, 0)


def frame_model(n_storeys: int = 3, slab_volume: float = 40.0, extra=()) -> BuildingModel:
    """A two-bay frame: per storey 4 columns, 2 slabs, 2 walls, a door, a proxy; x from 0 to 20 m."""
    els = [Element("F1", "IfcFooting", storey="L0", bbox=((0, 0, -1), (20, 8, 0)),
                   quantities={"Qto_FootingBaseQuantities.NetVolume": 30.0})]
    for s in range(n_storeys):
        z = 3.0 * s
        name = f"L{s}"
        for i, x in enumerate((0.0, 9.0, 11.0, 19.5)):
            els.append(Element(f"C{s}{i}", "IfcColumn", storey=name, bbox=((x, 0, z), (x + 0.5, 0.5, z + 3)),
                               quantities={"Qto_ColumnBaseQuantities.NetVolume": 0.75}))
        for i, x in enumerate((0.0, 10.0)):
            els.append(Element(f"S{s}{i}", "IfcSlab", storey=name, predefined_type="FLOOR",
                               bbox=((x, 0, z + 2.8), (x + 10, 8, z + 3)),
                               quantities={"Qto_SlabBaseQuantities.NetVolume": slab_volume}))
            els.append(Element(f"W{s}{i}", "IfcWallStandardCase", storey=name,
                               bbox=((x, 7.8, z), (x + 10, 8, z + 2.8)),
                               quantities={"Qto_WallBaseQuantities.NetSideArea": 28.0}))
        els.append(Element(f"D{s}", "IfcDoor", storey=name, bbox=((4, 7.8, z), (5, 8, z + 2.1))))
        els.append(Element(f"P{s}", "IfcBuildingElementProxy", storey=name, bbox=((15, 2, z), (16, 3, z + 1))))
    els.extend(extra)
    storeys = tuple(Storey(f"st{s}", f"L{s}", 3.0 * s) for s in range(n_storeys))
    return BuildingModel(files=(), storeys=storeys, elements={e.global_id: e for e in els})


def graph(schedule) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(schedule.activities)
    g.add_edges_from((r.pred, r.succ) for r in schedule.relationships)
    return g


def longest_path_hours(schedule) -> float:
    """Project length in working hours with FS zero-lag logic (independent of twin.cpm)."""
    g = graph(schedule)
    finish: dict[str, float] = {}
    for a in nx.topological_sort(g):
        start = max((finish[p] for p in g.predecessors(a)), default=0.0)
        finish[a] = start + schedule.activities[a].duration_h
    return max(finish.values())


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_strategy_is_acyclic_and_links_every_element(strategy):
    model = frame_model()
    plan = generate_plan(model, strategy, zones=2, start=START)
    g = graph(plan.schedule)
    assert nx.is_directed_acyclic_graph(g)
    assert {g for _, g in plan.links.pairs} == set(model.elements)
    assert len(plan.links.pairs) == len(model.elements)          # each element exactly once
    assert set(plan.schedule.element_links) == set(plan.links.pairs)
    # one start and one finish milestone bracket the network
    assert [a for a in g if g.in_degree(a) == 0] == ["START"]
    assert [a for a in g if g.out_degree(a) == 0] == ["FINISH"]
    for r in plan.schedule.relationships:
        assert r.pred in plan.schedule.activities and r.succ in plan.schedule.activities


def test_activities_are_per_storey_zone_and_trade_with_attributes():
    plan = generate_plan(frame_model(), "storey-by-storey", zones=2, start=START)
    a = plan.schedule.get_activity("L01-Z2-SLB")
    assert a.attributes["trade"] == "slabs" and a.attributes["zone"] == "Z2" and a.attributes["storey"] == "L1"
    assert a.attributes["quantity"] == pytest.approx(40.0) and a.attributes["unit"] == "m3"
    assert a.attributes["quantity_source"] == "qto"
    assert plan.links.elements_of("L01-Z2-SLB") == ("S11",)
    # the proxy has no trade of its own: it goes to the catch-all fit-out trade, not unlinked
    assert plan.links.activities_of("P0") == ("L00-Z2-OTH",)


def test_activities_carry_the_weather_sensitivity_the_simulator_reads():
    from twin.sim.weather import get_sensitivity

    plan = generate_plan(frame_model(), "storey-by-storey", start=START)
    slab, door = plan.schedule.get_activity("L01-Z1-SLB"), plan.schedule.get_activity("L01-Z1-DOR")
    assert get_sensitivity(slab.name, slab.attributes) == {"rain", "wind"}
    assert get_sensitivity(door.name, door.attributes) == frozenset()


def test_doubling_slab_volume_lengthens_slab_activities():
    small = generate_plan(frame_model(slab_volume=100.0), "storey-by-storey", start=START)
    large = generate_plan(frame_model(slab_volume=200.0), "storey-by-storey", start=START)
    a, b = small.schedule.get_activity("L01-Z1-SLB"), large.schedule.get_activity("L01-Z1-SLB")
    assert b.duration_h > a.duration_h
    assert b.duration_h == pytest.approx(2 * a.duration_h, abs=1.0)
    assert b.attributes["lifts"] > a.attributes["lifts"]


def test_duration_follows_the_rate_table_formula():
    rates = load_rates()
    slabs = rates.trades["slabs"]
    plan = generate_plan(frame_model(slab_volume=100.0), "storey-by-storey", start=START, rates=rates)
    a = plan.schedule.get_activity("L00-Z1-SLB")
    assert a.duration_h == pytest.approx(100.0 / slabs.rate * rates.hours_per_day)   # 32 h at 25 m3/day
    assert a.attributes["lifts"] == 40                                                 # 0.4 per m3


def test_rates_file_overrides_one_field(tmp_path):
    p = tmp_path / "rates.toml"
    p.write_text("[trades.slabs]\nrate = 50.0\n")
    rates = load_rates(p)
    assert rates.trades["slabs"].rate == 50.0 and rates.trades["slabs"].code == "SLB"
    plan = generate_plan(frame_model(slab_volume=100.0), "storey-by-storey", start=START, rates=rates)
    assert plan.schedule.get_activity("L00-Z1-SLB").duration_h == 16.0


@pytest.mark.parametrize(
    "text, message",
    [
        ("[trades.slabs]\nrate = -1\n", r"trades.slabs.rate: must be > 0, got -1"),
        ("[trades.slabs]\nspeed = 3\n", r"trades.slabs: unknown key\(s\) speed"),
        ("[[classify]]\ntrade = 'plumbing'\nwhere = {class = 'IfcPipeSegment'}\n", r"classify\[0\].trade: unknown trade 'plumbing'"),
        ("[trades.slabs]\nquantity = 'tonnes'\n", r"trades.slabs.quantity: must be one of"),
        ("[trades.slabs]\nweather = 'snow'\n", r"trades.slabs.weather: must be one of none, rain, wind, rain\+wind"),
    ],
)
def test_bad_rates_file_names_the_field(tmp_path, text, message):
    p = tmp_path / "rates.toml"
    p.write_text(text)
    with pytest.raises(InputError, match=message):
        load_rates(p)


def test_missing_rates_file_is_a_clear_error(tmp_path):
    with pytest.raises(MissingFileError, match="rates file not found"):
        load_rates(tmp_path / "nope.toml")


def test_user_classify_rules_come_first(tmp_path):
    p = tmp_path / "rates.toml"
    p.write_text("[[classify]]\ntrade = 'mep'\nwhere = { class = 'IfcBuildingElementProxy' }\n")
    plan = generate_plan(frame_model(), "storey-by-storey", start=START, rates=load_rates(p))
    assert plan.schedule.get_activity(plan.links.activities_of("P0")[0]).attributes["trade"] == "mep"


def test_storey_by_storey_finishes_a_storey_before_the_next_starts():
    plan = generate_plan(frame_model(), "storey-by-storey", zones=2, start=START)
    g = graph(plan.schedule)
    for aid in ("L00-Z1-DOR", "L00-Z2-OTH"):
        assert nx.has_path(g, aid, "L01-Z1-COL")


def test_zone_vertical_tops_out_zone_one_before_zone_two_starts_each_trade():
    plan = generate_plan(frame_model(), "zone-vertical", zones=2, start=START)
    g = graph(plan.schedule)
    assert nx.has_path(g, "L02-Z1-SLB", "L00-Z2-SLB")
    assert not nx.has_path(g, "L00-Z2-COL", "L02-Z1-COL")


def non_bearing_walls(model: BuildingModel) -> BuildingModel:
    """``model`` with its walls marked ``Pset_WallCommon.LoadBearing = False`` (their tops touch the slabs)."""
    els = {g: (replace(e, properties={**e.properties, "Pset_WallCommon.LoadBearing": False})
               if e.ifc_class.startswith("IfcWall") else e) for g, e in model.elements.items()}
    return replace(model, elements=els)


def test_structure_first_keeps_follow_on_trades_n_storeys_behind():
    model = non_bearing_walls(frame_model(n_storeys=4))
    plan = generate_plan(model, "structure-first", zones=1, lag_storeys=2, start=START)
    g = graph(plan.schedule)
    assert nx.has_path(g, "L02-Z1-SLB", "L00-Z1-WAL")     # walls on L0 wait for the L2 slab
    assert not nx.has_path(g, "L03-Z1-SLB", "L00-Z1-WAL")
    assert not nx.has_path(g, "L00-Z1-WAL", "L03-Z1-COL")  # the frame does not wait for the walls


def test_two_crews_is_shorter_than_one_crew_and_has_two_crews_per_trade():
    one = generate_plan(frame_model(), "storey-by-storey", zones=2, start=START)
    two = generate_plan(frame_model(), "two-crews", zones=2, start=START)
    assert longest_path_hours(two.schedule) < longest_path_hours(one.schedule)
    assert {"CREW-SLB-1", "CREW-SLB-2"} <= set(two.schedule.resources)
    assert "CREW-SLB-2" not in one.schedule.resources


def test_structure_first_is_shorter_than_storey_by_storey():
    model = frame_model(n_storeys=4)
    sbs = generate_plan(model, "storey-by-storey", zones=2, start=START)
    sf = generate_plan(model, "structure-first", zones=2, start=START)
    assert longest_path_hours(sf.schedule) < longest_path_hours(sbs.schedule)


def test_crane_and_crew_assignments_carry_hours():
    plan = generate_plan(frame_model(), "storey-by-storey", start=START)
    sched = plan.schedule
    crane = [a for a in sched.assignments if a.resource == "CRANE-1" and a.activity == "L00-Z1-COL"]
    assert crane and crane[0].hours == pytest.approx(2 * 3 * 15 / 60)     # 2 columns x 3 lifts x 15 min
    assert sched.resources["CRANE-1"].kind == "equipment"
    crew = [a for a in sched.assignments if a.activity == "L00-Z1-COL" and a.resource.startswith("CREW-")]
    assert crew[0].hours == sched.get_activity("L00-Z1-COL").duration_h
    assert sched.start == START and sched.get_activity("START").type is ActivityType.START_MILESTONE


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_zone_with_fit_out_only_waits_for_the_structure_of_its_storey(strategy):
    from twin.zones import Zone

    extra = (Element("X9", "IfcFurnishingElement", storey="L1", bbox=((100, 0, 3), (101, 1, 4))),)
    zones = (Zone("Z1", ((-1, -1), (10, -1), (10, 9), (-1, 9))), Zone("Z2", ((10, -1), (21, -1), (21, 9), (10, 9))),
             Zone("Z3", ((90, -1), (110, -1), (110, 9), (90, 9))))
    plan = generate_plan(frame_model(extra=extra), strategy, zones=zones, start=START)
    g = graph(plan.schedule)
    assert plan.links.activities_of("X9") == ("L01-Z3-FUR",)
    assert nx.has_path(g, "L01-Z1-SLB", "L01-Z3-FUR") and nx.has_path(g, "L01-Z2-SLB", "L01-Z3-FUR")


def test_element_without_storey_goes_to_the_storey_below_it():
    extra = (Element("X1", "IfcBeam", storey=None, bbox=((1, 1, 3.5), (5, 1.3, 3.8)),
                     quantities={"Qto_BeamBaseQuantities.NetVolume": 0.4}),)
    plan = generate_plan(frame_model(extra=extra), "storey-by-storey", zones=2, start=START)
    assert plan.links.activities_of("X1") == ("L01-Z1-BEA",)


def test_quantity_falls_back_to_mesh_then_bbox():
    el = Element("B", "IfcBeam", bbox=((0, 0, 0), (4, 0.5, 0.25)))
    assert element_quantity(el, "volume") == (pytest.approx(0.5), "bbox")
    assert element_quantity(el, "area") == (pytest.approx(2.0), "bbox")
    assert element_quantity(el, "length") == (pytest.approx(4.0), "bbox")
    assert element_quantity(Element("N", "IfcBeam"), "volume") == (0.0, "none")


def test_unknown_strategy_and_empty_model_are_errors():
    with pytest.raises(InputError, match="unknown strategy 'diagonal'"):
        generate_plan(frame_model(), "diagonal")
    with pytest.raises(InputError, match="no physical elements"):
        generate_plan(BuildingModel(files=(), storeys=(), elements={}), "storey-by-storey")


# ------------------------------------------------------------------ real models (reader needed)

def _load(path):
    ifc = pytest.importorskip("twin.ifc")
    return ifc.load_model(str(path), geometry=True)


@pytest.fixture(scope="module")
def demo_model(tmp_path_factory):
    gen = pytest.importorskip("twin.ifc.generate")
    path = tmp_path_factory.mktemp("demo") / "demo.ifc"
    gen.generate_building(path, storeys=3, bays=(4, 2))
    return _load(path)


def _check_plan(model, strategy):
    from twin.cpm import compute_cpm

    plan = generate_plan(model, strategy, zones=2, start=START)
    linked = {g for _, g in plan.links.pairs}
    with_geometry = {g for g, e in model.elements.items() if e.bbox is not None or g in model.meshes}
    assert with_geometry and with_geometry <= linked
    assert nx.is_directed_acyclic_graph(graph(plan.schedule))
    cpm = compute_cpm(plan.schedule)                       # twin's own CPM accepts it as a valid network
    assert cpm.finish > START
    return plan


@pytest.mark.slow
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_demo_building_plans_link_every_element_with_geometry(demo_model, strategy):
    plan = _check_plan(demo_model, strategy)
    trades = {a.attributes["trade"] for a in plan.schedule.activities.values() if a.attributes}
    assert {"footings", "columns", "slabs"} <= trades


@pytest.mark.slow
@pytest.mark.parametrize("name", ["Duplex_A_20110907.ifc", "Office_A_20110811.ifc"])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_ifc2x3_models_plan_link_every_element_with_geometry(shared, name, strategy):
    path = shared / "samples" / "ifc" / name
    if not path.exists():
        pytest.skip(f"reference file {path} is absent")
    model = _load(path)
    plan = _check_plan(model, strategy)
    classes = {e.ifc_class for e in model.elements.values()}
    assert "IfcWallStandardCase" in classes       # IFC2X3 classes are covered by the trade table


@pytest.mark.slow
def test_structure_first_beats_storey_by_storey_on_the_demo_building(demo_model):
    from twin.cpm import compute_cpm

    sbs = compute_cpm(generate_plan(demo_model, "storey-by-storey", zones=2, start=START).schedule)
    sf = compute_cpm(generate_plan(demo_model, "structure-first", zones=2, start=START).schedule)
    assert sf.finish < sbs.finish


def test_longer_crew_days_shorten_durations_but_keep_the_calendar(tmp_path):
    p = tmp_path / "rates.toml"
    p.write_text("[defaults]\nhours_per_day = 10.0\n")
    plan = generate_plan(frame_model(slab_volume=100.0), "storey-by-storey", start=START, rates=load_rates(p))
    assert plan.schedule.get_activity("L00-Z1-SLB").duration_h == 40.0      # 4 crew-days of 10 h
    cal = plan.schedule.calendars[plan.schedule.default_calendar]
    assert cal.hours_per_day == 8.0 and cal.id == "standard"


@pytest.mark.slow
def test_doubling_the_demo_buildings_slab_volumes_lengthens_its_slab_activities(demo_model):
    from dataclasses import replace

    def doubled(e):
        if e.ifc_class != "IfcSlab":
            return e
        return replace(e, quantities={k: (2 * v if k.endswith("Volume") else v) for k, v in e.quantities.items()})

    big = replace(demo_model, elements={g: doubled(e) for g, e in demo_model.elements.items()})
    a = generate_plan(demo_model, "storey-by-storey", zones=2, start=START).schedule
    b = generate_plan(big, "storey-by-storey", zones=2, start=START).schedule
    slabs = [k for k, x in a.activities.items() if x.attributes.get("trade") == "slabs"]
    assert slabs and all(a.activities[k].attributes["quantity_source"] == "qto" for k in slabs)
    assert all(b.activities[k].duration_h > a.activities[k].duration_h for k in slabs)
    others = [k for k, x in a.activities.items() if x.attributes.get("trade") == "columns"]
    assert all(b.activities[k].duration_h == a.activities[k].duration_h for k in others)


def test_hoist_trips_only_above_the_ground_storey():
    plan = generate_plan(frame_model(), "storey-by-storey", start=START)
    rates = load_rates()
    assert plan.schedule.get_activity("L00-Z1-DOR").attributes["hoist_trips"] == 0       # ground storey
    upper = plan.schedule.get_activity("L01-Z1-DOR")
    assert upper.attributes["hoist_trips"] == math.ceil(upper.attributes["elements"] * rates.trades["doors"].hoist_per_element)
    assert upper.attributes["hoist_trips"] > 0
    assert plan.schedule.get_activity("L01-Z1-SLB").attributes["hoist_trips"] == 0       # slabs use the crane


def test_load_bearing_walls_rise_with_the_frame_in_structure_first():
    # the fixture's walls carry the slabs (slab underside on the wall tops): they are structure
    plan = generate_plan(frame_model(n_storeys=4), "structure-first", zones=1, lag_storeys=2, start=START)
    g = graph(plan.schedule)
    assert nx.has_path(g, "L00-Z1-WAL", "L00-Z1-SLB") and not nx.has_path(g, "L02-Z1-SLB", "L00-Z1-WAL")


def stair_model(n_storeys: int = 3) -> BuildingModel:
    """``frame_model`` with a stair flight per storey below the top, from its storey's slab up to the next
    storey's slab (as in the demo building, where a storey's floor slab carries the flight below)."""
    stairs = [Element(f"ST{s}", "IfcStairFlight", storey=f"L{s}", bbox=((2.0, 1.0, 3.0 * s + 3.0), (3.2, 6.0, 3.0 * s + 5.9)))
              for s in range(n_storeys - 1)]
    return frame_model(n_storeys=n_storeys, extra=stairs)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_stair_flights_follow_the_slab_they_arrive_at(strategy):
    from twin.conflicts import support_graph

    model = stair_model()
    assert ("ST0", "S10") in support_graph(model.elements)        # flight 0 arrives at the L1 slab
    plan = generate_plan(model, strategy, zones=2, start=START)
    g = graph(plan.schedule)
    for s in range(2):
        assert nx.has_path(g, f"L{s + 1:02d}-Z1-SLB", f"L{s:02d}-Z1-STR")
    assert not plan.warnings


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_plans_of_the_demo_building_have_no_support_conflict(strategy):
    from twin.conflicts import element_construct_windows, support_conflicts, support_graph
    from twin.cpm import compute_cpm
    from twin.fourd import task_windows
    from twin.ifc import load_model

    from tests.conftest import ROOT

    model = load_model([str(ROOT / "samples" / "demo_building.ifc")], geometry=True)
    plan = generate_plan(model, strategy, zones=2, start=START)
    windows = task_windows(plan.schedule, compute_cpm(plan.schedule).dates)
    found = support_conflicts(support_graph(model.elements), element_construct_windows(windows, plan.links.pairs),
                              model.elements)
    assert [f.message for f in found] == []
    assert any(a.attributes.get("trade") == "stairs" for a in plan.schedule.activities.values())
