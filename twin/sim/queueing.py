"""Queueing models that validate the resource machinery against closed forms.

* :func:`erlang_c` (M/M/c): probability of waiting and mean wait for ``c`` cranes or hoists serving
  lift requests arriving as a Poisson stream with exponential lift times.
* :func:`finite_source` (M/M/1//N, the machine-repairman model): N trucks cycling between one loader
  and travel; loads per hour, loader utilisation and mean queue wait.
* :func:`simulate_mmc` and :func:`simulate_finite_source` run the same systems as SimPy processes over
  :class:`twin.sim.resources.MonitoredPool` (the pool the construction engine uses), with batch means
  for a standard error. Times are in minutes; rates per hour where named ``_per_h``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twin.errors import InputError
from twin.sim.resources import MonitoredPool

__all__ = ["erlang_c", "finite_source", "QueueStats", "simulate_mmc", "simulate_finite_source"]


def erlang_c(lam_per_h: float, mu_per_h: float, c: int) -> tuple[float, float]:
    """M/M/c: (probability an arrival waits, mean wait in queue in minutes).

    Raises
    ------
    InputError if the system is unstable (lam >= c mu) or a parameter is not positive.
    """
    if lam_per_h <= 0 or mu_per_h <= 0 or c < 1:
        raise InputError(f"erlang_c needs lam > 0, mu > 0, c >= 1, got {lam_per_h}, {mu_per_h}, {c}")
    a = lam_per_h / mu_per_h
    rho = a / c
    if rho >= 1:
        raise InputError(f"unstable queue: arrival rate {lam_per_h}/h >= capacity {c * mu_per_h}/h")
    top = a**c / (math.factorial(c) * (1 - rho))
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait, 60.0 * p_wait / (c * mu_per_h - lam_per_h)


def finite_source(trucks: int, service_mean_min: float, travel_mean_min: float) -> tuple[float, float, float]:
    """M/M/1//N: (loads per hour, loader utilisation, mean queue wait in minutes)."""
    if trucks < 1 or service_mean_min <= 0 or travel_mean_min <= 0:
        raise InputError("finite_source needs trucks >= 1 and positive mean times")
    r = service_mean_min / travel_mean_min
    terms = [math.factorial(trucks) / math.factorial(trucks - n) * r**n for n in range(trucks + 1)]
    p0 = 1.0 / sum(terms)
    util = 1.0 - p0
    throughput_per_min = util / service_mean_min
    # Little: N = X (Wq + S + Z)  =>  Wq = N / X - S - Z
    wq = trucks / throughput_per_min - service_mean_min - travel_mean_min
    return throughput_per_min * 60.0, util, max(wq, 0.0)


@dataclass(frozen=True, slots=True)
class QueueStats:
    """Simulated figures with batch-means standard errors (times in minutes)."""

    served: int
    throughput_per_h: float
    throughput_se: float
    utilisation: float
    mean_wait_min: float
    wait_se: float
    p_wait: float


def _batch_se(values: list[float], batches: int = 20) -> float:
    if len(values) < batches * 2:
        return float("nan")
    arr = np.asarray(values[: len(values) // batches * batches]).reshape(batches, -1).mean(axis=1)
    return float(arr.std(ddof=1) / math.sqrt(batches))


def simulate_mmc(lam_per_h: float, mu_per_h: float, c: int, customers: int, seed: int,
                 warmup: int = 1000) -> QueueStats:
    """Simulate an M/M/c queue (lift requests at ``c`` cranes) for ``customers`` arrivals."""
    import simpy

    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    pool = MonitoredPool(env, "crane", c)
    waits: list[float] = []
    inter = rng.exponential(60.0 / lam_per_h, customers + warmup)
    service = rng.exponential(60.0 / mu_per_h, customers + warmup)

    def lift(i: int):
        asked = env.now
        yield pool.get(1)
        try:
            if i >= warmup:
                waits.append(env.now - asked)
            yield env.timeout(service[i])
        finally:
            pool.put(1)

    def source():
        for i in range(customers + warmup):
            yield env.timeout(inter[i])
            env.process(lift(i))

    env.process(source())
    env.run()
    st = pool.stats()
    w = np.asarray(waits)
    return QueueStats(len(waits), float(len(waits) / env.now * 60.0), float("nan"), float(st.utilisation(env.now)),
                      float(w.mean()), _batch_se(waits), float((w > 0).mean()))


def simulate_finite_source(trucks: int, service_mean_min: float, travel_mean_min: float,
                           horizon_min: float, seed: int, warmup_min: float = 2000.0) -> QueueStats:
    """Simulate N trucks and one loader (exponential loading and travel times) for ``horizon_min``."""
    import simpy

    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    loader = MonitoredPool(env, "loader", 1)
    waits: list[float] = []
    loads: list[float] = []

    def truck():
        while True:
            yield env.timeout(rng.exponential(travel_mean_min))
            asked = env.now
            yield loader.get(1)
            try:
                if asked >= warmup_min:
                    waits.append(env.now - asked)
                yield env.timeout(rng.exponential(service_mean_min))
            finally:
                loader.put(1)
            if env.now >= warmup_min:
                loads.append(env.now)

    for _ in range(trucks):
        env.process(truck())
    env.run(until=warmup_min)
    busy0 = loader.stats().busy_unit_min
    env.run(until=warmup_min + horizon_min)
    busy = loader.stats().busy_unit_min - busy0
    counts = np.histogram(loads, bins=20, range=(warmup_min, warmup_min + horizon_min))[0]
    tput_se = float(counts.std(ddof=1) / math.sqrt(20) / (horizon_min / 20) * 60.0)
    w = np.asarray(waits) if waits else np.zeros(1)
    return QueueStats(len(loads), len(loads) / horizon_min * 60.0, tput_se, busy / horizon_min,
                      float(w.mean()), _batch_se(waits), float((w > 0).mean()))
