r"""Xu, Xu, Yan, Sutcher-Shepard, Grinberg, Chen: "Parallel and distributed asynchronous adaptive
stochastic gradient methods" (APAM), Mathematical Programming Computation, arXiv:2002.09095v3.

Notation table (paper -> canonical)
-----------------------------------
| paper | canonical | meaning |
|---|---|---|
| K | ``K`` | master iterations (gradients consumed) |
| alpha, alpha_k | ``eta`` | step size |
| tau | ``tau`` | staleness bound tau_k <= tau |
| beta1, beta2 | ``beta1``, ``beta2`` | moment factors in [0, 1) |
| G_inf | ``G`` | sup-norm bound of stochastic gradients |
| D_inf | ``D`` | domain radius in the sup norm |
| p | ``n_workers`` | workers |
| C1, C2 | ``C1``, ``C2`` | unknown constants of the templates |

Provenance (honest statement)
-----------------------------
VERIFIED (abstract): APAM inherits AMSGrad's convex and non-convex guarantees under bounded
staleness, with nearly linear speed-up if tau = o(K^{1/4}). The theorem statements were NOT read.
The rate templates C1/sqrt(K) + C2 tau^2/K are RECONSTRUCTED: the shape is forced by the stated
speed-up condition (a delay term tau^2/K next to a 1/sqrt(K) leading term, notes §4(b)); C1, C2
are free constants to be fitted, not the paper's (kind ASYMPTOTIC: no numeric guarantee).
The speed-up condition itself (exponent 1/4) is recomputed from the template by
``theory.derivations.max_delay_exponent`` and matches the abstract.
"""

from __future__ import annotations

import sympy as sp
from asyncbound.theory.bounds import Bound, Kind, Provenance, Source
from asyncbound.theory.papers._common import S, assumptions

PAPER = "xu_apam"
K, tau, C1, C2, beta1, beta2 = (S[n] for n in ("K", "tau", "C1", "C2", "beta1", "beta2"))
n_workers, eps_acc = S["n_workers"], S["eps_acc"]

_SRC = dict(
    authors="Yangyang Xu, Yibo Xu, Yonggui Yan, Colin Sutcher-Shepard, Leopold Grinberg, Jie Chen",
    title="Parallel and distributed asynchronous adaptive stochastic gradient methods",
    venue="Mathematical Programming Computation", year=2023, arxiv="2002.09095v3",
    url="https://arxiv.org/abs/2002.09095",
)

TEMPLATE = C1 / sp.sqrt(K) + C2 * tau**2 / K

_COND = (sp.Lt(beta1, sp.sqrt(beta2)),)

convex = Bound(
    key=f"{PAPER}/convex", paper=PAPER,
    metric="E f(xbar_K) - f* of the averaged iterate", metric_id="avg_gap",
    kind=Kind.ASYMPTOTIC, expr=TEMPLATE,
    assumptions=assumptions("bounded_gradient_inf", "bounded_domain", "smooth", "bounded_delay",
                            "amsgrad_gamma"),
    conditions=_COND, source=Source(locator="Section 3, convex case with delay (not read)", **_SRC),
    provenance=Provenance.RECONSTRUCTED,
    statement="APAM on a convex problem over a box of radius D, ||g||_inf <= G, tau_k <= tau: "
              "E f(xbar_K) - f* = O(C1/sqrt(K) + C2 tau^2/K)",
    notes="Constants C1, C2 are ours (free, fitted); only the shape and the tau = o(K^{1/4}) "
          "speed-up claim are the paper's.",
)

nonconvex = Bound(
    key=f"{PAPER}/nonconvex", paper=PAPER,
    metric="min_k E||grad f(x_k)||^2", metric_id="min_grad_sq",
    kind=Kind.ASYMPTOTIC, expr=TEMPLATE,
    assumptions=assumptions("bounded_gradient_inf", "smooth", "lower_bounded", "bounded_delay",
                            "amsgrad_gamma"),
    conditions=_COND, source=Source(locator="Section 4, non-convex case (not read)", **_SRC),
    provenance=Provenance.RECONSTRUCTED,
    statement="APAM on a smooth non-convex problem, ||g||_inf <= G, tau_k <= tau: "
              "min_k E||grad f(x_k)||^2 = O(C1/sqrt(K) + C2 tau^2/K)",
    notes="Reconstructed template; the measured quantity of the paper may be a random iterate.",
)


def iterations_to_accuracy(bound: Bound = nonconvex) -> sp.Expr:
    """K_e(tau): the K at which the template equals eps_acc (the larger root in sqrt(K))."""
    u = sp.Symbol("u", positive=True)  # u = sqrt(K)
    eq = bound.expr.subs(K, u**2) - eps_acc
    roots = [r for r in sp.solve(sp.Eq(eq, 0), u) if r.is_positive is not False]
    root = max(roots, key=lambda r: float(r.subs({C1: 1, C2: 1, tau: 1, eps_acc: 0.01})))
    return sp.simplify(root**2)


def speedup(bound: Bound = nonconvex) -> sp.Expr:
    """Ideal speed-up S(p) = p K_e(0) / K_e(p - 1) with staleness tau ~ p - 1 (notes §4(b))."""
    k_e = iterations_to_accuracy(bound)
    return sp.simplify(n_workers * k_e.subs(tau, 0) / k_e.subs(tau, n_workers - 1))


def amsgrad_step_ratio_bound() -> sp.Expr:
    """DERIVED invariant of AMSGrad without epsilon (notes §4(b)): for every coordinate and step,
    |m_i| / sqrt(vhat_i) <= (1 - beta1) / sqrt((1 - beta2) (1 - gamma^2)), gamma = beta1/sqrt(beta2) < 1.

    Proof: m_i = (1-beta1) sum_j beta1^(k-j) g_j; split beta1^(k-j) = gamma^(k-j) beta2^((k-j)/2) and
    apply Cauchy-Schwarz: |m_i| <= (1-beta1) sqrt(sum gamma^(2(k-j))) sqrt(sum beta2^(k-j) g_j^2)
    <= (1-beta1) sqrt(1/(1-gamma^2)) sqrt(v_i/(1-beta2)), and v_i <= vhat_i. Hence every APAM step
    satisfies |x_i^(k+1) - x_i^(k)| <= alpha_k times this constant (before projection), whatever the
    delays: the quantity that makes the tau^2/K delay term of the template.
    """
    gamma = beta1 / sp.sqrt(beta2)
    return (1 - beta1) / sp.sqrt((1 - beta2) * (1 - gamma**2))


BOUNDS = (convex, nonconvex)
