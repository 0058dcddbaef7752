"""The two-sided simultaneous decision of a measured trajectory against its exact expectation.

Per seed s and evaluation point k the run gives X_s(k) (f(x_k) - f*, or ||grad f(x_k)||^2), and
the oracle its exact (conditional) expectation m_s(k): the same number for every seed under an
i.i.d. delay law, the expectation given seed s's schedule in the replay form. The differences
D_s(k) = X_s(k) - m_s(k) have mean exactly 0 at every k when the implementation is the algorithm
the oracle describes. Decision: Student-t intervals for the mean of D(k), each two-sided at
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
# (skewed), and a Bonferroni band puts each test at alpha / (2 n_points) ~ 1e-7 in the suite:
# there the t approximation to the mean of n skewed values errs by a factor exp(g z^3 / (6
# sqrt(n))) (Edgeworth; g the skewness, ~1 for d = 10, z ~ 5.3), 20x at n = 32 and 3x at
# n = 256. 256 seeds cost ~1 s for 400 updates of d = 10 on one thread (seeds are a batch
# dimension), and the measured false-alarm rate at alpha = 0.05/0.01 stays under nominal
# (README "Exact oracles").
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


def simultaneous_band(X: np.ndarray, M: np.ndarray, alpha: float, n_tests: int) -> BandResult:
    """Band for one metric: ``X`` (S, n) measured, ``M`` (S, n) or (n,) exact expectations."""
    X = np.asarray(X, dtype=float)
    M = np.broadcast_to(np.asarray(M, dtype=float), X.shape)
    S = X.shape[0]
    with np.errstate(over="ignore", invalid="ignore"):  # a blowing-up run: inf bands, no warning
        D = X - M
        mean_d = D.mean(axis=0)
        se = D.std(axis=0, ddof=1) / math.sqrt(S) if S > 1 else np.zeros(X.shape[1])
    crit = t_ppf(1.0 - alpha / (2.0 * n_tests), S - 1) if S > 1 else math.inf
    half = crit * se + ROUNDOFF_RTOL * np.abs(M.mean(axis=0))
    mean_x = X.mean(axis=0)
    exact = M.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, mean_d / se, 0.0)
    return BandResult(mean_x, mean_x - half, mean_x + half, exact, np.abs(mean_d) > half, z,
                      crit, n_tests)


__all__ = ["N_SEEDS_ORACLE", "ORACLE_METRICS", "ORACLE_POINTS", "ROUNDOFF_RTOL", "BandResult",
           "log_points", "simultaneous_band"]
