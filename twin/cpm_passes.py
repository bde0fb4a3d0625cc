"""The forward pass, backward pass, floats and paths of :mod:`twin.cpm` (P6 rules).

Used by :func:`twin.cpm.compute_cpm`; split out only to keep both modules short. The simulator shares
two of its rules: :func:`remaining_minutes` and :func:`lag_calendar`. All times are
integer clock minutes (:func:`twin.worktime.to_minutes`); each activity's arithmetic runs on its own
:class:`twin.worktime.WorkCalendar`, lags on the lag calendar the options name.
"""
from __future__ import annotations

from datetime import datetime

import numpy as np

from twin.schedule import ActivityType, ConstraintType, Schedule
from twin.worktime import WorkCalendar, from_minutes, to_minutes

_NEG = -(1 << 62)
_POS = 1 << 62
_LOE = (ActivityType.LEVEL_OF_EFFORT, ActivityType.WBS_SUMMARY)
# enum members as module constants: attribute access on an Enum class is slow in a hot loop
_FM = ActivityType.FINISH_MILESTONE
_WBS = ActivityType.WBS_SUMMARY
_MILESTONES = (ActivityType.START_MILESTONE, ActivityType.FINISH_MILESTONE)
_FWD_START = (ConstraintType.START_ON_OR_AFTER, ConstraintType.START_ON)
_FWD_FINISH = (ConstraintType.FINISH_ON_OR_AFTER, ConstraintType.FINISH_ON)
_BWD_START = (ConstraintType.START_ON_OR_BEFORE, ConstraintType.START_ON, ConstraintType.MANDATORY_START)
_BWD_FINISH = (ConstraintType.FINISH_ON_OR_BEFORE, ConstraintType.FINISH_ON, ConstraintType.MANDATORY_FINISH)
_MSTART, _MFINISH = ConstraintType.MANDATORY_START, ConstraintType.MANDATORY_FINISH
_ALAP = ConstraintType.AS_LATE_AS_POSSIBLE


def remaining_minutes(a) -> int:
    """Remaining working minutes the passes schedule for activity ``a`` (0 for complete work and
    milestones): ``remaining_h`` when given, else the unfinished share of ``duration_h`` once started."""
    if a.actual_finish is not None or a.type in _MILESTONES:
        return 0
    if a.remaining_h is not None:
        return max(0, round(a.remaining_h * 60))
    if a.actual_start is not None:
        return max(0, round(a.duration_h * 60 * (1 - a.percent_complete / 100)))
    return max(0, round(a.duration_h * 60))


def lag_calendar(net, p: int, s: int) -> WorkCalendar:
    """The calendar a lag from activity ``p`` to ``s`` counts on (``ScheduleOptions.lag_calendar``):
    the predecessor's, the successor's, 24-hour, or the project calendar."""
    mode = net.lag_mode
    if mode == "predecessor":
        return net.cal[p]
    if mode == "successor":
        return net.cal[s]
    if mode == "24h":
        return net.wcals["24h"]
    return net.project_cal


def _finish_reading(cal: WorkCalendar, t: int) -> int:
    """``t`` itself if a finish can read as ``t`` (in work or at a period's end), else the next start."""
    r = cal.at_offset(cal.offset(t), "finish")
    return t if r == t else cal.next_working(t)


