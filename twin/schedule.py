"""Schedule records: calendars, activities, relationships, constraints, resources, progress.

Importers (``twin.importers``) produce a :class:`Schedule`; the CPM (``twin.cpm``), the simulator and
the views only read it. Conventions, used everywhere in twin:

* date-times are timezone-naive local ``datetime`` objects, as planners use them;
* durations and lags are **working hours** on a calendar (float); the CPM works in whole minutes;
* ids (``Activity.id``) are what the planner sees: the P6 activity ID, the MS Project task ID, the
  CSV ``id``; the file's internal key, where different, is ``Activity.uid``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any, Mapping

__all__ = [
    "ActivityType",
    "RelationType",
    "ConstraintType",
    "Interval",
    "Calendar",
    "Constraint",
    "ThreePoint",
    "Activity",
    "Relationship",
    "Resource",
    "Assignment",
    "ScheduleOptions",
    "Schedule",
    "STANDARD_WEEK",
]


class ActivityType(str, Enum):
    TASK = "task"
    RESOURCE_DEPENDENT = "resource_dependent"
    START_MILESTONE = "start_milestone"
    FINISH_MILESTONE = "finish_milestone"
    LEVEL_OF_EFFORT = "level_of_effort"
    WBS_SUMMARY = "wbs_summary"

    @property
    def is_milestone(self) -> bool:
        return self in (ActivityType.START_MILESTONE, ActivityType.FINISH_MILESTONE)


class RelationType(str, Enum):
    FS = "FS"
    SS = "SS"
    FF = "FF"
    SF = "SF"


class ConstraintType(str, Enum):
    """P6's constraint types (MS Project's map onto them; see the importers)."""

    START_ON = "start_on"
    START_ON_OR_AFTER = "start_on_or_after"
    START_ON_OR_BEFORE = "start_on_or_before"
    FINISH_ON = "finish_on"
    FINISH_ON_OR_AFTER = "finish_on_or_after"
    FINISH_ON_OR_BEFORE = "finish_on_or_before"
    MANDATORY_START = "mandatory_start"
    MANDATORY_FINISH = "mandatory_finish"
    AS_LATE_AS_POSSIBLE = "as_late_as_possible"


Interval = tuple[int, int]
"""Working interval within a day, in minutes from midnight: (start, end), end exclusive, end <= 1440."""

STANDARD_WEEK: tuple[tuple[Interval, ...], ...] = (
    ((480, 720), (780, 1020)),  # Monday 08:00-12:00, 13:00-17:00
    ((480, 720), (780, 1020)),
    ((480, 720), (780, 1020)),
    ((480, 720), (780, 1020)),
    ((480, 720), (780, 1020)),  # Friday
    (),                          # Saturday
    (),                          # Sunday
)
"""The default calendar: Monday to Friday, 8 working hours a day."""


@dataclass(frozen=True, slots=True)
class Calendar:
    """A working calendar.

    ``week`` holds seven tuples of working intervals, Monday first. ``exceptions`` overrides single
    dates: an empty tuple is a holiday, a non-empty one replaces that day's hours.
    ``hours_per_day`` converts "days" to working hours for the activities on this calendar.
    """

    id: str
    name: str = ""
    week: tuple[tuple[Interval, ...], ...] = STANDARD_WEEK
    exceptions: Mapping[date, tuple[Interval, ...]] = field(default_factory=dict)
    hours_per_day: float = 8.0

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise ValueError(f"calendar '{self.id}': week must have 7 days, got {len(self.week)}")
        for day in [*self.week, *self.exceptions.values()]:
            for s, e in day:
                if not (0 <= s < e <= 1440):
                    raise ValueError(f"calendar '{self.id}': bad working interval ({s}, {e}) minutes")
        if self.hours_per_day <= 0:
            raise ValueError(f"calendar '{self.id}': hours_per_day must be > 0, got {self.hours_per_day}")


@dataclass(frozen=True, slots=True)
class Constraint:
    type: ConstraintType
    date: datetime | None = None  # None only for AS_LATE_AS_POSSIBLE


@dataclass(frozen=True, slots=True)
class ThreePoint:
    """Three-point duration estimate in working hours."""

    optimistic: float
    most_likely: float
    pessimistic: float


@dataclass(frozen=True, slots=True, eq=False)
class Activity:
    """One schedule activity.

    ``duration_h`` is the original (planned) duration, ``remaining_h`` the remaining one (None means
    equal to ``duration_h`` for not-started work). ``reference`` carries dates another tool computed
    and stored in the file (e.g. P6's ``early_start``), used for validation only.
    """

    id: str
    name: str = ""
    duration_h: float = 0.0
    type: ActivityType = ActivityType.TASK
    calendar: str | None = None          # Calendar.id; None: the schedule's default
    wbs: tuple[str, ...] = ()
    uid: str | None = None
    constraints: tuple[Constraint, ...] = ()
    three_point: ThreePoint | None = None
    actual_start: datetime | None = None
    actual_finish: datetime | None = None
    percent_complete: float = 0.0        # 0..100
    remaining_h: float | None = None
    planned_start: datetime | None = None
    planned_finish: datetime | None = None
    expected_finish: datetime | None = None  # P6 expect_end_date (used when the options say so)
    reference: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, Any] = field(default_factory=dict)  # trade, zone, storey, codes, ...

    @property
    def is_complete(self) -> bool:
        return self.actual_finish is not None

    @property
    def is_started(self) -> bool:
        return self.actual_start is not None


@dataclass(frozen=True, slots=True)
class Relationship:
    """Logic link ``pred -> succ`` of ``type`` with ``lag_h`` working hours (negative: lead)."""

    pred: str
    succ: str
    type: RelationType = RelationType.FS
    lag_h: float = 0.0


@dataclass(frozen=True, slots=True)
class Resource:
    id: str
    name: str = ""
    kind: str = "labor"          # labor, equipment (crane, hoist), material
    units: float = 1.0           # available units (crew count, number of cranes)
    calendar: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Assignment:
    activity: str
    resource: str
    units: float = 1.0
    hours: float | None = None


@dataclass(frozen=True, slots=True)
class ScheduleOptions:
    """Scheduling options, as P6's SCHEDOPTIONS table names them.

    ``lag_calendar``: 'predecessor', 'successor', '24h' or 'project' (the default calendar).
    ``progress``: 'retained_logic', 'progress_override' or 'actual_dates'.
    ``critical``: 'total_float' (float <= ``critical_float_h``) or 'longest_path'.
    """

    lag_calendar: str = "predecessor"
    progress: str = "retained_logic"
    critical: str = "total_float"
    critical_float_h: float = 0.0
    near_critical_float_h: float = 80.0
    total_float: str = "finish"          # 'start', 'finish' or 'smallest' (P6 option)
    open_ends_critical: bool = False
    use_expected_finish: bool = False    # P6 sched_use_expect_end_flag: see Activity.expected_finish


@dataclass(frozen=True, slots=True, eq=False)
class Schedule:
    """A project schedule: activities in file order, relationships, calendars and options."""

    activities: Mapping[str, Activity]
    relationships: tuple[Relationship, ...] = ()
    calendars: Mapping[str, Calendar] = field(default_factory=dict)
    default_calendar: str = "standard"
    start: datetime | None = None         # planned project start
    data_date: datetime | None = None     # progress is measured up to here
    finish_constraint: datetime | None = None
    options: ScheduleOptions = field(default_factory=ScheduleOptions)
    resources: Mapping[str, Resource] = field(default_factory=dict)
    assignments: tuple[Assignment, ...] = ()
    element_links: tuple[tuple[str, str], ...] = ()   # (activity id, element GlobalId) from the file
    name: str = ""
    source: str = ""                      # path of the file it came from
    warnings: tuple[str, ...] = ()

    def get_activity(self, activity_id: str) -> Activity:
        try:
            return self.activities[activity_id]
        except KeyError:
            raise KeyError(f"no activity '{activity_id}'") from None

    def get_calendar(self, activity: Activity) -> Calendar:
        """The calendar an activity works on (its own, else the schedule's default)."""
        cid = activity.calendar or self.default_calendar
        try:
            return self.calendars[cid]
        except KeyError:
            raise KeyError(f"activity '{activity.id}' uses unknown calendar '{cid}'") from None
