"""MS Project XML: the MPXJ test files, calendars, lags, constraints, bad input, and the writer."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime
from pathlib import Path

import pytest

from twin.errors import ScheduleCycleError, ScheduleError
from twin.importers import read_schedule, write_schedule
from twin.importers._common import builtin_calendar
from twin.importers.mspdi import read_mspdi
from twin.importers.mspdi_write import write_mspdi
from twin.schedule import (
    Activity, ActivityType, Assignment, Calendar, Constraint, ConstraintType, RelationType, Relationship,
    Resource, Schedule, ThreePoint,
)

NS = {"p": "http://schemas.microsoft.com/project"}
TYPE_CODES = {"0": RelationType.FF, "1": RelationType.FS, "2": RelationType.SF, "3": RelationType.SS}


def links_by_xpath(path: Path) -> list[tuple[str, str, RelationType, float]]:
    """(pred task ID, succ task ID, type, lag hours) straight from the XML, independently of the reader."""
    root = ET.parse(path).getroot()
    uid_to_id = {t.findtext("p:UID", None, NS): t.findtext("p:ID", None, NS)
                 for t in root.iterfind(".//p:Tasks/p:Task", NS)}
    out = []
    for task in root.iterfind(".//p:Tasks/p:Task", NS):
        for link in task.iterfind("p:PredecessorLink", NS):
            out.append((uid_to_id[link.findtext("p:PredecessorUID", None, NS)], task.findtext("p:ID", None, NS),
                        TYPE_CODES[link.findtext("p:Type", "1", NS)],
                        int(link.findtext("p:LinkLag", "0", NS)) / 600.0))
    return sorted(out)


@pytest.mark.parametrize("name, count", [("msp_relations.xml", 4), ("msp_sample.xml", 6), ("msp_splittask.xml", 0)])
def test_every_predecessor_link_is_imported(sample, name, count):
    path = sample(f"schedules/{name}")
    s = read_mspdi(path)
    expected = links_by_xpath(path)
    assert len(expected) == count
    assert sorted((r.pred, r.succ, r.type, r.lag_h) for r in s.relationships) == expected


def test_relations_file_has_all_four_types_with_lags(sample):
    s = read_mspdi(sample("schedules/msp_relations.xml"))
    assert {r.type for r in s.relationships} == set(RelationType)
    assert Relationship("2", "3", RelationType.SS, 8.0) in s.relationships
    assert list(s.activities) == ["1", "2", "3", "4", "5"]
    assert s.start == datetime(2006, 9, 21, 8)
    assert s.calendars["1"].week[0] == ((480, 720), (780, 1020)) and s.calendars["1"].week[5] == ()
    assert s.warnings == (f"{sample('schedules/msp_relations.xml')}: task UID 0 '' is the project summary "
                          "task; not an activity",)


def test_sample_file_summaries_milestones_constraints_calendars_resources(sample):
    s = read_mspdi(sample("schedules/msp_sample.xml"))
    assert len(s.activities) == 19
    assert s.activities["1"].type is ActivityType.WBS_SUMMARY
    assert s.activities["2"].wbs == ("First Task",) and s.activities["2"].duration_h == 800.0
    assert s.activities["3"].type is ActivityType.FINISH_MILESTONE
    assert s.activities["18"].constraints == (Constraint(ConstraintType.START_ON_OR_AFTER, datetime(2003, 1, 8, 8)),)
    assert Relationship("12", "13", RelationType.FS, -8.0) in s.relationships
    night = s.calendars["2"]
    assert night.name == "Night Shift"
    assert night.week[0] == ((1380, 1440),)                       # Monday 23:00-24:00
    assert night.week[1] == ((0, 180), (240, 480), (1380, 1440))  # Tuesday
    assert night.week[6] == ()                                    # Sunday
    assert s.calendars["4"].week == night.week                   # resource calendar derived from it
    assert s.resources["2"].calendar == "4"
    assert s.assignments == (Assignment("2", "1", 0.5, 200.0), Assignment("2", "2", 0.75, 300.0))
    assert s.activities["2"].reference["early_start"] == datetime(2003, 1, 7, 8)


def test_split_tasks_are_read_whole_with_their_pauses_and_a_warning(sample):
    s = read_mspdi(sample("schedules/msp_splittask.xml"))
    assert [a.duration_h for a in s.activities.values()] == [80.0, 120.0]
    pauses = s.activities["2"].reference["splits"]
    assert len(pauses) == 2 and pauses[0][0] == datetime(2006, 9, 25, 17)
    assert sum("is split" in w for w in s.warnings) == 2


def test_dispatcher_reads_mspdi(sample):
    assert len(read_schedule(sample("schedules/msp_sample.xml")).activities) == 19


# ------------------------------------------------------------------------------- synthetic MSPDI files

STD_DAYS = "".join(
    f"<WeekDay><DayType>{d}</DayType><DayWorking>{1 if 2 <= d <= 6 else 0}</DayWorking>"
    + ("<WorkingTimes><WorkingTime><FromTime>08:00:00</FromTime><ToTime>12:00:00</ToTime></WorkingTime>"
       "<WorkingTime><FromTime>13:00:00</FromTime><ToTime>17:00:00</ToTime></WorkingTime></WorkingTimes>"
       if 2 <= d <= 6 else "") + "</WeekDay>" for d in range(1, 8))
STD_CAL = f"<Calendar><UID>1</UID><Name>Standard</Name><IsBaseCalendar>1</IsBaseCalendar><BaseCalendarUID>-1</BaseCalendarUID><WeekDays>{STD_DAYS}</WeekDays></Calendar>"


def task(uid: int, name: str = "", dur: str = "PT8H0M0S", extra: str = "", links: str = "") -> str:
    return (f"<Task><UID>{uid}</UID><ID>{uid}</ID><Name>{name or f'T{uid}'}</Name><OutlineLevel>1</OutlineLevel>"
            f"<Duration>{dur}</Duration>{extra}{links}</Task>")


def link(pred: int, typ: int = 1, lag: int = 0, fmt: int = 7, extra: str = "") -> str:
    return (f"<PredecessorLink><PredecessorUID>{pred}</PredecessorUID><Type>{typ}</Type>{extra}"
            f"<LinkLag>{lag}</LinkLag><LagFormat>{fmt}</LagFormat></PredecessorLink>")


def msp(tmp_path: Path, tasks: str, calendars: str = STD_CAL, header: str = "", name: str = "p.xml") -> Path:
    p = tmp_path / name
    p.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<Project xmlns="http://schemas.microsoft.com/project">'
                 f"<Name>t</Name><StartDate>2026-03-02T08:00:00</StartDate><CalendarUID>1</CalendarUID>"
                 f"<MinutesPerDay>480</MinutesPerDay>{header}<Calendars>{calendars}</Calendars>"
                 f"<Tasks>{tasks}</Tasks></Project>", encoding="utf-8")
    return p


def test_calendar_exceptions_work_weeks_and_base_inheritance(tmp_path):
    derived = ("<Calendar><UID>2</UID><Name>Sat crew</Name><IsBaseCalendar>0</IsBaseCalendar><BaseCalendarUID>1</BaseCalendarUID>"
               "<WeekDays><WeekDay><DayType>7</DayType><DayWorking>1</DayWorking><WorkingTimes><WorkingTime>"
               "<FromTime>07:00:00</FromTime><ToTime>11:00:00</ToTime></WorkingTime></WorkingTimes></WeekDay>"
               "<WeekDay><DayType>0</DayType><DayWorking>0</DayWorking><TimePeriod><FromDate>2026-04-03T00:00:00</FromDate>"
               "<ToDate>2026-04-06T23:59:00</ToDate></TimePeriod></WeekDay></WeekDays></Calendar>")
    std = STD_CAL.replace("</WeekDays>", "</WeekDays><Exceptions>"
                          "<Exception><EnteredByOccurrences>0</EnteredByOccurrences><TimePeriod><FromDate>2026-12-25T00:00:00</FromDate>"
                          "<ToDate>2026-12-26T23:59:00</ToDate></TimePeriod><Occurrences>1</Occurrences><Name>Xmas</Name><Type>1</Type>"
                          "<DayWorking>0</DayWorking></Exception>"
                          "<Exception><TimePeriod><FromDate>2026-03-07T00:00:00</FromDate><ToDate>2026-03-21T23:59:00</ToDate></TimePeriod>"
                          "<Name>Sat overtime</Name><Type>6</Type><Period>2</Period><DaysOfWeek>64</DaysOfWeek><DayWorking>1</DayWorking>"
                          "<WorkingTimes><WorkingTime><FromTime>08:00:00</FromTime><ToTime>12:00:00</ToTime></WorkingTime></WorkingTimes></Exception>"
                          "<Exception><TimePeriod><FromDate>2026-05-01T00:00:00</FromDate><ToDate>2028-05-01T23:59:00</ToDate></TimePeriod>"
                          "<Name>May day</Name><Type>2</Type><Month>4</Month><MonthDay>1</MonthDay><DayWorking>0</DayWorking></Exception>"
                          "<Exception><TimePeriod><FromDate>2026-01-01T00:00:00</FromDate><ToDate>2026-12-31T23:59:00</ToDate></TimePeriod>"
                          "<Name>1st Monday</Name><Type>5</Type><MonthItem>3</MonthItem><MonthPosition>0</MonthPosition><DayWorking>0</DayWorking></Exception>"
                          "</Exceptions><WorkWeeks><WorkWeek><TimePeriod><FromDate>2026-08-03T00:00:00</FromDate>"
                          "<ToDate>2026-08-09T23:59:00</ToDate></TimePeriod><Name>summer</Name><WeekDays>"
                          "<WeekDay><DayType>2</DayType><DayWorking>1</DayWorking><WorkingTimes><WorkingTime><FromTime>06:00:00</FromTime>"
                          "<ToTime>14:00:00</ToTime></WorkingTime></WorkingTimes></WeekDay></WeekDays></WorkWeek></WorkWeeks>")
    s = read_mspdi(msp(tmp_path, task(1, extra="<CalendarUID>2</CalendarUID>"), std + derived))
    base, sat = s.calendars["1"], s.calendars["2"]
    assert base.exceptions[date(2026, 12, 25)] == () and base.exceptions[date(2026, 12, 26)] == ()
    assert base.exceptions[date(2026, 3, 7)] == ((480, 720),)            # every other Saturday
    assert date(2026, 3, 14) not in base.exceptions and base.exceptions[date(2026, 3, 21)] == ((480, 720),)
    assert [d for d in (date(2026, 5, 1), date(2027, 5, 1), date(2028, 5, 1)) if base.exceptions[d] == ()] == [
        date(2026, 5, 1), date(2027, 5, 1), date(2028, 5, 1)]
    assert base.exceptions[date(2026, 8, 3)] == ((360, 840),)           # work week Monday
    assert base.exceptions[date(2026, 8, 4)] == ()                      # days it does not list: off
    assert sum("relative recurrence" in w for w in s.warnings) == 1
    assert sat.week[5] == ((420, 660),) and sat.week[0] == base.week[0]  # own Saturday, inherited Monday
    assert sat.exceptions[date(2026, 12, 25)] == () and sat.exceptions[date(2026, 4, 6)] == ()
    assert s.activities["1"].calendar == "2"


def test_percent_and_elapsed_lags_are_converted_and_warned(tmp_path):
    tasks = (task(1, dur="PT40H0M0S") + task(2, links=link(1, 3, 50, 19)) + task(3, links=link(2, 1, 28800, 8)))
    s = read_mspdi(msp(tmp_path, tasks))
    lags = {(r.pred, r.succ): r.lag_h for r in s.relationships}
    assert lags == {("1", "2"): 20.0, ("2", "3"): 16.0}   # 50 % of 40 h; 2 elapsed days = 2 working days
    assert sum("50%" in w for w in s.warnings) == 1 and sum("elapsed lag" in w for w in s.warnings) == 1


def test_unknown_and_cross_project_links_are_counted_warnings(tmp_path):
    tasks = task(1) + task(2, links=link(99) + link(1, extra="<CrossProject>1</CrossProject><CrossProjectName>other.mpp</CrossProjectName>") + link(1))
    s = read_mspdi(msp(tmp_path, tasks))
    assert s.relationships == (Relationship("1", "2"),)
    assert sum("UID 99" in w and "skipped" in w for w in s.warnings) == 1
    assert sum("another project" in w for w in s.warnings) == 1


def test_must_start_on_is_mandatory_only_when_constraints_are_honoured(tmp_path):
    t = task(1, extra="<ConstraintType>2</ConstraintType><ConstraintDate>2026-03-04T08:00:00</ConstraintDate>")
    honoured = read_mspdi(msp(tmp_path, t, header="<HonorConstraints>1</HonorConstraints>", name="a.xml"))
    soft = read_mspdi(msp(tmp_path, t, header="<HonorConstraints>0</HonorConstraints>", name="b.xml"))
    assert honoured.activities["1"].constraints[0].type is ConstraintType.MANDATORY_START
    assert soft.activities["1"].constraints[0].type is ConstraintType.START_ON


def test_progress_status_date_and_corrupt_dates(tmp_path):
    t = task(1, extra="<PercentComplete>40</PercentComplete><ActualStart>2026-03-02T08:00:00</ActualStart>"
                      "<RemainingDuration>PT4H48M0S</RemainingDuration><EarlyFinish>4637-01-01T00:00:00</EarlyFinish>")
    s = read_mspdi(msp(tmp_path, t, header="<StatusDate>2026-03-03T17:00:00</StatusDate>"))
    a = s.activities["1"]
    assert (a.percent_complete, a.actual_start, a.remaining_h) == (40.0, datetime(2026, 3, 2, 8), 4.8)
    assert s.data_date == datetime(2026, 3, 3, 17)
    assert a.reference["early_finish"] is None
    assert sum("corrupt date 4637" in w for w in s.warnings) == 1


@pytest.mark.parametrize("tasks, message", [
    (task(1, dur="8 hours"), r"task 1 \(UID 1\) Duration: '8 hours' is not an ISO 8601 duration"),
    (task(1, extra="<ActualStart>2026-02-30T08:00:00</ActualStart>"), "ActualStart: '2026-02-30T08:00:00' is not a date"),
    (task(1, links=link(1)), "'1' is linked to itself"),
    (task(1, links=link(2, 9)) + task(2), "unknown link Type '9'"),
    (task(1, extra="<ConstraintType>12</ConstraintType>"), "unknown ConstraintType '12'"),
])
def test_bad_tasks_name_the_task(tmp_path, tasks, message):
    with pytest.raises(ScheduleError, match=message):
        read_mspdi(msp(tmp_path, tasks))


def test_logic_loop_names_the_tasks(tmp_path):
    tasks = task(1, links=link(3)) + task(2, links=link(1)) + task(3, links=link(2, 3))
    with pytest.raises(ScheduleCycleError, match=r"p.xml: logic loop between activities: \d -> \d -> \d -> \d"):
        read_mspdi(msp(tmp_path, tasks))


def test_malformed_xml_names_file_line_and_column(tmp_path):
    p = tmp_path / "broken.xml"
    p.write_text('<?xml version="1.0"?>\n<Project xmlns="http://schemas.microsoft.com/project">\n<Tasks><Task>\n</Project>\n')
    with pytest.raises(ScheduleError, match=r"broken.xml, line 4, column 3: malformed XML \(mismatched tag"):
        read_mspdi(p)


def test_unknown_task_calendar_is_a_warning_and_unknown_encoding_an_error(tmp_path):
    s = read_mspdi(msp(tmp_path, task(1, extra="<CalendarUID>42</CalendarUID>")))
    assert s.activities["1"].calendar is None and sum("unknown calendar UID 42" in w for w in s.warnings) == 1
    p = tmp_path / "enc.xml"
    p.write_bytes(b'<?xml version="1.0" encoding="klingon"?><Project xmlns="http://schemas.microsoft.com/project"/>')
    with pytest.raises(ScheduleError, match="enc.xml, line 1: the XML declaration names an unknown encoding: klingon"):
        read_mspdi(p)


# ---------------------------------------------------------------------------------------------- writer

def rich_schedule() -> Schedule:
    night = Calendar("night", "Nights", week=(((1320, 1440),),) * 5 + ((), ()),
                     exceptions={date(2026, 4, 3): (), date(2026, 4, 6): (), date(2026, 4, 7): ((1320, 1380),)})
    acts = {
        "M0": Activity("M0", "Start", 0.0, ActivityType.START_MILESTONE),
        "A1010": Activity("A1010", "Slab L1", 40.0, wbs=("Tower", "L1"),
                          constraints=(Constraint(ConstraintType.START_ON_OR_AFTER, datetime(2026, 3, 3, 8)),),
                          attributes={"trade": "concrete", "zone": "Z1"}),
        "A1020": Activity("A1020", "Walls L1", 13.5, wbs=("Tower", "L1"), calendar="night",
                          actual_start=datetime(2026, 3, 9, 22), percent_complete=25.0, remaining_h=10.0,
                          attributes={"trade": "masonry", "lifts": 12}),
        "A1030": Activity("A1030", "Cure", 72.0, wbs=("Tower", "L2"), calendar="24h"),
        "L1": Activity("L1", "Supervision", 0.0, ActivityType.LEVEL_OF_EFFORT, wbs=("Tower",)),
        "F": Activity("F", "Finish", 0.0, ActivityType.FINISH_MILESTONE),
    }
    rels = (Relationship("M0", "A1010"), Relationship("A1010", "A1020", RelationType.SS, 16.0),
            Relationship("A1010", "A1030", RelationType.FF, -4.0), Relationship("A1030", "A1020", RelationType.SF, 30.0),
            Relationship("A1020", "F"), Relationship("A1030", "F", RelationType.FS, 1.5))
    cals = {"standard": builtin_calendar("standard"), "night": night, "24h": builtin_calendar("24h")}
    return Schedule(activities=acts, relationships=rels, calendars=cals, start=datetime(2026, 3, 2, 8),
                    data_date=datetime(2026, 3, 10, 8), name="rich",
                    resources={"crane": Resource("crane", "Tower crane", "equipment", 1.0),
                               "gang": Resource("gang", "Formwork gang", "labor", 2.0)},
                    assignments=(Assignment("A1010", "crane", 1.0, 40.0), Assignment("A1010", "gang", 2.0, 80.0)))


def test_round_trip_through_mspdi_keeps_activities_logic_and_calendars(tmp_path):
    s = rich_schedule()
    out = tmp_path / "rich.xml"
    lost = write_mspdi(s, out)
    assert len(lost) == 2 and any("'24h' has 24 h days" in w for w in lost) and any("crane" in w for w in lost)
    back = read_mspdi(out)
    assert set(back.activities) == set(s.activities)
    for aid, a in s.activities.items():
        b = back.activities[aid]
        assert (b.name, b.type, b.wbs, b.constraints, b.actual_start, b.percent_complete) == (
            a.name, a.type, a.wbs, a.constraints, a.actual_start, a.percent_complete), aid
        assert b.duration_h == pytest.approx(a.duration_h) and b.remaining_h == a.remaining_h
        assert {k: str(v) for k, v in a.attributes.items()} == b.attributes
        assert back.get_calendar(b).week == s.get_calendar(a).week
        assert dict(back.get_calendar(b).exceptions) == dict(s.get_calendar(a).exceptions)
    assert sorted((r.pred, r.succ, r.type, r.lag_h) for r in back.relationships) == sorted(
        (r.pred, r.succ, r.type, r.lag_h) for r in s.relationships)
    assert (back.start, back.data_date) == (s.start, s.data_date)
    assert {(x.activity, back.resources[x.resource].name, x.units, x.hours) for x in back.assignments} == {
        ("A1010", "Tower crane", 1.0, 40.0), ("A1010", "Formwork gang", 2.0, 80.0)}
    assert back.warnings == ()


def test_round_trip_of_the_mpxj_samples_is_exact(sample, tmp_path):
    for name in ("msp_relations.xml", "msp_sample.xml"):
        s = read_mspdi(sample(f"schedules/{name}"))
        assert write_schedule(s, tmp_path / name) == []
        back = read_schedule(tmp_path / name)
        assert list(back.activities) == list(s.activities)
        for aid, a in s.activities.items():
            b = back.activities[aid]
            assert (b.name, b.type, b.wbs, b.duration_h, b.uid, b.calendar, b.constraints, b.planned_start) == (
                a.name, a.type, a.wbs, a.duration_h, a.uid, a.calendar, a.constraints, a.planned_start)
        assert back.relationships == s.relationships
        assert {k: (c.week, dict(c.exceptions)) for k, c in back.calendars.items()} == {
            k: (c.week, dict(c.exceptions)) for k, c in s.calendars.items()}


def test_mpxj_reads_our_mspdi_with_every_link(mpxj, tmp_path):
    s = rich_schedule()
    out = tmp_path / "rich.xml"
    write_mspdi(s, out)
    project = mpxj.reader.UniversalProjectReader().read(str(out))
    tasks = {str(t.getName()): t for t in project.getTasks() if t.getName() is not None}
    assert {n for n in tasks} >= {a.name for a in s.activities.values()}
    hours = mpxj.TimeUnit.HOURS
    links = sorted((str(r.getPredecessorTask().getName()), str(r.getSuccessorTask().getName()), str(r.getType()),
                    round(float(r.getLag().convertUnits(hours, project.getProjectProperties()).getDuration()), 6))
                   for t in project.getTasks() for r in t.getPredecessors())
    names = {a.id: a.name for a in s.activities.values()}
    assert links == sorted((names[r.pred], names[r.succ], r.type.value, r.lag_h) for r in s.relationships)
    assert float(tasks["Walls L1"].getDuration().convertUnits(hours, project.getProjectProperties()).getDuration()) == 13.5
    assert str(tasks["Walls L1"].getCalendar().getName()) == "Nights"


def test_writer_is_atomic(tmp_path):
    with pytest.raises(ScheduleError, match="does not exist"):
        write_mspdi(rich_schedule(), tmp_path / "no" / "x.xml")
    assert list(tmp_path.iterdir()) == []


def test_missing_project_start_falls_back_to_the_first_task_with_a_warning(tmp_path):
    p = msp(tmp_path, task(1, extra="<Start>2026-03-04T08:00:00</Start>") + task(2, extra="<Start>2026-03-03T13:00:00</Start>"))
    p.write_text(p.read_text().replace("<StartDate>2026-03-02T08:00:00</StartDate>", ""))
    s = read_mspdi(p)
    assert s.start == datetime(2026, 3, 3, 13)
    assert sum("no project start date" in w for w in s.warnings) == 1


def test_elementtree_fallback_reads_the_same_as_lxml(sample, monkeypatch):
    path = sample("schedules/msp_sample.xml")
    with_lxml = read_mspdi(path)
    monkeypatch.setitem(__import__("sys").modules, "lxml", None)   # import lxml now fails
    without = read_mspdi(path)
    assert list(without.activities) == list(with_lxml.activities)
    assert without.relationships == with_lxml.relationships
    assert {k: c.week for k, c in without.calendars.items()} == {k: c.week for k, c in with_lxml.calendars.items()}


def test_links_on_summary_tasks_move_to_the_tasks_below_them(tmp_path):
    def row(uid, name, level, summary=0, links=""):
        return (f"<Task><UID>{uid}</UID><ID>{uid}</ID><Name>{name}</Name><OutlineLevel>{level}</OutlineLevel>"
                f"<Summary>{summary}</Summary><Duration>PT8H0M0S</Duration>{links}</Task>")
    tasks = (row(1, "Phase", 1, 1) + row(2, "a", 2) + row(3, "b", 2, links=link(2))
             + row(4, "after", 1, links=link(1, 1, 4800)) + row(5, "Next", 1, 1, links=link(4, 3))
             + row(6, "c", 2) + row(7, "d", 2) + row(8, "late", 1, links=link(1, 3)))
    s = read_mspdi(msp(tmp_path, tasks))
    assert sorted((r.pred, r.succ, r.type, r.lag_h) for r in s.relationships) == sorted([
        ("2", "3", RelationType.FS, 0.0),
        ("2", "4", RelationType.FS, 8.0), ("3", "4", RelationType.FS, 8.0),   # FS from the summary: from each task
        ("4", "6", RelationType.SS, 0.0), ("4", "7", RelationType.SS, 0.0),   # SS into the summary: to each task
        ("1", "8", RelationType.SS, 0.0)])                                     # SS from a summary: kept
    assert sum("moved to" in w for w in s.warnings) == 2 and sum("kept on the summary" in w for w in s.warnings) == 1


def test_tasks_with_resources_work_on_their_resources_calendars(sample):
    """MS Project's own dates in msp_sample.xml need the union of the resource calendars for task 2."""
    s = read_mspdi(sample("schedules/msp_sample.xml"))
    cal = s.get_calendar(s.activities["2"])
    assert s.activities["2"].calendar == "resources:3+4"
    assert cal.week[1] == ((0, 180), (240, 720), (780, 1020), (1380, 1440))   # Tuesday: nights and days
    assert sum("union of calendars 3, 4" in w for w in s.warnings) == 1
    cpm = pytest.importorskip("twin.cpm")
    result = cpm.compute_cpm(s)
    keys = ("early_start", "early_finish", "late_start", "late_finish")
    same = [aid for aid, a in s.activities.items() if all(a.reference[k] == getattr(result.dates[aid], k) for k in keys)]
    # the two others differ only in how a finish at the end of a working day is written (17:00 vs 08:00 next day)
    assert len(same) == 17 and result.dates["2"].early_finish == s.activities["2"].reference["early_finish"]
