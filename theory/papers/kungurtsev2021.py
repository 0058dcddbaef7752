r"""Kungurtsev, Egan, Chatterjee, Alistarh: "Asynchronous Optimization Methods for Efficient Training
of Deep Neural Networks with Guarantees", AAAI 2021 (vol. 35 no. 9, pp. 8209-8216),
arXiv:1905.11845v2. Partitioned asynchronous stochastic subgradient method with momentum (PASSM).

Notation table (paper -> canonical)
-----------------------------------
| paper | canonical | meaning |
|---|---|---|
| gamma_nu = a/(nu+b)^p | ``a_step``, ``b_step``, ``p_step`` (index ``k``) | step-size schedule |
| m | ``momentum`` | heavy-ball momentum in [0, 1) |
| d^k_j <= D (bounded delay) | ``tau`` | max staleness (the notes' D; NOT the domain radius ``D``) |
| p_min | ``p_min`` | block-selection floor |
| c-bar | ``n_workers`` | cores / processes |
| blocks I^c | ``n_blocks`` | blocks of the partition |
| sup ||x^k|| | ``D`` | bounded iterates (radius) |

Provenance (honest statement)
-----------------------------
VERIFIED (abstract, AAAI): convergence with probability one to an invariant set of the limiting
differential inclusion, for the stochastic subgradient method with momentum on a partitioned
shared model, under a probabilistic model of asynchrony; no rate. NOT read: the assumption list
and the theorem statement. The assumptions (sum gamma = inf, sum gamma^2 < inf, vanishing delay
effect gamma_{k-tau} tau -> 0, block fairness p_min, bounded iterates, tame f) are RECONSTRUCTED
from the framework the paper names (notes §3, A5-A13). The bound below is ASYMPTOTIC: the
stationarity measure (distance of 0 to the Clarke subdifferential at limit points) tends to 0
w.p.1; its expression is the limit value 0.

Machine-checkable conditions (DERIVED here, sympy): for gamma_k = a/(k+b)^p,
sum gamma_k = inf iff p <= 1; sum gamma_k^2 < inf iff p > 1/2 (both decided by
``Sum(...).is_convergent()``), and gamma_{k-tau} * tau -> 0 (``limit``) for every bounded tau.
"""

from __future__ import annotations

import logging

import sympy as sp
from asyncbound.theory.bounds import Bound, Kind, Provenance, Source
from asyncbound.theory.papers._common import S, assumptions

log = logging.getLogger(__name__)

PAPER = "kungurtsev2021"
k, a_step, b_step, p_step, tau, momentum = (
    S[n] for n in ("k", "a_step", "b_step", "p_step", "tau", "momentum"))

_SRC = dict(
    authors="Vyacheslav Kungurtsev, Malcolm Egan, Bapi Chatterjee, Dan Alistarh",
    title="Asynchronous Optimization Methods for Efficient Training of Deep Neural Networks "
          "with Guarantees",
    venue="AAAI", year=2021, arxiv="1905.11845v2",
    url="https://ojs.aaai.org/index.php/AAAI/article/view/16999",
)

SCHEDULE = a_step / (k + b_step)**p_step

stationarity = Bound(
    key=f"{PAPER}/stationarity", paper=PAPER,
    metric="dist(0, Clarke subdifferential of f at x_k) as k -> inf (w.p.1); proxy: final "
           "(sub)gradient norm", metric_id="stationarity",
    kind=Kind.ASYMPTOTIC, expr=sp.Integer(0),
    assumptions=assumptions("step_summability", "vanishing_delay_effect", "block_fairness",
                            "bounded_iterates", "bounded_delay"),
    conditions=(sp.Lt(momentum, 1),),
    source=Source(locator="main theorem (convergence w.p.1 to an invariant set); statement "
                          "not read, abstract verified", **_SRC),
    provenance=Provenance.RECONSTRUCTED,
    statement="PASSM with gamma_k = a/(k+b)^p, 1/2 < p <= 1, bounded delays, fair blocks, "
              "bounded iterates: every limit point is Clarke stationary w.p.1",
    notes="Asymptotic; check with schedule_conditions and a vanishing-trend test, never a "
          "finite-K inequality. Finite-horizon schedules (cosine, multistep) do not satisfy it.",
)


def _exact(x):
    return sp.nsimplify(x, rational=True) if not isinstance(x, sp.Basic) else x


def schedule_conditions(a, b, p, delay) -> dict[str, bool | None]:
    """Decide the step-size conditions for gamma_k = a/(k+b)^p with staleness bound ``delay``.

    Returns ``{"sum_diverges", "sum_sq_converges", "delay_effect_vanishes", "all"}``; each is
    True/False, or None when sympy cannot decide.
    """
    a, b, p, delay = (_exact(x) for x in (a, b, p, delay))
    for name, v in (("a", a), ("p", p)):
        if v.is_positive is False:
            raise ValueError(f"{name} must be > 0, got {v}")
    for name, v in (("b", b), ("delay", delay)):
        if v.is_negative:
            raise ValueError(f"{name} must be >= 0, got {v}")
    kk = sp.Symbol("kk", positive=True, integer=True)
    gamma = a / (kk + b)**p
    start = 1

    def convergent(term):
        try:
            return sp.Sum(term, (kk, start, sp.oo)).is_convergent()
        except (NotImplementedError, ValueError) as exc:  # sympy gives up on some forms
            log.debug("is_convergent undecided: %s", exc)
            return None

    diverges = convergent(gamma)
    sq = convergent(gamma**2)
    vanish = sp.limit(gamma.subs(kk, kk - delay) * delay, kk, sp.oo)
    out = {
        "sum_diverges": None if diverges is None else (not bool(diverges)),
        "sum_sq_converges": None if sq is None else bool(sq),
        "delay_effect_vanishes": bool(vanish == 0),
    }
    vals = list(out.values())
    out["all"] = None if None in vals else all(vals)
    return out


def delay_effect_limit() -> sp.Expr:
    """lim_{k->inf} gamma_{k-tau} * tau for the symbolic schedule (0 for every p > 0)."""
    return sp.limit(SCHEDULE.subs(k, k - tau) * tau, k, sp.oo)


def momentum_gain() -> sp.Expr:
    """Steady-state gain of the heavy-ball buffer: sum_{j>=0} m^j = 1/(1-m) for 0 <= m < 1
    (sympy returns a Piecewise on |m| < 1; the admissible range of ``momentum`` selects it)."""
    j = sp.Symbol("j", integer=True, nonnegative=True)
    total = sp.summation(momentum**j, (j, 0, sp.oo))
    if isinstance(total, sp.Piecewise):
        total = total.args[0].expr
    return sp.simplify(total)


BOUNDS = (stationarity,)
