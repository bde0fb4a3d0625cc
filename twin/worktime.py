"""Working-time arithmetic on calendars, at minute resolution, vectorised with numpy.

A :class:`WorkCalendar` compiles a :class:`twin.schedule.Calendar` (weekly hours, exceptions) into a
table of working intervals over a horizon of days, with the cumulative working minutes before each
interval. Every query is then a binary search (``bisect`` for scalars, ``numpy.searchsorted`` for
arrays): O(log n), no stepping day by day.

Assumptions and conventions (the same as Primavera P6's):

* Time is kept as integer **clock minutes** from :data:`EPOCH` (1970-01-01 00:00, timezone-naive,
  local time as planners use it). :func:`to_minutes` / :func:`from_minutes` convert.
* The **working offset** ``W(t)`` of a calendar is the number of working minutes between the calendar's
  fixed origin day and clock minute ``t`` (negative before the origin). It never changes when the
  horizon grows, so it can be stored.
* An instant where work has just ended and the next work has not begun (a Friday 17:00 or the
  following Monday 08:00) has one working offset but two readings: a **finish** reads as the end of the
  last worked interval (Friday 17:00), a **start** as the beginning of the next one (Monday 08:00).
  :meth:`WorkCalendar.at_offset` takes ``side="start"`` or ``side="finish"``.
* The horizon grows on demand, in both directions, between :data:`MIN_YEAR` and :data:`MAX_YEAR`;
  dates beyond raise :class:`HorizonError` (corrupt dates such as year 4637 must not exhaust memory).

Examples
--------
Let's imagine a crew working the standard week (Mon-Fri 08:00-12:00, 13:00-17:00) that has 10 hours of
work left on Friday 2024-03-01 at 15:00:

>>> from datetime import datetime
>>> from twin.schedule import Calendar
>>> cal = WorkCalendar(Calendar("std"))
>>> cal.add_working(datetime(2024, 3, 1, 15, 0), 600)
datetime.datetime(2024, 3, 4, 17, 0)
>>> cal.next_working_dt(datetime(2024, 3, 1, 17, 0))
datetime.datetime(2024, 3, 4, 8, 0)
>>> cal.working_between(datetime(2024, 3, 1, 8, 0), datetime(2024, 3, 4, 12, 0)) / 60
12.0
"""
from __future__ import annotations

import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from twin.errors import ScheduleError
from twin.schedule import Calendar

__all__ = [
    "EPOCH",
    "merge_intervals",
    "MIN_YEAR",
    "MAX_YEAR",
    "HorizonError",
    "WorkCalendar",
    "to_minutes",
    "from_minutes",
    "day_number",
    "full_day_calendar",
    "compile_calendars",
]

EPOCH = datetime(1970, 1, 1)
"""Clock minute 0."""
MIN_YEAR = 1900
MAX_YEAR = 2200
"""Working-time tables cover at most these years; a date outside raises :class:`HorizonError`."""

_EPOCH_ORDINAL = EPOCH.toordinal()
_MIN_DAY = date(MIN_YEAR, 1, 1).toordinal() - _EPOCH_ORDINAL
_MAX_DAY = date(MAX_YEAR + 1, 1, 1).toordinal() - _EPOCH_ORDINAL
_CHUNK_DAYS = 366 * 8

Side = Literal["start", "finish"]


class HorizonError(ScheduleError):
    """A date lies outside the years a working calendar can cover (``MIN_YEAR``..``MAX_YEAR``)."""


def to_minutes(dt: datetime) -> int:
    """Clock minutes from :data:`EPOCH` (seconds are truncated)."""
    return (dt.toordinal() - _EPOCH_ORDINAL) * 1440 + dt.hour * 60 + dt.minute


def from_minutes(minute: int) -> datetime:
    """The date-time of clock minute ``minute`` (inverse of :func:`to_minutes`)."""
    return EPOCH + timedelta(minutes=int(minute))


def day_number(d: date) -> int:
    """Days from the epoch's date to ``d``."""
    return d.toordinal() - _EPOCH_ORDINAL


def full_day_calendar(calendar_id: str = "24h") -> Calendar:
    """A 24-hour, 7-day calendar (P6's ``24 Hour`` lag calendar)."""
    return Calendar(calendar_id, name="24 hours x 7 days", week=(((0, 1440),),) * 7, hours_per_day=24.0)


