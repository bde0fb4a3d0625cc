"""Status at a data date: planned vs actual percent, earned value, SPI, traffic lights, productivity.

Pure functions of schedule records (a progressed :class:`twin.schedule.Schedule`, the baseline
dates it is measured against, and the CPM of the progressed schedule for criticality).

Earned value in working hours (the budget of an activity is its planned working hours: the baseline
window on its calendar, which is the planned duration when the baseline is the plan's CPM; an
activity without a baseline has no budget and cannot be behind):

* planned percent ``pp`` at the data date: the share of the baseline window's working time (on the
  activity's calendar) elapsed by the data date; a milestone is 0 % before its baseline date, 100 %
  from it;
* actual percent ``ap``: 100 when finished, the reported percent when started, else 0;
* PV = budget x pp, EV = budget x ap, SV = EV - PV (hours; days = hours / the calendar's hours per
  day), SPI = EV / PV (None while PV is 0);
* behind = (pp - ap) / 100, a share of the planned duration.

Traffic lights (``tolerance`` 5 % by default): **green** when not behind; **yellow** when behind by
more than 0 and at most ``tolerance`` of the planned duration; **red** beyond that, or when a
critical activity (total float <= the schedule's critical threshold in the progressed CPM) is
behind at all. A milestone whose baseline date has passed unfinished is behind by 100 %. Groups
(storey, zone, trade, project) sum PV and EV over their activities and take red when any critical
member is late.

Productivity per trade (:func:`estimate_productivity`), a shrinkage (empirical-Bayes normal) estimate
on the log scale. Each started activity gives an observed factor r = working hours spent / planned
hours earned (finished: actual start to actual finish over ``duration_h``, weight 1; in progress:
actual start to data date over ``duration_h`` x percent, weight percent / 100), y = ln r (clipped to
ln 0.2 .. ln 5). With n_t the weight of trade t's observations, ybar_t their weighted mean, N and
ybar over all trades and ``k`` the prior strength (in finished-activity equivalents, default 2):

    m       = N ybar / (N + k)                  (project level, shrunk towards the plan: ln 1 = 0)
    theta_t = (n_t ybar_t + k m) / (n_t + k)    (trade level, shrunk towards the project level)
    factor_t = exp(theta_t)

A trade with few observations moves little from the project figure, which moves little from the plan
until enough work is done. Work of a trade with no observation takes exp(m).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping

from twin.errors import InputError
from twin.schedule import Activity, ActivityType, Schedule

__all__ = ["LIGHTS", "ActivityStatus", "GroupStatus", "StatusReport", "Productivity", "planned_percent",
           "compute_status", "estimate_productivity", "duration_factors", "worst_light", "element_lights",
           "earned_curve"]

LIGHTS = ("green", "yellow", "red")
_EPS = 1e-6
_SKIP = (ActivityType.WBS_SUMMARY, ActivityType.LEVEL_OF_EFFORT)


@dataclass(frozen=True, slots=True)
class ActivityStatus:
    """One activity at the data date (hours are working hours; see the module docstring)."""

    activity_id: str
    name: str
    planned_percent: float
    actual_percent: float
    budget_h: float
    pv_h: float
    ev_h: float
    sv_h: float
    sv_days: float
    spi: float | None
    behind: float
    critical: bool
    light: str
    trade: str = ""
    storey: str = ""
    zone: str = ""
    baseline_start: datetime | None = None
    baseline_finish: datetime | None = None
    forecast_finish: datetime | None = None
    finish_slip_days: float = 0.0   # forecast (progressed CPM) finish - baseline finish, working days

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(frozen=True, slots=True)
class GroupStatus:
    """Status summed over a group of activities (a storey, a zone, a trade, the project)."""

    kind: str
    key: str
    activities: int
    planned_percent: float
    actual_percent: float
    pv_h: float
    ev_h: float
    sv_h: float
    spi: float | None
    light: str
    counts: Mapping[str, int] = field(default_factory=dict)   # light -> activities

    def to_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, Mapping) else v) for k in self.__slots__ for v in [getattr(self, k)]}


@dataclass(frozen=True, slots=True, eq=False)
class StatusReport:
    """Status of every activity and of each group, at ``data_date``."""

    data_date: datetime
    tolerance: float
    activities: Mapping[str, ActivityStatus]
    project: GroupStatus
    groups: Mapping[str, Mapping[str, GroupStatus]]   # kind ("storey", "zone", "trade") -> key -> status

    @property
    def lights(self) -> dict[str, str]:
        return {aid: s.light for aid, s in self.activities.items()}

    def slipping(self, top: int = 10) -> list[ActivityStatus]:
        """The activities most behind, red first: by light, then by hours behind (PV - EV)."""
        rank = {"red": 0, "yellow": 1, "green": 2}
        late = [s for s in self.activities.values() if s.light != "green"]
        return sorted(late, key=lambda s: (rank[s.light], s.sv_h, -s.finish_slip_days))[:top]


@dataclass(frozen=True, slots=True)
class Productivity:
    """A trade's observed and estimated duration factor (1.2 = work takes 20 % longer than planned)."""

    trade: str
    observations: float
    observed: float | None       # exp(weighted mean log factor), None without observations
    factor: float                # the shrinkage estimate applied to work not started
    activities: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def worst_light(lights: Iterable[str]) -> str:
    """The worst of some lights (red > yellow > green); green for none."""
    ls = set(lights)
    return "red" if "red" in ls else "yellow" if "yellow" in ls else "green"


