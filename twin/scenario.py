"""The scenario file (TOML): model, schedule or strategy, links, calendar, resources, weather, uncertainty.

A scenario ties one model to one way of building it. Every later command (simulate, compare, render,
clash, progress) reads it. Paths inside are relative to the scenario file. The loader is strict
about the sections it owns (an unknown key is an error naming it, e.g.
``resources.cranes[1].radius_m: must be > 0, got -3``) and keeps the sections other modules own,
unread, in :attr:`Scenario.other`.

Owned sections: ``project``, ``model``, ``schedule``, ``plan``, ``zones``, ``links``, ``calendar``,
``resources``, ``weather``, ``uncertainty``. Field-by-field reference: ``docs/scenario.md``.

:func:`load_scenario` reads and validates; :func:`dumps_toml` writes the plain-data TOML subset used
here; :func:`starter_scenario` writes the commented starter file of ``twin init``; :func:`resolve`
loads the model and schedule (or generates the plan) and applies the links, reading geometry whenever
the result depends on it (:func:`needs_geometry`), so a scenario resolves to one plan for every caller.
"""
from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from twin.atomic import atomic_write
from twin.errors import InputError, MissingFileError, ScenarioError
from twin.links import LinkRule, rules_from_config
from twin.schedule import STANDARD_WEEK, Calendar
from twin.zones import Zone

__all__ = [
    "OWNED_SECTIONS",
    "DISTRIBUTIONS",
    "PlanSpec",
    "LinksSpec",
    "CalendarSpec",
    "CrewSpec",
    "CraneSpec",
    "HoistSpec",
    "WeatherSpec",
    "RiskSpec",
    "UncertaintySpec",
    "Scenario",
    "load_scenario",
    "scenario_from_dict",
    "dumps_toml",
    "write_text_atomic",
    "starter_scenario",
    "starter_resources",
    "place_crane",
    "lifted_elements",
    "CRANE_CLEARANCE_M",
    "resolve",
    "needs_geometry",
    "ResolvedScenario",
]

OWNED_SECTIONS = ("project", "model", "schedule", "plan", "zones", "links", "calendar", "resources",
                  "weather", "uncertainty")
DISTRIBUTIONS = ("pert", "triangular", "lognormal", "uniform", "none")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class PlanSpec:
    """``[plan]``: generate the schedule from the model (see :func:`twin.plan.generate_plan`)."""

    strategy: str = "storey-by-storey"
    zones: int = 2
    axis: str = "x"
    rates: Path | None = None
    lag_storeys: int = 1


@dataclass(frozen=True, slots=True)
class LinksSpec:
    """``[links]``: how elements link to activities (see :mod:`twin.links`)."""

    mode: str = "first"
    csv: Path | None = None
    use_schedule_links: bool = True
    rules: tuple[LinkRule, ...] = ()


@dataclass(frozen=True, slots=True)
class CalendarSpec:
    """``[calendar]``: the project's working week, daily hours and holidays."""

    work_days: tuple[int, ...] = (0, 1, 2, 3, 4)             # Monday = 0
    hours: tuple[tuple[int, int], ...] = ((480, 720), (780, 1020))   # minutes from midnight
    holidays: tuple[date, ...] = ()

    @property
    def hours_per_day(self) -> float:
        return sum(e - s for s, e in self.hours) / 60.0

    def to_calendar(self) -> Calendar:
        """The :class:`twin.schedule.Calendar` (id ``standard`` when it is the default week)."""
        week = tuple(self.hours if d in self.work_days else () for d in range(7))
        cid = "standard" if week == STANDARD_WEEK and not self.holidays else "project"
        return Calendar(cid, name="Project calendar", week=week, exceptions={d: () for d in self.holidays},
                        hours_per_day=self.hours_per_day)


@dataclass(frozen=True, slots=True)
class CrewSpec:
    """``[[resources.crews]]``: ``count`` crews of ``size`` workers for a trade."""

    trade: str
    count: int = 1
    size: int | None = None


@dataclass(frozen=True, slots=True)
class CraneSpec:
    """``[[resources.cranes]]``: a tower crane at (x, y) m with a reach and a capacity curve.

    ``capacity`` holds (radius m, tonnes) points in increasing radius; ``lift_time_min`` is the mean
    hook time per lift and ``lift_time`` an optional distribution table (minutes).
    """

    name: str
    x: float
    y: float
    radius_m: float
    capacity: tuple[tuple[float, float], ...] = ()
    lift_time_min: float = 15.0
    lift_time: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class HoistSpec:
    """``[[resources.hoists]]``: a material/passenger hoist."""

    name: str
    x: float | None = None
    y: float | None = None
    capacity_kg: float = 2000.0
    trip_time_min: float = 10.0


