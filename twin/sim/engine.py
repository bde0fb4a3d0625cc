"""The SimPy engine: activities as processes that wait for logic, acquire crews and cranes, and work
through their (weather-stopped) calendars.

One replication (:func:`simulate_run`):

* an activity's dates are settled once every predecessor's dates are known, by the CPM's forward
  rules (:func:`twin.sim.network.activity_dates_one`: all four relationship types, lags in working
  time on the lag calendar, constraints, progress). An activity that needs no shared resource is
  settled at once (no process, no event: it cannot be delayed by anything but its logic);
* an activity that needs resources is a generator process: it waits until that start, requests all
  its crews at once (:class:`twin.sim.resources.ResourceBroker`: granted together when all are free,
  waiting requests served first-fit in request order, so no crew is held while another is awaited
  and nothing can deadlock) and, once granted, starts at the next working minute of its calendar;
* an activity with ``n`` crane or hoist lifts splits its work into ``n`` equal parts, each beginning
  with one lift: it queues for a unit of the crane pool, holds it for one sampled lift time (working
  minutes, stopped on windy days), releases it, then works the rest of that part. Lift time counts
  inside the planned duration; waiting for the crane adds to it;
* weather: the engine uses a per-day gating design rather than interrupts: a rain-sensitive activity
  works on its calendar minus that run's wet days, a wind-sensitive one (and every lift) minus the
  windy days (:func:`weather_calendar`). It is equivalent to interrupting the work at the start of a
  stopped day and resuming on the next workable one, with resources kept (crews stay booked), and it
  keeps working-time arithmetic exact; lags run on the ordinary calendars.

With no demands (or ``unlimited_resources``) and no weather, the dates are exactly the CPM's (and the
vectorised path's for the same durations). Times are clock minutes (:mod:`twin.worktime`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray

from twin.schedule import Calendar
from twin.sim import distributions as dist
from twin.sim.config import SimConfig
from twin.sim.network import SimNetwork, activity_dates_one, alap_dates_one, compile_network, loe_dates_one
from twin.sim.resources import PoolStats, ResourceBroker
from twin.sim.streams import stream_keys, sub_uniforms
from twin.sim.vectorised import critical_mask
from twin.sim.weather import get_sensitivity, sample_weather
from twin.worktime import WorkCalendar, day_number

__all__ = ["EngineModel", "RunRecord", "build_model", "simulate_run", "weather_calendar"]

_NO_SENS: frozenset[str] = frozenset()


@dataclass(eq=False)
class EngineModel:
    """A config compiled once per process: network, per-activity demands and weather sensitivity."""

    config: SimConfig
    net: SimNetwork
    crews: list[list[tuple[str, int]]]
    lifts: list[list[tuple[str, int]]]
    sens: list[frozenset[str]]
    lift_dist: dict[str, dist.Distribution]
    capacity: dict[str, int]
    horizon_days: int
    start_day: date
    lift_keys: NDArray[np.uint64] = field(default_factory=lambda: np.empty(0, np.uint64))


@dataclass(frozen=True, slots=True, eq=False)
class RunRecord:
    """One replication: dates in clock minutes, shape (n,); pool figures; weather days lost; events."""

    run: int
    start: NDArray[np.int64]
    finish: NDArray[np.int64]
    critical: NDArray[np.bool_]
    pools: tuple[PoolStats, ...]
    weather_days_lost: int
    events: int


def build_model(config: SimConfig, net: SimNetwork | None = None) -> EngineModel:
    """Compile ``config`` for the engine (call once per process and reuse for many runs)."""
    net = net or compile_network(config.schedule)
    n = net.n
    crews: list[list[tuple[str, int]]] = [[] for _ in range(n)]
    lifts: list[list[tuple[str, int]]] = [[] for _ in range(n)]
    if not config.unlimited_resources:
        for aid, dem in config.demands.items():
            i = net.index[aid]
            crews[i] = sorted((p, int(u)) for p, u in dem.crews.items() if u > 0)
            lifts[i] = sorted((p, int(k)) for p, k in dem.lifts.items() if k > 0)
    sens: list[frozenset[str]] = []
    for aid in net.ids:
        a = config.schedule.activities[aid]
        if config.weather is None:
            sens.append(_NO_SENS)
        elif config.sensitivity is not None:
            sens.append(frozenset(config.sensitivity.get(aid, _NO_SENS)))
        else:
            sens.append(get_sensitivity(a.name, a.attributes))
    span = int((max(1, net.dur.sum() // 480)) + 3 * 365)
    return EngineModel(
        config=config, net=net, crews=crews, lifts=lifts, sens=sens,
        lift_dist={p.name: p.lift_min for p in config.pools if p.lift_min is not None},
        capacity={p.name: (p.capacity if p.capacity is not None else 0) for p in config.pools},
        horizon_days=min(span, 366 * 30), start_day=net.data_date.date(),
        lift_keys=stream_keys(0, "lift", net.ids),
    )


def weather_calendar(base: Calendar, stop_days: list[date], origin: date, span_days: int) -> WorkCalendar:
    """``base`` with every day in ``stop_days`` made non-working (a weather-stopped calendar)."""
    exc = dict(base.exceptions)
    for d in stop_days:
        exc[d] = ()
    return WorkCalendar(replace(base, exceptions=exc), origin=origin, span_days=span_days)


def _run_weather(model: EngineModel, seed: int, run: int):
    """Per-activity calendars for this run, the stop-day masks, and a cache of compiled calendars."""
    net, cfg = model.net, model.config
    cals = list(net.cals)
    if cfg.weather is None or not any(model.sens) and not any(model.lifts):
        return cals, None, None, {}
    wet, windy = sample_weather(cfg.weather, model.start_day, model.horizon_days, seed, [run])
    wet, windy = wet[0], windy[0]
    days = [model.start_day + timedelta(days=k) for k in range(model.horizon_days)]
    cache: dict[tuple[str, frozenset[str]], WorkCalendar] = {}

    def get(cid: str, sens: frozenset[str]) -> WorkCalendar:
        key = (cid, sens)
        if key not in cache:
            mask = np.zeros(model.horizon_days, dtype=bool)
            if "rain" in sens:
                mask |= wet
            if "wind" in sens:
                mask |= windy
            base = net.schedule.calendars.get(cid) or net.wcals[cid].calendar
            cache[key] = weather_calendar(base, [days[k] for k in np.flatnonzero(mask)], model.start_day,
                                          model.horizon_days)
        return cache[key]

    for i, s in enumerate(model.sens):
        if s:
            cals[i] = get(net.cal_ids[i], s)
    return cals, wet, windy, get


def simulate_run(model: EngineModel, durations: NDArray[np.int64], seed: int, run: int) -> RunRecord:
    """Simulate one replication with the given remaining durations (minutes, shape (n,))."""
    import simpy

    net = model.net
    n = net.n
    env = simpy.Environment(initial_time=net.dd)
    broker = ResourceBroker(env, {name: cap for name, cap in model.capacity.items() if cap > 0})
    cals, wet, windy, get_cal = _run_weather(model, seed, run)
    ds = [0] * n
    df = [0] * n
    es = [0] * n
    ef = [0] * n
    drv = [-1] * n
    dur = [int(x) for x in durations]
    needs = [bool((model.crews[i] or model.lifts[i]) and dur[i] > 0 and not net.complete[i]
                  and not net.milestone[i]) for i in range(n)]
    waiting = [len(links) for links in net.in_links]

    def release(first: int) -> None:
        """``first``'s dates are known: settle every successor that needs no resource, start the others."""
        stack = [first]
        while stack:
            k = stack.pop()
            for j, _, _, _ in net.out_links[k]:
                waiting[j] -= 1
                if waiting[j] == 0:
                    if needs[j]:
                        env.process(activity(j))
                    else:
                        es[j], ef[j], ds[j], df[j], drv[j] = activity_dates_one(net, j, ds, df, dur[j], cals[j])
                        stack.append(j)

    def activity(i: int):
        """An activity that needs crews or lifts: wait for its start, acquire, work, release."""
        cal = cals[i]
        d = dur[i]
        s, e, dsi, dfi, dr = activity_dates_one(net, i, ds, df, d, cal)
        if s > env.now:
            yield env.timeout(s - env.now)
        held = {name: units for name, units in model.crews[i] if name in broker.capacity}
        if held:
            yield broker.request(held)
        try:
            start = cal.next_working(math.ceil(env.now))
            if start != s:
                dr = -1  # the start was driven by a resource wait
            if not model.lifts[i]:
                finish = cal.add(start, d, "finish")
                es[i], ef[i], drv[i] = start, finish, dr
                ds[i] = dsi if net.started[i] else start
                df[i] = finish
                release(i)
                yield env.timeout(finish - env.now)
            else:
                finish = yield from _lifts(env, model, broker, i, d, start, cal, get_cal, seed, run)
                es[i], ef[i], drv[i] = start, finish, dr
                ds[i] = dsi if net.started[i] else start
                df[i] = finish
                release(i)
        finally:
            if held:
                broker.release(held)

    for i in [k for k in range(n) if waiting[k] == 0]:  # the roots, listed before any release
        if needs[i]:
            env.process(activity(i))
        else:
            es[i], ef[i], ds[i], df[i], drv[i] = activity_dates_one(net, i, ds, df, dur[i], cals[i])
            release(i)
    env.run()
    loe_dates_one(net, es, ef, ds, df)
    alap_dates_one(net, es, ef, ds, dur)
    start = np.asarray(es, dtype=np.int64)
    finish = np.asarray(ef, dtype=np.int64)
    driver = np.asarray(drv, dtype=np.int64)
    crit = critical_mask(net, finish[None, :], driver[None, :])[0]
    live = ~net.complete
    elapsed = float(finish[live].max() - net.dd) if live.any() else 0.0
    stats = broker.stats()
    lost = _weather_days_lost(model, start, finish, wet, windy)
    return RunRecord(run, start, finish, crit, stats, lost, next(env._eid))