def _light(behind: float, critical: bool, tolerance: float) -> str:
    if behind <= _EPS:
        return "green"
    if critical or behind > tolerance + _EPS:
        return "red"
    return "yellow"


def planned_percent(activity: Activity, start: datetime | None, finish: datetime | None, data_date: datetime,
                    calendar=None) -> float:
    """Share (0..100) of the baseline window's working time elapsed at ``data_date``.

    ``calendar``: a :class:`twin.worktime.WorkCalendar` of the activity (None: clock time).
    """
    if start is None or finish is None:
        return 0.0
    if activity.type.is_milestone or finish <= start:
        return 100.0 if data_date >= finish else 0.0
    if data_date <= start:
        return 0.0
    if data_date >= finish:
        return 100.0
    if calendar is not None:
        total = calendar.working_between(start, finish)
        done = calendar.working_between(start, data_date)
    else:
        total, done = (finish - start).total_seconds(), (data_date - start).total_seconds()
    return 100.0 * min(max(done / total, 0.0), 1.0) if total > 0 else 0.0


def _budget(a: Activity, start: datetime | None, finish: datetime | None, calendar) -> float:
    """Planned working hours: the baseline window on the activity's calendar (0 without a baseline)."""
    if a.type.is_milestone or start is None or finish is None:
        return 0.0
    if calendar is not None and finish > start:
        hours = calendar.working_between(start, finish) / 60.0
        if hours > 0:
            return hours
    return max(a.duration_h, 0.0)


def _actual_percent(a: Activity) -> float:
    if a.actual_finish is not None:
        return 100.0
    if a.actual_start is None:
        return 0.0
    return float(min(max(a.percent_complete, 0.0), 100.0))