@dataclass(frozen=True, slots=True)
class WeatherSpec:
    """``[weather]``: climate for the simulator (:class:`twin.sim.weather.WeatherModel`)."""

    enabled: bool = True
    climate: str = "temperate"
    file: Path | None = None
    wet_mm: float = 1.0
    wind_ms: float = 15.0
    p01: tuple[float, ...] | None = None
    p11: tuple[float, ...] | None = None
    p_wind: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class RiskSpec:
    """``[[uncertainty.risks]]``: an event with a probability delaying some activities."""

    name: str
    probability: float
    impact_days: float
    activities: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UncertaintySpec:
    """``[uncertainty]``: default duration spread and Monte Carlo settings."""

    distribution: str = "pert"
    optimistic: float = 0.9
    most_likely: float = 1.0
    pessimistic: float = 1.3
    use_three_point: bool = True
    runs: int = 500
    seed: int = 1
    risks: tuple[RiskSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario. Paths are absolute (resolved against the scenario file's folder)."""

    path: Path | None
    name: str
    start: datetime | None
    model_files: tuple[Path, ...]
    schedule_file: Path | None = None
    plan: PlanSpec | None = None
    zones: tuple[Zone, ...] = ()
    zone_split: tuple[int, str] | None = None      # [zones] count, axis: equal bands of the model's plan
    links: LinksSpec = field(default_factory=LinksSpec)
    calendar: CalendarSpec = field(default_factory=CalendarSpec)
    crews: tuple[CrewSpec, ...] = ()
    cranes: tuple[CraneSpec, ...] = ()
    hoists: tuple[HoistSpec, ...] = ()
    weather: WeatherSpec = field(default_factory=WeatherSpec)
    uncertainty: UncertaintySpec = field(default_factory=UncertaintySpec)
    other: Mapping[str, Any] = field(default_factory=dict)

    def crew_counts(self) -> dict[str, int]:
        """Crews per trade, as :func:`twin.plan.generate_plan` takes them."""
        return {c.trade: c.count for c in self.crews}


# ------------------------------------------------------------------------------------ validation

class _Section:
    """Reads one table, checking keys and types; every error names ``where.key``."""

    def __init__(self, data: Any, where: str, allowed: Sequence[str]) -> None:
        if not isinstance(data, Mapping):
            raise ScenarioError(f"{where}: expected a table, got {type(data).__name__}")
        unknown = [k for k in data if k not in allowed]
        if unknown:
            raise ScenarioError(f"{where}.{unknown[0]}: unknown key (expected one of {', '.join(allowed)})")
        self.data, self.where = data, where

    def has(self, key: str) -> bool:
        return key in self.data

    def name(self, key: str) -> str:
        return f"{self.where}.{key}"

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None, *, required: bool = False) -> Any:
        if key not in self.data:
            if required:
                raise ScenarioError(f"{self.name(key)}: missing")
            return default
        v = self.data[key]
        if kind in (float, int) or kind == (int, float):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or (kind is int and not isinstance(v, int)):
                raise ScenarioError(f"{self.name(key)}: must be {'an integer' if kind is int else 'a number'}, got {v!r}")
            if isinstance(v, float) and not math.isfinite(v):
                raise ScenarioError(f"{self.name(key)}: must be finite, got {v!r}")
            return float(v) if kind is float else v
        if not isinstance(v, kind):
            want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise ScenarioError(f"{self.name(key)}: must be {_article(want)}, got {v!r}")
        return v

    def number(self, key: str, default: float | None = None, *, required: bool = False, gt: float | None = None,
               ge: float | None = None, le: float | None = None) -> float | None:
        v = self.get(key, float, default, required=required)
        if v is None:
            return None
        if gt is not None and not v > gt:
            raise ScenarioError(f"{self.name(key)}: must be > {gt:g}, got {v:g}")
        if ge is not None and not v >= ge:
            raise ScenarioError(f"{self.name(key)}: must be >= {ge:g}, got {v:g}")
        if le is not None and not v <= le:
            raise ScenarioError(f"{self.name(key)}: must be <= {le:g}, got {v:g}")
        return v

    def integer(self, key: str, default: int, *, ge: int | None = None) -> int:
        v = self.get(key, int, default)
        if ge is not None and v < ge:
            raise ScenarioError(f"{self.name(key)}: must be >= {ge}, got {v}")
        return v

    def choice(self, key: str, options: Sequence[str], default: str) -> str:
        v = self.get(key, str, default)
        if v not in options:
            raise ScenarioError(f"{self.name(key)}: must be one of {', '.join(options)}, got '{v}'")
        return v

    def path(self, key: str, base: Path, *, must_exist: bool = True) -> Path | None:
        v = self.get(key, str)
        if v is None:
            return None
        p = (base / v).resolve() if not os.path.isabs(v) else Path(v)
        if must_exist and not p.exists():
            raise ScenarioError(f"{self.name(key)}: file not found: '{v}' (looked for {p})")
        return p

    def table_list(self, key: str) -> list[Any]:
        v = self.get(key, list, [])
        return v


def _article(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _clock(text: Any, where: str) -> int:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", str(text)) if isinstance(text, str) else None
    if not m or int(m.group(1)) > 24 or int(m.group(2)) > 59:
        raise ScenarioError(f"{where}: expected a time 'HH:MM', got {text!r}")
    return int(m.group(1)) * 60 + int(m.group(2))


def _start(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ScenarioError(f"{where}: use a local date-time without a time zone, got {value.isoformat()}")
        return value
    if isinstance(value, date):
        return datetime.combine(value, time(8, 0))
    if isinstance(value, str):
        try:
            return _start(datetime.fromisoformat(value), where)
        except ValueError:
            pass
    raise ScenarioError(f"{where}: expected a date or date-time (2027-03-01 or 2027-03-01T08:00:00), got {value!r}")


def _monthly(sec: _Section, key: str) -> tuple[float, ...] | None:
    v = sec.get(key, list)
    if v is None:
        return None
    if len(v) != 12 or any(isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 <= x <= 1 for x in v):
        raise ScenarioError(f"{sec.name(key)}: needs 12 monthly probabilities in [0, 1], got {v!r}")
    return tuple(float(x) for x in v)


def _project(raw: Mapping[str, Any], path: Path | None) -> tuple[str, datetime | None]:
    sec = _Section(raw.get("project", {}), "project", ("name", "start"))
    default = path.stem if path else "scenario"
    return sec.get("name", str, default), _start(sec.data.get("start"), "project.start")


def _model(raw: Mapping[str, Any], base: Path) -> tuple[Path, ...]:
    sec = _Section(raw.get("model", {}), "model", ("files",))
    files = sec.get("files", list, required=True)
    if not files:
        raise ScenarioError("model.files: needs at least one IFC file")
    out = []
    for i, f in enumerate(files):
        if not isinstance(f, str):
            raise ScenarioError(f"model.files[{i}]: must be a path string, got {f!r}")
        p = (base / f).resolve() if not os.path.isabs(f) else Path(f)
        if not p.is_file():
            raise ScenarioError(f"model.files[{i}]: file not found: '{f}' (looked for {p})")
        out.append(p)
    return tuple(out)


def _plan(raw: Mapping[str, Any], base: Path) -> PlanSpec | None:
    from twin.plan import STRATEGIES

    if "plan" not in raw:
        return None
    sec = _Section(raw["plan"], "plan", ("strategy", "zones", "axis", "rates", "lag_storeys"))
    return PlanSpec(
        strategy=sec.choice("strategy", STRATEGIES, "storey-by-storey"),
        zones=sec.integer("zones", 2, ge=1), axis=sec.choice("axis", ("x", "y"), "x"),
        rates=sec.path("rates", base), lag_storeys=sec.integer("lag_storeys", 1, ge=0),
    )


def _zone_split(raw: Mapping[str, Any]) -> tuple[int, str] | None:
    if "zones" not in raw:
        return None
    sec = _Section(raw["zones"], "zones", ("regions", "count", "axis"))
    if not sec.has("count"):
        if sec.has("axis"):
            raise ScenarioError("zones.axis: only with zones.count (equal bands along the axis)")
        return None
    if sec.has("regions"):
        raise ScenarioError("zones.count and zones.regions are both given: keep one")
    return sec.integer("count", 2, ge=1), sec.choice("axis", ("x", "y"), "x")


def _zones(raw: Mapping[str, Any]) -> tuple[Zone, ...]:
    if "zones" not in raw:
        return ()
    sec = _Section(raw["zones"], "zones", ("regions", "count", "axis"))
    out, seen = [], set()
    for i, item in enumerate(sec.table_list("regions")):
        z = _Section(item, f"zones.regions[{i}]", ("name", "polygon"))
        name = z.get("name", str, required=True)
        poly = z.get("polygon", list, required=True)
        pts = []
        for j, pt in enumerate(poly):
            if (not isinstance(pt, list) or len(pt) != 2
                    or any(isinstance(c, bool) or not isinstance(c, (int, float)) for c in pt)):
                raise ScenarioError(f"zones.regions[{i}].polygon[{j}]: expected [x, y] in metres, got {pt!r}")
            pts.append((float(pt[0]), float(pt[1])))
        if len(pts) < 3:
            raise ScenarioError(f"zones.regions[{i}].polygon: needs at least 3 points, got {len(pts)}")
        if name in seen:
            raise ScenarioError(f"zones.regions[{i}].name: duplicated zone '{name}'")
        seen.add(name)
        out.append(Zone(name, tuple(pts)))
    return tuple(out)


def _links(raw: Mapping[str, Any], base: Path) -> LinksSpec:
    sec = _Section(raw.get("links", {}), "links", ("mode", "csv", "use_schedule_links", "rules"))
    try:
        rules = rules_from_config(sec.table_list("rules"), "links.rules")
    except InputError as exc:
        raise ScenarioError(str(exc)) from None
    return LinksSpec(mode=sec.choice("mode", ("first", "all"), "first"), csv=sec.path("csv", base),
                     use_schedule_links=sec.get("use_schedule_links", bool, True), rules=rules)


def _calendar(raw: Mapping[str, Any]) -> CalendarSpec:
    sec = _Section(raw.get("calendar", {}), "calendar", ("work_days", "hours", "holidays"))
    days = sec.get("work_days", list, ["mon", "tue", "wed", "thu", "fri"])
    idx = []
    for i, d in enumerate(days):
        if not isinstance(d, str) or d.lower()[:3] not in _DAYS:
            raise ScenarioError(f"calendar.work_days[{i}]: expected a day name (mon..sun), got {d!r}")
        idx.append(_DAYS.index(d.lower()[:3]))
    hours = []
    for i, h in enumerate(sec.get("hours", list, [["08:00", "12:00"], ["13:00", "17:00"]])):
        if not isinstance(h, list) or len(h) != 2:
            raise ScenarioError(f"calendar.hours[{i}]: expected [\"HH:MM\", \"HH:MM\"], got {h!r}")
        s, e = _clock(h[0], f"calendar.hours[{i}][0]"), _clock(h[1], f"calendar.hours[{i}][1]")
        if not s < e:
            raise ScenarioError(f"calendar.hours[{i}]: end must be after start, got {h!r}")
        if hours and s < hours[-1][1]:
            raise ScenarioError(f"calendar.hours[{i}]: overlaps or precedes the previous interval")
        hours.append((s, e))
    if not hours:
        raise ScenarioError("calendar.hours: needs at least one working interval")
    hol = []
    for i, d in enumerate(sec.get("holidays", list, [])):
        if isinstance(d, datetime) or not isinstance(d, date):
            raise ScenarioError(f"calendar.holidays[{i}]: expected a date (2027-12-25), got {d!r}")
        hol.append(d)
    return CalendarSpec(tuple(sorted(set(idx))), tuple(hours), tuple(hol))


def _resources(raw: Mapping[str, Any]):
    sec = _Section(raw.get("resources", {}), "resources", ("crews", "cranes", "hoists"))
    crews, cranes, hoists = [], [], []
    for i, item in enumerate(sec.table_list("crews")):
        c = _Section(item, f"resources.crews[{i}]", ("trade", "count", "size"))
        size = c.integer("size", 0, ge=1) if c.has("size") else None
        crews.append(CrewSpec(c.get("trade", str, required=True), c.integer("count", 1, ge=1), size))
    for i, item in enumerate(sec.table_list("cranes")):
        c = _Section(item, f"resources.cranes[{i}]",
                     ("name", "x", "y", "radius_m", "capacity", "lift_time_min", "lift_time"))
        cap = []
        for j, pt in enumerate(c.get("capacity", list, [])):
            if (not isinstance(pt, list) or len(pt) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, float))
                                                                  or v <= 0 for v in pt)):
                raise ScenarioError(f"resources.cranes[{i}].capacity[{j}]: expected [radius_m, tonnes] > 0, got {pt!r}")
            if cap and pt[0] <= cap[-1][0]:
                raise ScenarioError(f"resources.cranes[{i}].capacity[{j}]: radii must increase, got {pt[0]} after {cap[-1][0]}")
            cap.append((float(pt[0]), float(pt[1])))
        lift = c.get("lift_time", dict)
        if lift is not None:
            lt = _Section(lift, f"resources.cranes[{i}].lift_time", ("distribution", "low", "mode", "high", "sd"))
            lt.choice("distribution", DISTRIBUTIONS[:-1], "triangular")
            for k in ("low", "mode", "high", "sd"):
                lt.number(k, ge=0)
        radius = c.number("radius_m", required=True, gt=0)
        cranes.append(CraneSpec(c.get("name", str, f"CRANE-{i + 1}"), c.number("x", required=True),
                                c.number("y", required=True), radius, tuple(cap),
                                c.number("lift_time_min", 15.0, gt=0), dict(lift) if lift else None))
    for i, item in enumerate(sec.table_list("hoists")):
        h = _Section(item, f"resources.hoists[{i}]", ("name", "x", "y", "capacity_kg", "trip_time_min"))
        hoists.append(HoistSpec(h.get("name", str, f"HOIST-{i + 1}"), h.number("x"), h.number("y"),
                                h.number("capacity_kg", 2000.0, gt=0), h.number("trip_time_min", 10.0, gt=0)))
    names = [c.name for c in cranes] + [h.name for h in hoists]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ScenarioError(f"resources: duplicated crane/hoist name '{dup[0]}'")
    return tuple(crews), tuple(cranes), tuple(hoists)


