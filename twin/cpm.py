"""Critical path method in working time, following Primavera P6's scheduling rules.

``compute_cpm(schedule, data_date=None) -> CpmResult`` runs a forward and a backward pass over the
activities in topological order, on each activity's own calendar at minute resolution
(:mod:`twin.worktime`), and returns early/late dates, total and free float, the critical set, the
longest path and the near-critical set. Nothing in the input is changed. Schedules on one calendar
without progress, constraints, LOE or WBS summaries go to a faster engine with the same results
(:mod:`twin.cpm_arrays`); ``engine="passes"`` forces the general passes (:mod:`twin.cpm_passes`).

P6 semantics reproduced (and checked against P6's own dates in a real programme, see
``tests/test_cpm_p6.py`` and ``docs/scheduling.md``):

* relationships FS, SS, FF, SF with positive or negative lags; lags are counted on the calendar the
  schedule's options name (``ScheduleOptions.lag_calendar``: predecessor, successor, 24h, project);
* a finish at the end of a working period reads as that period's end (17:00); a start as the next
  working minute (08:00), on the activity's calendar;
* constraints: start/finish on, on or after, on or before, mandatory start/finish, as late as possible;
  a project finish constraint (``Schedule.finish_constraint``) bounds the late dates;
* progress at a data date: complete activities keep their actual dates and, like P6, show early dates
  at the data date; in-progress ones are scheduled from the data date on their remaining duration,
  after their predecessors under retained logic, or from the data date alone under progress override;
  not-started work never starts before the data date. As in P6, early/late dates of started work are the
  *remaining* dates; actual dates are in ``actual_start`` / ``actual_finish``;
* level of effort activities span their predecessors' start to their successors' finish; WBS summary
  activities span the activities they summarise; neither drives anything;
* open ends finish at the project finish (or are made critical, as a P6 option asks); work with an
  expected finish has no free float when ``ScheduleOptions.use_expected_finish`` is set;
* total float (finish, start or smallest, as ``ScheduleOptions.total_float`` says) and free float, in
  working hours on the activity's calendar; critical when total float <= ``critical_float_h``.

Examples
--------
Let's imagine three activities on the standard calendar, B and C after A, starting Monday 2024-03-04:

>>> from datetime import datetime
>>> from twin.schedule import Activity, Relationship, Schedule, Calendar
>>> acts = {a.id: a for a in [Activity("A", duration_h=16), Activity("B", duration_h=8),
...                           Activity("C", duration_h=24)]}
>>> s = Schedule(acts, (Relationship("A", "B"), Relationship("A", "C")),
...              {"standard": Calendar("standard")}, start=datetime(2024, 3, 4))
>>> r = compute_cpm(s)
>>> r.finish, r.critical_path
(datetime.datetime(2024, 3, 8, 17, 0), ('A', 'C'))
>>> r.dates["B"].total_float_h
16.0
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Mapping

import numpy as np

from twin.errors import ScheduleCycleError, ScheduleError
from twin.schedule import RelationType, Schedule
from twin.worktime import HorizonError, WorkCalendar, from_minutes, full_day_calendar, to_minutes

# the engines (they import this module's records lazily; importing them here keeps a first call from
# paying their import)
from twin import cpm_arrays, cpm_passes  # noqa: E402

__all__ = ["ActivityDates", "CpmResult", "DatesView", "Network", "compute_cpm", "scheduling_date",
           "topological_order", "find_cycle"]

_LINK_CODES = {t: t.value for t in RelationType} | {t.value: t.value for t in RelationType}


@dataclass(frozen=True, slots=True)
class ActivityDates:
    """CPM dates of one activity (P6 conventions; floats in working hours on its calendar).

    For started work ``early_start``/``early_finish`` are the remaining early dates (P6's
    ``restart_date``/``reend_date``; complete work sits at the data date), ``actual_*`` the actuals.
    Floats of complete activities are NaN (P6 leaves them blank).
    """

    early_start: datetime
    early_finish: datetime
    late_start: datetime
    late_finish: datetime
    total_float_h: float
    free_float_h: float
    critical: bool
    actual_start: datetime | None = None
    actual_finish: datetime | None = None
    calendar: str = ""


class DatesView(Mapping[str, ActivityDates]):
    """Read-only mapping id -> :class:`ActivityDates`, in schedule order.

    Built from the passes' arrays; each :class:`ActivityDates` is made on first access (a 50,000
    activity schedule need not build 50,000 records to report its finish). Pickles.
    """

    __slots__ = ("_ids", "_index", "_cols", "_cache")

    def __init__(self, ids: list[str], cols: tuple[list, ...], index: dict[str, int] | None = None):
        self._ids = ids
        self._index = index if index is not None else {k: i for i, k in enumerate(ids)}
        self._cols = cols  # es, ef, ls, lf (clock minutes), tf, ff, critical, actual start, finish, calendar
        self._cache: dict[str, ActivityDates] = {}

    def __getitem__(self, key: str) -> ActivityDates:
        d = self._cache.get(key)
        if d is None:
            i = self._index[key]
            es, ef, ls, lf, tf, ff, crit, ast, afi, cal = (c[i] for c in self._cols)
            d = self._cache[key] = ActivityDates(from_minutes(es), from_minutes(ef), from_minutes(ls),
                                                 from_minutes(lf), tf, ff, crit, ast, afi, cal)
        return d

    def __iter__(self):
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __repr__(self) -> str:
        return f"DatesView({len(self._ids)} activities)"

    def __getstate__(self):
        return (self._ids, self._cols)

    def __setstate__(self, state) -> None:
        self.__init__(*state)


@dataclass(frozen=True, slots=True, eq=False)
class CpmResult:
    """Result of :func:`compute_cpm`.

    ``dates`` maps activity id -> :class:`ActivityDates` in schedule order; ``start``/``finish`` are the
    earliest start and latest early finish; ``critical_path`` the longest path (ids, first to last);
    ``near_critical`` ids with total float up to ``ScheduleOptions.near_critical_float_h`` that are
    not critical; ``order`` the topological order used; ``warnings`` what was ignored or assumed.
    """

    dates: Mapping[str, ActivityDates]
    start: datetime
    finish: datetime
    critical_path: tuple[str, ...]
    near_critical: tuple[str, ...]
    data_date: datetime | None
    order: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def critical(self) -> tuple[str, ...]:
        """Ids of critical activities (total float within the critical threshold), schedule order."""
        return tuple(k for k, d in self.dates.items() if d.critical)


# -- graph helpers -------------------------------------------------------------------------------------
def topological_order(n: int, preds: list[list[int]], succs: list[list[int]]) -> list[int] | None:
    """Kahn's algorithm over index lists; None if there is a cycle. Ties keep input order."""
    indeg = [len(p) for p in preds]
    ready = [i for i in range(n) if indeg[i] == 0]
    ready.reverse()
    out: list[int] = []
    while ready:
        i = ready.pop()
        out.append(i)
        for j in succs[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                ready.append(j)
    return out if len(out) == n else None


def find_cycle(n: int, succs: list[list[int]]) -> list[int]:
    """One cycle (node indices in order) of a graph known to have one (iterative DFS)."""
    state = [0] * n  # 0 new, 1 on stack, 2 done
    for root in range(n):
        if state[root]:
            continue
        stack = [(root, iter(succs[root]))]
        path = [root]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif state[nxt] == 1:
                return path[path.index(nxt):]
            elif state[nxt] == 0:
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(succs[nxt])))
    return []


