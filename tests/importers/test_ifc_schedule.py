"""IFC work schedules: the buildingSMART example, a schedule built in memory, twin's own 4D export."""
from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest

ifcopenshell = pytest.importorskip("ifcopenshell")
import ifcopenshell.api.project  # noqa: E402
import ifcopenshell.api.root  # noqa: E402
import ifcopenshell.api.sequence  # noqa: E402
import ifcopenshell.api.control  # noqa: E402
import ifcopenshell.guid  # noqa: E402

from twin.errors import IfcReadError, ScheduleCycleError, ScheduleError  # noqa: E402
from twin.ifc.schedule4d_read import list_work_schedules, read_ifc_schedule  # noqa: E402
from twin.importers import read_schedule  # noqa: E402
from twin.schedule import ActivityType, RelationType, Relationship  # noqa: E402

BSI = "ifc4d/construction-scheduling-task.ifc"


def test_bsi_example_has_8_tasks_7_sequences_6_product_links(sample):
    path = sample(BSI)
    f = ifcopenshell.open(str(path))
    s = read_schedule(path)
    assert len(s.activities) == len(f.by_type("IfcTask")) == 8
    assert len(s.relationships) == len(f.by_type("IfcRelSequence")) == 7
    expected = {(t.GlobalId, r.RelatingProduct.GlobalId) for r in f.by_type("IfcRelAssignsToProduct")
                for t in r.RelatedObjects}
    assert len(s.element_links) == len(expected) == 6
    uid_of = {a.id: a.uid for a in s.activities.values()}
    assert {(uid_of[a], g) for a, g in s.element_links} == expected


def test_bsi_example_structure_durations_and_logic(sample):
    s = read_ifc_schedule(sample(BSI))
    by_name = {a.name: a for a in s.activities.values()}
    assert by_name["Ground Level"].type is ActivityType.WBS_SUMMARY
    assert by_name["Wall #3"].wbs == ("Ground Level", "Wall (Standard)")
    # the file writes five 8-hour days as P0Y0M1DT16H0M0S: days of 24 h, which its own dates confirm
    assert by_name["Ground Level"].duration_h == 40.0 and by_name["Wall (Standard)"].duration_h == 32.0
    assert by_name["Slab #1"].duration_h == 8.0
    assert sum("days of 24 h" in w for w in s.warnings) == 1
    slab = by_name["Slab #1"].id
    walls = [by_name[f"Wall #{i}"].id for i in range(1, 5)]
    assert {r for r in s.relationships if r.pred == slab} == {Relationship(slab, w) for w in walls}
    assert Relationship(walls[0], walls[1]) in s.relationships
    cal = s.calendars[s.default_calendar]
    assert cal.week == (((480, 960),),) * 5 + ((), ()) and cal.hours_per_day == 8.0
    assert s.start == datetime(2010, 9, 20, 8) and s.name == "Work Plan #1"
    slab_gid = next(g for a, g in s.element_links if a == slab)
    assert ifcopenshell.open(str(sample(BSI))).by_guid(slab_gid).is_a("IfcSlab")


# -------------------------------------------------------------------------------- built in memory