def _weather(raw: Mapping[str, Any], base: Path) -> WeatherSpec:
    sec = _Section(raw.get("weather", {}), "weather",
                   ("enabled", "climate", "file", "wet_mm", "wind_ms", "p01", "p11", "p_wind"))
    return WeatherSpec(
        enabled=sec.get("enabled", bool, True), climate=sec.choice("climate", ("temperate", "none"), "temperate"),
        file=sec.path("file", base), wet_mm=sec.number("wet_mm", 1.0, ge=0), wind_ms=sec.number("wind_ms", 15.0, gt=0),
        p01=_monthly(sec, "p01"), p11=_monthly(sec, "p11"), p_wind=_monthly(sec, "p_wind"),
    )


def _uncertainty(raw: Mapping[str, Any]) -> UncertaintySpec:
    sec = _Section(raw.get("uncertainty", {}), "uncertainty",
                   ("distribution", "optimistic", "most_likely", "pessimistic", "use_three_point", "runs",
                    "seed", "risks"))
    o, m, p = sec.number("optimistic", 0.9, gt=0), sec.number("most_likely", 1.0, gt=0), sec.number("pessimistic", 1.3, gt=0)
    if not o <= m <= p:
        raise ScenarioError(f"uncertainty: need optimistic <= most_likely <= pessimistic, got {o:g}, {m:g}, {p:g}")
    risks = []
    for i, item in enumerate(sec.table_list("risks")):
        r = _Section(item, f"uncertainty.risks[{i}]", ("name", "probability", "impact_days", "activities"))
        acts = r.get("activities", list, [])
        if any(not isinstance(a, str) for a in acts):
            raise ScenarioError(f"uncertainty.risks[{i}].activities: must be a list of activity ids")
        risks.append(RiskSpec(r.get("name", str, f"risk {i + 1}"), r.number("probability", required=True, ge=0, le=1),
                              r.number("impact_days", required=True, ge=0), tuple(acts)))
    return UncertaintySpec(sec.choice("distribution", DISTRIBUTIONS, "pert"), o, m, p,
                           sec.get("use_three_point", bool, True), sec.integer("runs", 500, ge=1),
                           sec.integer("seed", 1, ge=0), tuple(risks))


