r"""Classic delayed SGD: two bounds DERIVED in this project (proofs below, algebra re-checked by sympy
in ``tests/theory/test_classic_delayed_sgd.py``, and a numpy simulation that can fail).

Notation (the usual literature names -> canonical symbols): T -> ``K``, gamma/alpha -> ``eta``,
tau_max -> ``tau``, f(x_0) - f^* -> ``F0``, sigma^2 -> ``sigma**2``, L -> ``L``, mu -> ``mu``.

Setting
-------
x_{k+1} = x_k - eta * g_k,  g_k = grad f(xhat_k) + xi_k,  xhat_k = x_{k - tau_k},  0 <= tau_k <= tau.
f is L-smooth and bounded below. The noise xi_k is drawn fresh for update k:
E[xi_k | everything else] = 0 and E||xi_k||^2 <= sigma^2. The delay schedule (tau_k) may be
arbitrary (adversarial included) but must not depend on the noise (true for every DelayModel of
``implementations.delays``: schedules are drawn before or independently of the gradients).
Write grad_k = grad f(x_k), ghat_k = grad f(xhat_k), A_j = E||ghat_j||^2.

Lemma 1 (one step). By L-smoothness, E[xi_k | x_k, xhat_k] = 0, and
<a, b> = (|a|^2 + |b|^2 - |a - b|^2)/2:
  E f(x_{k+1}) <= E f(x_k) - eta/2 E|grad_k|^2 - eta/2 (1 - L eta) A_k
                 + eta/2 E|grad_k - ghat_k|^2 + L eta^2 sigma^2 / 2.

Lemma 2 (delay error). |grad_k - ghat_k|^2 <= L^2 |x_k - x_{k-tau_k}|^2
  = L^2 eta^2 |sum_{j=k-tau_k}^{k-1} (ghat_j + xi_j)|^2
  <= 2 L^2 eta^2 (tau sum_{j=k-tau}^{k-1} |ghat_j|^2 + |sum_j xi_j|^2)   (Young, Cauchy-Schwarz),
and E|sum_j xi_j|^2 = sum_j E|xi_j|^2 <= tau sigma^2 (cross terms vanish: each xi_j is
conditionally centred given all other noise). Hence
  E|grad_k - ghat_k|^2 <= 2 L^2 eta^2 (tau sum_{j=k-tau}^{k-1} A_j + tau sigma^2).
The same holds for inconsistent (coordinate-wise torn) reads whose pattern is independent of the
noise: x_k - xhat_k is then a sum of at most tau masked steps, and masks only shrink norms.

Theorem NC (non-convex). Sum Lemma 1 over k = 0..K-1; each A_j appears in at most tau windows:
  sum_k E|grad_k - ghat_k|^2 <= 2 L^2 eta^2 (tau^2 sum_j A_j + K tau sigma^2).
The coefficient of sum_j A_j is -eta/2 (1 - L eta - 2 L^2 eta^2 tau^2) <= 0 iff
  L eta + 2 L^2 eta^2 tau^2 <= 1  <=>  eta <= eta_max := 2 / (L (1 + sqrt(1 + 8 tau^2))).
Telescoping and dividing by eta K / 2:
  (1/K) sum_{k=0}^{K-1} E|grad f(x_k)|^2 <= 2 F0/(eta K) + L eta sigma^2 + 2 L^2 eta^2 tau sigma^2.
The trace records |grad f| *after* each update (x_1..x_K). Applying the same inequality to K+1
updates (the process continued one more step) and dropping |grad f(x_0)|^2 >= 0 gives
  (1/K) sum_{k=1}^{K} E|grad f(x_k)|^2 <= 2 F0/(eta K) + (1 + 1/K)(L eta sigma^2 + 2 L^2 eta^2 tau sigma^2),
which also bounds the k = 0..K-1 average. This is the registered expression (metric
``avg_grad_sq``; it also bounds ``min_grad_sq``). tau = 0 gives the textbook 2F0/(eta K) + L eta sigma^2.

Theorem SC (PL / strongly convex). Add mu-strong convexity (PL suffices:
|grad f|^2 >= 2 mu (f - f*)). Lemma 1 becomes, with e_k = E f(x_k) - f*, q = 1 - eta mu,
  e_{k+1} <= q e_k - eta/2 (1 - L eta) A_k + L^2 eta^3 tau sum_{j=k-tau}^{k-1} A_j
             + L eta^2 sigma^2 (1 + 2 L eta tau) / 2.
Unrolled to K, the coefficient of A_j is at most q^{K-1-j} eta/2 (-(1 - L eta) + 2 L^2 eta^2 tau^2 q^{-tau}).
Under eta <= 1/(4 L (tau + 1)) (so eta mu <= 1/(4(tau+1)) as mu <= L):
q^{-tau} <= (1 + 1/(4 tau + 3))^tau <= e^{1/4}, 1 - L eta >= 3/4 and 2 L^2 eta^2 tau^2 e^{1/4} <= e^{1/4}/8 < 3/4,
so every A_j-coefficient is <= 0 and, with sum_k q^{K-1-k} <= 1/(eta mu),
  E f(x_K) - f* <= (1 - eta mu)^K F0 + L eta sigma^2 (1 + 2 L eta tau) / (2 mu).
(metric ``final_gap``). tau = 0 gives the textbook (1 - eta mu)^K F0 + L eta sigma^2/(2 mu).

Exact worst cases (performance estimation, ``theory.crosscheck``, sigma = 0, L = 1). Theorem NC:
valid on the grid; the worst case reaches the bound exactly at tau = 0, eta = 1/L (average over
x_0..x_{K-1}) and stays below it with delays (at eta_max and tau_k = min(tau, k): 0.70 of it at
tau = 1, 0.61 at tau = 4, K = 20). The delay term of
its step condition has slack: with it halved (L eta + L^2 eta^2 tau^2 <= 1) the deterministic bound
still holds on every tested configuration (ratio -> 0.9999 at tau = 1, K = 20), with it dropped
(eta <= 1/L) it fails by 2x to 96x (tests/theory/test_crosscheck.py). Theorem SC: valid but LOOSE
IN THE RATE. The exact worst case of f(x_K) - f* is (1 - eta mu)^(2K) F0 at tau = 0 (the known
exact rate of gradient descent on smooth strongly convex functions for eta <= 1/L) and stays below
(1 - eta mu)^(2K) F0 with delays tau_k = min(tau, k), eta = 1/(4 L (tau + 1)) (K <= 10, tau <= 4,
mu/L in {0.1, 0.5}: worst / (1 - eta mu)^(2K) between 0.93 and 1.000), whereas the bound decays
like (1 - eta mu)^K: a factor (1 - eta mu)^(-K) loose (e.g. 1.53 at mu = L/2, tau = 2, K = 10;
exponentially in K). The proof uses only PL, which loses the square; a bound with the doubled
exponent for tau > 0 would need strong convexity in the distance recursion and is NOT derived here
(observed on the grid only; no claim is registered for it).

Deviation from the literature: these are our derivations in the style of Lian et al. (NeurIPS 2015,
arXiv:1506.08272) and Stich & Karimireddy (JMLR 2020, arXiv:1909.05350); their constants differ.
Provenance DERIVED: nothing here is attributed to a paper.
"""