def compute_status(schedule: Schedule, baseline: Mapping[str, tuple[datetime, datetime]], data_date: datetime,
                   *, cpm: Any = None, tolerance: float = 0.05,
                   element_storeys: Mapping[str, str] | None = None) -> StatusReport:
    """Status of every activity of a progressed schedule against baseline dates.

    Parameters
    ----------
    schedule : the schedule with progress (``twin.progress.apply_progress``)
    baseline : activity id -> (start, finish), e.g. the CPM early dates of the unprogressed schedule
    data_date : progress is measured up to here
    cpm : CpmResult of the progressed schedule (criticality, forecast finishes); None: none critical
    tolerance : the yellow band, a share of the planned duration (0.05 = 5 %)
    element_storeys : activity id -> storey, for activities without a ``storey`` attribute

    Raises
    ------
    InputError
        ``tolerance`` outside [0, 1].
    """
    if not 0.0 <= tolerance <= 1.0:
        raise InputError(f"tolerance must be within 0..1 (a share of the planned duration), got {tolerance}")
    from twin.worktime import compile_calendars

    cals = compile_calendars(dict(schedule.calendars))
    out: dict[str, ActivityStatus] = {}
    for aid, a in schedule.activities.items():
        if a.type in _SKIP:
            continue
        cal_id = a.calendar or schedule.default_calendar
        wcal = cals.get(cal_id)
        hpd = schedule.calendars[cal_id].hours_per_day if cal_id in schedule.calendars else 8.0
        b_start, b_finish = baseline.get(aid, (None, None))
        pp = planned_percent(a, b_start, b_finish, data_date, wcal)
        ap = _actual_percent(a)
        budget = _budget(a, b_start, b_finish, wcal)
        pv, ev = budget * pp / 100.0, budget * ap / 100.0
        behind = max(0.0, (pp - ap) / 100.0)
        d = cpm.dates.get(aid) if cpm is not None else None
        critical = bool(getattr(d, "critical", False)) and a.actual_finish is None
        fin = a.actual_finish or (getattr(d, "early_finish", None) if d is not None else None)
        slip = 0.0
        if fin is not None and b_finish is not None:
            slip = (wcal.working_between(b_finish, fin) / 60.0 / hpd) if wcal is not None else \
                (fin - b_finish).total_seconds() / 86400.0
        attrs = a.attributes
        storey = str(attrs.get("storey") or (element_storeys or {}).get(aid) or "")
        out[aid] = ActivityStatus(
            aid, a.name, pp, ap, budget, pv, ev, ev - pv, (ev - pv) / hpd, ev / pv if pv > _EPS else None, behind,
            critical, _light(behind, critical, tolerance), str(attrs.get("trade") or ""), storey,
            str(attrs.get("zone") or ""), b_start, b_finish, fin, slip)
    groups: dict[str, dict[str, GroupStatus]] = {}
    for kind in ("storey", "zone", "trade"):
        members: dict[str, list[ActivityStatus]] = {}
        for s in out.values():
            key = getattr(s, kind)
            if key:
                members.setdefault(key, []).append(s)
        groups[kind] = {k: _group(kind, k, v, tolerance) for k, v in members.items()}
    return StatusReport(data_date, tolerance, out, _group("project", schedule.name or "project", list(out.values()),
                                                          tolerance), groups)


def _group(kind: str, key: str, members: list[ActivityStatus], tolerance: float) -> GroupStatus:
    budget = sum(s.budget_h for s in members)
    pv = sum(s.pv_h for s in members)
    ev = sum(s.ev_h for s in members)
    counts = Counter(s.light for s in members)
    if budget > _EPS:
        behind = max(0.0, (pv - ev) / budget)
        pp, ap = 100.0 * pv / budget, 100.0 * ev / budget
    else:  # milestones only
        behind = max((s.behind for s in members), default=0.0)
        pp = sum(s.planned_percent for s in members) / max(len(members), 1)
        ap = sum(s.actual_percent for s in members) / max(len(members), 1)
    critical_late = any(s.critical and s.behind > _EPS for s in members)
    light = _light(behind, critical_late, tolerance)
    return GroupStatus(kind, key, len(members), pp, ap, pv, ev, ev - pv, ev / pv if pv > _EPS else None, light,
                       {k: counts.get(k, 0) for k in LIGHTS})


# -------------------------------------------------------------------------------------- productivity

_CLIP = math.log(5.0)


def _observations(schedule: Schedule, data_date: datetime, trade_key: str):
    from twin.worktime import compile_calendars

    cals = compile_calendars(dict(schedule.calendars))
    for aid, a in schedule.activities.items():
        if a.type in _SKIP or a.type.is_milestone or a.duration_h <= 0 or a.actual_start is None:
            continue
        wcal = cals.get(a.calendar or schedule.default_calendar)
        if a.actual_finish is not None:
            spent, earned, weight = wcal.working_between(a.actual_start, a.actual_finish) / 60.0, a.duration_h, 1.0
        else:
            pc = min(max(a.percent_complete, 0.0), 100.0)
            if pc <= 0:
                continue
            spent = wcal.working_between(a.actual_start, data_date) / 60.0
            earned, weight = a.duration_h * pc / 100.0, pc / 100.0
        if spent <= 0 or earned <= 0:
            continue
        y = min(max(math.log(spent / earned), -_CLIP), _CLIP)
        yield aid, str(a.attributes.get(trade_key) or ""), y, weight


