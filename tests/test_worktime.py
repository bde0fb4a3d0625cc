"""Working-time arithmetic: offsets, start/finish readings, exceptions, 24-hour calendars, horizon."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest

from twin.errors import ScheduleError
from twin.schedule import Calendar
from twin.worktime import (
    HorizonError,
    WorkCalendar,
    compile_calendars,
    from_minutes,
    full_day_calendar,
    to_minutes,
)

STD = WorkCalendar(Calendar("std"))  # Mon-Fri 08:00-12:00, 13:00-17:00


def dt(*a: int) -> datetime:
    return datetime(*a)


def test_minutes_round_trip():
    for d in (dt(1970, 1, 1), dt(2017, 9, 16, 8, 30), dt(1950, 6, 1, 23, 59)):
        assert from_minutes(to_minutes(d)) == d


def test_a_finish_at_the_end_of_a_day_reads_as_that_days_end():
    # 2024-03-01 is a Friday: 8 hours from 08:00 end at 17:00 the same day, not Monday 08:00
    assert STD.add_working(dt(2024, 3, 1, 8), 480) == dt(2024, 3, 1, 17)


def test_a_start_after_the_end_of_a_day_reads_as_the_next_working_minute():
    assert STD.add_working(dt(2024, 3, 1, 8), 480, side="start") == dt(2024, 3, 4, 8)
    assert STD.next_working_dt(dt(2024, 3, 2, 11)) == dt(2024, 3, 4, 8)


def test_lunch_break_is_skipped():
    assert STD.add_working(dt(2024, 3, 4, 11), 120) == dt(2024, 3, 4, 14)
    assert STD.add_working(dt(2024, 3, 4, 11), 60) == dt(2024, 3, 4, 12)
    assert STD.add_working(dt(2024, 3, 4, 11), 60, side="start") == dt(2024, 3, 4, 13)


def test_negative_working_time_goes_back_over_the_weekend():
    assert STD.add_working(dt(2024, 3, 4, 9), -120, side="start") == dt(2024, 3, 1, 16)


def test_previous_working_reads_the_end_of_the_last_interval():
    assert STD.previous_working_dt(dt(2024, 3, 4, 8)) == dt(2024, 3, 1, 17)
    assert STD.previous_working_dt(dt(2024, 3, 4, 12, 30)) == dt(2024, 3, 4, 12)


def test_working_between_counts_only_working_minutes():
    assert STD.working_between(dt(2024, 3, 1, 8), dt(2024, 3, 8, 17)) == 6 * 480
    assert STD.working_between(dt(2024, 3, 8, 17), dt(2024, 3, 1, 8)) == -6 * 480


def test_holiday_exception_and_changed_hours():
    cal = WorkCalendar(Calendar("x", exceptions={date(2024, 3, 4): (), date(2024, 3, 5): ((600, 720),)}))
    # Friday 16:00 + 3h: 1h Friday, Monday is a holiday, Tuesday works 10:00-12:00 only
    assert cal.add_working(dt(2024, 3, 1, 16), 180) == dt(2024, 3, 5, 12)
    assert not cal.is_working(to_minutes(dt(2024, 3, 4, 9)))
    assert cal.is_working(to_minutes(dt(2024, 3, 5, 10)))


def test_working_day_exception_on_a_weekend():
    cal = WorkCalendar(Calendar("x", exceptions={date(2024, 3, 2): ((480, 960),)}))
    assert cal.add_working(dt(2024, 3, 1, 17), 60) == dt(2024, 3, 2, 9)


def test_24_hour_calendar_counts_every_minute_across_midnight():
    cal = WorkCalendar(full_day_calendar())
    assert cal.add_working(dt(2024, 3, 1, 22), 240) == dt(2024, 3, 2, 2)
    assert cal.working_between(dt(2024, 3, 1), dt(2024, 3, 8)) == 7 * 1440


def test_vectorised_functions_equal_the_scalar_ones():
    rng = np.random.default_rng(3)
    t = to_minutes(dt(2023, 1, 1)) + rng.integers(0, 800 * 1440, 500)
    w = STD.offsets(t)
    assert w.tolist() == [STD.offset(int(x)) for x in t]
    for side in ("start", "finish"):
        assert STD.at_offsets(w, side).tolist() == [STD.at_offset(int(x), side) for x in w]


def test_offsets_are_stable_when_the_horizon_grows():
    cal = WorkCalendar(Calendar("g"), span_days=800)
    t = to_minutes(dt(2001, 5, 7, 9))
    before = cal.offset(t)
    cal.offset(to_minutes(dt(2150, 1, 1)))
    cal.offset(to_minutes(dt(1905, 1, 1)))
    assert cal.offset(t) == before
    assert cal.at_offset(before) == t


def test_far_corrupt_dates_raise_a_horizon_error_without_exhausting_memory():
    with pytest.raises(HorizonError, match="4637"):
        STD.offset(to_minutes(dt(4637, 1, 1)))


def test_a_calendar_without_working_time_is_rejected():
    with pytest.raises(ScheduleError, match="no working time"):
        WorkCalendar(Calendar("none", week=((),) * 7))


def test_compile_calendars_adds_a_24_hour_calendar():
    cals = compile_calendars({"std": Calendar("std")})
    assert set(cals) == {"std", "24h"}
    start = dt(2024, 3, 1, 8)
    assert cals["24h"].add_working(start, 1440) == start + timedelta(days=1)


def test_intervals_list_the_working_periods_overlapping_a_window():
    cal = WorkCalendar(Calendar("std"))
    # Friday 2024-03-01 10:00 to Monday 2024-03-04 09:00: Friday's two periods and Monday's first
    starts, ends = cal.intervals(to_minutes(dt(2024, 3, 1, 10)), to_minutes(dt(2024, 3, 4, 9)))
    got = [(from_minutes(int(s)), from_minutes(int(e))) for s, e in zip(starts, ends)]
    assert got == [(dt(2024, 3, 1, 8), dt(2024, 3, 1, 12)), (dt(2024, 3, 1, 13), dt(2024, 3, 1, 17)),
                   (dt(2024, 3, 4, 8), dt(2024, 3, 4, 12))]
    assert cal.intervals(to_minutes(dt(2024, 3, 2)), to_minutes(dt(2024, 3, 3)))[0].size == 0   # a Saturday


def test_equal_calendars_share_their_tables_and_answer_like_a_fresh_build():
    import twin.worktime as wt

    hol = {date(2024, 3, 8): (), date(2024, 3, 9): ((480, 720),)}
    a = WorkCalendar(Calendar("a", exceptions=dict(hol)), origin=date(2024, 1, 1), span_days=500)
    b = WorkCalendar(Calendar("b", name="same hours", exceptions=dict(hol)), origin=date(2024, 1, 1),
                     span_days=500)
    assert a._ls is b._ls  # one table for equal week and exceptions, whatever the id
    other = WorkCalendar(Calendar("c", exceptions={date(2024, 3, 8): ()}), origin=date(2024, 1, 1),
                         span_days=500)
    assert other._ls is not a._ls
    with pytest.raises(ValueError):
        a._starts[0] = 0  # shared tables are read-only
    wt._TABLES.clear()  # a build from nothing gives the same answers
    fresh = WorkCalendar(Calendar("a", exceptions=dict(hol)), origin=date(2024, 1, 1), span_days=500)
    assert fresh._ls is not a._ls
    t = np.arange(to_minutes(dt(2024, 3, 1)), to_minutes(dt(2024, 3, 20)), 37)
    assert np.array_equal(a.offsets(t), fresh.offsets(t))
    assert a.add(to_minutes(dt(2024, 3, 7, 15)), 600) == fresh.add(to_minutes(dt(2024, 3, 7, 15)), 600)
    # growing one calendar far out neither changes nor disturbs the other
    far = to_minutes(dt(2031, 6, 2, 9))
    w = a.offset(far)
    assert fresh.offset(far) == w and b.offset(far) == w
    assert len(wt._TABLES) <= wt._TABLES_MAX
