"""A fast CPM engine for schedules on one calendar with no progress, working in working-minute offsets.

:func:`twin.cpm.compute_cpm` calls :func:`compute_cpm_one_calendar` first; it returns ``None`` (and
the general passes of :mod:`twin.cpm_passes` run) unless the schedule qualifies:

* every activity works on the same calendar, and every lag counts on it too (lags zero, or the lag
  calendar option resolves to that calendar);
* no progress (no actual start or finish), no constraints, no level of effort or WBS summary;
* every relationship names known activities, and the links have no loop (errors are left to the
  general passes, which word them).

On one calendar every date is a working offset ``w`` (working minutes from the calendar's origin)
plus which reading of that offset it is: a finish reads as the end of the work that reaches ``w``
(Friday 17:00), a start as the first working minute after it (Monday 08:00). Each date is kept as the
integer key ``2 * w + side`` (side 0 finish reading, 1 start reading), which orders dates as their
clock minutes do, so the passes are integer additions and comparisons, fused with the topological
sort, and one ``searchsorted`` per date column turns keys into clock minutes at the end. Floats are
differences of offsets. The driving predecessors (for the longest path) are found afterwards, only
along the path, by the general passes' own rule on clock minutes.

The two loops (forward pass fused with the topological sort, backward pass) are in pure Python in
:mod:`twin.cpm_loops`, the reference, and again in :mod:`twin.cpm_kernels` compiled with numba, which
:func:`kernels_for` picks from a process's second schedule of 500+ activities on.

The results are the general passes' results, date for date, float for float, same order, same path
(``tests/test_cpm_arrays.py`` compares them on random networks and on single-calendar programmes).
"""
from __future__ import annotations

import os
from datetime import date, datetime
from types import SimpleNamespace

import numpy as np

from twin import cpm_loops
from twin.errors import ScheduleError
from twin.schedule import ActivityType, Calendar, RelationType, Schedule
from twin.worktime import HorizonError, WorkCalendar, from_minutes, to_minutes

__all__ = ["compute_cpm_one_calendar", "why_not_one_calendar"]

_NEG = -(1 << 62)
_NOT_HERE = (ActivityType.LEVEL_OF_EFFORT, ActivityType.WBS_SUMMARY)
_FM = ActivityType.FINISH_MILESTONE
_MILESTONES = (ActivityType.START_MILESTONE, ActivityType.FINISH_MILESTONE)


JIT_MIN_ACTIVITIES = 500
"""Schedules smaller than this always run the pure-Python loops (they take under 0.2 ms)."""
_jit_state = {"large_calls": 0, "kernels": None}


def kernels_for(n: int, kernels: str = "auto"):
    """The compiled kernels (:mod:`twin.cpm_kernels`) to use for an ``n``-activity schedule, or None
    for the pure-Python loops.

    ``kernels="python"`` or the environment variable ``TWIN_NUMBA=0``: never compiled. ``"numba"``:
    compiled whenever numba imports. ``"auto"``: compiled from the second schedule of at least
    :data:`JIT_MIN_ACTIVITIES` activities in the process on (the first runs the Python loops, so that a
    one-off ``twin schedule`` does not pay numba's start-up, about 0.4 s of CPU; a process that
    computes again, like the app or a what-if loop, pays it once and then runs the loops ~40x faster).
    Without numba, always None.
    """
    if kernels == "python" or os.environ.get("TWIN_NUMBA", "") == "0":
        return None
    if kernels == "auto":
        if n < JIT_MIN_ACTIVITIES:
            return None
        _jit_state["large_calls"] += 1
        if _jit_state["large_calls"] < 2:
            return None
    if _jit_state["kernels"] is None:
        try:
            import twin.cpm_kernels as cpm_kernels
        except Exception:  # numba missing, broken, or no writable cache: the Python loops do the same
            _jit_state["kernels"] = False
        else:
            _jit_state["kernels"] = cpm_kernels
    return _jit_state["kernels"] or None


def why_not_one_calendar(schedule: Schedule) -> str | None:
    """Why :func:`compute_cpm_one_calendar` leaves ``schedule`` to the general passes, as far as its
    activities and options tell (None: it qualifies; calendars and links are checked while running)."""
    acts = list(schedule.activities.values())
    why = _why_not(schedule, acts, [a.type for a in acts])
    if why is None and any([r.lag_h for r in schedule.relationships]):
        why = _why_not_lags(schedule, acts)
    return why


