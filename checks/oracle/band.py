"""The two-sided simultaneous decision of a measured trajectory against its exact expectation.

Per seed s and evaluation point k the run gives X_s(k) (f(x_k) - f*, or ||grad f(x_k)||^2), and
the oracle its exact (conditional) expectation m_s(k): the same number for every seed under an
i.i.d. delay law, the expectation given seed s's schedule in the replay form. The differences
D_s(k) = X_s(k) - m_s(k) have mean exactly 0 at every k when the implementation is the algorithm
the oracle describes. Decision: skewness-corrected t intervals (Hall 1992; the per-seed values
are skewed chi-squares) for the mean of D(k), each two-sided at
level alpha / n_tests (Bonferroni over every point of every metric and both sides: a
simultaneous band, no assumption on how the points are correlated), FAIL when 0 is outside any
of them (the exact value lies outside the measured band), PASS otherwise. There is no
INCONCLUSIVE: an exact two-sided null is always decidable, a wide band only costs power.

The constants below are the only knobs, each with its reason (stats style of checks/stats.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from asyncbound.checks.stats import t_ppf

# Seeds of a reference-backend oracle check. The per-seed values are weighted chi-squares
# (skewed), and a Bonferroni band puts each test at alpha / (2 n_points) ~ 1e-7 in the suite,
# where the plain t test is too liberal on the low side by a factor ~ z^3 g / (3 sqrt(n))
# (Edgeworth; g the skewness, z ~ 5): Hall's correction (below) removes that first-order term,
# and what is left shrinks like 1/n. Measured on 20,000 exponential samples of 256 at a
# two-sided 0.002: plain t rejects 0.0033 (all on the low side), Hall 0.0019
# (tests/checks/test_oracle_band.py). 256 seeds cost ~0.2-0.4 s for 400 updates of d = 10 on one
# thread (seeds are a batch dimension).
N_SEEDS_ORACLE = 256

# Evaluation points tested per metric: log-spaced over the run (the transient, where step-size
# and momentum mistakes show, gets as many points as the stationary phase). 24 points x 2
# metrics x 2 sides = 96 Bonferroni tests: t quantile 5.3 instead of 4.1 for one point.
ORACLE_POINTS = 24

# Metrics the trace records at every evaluation point, and that the oracle computes exactly.
ORACLE_METRICS = ("loss", "grad_norm_sq")

# Relative slack for round-off only (float64 recursion vs float64 run, a few hundred updates):
# it decides only when the seeds agree exactly (sigma = 0, deterministic start).
ROUNDOFF_RTOL = 1e-9


def log_points(eval_updates: np.ndarray, n: int = ORACLE_POINTS) -> np.ndarray:
    """Indices into ``eval_updates`` (sorted) of about ``n`` log-spaced evaluation points."""
    m = len(eval_updates)
    if m <= n:
        return np.arange(m)
    want = np.unique(np.round(np.geomspace(1, m, n)).astype(int) - 1)
    return want


@dataclass
class BandResult:
    mean: np.ndarray      # measured mean of X at each point
    lo: np.ndarray        # simultaneous band
    hi: np.ndarray
    exact: np.ndarray     # mean over seeds of the exact (conditional) expectation
    outside: np.ndarray   # bool: exact value outside the band
    z: np.ndarray         # standardised difference (mean D / se)
    crit: float           # the Bonferroni t quantile
    n_tests: int


def _hall_interval(theta_crit: float, gamma: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Acceptance interval [lo, hi] for theta = mean/sd under Hall's skewness-corrected t.

    Hall (1992), "On the removal of skewness by transformation", JRSS B 54:221-228:
    T = sqrt(n) g(theta), g(theta) = theta + gamma theta^2/3 + gamma^2 theta^3/27 + gamma/(6n),
    gamma the sample skewness. g is monotone, g(theta) = ((1 + gamma theta/3)^3 - 1)/gamma +
    gamma/(6n), so |T| <= c  <=>  theta in [g^-1(-c/sqrt n), g^-1(c/sqrt n)] with
    g^-1(v) = (3/gamma) (cbrt(1 + gamma (v - gamma/(6n))) - 1). It removes the first-order
    (1/sqrt n) skewness term of the t statistic's distribution, the term that makes the plain t
    test too liberal on one side for skewed data far in the tail.
    """
    v = theta_crit / math.sqrt(n)
    g = np.where(np.abs(gamma) < 1e-9, 1e-9, gamma)

    def inv(u):
        return 3.0 / g * (np.cbrt(1.0 + g * (u - g / (6.0 * n))) - 1.0)

    return inv(-v), inv(v)


def simultaneous_band(X: np.ndarray, M: np.ndarray, alpha: float, n_tests: int) -> BandResult:
    """Band for one metric: ``X`` (S, n) measured, ``M`` (S, n) or (n,) exact expectations.

    Per point, the mean of D = X - M is tested against 0 with Hall's skewness-corrected t
    (:func:`_hall_interval`) at the Student-t quantile of level alpha / (2 n_tests); the band
    on the measured mean is the set of exact values that test would accept."""
    X = np.asarray(X, dtype=float)
    M = np.broadcast_to(np.asarray(M, dtype=float), X.shape)
    S = X.shape[0]
    crit = t_ppf(1.0 - alpha / (2.0 * n_tests), S - 1) if S > 1 else math.inf
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # blow-ups: inf, quietly
        D = X - M
        mean_d = D.mean(axis=0)
        sd = D.std(axis=0, ddof=1) if S > 1 else np.zeros(X.shape[1])
        gamma = np.where(sd > 0, ((D - mean_d) ** 3).mean(axis=0) / sd ** 3, 0.0)
        lo_t, hi_t = _hall_interval(crit, gamma, S) if S > 1 else (-np.inf, np.inf)
        slack = ROUNDOFF_RTOL * np.abs(M.mean(axis=0))
        # accept 0 for E[D]  <=>  mean_d - hi_t sd <= 0 <= mean_d - lo_t sd  (theta = mean_d / sd)
        lo_d, hi_d = mean_d - hi_t * sd - slack, mean_d - lo_t * sd + slack
        z = np.where(sd > 0, mean_d / (sd / math.sqrt(S)), 0.0)
    mean_x = X.mean(axis=0)
    exact = M.mean(axis=0)
    lo, hi = exact + lo_d, exact + hi_d  # E[X_bar] = mean(M) + E[D]: the accepted values of it
    outside = (lo_d > 0) | (hi_d < 0)
    return BandResult(mean_x, lo, hi, exact, outside, z, crit, n_tests)


__all__ = ["N_SEEDS_ORACLE", "ORACLE_METRICS", "ORACLE_POINTS", "ROUNDOFF_RTOL", "BandResult",
           "log_points", "simultaneous_band"]
