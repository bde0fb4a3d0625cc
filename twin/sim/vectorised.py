"""The vectorised path: the forward pass over topological order, numpy over replications.

For scenarios without shared resources and without weather stops, durations are sampled as an
(n_runs, n_activities) array and every activity's dates come from one call of
:func:`twin.sim.network.activity_dates` over all runs. No SimPy, no per-run Python loop; the results
are identical to the SimPy engine's for the same random numbers (the tests check it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from twin.sim.network import SimNetwork, activity_dates, alap_dates, loe_dates

__all__ = ["RunArrays", "forward_runs", "critical_mask"]


@dataclass(frozen=True, slots=True, eq=False)
class RunArrays:
    """Dates of many runs, clock minutes (int64), shape (n_runs, n_activities); ``driver`` -1 = none."""

    start: NDArray[np.int64]
    finish: NDArray[np.int64]
    driver: NDArray[np.int64]
    critical: NDArray[np.bool_]


def forward_runs(net: SimNetwork, durations: NDArray[np.int64]) -> RunArrays:
    """Early dates of every activity in every run.

    Parameters
    ----------
    durations : remaining working minutes, shape (n_runs, n_activities), schedule order.
    """
    runs, n = durations.shape
    ds: list = [None] * n
    df: list = [None] * n
    es_rows = np.empty((n, runs), dtype=np.int64)   # one contiguous row per activity
    ef_rows = np.empty((n, runs), dtype=np.int64)
    drv_rows = np.empty((n, runs), dtype=np.int64)
    es, ef = list(es_rows), list(ef_rows)           # row views, written in place
    es0, ef0 = list(es), list(ef)
    dcols = np.ascontiguousarray(durations.T)
    wf: list = [None] * n
    wx: dict = {}
    for i in net.order:
        s, e, ds[i], df[i], drv_rows[i] = activity_dates(net, i, ds, df, dcols[i], wf=wf, wx=wx)
        es[i][:] = s
        ef[i][:] = e
    loe_dates(net, es, ef, ds, df)
    alap_dates(net, es, ef, ds, dcols)
    for i in range(n):  # loe/alap may have replaced a row by a new array
        if es[i] is not es0[i]:
            es_rows[i] = es[i]
        if ef[i] is not ef0[i]:
            ef_rows[i] = ef[i]
    start, finish, driver = es_rows.T, ef_rows.T, drv_rows.T
    return RunArrays(start, finish, driver, critical_mask(net, finish, driver))


def critical_mask(net: SimNetwork, finish: NDArray[np.int64], driver: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Activities on each run's driving path back from the last-finishing activity.

    The criticality index of an activity is the fraction of runs where it is on this path (ties
    between equal finishes go to the first in schedule order), stopping at complete work, as
    :func:`twin.cpm.compute_cpm` builds its longest path. Shape (n_runs, n_activities).
    """
    runs, n = finish.shape
    live = ~net.complete
    masked = np.where(live[None, :], finish, np.iinfo(np.int64).min)
    cur = masked.argmax(axis=1)
    crit = np.zeros((runs, n), dtype=bool)
    rows = np.arange(runs)
    active = np.ones(runs, dtype=bool)
    for _ in range(n):
        r, c = rows[active], cur[active]
        crit[r, c] = True
        nxt = driver[r, c]
        ok = nxt >= 0
        ok[ok] = live[nxt[ok]] & ~crit[r[ok], nxt[ok]]  # stop at complete work; guard against loops
        cur[r] = np.where(ok, nxt, c)
        active[r] = ok
        if not active.any():
            break
    crit &= live[None, :]
    return crit