def forward(net, schedule: Schedule, dd: int) -> tuple[list[int], list[int]]:
    """Early start/finish (clock minutes) of every activity; also fills ``net.dur``, ``net.drive_*``."""
    n = len(net.ids)
    es, ef = [0] * n, [0] * n
    ds, df = [0] * n, [0] * n  # dates that drive successors' start- and finish-type links
    dur = [remaining_minutes(a) for a in net.acts]
    net.dur = dur
    driver = [-1] * n
    retained = schedule.options.progress != "progress_override"
    loe = net.loe = [a.type in _LOE for a in net.acts]
    for i in net.order:
        a, cal, d = net.acts[i], net.cal[i], dur[i]
        start_c, fin_c, sdrv, fdrv = dd, _NEG, -1, -1
        if a.actual_start is None or retained:
            for p, t, lag in net.in_links[i]:
                if loe[p]:
                    continue
                if t == "FS" or t == "SS":
                    c = df[p] if t == "FS" else ds[p]
                    if lag:
                        c = lag_calendar(net, p, i).add(c, lag, "finish" if t == "FS" else "start")
                    if c > start_c or (c == start_c and sdrv < 0):
                        start_c, sdrv = c, p
                else:
                    c = df[p] if t == "FF" else ds[p]
                    if lag:
                        c = lag_calendar(net, p, i).add(c, lag, "finish")
                    if c > fin_c:
                        fin_c, fdrv = c, p
        started = a.actual_start is not None
        if not started:
            for con in a.constraints:
                if con.date is None:
                    continue
                cd = _m(con.date)
                if con.type in _FWD_START:
                    start_c = max(start_c, cd)
                elif con.type in _FWD_FINISH:
                    fin_c = max(fin_c, cd)
        drv = fdrv if fin_c > start_c else sdrv
        if a.actual_finish is not None:
            # complete: no work left; like P6 its early dates sit at the data date, or later where an
            # unfinished predecessor still drives it (out-of-sequence progress, retained logic)
            # logic from a complete activity runs from its actual dates, or from the date an
            # unfinished predecessor pushes it to
            late = max(start_c if sdrv >= 0 else _NEG, fin_c)
            es[i] = ef[i] = max(dd, late)
            ds[i] = max(_m(a.actual_start or a.actual_finish), late)
            df[i] = max(_m(a.actual_finish), late)
            driver[i] = drv
            continue
        if a.type is _FM:
            e = _finish_reading(cal, max(start_c, fin_c))
            s = e
        elif d == 0:
            s = cal.next_working(max(start_c, fin_c))
            e = s
        else:
            w = cal.offset(start_c)
            drv = sdrv
            if fin_c > _NEG:
                wf = cal.offset(fin_c) - d
                if wf > w:
                    w, drv = wf, fdrv
            s = cal.at_offset(w, "start")
            e = cal.at_offset(w + d, "finish")
        if not started:
            for con in a.constraints:
                if con.type is _MSTART and con.date is not None:
                    s = cal.next_working(_m(con.date))
                    e = cal.add(s, d, "finish") if d else s
                elif con.type is _MFINISH and con.date is not None:
                    e = _finish_reading(cal, _m(con.date))
                    s = cal.at_offset(cal.offset(e) - d, "start") if d else e
        es[i], ef[i] = s, e
        ds[i] = _m(a.actual_start) if started else s
        df[i] = e
        driver[i] = drv
    net.summaries = _summary_children(net)
    _level_of_effort_forward(net, es, ef, ds, df, dd)
    _summaries_span(net, es, ef, "early")
    net.drive_start, net.drive_finish, net.driver = ds, df, driver
    return es, ef


def _summary_children(net) -> dict[int, list[int]]:
    """WBS summary activity -> the activities it summarises, deepest summaries first.

    MS Project style: the activities whose WBS path starts with the summary's path plus its name;
    P6 style (``TT_WBS``), when there are none: those in the summary's own WBS node and below.
    """
    summaries = [i for i, a in enumerate(net.acts) if a.type is _WBS]
    if not summaries:
        return {}
    by_prefix: dict[tuple[str, ...], list[int]] = {}
    for j, a in enumerate(net.acts):
        for k in range(len(a.wbs) + 1):
            by_prefix.setdefault(tuple(a.wbs[:k]), []).append(j)
    out: list[tuple[int, int, list[int]]] = []
    for i in summaries:
        a = net.acts[i]
        for prefix in ((*a.wbs, a.name), tuple(a.wbs)) if a.name else (tuple(a.wbs),):
            kids = [j for j in by_prefix.get(prefix, ()) if j != i]
            if kids:
                out.append((len(prefix), i, kids))
                break
    out.sort(key=lambda x: -x[0])
    return {i: kids for _, i, kids in out}


def _summaries_span(net, start: list[int], finish: list[int], _which: str) -> None:
    """A WBS summary spans the dates of what it summarises (nested summaries first)."""
    for i, kids in net.summaries.items():
        start[i] = min(start[j] for j in kids)
        finish[i] = max(finish[j] for j in kids)
        if _which == "early":
            net.dur[i] = max(0, net.cal[i].between(start[i], finish[i]))