def scenario_from_dict(raw: Mapping[str, Any], path: Path | None = None) -> Scenario:
    """Validate parsed TOML data (``path`` gives the folder relative paths start from)."""
    base = path.resolve().parent if path else Path.cwd()
    name, start = _project(raw, path)
    model_files = _model(raw, base)
    sched = _Section(raw.get("schedule", {}), "schedule", ("file",))
    schedule_file = sched.path("file", base)
    plan = _plan(raw, base)
    if schedule_file is None and plan is None:
        raise ScenarioError("schedule.file or [plan]: the scenario needs a schedule file or a plan strategy")
    if schedule_file is not None and plan is not None:
        raise ScenarioError("schedule.file and [plan] are both given: keep one (a schedule file, or a strategy)")
    crews, cranes, hoists = _resources(raw)
    return Scenario(
        path=path.resolve() if path else None, name=name, start=start, model_files=model_files,
        schedule_file=schedule_file, plan=plan, zones=_zones(raw), zone_split=_zone_split(raw),
        links=_links(raw, base),
        calendar=_calendar(raw), crews=crews, cranes=cranes, hoists=hoists, weather=_weather(raw, base),
        uncertainty=_uncertainty(raw), other={k: v for k, v in raw.items() if k not in OWNED_SECTIONS},
    )


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate a scenario TOML file.

    Raises
    ------
    MissingFileError : the file does not exist
    ScenarioError : invalid TOML (with line and column) or an invalid field (named, e.g.
        ``resources.cranes[1].radius_m: must be > 0, got -3``); messages start with the file path.
    """
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(p, "scenario file")
    try:
        with open(p, "rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{p}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    try:
        return scenario_from_dict(raw, p)
    except ScenarioError as exc:
        raise ScenarioError(f"{p}: {exc}") from None


# ------------------------------------------------------------------------------------ writing

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE.match(k) else _string(k)


def _string(s: str) -> str:
    out = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{out}"'


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"TOML cannot hold {v}")
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, datetime):
        return v.isoformat(timespec="seconds")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Path):
        return _string(v.as_posix())
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise ValueError(f"TOML cannot hold a {type(v).__name__}")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and bool(v) and all(isinstance(x, Mapping) for x in v)


def dumps_toml(data: Mapping[str, Any], _prefix: str = "") -> str:
    """Write nested plain data (str, int, float, bool, date, datetime, lists, tables) as TOML.

    Tables become ``[section]`` headers, lists of tables ``[[section]]``; tables nested inside an
    array of tables are written inline. ``tomllib.loads(dumps_toml(d)) == d`` for such data.

    Examples
    --------
    >>> print(dumps_toml({"plan": {"strategy": "zone-vertical", "zones": 3}}), end="")
    [plan]
    strategy = "zone-vertical"
    zones = 3
    """
    lines: list[str] = []
    for k, v in data.items():
        if not isinstance(v, Mapping) and not _is_table_array(v):
            lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in data.items():
        full = f"{_prefix}{_key(k)}"
        if isinstance(v, Mapping):
            lines += ["", f"[{full}]"]
            sub = dumps_toml(v, full + ".")
            lines += sub.rstrip("\n").split("\n") if sub.strip() else []
        elif _is_table_array(v):
            for item in v:
                lines += ["", f"[[{full}]]"]
                lines += [f"{_key(ik)} = {_value(iv)}" for ik, iv in item.items()]
    return "\n".join(lines).lstrip("\n") + "\n"


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temp file in the same folder and a rename."""
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise MissingFileError(folder, "output folder")
    return atomic_write(p, text, newline="\n")