# -- the engine ----------------------------------------------------------------------------------------
def _topological_order_links(n: int, in_links: list[list[tuple]], out_links: list[list[tuple]]
                             ) -> list[int] | None:
    """:func:`topological_order` over link lists (first item of each link: the other activity)."""
    indeg = [len(x) for x in in_links]
    ready = [i for i in range(n) if not indeg[i]]
    ready.reverse()
    out: list[int] = []
    pop, push = ready.pop, ready.append
    while ready:
        i = pop()
        out.append(i)
        for link in out_links[i]:
            j = link[0]
            indeg[j] -= 1
            if not indeg[j]:
                push(j)
    return out if len(out) == n else None


class Network:
    """A schedule prepared for the passes: index arrays, checked links, compiled calendars.

    Shared by :func:`compute_cpm` and the simulator (:func:`twin.sim.network.compile_network`), so that
    both read links, calendars and lag calendars the same way. Not a frozen record (it holds compiled
    calendars). Raises :class:`ScheduleError` (unknown activity or calendar) or
    :class:`ScheduleCycleError` (logic loop) while building.

    Attributes
    ----------
    ids, acts : activity ids and records in schedule order; every per-activity list uses this order.
    in_links, out_links : per activity, (other activity index, "FS"/"SS"/"FF"/"SF", lag minutes).
    order : topological order (indices).
    cal : per activity, its compiled :class:`twin.worktime.WorkCalendar`; ``wcals`` by calendar id.
    lag_mode, project_cal : the lag calendar option and the project (default) calendar.
    warnings : the schedule's warnings, and those found while preparing it.
    """

    @property
    def preds(self) -> list[list[int]]:
        """Predecessor indices of each activity."""
        return [[x[0] for x in links] for links in self.in_links]

    @property
    def succs(self) -> list[list[int]]:
        """Successor indices of each activity."""
        return [[x[0] for x in links] for links in self.out_links]

    def __init__(self, schedule: Schedule, data_date: datetime | None):
        self.ids = list(schedule.activities)
        self.acts = list(schedule.activities.values())
        index = {a: i for i, a in enumerate(self.ids)}
        n = len(self.ids)
        self.warnings: list[str] = list(schedule.warnings)
        rels = schedule.relationships
        get = index.get
        P = [get(r.pred) for r in rels]
        S = [get(r.succ) for r in rels]
        if None in P or None in S:
            r = next(r for r, p, s in zip(rels, P, S) if p is None or s is None)
            raise ScheduleError(f"relationship {r.pred} -> {r.succ}: unknown activity "
                                f"'{r.pred if r.pred not in index else r.succ}'")
        T = [_LINK_CODES.get(r.type) or str(r.type) for r in rels]
        L = [round(r.lag_h * 60) if r.lag_h else 0 for r in rels]
        self.in_links: list[list[tuple[int, str, int]]] = [[] for _ in range(n)]   # (pred, type, lag)
        self.out_links: list[list[tuple[int, str, int]]] = [[] for _ in range(n)]  # (succ, type, lag)
        for p, s, t, lag in zip(P, S, T, L):
            if p == s:
                raise ScheduleCycleError([self.ids[p]])
            self.in_links[s].append((p, t, lag))
            self.out_links[p].append((s, t, lag))
        codes = {"FS": 0, "SS": 1, "FF": 2, "SF": 3}
        self.link_arrays = (np.array(P, dtype=np.int64), np.array(S, dtype=np.int64),
                            np.array([codes[t] for t in T], dtype=np.int64), np.array(L, dtype=np.int64))
        order = _topological_order_links(n, self.in_links, self.out_links)
        if order is None:
            raise ScheduleCycleError([self.ids[i] for i in find_cycle(n, self.succs)])
        self.order = order
        origin = (data_date or schedule.data_date or schedule.start or datetime(2000, 1, 1)).date()
        self.wcals = _LazyCalendars(schedule.calendars, date(origin.year, 1, 1))
        default = schedule.default_calendar
        if default not in self.wcals:
            if schedule.calendars:
                raise ScheduleError(f"default calendar '{default}' is not among the schedule's calendars")
            from twin.schedule import Calendar
            self.wcals[default] = WorkCalendar(Calendar(default), origin=date(origin.year, 1, 1))
        self.cal: list[WorkCalendar] = []
        seen: dict[str, WorkCalendar] = {}
        for a in self.acts:
            cid = a.calendar or default
            wc = seen.get(cid)
            if wc is None:
                if cid not in self.wcals:
                    raise ScheduleError(f"activity '{a.id}' uses unknown calendar '{cid}'")
                wc = seen[cid] = self.wcals[cid]
            self.cal.append(wc)
        keys = {cid: k for k, cid in enumerate(seen)}
        self.cal_key = np.array([keys[a.calendar or default] for a in self.acts], dtype=np.int64)
        self.use_expected_finish = bool(getattr(schedule.options, "use_expected_finish", False))
        opt = schedule.options.lag_calendar
        self.lag_mode = opt if opt in ("predecessor", "successor", "24h", "project") else "predecessor"
        self.project_cal = self.wcals[default]


