"""Monte Carlo results: the compact per-run record and the figures people read from it.

:class:`MonteCarloResult` keeps, per run, the project finish, every activity's start and finish
(int32 minutes from the data date), which activities were on the driving path, resource figures and
weather days lost. The functions here derive the figures: finish percentiles, per-activity
percentiles, criticality index, S-curves, the probability that each element is complete by a date
(which feeds the 4D view), and :func:`summarise` builds the JSON-shaped summary of ``twin simulate``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from twin.worktime import from_minutes, to_minutes

__all__ = ["PERCENTILES", "MonteCarloResult", "finish_percentiles", "activity_percentiles",
           "criticality", "completion_probability", "s_curve", "s_curve_table", "waits_by_day", "summarise"]

PERCENTILES = {"p10": 10, "p50": 50, "p80": 80, "p90": 90}


@dataclass(frozen=True, slots=True, eq=False)
class MonteCarloResult:
    """All replications of one scenario.

    Attributes
    ----------
    ids : activity ids (schedule order), the column order of ``start``/``finish``/``critical_count``.
    origin : clock minute (``twin.worktime``) of the data date; per-run dates are minutes from it.
    start, finish : int32, shape (runs, n_activities): minutes from ``origin``.
    project_finish : int64, shape (runs,): clock minutes of the last finish in each run.
    critical_count : int64, shape (n_activities,): runs in which the activity was on the driving path.
    pool_names : resource pools; ``utilisation``, ``mean_wait_min``, ``wait_min_per_day`` have shape
        (runs, n_pools): allocated share of capacity over the run's span, mean wait per request
        (minutes), total wait per calendar day of the run's span (minutes).
    weather_days_lost : int32, shape (runs,).
    wait_min_by_day : per pool, {day number from 1970-01-01: minutes waited that day, summed over runs}
        (a wait counts on the day it was asked for).
    """

    name: str
    runs: int
    seed: int
    path: str
    ids: tuple[str, ...]
    origin: int
    cpm_finish: datetime
    start: NDArray[np.int32]
    finish: NDArray[np.int32]
    project_finish: NDArray[np.int64]
    critical_count: NDArray[np.int64]
    pool_names: tuple[str, ...] = ()
    utilisation: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))
    mean_wait_min: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))
    wait_min_per_day: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))
    weather_days_lost: NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))
    events: int = 0
    seconds: float = 0.0
    element_links: tuple[tuple[str, str], ...] = ()
    deterministic: bool = False
    wait_min_by_day: Mapping[str, Mapping[int, float]] = field(default_factory=dict)


def _dt(minute: float) -> datetime:
    return from_minutes(int(round(float(minute))))


def finish_percentiles(result: MonteCarloResult) -> dict[str, datetime]:
    """Project finish P10, P50, P80, P90 and mean, as date-times."""
    pf = result.project_finish.astype(np.float64)
    out = {k: _dt(np.percentile(pf, q, method="inverted_cdf")) for k, q in PERCENTILES.items()}
    out["mean"] = _dt(pf.mean())
    return out


def activity_percentiles(result: MonteCarloResult, q: Sequence[float] = (10, 50, 90)
                         ) -> dict[str, dict[str, dict[str, datetime]]]:
    """Per activity: {"start": {"p10": ...}, "finish": {...}} at percentiles ``q``."""
    qs = np.percentile(result.start, q, axis=0)
    qf = np.percentile(result.finish, q, axis=0)
    out = {}
    for j, aid in enumerate(result.ids):
        out[aid] = {
            "start": {f"p{int(x)}": _dt(result.origin + qs[k, j]) for k, x in enumerate(q)},
            "finish": {f"p{int(x)}": _dt(result.origin + qf[k, j]) for k, x in enumerate(q)},
        }
    return out


def criticality(result: MonteCarloResult) -> dict[str, float]:
    """Criticality index per activity: the share of runs in which it was on the driving path."""
    return {aid: float(c) / result.runs for aid, c in zip(result.ids, result.critical_count)}


def completion_probability(result: MonteCarloResult, when: datetime,
                           links: Iterable[tuple[str, str]] | None = None) -> dict[str, float]:
    """For each element, the probability that all activities linked to it have finished by ``when``.

    ``links`` are (activity id, element GlobalId) pairs (default: the scenario's). Elements linked
    to no simulated activity are left out.
    """
    t = to_minutes(when) - result.origin
    done = result.finish <= t  # (runs, n)
    col = {aid: j for j, aid in enumerate(result.ids)}
    by_el: dict[str, list[int]] = {}
    for aid, guid in (links if links is not None else result.element_links):
        if aid in col:
            by_el.setdefault(guid, []).append(col[aid])
    return {g: float(done[:, cols].all(axis=1).mean()) for g, cols in by_el.items()}


def s_curve(result: MonteCarloResult, dates: Sequence[datetime], weights: NDArray[np.float64] | None = None,
            q: Sequence[float] = (10, 50, 90)) -> NDArray[np.float64]:
    """Share of work complete at each date, percentiles over runs: shape (len(q), len(dates)).

    ``weights`` per activity (default: equal); work counts as complete at the activity's finish.
    """
    w = np.ones(len(result.ids)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    ts = np.array([to_minutes(d) - result.origin for d in dates])
    frac = np.stack([(result.finish <= t) @ w for t in ts], axis=1)  # (runs, dates)
    return np.percentile(frac, q, axis=0)


def s_curve_table(result: MonteCarloResult, points: int = 20, weights: NDArray[np.float64] | None = None
                  ) -> list[dict[str, Any]]:
    """The S-curve at ``points`` dates evenly spaced from the data date to the latest finish:
    ``[{"date", "p10", "p50", "p90"}]``, shares of work complete (0..1)."""
    end = int(result.project_finish.max())
    grid = np.linspace(result.origin, end, max(2, points))
    dates = [_dt(t) for t in grid]
    curve = s_curve(result, dates, weights)
    return [{"date": d, "p10": float(curve[0, k]), "p50": float(curve[1, k]), "p90": float(curve[2, k])}
            for k, d in enumerate(dates)]


def waits_by_day(result: MonteCarloResult) -> dict[str, list[dict[str, Any]]]:
    """Mean queue wait per calendar day for each pool (crane waits per day):
    ``{pool: [{"date": date, "mean_wait_h": hours averaged over all runs}]}``, days in order, only days
    on which some run waited."""
    from datetime import date as _date, timedelta

    epoch = _date(1970, 1, 1)
    out: dict[str, list[dict[str, Any]]] = {}
    for name in result.pool_names:
        days = result.wait_min_by_day.get(name, {})
        out[name] = [{"date": epoch + timedelta(days=int(d)), "mean_wait_h": w / result.runs / 60.0}
                     for d, w in sorted(days.items())]
    return out


def summarise(result: MonteCarloResult, top: int | None = None) -> dict[str, Any]:
    """The JSON-shaped summary of ``twin simulate`` (see docs/simulation.md for every key)."""
    fin = finish_percentiles(result)
    spread_days = (result.project_finish - result.project_finish.mean()) / 1440.0
    crit = criticality(result)
    if top is not None:
        crit = dict(sorted(crit.items(), key=lambda kv: -kv[1])[:top])
    resources = {}
    for k, name in enumerate(result.pool_names):
        resources[name] = {
            "utilisation": float(result.utilisation[:, k].mean()),
            "mean_wait_h": float(result.mean_wait_min[:, k].mean() / 60.0),
            "wait_h_per_day": float(result.wait_min_per_day[:, k].mean() / 60.0),
        }
    wdl = result.weather_days_lost.astype(np.float64)
    return {
        "name": result.name,
        "runs": result.runs,
        "seed": result.seed,
        "path": result.path,
        "deterministic": result.deterministic,
        "data_date": from_minutes(result.origin),
        "cpm_finish": result.cpm_finish,
        "finish": fin,
        "finish_sd_days": float(spread_days.std(ddof=1)) if result.runs > 1 else 0.0,
        "p_finish_by_cpm": float((result.project_finish <= to_minutes(result.cpm_finish)).mean()),
        "criticality": crit,
        "resources": resources,
        "weather_days_lost": {"mean": float(wdl.mean()) if wdl.size else 0.0,
                              "p90": float(np.percentile(wdl, 90)) if wdl.size else 0.0},
        "events": result.events,
        "seconds": round(result.seconds, 3),
    }
