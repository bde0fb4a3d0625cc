"""From files to a :class:`twin.sim.config.SimConfig`: a scenario TOML, or a bare schedule file.

* A **schedule file** (P6 XER or XML, MS Project XML, CSV with three-point columns) gives a
  schedule-only risk analysis: duration uncertainty (three-point estimates where the file has them,
  the default spread elsewhere), no shared resources, no weather (a P6 user's Monte Carlo).
* A **scenario** (``twin.scenario``) adds the model, the links and the ``[resources]``, ``[weather]``
  and ``[uncertainty]`` sections, mapped as follows:

  - ``[[resources.crews]]`` trade, count -> a pool ``crew:<trade>`` of ``count`` units; every activity
    whose ``trade`` attribute is set needs one crew of its trade. When crews are given, an activity
    whose trade has none is refused (naming the activity and the trade).
  - ``[[resources.cranes]]`` -> one pool per crane (1 unit) with its lift time (``lift_time`` table, else
    a fixed ``lift_time_min``). An activity's lifts are its ``lifts`` attribute (set by ``twin plan``),
    else the count of its linked elements of lifted classes (beams, columns, members, plates, precast
    slabs, stairs, curtain walls); they go to the nearest crane whose radius covers the centre of the
    activity's elements (an activity no crane reaches is refused).
  - ``[[resources.hoists]]`` -> one pool per hoist with ``trip_time_min`` as lift time; an activity uses
    it through a ``hoist_trips`` attribute.
  - ``[weather]`` -> fitted from ``file`` when given, else the ``climate`` defaults with any ``p01``,
    ``p11``, ``p_wind`` overrides; ``enabled = false`` or ``climate = "none"`` turns weather off.
  - ``[uncertainty]`` -> :class:`Uncertainty` (``distribution = "none"``: no uncertainty); risks'
    ``impact_days`` become working hours on the project calendar.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from twin.errors import InputError, MissingFileError
from twin.sim import distributions as dist
from twin.sim.config import RiskEvent, SimConfig, Uncertainty
from twin.sim.resources import Demand, ResourcePool, cranes_reaching
from twin.sim.weather import TEMPERATE, WeatherModel, fit_weather

__all__ = ["LIFTED_CLASSES", "SCHEDULE_SUFFIXES", "load_config", "config_from_schedule", "config_from_scenario"]

LIFTED_CLASSES = frozenset({"IfcBeam", "IfcColumn", "IfcMember", "IfcPlate", "IfcStair", "IfcStairFlight",
                            "IfcCurtainWall", "IfcElementAssembly", "IfcRoof"})
SCHEDULE_SUFFIXES = (".xer", ".xml", ".csv", ".ifc")


def load_config(path: str | Path, *, progress: Callable[[str], None] | None = None
                ) -> tuple[SimConfig, int | None, int | None]:
    """Read a scenario (.toml) or a schedule file into a config; also its (runs, seed) defaults.

    Raises
    ------
    MissingFileError, InputError (ScenarioError, ScheduleError) naming the file and field.
    """
    p = Path(path)
    if not p.exists():
        raise MissingFileError(p, "scenario or schedule")
    if p.suffix.lower() == ".toml":
        from twin.scenario import load_scenario, resolve

        scenario = load_scenario(p)
        resolved = resolve(scenario, progress=progress)
        return config_from_scenario(resolved), scenario.uncertainty.runs, scenario.uncertainty.seed
    if p.suffix.lower() not in SCHEDULE_SUFFIXES:
        raise InputError(f"{p}: expected a scenario (.toml) or a schedule (.xer, .xml, .csv), got '{p.suffix}'")
    from twin.importers import read_schedule

    return config_from_schedule(read_schedule(p), name=p.stem), None, None


def config_from_schedule(schedule, name: str = "") -> SimConfig:
    """Schedule-only risk analysis: default uncertainty, no resources, no weather."""
    return SimConfig(schedule, name=name or schedule.name or Path(schedule.source or "schedule").stem)


def _lift_distribution(spec) -> dist.Distribution:
    lt = spec.lift_time
    if not lt:
        return dist.fixed(spec.lift_time_min)
    kind = lt.get("distribution", "triangular")
    if kind == "lognormal":
        return dist.lognormal(float(lt.get("mode", spec.lift_time_min)), float(lt.get("sd", 0.0)))
    lo = float(lt.get("low", spec.lift_time_min))
    mode = float(lt.get("mode", spec.lift_time_min))
    hi = float(lt.get("high", spec.lift_time_min))
    return dist.Distribution(kind, lo, mode, hi)


def _centre(model, guids) -> tuple[float, float] | None:
    xs, ys = [], []
    for g in guids:
        el = model.elements.get(g) if model is not None else None
        if el is None:
            continue
        if el.bbox is not None:
            (x0, y0, _), (x1, y1, _) = el.bbox
            xs.append((x0 + x1) / 2)
            ys.append((y0 + y1) / 2)
        elif el.placement is not None:
            xs.append(el.placement[0])
            ys.append(el.placement[1])
    if not xs:
        return None
    return sum(xs) / len(xs), sum(ys) / len(ys)


def _weather(spec) -> WeatherModel | None:
    if not spec.enabled or spec.climate == "none":
        return None
    if spec.file is not None:
        base = fit_weather(spec.file, wet_mm=spec.wet_mm, wind_ms=spec.wind_ms)
    else:
        base = TEMPERATE
    return WeatherModel(spec.p01 or base.p01, spec.p11 or base.p11, spec.p_wind or base.p_wind,
                        spec.wet_mm, spec.wind_ms, base.name, base.warnings)


def _uncertainty(spec, hours_per_day: float) -> Uncertainty | None:
    if spec.distribution == "none":
        return None
    risks = tuple(RiskEvent(r.name, r.probability, dist.fixed(r.impact_days * hours_per_day), tuple(r.activities))
                  for r in spec.risks)
    return Uncertainty(kind=spec.distribution, default_spread=(spec.optimistic, spec.most_likely, spec.pessimistic),
                       use_three_point=spec.use_three_point, risks=risks)


def config_from_scenario(resolved: Any) -> SimConfig:
    """Map a resolved scenario (``twin.scenario.resolve``) onto a SimConfig (see the module docstring)."""
    sc, schedule, model = resolved.scenario, resolved.schedule, resolved.model
    pairs = tuple(resolved.links.pairs) if resolved.links is not None else tuple(schedule.element_links)
    by_act: dict[str, list[str]] = {}
    for aid, g in pairs:
        by_act.setdefault(aid, []).append(g)
    pools: list[ResourcePool] = []
    crews_by_trade = {c.trade: f"crew:{c.trade}" for c in sc.crews}
    for c in sc.crews:
        pools.append(ResourcePool(f"crew:{c.trade}", "crew", c.count, trade=c.trade))
    cranes = [ResourcePool(c.name, "crane", 1, lift_min=_lift_distribution(c), position=(c.x, c.y),
                           radius=c.radius_m, max_load_t=max((t for _, t in c.capacity), default=None))
              for c in sc.cranes]
    pools.extend(cranes)
    for h in sc.hoists:
        pools.append(ResourcePool(h.name, "hoist", 1, lift_min=dist.fixed(h.trip_time_min),
                                  position=None if h.x is None else (h.x, h.y or 0.0)))
    demands: dict[str, Demand] = {}
    for aid, a in schedule.activities.items():
        if a.type.is_milestone or a.actual_finish is not None:
            continue
        crews: dict[str, int] = {}
        lifts: dict[str, int] = {}
        trade = a.attributes.get("trade")
        if trade and crews_by_trade:
            if trade not in crews_by_trade:
                raise InputError(f"activity '{aid}' needs a '{trade}' crew, but [resources.crews] provides none "
                                 f"(trades with crews: {', '.join(sorted(crews_by_trade))})")
            crews[crews_by_trade[trade]] = 1
        if cranes:
            guids = by_act.get(aid, [])
            n = a.attributes.get("lifts")
            if n is None and model is not None:
                n = sum(1 for g in guids if g in model.elements and model.elements[g].ifc_class in LIFTED_CLASSES)
            if n:
                centre = _centre(model, guids)
                reach = cranes_reaching(centre, cranes) if centre is not None else [cranes[0].name]
                if not reach:
                    raise InputError(f"activity '{aid}' needs {int(n)} crane lifts at ({centre[0]:.1f}, "
                                     f"{centre[1]:.1f}) m, which no crane reaches "
                                     f"({', '.join(c.name for c in cranes)})")
                lifts[reach[0]] = int(n)
        trips = a.attributes.get("hoist_trips")
        if trips and sc.hoists:
            lifts[sc.hoists[0].name] = int(trips)
        if crews or lifts:
            demands[aid] = Demand(crews, lifts)
    return SimConfig(schedule, name=sc.name, pools=tuple(pools), demands=demands, weather=_weather(sc.weather),
                     uncertainty=_uncertainty(sc.uncertainty, sc.calendar.hours_per_day), element_links=pairs)
