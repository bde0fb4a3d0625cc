"""IFC 4D export, read back with ifcopenshell.util.sequence (not twin's reader) and validated."""
from __future__ import annotations

from datetime import date, datetime

import pytest

ifcopenshell = pytest.importorskip("ifcopenshell")
import ifcopenshell.api.aggregate  # noqa: E402
import ifcopenshell.api.project  # noqa: E402
import ifcopenshell.api.root  # noqa: E402
import ifcopenshell.api.spatial  # noqa: E402
import ifcopenshell.api.unit  # noqa: E402
import ifcopenshell.util.date  # noqa: E402
import ifcopenshell.util.sequence  # noqa: E402
import ifcopenshell.validate  # noqa: E402

from twin.cpm import compute_cpm  # noqa: E402
from twin.errors import IfcReadError, MissingFileError  # noqa: E402
from twin.ifc.schedule4d import parse_work_duration, work_duration, write_4d  # noqa: E402
from twin.links import Links  # noqa: E402
from twin.schedule import Activity, ActivityType, Calendar, Relationship, RelationType, Schedule  # noqa: E402

START = datetime(2027, 3, 1, 8, 0)


@pytest.fixture
def model_file(tmp_path):
    """A small IFC4 model made with the api: a storey with a slab and three walls."""
    f = ifcopenshell.api.project.create_file(version="IFC4")
    project = ifcopenshell.api.root.create_entity(f, ifc_class="IfcProject", name="P")
    ifcopenshell.api.unit.assign_unit(f)
    site = ifcopenshell.api.root.create_entity(f, ifc_class="IfcSite", name="Site")
    building = ifcopenshell.api.root.create_entity(f, ifc_class="IfcBuilding", name="B")
    storey = ifcopenshell.api.root.create_entity(f, ifc_class="IfcBuildingStorey", name="L0")
    ifcopenshell.api.aggregate.assign_object(f, relating_object=project, products=[site])
    ifcopenshell.api.aggregate.assign_object(f, relating_object=site, products=[building])
    ifcopenshell.api.aggregate.assign_object(f, relating_object=building, products=[storey])
    gids = {}
    for name, cls in (("slab", "IfcSlab"), ("w1", "IfcWall"), ("w2", "IfcWall"), ("w3", "IfcWall")):
        el = ifcopenshell.api.root.create_entity(f, ifc_class=cls, name=name)
        ifcopenshell.api.spatial.assign_container(f, relating_structure=storey, products=[el])
        gids[name] = el.GlobalId
    path = tmp_path / "model.ifc"
    f.write(str(path))
    return path, gids


def make_schedule() -> Schedule:
    cal = Calendar("standard", "Mon-Fri 8h", exceptions={date(2027, 3, 5): ()})
    six = Calendar("6day", "Mon-Sat 8h", week=Calendar("x").week[:5] + (((480, 720), (780, 1020)), ()))
    acts = {a.id: a for a in [
        Activity("M0", "Start", 0.0, ActivityType.START_MILESTONE),
        Activity("SLAB", "Slab", 20.0, wbs=("L0", "Z1"), attributes={"trade": "slabs"}),
        Activity("W1", "Wall 1", 8.0),
        Activity("W2", "Wall 2", 12.0, calendar="6day"),
        Activity("W3", "Wall 3", 4.0),
        Activity("M1", "Finish", 0.0, ActivityType.FINISH_MILESTONE),
    ]}
    rels = (
        Relationship("M0", "SLAB"),
        Relationship("SLAB", "W1", RelationType.FS, 8.0),
        Relationship("W1", "W2", RelationType.SS, 4.0),
        Relationship("W2", "W3", RelationType.FF, -4.0),
        Relationship("W1", "W3", RelationType.SF, 0.0),
        Relationship("W3", "M1"),
    )
    return Schedule(acts, rels, {"standard": cal, "6day": six}, start=START, name="Test plan")


def links_for(gids) -> Links:
    return Links((("SLAB", gids["slab"]), ("W1", gids["w1"]), ("W2", gids["w2"]), ("W3", gids["w3"]),
                  ("W3", gids["w2"])))


def tasks_by_id(f):
    ws = f.by_type("IfcWorkSchedule")[0]
    return {t.Identification: t for t in ifcopenshell.util.sequence.get_work_schedule_tasks(ws)}