def _lifts(env, model: EngineModel, broker, i: int, d: int, start: int, cal: WorkCalendar, get_cal,
           seed: int, run: int):
    """Work ``d`` minutes in parts, each after one lift; returns the finish (clock minutes)."""
    total = sum(k for _, k in model.lifts[i])
    share = d / total
    t = start
    if t > env.now:
        yield env.timeout(t - env.now)
    lift_cal = cal
    if get_cal and "wind" not in model.sens[i]:
        lift_cal = get_cal(model.net.cal_ids[i], model.sens[i] | {"wind"})
    key = model.lift_keys[i] ^ np.uint64(seed)
    k = 0
    done = 0.0
    for name, count in model.lifts[i]:
        u = sub_uniforms(key, run, np.arange(k + 1, k + count + 1))
        lift_min = np.rint(dist.quantile(model.lift_dist[name], u)).astype(np.int64).tolist()
        k += count
        shared = {name: 1} if name in broker.capacity else None
        for j in range(count):
            if shared:
                yield broker.request(shared)
            try:
                ls = lift_cal.next_working(math.ceil(env.now))
                le = lift_cal.add(ls, int(lift_min[j]), "finish") if lift_min[j] > 0 else ls
                if le > env.now:
                    yield env.timeout(le - env.now)
            finally:
                if shared:
                    broker.release(shared)
            done += share
            work = max(0, int(round(done)) - int(round(done - share)) - int(lift_min[j]))
            t = cal.add(cal.next_working(math.ceil(env.now)), work, "finish") if work else math.ceil(env.now)
            if t > env.now:
                yield env.timeout(t - env.now)
    return math.ceil(env.now)


def _weather_days_lost(model: EngineModel, start, finish, wet, windy) -> int:
    """Distinct calendar days on which weather stopped an activity that would otherwise have worked."""
    if wet is None:
        return 0
    lost = np.zeros(model.horizon_days, dtype=bool)
    d0 = day_number(model.start_day)
    for i, sens in enumerate(model.sens):
        if not sens or model.net.complete[i] or finish[i] <= start[i]:
            continue
        a, b = start[i] // 1440 - d0, finish[i] // 1440 - d0
        a, b = max(0, int(a)), min(model.horizon_days - 1, int(b))
        if b < a:
            continue
        stop = np.zeros(b - a + 1, dtype=bool)
        if "rain" in sens:
            stop |= wet[a:b + 1]
        if "wind" in sens:
            stop |= windy[a:b + 1]
        if not stop.any():
            continue
        base = model.net.wcals[model.net.cal_ids[i]]
        bounds = (np.arange(a, b + 2) + d0) * 1440
        works = np.diff(base.offsets(bounds)) > 0
        lost[a:b + 1] |= stop & works
    return int(lost.sum())