def _level_of_effort_forward(net, es, ef, ds, df, dd) -> None:
    """LOE / WBS summary: start at the predecessors' dates, finish at the successors'."""
    for i in [k for k, flag in enumerate(net.loe) if flag]:
        a = net.acts[i]
        if a.actual_finish is not None or i in net.summaries:
            continue
        cal = net.cal[i]
        fin = _NEG
        for s, t, lag in net.out_links[i]:
            lc = lag_calendar(net, i, s)
            if t in ("FF", "SF"):
                fin = max(fin, _shift(lc, df[s], -lag, "finish"))
            else:
                fin = max(fin, _shift(lc, ds[s], -lag, "finish"))
        if fin > _NEG:
            e = max(es[i], cal.at_offset(cal.offset(fin), "finish"))
            ef[i] = df[i] = e
            net.dur[i] = max(0, cal.between(es[i], e))


def backward(net, schedule: Schedule, dd: int, es: list[int], ef: list[int], finish: int
             ) -> tuple[list[int], list[int]]:
    """Late start/finish (clock minutes) of every activity."""
    n = len(net.ids)
    ls, lf = [0] * n, [0] * n
    dur = net.dur
    end = finish
    if schedule.finish_constraint is not None:
        end = _m(schedule.finish_constraint)
    loe = net.loe
    open_critical = schedule.options.open_ends_critical
    for i in reversed(net.order):
        a, cal, d = net.acts[i], net.cal[i], dur[i]
        fin_c, start_c = _POS, _POS
        has_succ = False
        for s, t, lag in net.out_links[i]:
            if loe[s]:
                continue
            if t == "FS" or t == "FF":
                has_succ = True
            if lag:
                lc = lag_calendar(net, i, s)
                if lag > 0 and a.actual_finish is not None:
                    # the part of a lag after complete work that has already elapsed by the data date
                    since = _m(a.actual_finish if t in ("FS", "FF") else a.actual_start or a.actual_finish)
                    lag = max(0, lag - max(0, lc.between(since, dd)))
            if t == "FS":
                c = ls[s] if not lag else lc.add(ls[s], -lag, "start")
                if c < fin_c:
                    fin_c = c
            elif t == "SS":
                c = ls[s] if not lag else lc.add(ls[s], -lag, "start")
                if c < start_c:
                    start_c = c
            else:
                c = lf[s] if not lag else lc.add(lf[s], -lag, "finish")
                if t == "FF":
                    if c < fin_c:
                        fin_c = c
                elif c < start_c:
                    start_c = c
        if not has_succ or loe[i]:
            fin_c = min(fin_c, end)
            if open_critical and not loe[i]:  # P6 "make open-ended activities critical"
                fin_c = min(fin_c, ef[i])
        if a.actual_start is None:
            for con in a.constraints:
                if con.date is None:
                    continue
                cd = _m(con.date)
                if con.type in _BWD_START:
                    start_c = min(start_c, cd)
                elif con.type in _BWD_FINISH:
                    fin_c = min(fin_c, cd)
        w_f = cal.offset(fin_c) if fin_c < _POS else None
        w_s = cal.offset(start_c) if start_c < _POS else None
        if d == 0 and a.actual_finish is not None:
            f = s_ = min(fin_c, start_c)  # complete: P6 keeps the driving instant as it is
        elif d == 0:
            w = min(x for x in (w_f, w_s) if x is not None)
            if a.type is _FM or (a.actual_start is not None and a.type not in _MILESTONES):
                f = cal.at_offset(w, "finish")  # finish milestones and started work with none left
            else:  # a start reads as the next working minute unless that is later than allowed
                f = _latest_start(cal, w, min(fin_c, start_c))
            s_ = f
        else:
            w = min(x for x in (w_f, None if w_s is None else w_s + d) if x is not None)
            f = cal.at_offset(w, "finish")
            if w_s is not None and w_s + d == w and (w_f is None or w_f > w or start_c < fin_c):
                s_ = _latest_start(cal, w_s, start_c)
            else:
                s_ = cal.at_offset(w - d, "start")
        ls[i], lf[i] = s_, f
    _level_of_effort_backward(net, ls, lf)
    _summaries_span(net, ls, lf, "late")
    return ls, lf


