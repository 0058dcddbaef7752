"""Statistics without scipy: t quantiles, intervals, and their coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from asyncbound.checks import stats


@pytest.mark.parametrize(("p", "df", "expected"), [
    (0.975, 10, 2.228138852), (0.99, 31, 2.452824197), (0.95, 1, 6.313751515),
    (0.995, 5, 4.032142984), (0.9, 100, 1.290074761)])
def test_t_ppf_matches_tables(p, df, expected):
    assert stats.t_ppf(p, df) == pytest.approx(expected, abs=1e-6)


def test_t_ppf_symmetry_and_cdf_inverse():
    for df in (1, 3, 30):
        for p in (0.01, 0.2, 0.7, 0.999):
            q = stats.t_ppf(p, df)
            assert stats.t_cdf(q, df) == pytest.approx(p, abs=1e-9)
            assert stats.t_ppf(1 - p, df) == pytest.approx(-q, abs=1e-8)


def test_t_ppf_rejects_bad_p():
    with pytest.raises(ValueError, match="p must be in"):
        stats.t_ppf(1.0, 3)


def test_mean_interval_coverage_is_at_least_nominal():
    """One-sided coverage of the t bound on normal data: at alpha = 0.1 about 90%."""
    rng = np.random.default_rng(0)
    alpha, n_rep, misses = 0.1, 2000, 0
    for _ in range(n_rep):
        iv = stats.mean_interval(rng.normal(1.0, 2.0, size=16), alpha)
        misses += iv.low > 1.0
    rate = misses / n_rep
    assert abs(rate - alpha) < 0.03, rate


def test_mean_interval_degenerate_cases():
    assert stats.mean_interval([3.0], 0.01).low == 3.0
    iv = stats.mean_interval([2.0, 2.0, 2.0], 0.01)
    assert (iv.low, iv.high) == (2.0, 2.0)
    assert not stats.mean_interval([1.0, math.inf], 0.01).finite
    assert math.isnan(stats.mean_interval([], 0.01).value)


def test_extremum_of_means_lower_bound_of_min_is_valid():
    """min over k of lower bounds never exceeds the true min with prob >= 1 - alpha."""
    rng = np.random.default_rng(1)
    mu = np.array([1.0, 0.5, 0.7, 0.5001])
    misses = 0
    for _ in range(1000):
        X = rng.normal(mu, 0.3, size=(12, mu.size))
        iv = stats.extremum_of_means(X, 0.05, "min")
        misses += iv.low > mu.min()
        assert iv.low <= iv.value <= iv.high
    assert misses / 1000 <= 0.05 + 0.02


def test_extremum_of_means_max_mirror():
    X = np.array([[1.0, 2.0], [1.2, 2.2], [0.8, 1.8]])
    iv = stats.extremum_of_means(X, 0.05, "max")
    assert iv.value == pytest.approx(2.0)
    assert iv.low < 2.0 < iv.high
    with pytest.raises(ValueError):
        stats.extremum_of_means(X, 0.05, "median")


def test_loglog_slope_recovers_power():
    t = np.arange(1, 1000, dtype=float)
    assert stats.loglog_slope(t, 3 * t ** -0.5) == pytest.approx(-0.5, abs=1e-12)
    assert math.isnan(stats.loglog_slope(t[:2], t[:2]))


def test_clopper_pearson_upper():
    assert stats.clopper_pearson_upper(0, 100, 0.05) == pytest.approx(1 - 0.05 ** (1 / 100), abs=1e-6)
    assert stats.clopper_pearson_upper(5, 5) == 1.0


def test_bonferroni_split():
    assert stats.per_check_alpha(50) == pytest.approx(stats.ALPHA_SUITE / 50)
    assert stats.per_check_alpha(0) == stats.ALPHA_SUITE


def test_clopper_pearson_lower_matches_closed_form():
    # k = n: P(Bin(n, p) >= n) = p^n = alpha
    assert stats.clopper_pearson_lower(10, 10, 0.05) == pytest.approx(0.05 ** 0.1, abs=1e-9)
    assert stats.clopper_pearson_lower(0, 10, 0.05) == 0.0


def test_markov_lower_bound_is_valid_and_sees_heavy_tails():
    rng = np.random.default_rng(2)
    true_mean = math.exp(1 + 2.0**2 / 2)  # lognormal(1, 2)
    misses = 0
    for _ in range(300):
        x = rng.lognormal(1, 2, size=24)
        misses += stats.markov_mean_lower(x, 0.05) > true_mean
    assert misses / 300 <= 0.05
    # an exploding batch: the t lower bound is useless, the Markov one is not
    x = rng.lognormal(20, 4, size=32)
    assert stats.mean_interval(x, 1e-4).low < 0 < stats.nonneg_mean_interval(x, 1e-4).low
    assert stats.markov_mean_lower([-1.0, 2.0], 0.05) == -math.inf