def build(path: Path, schema: str = "IFC4", loop: bool = False) -> dict[str, str]:
    f = ifcopenshell.api.project.create_file(version=schema)
    ifcopenshell.api.root.create_entity(f, ifc_class="IfcProject", name="P")
    wall = ifcopenshell.api.root.create_entity(f, ifc_class="IfcWall", name="W1")
    slab = ifcopenshell.api.root.create_entity(f, ifc_class="IfcSlab", name="S1")
    ws = ifcopenshell.api.sequence.add_work_schedule(f, name="Tower", start_time="2026-03-02T08:00:00")
    cal = ifcopenshell.api.sequence.add_work_calendar(f, name="Site")
    wt = ifcopenshell.api.sequence.add_work_time(f, work_calendar=cal, time_type="WorkingTimes")
    rp = ifcopenshell.api.sequence.assign_recurrence_pattern(f, parent=wt, recurrence_type="WEEKLY")
    ifcopenshell.api.sequence.edit_recurrence_pattern(f, recurrence_pattern=rp, attributes={"WeekdayComponent": [1, 2, 3, 4, 5]})
    ifcopenshell.api.sequence.add_time_period(f, recurrence_pattern=rp, start_time=time(8), end_time=time(12))
    ifcopenshell.api.sequence.add_time_period(f, recurrence_pattern=rp, start_time=time(13), end_time=time(17))
    hol = ifcopenshell.api.sequence.add_work_time(f, work_calendar=cal, time_type="ExceptionTimes")
    rp2 = ifcopenshell.api.sequence.assign_recurrence_pattern(f, parent=hol, recurrence_type="YEARLY_BY_DAY_OF_MONTH")
    ifcopenshell.api.sequence.edit_recurrence_pattern(f, recurrence_pattern=rp2, attributes={"DayComponent": [25], "MonthComponent": [12]})
    shut = ifcopenshell.api.sequence.add_work_time(f, work_calendar=cal, time_type="ExceptionTimes")
    start_attr, finish_attr = ("StartDate", "FinishDate") if schema != "IFC4" else ("Start", "Finish")
    ifcopenshell.api.sequence.edit_work_time(f, work_time=shut, attributes={start_attr: date(2026, 4, 6), finish_attr: date(2026, 4, 7)})
    root = ifcopenshell.api.sequence.add_task(f, work_schedule=ws, name="Structure", identification="S")
    tasks = {}
    for ident, name, dur, kind in (("S.10", "Slab", "P2DT4H", "WORKTIME"), ("S.20", "Walls", "P1D", "WORKTIME"),
                                   ("S.30", "Cure", "P3D", "ELAPSEDTIME"), ("S.40", "Done", "PT0S", "WORKTIME")):
        t = ifcopenshell.api.sequence.add_task(f, parent_task=root, name=name)
        t.Identification = ident   # the api numbers nested tasks itself (S.1, S.2...)
        tt = ifcopenshell.api.sequence.add_task_time(f, task=t)
        tt.DurationType, tt.ScheduleDuration = kind, dur
        tasks[ident] = t
    tasks["S.40"].IsMilestone = True
    tasks["S.20"].TaskTime.ActualStart = "2026-03-04T13:00:00"
    tasks["S.20"].TaskTime.Completion = 0.5
    ifcopenshell.api.control.assign_control(f, relating_control=cal, related_objects=[root])
    seq = ifcopenshell.api.sequence.assign_sequence
    r1 = seq(f, relating_process=tasks["S.10"], related_process=tasks["S.20"], sequence_type="START_START")
    ifcopenshell.api.sequence.assign_lag_time(f, rel_sequence=r1, lag_value="P1DT2H", duration_type="WORKTIME")
    r2 = seq(f, relating_process=tasks["S.10"], related_process=tasks["S.30"], sequence_type="FINISH_FINISH")
    r2.TimeLag = f.createIfcLagTime(LagValue=f.createIfcRatioMeasure(0.5), DurationType="WORKTIME")
    r3 = seq(f, relating_process=tasks["S.30"], related_process=tasks["S.40"], sequence_type="FINISH_START")
    ifcopenshell.api.sequence.assign_lag_time(f, rel_sequence=r3, lag_value="P1D", duration_type="ELAPSEDTIME")
    seq(f, relating_process=tasks["S.20"], related_process=tasks["S.40"], sequence_type="START_FINISH")
    if loop:
        # the api refuses loops, so write the closing link by hand, as a buggy exporter would
        f.createIfcRelSequence(ifcopenshell.guid.new(), None, None, None, tasks["S.40"], tasks["S.10"], None,
                               "FINISH_START", None)
    ifcopenshell.api.sequence.assign_product(f, relating_product=slab, related_object=tasks["S.10"])
    ifcopenshell.api.sequence.assign_product(f, relating_product=wall, related_object=tasks["S.20"])
    ifcopenshell.api.sequence.assign_process(f, relating_process=tasks["S.10"], related_object=wall)
    f.write(str(path))
    return {"wall": wall.GlobalId, "slab": slab.GlobalId}


