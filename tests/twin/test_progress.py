"""Progress records: CSV reading, the checks that refuse a file whole, hashing, roll-up, applying."""
from __future__ import annotations

from datetime import datetime

import pytest

from twin.progress import (ProgressRecord, ProgressRejectedError, activity_records, apply_progress, content_hash,
                           make_update, parse_data_date, parse_progress_csv, read_progress_csv,
                           records_from_schedule, strip_progress)

DD = datetime(2027, 3, 11)


def _parse(text, schedule):
    return parse_progress_csv(text, schedule, source="p.csv")


def test_dates_alone_read_as_start_and_end_of_that_days_work(schedule):
    recs, bad = _parse("activity_id,actual_start,actual_finish,percent_complete\nA,2027-03-01,2027-03-08,\n", schedule)
    assert bad == []
    (r,) = recs
    assert r.actual_start == datetime(2027, 3, 1, 8) and r.actual_finish == datetime(2027, 3, 8, 17)
    assert r.percent == 100.0


def test_a_data_date_alone_is_the_end_of_that_day():
    assert parse_data_date("2027-03-10") == datetime(2027, 3, 11)
    assert parse_data_date("2027-03-10T12:30") == datetime(2027, 3, 10, 12, 30)


def test_headers_are_case_insensitive_and_optional_columns_are_read(schedule):
    text = ("Activity ID,Actual Start,Actual Finish,Percent Complete,Remaining Days,Reported By,global_id\n"
            "B,2027-03-09T08:00,,50,3,Ann,\n")
    (r,), bad = _parse(text, schedule)
    assert bad == [] and r.remaining_h == 24.0 and r.reported_by == "Ann" and r.global_id is None


def test_missing_and_unknown_columns_are_named(schedule):
    recs, bad = _parse("activity_id,actual_start,percent,foo\nA,2027-03-01,10,x\n", schedule)
    assert recs == [] and bad[0].row == 1
    assert "missing column(s) actual_finish, percent_complete" in bad[0].reason and "foo" in bad[0].reason


@pytest.mark.parametrize("row, why", [
    ("Z,2027-03-01,,10", "unknown activity 'Z'"),
    ("B,2027-03-09,2027-03-05,100", "is before actual_start"),
    ("B,2027-03-09,,120", "percent_complete 120 is outside 0-100"),
    ("B,2027-03-09,,-5", "percent_complete -5 is outside 0-100"),
    ("B,2027-03-14,,10", "after the data date"),
    ("B,,2027-03-09,100", "actual_finish given without actual_start"),
    ("B,,,40", "percent_complete 40 without actual_start"),
    ("B,2027-03-09,2027-03-10,60", "percent_complete is 60"),
    ("B,yesterday,,10", "'yesterday' is not a date"),
    ("B,2027-03-09,,ten", "'ten' is not a number"),
])
def test_each_bad_row_is_refused_with_its_reason(schedule, row, why):
    recs, bad = _parse("activity_id,actual_start,actual_finish,percent_complete\n" + row + "\n", schedule)
    with pytest.raises(ProgressRejectedError) as err:
        make_update(recs, schedule, DD, rejected=bad, source="p.csv")
    (rej,) = err.value.rejected
    assert rej.row == 2 and why in rej.reason


def test_a_file_with_several_bad_rows_lists_every_one(schedule):
    text = ("activity_id,actual_start,actual_finish,percent_complete\n"
            "A,2027-03-01,2027-03-05,100\n"
            "Q,2027-03-01,,10\n"
            "B,2027-03-09,,150\n"
            "C,2027-03-09,2027-03-08,100\n"
            "A,2027-03-01,2027-03-05,100\n")
    recs, bad = _parse(text, schedule)
    with pytest.raises(ProgressRejectedError, match="4 bad row"):
        make_update(recs, schedule, DD, rejected=bad, source="p.csv")
    try:
        make_update(recs, schedule, DD, rejected=bad)
    except ProgressRejectedError as exc:
        assert [r.row for r in exc.rejected] == [3, 4, 5, 6]
        assert "already reported on line 2" in exc.rejected[-1].reason


