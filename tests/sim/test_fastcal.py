"""Tabulated calendars: the tables equal a per-minute reference construction, for any window."""
from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest

from twin.schedule import Calendar
from twin.sim.fastcal import TabulatedCalendar
from twin.worktime import WorkCalendar, full_day_calendar, to_minutes


def _reference(wc: WorkCalendar, t0: int, t1: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-minute working flags from the intervals, then running sums (the obvious construction)."""
    starts, ends = wc.intervals(t0, t1)
    working = np.zeros(t1 - t0, dtype=bool)
    for s, e in zip(starts, ends):
        working[max(s - t0, 0):max(min(e - t0, t1 - t0), 0)] = True
    off = np.concatenate([[0], np.cumsum(working)]).astype(np.int32)
    return off, np.flatnonzero(working).astype(np.int64) + t0


_HOLIDAYS = Calendar("hol", exceptions={date(2024, 3, 6): (), date(2024, 3, 8): ((600, 720),)})


@pytest.mark.parametrize("cal", [Calendar("5x8"), _HOLIDAYS, full_day_calendar()], ids=["5x8", "holidays", "24h"])
@pytest.mark.parametrize("start, minutes", [(0, 20 * 1440), (7 * 60 + 13, 3 * 1440 + 5), (9 * 60, 1), (3 * 60, 60)])
def test_tables_equal_the_per_minute_construction(cal, start, minutes):
    wc = WorkCalendar(cal)
    t0 = to_minutes(datetime(2024, 3, 4)) + start
    tab = TabulatedCalendar(wc, t0, t0 + minutes)
    off, pos = _reference(wc, t0, t0 + minutes)
    assert np.array_equal(tab._off, off) and np.array_equal(tab._pos, pos)
    t = np.arange(t0, t0 + minutes + 1)
    assert np.array_equal(tab.offsets(t), wc.offsets(t))
