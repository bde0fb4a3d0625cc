"""Duration distributions, sampled by inverse CDF so that common random numbers stay paired.

A :class:`Distribution` is a plain frozen record (kind + parameters, in working hours).
:func:`quantile` maps uniforms ``u`` in (0, 1) to durations; both the SimPy engine and the vectorised
path call it with the same uniforms (from :mod:`twin.sim.streams`), so they draw the same durations.

Kinds
-----
``fixed``        always ``mode``.
``triangular``   (low, mode, high).
``pert``         beta-PERT (low, mode, high) with shape ``lam`` (4 by default): Beta(alpha, beta) on
                 [low, high], alpha = 1 + lam (mode - low)/(high - low), beta = 1 + lam (high - mode)/(high - low);
                 mean (low + lam mode + high)/(lam + 2).
``lognormal``    see :func:`lognormal`: ``mode`` holds the mean and ``high`` the standard deviation of the
                 duration (not of its logarithm), ``low`` a shift added to it.
``uniform``      (low, high).

The beta inverse CDF (``scipy.special.betaincinv``, about 2 us a value) is too slow for millions of
draws, so beta-PERT uses a cached quantile table per (alpha, beta) of 16,385 points, interpolated
linearly: the error is below 2e-5 of the range for u in [0.001, 0.999] and below 1.5e-3 of it at
u = 1e-4 (measured in ``tests/sim/test_distributions.py``).

Where an activity has no three-point estimate, :data:`DEFAULT_SPREAD` applies: beta-PERT with low =
0.9 x, mode = 1.0 x, high = 1.3 x the planned duration (a right-skewed spread typical of construction
activities; change it with ``Uncertainty(default_spread=...)``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from twin.errors import InputError

__all__ = [
    "KINDS",
    "DEFAULT_SPREAD",
    "Distribution",
    "fixed",
    "triangular",
    "pert",
    "lognormal",
    "uniform",
    "from_three_point",
    "quantile",
    "sample",
    "mean",
]

KINDS = ("fixed", "triangular", "pert", "lognormal", "uniform")
DEFAULT_SPREAD: tuple[float, float, float] = (0.9, 1.0, 1.3)
_TABLE_POINTS = 16385


@dataclass(frozen=True, slots=True)
class Distribution:
    """A duration distribution in working hours.

    ``low``/``mode``/``high`` are the three points (triangular, pert, uniform uses low/high);
    for ``lognormal`` ``mode`` holds the mean, ``high`` the standard deviation and ``low`` a shift.
    """

    kind: str = "fixed"
    low: float = 0.0
    mode: float = 0.0
    high: float = 0.0
    lam: float = 4.0

    def __post_init__(self) -> None:
        check(self)


def check(d: Distribution, name: str = "distribution") -> None:
    """Raise :class:`InputError` naming ``name`` when ``d`` is not a valid duration distribution."""
    vals = (d.low, d.mode, d.high, d.lam)
    if d.kind not in KINDS:
        raise InputError(f"{name}: unknown distribution '{d.kind}', expected one of {', '.join(KINDS)}")
    if not all(math.isfinite(v) for v in vals):
        raise InputError(f"{name}: parameters must be finite, got {vals}")
    if d.kind == "lognormal":
        if d.mode <= 0 or d.high < 0 or d.low < 0:
            raise InputError(f"{name}: lognormal needs mean > 0, sd >= 0, shift >= 0, "
                             f"got mean={d.mode}, sd={d.high}, shift={d.low}")
        return
    if d.kind == "fixed":
        if d.mode < 0:
            raise InputError(f"{name}: duration must be >= 0, got {d.mode}")
        return
    if d.kind == "uniform":
        if not (0 <= d.low <= d.high):
            raise InputError(f"{name}: uniform needs 0 <= low <= high, got low={d.low}, high={d.high}")
        return
    if not (0 <= d.low <= d.mode <= d.high):
        raise InputError(
            f"{name}: three-point estimate needs 0 <= optimistic <= most likely <= pessimistic, "
            f"got ({d.low}, {d.mode}, {d.high})"
        )
    if d.kind == "pert" and d.lam <= 0:
        raise InputError(f"{name}: PERT shape lam must be > 0, got {d.lam}")


def fixed(value: float) -> Distribution:
    return Distribution("fixed", value, value, value)


def triangular(low: float, mode: float, high: float) -> Distribution:
    return Distribution("triangular", low, mode, high)


def pert(low: float, mode: float, high: float, lam: float = 4.0) -> Distribution:
    return Distribution("pert", low, mode, high, lam)


def lognormal(mean_h: float, sd_h: float, shift_h: float = 0.0) -> Distribution:
    """Lognormal duration with the given mean and standard deviation (hours), plus a shift."""
    return Distribution("lognormal", shift_h, mean_h, sd_h)


def uniform(low: float, high: float) -> Distribution:
    return Distribution("uniform", low, (low + high) / 2, high)


def from_three_point(low: float, mode: float, high: float, kind: str = "pert") -> Distribution:
    """A distribution of ``kind`` from a three-point estimate (lognormal: PERT mean and sd)."""
    if kind == "lognormal":
        m = (low + 4 * mode + high) / 6
        return lognormal(max(m, 1e-9), (high - low) / 6)
    if kind == "fixed":
        return fixed(mode)
    if kind == "uniform":
        return uniform(low, high)
    return Distribution(kind, low, mode, high)


def mean(d: Distribution) -> float:
    """Expected value in hours."""
    if d.kind == "fixed":
        return d.mode
    if d.kind == "triangular":
        return (d.low + d.mode + d.high) / 3
    if d.kind == "pert":
        return (d.low + d.lam * d.mode + d.high) / (d.lam + 2)
    if d.kind == "uniform":
        return (d.low + d.high) / 2
    return d.low + d.mode


@lru_cache(maxsize=256)
def _beta_table(a: float, b: float) -> NDArray[np.float64]:
    from scipy import special

    grid = np.linspace(0.0, 1.0, _TABLE_POINTS)
    table = special.betaincinv(a, b, grid)
    table[0], table[-1] = 0.0, 1.0
    table.setflags(write=False)
    return table


def _beta_ppf(a: float, b: float, u: NDArray[np.float64]) -> NDArray[np.float64]:
    """Beta(a, b) inverse CDF by linear interpolation in the cached table (few temporaries)."""
    table = _beta_table(round(a, 9), round(b, 9))
    x = u * (_TABLE_POINTS - 1)
    i = x.astype(np.int32)
    np.minimum(i, _TABLE_POINTS - 2, out=i)
    x -= i                      # x is now the fraction within the cell
    out = table.take(i)
    i += 1
    hi = table.take(i)
    hi -= out
    hi *= x
    out += hi
    return out


def quantile(d: Distribution, u: NDArray[np.float64]) -> NDArray[np.float64]:
    """Durations (hours) at probabilities ``u`` (any shape, values in (0, 1)): the inverse CDF."""
    u = np.asarray(u, dtype=np.float64)
    lo, m, hi = d.low, d.mode, d.high
    if d.kind == "fixed" or (d.kind != "lognormal" and hi == lo):
        return np.full(u.shape, m if d.kind != "uniform" else lo, dtype=np.float64)
    if d.kind == "uniform":
        return lo + (hi - lo) * u
    if d.kind == "triangular":
        c = (m - lo) / (hi - lo)
        left = lo + np.sqrt(u * (hi - lo) * (m - lo))
        right = hi - np.sqrt((1.0 - u) * (hi - lo) * (hi - m))
        return np.where(u < c, left, right)
    if d.kind == "pert":
        a = 1.0 + d.lam * (m - lo) / (hi - lo)
        b = 1.0 + d.lam * (hi - m) / (hi - lo)
        return lo + (hi - lo) * _beta_ppf(a, b, u)
    # lognormal with mean m and sd hi of the (unshifted) duration
    from scipy import special

    if hi == 0:
        return np.full(u.shape, lo + m)
    s2 = math.log1p((hi / m) ** 2)
    mu = math.log(m) - s2 / 2
    return lo + np.exp(mu + math.sqrt(s2) * special.ndtri(u))


def sample(d: Distribution, rng: np.random.Generator, size: int | tuple[int, ...]) -> NDArray[np.float64]:
    """Draw ``size`` durations with ``rng`` (by inverse CDF of ``rng.random``)."""
    return quantile(d, rng.random(size))