def test_work_duration_is_in_working_days_of_the_calendar():
    assert work_duration(20, 8) == "P2DT4H"
    assert work_duration(90.5, 10) == "P9DT30M"
    assert parse_work_duration("P2DT4H", 8) == 20.0
    assert parse_work_duration(work_duration(-12, 8), 8) == -12.0


def test_round_trip_tasks_durations_dates_sequences_and_products(model_file, tmp_path):
    path, gids = model_file
    sched = make_schedule()
    cpm = compute_cpm(sched)
    out = tmp_path / "out.ifc"
    result = write_4d(path, sched, links_for(gids), out, cpm=cpm)
    assert (result.tasks, result.sequences, result.lags, result.product_links) == (6, 6, 3, 5)

    f = ifcopenshell.open(str(out))
    assert len(f.by_type("IfcWorkPlan")) == 1 and len(f.by_type("IfcWorkSchedule")) == 1
    tasks = tasks_by_id(f)
    assert set(tasks) == set(sched.activities)
    for aid, a in sched.activities.items():
        t = tasks[aid]
        hpd = sched.get_calendar(a).hours_per_day
        assert t.Name == a.name and t.IsMilestone == a.type.is_milestone
        assert parse_work_duration(t.TaskTime.ScheduleDuration, hpd) == pytest.approx(a.duration_h)
        assert ifcopenshell.util.date.ifc2datetime(t.TaskTime.ScheduleStart) == cpm.dates[aid].early_start
        assert ifcopenshell.util.date.ifc2datetime(t.TaskTime.ScheduleFinish) == cpm.dates[aid].early_finish
        assert t.TaskTime.IsCritical == cpm.dates[aid].critical
        # the calendar each task works on, as IfcOpenShell derives it
        assert ifcopenshell.util.sequence.derive_calendar(t).Identification == (a.calendar or "standard")
    got = set()
    for rel in f.by_type("IfcRelSequence"):
        pred, succ = rel.RelatingProcess.Identification, rel.RelatedProcess.Identification
        lag = 0.0
        if rel.TimeLag is not None:
            lag = parse_work_duration(rel.TimeLag.LagValue.wrappedValue, sched.get_calendar(sched.activities[pred]).hours_per_day)
        got.add((pred, succ, rel.SequenceType, lag))
    want = {(r.pred, r.succ, {"FS": "FINISH_START", "SS": "START_START", "FF": "FINISH_FINISH",
                              "SF": "START_FINISH"}[r.type.value], r.lag_h) for r in sched.relationships}
    assert got == want
    outputs = {aid: {p.GlobalId for p in ifcopenshell.util.sequence.get_task_outputs(t)} for aid, t in tasks.items()}
    assert outputs["W3"] == {gids["w3"], gids["w2"]} and outputs["SLAB"] == {gids["slab"]}
    assert outputs["M0"] == set()


def test_calendars_hold_weekdays_hours_and_holidays(model_file, tmp_path):
    path, gids = model_file
    out = tmp_path / "out.ifc"
    write_4d(path, make_schedule(), links_for(gids), out)
    f = ifcopenshell.open(str(out))
    cals = {c.Identification: c for c in f.by_type("IfcWorkCalendar")}
    std, six = cals["standard"], cals["6day"]
    is_working = ifcopenshell.util.sequence.is_working_day
    assert is_working(date(2027, 3, 1), std) and not is_working(date(2027, 3, 6), std)
    assert not is_working(date(2027, 3, 5), std)          # the holiday
    assert is_working(date(2027, 3, 6), six) and not is_working(date(2027, 3, 7), six)
    periods = std.WorkingTimes[0].RecurrencePattern.TimePeriods
    assert sorted((p.StartTime, p.EndTime) for p in periods) == [("08:00:00", "12:00:00"), ("13:00:00", "17:00:00")]


def test_export_is_valid_ifc(model_file, tmp_path):
    path, gids = model_file
    sched = make_schedule()
    out = tmp_path / "out.ifc"
    write_4d(path, sched, links_for(gids), out, cpm=compute_cpm(sched))
    logger = ifcopenshell.validate.json_logger()
    ifcopenshell.validate.validate(ifcopenshell.open(str(out)), logger, express_rules=True)
    assert [s for s in logger.statements if s.get("level") == "ERROR"] == []


