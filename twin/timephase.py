"""Time-phased schedule figures: the planned S-curve and resource usage over time.

Pure functions of :class:`twin.fourd.TaskWindow` records (activity dates, actual dates where known)
and of a :class:`twin.schedule.Schedule`'s resource demands; the charts (:mod:`twin.viz.charts`), the
app and reports draw what these return. Activities progress linearly between start and finish.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from twin.errors import InputError
from twin.fourd import TaskWindow, to_minutes
from twin.schedule import Schedule

__all__ = ["progress_curve", "resource_usage", "schedule_demands", "simulated_resource_usage"]


def progress_curve(
    windows: Mapping[str, TaskWindow],
    times: Sequence[datetime],
    weights: Mapping[str, float] | None = None,
    *,
    which: str = "current",
) -> NDArray[np.float64]:
    """Planned percent complete over time (an S-curve), each activity progressing linearly.

    Parameters
    ----------
    windows : activity id -> TaskWindow
    times : dates to evaluate, length T
    weights : activity id -> weight (e.g. budgeted hours or cost); default: window length in hours
        (milestones weigh nothing)
    which : "current" (start/finish), "baseline" (baseline dates; activities without one skipped)
        or "effective" (actual dates where known)

    Returns
    -------
    ndarray, shape (T,), percent 0..100 of the total weight.

    Examples
    --------
    >>> from datetime import datetime as dt
    >>> w = {"A": TaskWindow("A", dt(2025, 1, 1), dt(2025, 1, 3))}
    >>> progress_curve(w, [dt(2025, 1, 1), dt(2025, 1, 2), dt(2025, 1, 5)]).tolist()
    [0.0, 50.0, 100.0]
    """
    if which not in ("current", "baseline", "effective"):
        raise InputError(f"which must be current, baseline or effective, got '{which}'")
    starts, finishes, wts = [], [], []
    for aid, win in windows.items():
        if which == "current":
            s, f = win.start, win.finish
        elif which == "effective":
            s, f = win.effective_start, win.effective_finish
        else:
            if win.baseline_start is None or win.baseline_finish is None:
                continue
            s, f = win.baseline_start, max(win.baseline_finish, win.baseline_start)
        weight = (f - s) / timedelta(hours=1) if weights is None else float(weights.get(aid, 0.0))
        starts.append(to_minutes(s))
        finishes.append(to_minutes(f))
        wts.append(weight)
    t = np.array([to_minutes(x) for x in times], dtype=float)
    if not wts or sum(wts) <= 0:
        return np.zeros(len(t))
    s_arr, f_arr, w_arr = np.array(starts), np.array(finishes), np.array(wts)
    span = np.where(f_arr > s_arr, f_arr - s_arr, 1.0)
    frac = np.clip((t[:, None] - s_arr[None, :]) / span[None, :], 0.0, 1.0)   # (T, A)
    frac = np.where(t[:, None] >= f_arr[None, :], 1.0, frac)
    return 100.0 * (frac @ w_arr) / w_arr.sum()


def resource_usage(
    windows: Mapping[str, TaskWindow],
    demands: Mapping[str, Mapping[str, float]],
    times: Sequence[datetime],
) -> dict[str, NDArray[np.float64]]:
    """Units of each resource in use over time: the sum over activities under way at each date.

    Parameters
    ----------
    windows : activity id -> TaskWindow (effective dates are used: actual where known)
    demands : activity id -> {resource name: units} (crews of a trade, a crane, a hoist...);
        activities without a window are ignored
    times : length T dates

    Returns
    -------
    dict resource name -> ndarray, shape (T,), float64, in resource order of first appearance.

    Examples
    --------
    >>> from datetime import datetime as dt
    >>> w = {"A": TaskWindow("A", dt(2025, 1, 1), dt(2025, 1, 5)),
    ...      "B": TaskWindow("B", dt(2025, 1, 3), dt(2025, 1, 9))}
    >>> use = resource_usage(w, {"A": {"crane": 1}, "B": {"crane": 1}}, [dt(2025, 1, d) for d in (2, 4, 6)])
    >>> use["crane"].tolist()
    [1.0, 2.0, 1.0]
    """
    t = np.array([to_minutes(x) for x in times], dtype=float)
    out: dict[str, NDArray[np.float64]] = {}
    for aid, need in demands.items():
        win = windows.get(aid)
        if win is None:
            continue
        s, f = to_minutes(win.effective_start), to_minutes(win.effective_finish)
        active = (t >= s) & (t < f)
        for res, units in need.items():
            if res not in out:
                out[res] = np.zeros(len(t))
            out[res] += active * float(units)
    return out


def schedule_demands(schedule: Schedule) -> dict[str, dict[str, float]]:
    """Resource demand per activity as a schedule states it, for :func:`resource_usage`.

    Resource assignments (P6 TASKRSRC, MS Project assignments) give ``{resource: units}``. Activities
    without assignments that carry a ``crew`` (else ``trade``) attribute, as ``twin plan`` writes,
    need one crew ``"crew:<name>"``; with a positive ``lifts`` attribute they also need the crane
    (``"crane"``) while under way.
    """
    out: dict[str, dict[str, float]] = {}
    for a in schedule.assignments:
        need = out.setdefault(a.activity, {})
        need[a.resource] = need.get(a.resource, 0.0) + float(a.units)
    for aid, act in schedule.activities.items():
        if aid in out:
            continue
        attrs = act.attributes or {}
        crew = attrs.get("crew") or attrs.get("trade")
        need = {}
        if crew:
            need[f"crew:{crew}"] = 1.0
        try:
            lifts = float(attrs.get("lifts") or 0)
        except (TypeError, ValueError):
            lifts = 0.0
        if lifts > 0:
            need["crane"] = 1.0
        if need:
            out[aid] = need
    return out


def simulated_resource_usage(
    result: Any,
    demands: Mapping[str, Mapping[str, float]],
    times: Sequence[datetime],
    *,
    percentile: float | None = None,
) -> dict[str, NDArray[np.float64]]:
    """Resource use over time across Monte Carlo runs: the mean (or a percentile) over runs.

    Parameters
    ----------
    result : a Monte Carlo result with ``ids`` (activity ids), ``origin`` (clock minute of the data
        date, :func:`twin.worktime.to_minutes`) and ``start``/``finish`` arrays of shape
        (runs, n_activities) in minutes from ``origin`` (``twin.sim.results.MonteCarloResult``)
    demands : activity id -> {resource: units}
    times : length T dates
    percentile : None for the mean over runs, else e.g. 90 for the level exceeded in 10 % of runs

    Returns
    -------
    dict resource -> ndarray, shape (T,), units in use.
    """
    from twin.worktime import to_minutes as clock_minutes

    col = {a: j for j, a in enumerate(result.ids)}
    resources: list[str] = []
    for need in demands.values():
        for r in need:
            if r not in resources:
                resources.append(r)
    weights = np.zeros((len(result.ids), len(resources)))
    for aid, need in demands.items():
        j = col.get(aid)
        if j is None:
            continue
        for r, units in need.items():
            weights[j, resources.index(r)] += float(units)
    start = np.asarray(result.start)
    finish = np.asarray(result.finish)
    out = np.zeros((len(resources), len(times)))
    for k, when in enumerate(times):
        t = clock_minutes(when) - result.origin
        in_use = ((start <= t) & (t < finish)).astype(float) @ weights      # (runs, resources)
        out[:, k] = in_use.mean(axis=0) if percentile is None else np.percentile(in_use, percentile, axis=0)
    return {r: out[i] for i, r in enumerate(resources)}
