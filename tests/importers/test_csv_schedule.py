"""CSV schedules: the documented columns, predecessor tokens, calendars, start, errors with lines."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from twin.errors import MissingFileError, ScheduleCycleError, ScheduleError
from twin.importers.csv import parse_predecessor, read_csv, write_csv
from twin.schedule import (
    Activity, ActivityType, Calendar, Constraint, ConstraintType, RelationType, Relationship,
    Schedule, ThreePoint,
)


def write(tmp_path: Path, text: str, name: str = "s.csv", encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


BASIC = """id,name,duration_days,predecessors,trade
A,Excavate,3,,earthworks
B,Footings,5,A,concrete
C,Walls,4,B SS+2d,masonry
"""


def test_basic_file_gives_hours_links_and_attributes(tmp_path):
    s = read_csv(write(tmp_path, BASIC), start="2026-03-02T08:00")
    assert list(s.activities) == ["A", "B", "C"]
    assert [a.duration_h for a in s.activities.values()] == [24.0, 40.0, 32.0]
    assert s.relationships == (Relationship("A", "B", RelationType.FS, 0.0),
                               Relationship("B", "C", RelationType.SS, 16.0))
    assert s.activities["C"].attributes == {"trade": "masonry"}
    assert s.start == datetime(2026, 3, 2, 8, 0)
    assert s.default_calendar == "standard"
    assert s.calendars["standard"].hours_per_day == 8.0
    assert s.warnings == ()


@pytest.mark.parametrize("token, expected", [
    ("A", ("A", RelationType.FS, 0.0, "d")),
    ("A FS", ("A", RelationType.FS, 0.0, "d")),
    ("A ss", ("A", RelationType.SS, 0.0, "d")),
    ("AFF+2d", ("A", RelationType.FF, 2.0, "d")),
    ("A SF -4h", ("A", RelationType.SF, -4.0, "h")),
    ("A:SS 3", ("A", RelationType.SS, 3.0, "d")),
    ("A+1", ("A", RelationType.FS, 1.0, "d")),
    ("A-0.5d", ("A", RelationType.FS, -0.5, "d")),
    ("PASS", ("PASS", RelationType.FS, 0.0, "d")),
    ("PASS SS", ("PASS", RelationType.SS, 0.0, "d")),
    ("A 10 FS+2 days", ("A 10", RelationType.FS, 2.0, "d")),
])
def test_predecessor_tokens(token, expected):
    assert parse_predecessor(token, {"A", "PASS", "A 10"}) == expected


@pytest.mark.parametrize("token, message", [
    ("Z", "unknown predecessor id 'Z'"),
    ("Z SS+2d", "unknown predecessor id 'Z'"),
    ("A XX+2d", "bad predecessor 'A XX\\+2d'"),
    ("A SS+2w", "bad predecessor 'A SS\\+2w'"),
    ("B SS", "unknown predecessor id 'B'"),
    ("A SS+", "bad predecessor|unknown predecessor"),
])
def test_bad_predecessor_tokens(token, message):
    with pytest.raises(ValueError, match=message):
        parse_predecessor(token, {"A"})


def test_lag_days_use_the_predecessor_calendar(tmp_path):
    p = write(tmp_path, "id,name,duration_days,predecessors,calendar\n"
                        "A,a,1,,24h\nB,b,1,A+2d,standard\nC,c,1,B FS+2d;A SS+3h,\n")
    s = read_csv(p, start=date(2026, 3, 2))
    lags = {(r.pred, r.succ): r.lag_h for r in s.relationships}
    assert lags == {("A", "B"): 48.0, ("B", "C"): 16.0, ("A", "C"): 3.0}
    assert s.activities["A"].duration_h == 24.0
    assert s.activities["A"].calendar == "24h"
    assert s.activities["C"].calendar is None
    assert set(s.calendars) == {"standard", "24h"}
    assert s.start == datetime(2026, 3, 2)


@pytest.mark.parametrize("name, week_hours", [("standard", 40), ("24h", 168), ("6day", 48), ("7day", 56)])
def test_builtin_calendars(tmp_path, name, week_hours):
    p = write(tmp_path, f"id,name,duration_days,predecessors,calendar\nA,a,1,,{name.upper()}\n")
    cal = read_csv(p, start="2026-03-02").calendars[name]
    assert sum(e - s for day in cal.week for s, e in day) == week_hours * 60


def test_custom_calendar_passed_by_the_caller(tmp_path):
    night = Calendar("night", week=(((1320, 1440),),) * 5 + ((), ()), hours_per_day=2.0)
    p = write(tmp_path, "id,name,duration_days,predecessors,calendar\nA,a,3,,night\n")
    s = read_csv(p, start="2026-03-02", calendars={"night": night})
    assert s.activities["A"].duration_h == 6.0
    assert s.calendars["night"] is night


def test_start_column_is_a_start_no_earlier_than_and_sets_the_project_start(tmp_path):
    p = write(tmp_path, "ID,Name,Duration Days,Predecessors,Start\nA,a,1,,2026-04-01\n"
                        "B,b,1,A,2026-03-30T13:00\n")
    s = read_csv(p)
    assert s.activities["B"].constraints == (
        Constraint(ConstraintType.START_ON_OR_AFTER, datetime(2026, 3, 30, 13, 0)),)
    assert s.start == datetime(2026, 3, 30, 13, 0)
    assert s.warnings == ()


def test_no_start_anywhere_gives_next_monday_and_a_warning(tmp_path):
    s = read_csv(write(tmp_path, BASIC))
    assert s.start.weekday() == 0 and s.start.time().hour == 8 and s.start.date() > date.today()
    assert len(s.warnings) == 1 and "next Monday" in s.warnings[0]


def test_three_point_progress_type_and_wbs_columns(tmp_path):
    p = write(tmp_path, "id,name,duration_days,predecessors,optimistic,most_likely,pessimistic,type,wbs,"
                        "actual_start,actual_finish,percent_complete,remaining_days\n"
                        "M,Start,0,,,,,milestone,,,,,\n"
                        "A,a,5,M,4,5,8,,Site / T/FDN / Zone 1,2026-03-02T08:00,,40,3\n"
                        "F,Finish,,A,,,,milestone,,,,,\n")
    s = read_csv(p, start="2026-03-02")
    a = s.activities["A"]
    assert a.three_point == ThreePoint(32.0, 40.0, 64.0)
    assert a.wbs == ("Site", "T/FDN", "Zone 1")    # ' / ' separates levels, a bare '/' does not
    assert a.actual_start == datetime(2026, 3, 2, 8) and a.percent_complete == 40.0
    assert a.remaining_h == 24.0
    assert s.activities["M"].type is ActivityType.START_MILESTONE
    assert s.activities["F"].type is ActivityType.FINISH_MILESTONE


def test_attribute_values_are_typed_only_when_lossless(tmp_path):
    p = write(tmp_path, "id,name,duration_days,predecessors,lifts,zone,ratio,code\n"
                        "A,a,1,,12,01,2.5,1e3\n")
    attrs = read_csv(p, start="2026-03-02").activities["A"].attributes
    assert attrs == {"lifts": 12, "zone": "01", "ratio": 2.5, "code": "1e3"}


def test_utf8_bom_is_accepted(tmp_path):
    p = write(tmp_path, "\ufeffid,name,duration_days,predecessors\nA,Béton,1,\n")
    assert read_csv(p, start="2026-03-02").activities["A"].name == "Béton"


def test_windows_1252_bytes_fall_back_with_a_warning(tmp_path):
    p = write(tmp_path, "id,name,duration_days,predecessors\nA,Béton – coulage,1,\n", encoding="cp1252")
    s = read_csv(p, start="2026-03-02")
    assert s.activities["A"].name == "Béton – coulage"
    assert len(s.warnings) == 1 and "byte 0xe9 at offset 38" in s.warnings[0] and "Windows-1252" in s.warnings[0]


def test_undecodable_bytes_name_the_offset(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_bytes(b"id,name,duration_days,predecessors\nA,x\x81y,1,\n")
    with pytest.raises(ScheduleError, match=r"bad.csv.*offset 38"):
        read_csv(p)


def test_forced_encoding_is_strict(tmp_path):
    p = write(tmp_path, "id,name,duration_days,predecessors\nA,é,1,\n", encoding="cp1252")
    with pytest.raises(ScheduleError, match="offset 37 cannot be decoded as utf-8"):
        read_csv(p, encoding="utf-8")
    with pytest.raises(ScheduleError, match="unknown encoding 'klingon'"):
        read_csv(p, encoding="klingon")


@pytest.mark.parametrize("text, message", [
    ("id,name,duration_days\nA,a,1\n", r"line 1: missing required column\(s\) predecessors"),
    ("id;name;duration_days;predecessors\nA;a;1;\n", "separator must be a comma"),
    ("", "empty"),
    ("id,name,duration_days,predecessors,optimistic\nA,a,1,,1\n", "go together"),
    ("id,name,duration_days,predecessors,id\nA,a,1,,A\n", "column 'id' appears twice"),
    ("id,name,duration_days,predecessors\nA,a,1,\nA,b,2,\n", "line 3: duplicated id 'A'"),
    ("id,name,duration_days,predecessors\nA,a,1,\n,b,2,\n", "line 3: the id is empty"),
    ("id,name,duration_days,predecessors\nA,a,x,\n", "line 2 \\(activity 'A'\\): duration_days 'x' is not a number"),
    ("id,name,duration_days,predecessors\nA,a,-1,\n", "line 2.*duration_days must be"),
    ("id,name,duration_days,predecessors\nA,a,,\n", "line 2.*duration_days is empty"),
    ("id,name,duration_days,predecessors\nA,a,1,\nB,b,1,Z\n", "line 3 \\(activity 'B'\\): unknown predecessor id 'Z'"),
    ("id,name,duration_days,predecessors\nA,a,1,\nB,b,1,A XS\n", "line 3.*bad predecessor 'A XS'"),
    ("id,name,duration_days,predecessors,calendar\nA,a,1,,lunar\n", "line 2.*unknown calendar 'lunar'"),
    ("id,name,duration_days,predecessors,start\nA,a,1,,2026-13-45\n", "line 2.*start: '2026-13-45' is not a date"),
    ("id,name,duration_days,predecessors,actual_start\nA,a,1,,yesterday\n", "line 2.*actual_start"),
    ("id,name,duration_days,predecessors,start\nA,a,1,,4637-11-24\n", "line 2.*start: year 4637 in '4637-11-24' is outside 1900-2200"),
    ("id,name,duration_days,predecessors,percent_complete\nA,a,1,,120\n", "line 2.*0..100"),
    ("id,name,duration_days,predecessors,type\nA,a,1,,phase\n", "line 2.*unknown type 'phase'"),
    ("id,name,duration_days,predecessors,type\nA,a,2,,milestone\n", "line 2.*milestone must have"),
    ("id,name,duration_days,predecessors\nA,a,1,,extra\n", "line 2: 5 cells"),
    ("id,name,duration_days,predecessors\nA,a,1,A\n", "'A' is linked to itself"),
    ('id,name,duration_days,predecessors\nA,"a\n', "line"),
])
def test_bad_input_names_file_and_line(tmp_path, text, message):
    p = write(tmp_path, text)
    with pytest.raises(ScheduleError, match=message) as info:
        read_csv(p, start="2026-03-02")
    assert "s.csv" in str(info.value)


def test_logic_loop_lists_the_activities(tmp_path):
    p = write(tmp_path, "id,name,duration_days,predecessors\nA,a,1,C\nB,b,1,A\nC,c,1,B SS\nD,d,1,A\n")
    with pytest.raises(ScheduleCycleError, match="A -> B -> C -> A") as info:
        read_csv(p, start="2026-03-02")
    assert info.value.cycle == ["A", "B", "C"]


def test_quoted_multiline_cell_keeps_line_numbers_right(tmp_path):
    p = write(tmp_path, 'id,name,duration_days,predecessors\nA,"two\nlines",1,\nB,b,x,A\n')
    with pytest.raises(ScheduleError, match="line 4"):
        read_csv(p, start="2026-03-02")


def test_duplicate_links_are_removed_with_a_counted_warning(tmp_path):
    p = write(tmp_path, "id,name,duration_days,predecessors\nA,a,1,\nB,b,1,A;A FS\n")
    s = read_csv(p, start="2026-03-02")
    assert len(s.relationships) == 1
    assert sum("duplicate relationship" in w for w in s.warnings) == 1


def test_missing_file():
    with pytest.raises(MissingFileError, match="nope.csv"):
        read_csv("nope.csv")


# ------------------------------------------------------------------------------------------ round trip

def _rich_schedule() -> Schedule:
    acts = {
        "M0": Activity("M0", "Start", 0.0, ActivityType.START_MILESTONE),
        "A1": Activity("A1", "Slab, level 1", 40.0, calendar="6day", wbs=("L1", "T/FDN"),
                       three_point=ThreePoint(32.0, 40.0, 64.0),
                       constraints=(Constraint(ConstraintType.START_ON_OR_AFTER, datetime(2026, 3, 3, 8)),),
                       attributes={"trade": "concrete", "zone": "01", "lifts": 12, "ratio": 2.0}),
        "A2": Activity("A2", 'Walls "north"', 13.0, actual_start=datetime(2026, 3, 9, 8),
                       percent_complete=25.0, remaining_h=10.0, attributes={"trade": "masonry"}),
        "A3": Activity("A3", "Cure", 72.0, calendar="24h"),
        "F": Activity("F", "Finish", 0.0, ActivityType.FINISH_MILESTONE),
    }
    rels = (Relationship("M0", "A1"), Relationship("A1", "A2", RelationType.SS, 16.0),
            Relationship("A1", "A3", RelationType.FF, -4.0), Relationship("A3", "A2", RelationType.SF, 30.0),
            Relationship("A2", "F"), Relationship("A3", "F", RelationType.FS, 1.5))
    from twin.importers._common import builtin_calendar
    cals = {c: builtin_calendar(c) for c in ("standard", "6day", "24h")}
    return Schedule(activities=acts, relationships=rels, calendars=cals, start=datetime(2026, 3, 2, 8))


def _same_activity(a: Activity, b: Activity) -> None:
    for f in ("id", "name", "type", "calendar", "wbs", "constraints", "three_point", "actual_start",
              "actual_finish", "percent_complete", "attributes"):
        assert getattr(a, f) == getattr(b, f), (a.id, f)
    assert a.duration_h == pytest.approx(b.duration_h, abs=1e-6)
    assert (a.remaining_h is None) == (b.remaining_h is None)
    if a.remaining_h is not None:
        assert a.remaining_h == pytest.approx(b.remaining_h, abs=1e-6)


def test_round_trip_keeps_everything(tmp_path):
    s = _rich_schedule()
    path = tmp_path / "out.csv"
    assert write_csv(s, path) == []
    back = read_csv(path, start=s.start)
    assert list(back.activities) == list(s.activities)
    for aid, a in s.activities.items():
        _same_activity(a, back.activities[aid])
    got = sorted((r.pred, r.succ, r.type, round(r.lag_h, 6)) for r in back.relationships)
    assert got == sorted((r.pred, r.succ, r.type, r.lag_h) for r in s.relationships)
    assert dict(back.calendars) == dict(s.calendars)
    assert back.warnings == ()


def test_writer_reports_what_csv_cannot_hold_and_writes_atomically(tmp_path):
    s = _rich_schedule()
    acts = dict(s.activities)
    acts["A3"] = Activity("A3", "Cure", 72.0, calendar="nights",
                          constraints=(Constraint(ConstraintType.FINISH_ON_OR_BEFORE, datetime(2026, 4, 1)),))
    cals = dict(s.calendars)
    cals["nights"] = Calendar("nights")
    lost = write_csv(Schedule(acts, s.relationships, cals), tmp_path / "x.csv")
    assert any("calendar 'nights'" in w for w in lost)
    assert any("finish_on_or_before" in w for w in lost)
    with pytest.raises(ScheduleError, match="does not exist"):
        write_csv(s, tmp_path / "missing" / "x.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]


def test_writer_refuses_ids_with_semicolons(tmp_path):
    s = Schedule({"a;b": Activity("a;b", "x", 8.0)})
    with pytest.raises(ScheduleError, match="contains ';'"):
        write_csv(s, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_decimal_commas_are_read(tmp_path):
    p = write(tmp_path, 'id,name,duration_days,predecessors\nA,a,"2,5",\n')
    assert read_csv(p, start="2026-03-02").activities["A"].duration_h == 20.0


def test_hyphenated_ids_win_over_a_lag_reading():
    assert parse_predecessor("L1-2", {"L1", "L1-2"}) == ("L1-2", RelationType.FS, 0.0, "d")
    assert parse_predecessor("L1-2", {"L1"}) == ("L1", RelationType.FS, -2.0, "d")
    assert parse_predecessor("L1-Z1-SLAB SS+2d", {"L1-Z1-SLAB"}) == ("L1-Z1-SLAB", RelationType.SS, 2.0, "d")
