"""Shared resources for the simulator: crews by trade, tower cranes, hoists, and their monitoring.

Records
-------
:class:`ResourcePool` describes one pool (a trade's crews, a tower crane or a group of identical
cranes, a hoist): ``capacity`` units (``None``: unlimited), and for lifting equipment a lift-time
distribution in **minutes** (``lift_min``), a position, a radius and a capacity in tonnes used by
:func:`cranes_reaching` to say which cranes can serve an element.
:class:`Demand` is what one activity needs: crew units per pool (held for the whole activity) and a
number of lifts per crane/hoist pool (each lift holds one unit of the pool for one lift time).

Runtime
-------
:class:`ResourceBroker` is what the engine uses: it grants an activity all the units it needs from
several pools at once (no hold-and-wait), serving waiting requests first-fit in request order.
:class:`MonitoredPool` (used by the queueing validations) wraps a ``simpy.Container``
(multi-unit, strictly first come first served). ``yield pool.get(units)`` returns once the units are
granted and ``pool.put(units)`` gives them back (call it in a ``finally`` so that an interrupt
releases them, the equivalent of SimPy's ``with resource.request()``). Both record the busy
unit-time, each request's wait and the wait per calendar day, from which ``utilisation`` (allocated
unit-time over capacity x elapsed time) and mean waits follow.

Validation (:func:`validate_demands`) happens before a run: a demand above a pool's capacity, or for
a pool nobody provides, is refused with the activity and pool named.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from twin.errors import InputError
from twin.sim.distributions import Distribution, check as check_distribution

__all__ = [
    "POOL_KINDS",
    "ResourcePool",
    "Demand",
    "PoolStats",
    "MonitoredPool",
    "ResourceBroker",
    "validate_pools",
    "validate_demands",
    "cranes_reaching",
]

POOL_KINDS = ("crew", "crane", "hoist", "equipment")


@dataclass(frozen=True, slots=True)
class ResourcePool:
    """A pool of identical units shared by activities.

    Attributes
    ----------
    name : unique id, used in demands and results.
    kind : "crew", "crane", "hoist" or "equipment".
    capacity : number of units (crews of the trade, cranes in the group); None = unlimited.
    trade : for crews, the trade they do (activities of that trade use the pool by default).
    lift_min : for cranes and hoists, the time one lift holds a unit, minutes.
    position : (x, y) of a crane's mast in model coordinates, metres; radius its reach, metres.
    max_load_t : heaviest lift, tonnes (informational; :func:`cranes_reaching` checks it).
    """

    name: str
    kind: str = "crew"
    capacity: int | None = 1
    trade: str = ""
    lift_min: Distribution | None = None
    position: tuple[float, float] | None = None
    radius: float | None = None
    max_load_t: float | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_lifting(self) -> bool:
        return self.kind in ("crane", "hoist")


@dataclass(frozen=True, slots=True)
class Demand:
    """What one activity needs: ``crews`` {pool: units held throughout}, ``lifts`` {pool: lift count}."""

    crews: Mapping[str, int] = field(default_factory=dict)
    lifts: Mapping[str, int] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not any(self.crews.values()) and not any(self.lifts.values())


@dataclass(frozen=True, slots=True)
class PoolStats:
    """Per-run figures for one pool: busy unit-minutes, number of requests, total and per-day waits."""

    name: str
    capacity: int
    busy_unit_min: float
    requests: int
    waited: int
    wait_min_total: float
    wait_min_by_day: Mapping[int, float]

    def utilisation(self, elapsed_min: float) -> float:
        return self.busy_unit_min / (self.capacity * elapsed_min) if elapsed_min > 0 and self.capacity else 0.0

    @property
    def mean_wait_min(self) -> float:
        return self.wait_min_total / self.requests if self.requests else 0.0


def validate_pools(pools: Sequence[ResourcePool]) -> None:
    """Raise :class:`InputError` naming the pool on a duplicate name, bad kind, capacity or lift time."""
    seen: set[str] = set()
    for p in pools:
        if p.name in seen:
            raise InputError(f"resource '{p.name}' is defined twice")
        seen.add(p.name)
        if p.kind not in POOL_KINDS:
            raise InputError(f"resource '{p.name}': kind must be one of {', '.join(POOL_KINDS)}, got '{p.kind}'")
        if p.capacity is not None and (not isinstance(p.capacity, int) or p.capacity < 1):
            raise InputError(f"resource '{p.name}': capacity must be a whole number >= 1, got {p.capacity!r}")
        if p.is_lifting:
            if p.lift_min is None:
                raise InputError(f"resource '{p.name}': a {p.kind} needs a lift time (lift_min)")
            check_distribution(p.lift_min, f"resource '{p.name}' lift_min")
        if p.radius is not None and not (math.isfinite(p.radius) and p.radius > 0):
            raise InputError(f"resource '{p.name}': radius must be > 0 metres, got {p.radius}")


def validate_demands(demands: Mapping[str, Demand], pools: Sequence[ResourcePool]) -> None:
    """Refuse, before a run, demands that can never be met (naming the activity and the pool).

    Raises
    ------
    InputError
        an activity needs a pool nobody provides, needs more units than the pool has, needs a
        negative count, or asks for lifts from a pool that is not a crane or hoist.
    """
    by_name = {p.name: p for p in pools}
    problems: list[str] = []
    for aid, d in demands.items():
        for pname, units in d.crews.items():
            pool = by_name.get(pname)
            if pool is None:
                problems.append(f"activity '{aid}' needs resource '{pname}', which no pool provides")
            elif not isinstance(units, (int, np.integer)) or units < 0:
                problems.append(f"activity '{aid}' needs {units!r} units of '{pname}'; expected a whole number >= 0")
            elif pool.capacity is not None and units > pool.capacity:
                problems.append(f"activity '{aid}' needs {units} units of '{pname}', which has only {pool.capacity}")
        for pname, lifts in d.lifts.items():
            pool = by_name.get(pname)
            if pool is None:
                problems.append(f"activity '{aid}' needs lifts from '{pname}', which no pool provides")
            elif not pool.is_lifting:
                problems.append(f"activity '{aid}' asks for lifts from '{pname}', a {pool.kind}, not a crane or hoist")
            elif not isinstance(lifts, (int, np.integer)) or lifts < 0:
                problems.append(f"activity '{aid}' needs {lifts!r} lifts from '{pname}'; expected a whole number >= 0")
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise InputError("; ".join(problems[:5]) + more)


def cranes_reaching(point: tuple[float, float], cranes: Iterable[ResourcePool], load_t: float = 0.0) -> list[str]:
    """Names of the cranes whose radius covers ``point`` (x, y in metres) and that can lift ``load_t``.

    Ordered nearest first. Cranes without a position or radius are taken to reach everywhere.
    """
    out: list[tuple[float, str]] = []
    for c in cranes:
        if not c.is_lifting:
            continue
        if c.max_load_t is not None and load_t > c.max_load_t:
            continue
        if c.position is None or c.radius is None:
            out.append((math.inf, c.name))
            continue
        dist = math.hypot(point[0] - c.position[0], point[1] - c.position[1])
        if dist <= c.radius:
            out.append((dist, c.name))
    return [name for _, name in sorted(out)]


class MonitoredPool:
    """A simpy ``Container`` of ``capacity`` units that records utilisation and waits.

    Parameters
    ----------
    env : simpy.Environment (time in minutes).
    name, capacity : the pool's name and number of units.
    day_minutes : length of a "day" for the per-day wait figures (1440: simulation time in minutes).
    """

    def __init__(self, env: Any, name: str, capacity: int, day_minutes: float = 1440.0) -> None:
        import simpy

        if capacity < 1:
            raise InputError(f'resource "{name}": capacity must be > 0, got {capacity}')
        self.env = env
        self.name = name
        self.capacity = capacity
        self._container = simpy.Container(env, capacity=capacity, init=capacity)
        self._day = day_minutes
        self._busy = 0
        self._last = env.now
        self._busy_area = 0.0
        self.requests = 0
        self.waited = 0
        self.wait_total = 0.0
        self.wait_by_day: dict[int, float] = {}

    def _account(self) -> None:
        now = self.env.now
        self._busy_area += self._busy * (now - self._last)
        self._last = now

    def get(self, units: int = 1):
        """Event that fires when ``units`` are granted (FIFO); records the wait."""
        asked = self.env.now
        event = self._container.get(units)
        self.requests += 1

        def granted(_ev: Any) -> None:
            self._account()
            self._busy += units
            wait = self.env.now - asked
            if wait > 0:
                self.waited += 1
                self.wait_total += wait
                day = int(asked // self._day)
                self.wait_by_day[day] = self.wait_by_day.get(day, 0.0) + wait

        if event.triggered:
            granted(event)
        else:
            event.callbacks.append(granted)
        return event

    def put(self, units: int = 1) -> None:
        """Give ``units`` back."""
        self._account()
        self._busy -= units
        self._container.put(units)

    @property
    def in_use(self) -> int:
        return self._busy

    def stats(self) -> PoolStats:
        self._account()
        return PoolStats(self.name, self.capacity, self._busy_area, self.requests, self.waited,
                         self.wait_total, dict(self.wait_by_day))


class ResourceBroker:
    """All shared pools of one run, granting an activity everything it needs at once.

    A request asks for ``{pool: units}``. It is granted when every pool in it has that many units free,
    in one step, so nothing is ever held while waiting for something else (no hold-and-wait, no
    deadlock, no crew idling while its activity waits for a second trade). Waiting requests are
    served in the order they were made, each as soon as all it needs is free: first fit, so a request
    that fits may start before an earlier one that does not, as in a parallel schedule-generation
    scheme with a first-come priority. Per pool it records the same figures as :class:`MonitoredPool`.

    Parameters
    ----------
    env : simpy.Environment (time in minutes).
    capacities : {pool name: units}, every unit count >= 1.
    """

    def __init__(self, env: Any, capacities: Mapping[str, int], day_minutes: float = 1440.0) -> None:
        for name, cap in capacities.items():
            if cap < 1:
                raise InputError(f'resource "{name}": capacity must be > 0, got {cap}')
        self.env = env
        self.capacity = dict(capacities)
        self.free = dict(capacities)
        self._day = day_minutes
        self._pending: list[tuple[Any, Mapping[str, int], float]] = []
        self._last = {n: env.now for n in capacities}
        self._area = {n: 0.0 for n in capacities}
        self._requests = {n: 0 for n in capacities}
        self._waited = {n: 0 for n in capacities}
        self._wait_total = {n: 0.0 for n in capacities}
        self._wait_by_day: dict[str, dict[int, float]] = {n: {} for n in capacities}

    def _account(self, name: str) -> None:
        now = self.env.now
        self._area[name] += (self.capacity[name] - self.free[name]) * (now - self._last[name])
        self._last[name] = now

    def _fits(self, demand: Mapping[str, int]) -> bool:
        return all(self.free[n] >= u for n, u in demand.items())

    def _grant(self, event: Any, demand: Mapping[str, int], asked: float) -> None:
        wait = self.env.now - asked
        day = int(asked // self._day)
        for n, u in demand.items():
            self._account(n)
            self.free[n] -= u
            if wait > 0:
                self._waited[n] += 1
                self._wait_total[n] += wait
                self._wait_by_day[n][day] = self._wait_by_day[n].get(day, 0.0) + wait
        event.succeed()

    def request(self, demand: Mapping[str, int]):
        """Event that fires once all of ``demand`` ({pool: units}) is granted."""
        event = self.env.event()
        for n in demand:
            self._requests[n] += 1
        if self._fits(demand):
            self._grant(event, demand, self.env.now)
        else:
            self._pending.append((event, demand, self.env.now))
        return event

    def release(self, demand: Mapping[str, int]) -> None:
        """Give ``demand`` back, then grant waiting requests that now fit, oldest first."""
        for n, u in demand.items():
            self._account(n)
            self.free[n] += u
        if self._pending:
            still = []
            for event, dem, asked in self._pending:
                if self._fits(dem):
                    self._grant(event, dem, asked)
                else:
                    still.append((event, dem, asked))
            self._pending = still

    def stats(self) -> tuple[PoolStats, ...]:
        out = []
        for n in self.capacity:
            self._account(n)
            out.append(PoolStats(n, self.capacity[n], self._area[n], self._requests[n], self._waited[n],
                                 self._wait_total[n], dict(self._wait_by_day[n])))
        return tuple(out)