def estimate_productivity(schedule: Schedule, data_date: datetime, *, prior_strength: float = 2.0,
                          trade_key: str = "trade") -> dict[str, Productivity]:
    """Duration factor per trade from the work done so far (module docstring); key ``"*"``: the project.

    Activities without a trade attribute count towards the project figure only.

    Raises
    ------
    InputError
        ``prior_strength`` negative.
    """
    if prior_strength < 0:
        raise InputError(f"prior strength must be >= 0, got {prior_strength}")
    by_trade: dict[str, list[tuple[str, float, float]]] = {}
    every: list[tuple[str, float, float]] = []
    for aid, trade, y, w in _observations(schedule, data_date, trade_key):
        every.append((aid, y, w))
        if trade:
            by_trade.setdefault(trade, []).append((aid, y, w))
    n_all = sum(w for _, _, w in every)
    ybar_all = sum(w * y for _, y, w in every) / n_all if n_all > 0 else 0.0
    m = n_all * ybar_all / (n_all + prior_strength) if n_all + prior_strength > 0 else 0.0
    out = {"*": Productivity("*", n_all, math.exp(ybar_all) if n_all > 0 else None, math.exp(m),
                             tuple(a for a, _, _ in every))}
    trades = {str(a.attributes.get(trade_key)) for a in schedule.activities.values() if a.attributes.get(trade_key)}
    for trade in sorted(trades):
        obs = by_trade.get(trade, [])
        n = sum(w for _, _, w in obs)
        ybar = sum(w * y for _, y, w in obs) / n if n > 0 else 0.0
        theta = (n * ybar + prior_strength * m) / (n + prior_strength) if n + prior_strength > 0 else m
        out[trade] = Productivity(trade, n, math.exp(ybar) if n > 0 else None, math.exp(theta),
                                  tuple(a for a, _, _ in obs))
    return out


def duration_factors(schedule: Schedule, estimates: Mapping[str, Productivity], *,
                     trade_key: str = "trade") -> dict[str, float]:
    """Factor for each not-started activity with a duration: its trade's estimate, else the project's."""
    project = estimates["*"].factor if "*" in estimates else 1.0
    out = {}
    for aid, a in schedule.activities.items():
        if a.actual_start is not None or a.type in _SKIP or a.type.is_milestone or a.duration_h <= 0:
            continue
        trade = str(a.attributes.get(trade_key) or "")
        out[aid] = estimates[trade].factor if trade in estimates else project
    return out


# ------------------------------------------------------------------------------- views of the status

def element_lights(status: StatusReport, links: Iterable[tuple[str, str]], *, active_only: bool = True) -> dict[str, str]:
    """GlobalId -> the worst light of its activities (for the 3D status view).

    ``active_only``: only activities that should have started or have started (planned or actual
    percent above 0), so that work not yet due is not painted green.
    """
    rank = {"green": 0, "yellow": 1, "red": 2}
    out: dict[str, str] = {}
    for aid, g in links:
        s = status.activities.get(aid)
        if s is None or (active_only and s.planned_percent <= 0 and s.actual_percent <= 0):
            continue
        if g not in out or rank[s.light] > rank[out[g]]:
            out[g] = s.light
    return out


def earned_curve(schedule: Schedule, times: Iterable[datetime], data_date: datetime) -> list[float]:
    """As-built S-curve: earned percent of the total budget at each time up to the data date.

    Finished work is earned linearly from actual start to actual finish; work in progress linearly
    from its actual start to the data date, up to its reported percent. Budgets are planned durations
    (milestones, summaries and level of effort weigh nothing). Times after the data date are left out.
    """
    acts = [a for a in schedule.activities.values()
            if a.type not in _SKIP and not a.type.is_milestone and a.duration_h > 0]
    total = sum(a.duration_h for a in acts)
    out = []
    for t in times:
        if t > data_date:
            break
        earned = 0.0
        for a in acts:
            if a.actual_start is None or t <= a.actual_start:
                continue
            end = a.actual_finish or data_date
            share = 1.0 if a.actual_finish is not None else min(max(a.percent_complete, 0.0), 100.0) / 100.0
            span = (end - a.actual_start).total_seconds()
            frac = 1.0 if span <= 0 else min((t - a.actual_start).total_seconds() / span, 1.0)
            earned += a.duration_h * share * frac
        out.append(100.0 * earned / total if total > 0 else 0.0)
    return out