def _rel(target: Path, folder: Path) -> str:
    try:
        return Path(os.path.relpath(target.resolve(), folder.resolve())).as_posix()
    except ValueError:                     # another drive on Windows
        return target.resolve().as_posix()


def starter_scenario(
    out_path: str | os.PathLike[str],
    model_files: Sequence[str | os.PathLike[str]],
    schedule_file: str | os.PathLike[str] | None = None,
    *,
    strategy: str = "storey-by-storey",
    zones: int = 2,
    name: str | None = None,
    start: datetime | None = None,
    links_csv: str | os.PathLike[str] | None = None,
    rules: Sequence[Mapping[str, Any]] = (),
    crews: Mapping[str, int] | None = None,
    crane_at: tuple[float, float, float] | None = None,
    crane_capacity: Sequence[tuple[float, float]] | None = None,
    hoist_at: tuple[float, float] | None = None,
) -> str:
    """Text of a commented starter scenario for ``twin init`` (paths relative to ``out_path``).

    With ``schedule_file`` the scenario reads it; without, it plans with ``strategy``. ``crane_at``
    (x, y, reach m) places one tower crane (e.g. where :func:`place_crane` puts it), with the load chart
    ``crane_capacity`` ((radius m, t) points; default 8 t at 40 % of the reach, 2 t at the tip); ``hoist_at`` (x, y) one
    material hoist; ``crews`` gives crews per trade. Everything else gets the documented defaults, written out so the planner can edit them.
    """
    folder = Path(out_path).resolve().parent
    start = start or datetime.combine(date.today(), time(8, 0))
    doc: dict[str, Any] = {
        "project": {"name": name or Path(model_files[0]).stem, "start": start},
        "model": {"files": [_rel(Path(f), folder) for f in model_files]},
    }
    if schedule_file is not None:
        doc["schedule"] = {"file": _rel(Path(schedule_file), folder)}
    else:
        doc["plan"] = {"strategy": strategy, "zones": zones, "axis": "x", "lag_storeys": 1}
    links: dict[str, Any] = {"mode": "first", "use_schedule_links": True}
    if links_csv is not None:
        links["csv"] = _rel(Path(links_csv), folder)
    if rules:
        links["rules"] = [dict(r) for r in rules]
    doc["links"] = links
    doc["calendar"] = {"work_days": ["mon", "tue", "wed", "thu", "fri"], "hours": [["08:00", "12:00"], ["13:00", "17:00"]],
                       "holidays": []}
    res: dict[str, Any] = {"crews": [{"trade": t, "count": n} for t, n in (crews or {}).items()]}
    if crane_at is not None:
        x, y, reach = crane_at
        x, y, reach = float(x), float(y), float(reach)
        res["cranes"] = [{"name": "CRANE-1", "x": round(x, 2), "y": round(y, 2), "radius_m": round(reach, 1),
                          "capacity": ([[float(r), float(t)] for r, t in crane_capacity] if crane_capacity
                                       else [[round(reach * 0.4, 1), 8.0], [round(reach, 1), 2.0]]),
                          "lift_time_min": 15.0}]
    if hoist_at is not None:
        res["hoists"] = [{"name": "HOIST-1", "x": round(float(hoist_at[0]), 2), "y": round(float(hoist_at[1]), 2),
                          "capacity_kg": 2000.0, "trip_time_min": 10.0}]
    if not res["crews"]:
        del res["crews"]
    doc["resources"] = res
    doc["weather"] = {"enabled": True, "climate": "temperate", "wet_mm": 1.0, "wind_ms": 15.0}
    doc["uncertainty"] = {"distribution": "pert", "optimistic": 0.9, "most_likely": 1.0, "pessimistic": 1.3,
                          "use_three_point": True, "runs": 500, "seed": 1}
    body = dumps_toml(doc)
    for section, note in _SECTION_NOTES.items():
        body = re.sub(rf"^(\[{re.escape(section)}\])$", f"# {note}\n\\1", body, count=1, flags=re.M)
    if not rules:
        body = body.replace(f"# {_SECTION_NOTES['calendar']}\n", _RULE_EXAMPLE + f"# {_SECTION_NOTES['calendar']}\n", 1)
    header = ("# twin scenario: one model and one way of building it. Every `twin` command that takes a\n"
              "# SCENARIO reads this file. Paths are relative to this file. Reference: docs/scenario.md\n\n")
    return header + body


