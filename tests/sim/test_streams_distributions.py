"""Common random numbers and duration distributions."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from twin.errors import InputError
from twin.sim import distributions as dist
from twin.sim.streams import stream_keys, uniform_matrix, uniforms


def test_keys_depend_only_on_seed_purpose_and_id():
    a = stream_keys(7, "duration", ["A", "B", "C"])
    b = stream_keys(7, "duration", ["C", "X", "A"])
    assert a[0] == b[2] and a[2] == b[0]
    assert stream_keys(8, "duration", ["A"])[0] != a[0]
    assert stream_keys(7, "risk", ["A"])[0] != a[0]


def test_matrix_matches_single_stream_draws():
    keys = stream_keys(1, "duration", ["A", "B"])
    m = uniform_matrix(keys, [0, 3, 9], sub=2)
    assert np.array_equal(m[:, 1], uniforms(keys[1], [0, 3, 9], sub=2))


def test_uniforms_are_uniform_and_independent():
    keys = stream_keys(3, "duration", [str(i) for i in range(50)])
    u = uniform_matrix(keys, np.arange(4000))
    assert 0 < u.min() and u.max() < 1
    assert stats.kstest(u.ravel(), "uniform").pvalue > 0.001
    corr = np.corrcoef(u.T)
    assert np.abs(corr[np.triu_indices(50, 1)]).max() < 0.08


@pytest.mark.parametrize("d, expected_mean", [
    (dist.pert(2, 3.5, 8), 4.0),
    (dist.triangular(1, 2, 6), 3.0),
    (dist.lognormal(10, 3), 10.0),
    (dist.uniform(2, 4), 3.0),
    (dist.fixed(5), 5.0),
])
def test_sample_mean_matches_the_formula(d, expected_mean):
    x = dist.sample(d, np.random.default_rng(0), 200_000)
    assert dist.mean(d) == pytest.approx(expected_mean)
    assert x.mean() == pytest.approx(expected_mean, rel=0.005)


def test_pert_quantile_table_is_accurate():
    lo, m, hi = 1.0, 2.0, 9.0
    a, b = 1 + 4 * (m - lo) / (hi - lo), 1 + 4 * (hi - m) / (hi - lo)
    u = np.linspace(0.001, 0.999, 5001)
    exact = lo + (hi - lo) * stats.beta.ppf(u, a, b)
    assert np.abs(dist.quantile(dist.pert(lo, m, hi), u) - exact).max() < 2e-5 * (hi - lo)
    tail = np.array([1e-4, 1 - 1e-4])
    assert np.abs(dist.quantile(dist.pert(lo, m, hi), tail) - (lo + (hi - lo) * stats.beta.ppf(tail, a, b))).max() < 1.5e-3 * (hi - lo)


def test_lognormal_from_three_point_keeps_pert_mean_and_sd():
    d = dist.from_three_point(4, 6, 14, kind="lognormal")
    x = dist.sample(d, np.random.default_rng(1), 200_000)
    assert x.mean() == pytest.approx((4 + 24 + 14) / 6, rel=0.01)
    assert x.std() == pytest.approx(10 / 6, rel=0.02)


@pytest.mark.parametrize("args, match", [
    (("pert", 5, 3, 8), "optimistic <= most likely"),
    (("triangular", -1, 2, 3), "0 <= optimistic"),
    (("fixed", -2, -2, -2), ">= 0"),
    (("gamma", 1, 2, 3), "unknown distribution 'gamma'"),
    (("lognormal", 0, 0, 1), "mean > 0"),
])
def test_bad_distributions_are_refused(args, match):
    with pytest.raises(InputError, match=match):
        dist.Distribution(*args)
