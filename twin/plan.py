"""Model-based sequence generation: activities per storey x zone x trade, quantity-driven durations.

When a planner has a model but no schedule yet, :func:`generate_plan` proposes one from the model:

1. every element gets a **trade** from the production-rate table (``twin/data/rates.toml``; first
   matching ``[[classify]]`` rule, else the fallback trade, so nothing is left unlinked);
2. elements are grouped by **storey** (by name; elements outside a storey go to the highest storey at
   or below their bottom), **zone** (plan regions: :func:`twin.zones.split_zones` or given polygons) and
   trade; each non-empty group is an activity ``L{storey:02d}-{zone}-{trade code}``, linked to its
   elements;
3. durations come from quantities (NetVolume, NetSideArea, Length, ... from the model's quantity sets;
   else mesh volume; else the bounding box) divided by the trade's production rate, with a minimum
   and at least the crane time of the activity's lifts;
4. finish-to-start logic follows the **strategy** (see :data:`STRATEGIES`): trades in order within a
   location, each storey's structure on the one below, each crew moving from location to location in
   the strategy's order; the result is transitively reduced and bracketed by START/FINISH milestones.

Strategies (logic common to all: within a storey-zone location, the structure trades in ``order``,
then the other trades in ``order``; the structure of a storey on the structure below in the same zone;
a location without structure of its own follows the structure of its storey, or the closest storey
below, in every zone; and the **support rules** of :func:`twin.conflicts.support_graph`: every group
follows the groups its elements rest on, a group resting on a higher storey's work (a stair flight on
the slab it arrives at) follows that work instead of closing its own storey, and a group carrying
structure (load-bearing core walls) rises with the structure; a support pair the strategy's order
contradicts is left out with a warning):

``storey-by-storey``  one crew per trade moves zone by zone along a storey; a storey is complete
                      (every trade, every zone) before work starts on the next one up.
``zone-vertical``     each zone rises to the roof before the crews move to the next zone, so the
                      first zone can be handed over early.
``structure-first``   the frame rises storey by storey; envelope, services and finishes follow
                      ``lag_storeys`` storeys behind the structure of the same zone.
``two-crews``         as ``storey-by-storey`` with two crews per trade on alternate zones.

All strategies are acyclic by construction (every edge increases a strategy-specific key) and checked.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from twin.conflicts import support_graph
from twin.errors import InputError, MissingFileError, ScheduleCycleError
from twin.links import Links, match_element, storey_order
from twin.model import BuildingModel, Element
from twin.schedule import (
    Activity, ActivityType, Assignment, Calendar, Constraint, ConstraintType, Relationship, Resource, Schedule,
)
from twin.zones import Zone, element_point, point_zone, split_zones

__all__ = [
    "STRATEGIES",
    "QUANTITY_KINDS",
    "PHASES",
    "Trade",
    "Rates",
    "Plan",
    "load_rates",
    "element_quantity",
    "classify_elements",
    "generate_plan",
]

STRATEGIES = ("storey-by-storey", "zone-vertical", "structure-first", "two-crews")
QUANTITY_KINDS = {"volume": "m3", "area": "m2", "length": "m", "weight": "kg", "count": "nr"}
PHASES = ("structure", "envelope", "services", "finishes")
DEFAULT_RATES = Path(__file__).resolve().parent / "data" / "rates.toml"
"""The packaged production-rate table (documented in the file itself)."""

_TRADE_KEYS = {"label", "code", "phase", "order", "quantity", "rate", "crew", "crew_size",
               "lifts_per_element", "lifts_per_unit", "min_hours", "weather", "hoist_per_element",
               "hoist_per_unit"}
WEATHER = ("none", "rain", "wind", "rain+wind")
_DEFAULT_KEYS = {"hours_per_day", "lift_time_min", "min_hours", "fallback"}
_QTO_NAMES = {
    "volume": ("NetVolume", "GrossVolume", "Volume"),
    "area": ("NetSideArea", "NetArea", "NetSurfaceArea", "GrossSideArea", "GrossArea", "Area",
             "OuterSurfaceArea", "GrossSurfaceArea", "CrossSectionArea"),
    "length": ("Length", "NetLength", "GrossLength", "Perimeter", "Width"),
    "weight": ("NetWeight", "GrossWeight", "Weight"),
}


@dataclass(frozen=True, slots=True)
class Trade:
    """One trade of the rate table; ``rate`` is ``quantity`` units per crew per working day."""

    name: str
    label: str
    code: str
    phase: str
    order: int
    quantity: str
    rate: float
    crew: str = "general"
    crew_size: int = 4
    lifts_per_element: float = 0.0
    lifts_per_unit: float = 0.0
    min_hours: float | None = None
    weather: str = "none"
    hoist_per_element: float = 0.0
    hoist_per_unit: float = 0.0


@dataclass(frozen=True, slots=True)
class Rates:
    """The production-rate table: trades, classification rules (trade, where), and defaults."""

    trades: Mapping[str, Trade]
    classify: tuple[tuple[str, Mapping[str, Any]], ...]
    hours_per_day: float = 8.0
    lift_time_min: float = 15.0
    min_hours: float = 4.0
    fallback: str = "fitout"
    source: str = ""

    def trade_of(self, element: Element) -> str:
        """Trade name of ``element``: the first matching classify rule, else the fallback trade."""
        for trade, where in self.classify:
            if match_element(element, where):
                return trade
        return self.fallback


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None


def _check_number(where: str, value: Any, *, positive: bool = False, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where}: must be a number, got {value!r}")
    if positive and not value > 0:
        raise InputError(f"{where}: must be > 0, got {value}")
    if minimum is not None and value < minimum:
        raise InputError(f"{where}: must be >= {minimum}, got {value}")
    return float(value)


def _parse_trade(src: str, name: str, data: Mapping[str, Any]) -> Trade:
    w = f"{src}: trades.{name}"
    unknown = set(data) - _TRADE_KEYS
    if unknown:
        raise InputError(f"{w}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("code", "phase", "order", "quantity", "rate"):
        if key not in data:
            raise InputError(f"{w}.{key}: missing")
    if data["quantity"] not in QUANTITY_KINDS:
        raise InputError(f"{w}.quantity: must be one of {', '.join(QUANTITY_KINDS)}, got {data['quantity']!r}")
    if data.get("weather", "none") not in WEATHER:
        raise InputError(f"{w}.weather: must be one of {', '.join(WEATHER)}, got {data['weather']!r}")
    if data["phase"] not in PHASES:
        raise InputError(f"{w}.phase: must be one of {', '.join(PHASES)}, got {data['phase']!r}")
    return Trade(
        name=name, label=str(data.get("label", name)), code=str(data["code"]), phase=data["phase"],
        order=int(_check_number(f"{w}.order", data["order"])), quantity=data["quantity"],
        rate=_check_number(f"{w}.rate", data["rate"], positive=True), crew=str(data.get("crew", name)),
        crew_size=int(_check_number(f"{w}.crew_size", data.get("crew_size", 4), positive=True)),
        lifts_per_element=_check_number(f"{w}.lifts_per_element", data.get("lifts_per_element", 0.0), minimum=0),
        lifts_per_unit=_check_number(f"{w}.lifts_per_unit", data.get("lifts_per_unit", 0.0), minimum=0),
        min_hours=(None if "min_hours" not in data
                   else _check_number(f"{w}.min_hours", data["min_hours"], minimum=0)),
        weather=data.get("weather", "none"),
        hoist_per_element=_check_number(f"{w}.hoist_per_element", data.get("hoist_per_element", 0.0), minimum=0),
        hoist_per_unit=_check_number(f"{w}.hoist_per_unit", data.get("hoist_per_unit", 0.0), minimum=0),
    )


def load_rates(path: str | Path | None = None) -> Rates:
    """Read the rate table: the packaged defaults, overridden field by field by ``path`` if given.

    A user file may hold ``[defaults]``, ``[trades.NAME]`` tables (partial: only the fields to change;
    a new trade needs code, phase, order, quantity and rate) and ``[[classify]]`` rules, which are
    tried before the default rules. Errors name the file and field.
    """
    from twin.links import rules_from_config

    base = tomllib.loads(DEFAULT_RATES.read_text(encoding="utf-8"))
    src = "twin/data/rates.toml"
    user: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise MissingFileError(p, "rates file")
        user = _read_toml(p)
        src = str(p)
        unknown = set(user) - {"defaults", "trades", "classify"}
        if unknown:
            raise InputError(f"{p}: unknown section(s) {', '.join(sorted(unknown))} "
                             "(expected defaults, trades, classify)")
    defaults = {**base.get("defaults", {}), **user.get("defaults", {})}
    unknown = set(defaults) - _DEFAULT_KEYS
    if unknown:
        raise InputError(f"{src}: defaults: unknown key(s) {', '.join(sorted(unknown))}")
    trades_raw = {k: dict(v) for k, v in base.get("trades", {}).items()}
    for name, over in user.get("trades", {}).items():
        if not isinstance(over, Mapping):
            raise InputError(f"{src}: trades.{name}: expected a table")
        trades_raw[name] = {**trades_raw.get(name, {}), **over}
    trades = {name: _parse_trade(src, name, data) for name, data in trades_raw.items()}
    classify_raw = [*user.get("classify", []), *base.get("classify", [])]
    classify = []
    for i, item in enumerate(classify_raw):
        if not isinstance(item, Mapping) or set(item) - {"trade", "where"} or "trade" not in item:
            raise InputError(f"{src}: classify[{i}]: expected a table with 'trade' and 'where', got {item!r}")
        if item["trade"] not in trades:
            raise InputError(f"{src}: classify[{i}].trade: unknown trade '{item['trade']}'")
        rule = rules_from_config([{"activity": item["trade"], "where": item.get("where", {})}],
                                 f"{src}: classify")[0]
        classify.append((item["trade"], rule.where))
    fallback = str(defaults.get("fallback", "fitout"))
    if fallback not in trades:
        raise InputError(f"{src}: defaults.fallback: unknown trade '{fallback}'")
    return Rates(
        trades=trades, classify=tuple(classify),
        hours_per_day=_check_number(f"{src}: defaults.hours_per_day", defaults.get("hours_per_day", 8.0), positive=True),
        lift_time_min=_check_number(f"{src}: defaults.lift_time_min", defaults.get("lift_time_min", 15.0), minimum=0),
        min_hours=_check_number(f"{src}: defaults.min_hours", defaults.get("min_hours", 4.0), minimum=0),
        fallback=fallback, source=src,
    )


def _mesh_volume(model: BuildingModel, gid: str) -> float | None:
    mesh = model.meshes.get(gid)
    if mesh is None or mesh.n_triangles == 0:
        return None
    tri = mesh.vertices[mesh.faces]                       # (m, 3, 3)
    vol = abs(float(np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum()) / 6.0)
    return vol if vol > 0 else None


def element_quantity(element: Element, kind: str, model: BuildingModel | None = None) -> tuple[float, str]:
    """Quantity of ``kind`` for one element in SI units, and where it came from.

    Returns
    -------
    (value, source) with source "qto" (the model's quantity sets), "mesh" (closed-mesh volume),
    "bbox" (bounding-box estimate: volume, two largest sides, longest side) or "count".
    """
    if kind == "count":
        return 1.0, "count"
    names = _QTO_NAMES[kind]
    for name in names:
        vals = [v for k, v in element.quantities.items() if k.rsplit(".", 1)[-1] == name and v and v > 0]
        if vals:
            return float(max(vals)), "qto"
    if kind == "weight":
        vol, _ = element_quantity(element, "volume", model)
        return vol * 2400.0, "bbox"
    if kind == "volume" and model is not None:
        vol = _mesh_volume(model, element.global_id)
        if vol is not None and (element.bbox is None or vol <= _bbox_dims_volume(element.bbox) * 1.01):
            return vol, "mesh"
    if element.bbox is None:
        return 0.0, "none"
    dims = sorted((hi - lo for lo, hi in zip(*element.bbox)), reverse=True)
    value = {"volume": dims[0] * dims[1] * dims[2], "area": dims[0] * dims[1], "length": dims[0]}[kind]
    return float(value), "bbox"


def _bbox_dims_volume(bbox) -> float:
    (x0, y0, z0), (x1, y1, z1) = bbox
    return (x1 - x0) * (y1 - y0) * (z1 - z0)


def classify_elements(model: BuildingModel, rates: Rates) -> dict[str, str]:
    """Trade name of every element of ``model``, keyed by GlobalId."""
    return {gid: rates.trade_of(el) for gid, el in model.elements.items()}


@dataclass(frozen=True, slots=True, eq=False)
class Plan:
    """A generated plan: the schedule, its element links, the zones used and what was assumed."""

    schedule: Schedule
    links: Links
    zones: tuple[Zone, ...]
    strategy: str
    rates: Rates
    warnings: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """Counts a planner checks first (JSON-shaped)."""
        acts = [a for a in self.schedule.activities.values() if not a.type.is_milestone]
        trades: dict[str, int] = {}
        for a in acts:
            trades[a.attributes["trade"]] = trades.get(a.attributes["trade"], 0) + 1
        return {
            "strategy": self.strategy, "activities": len(acts), "milestones": len(self.schedule.activities) - len(acts),
            "relationships": len(self.schedule.relationships), "links": len(self.links),
            "zones": [z.name for z in self.zones], "trades": trades,
            "work_hours": round(sum(a.duration_h for a in acts), 1),
            "crane_lifts": int(sum(a.attributes.get("lifts", 0) for a in acts)),
            "rates": self.rates.source, "warnings": list(self.warnings),
        }


def _storey_of(model: BuildingModel, order: Mapping[str, int]) -> dict[str, str]:
    """Storey name per element; elements outside storeys by elevation, else the lowest storey."""
    elev = sorted(((s.elevation, s.name) for s in model.storeys if s.elevation is not None))
    lowest = min(order, key=order.get) if order else "(no storey)"
    out = {}
    for gid, el in model.elements.items():
        if el.storey is not None:
            out[gid] = el.storey
            continue
        z = el.bbox[0][2] if el.bbox is not None else (el.placement[2] if el.placement else None)
        name = lowest
        if z is not None and elev:
            below = [n for e, n in elev if e <= z + 0.05]
            name = below[-1] if below else elev[0][1]
        out[gid] = name
    return out


def _zone_of(model: BuildingModel, zones: Sequence[Zone]) -> dict[str, str]:
    """Zone per element: containing zone, else the zone whose centroid is nearest, else the first."""
    centroids = [(z.name, np.mean(np.array(z.polygon, dtype=float), axis=0)) for z in zones]
    out = {}
    for gid, el in model.elements.items():
        p = element_point(el)
        name = point_zone(p, zones)
        if name is None:
            if p is None:
                name = zones[0].name
            else:
                name = min(centroids, key=lambda c: float(np.hypot(c[1][0] - p[0], c[1][1] - p[1])))[0]
        out[gid] = name
    return out


def _duration(trade: Trade, qty: float, n: int, rates: Rates) -> tuple[float, int]:
    lifts = math.ceil(n * trade.lifts_per_element + qty * trade.lifts_per_unit - 1e-9)
    labour = qty / trade.rate * rates.hours_per_day
    crane = lifts * rates.lift_time_min / 60.0
    floor = trade.min_hours if trade.min_hours is not None else rates.min_hours
    hours = max(floor, labour, crane)
    return float(math.ceil(hours - 1e-9)), lifts


Key = tuple[int, int, int]   # (storey index, zone index, trade order index)


def generate_plan(
    model: BuildingModel,
    strategy: str = "storey-by-storey",
    *,
    zones: int | Sequence[Zone] = 2,
    axis: str = "x",
    rates: Rates | None = None,
    start: datetime | date | None = None,
    lag_storeys: int = 1,
    crews: Mapping[str, int] | None = None,
    calendar: Calendar | None = None,
    cranes: Sequence[str] = ("CRANE-1",),
) -> Plan:
    """Propose a schedule for ``model`` following ``strategy``, with links to every element.

    Let's imagine a three-storey frame split into two pours per floor: ``generate_plan(model,
    "structure-first", zones=2, lag_storeys=1)`` gives column, beam and slab activities per storey and
    zone, walls and services following one storey behind the frame, each linked to its elements.

    Parameters
    ----------
    model : BuildingModel
    strategy : one of :data:`STRATEGIES`
    zones : number of equal plan bands (split along ``axis``), or explicit zones
    axis : "x" or "y", for a zone count
    rates : rate table (default: :func:`load_rates`)
    start : project start (date-times are naive local; a date starts at 08:00); default next Monday
    lag_storeys : ``structure-first``: how many storeys the follow-on trades stay behind the frame
    crews : crews per trade name (parallel crews on alternate zones); default 1, ``two-crews``: 2
    calendar : working calendar (default: Monday-Friday, 08:00-12:00 and 13:00-17:00)
    cranes : crane resource ids; lifts are assigned to the first (several cranes: see twin.sim)

    Returns
    -------
    Plan

    Raises
    ------
    InputError : unknown strategy, empty model, bad zone count
    """
    if strategy not in STRATEGIES:
        raise InputError(f"unknown strategy '{strategy}' (expected one of {', '.join(STRATEGIES)})")
    if not model.elements:
        raise InputError("the model has no physical elements to plan")
    if lag_storeys < 0:
        raise InputError(f"lag_storeys must be >= 0, got {lag_storeys}")
    rates = rates or load_rates()
    zone_list = tuple(split_zones(model, zones, axis=axis) if isinstance(zones, int) else zones)
    if not zone_list:
        raise InputError("at least one zone is needed")
    s_order = storey_order(model)
    storey_of = _storey_of(model, s_order)
    for name in set(storey_of.values()) - set(s_order):
        s_order[name] = len(s_order)
    zone_of = _zone_of(model, zone_list)
    z_index = {z.name: i for i, z in enumerate(zone_list)}
    trade_list = sorted(rates.trades.values(), key=lambda t: (t.order, t.name))
    t_index = {t.name: i for i, t in enumerate(trade_list)}
    groups: dict[Key, list[str]] = {}
    for gid, el in model.elements.items():
        key = (s_order[storey_of[gid]], z_index[zone_of[gid]], t_index[rates.trade_of(el)])
        groups.setdefault(key, []).append(gid)
    storey_names = {i: n for n, i in s_order.items()}
    ground = _ground_index(model, s_order)
    acts, ids, pairs, warnings = _activities(model, groups, trade_list, zone_list, storey_names, rates, strategy,
                                             ground)
    n_crews = {t.name: (crews or {}).get(t.name, 2 if strategy == "two-crews" else 1) for t in trade_list}
    key_of = {gid: key for key, gids in groups.items() for gid in gids}
    supports = {(key_of[p], key_of[s]) for s, p in support_graph(model.elements) if key_of[s] != key_of[p]}
    edges, unmet = _logic(sorted(groups), trade_list, strategy, lag_storeys, n_crews, supports)
    if unmet:
        a, b = unmet[0]
        warnings.append(f"{len(unmet)} support precedence(s) contradict the {strategy} order and were not added "
                        f"(e.g. {ids[b]} rests on work of {ids[a]}): twin conflicts will report them")
    rels = _reduce(edges, ids)
    begin = _start(start)
    acts, rels = _milestones(acts, rels, begin)
    resources, assignments = _resources(acts, trade_list, n_crews, cranes, rates, z_index)
    # The rate table's hours_per_day is the length of a crew-day (durations are working hours); the
    # calendar's own week says when those hours are worked.
    cal = calendar or Calendar("standard", name="Monday-Friday 08:00-17:00")
    schedule = Schedule(
        activities=acts, relationships=tuple(rels), calendars={cal.id: cal}, default_calendar=cal.id,
        start=begin, resources=resources, assignments=tuple(assignments),
        element_links=tuple(pairs), name=f"{strategy} plan", source="twin.plan", warnings=tuple(warnings),
    )
    return Plan(schedule, Links(tuple(pairs)), zone_list, strategy, rates, tuple(warnings))


def _start(start: datetime | date | None) -> datetime:
    if isinstance(start, datetime):
        return start
    if isinstance(start, date):
        return datetime.combine(start, time(8, 0))
    today = date.today()
    return datetime.combine(today + timedelta(days=(7 - today.weekday()) % 7 or 7), time(8, 0))


def _ground_index(model: BuildingModel, s_order: Mapping[str, int]) -> int:
    """Index of the ground storey: the highest storey at or below elevation 0 m (else the lowest)."""
    at_or_below = [s_order[s.name] for s in model.storeys
                   if s.elevation is not None and s.elevation <= 0.05 and s.name in s_order]
    return max(at_or_below) if at_or_below else 0


def _activities(model, groups, trade_list, zone_list, storey_names, rates, strategy, ground):
    acts: dict[str, Activity] = {}
    ids: dict[Key, str] = {}
    pairs: list[tuple[str, str]] = []
    warnings: list[str] = []
    zero: list[str] = []
    for key in sorted(groups):
        s, z, t = key
        trade, zone, storey = trade_list[t], zone_list[z].name, storey_names[s]
        gids = groups[key]
        qty, sources = 0.0, set()
        for gid in gids:
            value, src = element_quantity(model.elements[gid], trade.quantity, model)
            qty += value
            sources.add(src)
        hours, lifts = _duration(trade, qty, len(gids), rates)
        trips = (math.ceil(len(gids) * trade.hoist_per_element + qty * trade.hoist_per_unit - 1e-9)
                 if s > ground else 0)
        aid = f"L{s:02d}-{zone}-{trade.code}"
        if "none" in sources:
            zero.append(aid)
        acts[aid] = Activity(
            id=aid, name=f"{trade.label}, {storey}, {zone}", duration_h=hours, wbs=(storey, zone),
            attributes={
                "trade": trade.name, "phase": trade.phase, "zone": zone, "storey": storey,
                "storey_index": s, "crew": trade.crew, "crew_size": trade.crew_size, "lifts": lifts,
                "quantity": round(qty, 3), "unit": QUANTITY_KINDS[trade.quantity],
                "quantity_source": "+".join(sorted(sources)), "elements": len(gids), "strategy": strategy,
                "weather": trade.weather, "hoist_trips": trips,
            },
        )
        ids[key] = aid
        pairs.extend((aid, g) for g in gids)
    if zero:
        warnings.append(f"{len(zero)} activities include elements without quantities or geometry "
                        f"(minimum durations used): {', '.join(zero[:5])}{' ...' if len(zero) > 5 else ''}")
    return acts, ids, pairs, warnings


def _logic(keys: list[Key], trade_list: list[Trade], strategy: str, lag: int, n_crews: Mapping[str, int],
           supports: Iterable[tuple[Key, Key]] = ()) -> tuple[set[tuple[Key, Key]], list[tuple[Key, Key]]]:
    """Finish-to-start edges between group keys for ``strategy`` (see the module docstring), and the
    support pairs that could not be honoured.

    ``supports`` holds (supporter key, supported key) pairs (from :func:`twin.conflicts.support_graph`).
    A group resting on work of a higher storey (a stair flight on the slab it arrives at) leaves the
    location and storey chains: it follows its supports and its crew only. A group carrying a
    structure group (core walls under beams) rises with the structure. Then every support pair
    becomes an edge unless it would close a loop with the strategy's order; those are returned.
    """
    supports = sorted(set(supports))
    deferred = {b for a, b in supports if a[0] > b[0]}
    struct = {i for i, t in enumerate(trade_list) if t.phase == "structure"}
    edges: set[tuple[Key, Key]] = set()
    by_loc: dict[tuple[int, int], list[Key]] = {}
    for k in sorted((k for k in keys if k not in deferred), key=lambda k: k[2]):
        by_loc.setdefault((k[0], k[1]), []).append(k)
    # a group carrying structure is structure (core walls under the beams), whatever its trade's phase
    bearing = {a for a, b in supports if b[2] in struct and a not in deferred}
    frame = {loc: [k for k in ks if k[2] in struct or k in bearing] for loc, ks in by_loc.items()}
    for loc, ks in frame.items():          # in a location, a bearing group before the first group it carries
        rank = {k: float(k[2]) for k in ks}
        for a, b in supports:
            if a in bearing and a in rank and b in rank and b[2] in struct:
                rank[a] = min(rank[a], b[2] - 0.5)
        ks.sort(key=lambda k: (rank[k], k[2]))
    rest = {loc: [k for k in ks if k[2] not in struct and k not in bearing] for loc, ks in by_loc.items()}
    zones = sorted({k[1] for k in keys})
    levels_of = {z: sorted({s for (s, zz), ks in frame.items() if zz == z and ks}) for z in zones}
    all_levels = sorted({s for (s, _), ks in frame.items() if ks})
    # 1. within a location: structure trades in order, then the other trades in order
    for loc in by_loc:
        edges.update(zip(frame[loc], frame[loc][1:]))
        edges.update(zip(rest[loc], rest[loc][1:]))
    # 2. the structure of a storey on the structure below, same zone
    for z in zones:
        for lo, hi in zip(levels_of[z], levels_of[z][1:]):
            edges.add((frame[(lo, z)][-1], frame[(hi, z)][0]))
    # 3. the other trades after the structure: of their own location (structure-first: of the storey
    #    lag_storeys higher, or the top); a zone without structure follows every zone's structure
    for (s, z), ks in rest.items():
        if not ks:
            continue
        levels = levels_of[z] or all_levels
        if strategy == "structure-first":
            ahead = [lv for lv in levels if lv >= s + lag]
            target = ahead[0] if ahead else (levels[-1] if levels else None)
        else:
            below = [lv for lv in levels if lv <= s]
            target = below[-1] if below else None
        if target is None:
            continue
        for zz in ([z] if levels_of[z] else zones):
            if frame.get((target, zz)):
                edges.add((frame[(target, zz)][-1], ks[0]))
    # 4. each crew moves from location to location in the strategy's order (parallel crews: alternate zones)
    def flow_key(k: Key) -> tuple[int, int]:
        return (k[1], k[0]) if strategy == "zone-vertical" else (k[0], k[1])
    for t, trade in enumerate(trade_list):
        n = max(1, n_crews.get(trade.name, 1))
        for c in range(n):
            seq = sorted((k for k in keys if k[2] == t and k[1] % n == c), key=flow_key)
            edges.update(zip(seq, seq[1:]))
    # 5. storey by storey: every activity of a storey before any of the next storey
    if strategy in ("storey-by-storey", "two-crews"):
        placed = [k for k in keys if k not in deferred]
        storeys = sorted({k[0] for k in placed})
        for lo, hi in zip(storeys, storeys[1:]):
            lo_keys = [k for k in placed if k[0] == lo]
            hi_keys = [k for k in placed if k[0] == hi]
            has_succ = {a for a, b in edges if a in lo_keys and b[0] == lo and b not in deferred}
            has_pred = {b for a, b in edges if b in hi_keys and a[0] == hi}
            sinks = [k for k in lo_keys if k not in has_succ]
            sources = [k for k in hi_keys if k not in has_pred]
            edges.update((a, b) for a in sinks for b in sources)
    # 6. every support pair, unless the strategy's order already runs the other way
    return edges, _add_acyclic(edges, supports)


def _add_acyclic(edges: set[tuple[Key, Key]], extra: Sequence[tuple[Key, Key]]) -> list[tuple[Key, Key]]:
    """Add each of ``extra`` (in order) to ``edges`` unless it closes a loop; return those left out."""
    import networkx as nx

    g = nx.DiGraph(list(edges))
    left: list[tuple[Key, Key]] = []
    for a, b in extra:
        if (a, b) in edges:
            continue
        if a in g and b in g and nx.has_path(g, b, a):
            left.append((a, b))
            continue
        g.add_edge(a, b)
        edges.add((a, b))
    return left


def _reduce(edges: Iterable[tuple[Key, Key]], ids: Mapping[Key, str]) -> list[Relationship]:
    """Check acyclicity and drop FS edges implied by others (all lags are zero, so dates are kept)."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(ids.values())
    g.add_edges_from((ids[a], ids[b]) for a, b in edges)
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        raise ScheduleCycleError([u for u, _ in cycle])
    reduced = nx.transitive_reduction(g)
    order = {aid: i for i, aid in enumerate(ids.values())}
    return [Relationship(a, b) for a, b in sorted(reduced.edges, key=lambda e: (order[e[1]], order[e[0]]))]


