"""P6 XML: a hand-written PMXML fixture, files MPXJ converts from the MS Project samples, bad input."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from twin.errors import ScheduleCycleError, ScheduleError
from twin.importers import read_schedule
from twin.importers.mspdi import read_mspdi
from twin.importers.mspdi_write import write_mspdi
from twin.importers.p6xml import list_p6xml_projects, read_p6xml
from twin.schedule import ActivityType, Constraint, ConstraintType, RelationType, Relationship

NS = "http://xmlns.oracle.com/Primavera/P6/V8.3/API/BusinessObjects"


def day(name: str, *times: tuple[str, str]) -> str:
    wt = "".join(f"<WorkTime><Start>{s}</Start><Finish>{f}</Finish></WorkTime>" for s, f in times)
    return f"<StandardWorkHours><DayOfWeek>{name}</DayOfWeek>{wt}</StandardWorkHours>"


STD_WEEK = "".join(day(d, ("08:00:00", "11:59:00"), ("13:00:00", "16:59:00"))
                   for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")) + day("Saturday") + day("Sunday")
CALENDARS = (
    f"<Calendar><ObjectId>10</ObjectId><Name>Site 5d</Name><HoursPerDay>8</HoursPerDay><IsDefault>1</IsDefault>"
    f"<Type>Global</Type><StandardWorkWeek>{STD_WEEK}</StandardWorkWeek><HolidayOrExceptions>"
    "<HolidayOrException><Date>2026-04-03T00:00:00</Date></HolidayOrException>"
    "<HolidayOrException><Date>2026-04-04T00:00:00</Date><WorkTime><Start>08:00:00</Start><Finish>11:59:00</Finish></WorkTime></HolidayOrException>"
    "</HolidayOrExceptions></Calendar>"
    "<Calendar><ObjectId>11</ObjectId><Name>24h</Name><HoursPerDay>24</HoursPerDay><Type>Global</Type><StandardWorkWeek>"
    + "".join(day(d, ("00:00:00", "23:59:00")) for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))
    + "</StandardWorkWeek></Calendar>"
    "<Calendar><ObjectId>12</ObjectId><Name>Crane op</Name><Type>Resource</Type><BaseCalendarObjectId>10</BaseCalendarObjectId></Calendar>"
)


def activity(oid: int, aid: str, name: str, hours: float, extra: str = "", wbs: int = 101, typ: str = "Task Dependent",
             cal: int = 10) -> str:
    return (f"<Activity><ObjectId>{oid}</ObjectId><Id>{aid}</Id><Name>{name}</Name><Type>{typ}</Type>"
            f"<PlannedDuration>{hours}</PlannedDuration><CalendarObjectId>{cal}</CalendarObjectId>"
            f"<WBSObjectId>{wbs}</WBSObjectId><ProjectObjectId>1</ProjectObjectId>{extra}</Activity>")


def rel(oid: int, pred: int, succ: int, typ: str = "Finish to Start", lag: float = 0) -> str:
    return (f"<Relationship><ObjectId>{oid}</ObjectId><PredecessorActivityObjectId>{pred}</PredecessorActivityObjectId>"
            f"<SuccessorActivityObjectId>{succ}</SuccessorActivityObjectId><Type>{typ}</Type><Lag>{lag}</Lag></Relationship>")


ACTIVITIES = (
    activity(1, "A1000", "NTP", 0, typ="Start Milestone")
    + activity(2, "A1010", "Excavate", 40, "<PrimaryConstraintType>Start On or After</PrimaryConstraintType>"
               "<PrimaryConstraintDate>2026-03-03T08:00:00</PrimaryConstraintDate>"
               "<SecondaryConstraintType>Finish On or Before</SecondaryConstraintType>"
               "<SecondaryConstraintDate>2026-03-20T17:00:00</SecondaryConstraintDate>"
               "<Status>Completed</Status><ActualStartDate>2026-03-02T08:00:00</ActualStartDate>"
               "<ActualFinishDate>2026-03-06T17:00:00</ActualFinishDate><PercentComplete>1</PercentComplete>"
               "<RemainingDuration>0</RemainingDuration>"
               "<UDF><TypeObjectId>900</TypeObjectId><TextValue>earthworks</TextValue></UDF>"
               "<Code><TypeObjectId>700</TypeObjectId><ValueObjectId>701</ValueObjectId></Code>")
    + activity(3, "A1020", "Footings", 80, "<Status>In Progress</Status><ActualStartDate>2026-03-09T08:00:00</ActualStartDate>"
               "<PercentComplete>0.25</PercentComplete><RemainingDuration>60</RemainingDuration>"
               "<EarlyStartDate>2026-03-09T08:00:00</EarlyStartDate><TotalFloat>16</TotalFloat>", wbs=102)
    + activity(4, "A1030", "Cure", 72, wbs=102, cal=11)
    + activity(5, "A1040", "Supervision", 0, typ="Level of Effort")
    + activity(6, "A1050", "Handover", 0, typ="Finish Milestone",
               extra="<Status>Not Started</Status><ActualStartDate>2026-03-09T08:00:00</ActualStartDate>"
                     "<LateFinishDate>4637-12-31T00:00:00</LateFinishDate>")
)
RELATIONSHIPS = (rel(1, 1, 2) + rel(2, 2, 3, "Start to Start", 16) + rel(3, 3, 4, "Finish to Finish", -4)
                 + rel(4, 4, 6, "Start to Finish", 8) + rel(5, 3, 6) + rel(6, 999, 6))


def p6(tmp_path: Path, activities: str = ACTIVITIES, relationships: str = RELATIONSHIPS, extra_projects: str = "",
       name: str = "p6.xml") -> Path:
    text = (f'<?xml version="1.0" encoding="UTF-8"?>\n<APIBusinessObjects xmlns="{NS}">'
            "<ActivityCodeType><ObjectId>700</ObjectId><Name>Area</Name></ActivityCodeType>"
            "<ActivityCode><ObjectId>701</ObjectId><CodeTypeObjectId>700</CodeTypeObjectId><CodeValue>North</CodeValue></ActivityCode>"
            "<UDFType><ObjectId>900</ObjectId><SubjectArea>Activity</SubjectArea><Title>Trade</Title><DataType>Text</DataType></UDFType>"
            f"{CALENDARS}"
            "<Resource><ObjectId>50</ObjectId><Id>CR1</Id><Name>Tower crane</Name><ResourceType>Nonlabor</ResourceType>"
            "<MaxUnitsPerTime>1</MaxUnitsPerTime><CalendarObjectId>12</CalendarObjectId></Resource>"
            "<Project><ObjectId>1</ObjectId><Id>TWR</Id><Name>Tower</Name><PlannedStartDate>2026-03-02T08:00:00</PlannedStartDate>"
            "<DataDate>2026-03-16T08:00:00</DataDate><MustFinishByDate>2026-06-30T17:00:00</MustFinishByDate>"
            "<ActivityDefaultCalendarObjectId>10</ActivityDefaultCalendarObjectId>"
            "<WBS><ObjectId>100</ObjectId><Name>Tower</Name><Code>T</Code><ProjectObjectId>1</ProjectObjectId></WBS>"
            "<WBS><ObjectId>101</ObjectId><ParentObjectId>100</ParentObjectId><Name>Substructure</Name><Code>T.1</Code></WBS>"
            "<WBS><ObjectId>102</ObjectId><ParentObjectId>101</ParentObjectId><Name>Foundations</Name><Code>T.1.1</Code></WBS>"
            f"{activities}{relationships}"
            "<ResourceAssignment><ObjectId>1</ObjectId><ActivityObjectId>3</ActivityObjectId><ResourceObjectId>50</ResourceObjectId>"
            "<PlannedUnits>40</PlannedUnits><PlannedUnitsPerTime>0.5</PlannedUnitsPerTime></ResourceAssignment>"
            "<ScheduleOptions><RelationshipLagCalendar>Successor Activity Calendar</RelationshipLagCalendar>"
            "<OutOfSequenceScheduleType>Progress Override</OutOfSequenceScheduleType>"
            "<CriticalActivityPathType>Critical Float</CriticalActivityPathType><CriticalActivityFloatThreshold>8</CriticalActivityFloatThreshold>"
            "<ComputeTotalFloatType>Smallest of Start Float and Finish Float</ComputeTotalFloatType>"
            "<MakeOpenEndedActivitiesCritical>1</MakeOpenEndedActivitiesCritical></ScheduleOptions>"
            f"</Project>{extra_projects}</APIBusinessObjects>")
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_fixture_activities_types_wbs_and_progress(tmp_path):
    s = read_p6xml(p6(tmp_path))
    assert list(s.activities) == ["A1000", "A1010", "A1020", "A1030", "A1040", "A1050"]
    a = s.activities
    assert [x.type for x in a.values()] == [ActivityType.START_MILESTONE, ActivityType.TASK, ActivityType.TASK,
                                            ActivityType.TASK, ActivityType.LEVEL_OF_EFFORT, ActivityType.FINISH_MILESTONE]
    assert a["A1020"].wbs == ("Tower", "Substructure", "Foundations") and a["A1010"].wbs == ("Tower", "Substructure")
    assert a["A1010"].constraints == (Constraint(ConstraintType.START_ON_OR_AFTER, datetime(2026, 3, 3, 8)),
                                      Constraint(ConstraintType.FINISH_ON_OR_BEFORE, datetime(2026, 3, 20, 17)))
    assert (a["A1010"].percent_complete, a["A1010"].remaining_h, a["A1010"].is_complete) == (100.0, 0.0, True)
    assert (a["A1020"].percent_complete, a["A1020"].remaining_h, a["A1020"].duration_h) == (25.0, 60.0, 80.0)
    assert a["A1020"].reference["early_start"] == datetime(2026, 3, 9, 8) and a["A1020"].reference["total_float_h"] == 16.0
    assert a["A1050"].actual_start is None                     # 'Not Started' wins over a stray date
    assert a["A1010"].attributes == {"Trade": "earthworks", "Area": "North"}
    assert a["A1030"].calendar == "11" and a["A1020"].uid == "3"


def test_fixture_logic_calendars_options_resources(tmp_path):
    s = read_p6xml(p6(tmp_path))
    assert sorted((r.pred, r.succ, r.type, r.lag_h) for r in s.relationships) == sorted([
        ("A1000", "A1010", RelationType.FS, 0.0), ("A1010", "A1020", RelationType.SS, 16.0),
        ("A1020", "A1030", RelationType.FF, -4.0), ("A1030", "A1050", RelationType.SF, 8.0),
        ("A1020", "A1050", RelationType.FS, 0.0)])
    site = s.calendars["10"]
    assert site.week[0] == ((480, 720), (780, 1020)) and site.week[5] == ()
    assert site.exceptions == {date(2026, 4, 3): (), date(2026, 4, 4): ((480, 720),)}
    assert s.calendars["11"].week == (((0, 1440),),) * 7 and s.calendars["11"].hours_per_day == 24
    assert s.calendars["12"].week == site.week                 # resource calendar without its own week
    assert s.default_calendar == "10"
    assert (s.start, s.data_date, s.finish_constraint) == (datetime(2026, 3, 2, 8), datetime(2026, 3, 16, 8),
                                                           datetime(2026, 6, 30, 17))
    o = s.options
    assert (o.lag_calendar, o.progress, o.critical, o.critical_float_h, o.total_float, o.open_ends_critical) == (
        "successor", "progress_override", "total_float", 8.0, "smallest", True)
    assert s.resources["50"].kind == "equipment" and s.resources["50"].calendar == "12"
    assert [(x.activity, x.resource, x.units, x.hours) for x in s.assignments] == [("A1020", "50", 0.5, 40.0)]


def test_fixture_warnings_are_counted(tmp_path):
    s = read_p6xml(p6(tmp_path))
    assert sum("ObjectId 999 is not in the imported" in w for w in s.warnings) == 1
    assert sum("corrupt date 4637" in w for w in s.warnings) == 1
    assert len(s.warnings) == 2


def test_dispatcher_detects_p6_xml(tmp_path):
    assert len(read_schedule(p6(tmp_path)).activities) == 6


def test_several_projects_pick_one_or_merge(tmp_path):
    other = ("<Project><ObjectId>2</ObjectId><Id>SITE</Id><Name>Site</Name>"
             + activity(21, "A1000", "Hoarding", 16).replace("<ProjectObjectId>1</ProjectObjectId>", "<ProjectObjectId>2</ProjectObjectId>")
             + rel(20, 21, 2) + "</Project>")
    path = p6(tmp_path, extra_projects=other)
    assert [pid for _, pid, _ in list_p6xml_projects(path)] == ["TWR", "SITE"]
    one = read_p6xml(path, project="SITE")
    assert list(one.activities) == ["A1000"] and one.activities["A1000"].name == "Hoarding"
    merged = read_p6xml(path)
    assert "SITE:A1000" in merged.activities
    assert Relationship("SITE:A1000", "A1010") in merged.relationships
    assert sum("more than one project" in w for w in merged.warnings) == 1
    with pytest.raises(ScheduleError, match="no project 'XYZ' \\(projects in the file: TWR, SITE\\)"):
        read_p6xml(path, project="XYZ")


@pytest.mark.parametrize("acts, rels, message", [
    (activity(1, "A", "a", 8, typ="Hammock"), "", "activity 'A' \\(ObjectId 1\\): unknown activity Type 'Hammock'"),
    (activity(1, "A", "a", 8) + activity(2, "B", "b", 8), rel(1, 1, 2, "Finish to Middle"), "unknown Type 'Finish to Middle'"),
    (activity(1, "A", "a", "eight"), "", "activity 'A' \\(ObjectId 1\\) PlannedDuration: 'eight' is not a number"),
    (activity(1, "A", "a", 8, "<ActualStartDate>2026-02-31T08:00:00</ActualStartDate>"), "", "ActualStartDate: '2026-02-31"),
    (activity(1, "A", "a", 8, "<PrimaryConstraintType>Start Around</PrimaryConstraintType>"), "", "unknown PrimaryConstraintType"),
])
def test_bad_objects_are_named(tmp_path, acts, rels, message):
    with pytest.raises(ScheduleError, match=message):
        read_p6xml(p6(tmp_path, acts, rels))


def test_loop_is_reported_with_its_activities(tmp_path):
    acts = activity(1, "A", "a", 8) + activity(2, "B", "b", 8) + activity(3, "C", "c", 8)
    with pytest.raises(ScheduleCycleError, match="A -> B -> C -> A"):
        read_p6xml(p6(tmp_path, acts, rel(1, 1, 2) + rel(2, 2, 3) + rel(3, 3, 1)))


def test_not_p6_and_malformed_files(tmp_path):
    (tmp_path / "x.xml").write_text(f'<APIBusinessObjects xmlns="{NS}"><Currency/></APIBusinessObjects>')
    with pytest.raises(ScheduleError, match="no <Project>"):
        read_p6xml(tmp_path / "x.xml")
    (tmp_path / "y.xml").write_text("<Other/>")
    with pytest.raises(ScheduleError, match="expected P6's <APIBusinessObjects>"):
        read_p6xml(tmp_path / "y.xml")
    (tmp_path / "z.xml").write_text(f'<APIBusinessObjects xmlns="{NS}">\n<Project>\n</APIBusinessObjects>')
    with pytest.raises(ScheduleError, match="z.xml, line 3, column 3: malformed XML"):
        read_p6xml(tmp_path / "z.xml")


# ------------------------------------------------------------- files written by MPXJ (reference writer)

def mpxj_to_p6(mpxj, source: Path, target: Path) -> Path:
    project = mpxj.reader.UniversalProjectReader().read(str(source))
    mpxj.writer.UniversalProjectWriter(mpxj.writer.FileFormat.PMXML).write(project, str(target))
    return target


def test_mpxj_p6_export_of_the_msp_sample_matches_the_mspdi_reading(mpxj, sample, tmp_path):
    source = sample("schedules/msp_sample.xml")
    msp = read_mspdi(source)
    s = read_p6xml(mpxj_to_p6(mpxj, source, tmp_path / "sample_p6.xml"))
    leaves = {a.name: a for a in msp.activities.values() if a.type is not ActivityType.WBS_SUMMARY}
    got = {a.name: a for a in s.activities.values()}
    assert set(got) == set(leaves)                       # MPXJ turns summary tasks into WBS nodes
    for name, a in leaves.items():
        assert got[name].duration_h == a.duration_h, name
        assert got[name].wbs == a.wbs, name
        assert got[name].constraints == a.constraints, name
    by_name = lambda sch: sorted((sch.activities[r.pred].name, sch.activities[r.succ].name, r.type, r.lag_h)
                                 for r in sch.relationships)
    assert by_name(s) == by_name(msp)
    assert s.calendars[s.default_calendar].week == msp.calendars[msp.default_calendar].week
    night = next(c for c in s.calendars.values() if c.name == "Night Shift")
    assert night.week == msp.calendars["2"].week
    assert {(a.activity and s.activities[a.activity].name, a.units, a.hours) for a in s.assignments} == {
        ("Second Task", 0.5, 200.0), ("Second Task", 0.75, 300.0)}


def test_mpxj_p6_export_of_our_mspdi_keeps_ids_types_and_progress(mpxj, tmp_path):
    from test_mspdi import rich_schedule

    rich = rich_schedule()
    write_mspdi(rich, tmp_path / "rich.xml")
    s = read_p6xml(mpxj_to_p6(mpxj, tmp_path / "rich.xml", tmp_path / "rich_p6.xml"))
    assert set(s.activities) == set(rich.activities)      # twin ids ride in the 'Activity ID' UDF
    for aid, a in rich.activities.items():
        b = s.activities[aid]
        assert (b.name, b.duration_h, b.wbs, b.percent_complete, b.actual_start) == (
            a.name, a.duration_h, a.wbs, a.percent_complete, a.actual_start), aid
        assert b.type in (a.type, ActivityType.RESOURCE_DEPENDENT), aid  # MPXJ writes tasks as resource dependent
    assert sorted((r.pred, r.succ, r.type, r.lag_h) for r in s.relationships) == sorted(
        (r.pred, r.succ, r.type, r.lag_h) for r in rich.relationships)
    night = next(c for c in s.calendars.values() if c.name == "Nights")
    assert night.week == rich.calendars["night"].week and dict(night.exceptions) == dict(rich.calendars["night"].exceptions)
