r"""Exact stability verdict under a constant delay: the spectral radius of the companion matrix.

With tau_k = tau fixed (``constant``/``adversarial``, after the first tau updates) and workers
round-robin, the first-moment map of the augmented state (shift form: y_k, y_{k-1}, ...,
y_{k-tau}, then the rule buffers) is periodic with period 2P (P workers; the factor 2 covers
PASSM+'s alternation of partitioned and full steps). Let Phi be the product of the 2P one-step
matrices at rule clocks t >= 2 (past any warm-up). The noise is additive and the schedule
deterministic, so S_k = E[u u^T] satisfies S_{k+2P} = Phi S_k Phi^T + (noise): the mean
square converges iff rho(Phi) < 1, and grows like rho(Phi)^(2k/2P) otherwise. The per-update
rate rho(Phi)^(1/2P) is what :func:`constant_delay_radius` returns (> 1: the run diverges).

Classical check (tests/checks/test_oracle_stability.py): for plain delayed gradient descent
y_{k+1} = y_k - h y_{k-tau} on one eigen-direction (h = eta lambda), the characteristic
polynomial is z^{tau+1} - z^tau + h, and the zero solution is asymptotically stable iff
0 < h < 2 cos(tau pi / (2 tau + 1)) = 2 sin(pi / (2 (2 tau + 1))).
Source: S. A. Levin and R. M. May, "A note on difference-delay equations", Theoretical
Population Biology 9 (1976) 178-187 (x_{n+1} - x_n + q x_{n-k} = 0); also S. A. Kuruklis,
"The asymptotic stability of x_{n+1} - a x_n + b x_{n-k} = 0", J. Math. Anal. Appl. 188 (1994)
719-731, Theorem 1 with a = 1. tau = 0 gives h < 2 (gradient descent), tau = 1 gives h < 1.
"""

from __future__ import annotations

import math

import numpy as np

from .model import LinearAlgorithm, QuadraticModel


def delayed_gd_radius(h: float, tau: int) -> float:
    """Spectral radius of the companion matrix of y_{k+1} = y_k - h y_{k-tau}."""
    n = tau + 1
    M = np.zeros((n, n))
    M[0, 0] += 1.0
    M[0, tau] -= h
    M[1:, :-1] += np.eye(n - 1)
    return float(np.abs(np.linalg.eigvals(M)).max())


def critical_step(tau: int, *, tol: float = 1e-12) -> float:
    """The largest h with rho < 1 for delayed GD with delay tau (bisection on the radius)."""
    lo, hi = 1e-9, 2.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if delayed_gd_radius(mid, tau) < 1.0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def classical_threshold(tau: int) -> float:
    """Levin & May (1976): delayed GD is stable iff eta lambda < 2 sin(pi / (2 (2 tau + 1)))."""
    return 2.0 * math.sin(math.pi / (2.0 * (2 * tau + 1)))


def _one_step(alg: LinearAlgorithm, prob: QuadraticModel, tau: int, worker: int, t_local: int,
              t_clock: int) -> np.ndarray:
    d = prob.dim
    nb = alg.n_buffers
    n = (tau + 1 + nb) * d
    M = np.zeros((n, n))
    lam = np.diag(prob.spectrum)
    block = alg.block(worker, t_local)
    if block is None:
        P = np.eye(d)
    else:
        Qb = prob.Q[:, block[0]:block[1]]
        P = Qb @ Qb.T
    a, c, am, ag = alg.step_coefficients(t_clock)
    read = slice(tau * d, (tau + 1) * d)
    M[:d, :d] += np.eye(d)
    M[:d, read] += ag * P @ lam
    if nb:
        b = tau + 1 + (worker if alg.holder == "per_worker" else 0)
        mb = slice(b * d, (b + 1) * d)
        M[:d, mb] += am * P
        M[mb, mb] += np.eye(d) + (a - 1.0) * P
        M[mb, read] += c * P @ lam
        for o in range(nb):
            if tau + 1 + o != b:
                s = slice((tau + 1 + o) * d, (tau + 2 + o) * d)
                M[s, s] += np.eye(d)
    for i in range(1, tau + 1):  # shift the past iterates
        M[i * d:(i + 1) * d, (i - 1) * d:i * d] += np.eye(d)
    return M


def constant_delay_radius(alg: LinearAlgorithm, prob: QuadraticModel, tau: int) -> float:
    """Per-update spectral radius of the stationary periodic map (module docstring)."""
    W = alg.n_workers
    tau = 0 if alg.averaged else int(tau)
    warm = int(getattr(alg.pattern_obj, "options", {}).get("warmup", 0) or 0)
    k0 = W * (warm + 2)  # every worker past its warm-up and its first step
    period = 2 * W
    Phi = None
    for k in range(k0, k0 + period):
        w, tl = k % W, k // W + 1
        t = tl if alg.clock == "local" else k + 1
        M = _one_step(alg, prob, tau, w, tl, t)
        Phi = M if Phi is None else M @ Phi
    rho = float(np.abs(np.linalg.eigvals(Phi)).max())
    return rho ** (1.0 / period)


__all__ = ["classical_threshold", "constant_delay_radius", "critical_step", "delayed_gd_radius"]