def test_unknown_global_ids_are_skipped_and_listed(model_file, tmp_path):
    path, gids = model_file
    links = Links((("SLAB", gids["slab"]), ("W1", "0000000000000000000000")))
    result = write_4d(path, make_schedule(), links, tmp_path / "out.ifc")
    assert result.product_links == 1 and result.missing_global_ids == ("0000000000000000000000",)


def test_ifc2x3_is_refused_with_a_reason_and_nothing_written(tmp_path):
    f = ifcopenshell.file(schema="IFC2X3")
    f.createIfcProject(ifcopenshell.guid.new(), None, "P")
    src = tmp_path / "old.ifc"
    f.write(str(src))
    out = tmp_path / "out.ifc"
    with pytest.raises(IfcReadError, match="IFC2X3 cannot hold IfcTaskTime"):
        write_4d(src, make_schedule(), Links(), out)
    assert not out.exists()
    with pytest.raises(MissingFileError):
        write_4d(tmp_path / "none.ifc", make_schedule(), Links(), out)


def test_shared_4d_example_keeps_its_own_schedule_and_gains_ours(tmp_path, shared):
    src = shared / "samples" / "ifc4d" / "construction-scheduling-task.ifc"
    f = ifcopenshell.open(str(src))
    walls = [w.GlobalId for w in f.by_type("IfcWall")]
    acts = {"A": Activity("A", "Walls", 16.0)}
    sched = Schedule(acts, (), {"standard": Calendar("standard")}, start=START, name="ours")
    out = tmp_path / "out.ifc"
    write_4d(src, sched, Links(tuple(("A", g) for g in walls)), out, cpm=compute_cpm(sched))
    g = ifcopenshell.open(str(out))
    assert len(g.by_type("IfcWorkSchedule")) == len(f.by_type("IfcWorkSchedule")) + 1
    assert len(g.by_type("IfcTask")) == len(f.by_type("IfcTask")) + 1
    ours = [t for t in g.by_type("IfcTask") if t.Identification == "A"][0]
    assert {p.GlobalId for p in ifcopenshell.util.sequence.get_task_outputs(ours)} == set(walls)


def test_shared_4d_example_imports_and_cpm_orders_the_slab_before_the_walls(shared):
    pytest.importorskip("twin.ifc.schedule4d_read", reason="the IFC work-schedule reader has not landed")
    from twin.cpm import compute_cpm
    from twin.importers import read_schedule

    src = shared / "samples" / "ifc4d" / "construction-scheduling-task.ifc"
    sched = read_schedule(src)
    assert len(sched.activities) == 8
    assert len(sched.relationships) == 7
    assert len(sched.element_links) == 6
    slab = "20WrgxqpbDtferON_k1P2X"
    walls = {"26tmERtwL8G8UQn5BoglEh", "2qqyx9mIf27vQuEGt7ts8$", "0edwXkNgP03AySQjQQlat2", "27D5wuD5z86hr07xvbZLKW"}
    act_of = {g: a for a, g in sched.element_links}
    cpm = compute_cpm(sched)
    slab_finish = cpm.dates[act_of[slab]].early_finish
    wall_starts = sorted(cpm.dates[act_of[w]].early_start for w in walls)
    assert all(slab_finish <= s for s in wall_starts)
    assert len(set(wall_starts)) == 4                    # the walls follow one another


def test_our_export_reads_back_through_the_ifc_schedule_importer(model_file, tmp_path):
    pytest.importorskip("twin.ifc.schedule4d_read", reason="the IFC work-schedule reader has not landed")
    from twin.importers import read_schedule

    path, gids = model_file
    sched = make_schedule()
    out = tmp_path / "out.ifc"
    write_4d(path, sched, links_for(gids), out, cpm=compute_cpm(sched))
    back = read_schedule(out)
    assert {a.id for a in back.activities.values()} == set(sched.activities)
    assert {(r.pred, r.succ, r.type, r.lag_h) for r in back.relationships} == {
        (r.pred, r.succ, r.type, r.lag_h) for r in sched.relationships}
    assert set(back.element_links) == set(links_for(gids).pairs)