@pytest.mark.parametrize("schema", ["IFC4", "IFC4X3"])
def test_in_memory_schedule_reads_calendars_lags_and_links(tmp_path, schema):
    gids = build(tmp_path / "s.ifc", schema)
    s = read_ifc_schedule(tmp_path / "s.ifc")
    a = s.activities
    assert list(a) == ["S", "S.10", "S.20", "S.30", "S.40"]
    assert a["S"].type is ActivityType.WBS_SUMMARY and a["S.10"].wbs == ("Structure",)
    assert a["S.10"].duration_h == 20.0                           # P2DT4H on an 8-hour calendar
    assert a["S.30"].duration_h == 24.0                           # 3 elapsed days -> 3 working days (warned)
    assert a["S.40"].type is ActivityType.FINISH_MILESTONE
    assert (a["S.20"].actual_start, a["S.20"].percent_complete) == (datetime(2026, 3, 4, 13), 50.0)
    lags = {(r.pred, r.succ): (r.type, r.lag_h) for r in s.relationships}
    assert lags == {("S.10", "S.20"): (RelationType.SS, 10.0), ("S.10", "S.30"): (RelationType.FF, 10.0),
                    ("S.30", "S.40"): (RelationType.FS, 8.0), ("S.20", "S.40"): (RelationType.SF, 0.0)}
    assert sum("elapsed" in w for w in s.warnings) == 2 and sum("x the predecessor" in w for w in s.warnings) == 1
    cal = s.calendars[a["S.10"].calendar]
    assert cal.name == "Site" and cal.week[0] == ((480, 720), (780, 1020)) and cal.week[6] == ()
    assert cal.exceptions[date(2026, 12, 25)] == () and cal.exceptions[date(2030, 12, 25)] == ()
    assert cal.exceptions[date(2026, 4, 6)] == () and cal.exceptions[date(2026, 4, 7)] == ()
    assert date(2026, 4, 8) not in cal.exceptions
    assert set(s.element_links) == {("S.10", gids["slab"]), ("S.20", gids["wall"])}
    assert a["S.10"].attributes["inputs"] == (gids["wall"],)
    assert s.start == datetime(2026, 3, 2, 8) and s.name == "Tower"
    assert list_work_schedules(tmp_path / "s.ifc")[0][1:] == ("Tower", 5)


def test_sequence_loop_is_an_error_naming_the_tasks(tmp_path):
    build(tmp_path / "loop.ifc", loop=True)
    with pytest.raises(ScheduleCycleError, match="S.10 -> S.20 -> S.40 -> S.10|S.10 -> S.30 -> S.40 -> S.10"):
        read_ifc_schedule(tmp_path / "loop.ifc")


def test_unknown_schedule_name_and_files_without_tasks(tmp_path):
    build(tmp_path / "s.ifc")
    with pytest.raises(ScheduleError, match="no work schedule 'Other' \\(work schedules: Tower\\)"):
        read_ifc_schedule(tmp_path / "s.ifc", schedule="Other")
    f = ifcopenshell.api.project.create_file(version="IFC4")
    ifcopenshell.api.root.create_entity(f, ifc_class="IfcProject", name="P")
    f.write(str(tmp_path / "empty.ifc"))
    with pytest.raises(ScheduleError, match="empty.ifc: no IfcTask in the file"):
        read_ifc_schedule(tmp_path / "empty.ifc")


def test_ifc2x3_is_refused_with_a_reason(tmp_path):
    f = ifcopenshell.file(schema="IFC2X3")
    f.createIfcTask(ifcopenshell.guid.new(), None, "Old task")
    f.write(str(tmp_path / "old.ifc"))
    with pytest.raises(ScheduleError, match="old.ifc: IFC2X3 work schedules .* are not supported"):
        read_ifc_schedule(tmp_path / "old.ifc")