def test_unknown_global_id_is_refused_when_elements_are_known(schedule):
    recs, bad = _parse("activity_id,actual_start,actual_finish,percent_complete,global_id\n"
                       "B,2027-03-09,,10,0abcdefghijklmnopqrstu\n", schedule)
    make_update(recs, schedule, DD)   # without a model nothing to check against
    with pytest.raises(ProgressRejectedError, match="unknown GlobalId '0abcdefghijklmnopqrstu'"):
        make_update(recs, schedule, DD, element_ids={"1xxxxxxxxxxxxxxxxxxxxx"})


def test_the_hash_ignores_row_order_and_spelling_but_not_values(schedule):
    a = _parse("activity_id,actual_start,actual_finish,percent_complete\nA,2027-03-01,2027-03-05,100\n"
               "B,2027-03-08,,20\n", schedule)[0]
    b = _parse("percent_complete,activity_id,actual_finish,actual_start\n20,B,,2027-03-08T08:00\n"
               "100,A,2027-03-05T17:00,2027-03-01\n", schedule)[0]
    c = _parse("activity_id,actual_start,actual_finish,percent_complete\nA,2027-03-01,2027-03-05,100\n"
               "B,2027-03-08,,25\n", schedule)[0]
    assert content_hash(a, "s", DD) == content_hash(b, "s", DD)
    assert content_hash(a, "s", DD) != content_hash(c, "s", DD)
    assert content_hash(a, "s", DD) != content_hash(a, "other", DD)
    assert content_hash(a, "s", DD) != content_hash(a, "s", datetime(2027, 3, 12))


def test_element_rows_roll_up_into_the_activity():
    g1, g2, g3 = "1" * 22, "2" * 22, "3" * 22
    recs = [ProgressRecord("C", datetime(2027, 3, 15, 8), datetime(2027, 3, 16, 17), 100.0, global_id=g1, row=2),
            ProgressRecord("C", datetime(2027, 3, 16, 8), None, 50.0, global_id=g2, row=3)]
    (r,) = activity_records(recs, [("C", g1), ("C", g2), ("C", g3)]).values()
    assert r.actual_start == datetime(2027, 3, 15, 8) and r.actual_finish is None
    assert r.percent_complete == pytest.approx(50.0)   # (100 + 50 + 0) / 3
    done = activity_records([recs[0]], [("C", g1)])["C"]
    assert done.actual_finish == datetime(2027, 3, 16, 17) and done.percent_complete == 100.0


def test_applying_progress_returns_a_new_schedule_and_derives_remaining(schedule):
    recs = [ProgressRecord("A", datetime(2027, 3, 1, 8), datetime(2027, 3, 8, 17), 100.0),
            ProgressRecord("B", datetime(2027, 3, 9, 8), None, 25.0)]
    p = apply_progress(schedule, recs, DD)
    assert schedule.activities["A"].actual_finish is None and schedule.data_date is None
    assert p.data_date == DD and p.activities["A"].is_complete
    assert p.activities["B"].remaining_h == pytest.approx(32 * 0.75)
    assert strip_progress(p).activities["B"].actual_start is None


def test_progress_in_a_p6_file_becomes_records(shared):
    from twin.importers import read_schedule

    s = read_schedule(shared / "samples" / "schedules" / "HS2_SP10_cost_loaded.xer")
    recs = records_from_schedule(s)
    complete = [a for a in s.activities.values() if a.actual_finish is not None]
    started = [a for a in s.activities.values() if a.actual_start is not None or a.percent_complete]
    assert len(recs) == len(started) and len(complete) == 523
    assert sum(r.actual_finish is not None for r in recs) == 523
    make_update(recs, s, s.data_date)   # P6's own progress passes every check at P6's data date


def test_read_progress_csv_refuses_non_utf8(tmp_path, schedule):
    p = tmp_path / "p.csv"
    p.write_bytes(b"activity_id,actual_start,actual_finish,percent_complete\n\xff\n")
    with pytest.raises(Exception, match="not UTF-8"):
        read_progress_csv(p, schedule)