CRANE_CLEARANCE_M = 4.0
"""Plan distance from a starter crane's mast centre to the footprint (the model's box): the 1 m mast
radius of the clash check, a 1.5 m scaffold and 1.5 m working clearance."""


def lifted_elements(model: Any, schedule: Any = None, rates: Any = None) -> list[str]:
    """GlobalIds of the elements a tower crane lifts, with a box, as :func:`twin.conflicts.crane_conflicts`
    counts them: not cast in place, and either of a trade whose rate-table entry plans lifts, or linked in
    ``schedule`` to an activity planning lifts (``lifts`` > 0) or saying nothing about them."""
    from twin.conflicts import _in_situ
    from twin.plan import classify_elements, load_rates

    rates = rates or load_rates()
    trade_of = classify_elements(model, rates)
    out = {g for g, t in trade_of.items()
           if rates.trades[t].lifts_per_element > 0 or rates.trades[t].lifts_per_unit > 0}
    if schedule is not None:
        for aid, gid in schedule.element_links:
            act = schedule.activities.get(aid)
            lifts = act.attributes.get("lifts") if act is not None else None
            if act is not None and (lifts is None or (isinstance(lifts, (int, float)) and lifts > 0)):
                out.add(gid)
    return sorted(g for g in out if g in model.elements and model.elements[g].bbox is not None
                  and not _in_situ(model.elements[g]))


