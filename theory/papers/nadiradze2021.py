r"""Nadiradze, Markov, Chatterjee, Kungurtsev, Alistarh: "Elastic Consistency: A Practical
Consistency Model for Distributed Stochastic Gradient Descent", AAAI 2021, arXiv:2001.05918v3.

Notation table (paper -> canonical)
-----------------------------------
| paper | canonical | meaning |
|---|---|---|
| T | ``K`` | number of steps |
| eta | ``eta`` | constant step size |
| B | ``B`` | elastic-consistency constant |
| M | ``M`` | second-moment bound E||G||^2 <= M^2 |
| sigma | ``sigma`` | variance bound |
| c | ``mu`` | strong convexity |
| a0 = E||x_0 - x*||^2 | ``r0_sq`` | initial distance |
| tau | ``tau`` | max delay |
| p | ``n_workers`` | processes |
| f_c | ``n_crash`` | crashed processes |
| gamma = k/d | ``gamma_topk`` | top-k density |
| F0 = f(x_0) - f* | ``F0`` | initial gap |

Provenance (honest statement)
-----------------------------
Only the title, authors, versions and abstract were read [V]. The elastic-consistency condition
E||x_t - v_t|| <= eta B is the paper's notion, recalled, not read (RECONSTRUCTED as a statement of
the paper). The B values per system and the three bounds below (NC-M, NC-sigma, SC) are DERIVED
(project notes §2.2 and §4, re-derived here, algebra checked by sympy in tests): they are valid
inequalities under the stated assumptions, but the paper's own constants and step sizes may
differ. SC-sigma is this project's own sharper variant of SC (not in the notes). Never cite them
as the paper's Theorem numbers.

Derivations (x_t: virtual sequence x_{t+1} = x_t - eta G(v_t); v_t: the view used)
-----------------------------------------------------------------------------------
NC-M: M bounds the evaluated gradients, E|G_t|^2 <= M^2, AND the full gradient at every virtual
iterate, E|grad f(x_t)|^2 <= M^2 for t = 0..K (assumption ``gradient_bounded_at_iterates``);
B is the squared form E|x_t - v_t|^2 <= eta^2 B^2. Smoothness gives
f(x_{t+1}) <= f(x_t) - eta <grad f(x_t), G_t> + L eta^2 |G_t|^2 / 2; the noise of G_t is fresh, so
E<grad f(x_t), G_t> = E<grad f(x_t), grad f(v_t)> >= E|grad f(x_t)|^2 - E[|grad f(x_t)| L |x_t - v_t|]
>= E|grad f(x_t)|^2 - sqrt(E|grad f(x_t)|^2) L sqrt(E|x_t - v_t|^2) >= E|grad f(x_t)|^2 - M L eta B
(Cauchy-Schwarz twice); telescoping: (1/K) sum E|grad f(x_t)|^2 <= F0/(eta K) + eta L (M B + M^2/2).
The bound on grad f at the iterates is essential (issue 18): delayed GD may evaluate only
grad f(x_0) while its iterates walk to where the gradient is (1 + k) M. On the 1-D L-smooth f with
f' = 0.1 + x (x > 0), 0.1 - x on [-0.5, 0], 0.6 + (x + 0.5) below, x_0 = 0, L = eta = 1, tau_k =
min(4, k), K = 5, every evaluated gradient is M = 0.1 while (1/K) sum_{k=1..5} f'(x_k)^2 = 0.18 >
0.125 = the bound with M = 0.1 (F0 = 0.355 = f(0) - inf f). The exact worst case at this
configuration (theory.crosscheck, PEP) is this very function, 1.44x the bound, when M bounds the
evaluated gradients only; with M over every iterate the bound holds on the whole grid (worst
case <= 0.79x the bound). The checks therefore
measure M as sqrt(max_t mean over seeds of max(|g_t|^2, |grad f(x_{t+1})|^2)), which needs the
full gradient at every update (eval_every = 1; otherwise M is not bound and the check makes no
claim). If only the evaluated gradients are bounded, |grad f(x_t)| <= |grad f(v_t)| + L|x_t - v_t|
gives E[|grad f(x_t)| L |x_t - v_t|] <= M L eta B + L^2 eta^2 B^2: the bound plus
(1 + 1/K) L^2 eta^2 B^2 (not registered; the toolkit states the bound with M at every iterate;
cross-checked valid on the quick grid, worst 0.79x, and 0.57x at the configuration above).
NC-sigma (eta <= 1/L): with <a,b> = (|a|^2+|b|^2-|a-b|^2)/2 and E|x-v|^2 <= eta^2 B^2:
(1/K) sum E|grad f(x_t)|^2 <= 2 F0/(eta K) + L eta sigma^2 + L^2 eta^2 B^2.
SC (eta mu <= 1): a_{t+1} <= (1 - eta mu) a_t + eta^2 (M^2 + 2 M B) + 2 mu eta^3 B^2, unrolled with
(1 - eta mu)^K <= exp(-eta mu K): E|x_K - x*|^2 <= exp(-eta mu K) r0_sq + eta (M^2 + 2 M B)/mu + 2 eta^2 B^2.
(A global M with strong convexity only holds on a bounded region visited by the run.)
SC-sigma (registered as ``strongly_convex_sigma``; eta <= 1/(2L), mu <= L; derived here, not the
paper's theorem). Assumptions: L-smooth and mu-strongly convex f with minimiser x*, fresh noise
E[xi_t | x_t, v_t] = 0 and E[|xi_t|^2 | x_t, v_t] <= sigma^2 (G_t = grad f(v_t) + xi_t), squared
elastic consistency E|e_t|^2 <= eta^2 B^2 with e_t = v_t - x_t. Write r = x_t - x*,
g = grad f(v_t).
The noise is centred given (x_t, v_t), so
  E|x_{t+1} - x*|^2 = E[|r|^2 - 2 eta <g, r> + eta^2 |g|^2] + eta^2 E|xi_t|^2,
and -2<g, r> = -2<grad f(x_t), r> - 2<g - grad f(x_t), r> with
  (i)   <grad f(x_t), r> >= f(x_t) - f* + (mu/2)|r|^2                (strong convexity);
  (ii)  -2<g - grad f(x_t), r> <= 2 L|e||r| <= c mu |r|^2 + L^2 |e|^2/(c mu)  (Lipschitz grad);
  (iii) |g|^2 <= (1 + p) L^2 |e|^2 + (1 + 1/p)|grad f(x_t)|^2
              <= (1 + p) L^2 |e|^2 + 2 L (1 + 1/p)(f(x_t) - f*)   (Young; |grad f|^2 <= 2L(f - f*)).
So E_t|x_{t+1} - x*|^2 <= (1 - eta mu (1 - c))|r|^2 - 2 eta (1 - L eta (1 + 1/p))(f(x_t) - f*)
  + eta L^2 |e|^2 (1/(c mu) + eta (1 + p)) + eta^2 sigma^2. With L eta (1 + 1/p) <= 1 the
f-coefficient is <= 0, and f(x_t) - f* >= (mu/2)|r|^2 turns it into a further contraction
(dropping it instead leaves the rate eta mu (1 - c)): the |r|^2 coefficient becomes
1 - eta mu (2 - c - L eta (1 + 1/p)). With c = 1/2, p = 1 (so eta <= 1/(2L)), a_t = E|x_t - x*|^2:
  a_{t+1} <= q a_t + C,  q = 1 - eta mu (3/2 - 2 L eta),
  C = eta^2 sigma^2 + 2 eta^3 L^2 B^2 (1/mu + eta).
eta <= 1/(2L) and mu <= L put eta mu (3/2 - 2 L eta) in [eta mu/2, 9/32] (L eta (3/2 - 2 L eta)
<= 9/32), so 0 < q < 1, and induction unrolls it to the solution of the equality recursion
(``sc_sigma_step``; the registered expression):
  E|x_K - x*|^2 <= q^K r0_sq
                   + (1 - q^K) (eta sigma^2 + 2 eta^2 L^2 B^2 (1/mu + eta)) / (mu (3/2 - 2 L eta)).
At B = 0 and eta -> 0 the floor is eta sigma^2/(3 mu/2), against the exact
eta sigma^2/(mu(2 - eta mu)) of SGD on mu/2 |x|^2 (ratio -> 0.75); choosing c -> 0 would approach 1 at the price of the B-term
(1/(c mu)). The cross term costs (L/mu)^2 in the B-term. The perturbed-iterate route (expand
around v_t: <g, v_t - x*> >= f(v_t) - f* + (mu/2)|v_t - x*|^2, 2<g, e> <= |g|^2/(2L) + 2L|e|^2
absorbed by f(v_t) - f* for eta <= 1/(2L), |v_t - x*|^2 >= |r|^2/2 - |e|^2) gives
a_{t+1} <= (1 - eta mu/2) a_t + eta^2 sigma^2 + eta^3 B^2 (2L + mu), i.e. the floor
2 eta sigma^2/mu + 2 eta^2 B^2 (1 + 2L/mu): L/mu instead of (L/mu)^2, but the rate eta mu/2
(the registered one is eta mu (3/2 - 2 L eta) >= eta mu/2) and up to 3x the noise floor (small eta).
Sharper on ill-conditioned problems only; not registered.
Registered non-convex forms multiply the non-F0 terms by (1 + 1/K): applying the inequality to
K+1 steps and dropping ||grad f(x_0)||^2 >= 0 makes them bound the average over x_1..x_K (what a
trace records after each update) as well as over x_0..x_{K-1}.

B per system (norm form unless said): async shared memory with delay tau: |x_t - v_t| <= eta
sum of at most tau step norms, so B = tau M (also for coordinate-wise torn reads with atomic
adds). Crash faults: B = n_crash M / n_workers. Top-k with EF: the residual recursion gives
B = sqrt(2 (1-gamma)(2-gamma)) M / gamma. Async + top-k with EF: tau M + (tau + 1) B_EF.
Async + top-k without EF: tau M (the applied update is no longer than the gradient).

Measured tightness (issue 12, ``python -m asyncbound.checks.tightness``: the worst
measured/bound that the full worst-case search finds for Hogwild! SGD): SC is loose everywhere
searched (worst ratio 0.002, on the three box problems that certify M too): the
eta (M^2 + 2 M B)/mu term with a global M (which strong convexity only allows on the region the
run visits) dominates whatever the run does. It stays registered as stated. The sharper SC-sigma
(``strongly_convex_sigma``: variance form, eta <= 1/(2L); it replaces M by sigma and keeps the
contraction of f(x_t) - f*) measures 0.48 (full search, decided; 0.59 screened) on the cond-1
quadratic with sigma = 1, and 0.72 on the exact second moments of
tests/theory/test_nadiradze_sc_sigma.py (limit 0.75, above). It is loose where sigma is small: B
is a maximum over t, set by the first steps' gradients (B ~ tau L ||x_0 - x*||), and the B-term
then dominates a floor the noise no longer sets. A bug that scales the step (overstep) is absorbed
by the measured B (the view gap grows with the real step, B = gap / reported eta); a staler view
than recorded is not.
NC-M reaches 0.55 on one-sample Huber regression started far from x* (the run stays in the linear
zone with ||grad f|| = M until near step K, so it attains the F0/(eta K) term), and stays below
0.07 near x* or with many samples: there the delay term (Cauchy-Schwarz twice, B = tau M) is not
attained by the same run.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from asyncbound.theory.bounds import Bound, Kind, Provenance, Source
from asyncbound.theory.papers._common import S, assumptions

PAPER = "nadiradze2021"
L, mu, sigma, M, B, K, eta, F0, tau, r0_sq = (
    S[n] for n in ("L", "mu", "sigma", "M", "B", "K", "eta", "F0", "tau", "r0_sq"))
n_workers, n_crash, gamma = S["n_workers"], S["n_crash"], S["gamma_topk"]

_SRC = dict(
    authors="Giorgi Nadiradze, Ilia Markov, Bapi Chatterjee, Vyacheslav Kungurtsev, Dan Alistarh",
    title="Elastic Consistency: A Practical Consistency Model for Distributed Stochastic "
          "Gradient Descent",
    venue="AAAI", year=2021, arxiv="2001.05918v3",
    url="https://arxiv.org/abs/2001.05918",
)


def _source(locator: str) -> Source:
    return Source(locator=locator, **_SRC)


@dataclass(frozen=True)
class SystemB:
    """The elastic-consistency constant of one system."""

    name: str
    expr: sp.Expr
    provenance: Provenance
    note: str


B_EF = sp.sqrt(2 * (1 - gamma) * (2 - gamma)) * M / gamma

B_SYSTEMS: dict[str, SystemB] = {
    "sequential": SystemB("sequential", sp.Integer(0), Provenance.DERIVED, "no view gap"),
    "async_shared_memory": SystemB(
        "async_shared_memory", tau * M, Provenance.DERIVED,
        "at most tau applied updates between read and write, E||G|| <= M"),
    "crash_faults": SystemB(
        "crash_faults", n_crash * M / n_workers, Provenance.DERIVED,
        "synchronous averaging, at most n_crash partially delivered broadcasts"),
    "topk_ef": SystemB(
        "topk_ef", B_EF, Provenance.DERIVED,
        "error-feedback residual recursion, top-k is a gamma-contraction (Stich et al. 2018 style)"),
    "async_topk_ef": SystemB(
        "async_topk_ef", tau * M + (tau + 1) * B_EF, Provenance.DERIVED,
        "triangle inequality: residuals plus at most tau compressed updates"),
    "async_topk_no_ef": SystemB(
        "async_topk_no_ef", tau * M, Provenance.DERIVED,
        "staleness only; the step is biased (needs a descent condition, not covered here)"),
}


def b_for(system: str) -> sp.Expr:
    try:
        return B_SYSTEMS[system].expr
    except KeyError:
        raise ValueError(f"unknown system {system!r}; known: {', '.join(B_SYSTEMS)}") from None


_NOTE = ("Derived in this project (module docstring); stands in for the paper's theorem, "
         "which was not read. Paper's constants may differ. x_t is the virtual sequence: the "
         "model itself for lock-free SGD without compression; model minus residuals for top-k "
         "with error feedback; top-k WITHOUT error feedback is not covered (biased steps).")

#: the notes' forms, averaged over x_0..x_{K-1}; the registered forms carry (1 + 1/K) on the
#: non-F0 terms so that they also bound the average over x_1..x_K (what a trace records after
#: each update): apply the inequality to K+1 steps and drop ||grad f(x_0)||^2 >= 0.
NC_M_CORE = F0 / (eta * K) + eta * L * (M * B + M**2 / 2)
NC_SIGMA_CORE = 2 * F0 / (eta * K) + L * eta * sigma**2 + L**2 * eta**2 * B**2

elastic_consistency = Bound(
    key=f"{PAPER}/elastic_consistency", paper=PAPER,
    metric="max_t E||x_t - v_t|| (view gap)", metric_id="view_gap", kind=Kind.UPPER,
    expr=eta * B,
    assumptions=assumptions("elastic_consistency"), conditions=(),
    source=_source("Definition of elastic consistency (Section 2; recalled, not read)"),
    provenance=Provenance.RECONSTRUCTED,
    statement="E||x_t - v_t|| <= eta*B for every t (norm form)",
    notes="Definition recalled from the paper; evaluate with B of the system (B_SYSTEMS).",
)

view_gap_async = Bound(
    key=f"{PAPER}/view_gap_async", paper=PAPER,
    metric="max_t E||x_t - v_t|| for asynchronous shared memory, staleness <= tau",
    metric_id="view_gap", kind=Kind.UPPER, expr=eta * tau * M,
    assumptions=assumptions("bounded_delay", "bounded_second_moment"), conditions=(),
    source=_source("Section 2, asynchronous shared memory (B recalled; value derived)"),
    provenance=Provenance.DERIVED,
    statement="Lock-free SGD with constant step eta, staleness <= tau: E||x_t - v_t|| <= eta*tau*M",
    notes="B_async = tau*M derived in the module docstring; valid for consistent and torn reads. "
          "Also for the iteration projected onto a box (theory.coverage, domain any): for x in "
          "the box, |Pi(x - eta g) - x| <= eta |g| coordinate-wise (the clamp is 1-Lipschitz, "
          "Pi(x) = x), so each applied step is still at most eta |G| long.",
)

nonconvex_M = Bound(
    key=f"{PAPER}/nonconvex_M", paper=PAPER,
    metric="(1/K) sum_{t=1..K} E||grad f(x_t)||^2 at the virtual iterates (also t=0..K-1)",
    metric_id="avg_grad_sq",
    kind=Kind.UPPER, expr=F0 / (eta * K) + (1 + 1 / K) * eta * L * (M * B + M**2 / 2),
    assumptions=assumptions("smooth", "lower_bounded", "bounded_second_moment",
                            "gradient_bounded_at_iterates", "elastic_consistency"),
    conditions=(), source=_source("non-convex theorem, norm-bounded (Thm NC-M of the notes)"),
    provenance=Provenance.DERIVED, notes=_NOTE,
    statement="Elastically consistent SGD (squared form), E||G||^2 <= M^2 at the evaluated "
              "gradients and E||grad f(x_t)||^2 <= M^2 at every iterate, any eta > 0",
)

nonconvex_sigma = Bound(
    key=f"{PAPER}/nonconvex_sigma", paper=PAPER,
    metric="(1/K) sum_{t=1..K} E||grad f(x_t)||^2 at the virtual iterates (also t=0..K-1)",
    metric_id="avg_grad_sq",
    kind=Kind.UPPER,
    expr=2 * F0 / (eta * K) + (1 + 1 / K) * (L * eta * sigma**2 + L**2 * eta**2 * B**2),
    assumptions=assumptions("smooth", "lower_bounded", "bounded_variance", "elastic_consistency"),
    conditions=(sp.Le(eta, 1 / L),),
    source=_source("non-convex theorem, variance-bounded (Thm NC-sigma of the notes)"),
    provenance=Provenance.DERIVED, notes=_NOTE,
    statement="Elastically consistent SGD (squared form E||x-v||^2 <= eta^2 B^2), eta <= 1/L",
)

strongly_convex = Bound(
    key=f"{PAPER}/strongly_convex", paper=PAPER,
    metric="E||x_K - x*||^2", metric_id="final_dist_sq", kind=Kind.UPPER,
    expr=sp.exp(-eta * mu * K) * r0_sq + eta * (M**2 + 2 * M * B) / mu + 2 * eta**2 * B**2,
    assumptions=assumptions("smooth", "strongly_convex", "bounded_second_moment",
                            "elastic_consistency"),
    conditions=(sp.Le(eta, 1 / mu),),
    source=_source("strongly convex theorem (Thm SC of the notes)"),
    provenance=Provenance.DERIVED,
    notes=_NOTE + " The recursion holds verbatim for x_{t+1} = Pi(x_t - eta G_t), Pi the projection "
                  "onto a box and x* the minimiser over the box (theory.coverage: "
                  "unconstrained_or_box): |Pi(y) - x*| <= |y - x*| (Pi non-expansive, Pi(x*) = x*); "
                  "views of box iterates lie in the box even when torn (a product set), where "
                  "<grad f(v), v - x*> >= mu |v - x*|^2 (strong convexity and <grad f(x*), v - x*> "
                  ">= 0); |x_{t+1} - x_t| <= eta |G_t| keeps B = tau M; M bounds E|G|^2 on the box.",
    statement="Elastically consistent SGD (both forms), mu-strongly convex f, eta <= 1/mu",
)


def sc_step(a):
    """One step of the SC recursion (used by the algebra test)."""
    return (1 - eta * mu) * a + eta**2 * (M**2 + 2 * M * B) + 2 * mu * eta**3 * B**2


#: SC-sigma: one step contracts a_t = E|x_t - x*|^2 by q = 1 - SC_SIGMA_RATE and adds SC_SIGMA_ADD
SC_SIGMA_RATE = eta * mu * (sp.Rational(3, 2) - 2 * L * eta)
SC_SIGMA_ADD = eta**2 * sigma**2 + 2 * eta**3 * L**2 * B**2 * (1 / mu + eta)


def sc_sigma_step(a):
    """One step of the SC-sigma recursion (used by the algebra test)."""
    return (1 - SC_SIGMA_RATE) * a + SC_SIGMA_ADD


strongly_convex_sigma = Bound(
    key=f"{PAPER}/strongly_convex_sigma", paper=PAPER,
    metric="E||x_K - x*||^2", metric_id="final_dist_sq", kind=Kind.UPPER,
    expr=(1 - SC_SIGMA_RATE)**K * r0_sq
    + (1 - (1 - SC_SIGMA_RATE)**K) * SC_SIGMA_ADD / SC_SIGMA_RATE,
    assumptions=assumptions("smooth", "strongly_convex", "bounded_variance", "elastic_consistency"),
    conditions=(sp.Le(eta, 1 / (2 * L)), sp.Le(mu, L)),
    source=_source("strongly convex, variance-bounded (Thm SC-sigma of the module docstring; "
                   "derived here, not the paper's theorem)"),
    provenance=Provenance.DERIVED, notes=_NOTE,
    statement="Elastically consistent SGD (squared form E||x-v||^2 <= eta^2 B^2), L-smooth "
              "mu-strongly convex f, noise variance sigma^2, eta <= 1/(2L)",
)


def with_system(bound: Bound, system: str) -> sp.Expr:
    """The bound's expression with B replaced by the system's B."""
    return bound.expr.subs(B, b_for(system))


BOUNDS = (elastic_consistency, view_gap_async, nonconvex_M, nonconvex_sigma, strongly_convex,
          strongly_convex_sigma)