def test_truncated_ifc_is_an_ifc_read_error(tmp_path):
    p = tmp_path / "bad.ifc"
    p.write_text("ISO-10303-21;\nHEADER;\nFILE_SCHEMA(('IFC4'));\nENDSEC;\nDATA;\n#1=IFCTASK(")
    with pytest.raises(IfcReadError, match="bad.ifc"):
        read_schedule(p)


def test_twin_4d_export_reads_back(tmp_path):
    """The IFC 4D writer (twin.ifc.schedule4d) and this reader agree on durations, lags and calendars."""
    schedule4d = pytest.importorskip("twin.ifc.schedule4d")
    from twin.importers._common import builtin_calendar
    from twin.links import Links
    from twin.schedule import Activity, Calendar, Schedule

    model = tmp_path / "m.ifc"
    gids = build(model)
    site = Calendar("site", "Site 5d", exceptions={date(2026, 4, 3): ()})
    acts = {"A": Activity("A", "Dig", 20.0, calendar="site"), "B": Activity("B", "Pour", 8.0, calendar="site"),
            "C": Activity("C", "Cure", 48.0, calendar="24h"), "M": Activity("M", "Done", 0.0, ActivityType.FINISH_MILESTONE)}
    rels = (Relationship("A", "B", RelationType.SS, 12.0), Relationship("B", "C"),
            Relationship("C", "M", RelationType.FS, 30.0))
    plan = Schedule(acts, rels, {"site": site, "24h": builtin_calendar("24h"), "standard": builtin_calendar("standard")},
                    start=datetime(2026, 3, 2, 8), name="Export")
    out = tmp_path / "m4d.ifc"
    schedule4d.write_4d(model, plan, Links((("A", gids["slab"]), ("B", gids["wall"]))), out)
    back = read_ifc_schedule(out, schedule="Export")
    assert {k: v.duration_h for k, v in back.activities.items()} == {"A": 20.0, "B": 8.0, "C": 48.0, "M": 0.0}
    assert sorted((r.pred, r.succ, r.type, r.lag_h) for r in back.relationships) == sorted(
        (r.pred, r.succ, r.type, r.lag_h) for r in rels)
    assert back.get_calendar(back.activities["A"]).week == site.week
    assert back.get_calendar(back.activities["A"]).exceptions.get(date(2026, 4, 3)) == ()
    assert back.get_calendar(back.activities["C"]).week == (((0, 1440),),) * 7
    assert set(back.element_links) == {("A", gids["slab"]), ("B", gids["wall"])}


def test_sequence_from_a_summary_task_moves_to_its_tasks(tmp_path):
    f = ifcopenshell.api.project.create_file(version="IFC4")
    ifcopenshell.api.root.create_entity(f, ifc_class="IfcProject", name="P")
    ws = ifcopenshell.api.sequence.add_work_schedule(f, name="W")
    phase = ifcopenshell.api.sequence.add_task(f, work_schedule=ws, name="Phase")
    phase.Identification = "P"
    kids = []
    for ident in ("P1", "P2"):
        t = ifcopenshell.api.sequence.add_task(f, parent_task=phase, name=ident)
        t.Identification = ident
        kids.append(t)
    after = ifcopenshell.api.sequence.add_task(f, work_schedule=ws, name="After")
    after.Identification = "A"
    for t in (*kids, after):
        tt = ifcopenshell.api.sequence.add_task_time(f, task=t)
        tt.DurationType, tt.ScheduleDuration = "WORKTIME", "P1D"
    ifcopenshell.api.sequence.assign_sequence(f, relating_process=phase, related_process=after, sequence_type="FINISH_START")
    f.write(str(tmp_path / "sum.ifc"))
    s = read_ifc_schedule(tmp_path / "sum.ifc")
    assert sorted((r.pred, r.succ) for r in s.relationships) == [("P1", "A"), ("P2", "A")]
    assert sum("moved to 2 link(s)" in w for w in s.warnings) == 1
