"""P6 XER reader: tables, calendars, activities, links, progress, encodings, corrupt input.

Reference reader: MPXJ (the Java library, through the ``mpxj`` fixture in conftest.py), which nobody
here wrote, reads the same HS2 file; activity ids, durations, calendars, relationships with types and
lags, and calendar working hours over two years must agree with it.
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from twin.errors import MissingFileError, ScheduleError
from twin.importers.xer import parse_calendar_data, read_xer, read_xer_projects
from twin.schedule import ActivityType, ConstraintType, RelationType
from twin.worktime import WorkCalendar

HS2 = "schedules/HS2_SP10_cost_loaded.xer"

STD = ("(0||CalendarData()((0||DaysOfWeek()((0||1()())(0||2()((0||0(s|08:00|f|12:00)())(0||1(s|13:00|f|17:00)())))"
       "(0||3()((0||0(s|08:00|f|16:00)())))(0||4()((0||0(s|08:00|f|16:00)())))"
       "(0||5()((0||0(s|08:00|f|16:00)())))(0||6()((0||0(s|08:00|f|16:00)())))(0||7()())))"
       "(0||Exceptions()((0||0(d|45356)())(0||1(d|45357)((0||0(s|10:00|f|12:00)())))))))")


def xer_text(*, projects=(("1", "ALPHA"),), tasks=(), preds=(), calendar=STD, extra="") -> str:
    lines = ["ERMHDR\t8.1\t2024-01-01\tProject\tadmin", "%T\tPROJECT",
             "%F\tproj_id\tproj_short_name\tclndr_id\tlast_recalc_date\tplan_start_date"]
    lines += [f"%R\t{pid}\t{name}\t10\t2024-03-04 00:00\t2024-03-04 00:00" for pid, name in projects]
    lines += ["%T\tCALENDAR", "%F\tclndr_id\tclndr_name\tday_hr_cnt\tclndr_data", f"%R\t10\tStd\t8\t{calendar}"]
    lines += ["%T\tTASK", "%F\ttask_id\tproj_id\tclndr_id\ttask_code\ttask_name\ttask_type\tstatus_code\t"
              "target_drtn_hr_cnt\tremain_drtn_hr_cnt\tcstr_type\tcstr_date\tact_start_date\tact_end_date"]
    lines += ["%R\t" + "\t".join(t) for t in tasks]
    lines += ["%T\tTASKPRED", "%F\ttask_pred_id\ttask_id\tpred_task_id\tproj_id\tpred_proj_id\tpred_type\tlag_hr_cnt"]
    lines += ["%R\t" + "\t".join(p) for p in preds]
    return "\r\n".join(lines) + "\r\n" + extra + "%E\r\n"


def task(tid, code, proj="1", cal="10", hours="8", ttype="TT_Task", status="TK_NotStart", cstr="", cdate="",
         act_start="", act_end="", name=None):
    return (tid, proj, cal, code, name or f"Task {code}", ttype, status, hours, hours, cstr, cdate, act_start, act_end)


def write(tmp_path: Path, text: str, encoding="cp1252", name="t.xer") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


# -- unit tests on small files -------------------------------------------------------------------
def test_calendar_data_days_start_on_sunday_and_exceptions_are_day_serials():
    week, exc = parse_calendar_data(STD)
    assert week[0] == ((480, 720), (780, 1020))  # Monday is P6 day 2
    assert week[1] == ((480, 960),)
    assert week[5] == week[6] == ()               # Saturday (7) and Sunday (1)
    assert exc == {date(2024, 3, 5): (), date(2024, 3, 6): ((600, 720),)}


def test_tasks_links_constraints_and_progress_are_read(tmp_path):
    text = xer_text(tasks=[task("1", "A", status="TK_Complete", act_start="2024-03-04 08:00",
                                act_end="2024-03-04 17:00"),
                           task("2", "B", cstr="CS_MSOA", cdate="2024-03-11 08:00"),
                           task("3", "M", hours="0", ttype="TT_FinMile", cstr="CS_ALAP")],
                    preds=[("1", "2", "1", "1", "1", "PR_SS", "4"), ("2", "3", "2", "1", "1", "PR_FF", "-8")])
    s = read_xer(write(tmp_path, text))
    assert list(s.activities) == ["A", "B", "M"]
    a, b, m = s.activities.values()
    assert a.is_complete and a.actual_finish == datetime(2024, 3, 4, 17) and a.percent_complete == 100
    assert b.constraints[0].type is ConstraintType.START_ON_OR_AFTER
    assert m.type is ActivityType.FINISH_MILESTONE
    assert m.constraints[0].type is ConstraintType.AS_LATE_AS_POSSIBLE
    assert [(r.pred, r.succ, r.type, r.lag_h) for r in s.relationships] == [
        ("A", "B", RelationType.SS, 4.0), ("B", "M", RelationType.FF, -8.0)]
    assert s.data_date == datetime(2024, 3, 4) and s.default_calendar == "10"
    assert s.warnings == ()


def test_utf8_and_windows_1252_files_read_the_same_names(tmp_path):
    text = xer_text(tasks=[task("1", "A", name="Dig £ trench – north")])
    for enc in ("utf-8", "cp1252"):
        s = read_xer(write(tmp_path, text, enc, f"{enc}.xer"))
        assert s.activities["A"].name == "Dig £ trench – north"


def test_undecodable_bytes_are_an_error_naming_the_file_and_offset(tmp_path):
    p = tmp_path / "bad.xer"
    p.write_bytes(xer_text().encode("ascii") + b"\x81\x8d\x90")
    with pytest.raises(ScheduleError, match=r"bad\.xer.*offset \d+"):
        read_xer(p)


def test_a_file_that_is_not_xer_is_rejected(tmp_path):
    with pytest.raises(ScheduleError, match="not a Primavera P6 XER"):
        read_xer(write(tmp_path, "id,name\n1,a\n"))


def test_a_missing_file_is_reported():
    with pytest.raises(MissingFileError, match="nope.xer"):
        read_xer("nope.xer")


def test_links_to_unknown_tasks_and_unknown_calendars_are_counted_warnings(tmp_path):
    text = xer_text(tasks=[task("1", "A"), task("2", "B", cal="99")],
                    preds=[("1", "2", "1", "1", "1", "PR_FS", "0"), ("2", "2", "777", "1", "1", "PR_FS", "0")])
    s = read_xer(write(tmp_path, text))
    assert len(s.relationships) == 1
    assert any("unknown task_id 777" in w for w in s.warnings)
    assert any("activity 'B': unknown calendar '99'" in w for w in s.warnings)
    assert s.activities["B"].calendar is None


def test_corrupt_far_dates_become_warnings_naming_the_activity(tmp_path):
    text = xer_text(tasks=[task("1", "A", cstr="CS_MEO", cdate="4637-11-24 17:00")])
    s = read_xer(write(tmp_path, text))
    assert s.activities["A"].constraints == ()
    assert any("activity 'A'" in w and "4637" in w for w in s.warnings)


def test_several_projects_are_read_one_by_one_or_merged(tmp_path):
    text = xer_text(projects=(("1", "ALPHA"), ("2", "BETA")),
                    tasks=[task("1", "A"), task("2", "A", proj="2"), task("3", "C", proj="2")],
                    preds=[("1", "3", "1", "2", "1", "PR_FS", "0")])
    path = write(tmp_path, text)
    alpha, beta = read_xer_projects(path)
    assert list(alpha.activities) == ["A"] and list(beta.activities) == ["A", "C"]
    assert any("other projects" in w for w in beta.warnings)
    merged = read_xer(path)
    assert set(merged.activities) == {"ALPHA:A", "BETA:A", "C"}
    assert [(r.pred, r.succ) for r in merged.relationships] == [("ALPHA:A", "C")]
    assert list(read_xer(path, project="BETA").activities) == ["A", "C"]
    with pytest.raises(ScheduleError, match="no project 'GAMMA'.*ALPHA, BETA"):
        read_xer(path, project="GAMMA")


# -- the real files ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hs2_schedule():
    import os

    root = Path(__file__).resolve().parents[2]
    path = Path(os.environ.get("TWIN_SHARED", root.parent / "shared")) / "samples" / HS2
    if not path.exists():
        pytest.skip(f"reference file {path} is absent")
    return read_xer(path)


def test_hs2_counts(hs2_schedule):
    s = hs2_schedule
    assert (len(s.activities), len(s.relationships), len(s.calendars)) == (3994, 5966, 6)
    assert (len(s.resources), len(s.assignments)) == (180, 692)
    status = [a.reference["status"] for a in s.activities.values()]
    assert (status.count("TK_Complete"), status.count("TK_Active")) == (523, 170)
    cons = [c.type for a in s.activities.values() for c in a.constraints]
    assert cons.count(ConstraintType.FINISH_ON) == 786
    assert cons.count(ConstraintType.AS_LATE_AS_POSSIBLE) == 381
    assert sum(1 for r in s.relationships if r.lag_h) == 220
    assert s.options.lag_calendar == "predecessor" and s.options.progress == "retained_logic"
    assert s.data_date == datetime(2017, 9, 16)


def test_hs2_keeps_every_relationship_and_names_the_19_corrupt_dates(hs2_schedule):
    corrupt = [w for w in hs2_schedule.warnings if "corrupt date" in w]
    assert len(corrupt) == 19
    assert any("4637" in w for w in corrupt)
    assert not [w for w in hs2_schedule.warnings if "relationship ignored" in w]


@pytest.mark.slow
def test_hs2_agrees_with_mpxj(hs2_schedule, sample, mpxj):
    from java.time import LocalDateTime  # type: ignore[import-not-found]
    from org.mpxj import TimeUnit  # type: ignore[import-not-found]
    from org.mpxj.reader import UniversalProjectReader  # type: ignore[import-not-found]

    project = UniversalProjectReader().read(str(sample(HS2)))
    tasks = {str(t.getActivityID()): t for t in project.getTasks() if not t.getSummary()}
    s = hs2_schedule
    assert set(tasks) == set(s.activities)
    for aid, act in s.activities.items():
        t = tasks[aid]
        assert float(t.getPlannedDuration().convertUnits(TimeUnit.HOURS, project.getProjectProperties())
                     .getDuration()) == pytest.approx(act.duration_h), aid
        assert str(t.getCalendar().getUniqueID()) == act.calendar, aid
    theirs = sorted((str(r.getPredecessorTask().getActivityID()), aid, str(r.getType()),
                     float(r.getLag().getDuration()))
                    for aid, t in tasks.items() for r in t.getPredecessors())
    ours = sorted((r.pred, r.succ, r.type.value, r.lag_h) for r in s.relationships)
    assert ours == theirs
    start, end = datetime(2017, 1, 1), datetime(2019, 1, 1)
    for cal in project.getCalendars():
        cid = str(cal.getUniqueID())
        hours = float(cal.getWork(LocalDateTime.of(2017, 1, 1, 0, 0), LocalDateTime.of(2019, 1, 1, 0, 0),
                                  TimeUnit.HOURS).getDuration())
        assert WorkCalendar(s.calendars[cid]).working_between(start, end) / 60 == pytest.approx(hours), cid


def test_p6_resource_rates_file(sample):
    s = read_xer(sample("schedules/p6_resource_rates.xer"))
    assert list(s.activities) == ["A1000"]
    assert s.activities["A1000"].duration_h == 240
    assert [a.resource for a in s.assignments] == ["R1"] * 5
    assert s.calendars["597"].week[0] == ((480, 720), (780, 1020))


@pytest.mark.slow
def test_hs2_calendar_arithmetic_agrees_with_mpxj(hs2_schedule, sample, mpxj):
    """Adding working hours on each HS2 calendar (holidays, lunch breaks, 7-day weeks) gives MPXJ's
    ProjectCalendar.getDate, the finish instant, for random starts and durations."""
    from datetime import timedelta

    import numpy as np
    from java.time import LocalDateTime  # type: ignore[import-not-found]
    from org.mpxj import Duration, TimeUnit  # type: ignore[import-not-found]
    from org.mpxj.reader import UniversalProjectReader  # type: ignore[import-not-found]

    project = UniversalProjectReader().read(str(sample(HS2)))
    rng = np.random.default_rng(1)
    for cal in project.getCalendars():
        ours = WorkCalendar(hs2_schedule.calendars[str(cal.getUniqueID())])
        for _ in range(100):
            start = datetime(2016, 1, 1) + timedelta(hours=int(rng.integers(0, 365 * 4 * 24)))
            hours = int(rng.integers(1, 2000))
            j = cal.getDate(LocalDateTime.of(start.year, start.month, start.day, start.hour, start.minute),
                            Duration.getInstance(hours, TimeUnit.HOURS))
            theirs = datetime(j.getYear(), j.getMonthValue(), j.getDayOfMonth(), j.getHour(), j.getMinute())
            assert ours.add_working(start, hours * 60) == theirs, (str(cal.getName()), start, hours)
