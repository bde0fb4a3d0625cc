"""The simulator's view of a schedule: index arrays, calendars and the CPM rules, shared by both paths.

:class:`SimNetwork` compiles a :class:`twin.schedule.Schedule` once (activities in topological order,
incoming links with lags in minutes, calendars compiled by :mod:`twin.worktime`, progress and
constraints). It reuses the CPM's own link and calendar preparation (:class:`twin.cpm.Network`) so that both
agree on what every relationship and calendar means.

:func:`activity_dates` applies Primavera P6's forward-pass rules (the same as
``twin.cpm_passes.forward``: FS/SS/FF/SF with lags on the lag calendar, start and finish readings,
constraints, actuals and remaining durations at the data date, milestones) to **one activity over
many replications at once**: every date is a numpy int64 array of clock minutes, shape (n_runs,). The
vectorised path calls it for all runs; the SimPy engine calls it with one run. With the planned
remaining durations it reproduces the CPM's early dates exactly (tests check this on textbook cases
and the HS2 programme).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

import numpy as np
from numpy.typing import NDArray

from twin.errors import ScheduleError
from twin.schedule import ActivityType, ConstraintType, Schedule
from twin.worktime import WorkCalendar, to_minutes

__all__ = ["NEG", "SimNetwork", "compile_network", "activity_dates", "activity_dates_one", "loe_dates",
           "loe_dates_one", "alap_dates", "alap_dates_one"]

NEG = -(1 << 62)
_CT = ConstraintType
_LOE = (ActivityType.LEVEL_OF_EFFORT, ActivityType.WBS_SUMMARY)
Arr = NDArray[np.int64]


@dataclass(eq=False)
class SimNetwork:
    """A compiled schedule (not a frozen record: it holds compiled calendars; rebuild it per process).

    Attributes
    ----------
    ids : activity ids in schedule order; every per-activity array uses this order.
    order : topological order (indices).
    in_links : per activity, incoming links as (pred index, "FS"/"SS"/"FF"/"SF", lag minutes, lag calendar).
    cal_ids, cals : per activity, its calendar id and compiled :class:`WorkCalendar`.
    dur : planned remaining working minutes, shape (n,).
    dd : the data date (clock minutes) from which work is scheduled.
    """

    schedule: Schedule
    ids: list[str]
    index: dict[str, int]
    order: list[int]
    in_links: list[list[tuple[int, str, int, WorkCalendar]]]
    out_links: list[list[tuple[int, str, int, WorkCalendar]]]
    cal_ids: list[str]
    cals: list[WorkCalendar]
    wcals: dict[str, WorkCalendar]
    dur: NDArray[np.int64]
    dd: int
    data_date: datetime
    retained: bool
    loe: NDArray[np.bool_]
    finish_milestone: NDArray[np.bool_]
    milestone: NDArray[np.bool_]
    complete: NDArray[np.bool_]
    started: NDArray[np.bool_]
    actual_start: list[int | None]
    actual_finish: list[int | None]

    @property
    def n(self) -> int:
        return len(self.ids)


def compile_network(schedule: Schedule, data_date: datetime | None = None) -> SimNetwork:
    """Compile ``schedule`` for simulation (raises :class:`ScheduleError` like the CPM would)."""
    from twin.cpm import Network, scheduling_date
    from twin.cpm_passes import lag_calendar, remaining_minutes

    if not schedule.activities:
        raise ScheduleError("the schedule has no activities")
    net = Network(schedule, data_date)
    dd_dt = scheduling_date(net, schedule, data_date, purpose="simulate")
    n = len(net.ids)
    in_links = [[(p, t, lag, lag_calendar(net, p, i)) for p, t, lag in net.in_links[i]] for i in range(n)]
    out_links = [[(s, t, lag, lag_calendar(net, i, s)) for s, t, lag in net.out_links[i]] for i in range(n)]
    default = schedule.default_calendar
    acts = net.acts
    return SimNetwork(
        schedule=schedule, ids=net.ids, index={a: i for i, a in enumerate(net.ids)}, order=net.order,
        in_links=in_links, out_links=out_links,
        cal_ids=[a.calendar or default for a in acts], cals=net.cal, wcals=net.wcals,
        dur=np.array([remaining_minutes(a) for a in acts], dtype=np.int64),
        dd=to_minutes(dd_dt), data_date=dd_dt,
        retained=schedule.options.progress != "progress_override",
        loe=np.array([a.type in _LOE for a in acts]),
        finish_milestone=np.array([a.type is ActivityType.FINISH_MILESTONE for a in acts]),
        milestone=np.array([a.type.is_milestone for a in acts]),
        complete=np.array([a.actual_finish is not None for a in acts]),
        started=np.array([a.actual_start is not None for a in acts]),
        actual_start=[to_minutes(a.actual_start) if a.actual_start else None for a in acts],
        actual_finish=[to_minutes(a.actual_finish) if a.actual_finish else None for a in acts],
    )


# -- vectorised calendar helpers (arrays of clock minutes, shape (n_runs,)) ---------------------------
def _shift(cal: WorkCalendar, t: Arr, lag: int, side: str) -> Arr:
    return t if lag == 0 else cal.at_offsets(cal.offsets(t) + lag, side)  # type: ignore[arg-type]


def _next_working(cal: WorkCalendar, t: Arr) -> Arr:
    return cal.at_offsets(cal.offsets(t), "start")


def _finish_reading(cal: WorkCalendar, t: Arr) -> Arr:
    r = cal.at_offsets(cal.offsets(t), "finish")
    return np.where(r == t, t, _next_working(cal, t))


def _add(cal: WorkCalendar, s: Arr, d: Arr) -> Arr:
    return cal.at_offsets(cal.offsets(s) + d, "finish")


def activity_dates(net: SimNetwork, i: int, ds: Sequence[Arr], df: Sequence[Arr], d: Arr,
                   cal: WorkCalendar | None = None, wf: list | None = None, wx: dict | None = None
                   ) -> tuple[Arr, Arr, Arr, Arr, Arr]:
    """Early dates of activity ``i`` given its predecessors' driving dates, for many runs at once.

    Parameters
    ----------
    ds, df : per activity, the dates that drive successors' start-type (SS, SF) and finish-type
        (FS, FF) links, int64 clock minutes, shape (n_runs,); only ``i``'s predecessors are read.
    d : remaining working minutes of ``i`` per run, shape (n_runs,).
    cal : the calendar ``i`` works on (default its own; the engine passes a weather-stopped one).
    wf : optional cache, per activity, of the working offset of ``df`` on the activity's own calendar
        (or None where unknown). When given, it is read for predecessors on the same calendar and
        written for ``i``: an FS link without lag then needs no calendar search (offsets are monotone,
        so the offset of the latest predecessor finish is the largest offset). Same results.
    wx : optional cache of predecessor finishes converted to offsets on other calendars, keyed by
        (predecessor index, id(calendar)), shared by the successors of one predecessor.

    Returns
    -------
    start, finish, drive_start, drive_finish, driver : int64 arrays, shape (n_runs,); ``driver`` is
    the index of the predecessor that drives the start (-1: the data date or a constraint).
    """
    a = net.schedule.activities[net.ids[i]]
    cal = cal or net.cals[i]
    runs = d.shape[0]
    start_c = np.full(runs, net.dd, dtype=np.int64)
    sdrv = np.full(runs, -1, dtype=np.int64)
    fin_c = np.full(runs, NEG, dtype=np.int64)
    fdrv = np.full(runs, -1, dtype=np.int64)
    started = bool(net.started[i])
    w_c = np.full(runs, cal.offset(net.dd), dtype=np.int64) if wf is not None else None
    other = wx if wx is not None else {}
    if wf is not None:
        wf[i] = None
    if not started or net.retained:
        for p, t, lag, lc in net.in_links[i]:
            if net.loe[p]:
                continue
            if t == "FS" or t == "SS":
                c = _shift(lc, df[p], lag, "finish") if t == "FS" else _shift(lc, ds[p], lag, "start")
                upd = (c > start_c) | ((c == start_c) & (sdrv < 0))
                start_c = np.where(upd, c, start_c)
                sdrv = np.where(upd, p, sdrv)
                if w_c is not None:
                    if t == "FS" and lag == 0 and wf[p] is not None and net.cals[p] is cal:
                        w_p = wf[p]
                    elif t == "FS" and lag == 0:  # another calendar: convert once, share with siblings
                        key = (p, id(cal))
                        w_p = other.get(key)
                        if w_p is None:
                            w_p = other[key] = cal.offsets(c)
                    else:
                        w_p = cal.offsets(c)
                    w_c = np.maximum(w_c, w_p)
            else:
                c = _shift(lc, df[p], lag, "finish") if t == "FF" else _shift(lc, ds[p], lag, "finish")
                upd = c > fin_c
                fin_c = np.where(upd, c, fin_c)
                fdrv = np.where(upd, p, fdrv)
    if not started:
        for con in a.constraints:
            if con.date is None:
                continue
            cd = to_minutes(con.date)
            if con.type in (_CT.START_ON_OR_AFTER, _CT.START_ON):
                start_c = np.maximum(start_c, cd)
                if w_c is not None:
                    w_c = np.maximum(w_c, cal.offset(cd))
            elif con.type in (_CT.FINISH_ON_OR_AFTER, _CT.FINISH_ON):
                fin_c = np.maximum(fin_c, cd)
    drv = np.where(fin_c > start_c, fdrv, sdrv)
    has_fin = bool((fin_c > NEG).any())
    if net.complete[i]:
        late = np.maximum(np.where(sdrv >= 0, start_c, NEG), fin_c)
        es = np.maximum(net.dd, late)
        a_s = net.actual_start[i] if net.actual_start[i] is not None else net.actual_finish[i]
        return es, es.copy(), np.maximum(a_s, late), np.maximum(net.actual_finish[i], late), drv
    w_c = w_c if w_c is not None else cal.offsets(start_c)
    w_fin = cal.offsets(fin_c) if has_fin else None
    w_max = np.maximum(w_c, w_fin) if has_fin else w_c      # offset of max(start_c, fin_c)
    if net.finish_milestone[i]:
        t = np.maximum(start_c, fin_c)
        r = cal.at_offsets(w_max, "finish")
        e = np.where(r == t, t, cal.at_offsets(w_max, "start"))   # the finish reading of t
        s = e
        w_e = w_max
    else:
        zero = d == 0
        any_zero = bool(zero.any())
        w_s = w_c
        s = cal.at_offsets(w_s, "start")
        drv_work = sdrv
        if has_fin:
            w_sf = w_fin - d
            sf = cal.at_offsets(w_sf, "start")
            upd = sf > s
            s = np.where(upd, sf, s)
            w_s = np.where(upd, w_sf, w_s)
            drv_work = np.where(upd, fdrv, sdrv)
        e = cal.at_offsets(w_s + d, "finish")
        w_e = w_s + d
        if any_zero:
            s_zero = cal.at_offsets(w_max, "start")
            s = np.where(zero, s_zero, s)
            e = np.where(zero, s_zero, e)
            w_e = np.where(zero, w_max, w_e)
        drv = np.where(zero, drv, drv_work)
    if wf is not None and not any(c.type in (_CT.MANDATORY_START, _CT.MANDATORY_FINISH) for c in a.constraints):
        wf[i] = w_e
    if not started:
        for con in a.constraints:
            if con.type is _CT.MANDATORY_START and con.date is not None:
                s = np.full(runs, cal.next_working(to_minutes(con.date)), dtype=np.int64)
                e = np.where(d > 0, _add(cal, s, d), s)
            elif con.type is _CT.MANDATORY_FINISH and con.date is not None:
                e = _finish_reading(cal, np.full(runs, to_minutes(con.date), dtype=np.int64))
                s = np.where(d > 0, cal.at_offsets(cal.offsets(e) - d, "start"), e)
    dstart = np.full(runs, net.actual_start[i], dtype=np.int64) if started else s
    return s, e, dstart, e, drv


def loe_dates(net: SimNetwork, es: list[Arr], ef: list[Arr], ds: list[Arr], df: list[Arr]) -> None:
    """Level-of-effort activities span to their successors' dates (updates ``ef``/``df`` in place)."""
    for i in np.flatnonzero(net.loe & ~net.complete):
        cal = net.cals[i]
        fin = None
        for s, t, lag, lc in net.out_links[i]:
            src = df[s] if t in ("FF", "SF") else ds[s]
            c = _shift(lc, src, -lag, "finish")
            fin = c if fin is None else np.maximum(fin, c)
        if fin is not None:
            e = np.maximum(es[i], cal.at_offsets(cal.offsets(fin), "finish"))
            ef[i] = e
            df[i] = e