def _level_of_effort_backward(net, ls: list[int], lf: list[int]) -> None:
    """LOE / WBS summary late start: at its predecessors' late dates (its late finish comes from its
    successors like any activity's)."""
    for i in [k for k, flag in enumerate(net.loe) if flag]:
        a = net.acts[i]
        if a.actual_start is not None or not net.in_links[i] or i in net.summaries:
            continue
        cal, start = net.cal[i], _NEG
        for p, t, lag in net.in_links[i]:
            lc = lag_calendar(net, p, i)
            if t == "SS":
                start = max(start, _shift(lc, ls[p], lag, "start"))
            elif t == "FS":
                start = max(start, _shift(lc, lf[p], lag, "finish"))
        if start > _NEG:
            ls[i] = min(cal.next_working(start), lf[i])


def _latest_start(cal: WorkCalendar, w: int, limit: int) -> int:
    """The start reading of offset ``w`` if it is not after ``limit``, else its finish reading.

    A start bounded by a successor on another calendar (a Saturday 08:00 on a 7-day calendar) cannot
    move to Monday 08:00 on a 5-day one: it stays at Friday 17:00, as P6 shows it.
    """
    r = cal.at_offset(w, "start")
    return r if r <= limit else cal.at_offset(w, "finish")


def floats_and_paths(net, schedule: Schedule, dd_dt: datetime, dd: int, es, ef, ls, lf):
    """Total and free float, ALAP placement, critical set, longest path; builds the CpmResult."""
    from twin.cpm import CpmResult, DatesView

    opts = schedule.options
    n = len(net.ids)
    finish = max(ef)
    # as late as possible: in reverse order (chains of ALAP activities), move the early dates later by
    # the free float left by the successors' (possibly moved) early dates
    for i in reversed(net.order):
        a = net.acts[i]
        if a.constraints and a.actual_start is None and any(c.type is _ALAP for c in a.constraints):
            slack = _free_float_minutes(net, i, es, ef, finish)
            if slack > 0:
                cal, d = net.cal[i], net.dur[i]
                w = cal.offset(ef[i]) + slack
                fm = a.type is _FM
                ef[i] = cal.at_offset(w, "finish" if d or fm else "start")
                es[i] = cal.at_offset(w - d, "start") if d else ef[i]
    tf, ff = _floats(net, opts.total_float, es, ef, ls, lf, finish)
    crit_h = opts.critical_float_h
    near_h = opts.near_critical_float_h
    tf_arr = np.asarray(tf)
    critical = (tf_arr <= crit_h + 1e-9).tolist()  # NaN (complete work) compares False
    path = _longest_path(net, ef)
    if opts.critical == "longest_path":
        on = set(path)
        critical = [i in on for i in range(n)]
    near = tuple(net.ids[i] for i in range(n)
                 if not critical[i] and tf[i] <= near_h + 1e-9)
    dates = DatesView(net.ids, (es, ef, ls, lf, tf, ff, critical, [a.actual_start for a in net.acts],
                                [a.actual_finish for a in net.acts], [c.id for c in net.cal]))
    live = [i for i in range(n) if net.acts[i].actual_finish is None] or list(range(n))
    start = min([es[i] for i in live] + [_m(a.actual_start) for a in net.acts if a.actual_start])
    return CpmResult(dates, from_minutes(start), from_minutes(max(ef)), tuple(net.ids[i] for i in path),
                     near, dd_dt, tuple(net.ids[i] for i in net.order), tuple(net.warnings))


def _by_calendar(net) -> list[tuple[WorkCalendar, np.ndarray]]:
    """Activity indices per calendar."""
    keys = net.cal_key
    out = []
    for key in np.unique(keys).tolist():
        idx = np.flatnonzero(keys == key)
        out.append((net.cal[int(idx[0])], idx))
    return out


