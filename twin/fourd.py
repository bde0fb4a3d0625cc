"""4D element states: what each building element looks like, construction-wise, on a given date.

A pure function of (activity dates, activity -> element links, a date): no geometry, no rendering,
so the 3D view (:mod:`twin.viz`), the app and the simulator share one definition of "built by then".

Assumptions, stated once:

* Activities are reduced to :class:`TaskWindow` records (start, finish, optional baseline and
  actual dates, and a :class:`WorkKind`). Date-times are timezone-naive local, as everywhere in twin.
* An element's life has phases. ``construct`` activities build it (not started -> in progress ->
  complete), ``demolish`` activities remove it (existing -> being demolished -> gone), ``temporary``
  activities make it exist only between their start and finish (scaffold, shoring, hoarding). An
  element linked to several activities of one kind spans the earliest start to the latest finish of
  them. An element with both construct and demolish activities is built, stands, then is removed.
  A temporary link wins over the other kinds for that element.
* Actual dates, where known, replace the planned/forecast ones (``actual_start`` / ``actual_finish``).
* An element is ``LATE`` on a date when its current phase is behind the baseline: not started
  although the baseline start has passed, or in progress although the baseline finish has passed.
  Without a baseline nothing is late.

The vectorised :class:`StateTimeline` precomputes per-element phase times once, so that asking for
the state of 10,000 elements on another date is a few numpy comparisons (the slider in the app).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from twin.errors import InputError
from twin.schedule import Activity, ActivityType, Schedule

__all__ = [
    "WorkKind",
    "Status",
    "TaskWindow",
    "ElementState",
    "StateVector",
    "StateTimeline",
    "classify_work_kind",
    "task_windows",
    "build_timeline",
    "get_element_states",
    "get_active_tasks",
    "element_values_from_activities",
    "to_minutes",
]

_EPOCH = datetime(1970, 1, 1)


class WorkKind(str, Enum):
    """What an activity does to the elements linked to it (SYNCHRO's task types)."""

    CONSTRUCT = "construct"
    DEMOLISH = "demolish"
    TEMPORARY = "temporary"


class Status(str, Enum):
    """State of an element on a date. ``UNLINKED``: no activity is linked to the element."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    LATE = "late"
    UNLINKED = "unlinked"


KINDS: tuple[WorkKind, ...] = tuple(WorkKind)
STATUSES: tuple[Status, ...] = tuple(Status)
_KIND_CODE = {k: i for i, k in enumerate(KINDS)}
_NS, _IP, _CO, _LA, _UN = range(5)
_C, _D, _T = range(3)


def to_minutes(when: datetime) -> float:
    """Minutes since 1970-01-01 of a naive local date-time (no time zone arithmetic)."""
    return (when - _EPOCH) / timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class TaskWindow:
    """The dates of one activity as the 4D view needs them.

    ``start``/``finish`` are the current (planned or forecast, e.g. CPM early) dates; ``baseline_*``
    the target the project is measured against; ``actual_*`` what happened, when known.
    """

    activity_id: str
    start: datetime
    finish: datetime
    kind: WorkKind = WorkKind.CONSTRUCT
    name: str = ""
    baseline_start: datetime | None = None
    baseline_finish: datetime | None = None
    actual_start: datetime | None = None
    actual_finish: datetime | None = None

    def __post_init__(self) -> None:
        if self.finish < self.start:
            raise InputError(
                f"activity '{self.activity_id}': finish {self.finish:%Y-%m-%d %H:%M} is before "
                f"start {self.start:%Y-%m-%d %H:%M}"
            )
        if not isinstance(self.kind, WorkKind):
            object.__setattr__(self, "kind", WorkKind(self.kind))

    @property
    def effective_start(self) -> datetime:
        """Actual start when known, else the current start."""
        return self.actual_start or self.start

    @property
    def effective_finish(self) -> datetime:
        """Actual finish when known, else the current finish (never before the effective start)."""
        if self.actual_finish is not None:
            return self.actual_finish
        return max(self.finish, self.effective_start)

    def is_active(self, at: datetime) -> bool:
        """True when the activity is under way at ``at`` (start inclusive, finish exclusive)."""
        return self.effective_start <= at < self.effective_finish


@dataclass(frozen=True, slots=True)
class ElementState:
    """State of one element on a date.

    ``kind`` is the phase the element is in (None when unlinked); ``progress`` is the fraction of
    that phase's window elapsed (0..1); ``activities`` the linked activities under way on the date.
    """

    global_id: str
    status: Status
    kind: WorkKind | None
    progress: float = 0.0
    activities: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class StateVector:
    """States of all elements of a timeline on one date, as arrays aligned with ``element_ids``.

    Parameters
    ----------
    element_ids : tuple of str, length n
    status : ndarray, shape (n,), int8, index into :data:`STATUSES`
    kind : ndarray, shape (n,), int8, index into :data:`KINDS` (-1 for unlinked elements)
    progress : ndarray, shape (n,), float64, 0..1 within the current phase
    at : datetime
    """

    element_ids: tuple[str, ...]
    status: NDArray[np.int8]
    kind: NDArray[np.int8]
    progress: NDArray[np.float64]
    at: datetime

    def count(self) -> dict[str, int]:
        """Number of elements per status, e.g. ``{"complete": 12, ...}`` (every status present)."""
        counts = np.bincount(self.status, minlength=len(STATUSES))
        return {s.value: int(c) for s, c in zip(STATUSES, counts)}

    def to_records(self) -> dict[str, ElementState]:
        """The same states as :class:`ElementState` records (no active-activity lists)."""
        out = {}
        for i, gid in enumerate(self.element_ids):
            k = int(self.kind[i])
            out[gid] = ElementState(gid, STATUSES[int(self.status[i])], KINDS[k] if k >= 0 else None,
                                    float(self.progress[i]))
        return out


@dataclass(frozen=True, slots=True, eq=False)
class StateTimeline:
    """Per-element phase times (minutes since 1970, ``nan`` where a phase does not apply).

    Arrays have shape (n,) aligned with ``element_ids``; ``start``/``finish``/``base_start``/
    ``base_finish`` have shape (3, n), one row per :class:`WorkKind` (construct, demolish, temporary).
    """

    element_ids: tuple[str, ...]
    start: NDArray[np.float64]
    finish: NDArray[np.float64]
    base_start: NDArray[np.float64]
    base_finish: NDArray[np.float64]
    activities: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # element -> activity ids

    def state_at(self, at: datetime, late_after: timedelta = timedelta(0)) -> StateVector:
        """States of every element at ``at`` (vectorised; see the module docstring for the rules).

        ``late_after``: how far behind its baseline an element may be before it counts as late (a
        tolerance for baselines computed on slightly different calendars); default: any delay.
        """
        if late_after < timedelta(0):
            raise InputError(f"late_after must not be negative, got {late_after}")
        t = to_minutes(at)
        tol = late_after / timedelta(minutes=1)
        has = ~np.isnan(self.start)                       # (3, n)
        with np.errstate(invalid="ignore"):
            before = t < self.start                       # nan compares False
            during = (t >= self.start) & (t < self.finish)
        n = len(self.element_ids)
        status = np.full(n, _UN, dtype=np.int8)
        kind = np.full(n, -1, dtype=np.int8)
        phase = np.full(n, -1, dtype=np.int8)             # which row's times apply
        # Evaluate the rules from the lowest priority up, so later assignments win.
        c, d, tmp = has[_C], has[_D], has[_T]
        only_c = c & ~d
        _set(status, kind, phase, only_c, _CO, _C)
        _set(status, kind, phase, d & ~before[_D] & ~during[_D], _CO, _D)
        _set(status, kind, phase, d & during[_D], _IP, _D)
        _set(status, kind, phase, d & before[_D] & ~c, _NS, _D)
        _set(status, kind, phase, d & before[_D] & c, _CO, _C)
        _set(status, kind, phase, c & during[_C], _IP, _C)
        _set(status, kind, phase, c & before[_C], _NS, _C)
        _set(status, kind, phase, tmp & before[_T], _NS, _T)
        _set(status, kind, phase, tmp & during[_T], _IP, _T)
        _set(status, kind, phase, tmp & ~before[_T] & ~during[_T], _CO, _T)

        idx = np.arange(n)
        row = np.clip(phase, 0, 2)
        s, f = self.start[row, idx], self.finish[row, idx]
        span = np.where(f > s, f - s, 1.0)
        with np.errstate(invalid="ignore"):
            progress = np.where(status == _IP, np.clip((t - s) / span, 0.0, 1.0), 0.0)
            progress = np.where(status == _CO, 1.0, progress)
            bs, bf = self.base_start[row, idx], self.base_finish[row, idx]
            late = ((status == _NS) & (bs + tol < t)) | ((status == _IP) & (bf + tol < t))
        status[late & (phase >= 0)] = _LA
        return StateVector(self.element_ids, status, kind, np.nan_to_num(progress), at)

    @property
    def span(self) -> tuple[datetime, datetime] | None:
        """Earliest start and latest finish over all linked elements, or None without links."""
        if np.all(np.isnan(self.start)):
            return None
        lo, hi = np.nanmin(self.start), np.nanmax(self.finish)
        return _EPOCH + timedelta(minutes=float(lo)), _EPOCH + timedelta(minutes=float(hi))


def _set(status, kind, phase, mask, st: int, k: int) -> None:
    status[mask] = st
    kind[mask] = k
    phase[mask] = k


_DEMOLISH_TYPES = {"DEMOLITION", "DISMANTLE", "REMOVAL", "DEMOLISH"}
_TEMPORARY_TYPES = {"TEMPORARY", "TEMPORARY_WORKS"}
_DEMOLISH_WORDS = re.compile(r"\b(demoli\w*|dismantl\w*|remov\w*|strip[- ]out|break[- ]out|tear down|"
                             r"knock down|strike)\b", re.I)
_TEMPORARY_WORDS = re.compile(r"\b(temporary|temp\.? works|scaffold\w*|falsework|shoring|propping|"
                              r"hoarding|back[- ]?propp\w*)\b", re.I)


def classify_work_kind(activity: Activity) -> WorkKind:
    """The :class:`WorkKind` of an activity.

    An explicit attribute wins: ``attributes["work_kind"]`` (construct/demolish/temporary) or an
    IFC task ``PredefinedType`` in ``attributes["predefined_type"]`` (DEMOLITION, DISMANTLE,
    REMOVAL -> demolish). Otherwise the name decides: "demolish", "remove", "strip out", "strike" ->
    demolish; "temporary", "scaffold", "falsework", "shoring", "propping", "hoarding" -> temporary;
    anything else is construct.

    Examples
    --------
    >>> classify_work_kind(Activity("A1", "Erect scaffold to east elevation"))
    <WorkKind.TEMPORARY: 'temporary'>
    >>> classify_work_kind(Activity("A2", "Demolish existing boundary wall"))
    <WorkKind.DEMOLISH: 'demolish'>
    """
    attrs = activity.attributes or {}
    explicit = attrs.get("work_kind") or attrs.get("kind")
    if explicit:
        try:
            return WorkKind(str(explicit).strip().lower())
        except ValueError:
            raise InputError(f"activity '{activity.id}': work_kind must be construct, demolish or "
                             f"temporary, got '{explicit}'") from None
    ptype = str(attrs.get("predefined_type") or attrs.get("PredefinedType") or "").upper()
    if ptype in _DEMOLISH_TYPES:
        return WorkKind.DEMOLISH
    if ptype in _TEMPORARY_TYPES:
        return WorkKind.TEMPORARY
    name = activity.name or ""
    if _TEMPORARY_WORDS.search(name):
        return WorkKind.TEMPORARY
    if _DEMOLISH_WORDS.search(name):
        return WorkKind.DEMOLISH
    return WorkKind.CONSTRUCT


def _pair(value: Any) -> tuple[datetime | None, datetime | None]:
    """(start, finish) from a CPM dates record (early_start/early_finish) or a 2-tuple."""
    if value is None:
        return None, None
    if isinstance(value, (tuple, list)):
        return value[0], value[1]
    return getattr(value, "early_start", None), getattr(value, "early_finish", None)


def task_windows(
    schedule: Schedule,
    dates: Mapping[str, Any] | None = None,
    *,
    baseline: Mapping[str, Any] | None = None,
) -> dict[str, TaskWindow]:
    """One :class:`TaskWindow` per dated activity of a schedule.

    Parameters
    ----------
    schedule : Schedule
    dates : mapping activity id -> CPM dates (an object with ``early_start``/``early_finish``, e.g.
        ``CpmResult.dates``) or a ``(start, finish)`` tuple; default: the activities' own
        ``planned_start``/``planned_finish`` as read from the file.
    baseline : mapping activity id -> (start, finish) or CPM dates of the baseline; default: when
        ``dates`` is given, the file's planned dates serve as baseline; otherwise no baseline.

    Returns
    -------
    dict activity id -> TaskWindow, in schedule order. WBS summaries and activities without any
    date (neither computed, planned nor actual) are left out.
    """
    out: dict[str, TaskWindow] = {}
    for aid, act in schedule.activities.items():
        if act.type == ActivityType.WBS_SUMMARY:
            continue
        start, finish = _pair(dates.get(aid)) if dates is not None else (None, None)
        if start is None:
            start, finish = act.planned_start, act.planned_finish
        start = start or act.actual_start
        finish = finish or act.actual_finish or start
        if start is None:
            continue
        if baseline is not None:
            b_start, b_finish = _pair(baseline.get(aid))
        elif dates is not None:
            b_start, b_finish = act.planned_start, act.planned_finish
        else:
            b_start = b_finish = None
        out[aid] = TaskWindow(aid, start, max(finish, start), classify_work_kind(act), act.name,
                              b_start, b_finish, act.actual_start, act.actual_finish)
    return out


def build_timeline(
    windows: Mapping[str, TaskWindow],
    links: Iterable[tuple[str, str]],
    element_ids: Sequence[str],
) -> StateTimeline:
    """Precompute per-element phase times from activity windows and links.

    Parameters
    ----------
    windows : mapping activity id -> TaskWindow
    links : iterable of (activity id, element GlobalId)
    element_ids : the elements to track, in the order the arrays (and the scene) use

    Raises
    ------
    InputError
        A link names an activity that has no window (unknown id, or no dates).

    Links to elements outside ``element_ids`` are ignored (e.g. elements without geometry).
    """
    ids = tuple(element_ids)
    index = {gid: i for i, gid in enumerate(ids)}
    n = len(ids)
    start = np.full((3, n), np.nan)
    finish = np.full((3, n), np.nan)
    b_start = np.full((3, n), np.nan)
    b_finish = np.full((3, n), np.nan)
    per_element: dict[str, list[str]] = {}
    for aid, gid in links:
        win = windows.get(aid)
        if win is None:
            raise InputError(f"link '{aid}' -> '{gid}': activity '{aid}' is not in the schedule "
                             f"or has no dates")
        i = index.get(gid)
        if i is None:
            continue
        k = _KIND_CODE[win.kind]
        s, f = to_minutes(win.effective_start), to_minutes(win.effective_finish)
        start[k, i] = np.fmin(start[k, i], s)
        finish[k, i] = np.fmax(finish[k, i], f)
        if win.baseline_start is not None:
            b_start[k, i] = np.fmin(b_start[k, i], to_minutes(win.baseline_start))
        if win.baseline_finish is not None:
            b_finish[k, i] = np.fmax(b_finish[k, i], to_minutes(win.baseline_finish))
        per_element.setdefault(gid, []).append(aid)
    acts = {g: tuple(dict.fromkeys(a)) for g, a in per_element.items()}
    return StateTimeline(ids, start, finish, b_start, b_finish, acts)


def get_element_states(
    windows: Mapping[str, TaskWindow],
    links: Iterable[tuple[str, str]],
    at: datetime,
    element_ids: Sequence[str] | None = None,
) -> dict[str, ElementState]:
    """State of each element at ``at``, as records with the activities under way on that date.

    ``element_ids`` defaults to every linked element. Same rules as :meth:`StateTimeline.state_at`.

    Examples
    --------
    Let's imagine a slab poured in the first week and a wall built on it in the second:

    >>> from datetime import datetime as dt
    >>> w = {"S": TaskWindow("S", dt(2025, 3, 3), dt(2025, 3, 7)),
    ...      "W": TaskWindow("W", dt(2025, 3, 10), dt(2025, 3, 14))}
    >>> states = get_element_states(w, [("S", "slab"), ("W", "wall")], dt(2025, 3, 11))
    >>> states["slab"].status.value, states["wall"].status.value, states["wall"].activities
    ('complete', 'in_progress', ('W',))
    """
    links = list(links)
    if element_ids is None:
        element_ids = list(dict.fromkeys(g for _, g in links))
    timeline = build_timeline(windows, links, element_ids)
    records = timeline.state_at(at).to_records()
    out = {}
    for gid, rec in records.items():
        active = tuple(a for a in timeline.activities.get(gid, ()) if windows[a].is_active(at))
        out[gid] = ElementState(rec.global_id, rec.status, rec.kind, rec.progress, active)
    return out


def get_active_tasks(windows: Mapping[str, TaskWindow], at: datetime) -> list[TaskWindow]:
    """Activities under way at ``at``, by start then id."""
    active = [w for w in windows.values() if w.is_active(at)]
    return sorted(active, key=lambda w: (w.effective_start, w.activity_id))


def element_values_from_activities(
    links: Iterable[tuple[str, str]],
    activity_values: Mapping[str, float],
    element_ids: Sequence[str],
    *,
    reduce: str = "max",
) -> NDArray[np.float64]:
    """Per-element value from per-activity values (criticality index, probability complete...).

    Parameters
    ----------
    links : (activity id, element GlobalId) pairs
    activity_values : activity id -> value (activities without a value are skipped)
    element_ids : order of the result
    reduce : "max" (e.g. criticality: the most critical linked activity) or "min" (e.g. probability
        complete: an element is done only when all its activities are)

    Returns
    -------
    ndarray, shape (n,), float64; ``nan`` for elements with no valued activity.
    """
    if reduce not in ("max", "min"):
        raise InputError(f"reduce must be 'max' or 'min', got '{reduce}'")
    op = np.fmax if reduce == "max" else np.fmin
    index = {g: i for i, g in enumerate(element_ids)}
    out = np.full(len(index), np.nan)
    for aid, gid in links:
        i = index.get(gid)
        if i is None or aid not in activity_values:
            continue
        out[i] = op(out[i], float(activity_values[aid]))
    return out