def _why_not(schedule: Schedule, acts: list, types: list) -> str | None:
    """:func:`why_not_one_calendar` without the lag calendar. (Reading the records is most of the
    engine's cost: each attribute is read once, in list comprehensions, the fastest way in 3.11.)"""
    if not acts:
        return "no activities"
    if any([a.actual_start or a.actual_finish or a.constraints for a in acts]):
        if any([a.actual_start or a.actual_finish for a in acts]):
            return "progress (actual dates)"
        return "constraints"
    if _NOT_HERE[0] in types or _NOT_HERE[1] in types:
        return "level of effort or WBS summary activities"
    cals = [a.calendar for a in acts]
    if cals.count(cals[0]) != len(cals):
        cids = {c or schedule.default_calendar for c in cals}
        if len(cids) != 1:
            return f"{len(cids)} calendars"
    return None


def _why_not_lags(schedule: Schedule, acts: list) -> str | None:
    """Lags must count on the activities' calendar."""
    mode, default = schedule.options.lag_calendar, schedule.default_calendar
    cid = acts[0].calendar or default
    if (mode == "24h" and cid != "24h") or (mode == "project" and cid != default):
        return "lags counted on another calendar"
    return None


def compute_cpm_one_calendar(schedule: Schedule, data_date: datetime | None = None, *, kernels: str = "auto"):
    """:func:`twin.cpm.compute_cpm` for a schedule on one calendar with no progress, or None.

    Parameters
    ----------
    schedule : Schedule
    data_date : datetime, optional
        As for :func:`twin.cpm.compute_cpm`.
    kernels : {"auto", "python", "numba"}
        Loops in pure Python or compiled with numba (same results); see :func:`kernels_for`.

    Returns
    -------
    CpmResult or None
        None when the schedule does not qualify (see the module docstring) or something is wrong with
        it (unknown activity or calendar, loop, no start date, a date beyond the calendar horizon): the
        general passes then run and report it in their words.
    """
    acts = list(schedule.activities.values())
    types = [a.type for a in acts]
    if _why_not(schedule, acts, types) is not None:
        return None
    ids = list(schedule.activities)
    index = {a: i for i, a in enumerate(ids)}
    links = _links(schedule.relationships, index)
    if links is None or (links[3] is not None and _why_not_lags(schedule, acts) is not None):
        return None
    from twin.cpm import scheduling_date

    shim = SimpleNamespace(acts=acts, warnings=list(schedule.warnings))
    try:
        cal = _calendar(schedule, acts[0].calendar or schedule.default_calendar, data_date)
        if cal is None:
            return None
        dd_dt = scheduling_date(shim, schedule, data_date)
        return _run(schedule, ids, index, acts, types, links, cal, dd_dt, shim.warnings,
                    kernels_for(len(ids), kernels))
    except (HorizonError, ScheduleError):
        return None


# -- preparation ---------------------------------------------------------------------------------------
def _calendar(schedule: Schedule, cid: str, data_date: datetime | None) -> WorkCalendar | None:
    """The compiled calendar of every activity, as :class:`twin.cpm.Network` compiles it, or None."""
    from twin.cpm import _LazyCalendars

    origin = (data_date or schedule.data_date or schedule.start or datetime(2000, 1, 1)).date()
    origin = date(origin.year, 1, 1)
    wcals = _LazyCalendars(schedule.calendars, origin)
    default = schedule.default_calendar
    if default not in wcals:
        if schedule.calendars:
            return None
        wcals[default] = WorkCalendar(Calendar(default), origin=origin)
    if cid not in wcals:
        return None
    return wcals[cid]


def _links(rels, index: dict[str, int]):
    """Link arrays (P, S, kind, lag minutes), shape (m,) int64 each, or None if a link names an unknown
    activity, links an activity to itself or has an unknown type. ``kind``: FS 0, SS 1, FF 2, SF 3,
    None when every link is FS; ``lag`` None when no link has a lag."""
    m = len(rels)
    try:
        P = np.fromiter([index[r.pred] for r in rels], dtype=np.int64, count=m)
        S = np.fromiter([index[r.succ] for r in rels], dtype=np.int64, count=m)
    except KeyError:
        return None
    if (P == S).any():
        return None
    types = [r.type for r in rels]
    K = None
    if types.count(RelationType.FS) != m:  # (enum members hash slowly: compare, do not look up)
        obj = np.array(types, dtype=object)
        K = np.full(m, -1, dtype=np.int64)
        for code, t in enumerate((RelationType.FS, RelationType.SS, RelationType.FF, RelationType.SF)):
            K[obj == np.array([t], dtype=object)] = code  # (a bare enum would become 'RelationType.FS')
        if (K < 0).any():
            return None
    lags = [r.lag_h for r in rels]
    L = np.rint(np.array([x or 0.0 for x in lags], dtype=np.float64) * 60).astype(np.int64) if any(lags) else None
    return P, S, K, L