class _LazyCalendars(dict):
    """Calendar id -> WorkCalendar, compiled on first use (plus ``"24h"``)."""

    def __init__(self, calendars, origin: date):
        super().__init__()
        self._src = dict(calendars)
        self._origin = origin

    def __missing__(self, cid: str) -> WorkCalendar:
        cal = self._src[cid] if cid in self._src else full_day_calendar("24h") if cid == "24h" else None
        if cal is None:
            raise KeyError(cid)
        compiled = self[cid] = WorkCalendar(cal, origin=self._origin, span_days=366 * 8)
        return compiled

    def __contains__(self, cid: object) -> bool:
        return dict.__contains__(self, cid) or cid in self._src or cid == "24h"


def scheduling_date(net: Network, schedule: Schedule, data_date: datetime | None = None, *,
                    purpose: str = "schedule") -> datetime:
    """The date not-started work is scheduled from: ``data_date``, else the schedule's data date, else its
    start, else the earliest planned or actual start (noted in ``net.warnings``).

    Raises
    ------
    ScheduleError
        None of these dates exists (``purpose`` words the message: "schedule", "simulate").
    """
    dd = data_date or schedule.data_date or schedule.start
    if dd is None:
        starts = [a.planned_start for a in net.acts if a.planned_start] + \
                 [a.actual_start for a in net.acts if a.actual_start]
        if not starts:
            raise ScheduleError(f"the schedule has no start date, data date or planned start to {purpose} from")
        dd = min(starts)
        net.warnings.append(f"no data date or project start: scheduling from the earliest planned start {dd}")
    return dd