def alap_dates(net: SimNetwork, es: list[Arr], ef: list[Arr], ds: list[Arr], dur: Sequence[Arr]) -> None:
    """As-late-as-possible activities move later by their free float (in place), as the CPM does.

    In reverse topological order, so that chains of ALAP activities move together; the move never
    changes another activity's dates or the project finish. ``dur[i]``: remaining minutes per run.
    """
    alap = _alap_list(net)
    if not alap:
        return
    finish = np.max(np.stack(ef, axis=0), axis=0)
    for i in reversed(alap):
        cal = net.cals[i]
        own_start = ds[i] if net.started[i] else es[i]
        slack = None
        for s, t, lag, lc in net.out_links[i]:
            if t == "FS":
                v = cal.offsets(es[s]) - cal.offsets(_shift(lc, ef[i], lag, "finish"))
            elif t == "SS":
                v = cal.offsets(es[s]) - cal.offsets(_shift(lc, own_start, lag, "start"))
            elif t == "FF":
                v = cal.offsets(ef[s]) - cal.offsets(_shift(lc, ef[i], lag, "finish"))
            else:
                v = cal.offsets(ef[s]) - cal.offsets(_shift(lc, own_start, lag, "finish"))
            slack = v if slack is None else np.minimum(slack, v)
        if slack is None:
            slack = cal.offsets(finish) - cal.offsets(ef[i])
        move = slack > 0
        if not move.any():
            continue
        d = np.asarray(dur[i], dtype=np.int64)
        fm = bool(net.finish_milestone[i])
        w = cal.offsets(ef[i]) + np.where(move, slack, 0)
        ef_work = cal.at_offsets(w, "finish")
        ef_zero = ef_work if fm else cal.at_offsets(w, "start")
        new_ef = np.where(d > 0, ef_work, ef_zero)
        new_es = np.where(d > 0, cal.at_offsets(w - d, "start"), new_ef)
        ef[i] = np.where(move, new_ef, ef[i])
        es[i] = np.where(move, new_es, es[i])