class WorkCalendar:
    """A calendar compiled for fast working-time arithmetic.

    Parameters
    ----------
    calendar : Calendar
        Weekly intervals (Monday first, minutes from midnight) and dated exceptions.
    origin : date, optional
        Day whose midnight has working offset 0 (default 2000-01-01). Only changes the offsets' zero.
    span_days : int
        Initial horizon length in days around ``origin``; it grows on demand.

    Raises
    ------
    ScheduleError
        If the calendar has no working time at all.
    """

    def __init__(self, calendar: Calendar, *, origin: date = date(2000, 1, 1), span_days: int = 366 * 40):
        self.calendar = calendar
        self.id = calendar.id
        if not any(calendar.week) and not any(calendar.exceptions.values()):
            raise ScheduleError(f"calendar '{calendar.id}' has no working time in its week or exceptions")
        self._week = tuple(merge_intervals(day) for day in calendar.week)
        self._exc = {day_number(d): merge_intervals(iv) for d, iv in calendar.exceptions.items()}
        self._value = (self._week, tuple(sorted(self._exc.items())))  # what the tables depend on
        self._origin_day = day_number(origin)
        half = max(span_days // 2, 400)
        self._build(max(self._origin_day - half // 4, _MIN_DAY), min(self._origin_day + half * 2, _MAX_DAY))

    # -- construction -------------------------------------------------------------------------------
    def _build(self, d0: int, d1: int) -> None:
        """Tabulate working intervals for days ``[d0, d1)``; offsets stay relative to the origin.

        Tables depend only on the calendar's value, the origin and the days: they are shared through
        a small module-level cache (read-only arrays, lists never changed in place).
        """
        key = (self._value, self._origin_day, d0, d1)
        with _TABLES_LOCK:
            tables = _TABLES.get(key)
            if tables is not None:
                _TABLES.move_to_end(key)
        if tables is None:
            tables = _tabulate(self._week, self._exc, self._origin_day, d0, d1)
            with _TABLES_LOCK:
                _TABLES[key] = tables
                while len(_TABLES) > _TABLES_MAX:
                    _TABLES.popitem(last=False)
        self._d0, self._d1 = d0, d1
        (self._starts, self._ends, self._cum, self._total,
         self._ls, self._le, self._lc, self._lcend) = tables
        # fast range checks: clock minutes and offsets the tables answer without growing
        self._t_lo, self._t_hi = d0 * 1440, d1 * 1440
        self._w_lo = self._lc[0] if self._lc else 1
        self._w_hi = self._lcend[-1] if self._lc else 0

    def _grow(self, low: int | None = None, high: int | None = None) -> None:
        d0, d1 = self._d0, self._d1
        if low is not None and low < d0 * 1440:
            want = low // 1440 - 1
            if want < _MIN_DAY:
                raise HorizonError(f"{from_minutes(max(low, _MIN_DAY * 1440 - 1440)):%Y-%m-%d} is before "
                                   f"{MIN_YEAR}: outside calendar '{self.id}' horizon")
            d0 = max(_MIN_DAY, min(want, d0 - (d1 - d0)))
        if high is not None and high >= d1 * 1440:
            want = high // 1440 + 2
            if want > _MAX_DAY:
                raise HorizonError(f"date beyond {MAX_YEAR}: outside calendar '{self.id}' horizon")
            d1 = min(_MAX_DAY, max(want, d1 + (d1 - d0)))
        if (d0, d1) != (self._d0, self._d1):
            self._build(d0, d1)

    def _ensure(self, t: int) -> None:
        if t < self._d0 * 1440 or t >= self._d1 * 1440:
            if t < _MIN_DAY * 1440 or t >= _MAX_DAY * 1440:
                raise HorizonError(f"date {_show(t)} is outside the years {MIN_YEAR}..{MAX_YEAR} "
                                   f"that calendar '{self.id}' covers")
            self._grow(t, t)

    def _ensure_offset(self, w: int, side: Side) -> None:
        while True:
            if not self._ls:
                self._grow_or_fail(w)
                continue
            if w < self._lc[0] or (w == self._lc[0] and side == "finish"):
                if self._d0 <= _MIN_DAY:
                    raise HorizonError(f"working time before {MIN_YEAR} requested on calendar '{self.id}'")
                self._grow(low=self._d0 * 1440 - (self._d1 - self._d0) * 1440)
            elif w > self._lcend[-1] or (w == self._lcend[-1] and side == "start"):
                if self._d1 >= _MAX_DAY:
                    raise HorizonError(f"working time beyond {MAX_YEAR} requested on calendar '{self.id}'")
                self._grow(high=self._d1 * 1440 + (self._d1 - self._d0) * 1440)
            else:
                return

    def _grow_or_fail(self, w: int) -> None:
        if self._d0 <= _MIN_DAY and self._d1 >= _MAX_DAY:
            raise ScheduleError(f"calendar '{self.id}' has no working time between {MIN_YEAR} and {MAX_YEAR}")
        self._build(max(_MIN_DAY, self._d0 - (self._d1 - self._d0)), min(_MAX_DAY, self._d1 + (self._d1 - self._d0)))

    # -- minute-level scalar API (what the CPM and the simulator use) --------------------------------
    def offset(self, t: int) -> int:
        """Working offset ``W(t)`` of clock minute ``t`` (working minutes since the origin)."""
        if not (self._t_lo <= t < self._t_hi):
            self._ensure(t)
        ls = self._ls
        i = bisect_right(ls, t) - 1
        if i < 0:
            return self._lc[0] if self._lc else 0
        s = ls[i]
        e = self._le[i]
        return self._lc[i] + (t - s if t < e else e - s)

    def at_offset(self, w: int, side: Side = "start") -> int:
        """Clock minute where the working offset reaches ``w``.

        ``side="start"``: the first minute of work after offset ``w`` (work about to begin).
        ``side="finish"``: the end of the work that reaches offset ``w`` (work just ended).
        """
        if side == "start":
            if not (self._w_lo <= w < self._w_hi):
                self._ensure_offset(w, side)
            lc = self._lc
            i = bisect_right(lc, w) - 1
        else:
            if not (self._w_lo < w <= self._w_hi):
                self._ensure_offset(w, side)
            lc = self._lc
            i = bisect_right(lc, w - 1) - 1
        return self._ls[i] + (w - lc[i])

    def next_working(self, t: int) -> int:
        """First working minute at or after clock minute ``t`` (a start's reading)."""
        return self.at_offset(self.offset(t), "start")

    def previous_working(self, t: int) -> int:
        """End of the last working minute at or before ``t`` (a finish's reading)."""
        return self.at_offset(self.offset(t), "finish")

    def add(self, t: int, minutes: int, side: Side = "finish") -> int:
        """Clock minute after ``minutes`` working minutes from ``t`` (negative: go back)."""
        return self.at_offset(self.offset(t) + minutes, side)

    def between(self, a: int, b: int) -> int:
        """Working minutes from ``a`` to ``b`` (negative when ``b < a``)."""
        return self.offset(b) - self.offset(a)

    def is_working(self, t: int) -> bool:
        """Whether the minute starting at ``t`` is working time."""
        self._ensure(t)
        i = bisect_right(self._ls, t) - 1
        return i >= 0 and t < self._le[i]

    def intervals(self, t0: int, t1: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Working intervals overlapping clock minutes ``[t0, t1)``: (starts, ends), shape (k,) each, in
        order, ends exclusive, touching intervals merged (whole intervals, not clipped to the window)."""
        self._ensure(int(t0))
        self._ensure(int(t1))
        sel = (self._ends > t0) & (self._starts < t1)
        return self._starts[sel], self._ends[sel]

    # -- vectorised API -------------------------------------------------------------------------------
    def offsets(self, t: ArrayLike) -> NDArray[np.int64]:
        """Vectorised :meth:`offset`: ``t`` clock minutes, shape (n,) -> working offsets, shape (n,)."""
        t = np.asarray(t, dtype=np.int64)
        if t.size:
            self._ensure(int(t.min()))
            self._ensure(int(t.max()))
        i = np.searchsorted(self._starts, t, side="right") - 1
        ic = np.clip(i, 0, None)
        val = self._cum[ic] + np.minimum(t - self._starts[ic], self._ends[ic] - self._starts[ic])
        return np.where(i < 0, self._cum[0], val)

    def at_offsets(self, w: ArrayLike, side: Side = "start") -> NDArray[np.int64]:
        """Vectorised :meth:`at_offset`: working offsets, shape (n,) -> clock minutes, shape (n,)."""
        w = np.asarray(w, dtype=np.int64)
        if w.size:
            self._ensure_offset(int(w.min()), side)
            self._ensure_offset(int(w.max()), side)
        key = w if side == "start" else w - 1
        i = np.searchsorted(self._cum, key, side="right") - 1
        return self._starts[i] + (w - self._cum[i])

    # -- datetime convenience API ---------------------------------------------------------------------
    def add_working(self, dt: datetime, minutes: int, side: Side = "finish") -> datetime:
        """``dt`` plus ``minutes`` working minutes, read as a finish (default) or a start."""
        return from_minutes(self.add(to_minutes(dt), int(minutes), side))

    def working_between(self, a: datetime, b: datetime) -> int:
        """Working minutes from ``a`` to ``b``."""
        return self.between(to_minutes(a), to_minutes(b))

    def next_working_dt(self, dt: datetime) -> datetime:
        """:meth:`next_working` on date-times."""
        return from_minutes(self.next_working(to_minutes(dt)))

    def previous_working_dt(self, dt: datetime) -> datetime:
        """:meth:`previous_working` on date-times."""
        return from_minutes(self.previous_working(to_minutes(dt)))

    def __repr__(self) -> str:
        return (f"WorkCalendar({self.id!r}, {from_minutes(self._d0 * 1440):%Y-%m-%d}.."
                f"{from_minutes(self._d1 * 1440):%Y-%m-%d}, {len(self._ls)} intervals)")


_TABLES: OrderedDict[tuple, tuple] = OrderedDict()
"""Tabulated calendars by (week, exceptions, origin day, first day, end day), least recently used first."""
_TABLES_MAX = 12
_TABLES_LOCK = threading.Lock()


def _tabulate(week, exc: dict[int, tuple], origin_day: int, d0: int, d1: int) -> tuple:
    """Working intervals of days ``[d0, d1)``: (starts, ends, cumulative offsets (read-only arrays,
    offsets relative to ``origin_day``), total minutes, and the same as lists for ``bisect``)."""
    days = np.arange(d0, d1, dtype=np.int64)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday (weekday 3, Monday = 0)
    exc_days = np.fromiter((d for d in exc if d0 <= d < d1), dtype=np.int64)
    is_exc = np.isin(days, exc_days)
    parts_s, parts_e = [], []
    for k, intervals in enumerate(week):
        sel = days[(weekday == k) & ~is_exc]
        for s, e in intervals:
            parts_s.append(sel * 1440 + s)
            parts_e.append(sel * 1440 + e)
    for d in exc_days.tolist():
        for s, e in exc[d]:
            parts_s.append(np.array([d * 1440 + s], dtype=np.int64))
            parts_e.append(np.array([d * 1440 + e], dtype=np.int64))
    starts = np.concatenate(parts_s) if parts_s else np.empty(0, np.int64)
    ends = np.concatenate(parts_e) if parts_e else np.empty(0, np.int64)
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    if starts.size:  # merge touching intervals (e.g. midnight on a 24-hour calendar)
        keep = np.ones(starts.size, dtype=bool)
        keep[1:] = starts[1:] != ends[:-1]
        group = np.cumsum(keep) - 1
        new_ends = np.empty(int(keep.sum()), dtype=np.int64)
        new_ends[group] = ends  # last write in each group wins: the group's end
        starts, ends = starts[keep], new_ends
    lengths = ends - starts
    cum = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64) if starts.size else lengths
    origin_min = origin_day * 1440
    i = int(np.searchsorted(starts, origin_min, side="right")) - 1  # offset of the origin, made 0
    raw = 0 if i < 0 else int(cum[i] + min(origin_min - starts[i], ends[i] - starts[i]))
    cum = cum - raw
    for a in (starts, ends, cum):
        a.flags.writeable = False
    return (starts, ends, cum, int(lengths.sum()), starts.tolist(), ends.tolist(), cum.tolist(),
            (cum + lengths).tolist())


def compile_calendars(calendars: dict[str, Calendar] | None, *, origin: date = date(2000, 1, 1),
                      span_days: int = 366 * 8) -> dict[str, WorkCalendar]:
    """Compile every calendar of a schedule (plus ``"24h"``, a 24-hour calendar, if absent).

    The tables first cover about ``span_days`` from a year before ``origin`` and grow on demand.
    """
    out = {cid: WorkCalendar(cal, origin=origin, span_days=span_days) for cid, cal in (calendars or {}).items()}
    out.setdefault("24h", WorkCalendar(full_day_calendar(), origin=origin, span_days=span_days))
    return out


def merge_intervals(intervals: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sort and merge overlapping or touching intervals of one day (minutes from midnight).

    >>> merge_intervals([(780, 1020), (480, 720), (700, 800)])
    ((480, 1020),)
    """
    out: list[list[int]] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return tuple((s, e) for s, e in out)


def _show(t: int) -> str:
    days = t // 1440
    try:
        return f"{date.fromordinal(days + _EPOCH_ORDINAL):%Y-%m-%d}"
    except (ValueError, OverflowError):
        return f"day {days} from 1970-01-01"