def compute_cpm(schedule: Schedule, *, data_date: datetime | None = None, engine: str = "auto") -> CpmResult:
    """Forward and backward pass with P6's rules; see the module docstring.

    Parameters
    ----------
    schedule : Schedule
        Activities (durations in working hours), relationships, calendars, options, progress.
    data_date : datetime, optional
        Progress date; default ``schedule.data_date``, else ``schedule.start``. Not-started work
        does not start before it.
    engine : {"auto", "passes", "one_calendar"}
        ``"auto"``: :func:`twin.cpm_arrays.compute_cpm_one_calendar` (integer working offsets) when
        every activity and lag is on one calendar and there is no progress, constraint, level of effort
        or WBS summary, else the general passes (:mod:`twin.cpm_passes`); both give the same result.
        ``"passes"``: always the general passes. ``"one_calendar"``: the offset engine, or
        :class:`ScheduleError` saying why the schedule does not qualify.

    Returns
    -------
    CpmResult

    Raises
    ------
    ScheduleCycleError
        Relationships form a loop (the ids in the loop are in the message and ``.cycle``).
    ScheduleError
        Unknown activity in a relationship, unknown calendar, no start date, or a date outside the
        calendar horizon (the message names the activity).
    """
    if not schedule.activities:
        raise ScheduleError("the schedule has no activities")
    if engine not in ("auto", "passes", "one_calendar"):
        raise ScheduleError(f"unknown CPM engine '{engine}': expected auto, passes or one_calendar")
    if engine != "passes":
        result = cpm_arrays.compute_cpm_one_calendar(schedule, data_date)
        if result is not None:
            return result
        if engine == "one_calendar":
            why = cpm_arrays.why_not_one_calendar(schedule)
            if why is None:  # the general passes find what is wrong and say it
                _compute_cpm_passes(schedule, data_date)
                why = "the offset engine declined it"
            raise ScheduleError(f"the one-calendar CPM engine cannot schedule this: {why}")
    return _compute_cpm_passes(schedule, data_date)


def _compute_cpm_passes(schedule: Schedule, data_date: datetime | None) -> CpmResult:
    """The general passes of :mod:`twin.cpm_passes` (every schedule)."""
    net = Network(schedule, data_date)
    dd_dt = scheduling_date(net, schedule, data_date)
    future = [a.id for a in net.acts
              if (a.actual_finish or a.actual_start) is not None and (a.actual_finish or a.actual_start) > dd_dt]
    if future:
        shown = ", ".join(future[:5]) + (f" and {len(future) - 5} more" if len(future) > 5 else "")
        net.warnings.append(f"{len(future)} activities have actual dates after the data date {dd_dt:%Y-%m-%d %H:%M}: "
                            f"{shown}")
    from twin.cpm_passes import backward, forward, floats_and_paths
    try:
        dd = to_minutes(dd_dt)
        es, ef = forward(net, schedule, dd)
        project_finish = max(ef) if ef else dd
        ls, lf = backward(net, schedule, dd, es, ef, project_finish)
        return floats_and_paths(net, schedule, dd_dt, dd, es, ef, ls, lf)
    except HorizonError as exc:
        raise ScheduleError(f"{exc}; check the dates and durations of the activities "
                            f"(corrupt dates far in the future?)") from None