# -- the same rules for one run, on plain ints (the SimPy engine's hot path) --------------------------
def _shift1(cal: WorkCalendar, t: int, lag: int, side: str) -> int:
    return t if lag == 0 else cal.at_offset(cal.offset(t) + lag, side)  # type: ignore[arg-type]


def _finish_reading1(cal: WorkCalendar, t: int) -> int:
    r = cal.at_offset(cal.offset(t), "finish")
    return t if r == t else cal.next_working(t)


def activity_dates_one(net: SimNetwork, i: int, ds: Sequence[int], df: Sequence[int], d: int,
                       cal: WorkCalendar | None = None) -> tuple[int, int, int, int, int]:
    """:func:`activity_dates` for one run, on ints (same rules, same results; tested against it)."""
    cal = cal or net.cals[i]
    start_c, sdrv, fin_c, fdrv = net.dd, -1, NEG, -1
    started = bool(net.started[i])
    if not started or net.retained:
        for p, t, lag, lc in net.in_links[i]:
            if net.loe[p]:
                continue
            if t == "FS" or t == "SS":
                c = _shift1(lc, df[p], lag, "finish") if t == "FS" else _shift1(lc, ds[p], lag, "start")
                if c > start_c or (c == start_c and sdrv < 0):
                    start_c, sdrv = c, p
            else:
                c = _shift1(lc, df[p] if t == "FF" else ds[p], lag, "finish")
                if c > fin_c:
                    fin_c, fdrv = c, p
    constraints = net.schedule.activities[net.ids[i]].constraints
    if not started:
        for con in constraints:
            if con.date is None:
                continue
            if con.type in (_CT.START_ON_OR_AFTER, _CT.START_ON):
                start_c = max(start_c, to_minutes(con.date))
            elif con.type in (_CT.FINISH_ON_OR_AFTER, _CT.FINISH_ON):
                fin_c = max(fin_c, to_minutes(con.date))
    drv = fdrv if fin_c > start_c else sdrv
    if net.complete[i]:
        late = max(start_c if sdrv >= 0 else NEG, fin_c)
        es = max(net.dd, late)
        a_s = net.actual_start[i] if net.actual_start[i] is not None else net.actual_finish[i]
        return es, es, max(a_s, late), max(net.actual_finish[i], late), drv
    if net.finish_milestone[i]:
        s = e = _finish_reading1(cal, max(start_c, fin_c))
    elif d == 0:
        s = e = cal.next_working(max(start_c, fin_c))
    else:
        s = cal.next_working(start_c)
        drv = sdrv
        if fin_c > NEG:
            sf = cal.at_offset(cal.offset(fin_c) - d, "start")
            if sf > s:
                s, drv = sf, fdrv
        e = cal.at_offset(cal.offset(s) + d, "finish")
    if not started:
        for con in constraints:
            if con.type is _CT.MANDATORY_START and con.date is not None:
                s = cal.next_working(to_minutes(con.date))
                e = cal.at_offset(cal.offset(s) + d, "finish") if d > 0 else s
            elif con.type is _CT.MANDATORY_FINISH and con.date is not None:
                e = _finish_reading1(cal, to_minutes(con.date))
                s = cal.at_offset(cal.offset(e) - d, "start") if d > 0 else e
    return s, e, (net.actual_start[i] if started else s), e, drv