def place_crane(model: Any, lifted: Sequence[str] | None = None, *, clearance: float = CRANE_CLEARANCE_M,
                avoid: Sequence[tuple[float, float]] = (), density: float = 2400.0,
                step: float = 0.5) -> dict[str, Any] | None:
    """One tower crane outside the footprint, reaching and lifting every crane-lifted element.

    Rule: the mast stands ``clearance`` m outside the model's plan box (so it passes through no slab),
    on the side and at the position along it (sampled every ``step`` m) that minimise the largest
    plan distance to the box centres of the ``lifted`` elements (default :func:`lifted_elements`);
    positions closer than 5 m to a point of ``avoid`` (the hoist) are skipped; ties go to the south,
    north, west, east side in that order, then to the lowest coordinate, so placement is deterministic.
    The radius is that distance plus 1 m, rounded up (at least 20 m). The load chart is a tower crane's
    (flat to ``r0``, then constant moment ``M / r`` to the tip) with 10 % over the heaviest lift
    (at least 8 t) and over the largest load moment (at least 2 t at the tip); weights as
    :func:`twin.conflicts.element_weight` (mesh volumes where there are no quantities), and every lift
    is checked against the chart (:func:`twin.conflicts.capacity_at`).

    Returns
    -------
    dict with ``x``, ``y`` (m), ``radius_m``, ``capacity`` ([(radius m, t), ...]), ``side`` and
    ``heaviest_t``; None when the model has no box.
    """
    import numpy as np

    from twin.conflicts import _volumes, capacity_at, element_weight

    box = model.bbox
    if box is None:
        return None
    (x0, y0, _), (x1, y1, _) = box
    gids = list(lifted if lifted is not None else lifted_elements(model))
    gids = [g for g in gids if g in model.elements and model.elements[g].bbox is not None]
    if gids:
        b = np.array([model.elements[g].bbox for g in gids], dtype=float)          # (n, 2, 3)
        pts = (b[:, 0, :2] + b[:, 1, :2]) / 2.0                                      # (n, 2) box centres
    else:
        pts = np.array([[x0, y0], [x0, y1], [x1, y0], [x1, y1]], dtype=float)
    xs = np.arange(x0, x1 + step / 2, step)
    ys = np.arange(y0, y1 + step / 2, step)
    sides = (("south", np.column_stack([xs, np.full_like(xs, y0 - clearance)])),
             ("north", np.column_stack([xs, np.full_like(xs, y1 + clearance)])),
             ("west", np.column_stack([np.full_like(ys, x0 - clearance), ys])),
             ("east", np.column_stack([np.full_like(ys, x1 + clearance), ys])))
    best = None
    for rank, (side, cand) in enumerate(sides):
        for ax, ay in avoid:
            cand = cand[np.hypot(cand[:, 0] - ax, cand[:, 1] - ay) >= 5.0]
        if not len(cand):
            continue
        need = np.sqrt(((cand[:, None, :] - pts[None, :, :]) ** 2).sum(axis=2)).max(axis=1)   # (m,)
        k = int(np.argmin(need))                  # first minimum: the lowest coordinate along the side
        key = (round(float(need[k]), 6), rank)
        if best is None or key < best[0]:
            best = (key, side, float(cand[k, 0]), float(cand[k, 1]), float(need[k]))
    if best is None:
        return None
    _, side, x, y, need = best
    radius = float(max(20.0, math.ceil(need + 1.0)))
    vols = _volumes(model, {"": gids})
    lifts = []
    for g in gids:
        kg, _ = element_weight(model.elements[g], vols.get(g), density=density)
        if kg is not None:
            e = model.elements[g]
            cx, cy = (e.bbox[0][0] + e.bbox[1][0]) / 2.0, (e.bbox[0][1] + e.bbox[1][1]) / 2.0
            lifts.append((math.hypot(cx - x, cy - y), kg / 1000.0))
    heaviest = max((t for _, t in lifts), default=0.0)
    top = max(8.0, math.ceil(1.1 * heaviest * 10.0) / 10.0)
    moment = max(1.1 * max((r * t for r, t in lifts), default=0.0), 2.0 * radius)
    for _ in range(50):
        chart = _tower_chart(top, moment, radius)
        if all((capacity_at(chart, r) or 0.0) >= t for r, t in lifts):
            break
        moment *= 1.05
    return {"x": round(x, 2), "y": round(y, 2), "radius_m": radius, "capacity": chart, "side": side,
            "heaviest_t": round(heaviest, 3)}


def _tower_chart(top: float, moment: float, radius: float) -> list[tuple[float, float]]:
    """Load chart (radius m, t): ``top`` t out to ``moment / top`` m, then ``moment / r`` to ``radius``
    (five points, loads rounded down to 0.1 t)."""
    r0 = moment / top
    if r0 >= radius:
        return [(round(radius, 1), round(top, 1))]
    r0 = math.floor(r0 * 10.0) / 10.0
    pts = [(r0, round(top, 1))]
    for k in range(1, 5):
        r = round(r0 + (radius - r0) * k / 4.0, 1)
        pts.append((r, math.floor(moment / r * 10.0) / 10.0))
    return pts


def starter_resources(model: Any, schedule: Any = None, *, two_crews: bool = False) -> dict[str, Any]:
    """Crews, crane and hoist as ``twin init`` (and the app) place them in a starter scenario.

    One crew per trade (two with ``two_crews``): the trades of the ``schedule``'s activities (their
    ``trade`` attribute), else, without a schedule, the trades the rate table gives the model's
    elements (:func:`twin.plan.classify_elements`). A material hoist 2 m west of the model at
    mid-length when a storey is above 1 m; one tower crane outside the footprint placed by
    :func:`place_crane` (away from the hoist). Returns keyword arguments of :func:`starter_scenario`:
    ``crews`` (trade -> count), ``crane_at`` ((x, y, reach) m, None without geometry),
    ``crane_capacity`` (the crane's load chart, [(radius m, t), ...], or None) and ``hoist_at``
    ((x, y) m or None).
    """
    from twin.plan import classify_elements, load_rates

    rates = load_rates()
    if schedule is None:
        trades = sorted(set(classify_elements(model, rates).values()))
    else:
        trades = sorted({str(a.attributes["trade"]) for a in schedule.activities.values() if a.attributes.get("trade")})
    out: dict[str, Any] = {"crews": {t: 2 if two_crews else 1 for t in trades}, "crane_at": None,
                           "crane_capacity": None, "hoist_at": None}
    box = model.bbox
    if box is not None:
        (x0, y0, _), (x1, y1, _) = box
        if any(s.elevation is not None and s.elevation > 1.0 for s in model.storeys):
            out["hoist_at"] = (x0 - 2.0, (y0 + y1) / 2.0)          # against the facade, mid-length
        crane = place_crane(model, lifted_elements(model, schedule, rates),
                            avoid=[out["hoist_at"]] if out["hoist_at"] else ())
        if crane is not None:
            out["crane_at"] = (crane["x"], crane["y"], crane["radius_m"])
            out["crane_capacity"] = crane["capacity"]
    return out


