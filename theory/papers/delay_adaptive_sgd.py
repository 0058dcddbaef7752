r"""Delay-adaptive asynchronous SGD: a rate in terms of the concurrency, not the maximal delay.
DERIVED in this project (proof below; algebra re-checked by sympy and the inequality by a
simulation that can fail, in ``tests/theory/test_delay_adaptive_sgd.py``).

Setting. x_{k+1} = x_k - eta_k g_k, g_k = grad f(x_{r_k}) + xi_k, tau_k = k - r_k, with the
delay-adaptive step eta_k = eta min(1, tau_c / tau_k) (``implementations.rules.delay_adaptive``;
the form of Mishchenko et al. 2022 and Koloskova et al. 2022, whose own constants are not
reproduced). f is L-smooth and bounded below, F0 = f(x_0) - f*, the noise is fresh per update
with E[xi_k | rest] = 0 and E||xi_k||^2 <= sigma^2; the delay schedule is independent of the
noise. The *concurrency* of the schedule is

    C = max_j #{k : r_k <= j < k}     (how many gradients are "in flight" across version j),

at most n - 1 when each of n workers has one gradient in flight (virtual time, real runs),
however large the delays; at most T for the i.i.d. models bounded by T. Write A_j = E||grad
f(x_{r_j})||^2 and W_k = {r_k, ..., k-1} (|W_k| = tau_k).

Lemma 1 (one step, as for classic delayed SGD, with eta_k):
  E f(x_{k+1}) <= E f(x_k) - eta_k/2 E||grad f(x_k)||^2 - eta_k/2 (1 - L eta_k) A_k
                  + eta_k/2 E||grad f(x_k) - grad f(x_{r_k})||^2 + L eta_k^2 sigma^2 / 2.
Lemma 2 (delay error, Young and Cauchy-Schwarz, eta_j <= eta):
  E||grad f(x_k) - grad f(x_{r_k})||^2 <= 2 L^2 (tau_k sum_{j in W_k} eta_j^2 A_j + tau_k eta^2 sigma^2).
Since eta_k tau_k <= eta tau_c, the delay terms of all k sum to at most
  L^2 sum_j eta_j^2 A_j sum_{k: j in W_k} eta_k tau_k + K L^2 eta^3 tau_c sigma^2
  <= L^2 C eta tau_c sum_j eta_j^2 A_j + K L^2 eta^3 tau_c sigma^2,
so the coefficient of A_j is at most (eta_j/2)(-(1 - L eta) + 2 C L^2 eta^2 tau_c) <= 0 iff

  L eta + 2 C L^2 eta^2 tau_c <= 1   <=>   eta <= eta_max := 2 / (L (1 + sqrt(1 + 8 C tau_c))).

Theorem DA. Under that condition, telescoping Lemma 1 over k = 0..K-1:
  sum_{k<K} eta_k E||grad f(x_k)||^2 <= 2 F0 + K (L eta^2 sigma^2 + 2 L^2 eta^3 tau_c sigma^2),
i.e. the eta_k-weighted average of E||grad f||^2 is at most that over sum_k eta_k. Only C and
tau_c enter: with C ~ n the step is ~ 1/(L sqrt(n tau_c)), against ~ 1/(L tau_max) for constant
steps (classic_delayed_sgd), and a straggler's huge delay only shrinks its own step.

No :class:`~asyncbound.theory.bounds.Bound` is registered: its metric (the eta_k-weighted sum,
with eta_k and C read from the trace) has no metric id yet. ``BOUNDS`` is empty.
"""

from __future__ import annotations

import sympy as sp

L, eta, C, tau_c, F0, sigma, K = sp.symbols("L eta C tau_c F0 sigma K", positive=True)

#: the exact admissible base step of Theorem DA (positive root of L eta + 2 C L^2 eta^2 tau_c = 1)
ETA_MAX = 2 / (L * (1 + sp.sqrt(1 + 8 * C * tau_c)))
#: right-hand side of Theorem DA: a bound on sum_{k<K} eta_k E||grad f(x_k)||^2
WEIGHTED_SUM_BOUND = 2 * F0 + K * (L * eta**2 * sigma**2 + 2 * L**2 * eta**3 * tau_c * sigma**2)

BOUNDS = ()


def a_coefficient(eta_j):
    """Upper bound of the coefficient of A_j after summing (proof above), for the algebra test."""
    return -eta_j / 2 * (1 - L * eta) + L**2 * C * eta * tau_c * eta_j**2


def concurrency(read_version, n_updates: int | None = None) -> int:
    """C = max_j #{k : r_k <= j < k} of one schedule (``read_version`` indexed by k)."""
    import numpy as np

    r = np.asarray(read_version, dtype=np.int64)
    K = len(r) if n_updates is None else int(n_updates)
    diff = np.zeros(K + 1, dtype=np.int64)
    np.add.at(diff, r, 1)                       # k is in flight across j = r_k ..
    np.add.at(diff, np.arange(len(r)), -1)      # .. k - 1
    return int(np.cumsum(diff)[:K].max(initial=0))