def loe_dates_one(net: SimNetwork, es: list[int], ef: list[int], ds: list[int], df: list[int]) -> None:
    """:func:`loe_dates` for one run, on ints (in place)."""
    for i in np.flatnonzero(net.loe & ~net.complete):
        cal = net.cals[i]
        fin = None
        for s, t, lag, lc in net.out_links[i]:
            c = _shift1(lc, df[s] if t in ("FF", "SF") else ds[s], -lag, "finish")
            fin = c if fin is None else max(fin, c)
        if fin is not None:
            ef[i] = df[i] = max(es[i], cal.at_offset(cal.offset(fin), "finish"))


def alap_dates_one(net: SimNetwork, es: list[int], ef: list[int], ds: list[int], dur: Sequence[int]) -> None:
    """:func:`alap_dates` for one run, on ints (in place)."""
    alap = _alap_list(net)
    if not alap:
        return
    finish = max(ef)
    for i in reversed(alap):
        cal = net.cals[i]
        own_start = ds[i] if net.started[i] else es[i]
        slack = None
        for s, t, lag, lc in net.out_links[i]:
            if t == "FS":
                v = cal.offset(es[s]) - cal.offset(_shift1(lc, ef[i], lag, "finish"))
            elif t == "SS":
                v = cal.offset(es[s]) - cal.offset(_shift1(lc, own_start, lag, "start"))
            elif t == "FF":
                v = cal.offset(ef[s]) - cal.offset(_shift1(lc, ef[i], lag, "finish"))
            else:
                v = cal.offset(ef[s]) - cal.offset(_shift1(lc, own_start, lag, "finish"))
            slack = v if slack is None else min(slack, v)
        if slack is None:
            slack = cal.offset(finish) - cal.offset(ef[i])
        if slack <= 0:
            continue
        d = int(dur[i])
        w = cal.offset(ef[i]) + slack
        if d > 0:
            ef[i] = cal.at_offset(w, "finish")
            es[i] = cal.at_offset(w - d, "start")
        else:
            ef[i] = es[i] = cal.at_offset(w, "finish" if net.finish_milestone[i] else "start")


def _alap_list(net: SimNetwork) -> list[int]:
    cached = getattr(net, "_alap", None)
    if cached is None:
        cached = [i for i in net.order if not net.started[i] and any(
            c.type is _CT.AS_LATE_AS_POSSIBLE for c in net.schedule.activities[net.ids[i]].constraints)]
        net._alap = cached  # type: ignore[attr-defined]
    return cached