_RULE_EXAMPLE = """\
# Link rules (applied in order after the schedule's own links and the csv), for example:
# [[links.rules]]
# activity = "L{storey_index:02d}-{zone}-SLB"        # placeholders: {storey} {zone} {class} {trade} ...
# where = { class = "IfcSlab", "Pset_SlabCommon.IsExternal" = false }

"""

_SECTION_NOTES = {
    "project": "name shown in reports; start = first working day (local date-time)",
    "model": "IFC files of the (federated) model",
    "schedule": "schedule file (P6 .xer/.xml, MS Project .xml, .csv, IFC 4D); or replace by a [plan] section",
    "plan": "generate the schedule from the model: strategy = storey-by-storey | zone-vertical | structure-first | two-crews",
    "links": "mode = first | all; csv = GlobalId,activity_id list; [[links.rules]] activity = ..., where = {...}",
    "calendar": "working week (mon..sun), daily working hours, holidays = [2027-12-25, ...]",
    "resources": "[[resources.crews]] trade, count; [[resources.cranes]] name, x, y, radius_m, capacity = [[radius_m, t], ...]; [[resources.hoists]]",
    "weather": "climate = temperate | none; file = daily CSV (date,precip_mm,wind_max_ms) to fit; wet/windy thresholds",
    "uncertainty": "default duration spread (factors of the planned duration) where there is no three-point estimate",
}


# ------------------------------------------------------------------------------------ resolving

@dataclass(frozen=True, slots=True, eq=False)
class ResolvedScenario:
    """A scenario with its inputs loaded: model, schedule (read or planned), links and link report."""

    scenario: Scenario
    model: Any            # twin.model.BuildingModel
    schedule: Any         # twin.schedule.Schedule
    links: Any            # twin.links.Links
    report: Any           # twin.links.LinkReport
    plan: Any = None      # twin.plan.Plan when the schedule was generated


def needs_geometry(scenario: Scenario) -> bool:
    """Whether resolving ``scenario`` depends on element geometry, so :func:`resolve` reads it with meshes.

    True with a ``[plan]`` (quantities fall back to closed-mesh volumes and boxes, storeys and zones go
    by box), with zones (``[zones]`` regions or count: elements are placed by box centre) and with
    cranes (an activity's lifts go to a crane reaching the centre of its elements' boxes).
    """
    return (scenario.plan is not None or bool(scenario.zones) or scenario.zone_split is not None
            or bool(scenario.cranes))


def _read_without_geometry(model: Any) -> bool:
    """True for a model as ``load_model(..., geometry=False)`` reads it: no meshes, no element boxes."""
    return not model.meshes and bool(model.elements) and all(e.bbox is None for e in model.elements.values())


def resolve(scenario: Scenario, *, geometry: bool = False, model: Any = None,
            progress: Callable[[str], None] | None = None) -> ResolvedScenario:
    """Load the model (``twin.ifc.load_model``), read or plan the schedule, and apply the links.

    A scenario always resolves to the same schedule, links and element boxes, whatever ``geometry``
    says: when the result depends on geometry (:func:`needs_geometry`: a generated plan, zones, cranes)
    the model is read with its meshes (the tessellation cache makes a second read cheap). ``geometry``
    only says whether the returned model keeps its meshes (viewers need them); boxes stay either way.

    ``model`` skips loading when the caller already has the BuildingModel of ``scenario.model_files``;
    if it was read without geometry and the scenario needs it, it is read again with geometry. With a
    ``[plan]``, the generated plan's own links come first, then the scenario's explicit CSV and rules.
    """
    from twin.links import apply_rules, read_link_csv
    from twin.plan import generate_plan, load_rates

    say = progress or (lambda _msg: None)
    need = needs_geometry(scenario)
    drop_meshes = False
    if model is None or (need and _read_without_geometry(model)):
        from twin.ifc import load_model

        say("reading model")
        model = load_model([str(p) for p in scenario.model_files], geometry=geometry or need)
        drop_meshes = need and not geometry
    cal = scenario.calendar.to_calendar()
    plan = None
    if scenario.plan is not None:
        say("generating plan")
        rates = load_rates(scenario.plan.rates)
        zones: Any = scenario.zones or (scenario.zone_split or (scenario.plan.zones, scenario.plan.axis))[0]
        axis = (scenario.zone_split or (scenario.plan.zones, scenario.plan.axis))[1]
        plan = generate_plan(model, scenario.plan.strategy, zones=zones, axis=axis, rates=rates,
                             start=scenario.start, lag_storeys=scenario.plan.lag_storeys,
                             crews=scenario.crew_counts() or None, calendar=cal)
        schedule, zone_list = plan.schedule, plan.zones
    else:
        from twin.importers import read_schedule

        say("reading schedule")
        schedule = read_schedule(scenario.schedule_file)
        zone_list, rates = scenario.zones, load_rates()
        if not zone_list and scenario.zone_split is not None:
            from twin.zones import split_zones

            zone_list = split_zones(model, *scenario.zone_split)
    explicit = read_link_csv(scenario.links.csv) if scenario.links.csv else []
    say("linking")
    links, report = apply_rules(
        model, schedule, scenario.links.rules, zones=zone_list, mode=scenario.links.mode, explicit=explicit,
        explicit_source=str(scenario.links.csv or "link list"), use_schedule_links=scenario.links.use_schedule_links,
        classify=rates.trade_of,
    )
    if drop_meshes:                        # read for the plan and boxes only: the caller asked for no meshes
        model = replace(model, meshes={})
    return ResolvedScenario(scenario, model, schedule, links, report, plan)