def _out_csr(n: int, links):
    """Out-links of each activity in relationship order, int64 arrays: (ptr (n + 1,), successor (m,),
    kind (m,) or None when all FS, lag (m,) or None when none, in-degree (n,))."""
    P, S, K, L = links
    o = _stable_order(P, n)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(P, minlength=n), out=ptr[1:])
    kind = K[o] if K is not None else None
    lag = L[o] if L is not None else None
    return ptr, S[o], kind, lag, np.bincount(S, minlength=n)


def _group_extreme(ufunc, values: np.ndarray, order, counts: np.ndarray, fill: int) -> np.ndarray:
    """Per group, the ``ufunc`` (np.minimum or np.maximum) of ``values`` (shape (m,)) whose group is
    given by ``order`` (links sorted by group; None: already sorted) and ``counts`` (links per group,
    shape (n,)); ``fill`` for empty groups. (``ufunc.at`` is several times slower.)"""
    out = np.full(counts.size, fill, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    full = counts > 0
    if values.size:
        out[full] = ufunc.reduceat(values if order is None else values[order], starts[full])
    return out


def _stable_order(keys: np.ndarray, n: int) -> np.ndarray:
    """``argsort(keys, kind="stable")`` for keys in ``[0, n)``; below 65,536 as 16-bit keys, which
    numpy sorts by radix (3x faster than int64)."""
    return np.argsort(keys.astype(np.uint16) if n < 65536 else keys, kind="stable")


def _durations(acts, types) -> np.ndarray | None:
    """Working minutes to schedule (the general passes' ``remaining_minutes`` for unstarted work), or
    None if a duration is not a finite number."""
    d = np.rint(np.array([a.duration_h for a in acts], dtype=np.float64) * 60)
    rem = [a.remaining_h for a in acts]
    if rem.count(None) != len(rem):
        r = np.array([x if x is not None else np.nan for x in rem], dtype=np.float64)
        d = np.where([x is None for x in rem], d, np.rint(r * 60))
    if not np.isfinite(d).all():
        return None
    out = np.maximum(d, 0).astype(np.int64)
    if _MILESTONES[0] in types or _MILESTONES[1] in types:
        out[[t in _MILESTONES for t in types]] = 0
    return out


def _key(cal: WorkCalendar, t: int, *, late: bool = False) -> int:
    """Key of clock minute ``t``, which may lie between the two readings of its offset ``w`` (a
    Saturday): 2w + 1 where it compares with other dates like the start reading (early dates take
    the latest candidate; ``t`` is a start's lower bound), else 2w. For late dates (the earliest
    candidate; ``t`` an upper bound) it is 2w unless ``t`` is the start reading itself."""
    w = cal.offset(t)
    if late:
        return 2 * w + 1 if cal.at_offset(w, "start") == t else 2 * w
    return 2 * w if cal.at_offset(w, "finish") == t else 2 * w + 1


def _clock(cal: WorkCalendar, keys: np.ndarray) -> np.ndarray:
    """Clock minutes of keys, shape (n,) -> (n,)."""
    w = keys >> 1
    side = (keys & 1).astype(bool)
    if side.all():
        return cal.at_offsets(w, "start")
    if not side.any():
        return cal.at_offsets(w, "finish")
    return np.where(side, cal.at_offsets(w, "start"), cal.at_offsets(w, "finish"))


def _run(schedule, ids, index, acts, types, links, cal, dd_dt, warnings, jit):
    """Forward pass, backward pass, floats, path; the CpmResult (None if the links have a loop).
    ``jit``: the compiled kernels, or None for the Python loops."""
    from twin.cpm import CpmResult, DatesView

    n = len(ids)
    dur = _durations(acts, types)
    if dur is None:
        return None
    dd = to_minutes(dd_dt)
    opts = schedule.options
    csr = _out_csr(n, links)
    fwd = None
    if jit is not None:
        try:
            fwd = _passes_compiled(jit, n, csr, dur, types, _key(cal, dd), cal, schedule, opts)
        except HorizonError:
            raise
        except Exception:  # numba could not compile or load the kernels here: never again this process
            _jit_state["kernels"], jit = False, None
    if jit is None:
        fwd = _passes_python(n, csr, dur.tolist(), types, _key(cal, dd), cal, schedule, opts)
    if fwd is None:
        return None
    order, ES, EF, LS, LF, es_c, ef_c = fwd
    ls_c, lf_c = _clock(cal, LS), _clock(cal, LF)
    last = int(np.argmax(ef_c))
    tf, ff = _floats(opts, acts, links, ES >> 1, EF >> 1, LS >> 1, LF >> 1, int(EF.max()) >> 1)
    crit = tf <= opts.critical_float_h + 1e-9
    es_l, ef_l = es_c.tolist(), ef_c.tolist()
    path = _longest_path(cal, links, last, ES, EF, es_c, ef_c, dur, dd)
    if opts.critical == "longest_path":
        crit = np.zeros(n, dtype=bool)
        crit[path] = True
    near = tuple(map(ids.__getitem__, np.flatnonzero(~crit & (tf <= opts.near_critical_float_h + 1e-9)).tolist()))
    none = [None] * n
    dates = DatesView(ids, (es_l, ef_l, ls_c.tolist(), lf_c.tolist(), tf.tolist(),
                            ff.tolist(), crit.tolist(), none, none, [cal.id] * n), index=index)
    return CpmResult(dates, from_minutes(int(es_c.min())), from_minutes(ef_l[last]),
                     tuple(ids[i] for i in path), near, dd_dt, tuple(map(ids.__getitem__, order)),
                     tuple(warnings))


def _end_key(cal: WorkCalendar, schedule: Schedule, ef_c: np.ndarray) -> int:
    """Key of the date open ends finish by: the finish constraint, else the project's early finish."""
    end = schedule.finish_constraint
    return _key(cal, to_minutes(end) if end is not None else int(ef_c.max()), late=True)


def _passes_python(n, csr, dur, types, ddk, cal, schedule, opts):
    """Both passes with the Python loops: (order list, ES, EF, LS, LF keys, early clock minutes)."""
    ptr, succ, kind, lag, indeg = (x.tolist() if x is not None else None for x in csr)
    fwd = cpm_loops.forward(n, ptr, succ, kind, lag, indeg, dur, types, ddk)
    if fwd is None:
        return None
    order, esk, efk = fwd
    ES, EF = np.fromiter(esk, dtype=np.int64, count=n), np.fromiter(efk, dtype=np.int64, count=n)
    es_c, ef_c = _clock(cal, ES), _clock(cal, EF)
    lsk, lfk = cpm_loops.backward(order, ptr, succ, kind, lag, dur, types, efk, _end_key(cal, schedule, ef_c),
                                  opts.open_ends_critical)
    LS, LF = np.fromiter(lsk, dtype=np.int64, count=n), np.fromiter(lfk, dtype=np.int64, count=n)
    return order, ES, EF, LS, LF, es_c, ef_c


def _passes_compiled(jit, n, csr, dur, types, ddk, cal, schedule, opts):
    """Both passes with the numba kernels (same results as :func:`_passes_python`)."""
    ptr, succ, kind, lag, indeg = csr
    zeros = np.zeros(succ.size, dtype=np.int64)
    kind = zeros if kind is None else kind
    lag = zeros if lag is None else lag
    fm = np.zeros(n, dtype=np.bool_)
    if _FM in types:
        fm[[t is _FM for t in types]] = True
    order, count, ES, EF = jit.forward(ptr, succ, kind, lag, indeg, dur, fm, ddk)
    if count != n:
        return None
    es_c, ef_c = _clock(cal, ES), _clock(cal, EF)
    LS, LF = jit.backward(order, ptr, succ, kind, lag, dur, fm, EF, _end_key(cal, schedule, ef_c),
                          bool(opts.open_ends_critical))
    return order.tolist(), ES, EF, LS, LF, es_c, ef_c


def _floats(opts, acts, links, es, ef, ls, lf, finish_w):
    """Total and free float in hours (the general passes' ``_floats`` on one calendar: offsets are
    the keys' halves, and a lag moves an offset by itself). Offsets shape (n,) -> floats (n,), (n,)."""
    fin = lf - ef
    if opts.total_float == "start":
        tf = (ls - es) / 60
    elif opts.total_float == "smallest":
        tf = np.minimum(ls - es, fin) / 60
    else:
        tf = fin / 60
    big = np.iinfo(np.int64).max
    ff_min = np.full(len(acts), big, dtype=np.int64)
    P, S, K, L = links
    if P.size:
        if K is None:  # FS: from the predecessor's finish to the successor's start
            base, target = ef[P], es[S]
        else:
            base = np.where((K == 0) | (K == 2), ef[P], es[P])
            target = np.where(K < 2, es[S], ef[S])
        if L is not None:
            base = base + L
        ff_min = _group_extreme(np.minimum, target - base, _stable_order(P, len(acts)),
                                np.bincount(P, minlength=len(acts)), big)
    ff = np.maximum(0, np.where(ff_min == big, finish_w - ef, ff_min)) / 60
    if getattr(opts, "use_expected_finish", False):
        ff[[a.expected_finish is not None for a in acts]] = 0.0
    return tf, ff


def _longest_path(cal, links, last, ES, EF, es_c, ef_c, dur, dd) -> list[int]:
    """Driving predecessors back from ``last`` (see :func:`_drivers`)."""
    drv = _drivers(cal, links, ES, EF, es_c, ef_c, dur, dd).tolist()
    path, seen = [last], {last}
    while drv[path[-1]] >= 0 and drv[path[-1]] not in seen:
        path.append(drv[path[-1]])
        seen.add(path[-1])
    path.reverse()
    return path


def _drivers(cal, links, ES, EF, es_c, ef_c, dur, dd) -> np.ndarray:
    """Driving predecessor of every activity (-1: none), shape (n,), by the general forward pass's
    rule on clock minutes: the first link, in relationship order, giving the latest start (if not
    before the data date ``dd``) or the latest finish; the finish side drives when it is later (no
    duration) or leaves a later start (with one). ES, EF keys; es_c, ef_c clock minutes, arrays."""
    P, S, K, L = links
    n = dur.size
    out = np.full(n, -1, dtype=np.int64)
    if not P.size:
        return out
    K = np.zeros(P.size, dtype=np.int64) if K is None else K
    from_finish = (K == 0) | (K == 2)                       # FS, FF
    c = np.where(from_finish, ef_c[P], es_c[P])             # clock minute each link passes on
    if L is not None:                                       # a lag moves the offset; SS reads a start
        w = np.where(from_finish, EF[P] >> 1, ES[P] >> 1) + L
        for side, sel in (("start", (L != 0) & (K == 1)), ("finish", (L != 0) & (K != 1))):
            if sel.any():
                c[sel] = cal.at_offsets(w[sel], side)
    o = _stable_order(S, n)
    counts = np.bincount(S, minlength=n)
    S, P, c, to_start = S[o], P[o], c[o], (K < 2)[o]
    best, first = [], []
    for sel in (to_start, ~to_start):
        m = _group_extreme(np.maximum, np.where(sel, c, _NEG), None, counts, _NEG)
        hit = np.flatnonzero(sel & (c == m[S]))             # links giving the latest date ...
        lead = np.ones(hit.size, dtype=bool)
        lead[1:] = S[hit[1:]] != S[hit[:-1]]                # ... the first of each successor's
        f = np.full(n, -1, dtype=np.int64)
        f[S[hit[lead]]] = P[hit[lead]]
        best.append(m)
        first.append(f)
    (m_start, m_fin), (sdrv, fdrv) = best, first
    start_c = np.maximum(m_start, dd)
    sdrv = np.where(m_start >= dd, sdrv, -1)
    drv = np.where(m_fin > start_c, fdrv, sdrv)             # no duration: the later side drives
    late = (dur > 0) & (m_fin > _NEG)
    drv = np.where(dur > 0, sdrv, drv)
    if late.any():                                          # with a duration: the later start drives
        idx = np.flatnonzero(late)
        wins = cal.offsets(m_fin[idx]) - dur[idx] > cal.offsets(start_c[idx])
        drv[idx[wins]] = fdrv[idx[wins]]
    return drv