def _floats(net, float_type: str, es, ef, ls, lf, finish: int) -> tuple[list[float], list[float]]:
    """Total and free float in hours on each activity's calendar (NaN for complete work), vectorised
    per calendar. Free float: the least slack to any successor's early date, else to the project's
    early finish."""
    n = len(net.ids)
    ES, EF, LS, LF = (np.asarray(x, dtype=np.int64) for x in (es, ef, ls, lf))
    tf = np.full(n, np.nan)
    ff_min = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    # links: (pred, succ, type, lag) -> slack on the predecessor's calendar
    P, S, T, L = net.link_arrays
    if P.size:
        own_start = np.asarray(net.drive_start, dtype=np.int64)
        started = np.fromiter((a.actual_start is not None for a in net.acts), dtype=bool, count=n)
        own_start = np.where(started, own_start, ES)
        from_finish = (T == 0) | (T == 2)      # FS, FF
        to_start = (T == 0) | (T == 1)         # FS, SS
        base = np.where(from_finish, EF[P], own_start[P])
        target = np.where(to_start, ES[S], EF[S])
        for k in np.flatnonzero(L).tolist():  # lagged links: shift on the lag calendar (scalar, few)
            p, s_ = int(P[k]), int(S[k])
            side = "start" if T[k] == 1 else "finish"
            base[k] = lag_calendar(net, p, s_).add(int(base[k]), int(L[k]), side)
        slack = np.empty(P.size, dtype=np.int64)
        pred_cal = net.cal_key[P]
        for key in np.unique(pred_cal).tolist():
            sel = np.flatnonzero(pred_cal == key)
            cal = net.cal[int(P[sel[0]])]
            slack[sel] = cal.offsets(target[sel]) - cal.offsets(base[sel])
        np.minimum.at(ff_min, P, slack)
    ff = np.full(n, np.nan)
    for cal, idx in _by_calendar(net):
        w_ef, w_lf = cal.offsets(EF[idx]), cal.offsets(LF[idx])
        fin = w_lf - w_ef
        sta = cal.offsets(LS[idx]) - cal.offsets(ES[idx])
        tf[idx] = {"start": sta, "smallest": np.minimum(sta, fin)}.get(float_type, fin) / 60
        open_end = ff_min[idx] == np.iinfo(np.int64).max
        to_end = cal.offsets(np.full(idx.size, finish, dtype=np.int64)) - w_ef
        ff[idx] = np.maximum(0, np.where(open_end, to_end, ff_min[idx])) / 60
    if net.use_expected_finish:  # P6: work with an expected finish has no free float
        ff[[i for i, a in enumerate(net.acts) if a.expected_finish is not None]] = 0.0
    done = np.fromiter((a.actual_finish is not None for a in net.acts), dtype=bool, count=n)
    tf[done] = np.nan
    ff[done] = np.nan
    return tf.tolist(), ff.tolist()


def _free_float_minutes(net, i: int, es: list[int], ef: list[int], finish: int) -> int:
    """Working minutes (own calendar) activity ``i`` can slip without delaying any successor's early
    dates; with no successors, up to the project's early finish (P6)."""
    cal = net.cal[i]
    slack = _POS
    own_start = net.drive_start[i] if net.acts[i].actual_start is not None else es[i]
    for s, t, lag in net.out_links[i]:
        lc = lag_calendar(net, i, s)
        if t == "FS":
            slack = min(slack, cal.offset(es[s]) - cal.offset(_shift(lc, ef[i], lag, "finish")))
        elif t == "SS":
            slack = min(slack, cal.offset(es[s]) - cal.offset(_shift(lc, own_start, lag, "start")))
        elif t == "FF":
            slack = min(slack, cal.offset(ef[s]) - cal.offset(_shift(lc, ef[i], lag, "finish")))
        else:
            slack = min(slack, cal.offset(ef[s]) - cal.offset(_shift(lc, own_start, lag, "finish")))
    if slack == _POS:
        slack = cal.offset(finish) - cal.offset(ef[i])
    return slack


def _longest_path(net, ef: list[int]) -> list[int]:
    """Follow driving predecessors back from the activity that finishes last."""
    live = [i for i in range(len(ef)) if net.acts[i].actual_finish is None]
    if not live:
        return []
    last = max(live, key=lambda i: (ef[i], -i))
    path, seen = [last], {last}
    while net.driver[path[-1]] >= 0 and net.driver[path[-1]] not in seen:
        p = net.driver[path[-1]]
        if net.acts[p].actual_finish is not None:
            break
        path.append(p)
        seen.add(p)
    path.reverse()
    return path


def _shift(cal: WorkCalendar, t: int, lag: int, side: str) -> int:
    return t if lag == 0 else cal.add(t, lag, side)  # type: ignore[arg-type]


def _m(dt: datetime | None) -> int:
    return to_minutes(dt) if dt is not None else _NEG