def _errors(path) -> list[str]:
    logger = ifcopenshell.validate.json_logger()
    ifcopenshell.validate.validate(ifcopenshell.open(str(path)), logger, express_rules=True)
    return sorted(str(s.get("message")) for s in logger.statements if s.get("level") == "ERROR")


@pytest.mark.slow
def test_export_into_a_real_ifc4_model_adds_no_validation_error(tmp_path, shared):
    from twin.plan import generate_plan
    from twin.ifc import load_model

    src = shared / "samples" / "ifc" / "IfcOpenHouse_IFC4.ifc"
    if not src.exists():
        pytest.skip(f"reference file {src} is absent")
    plan = generate_plan(load_model(str(src), geometry=True), "structure-first", zones=2, start=START)
    out = tmp_path / "house-4d.ifc"
    result = write_4d(src, plan.schedule, plan.links, out, cpm=compute_cpm(plan.schedule))
    assert result.product_links == len(plan.links) and result.missing_global_ids == ()
    assert _errors(out) == _errors(src)
    f = ifcopenshell.open(str(out))
    assert len(f.by_type("IfcTask")) == len(plan.schedule.activities)
    assert len(f.by_type("IfcRelSequence")) == len(plan.schedule.relationships)


@pytest.mark.slow
def test_ifc2x3_model_exports_into_an_ifc4_copy_with_upgrade(tmp_path, shared):
    from twin.ifc import load_model
    from twin.plan import generate_plan

    src = shared / "samples" / "ifc" / "Duplex_A_20110907.ifc"
    if not src.exists():
        pytest.skip(f"reference file {src} is absent")
    plan = generate_plan(load_model(str(src), geometry=True), "structure-first", zones=2, start=START)
    out = tmp_path / "duplex-4d.ifc"
    result = write_4d(src, plan.schedule, plan.links, out, cpm=compute_cpm(plan.schedule), upgrade=True)
    assert result.schema == "IFC4" and result.missing_global_ids == ()
    assert result.product_links == len(plan.links) and any("upgraded from IFC2X3" in w for w in result.warnings)
    f = ifcopenshell.open(str(out))
    tasks = tasks_by_id(f)
    assert set(tasks) == set(plan.schedule.activities)
    outputs = {g.GlobalId for t in tasks.values() for g in ifcopenshell.util.sequence.get_task_outputs(t)}
    assert outputs == {g for _, g in plan.links.pairs}
    logger = ifcopenshell.validate.json_logger()
    ifcopenshell.validate.validate(f, logger)
    assert [s for s in logger.statements if s.get("level") == "ERROR"] == []


def test_ifcopenshell_derives_the_same_finish_dates_as_the_cpm(model_file, tmp_path):
    """What Bonsai shows: util.sequence counts WORKTIME days on our calendar, weekends and holiday included."""
    path, gids = model_file
    cal = Calendar("standard", "Mon-Fri 8h", exceptions={date(2027, 3, 9): ()})
    acts = {a.id: a for a in [Activity("A", "A", 16.0), Activity("B", "B", 24.0), Activity("C", "C", 40.0),
                              Activity("D", "D", 8.0)]}
    rels = (Relationship("A", "B"), Relationship("B", "C"), Relationship("C", "D", lag_h=16.0))
    sched = Schedule(acts, rels, {"standard": cal}, start=datetime(2027, 3, 4, 8, 0))   # a Thursday
    cpm = compute_cpm(sched)
    out = tmp_path / "out.ifc"
    write_4d(path, sched, Links(), out, cpm=cpm)
    f = ifcopenshell.open(str(out))
    for aid, t in tasks_by_id(f).items():
        tt = t.TaskTime
        calendar = ifcopenshell.util.sequence.derive_calendar(t)
        finish = ifcopenshell.util.sequence.get_start_or_finish_date(
            ifcopenshell.util.date.ifc2datetime(tt.ScheduleStart), ifcopenshell.util.date.ifc2datetime(tt.ScheduleDuration),
            tt.DurationType, calendar)
        assert finish.date() == cpm.dates[aid].early_finish.date(), aid
    assert cpm.dates["B"].early_finish.date() == date(2027, 3, 11)    # B spans the weekend and the holiday
