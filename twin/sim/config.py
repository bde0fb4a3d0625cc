"""The simulator's inputs as plain records: uncertainty, risk events and the simulation config.

A scenario file (``twin.scenario``) or a bare schedule maps onto :class:`SimConfig`; the engine, the
vectorised path and the Monte Carlo driver only read these records. :func:`validate_config` refuses,
before any run, what can never work (bad durations, demands above capacity, unknown resources, risk
events naming unknown activities), naming the offenders.

Duration model (working hours, per activity):

* an explicit ``Uncertainty.per_activity[id]`` distribution wins;
* else the schedule's three-point estimate (``Activity.three_point``) with ``Uncertainty.kind``
  (beta-PERT by default) when ``use_three_point`` is on;
* else the planned duration times ``default_spread`` (0.9, 1.0, 1.3 by default) with ``kind``;
* started work samples its remaining duration: the distribution scaled by remaining / planned;
* milestones, complete and level-of-effort work take no sampled time.
Risk events add, in runs where they occur (probability ``probability``), a sampled delay in working
hours to each affected activity's duration.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
from numpy.typing import NDArray

from twin.errors import InputError
from twin.schedule import Schedule
from twin.sim import distributions as dist
from twin.sim.resources import Demand, ResourcePool, validate_demands, validate_pools
from twin.sim.streams import stream_keys, uniform_matrix
from twin.sim.weather import WeatherModel, validate_weather

__all__ = ["RiskEvent", "Uncertainty", "SimConfig", "validate_config", "activity_distributions",
           "sample_durations"]


@dataclass(frozen=True, slots=True)
class RiskEvent:
    """A discrete risk: occurs in a run with ``probability`` and then delays ``activities`` by ``impact_h``."""

    id: str
    probability: float
    impact_h: dist.Distribution
    activities: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Uncertainty:
    """How durations vary (see the module docstring)."""

    kind: str = "pert"
    default_spread: tuple[float, float, float] = dist.DEFAULT_SPREAD
    use_three_point: bool = True
    per_activity: Mapping[str, dist.Distribution] = field(default_factory=dict)
    risks: tuple[RiskEvent, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class SimConfig:
    """Everything one simulated scenario needs.

    Attributes
    ----------
    schedule : the schedule (activities, logic, calendars, progress).
    name : scenario name (used in comparison tables).
    pools : shared resources; ``demands`` what each activity needs of them (by activity id).
    weather : daily weather model, or None for no weather stops.
    sensitivity : activity id -> {"rain", "wind"}; None derives it from names and trades
        (:func:`twin.sim.weather.get_sensitivity`).
    uncertainty : duration uncertainty, or None for planned durations.
    unlimited_resources : ignore ``demands`` (the ``--deterministic`` mode sets this).
    element_links : (activity id, element GlobalId) pairs, for element completion probabilities.
    """

    schedule: Schedule
    name: str = ""
    pools: tuple[ResourcePool, ...] = ()
    demands: Mapping[str, Demand] = field(default_factory=dict)
    weather: WeatherModel | None = None
    sensitivity: Mapping[str, frozenset[str]] | None = None
    uncertainty: Uncertainty | None = field(default_factory=Uncertainty)
    unlimited_resources: bool = False
    element_links: tuple[tuple[str, str], ...] = ()

    @property
    def uses_resources(self) -> bool:
        return not self.unlimited_resources and any(not d.is_empty for d in self.demands.values())

    def deterministic(self) -> "SimConfig":
        """The same scenario with no uncertainty, no weather and unlimited resources (equals the CPM)."""
        return SimConfig(self.schedule, self.name, self.pools, self.demands, None, self.sensitivity,
                         None, True, self.element_links)


def validate_config(cfg: SimConfig) -> None:
    """Refuse a config that cannot run, naming the activities, resources, months or risks at fault.

    Raises
    ------
    InputError
    """
    acts = cfg.schedule.activities
    bad = [a.id for a in acts.values() if not math.isfinite(a.duration_h) or a.duration_h < 0]
    if bad:
        raise InputError(f"negative or non-finite duration for activit{'y' if len(bad) == 1 else 'ies'} "
                         f"{', '.join(repr(b) for b in bad[:10])}")
    zero_tasks = [a.id for a in acts.values() if a.duration_h == 0 and not a.type.is_milestone
                  and a.actual_finish is None and a.type.value == "task" and a.id in cfg.demands
                  and not cfg.demands[a.id].is_empty]
    if zero_tasks:
        raise InputError(f"zero duration for activities that need resources: {', '.join(map(repr, zero_tasks[:10]))}")
    validate_pools(cfg.pools)
    unknown = [aid for aid in cfg.demands if aid not in acts]
    if unknown:
        raise InputError(f"resource demands name unknown activities: {', '.join(map(repr, unknown[:10]))}")
    validate_demands(cfg.demands, cfg.pools)
    if cfg.weather is not None:
        validate_weather(cfg.weather)
    u = cfg.uncertainty
    if u is not None:
        if u.kind not in dist.KINDS:
            raise InputError(f"uncertainty: unknown distribution '{u.kind}', expected one of {', '.join(dist.KINDS)}")
        lo, m, hi = u.default_spread
        if not (0 <= lo <= m <= hi) or m <= 0:
            raise InputError(f"uncertainty: default spread must satisfy 0 <= optimistic <= most likely <= "
                             f"pessimistic and most likely > 0, got {u.default_spread}")
        for aid, d in u.per_activity.items():
            if aid not in acts:
                raise InputError(f"uncertainty: distribution given for unknown activity '{aid}'")
            dist.check(d, f"activity '{aid}'")
        for a in acts.values():
            tp = a.three_point
            if tp is not None and u.use_three_point and a.id not in u.per_activity:
                dist.check(dist.Distribution("triangular", tp.optimistic, tp.most_likely, tp.pessimistic),
                           f"activity '{a.id}' three-point estimate")
        for r in u.risks:
            if not (0.0 <= r.probability <= 1.0):
                raise InputError(f"risk '{r.id}': probability must be in [0, 1], got {r.probability}")
            dist.check(r.impact_h, f"risk '{r.id}' impact")
            missing = [x for x in r.activities if x not in acts]
            if missing:
                raise InputError(f"risk '{r.id}' affects unknown activities: {', '.join(map(repr, missing))}")


def activity_distributions(cfg: SimConfig, ids: list[str]) -> list[dist.Distribution | None]:
    """The duration distribution (hours, whole activity) of each activity; None: no sampled time."""
    u = cfg.uncertainty
    out: list[dist.Distribution | None] = []
    for aid in ids:
        a = cfg.schedule.activities[aid]
        if u is None or a.type.is_milestone or a.actual_finish is not None or a.type.value in (
                "level_of_effort", "wbs_summary"):
            out.append(None)
        elif aid in u.per_activity:
            out.append(u.per_activity[aid])
        elif a.three_point is not None and u.use_three_point:
            tp = a.three_point
            out.append(dist.from_three_point(tp.optimistic, tp.most_likely, tp.pessimistic, u.kind))
        elif a.duration_h > 0:
            lo, m, hi = u.default_spread
            h = a.duration_h
            out.append(dist.from_three_point(lo * h, m * h, hi * h, u.kind))
        else:
            out.append(None)
    return out


def sample_durations(cfg: SimConfig, ids: list[str], planned_min: NDArray[np.int64], seed: int,
                     runs: NDArray[np.int64]) -> NDArray[np.int64]:
    """Remaining working minutes per (run, activity), shape (len(runs), len(ids)).

    Draws come from :mod:`twin.sim.streams` (purpose "duration", keyed by activity id), so the same
    activity id gets the same draws in every scenario and in both simulation paths.
    """
    runs = np.asarray(runs, dtype=np.int64)
    if cfg.uncertainty is None:
        return np.broadcast_to(planned_min, (len(runs), len(ids))).copy()
    dists = activity_distributions(cfg, ids)
    out = np.empty((len(runs), len(ids)), dtype=np.int64)
    fixed_cols = [j for j, d in enumerate(dists) if d is None]
    out[:, fixed_cols] = planned_min[fixed_cols][None, :]
    keys = stream_keys(seed, "duration", ids)
    cols = [j for j, d in enumerate(dists) if d is not None]
    if cols:
        u = uniform_matrix(keys[cols], runs)
        groups: dict[dist.Distribution, list[int]] = {}
        for k, j in enumerate(cols):
            groups.setdefault(_unit(dists[j]), []).append(k)
        for unit_d, ks in groups.items():
            ks_arr = np.asarray(ks)
            jj = np.asarray(cols)[ks_arr]
            scale = np.asarray([_scale(dists[j]) for j in jj])
            hours = dist.quantile(unit_d, u[:, ks_arr]) * scale[None, :]
            full = np.asarray([cfg.schedule.activities[ids[j]].duration_h for j in jj])
            frac = np.where(full > 0, planned_min[jj] / np.maximum(full * 60.0, 1e-9), 1.0)
            out[:, jj] = np.rint(hours * 60.0 * frac[None, :]).astype(np.int64)
    for r in cfg.uncertainty.risks:
        idx = [ids.index(x) for x in r.activities if x in ids]
        if not idx:
            continue
        rk = stream_keys(seed, "risk", [r.id])
        occurs = uniform_matrix(rk, runs, sub=0)[:, 0] < r.probability
        delay = dist.quantile(r.impact_h, uniform_matrix(rk, runs, sub=1)[:, 0])
        add = np.rint(np.where(occurs, delay, 0.0) * 60.0).astype(np.int64)
        out[:, idx] += add[:, None]
    return np.maximum(out, 0)


def _scale(d: dist.Distribution) -> float:
    """Scale that maps the unit-shaped distribution back to ``d`` (so same-shaped ones share a table)."""
    if d.kind in ("pert", "triangular", "uniform") and d.high > 0:
        return d.high
    return 1.0


def _unit(d: dist.Distribution) -> dist.Distribution:
    s = _scale(d)
    if s == 1.0:
        return d
    return dist.Distribution(d.kind, d.low / s, d.mode / s, 1.0, d.lam)