from __future__ import annotations

import sympy as sp
from asyncbound.theory.bounds import Bound, Kind, Provenance, Source
from asyncbound.theory.papers._common import S, assumptions

L, mu, sigma, tau, K, eta, F0 = (S[n] for n in ("L", "mu", "sigma", "tau", "K", "eta", "F0"))

PAPER = "classic_delayed_sgd"

#: the exact admissible step of Theorem NC (positive root of L eta + 2 L^2 eta^2 tau^2 = 1)
ETA_MAX_NONCONVEX = 2 / (L * (1 + sp.sqrt(1 + 8 * tau**2)))
#: the sufficient step of Theorem SC
ETA_MAX_STRONGLY_CONVEX = 1 / (4 * L * (tau + 1))

#: per-K-average form on x_0..x_{K-1} (used in the derivation test)
NONCONVEX_CORE = 2 * F0 / (eta * K) + L * eta * sigma**2 + 2 * L**2 * eta**2 * tau * sigma**2

_SOURCE = Source(
    authors="asyncbound project",
    title="Delayed SGD with bounded staleness: non-convex and PL bounds",
    venue="derivation", year=2026, arxiv="n/a (compare arXiv:1506.08272v5)",
    locator="theory/papers/classic_delayed_sgd.py, Theorems NC and SC",
    url="https://arxiv.org/abs/1506.08272",
)


def step_error_terms():
    """Per-step inequality pieces of Theorem NC as sympy expressions, for the algebra test:
    (descent coefficient of A, noise term per step, delay-noise term per step)."""
    coef_A = -eta / 2 * (1 - L * eta) + eta / 2 * 2 * L**2 * eta**2 * tau**2
    noise = L * eta**2 * sigma**2 / 2
    delay_noise = eta / 2 * 2 * L**2 * eta**2 * tau * sigma**2
    return coef_A, noise, delay_noise


nonconvex = Bound(
    key=f"{PAPER}/nonconvex",
    paper=PAPER,
    metric="(1/K) sum_{k=1..K} E||grad f(x_k)||^2 (also bounds the k=0..K-1 average and the min)",
    metric_id="avg_grad_sq",
    kind=Kind.UPPER,
    expr=2 * F0 / (eta * K) + (1 + 1 / K) * (L * eta * sigma**2 + 2 * L**2 * eta**2 * tau * sigma**2),
    assumptions=assumptions("smooth", "lower_bounded", "bounded_variance", "bounded_delay"),
    conditions=(sp.Le(eta, ETA_MAX_NONCONVEX),),
    source=_SOURCE,
    provenance=Provenance.DERIVED,
    statement="Delayed SGD x_{k+1} = x_k - eta g(x_{k-tau_k}), tau_k <= tau, L-smooth f, noise "
              "variance sigma^2, eta <= 2/(L(1+sqrt(1+8 tau^2))) (>= 1/(L(1+2 tau)))",
    notes="Proof in the module docstring (Theorem NC). Valid for any delay schedule independent "
          "of the noise, consistent or coordinate-wise inconsistent reads.",
    derived={"eta_max": ETA_MAX_NONCONVEX},
)

strongly_convex = Bound(
    key=f"{PAPER}/strongly_convex",
    paper=PAPER,
    metric="E f(x_K) - f*",
    metric_id="final_gap",
    kind=Kind.UPPER,
    expr=(1 - eta * mu)**K * F0 + L * eta * sigma**2 * (1 + 2 * L * eta * tau) / (2 * mu),
    assumptions=assumptions("smooth", "strongly_convex", "lower_bounded", "bounded_variance",
                            "bounded_delay"),
    conditions=(sp.Le(eta, ETA_MAX_STRONGLY_CONVEX), sp.Le(mu, L)),
    source=_SOURCE,
    provenance=Provenance.DERIVED,
    statement="Delayed SGD on an L-smooth mu-PL (e.g. strongly convex) f, tau_k <= tau, "
              "eta <= 1/(4 L (tau+1))",
    notes="Proof in the module docstring (Theorem SC); PL suffices, convexity is not used.",
    derived={"eta_max": ETA_MAX_STRONGLY_CONVEX},
)

BOUNDS = (nonconvex, strongly_convex)
