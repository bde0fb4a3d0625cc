"""Comparing scenarios: a table of figures and paired differences with confidence intervals.

Runs of scenarios simulated with the same seed use common random numbers (:mod:`twin.sim.streams`):
run ``r`` of A and run ``r`` of B saw the same durations for shared activity ids and the same weather
on the same dates. The comparison is therefore paired, run by run, which removes most of the noise
that independent samples would leave in the difference.

``p_a_before_b`` is the share of runs in which A's project finish is strictly earlier than B's, ties
(the same minute) counting one half; its 95 % confidence interval is Wilson's score interval with the
number of runs. ``mean_difference_days`` is the mean of (A finish - B finish) in calendar days, with a
95 % normal interval from the paired standard deviation.
"""
from __future__ import annotations

import math
from itertools import combinations
from typing import Any, Sequence

import numpy as np

from twin.errors import InputError
from twin.sim.results import MonteCarloResult, summarise

__all__ = ["paired_difference", "compare_results"]

_Z95 = 1.959963984540054


def _wilson(p: float, n: int, z: float = _Z95) -> tuple[float, float]:
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def paired_difference(a: MonteCarloResult, b: MonteCarloResult) -> dict[str, Any]:
    """P(A finishes before B) with a 95 % interval, and the mean paired difference in days.

    Raises
    ------
    InputError
        The two results do not have the same number of runs and seed (so they are not paired).
    """
    if a.runs != b.runs or a.seed != b.seed:
        raise InputError(f"scenarios '{a.name}' and '{b.name}' are not paired: runs {a.runs} vs {b.runs}, "
                         f"seed {a.seed} vs {b.seed}; simulate both with the same --runs and --seed")
    diff = (a.project_finish - b.project_finish).astype(np.float64) / 1440.0
    n = diff.size
    p = float(((diff < 0).sum() + 0.5 * (diff == 0).sum()) / n)
    lo, hi = _wilson(p, n)
    sd = float(diff.std(ddof=1)) if n > 1 else 0.0
    half = _Z95 * sd / math.sqrt(n)
    mean = float(diff.mean())
    return {
        "a": a.name, "b": b.name, "runs": n,
        "p_a_before_b": p, "ci_low": lo, "ci_high": hi,
        "p_tie": float((diff == 0).mean()),
        "mean_difference_days": mean,
        "difference_ci_days": [mean - half, mean + half],
        "difference_sd_days": sd,
    }


def compare_results(results: Sequence[MonteCarloResult], top: int | None = 20) -> dict[str, Any]:
    """The ``twin compare`` output: every scenario's summary and every pair's paired difference."""
    if len(results) < 2:
        raise InputError(f"comparison needs at least two scenarios, got {len(results)}")
    names = [r.name for r in results]
    dupes = sorted({x for x in names if names.count(x) > 1})
    if dupes:
        raise InputError(f"scenario names must differ to compare them, got {', '.join(map(repr, dupes))} twice")
    return {
        "runs": results[0].runs,
        "seed": results[0].seed,
        "scenarios": [summarise(r, top=top) for r in results],
        "pairs": [paired_difference(a, b) for a, b in combinations(results, 2)],
    }