def _milestones(acts: dict[str, Activity], rels: list[Relationship], begin: datetime):
    """START (start-on-or-after the project start, so files without a project date keep it) and FINISH."""
    preds = {r.succ for r in rels}
    succs = {r.pred for r in rels}
    out = {"START": Activity("START", "Project start", 0.0, ActivityType.START_MILESTONE,
                             constraints=(Constraint(ConstraintType.START_ON_OR_AFTER, begin),))}
    out.update(acts)
    out["FINISH"] = Activity("FINISH", "Project finish", 0.0, ActivityType.FINISH_MILESTONE)
    rels = ([Relationship("START", a) for a in acts if a not in preds] + rels
            + [Relationship(a, "FINISH") for a in acts if a not in succs])
    return out, rels


def _resources(acts, trade_list, n_crews, cranes, rates, zone_idx):
    resources: dict[str, Resource] = {}
    assignments: list[Assignment] = []
    by_name = {t.name: t for t in trade_list}
    for a in acts.values():
        if a.type.is_milestone:
            continue
        trade = by_name[a.attributes["trade"]]
        n = max(1, n_crews.get(trade.name, 1))
        zi = zone_idx[a.attributes["zone"]]
        rid = f"CREW-{trade.code}-{zi % n + 1}"
        if rid not in resources:
            resources[rid] = Resource(rid, f"{trade.label} crew {zi % n + 1}", "labor", 1.0,
                                      attributes={"trade": trade.name, "crew": trade.crew, "crew_size": trade.crew_size})
        assignments.append(Assignment(a.id, rid, 1.0, a.duration_h))
        if a.attributes["lifts"] and cranes:
            crane = cranes[0]
            resources.setdefault(crane, Resource(crane, f"Tower crane {crane}", "equipment", 1.0,
                                                 attributes={"lift_time_min": rates.lift_time_min}))
            assignments.append(Assignment(a.id, crane, 1.0, round(a.attributes["lifts"] * rates.lift_time_min / 60.0, 3)))
    return resources, assignments

