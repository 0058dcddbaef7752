"""Assumptions of the theorems, each naming its symbols and how it is certified or estimated.

``certify``: how the constant is known *by construction* on a problem of
``implementations.problems`` (preferred: checks call such constants "certified").
``estimate``: how it is measured from a run's trace when it cannot be certified (checks then
call it "measured" and state the estimator).
"""

from __future__ import annotations

from dataclasses import dataclass

from asyncbound.theory.symbols import symbol

__all__ = ["Assumption", "ASSUMPTIONS", "get_assumption"]


@dataclass(frozen=True)
class Assumption:
    """One hypothesis of a theorem. ``symbols`` are canonical names from ``theory.symbols``."""

    key: str
    title: str
    statement: str
    symbols: tuple[str, ...]
    certify: str
    estimate: str

    def __post_init__(self):
        for name in self.symbols:
            symbol(name)  # unknown names fail at import time, not in a report

    def to_dict(self) -> dict:
        return {
            "key": self.key, "title": self.title, "statement": self.statement,
            "symbols": list(self.symbols), "certify": self.certify, "estimate": self.estimate,
        }


_LIST = [
    Assumption(
        "lower_bounded", "f is bounded below",
        "f* = inf f > -inf; F0 = f(x0) - f*", ("F0",),
        "problem.f_star known by construction (quadratic: 0; logistic: >= 0)",
        "F0 <= f(x0) - min over the run of f (an under-estimate of F0: use only if f* unknown)"),
    Assumption(
        "smooth", "L-smooth",
        "||grad f(x) - grad f(y)|| <= L ||x - y|| for all x, y", ("L",),
        "quadratic: largest eigenvalue of the Hessian; logistic: ||A||_2^2 / (4n)",
        "max of ||grad f(x) - grad f(y)|| / ||x - y|| over sampled pairs (a lower bound of L)"),
    Assumption(
        "strongly_convex", "mu-strongly convex",
        "<grad f(x) - grad f(y), x - y> >= mu ||x - y||^2", ("mu",),
        "quadratic: smallest eigenvalue of the Hessian; l2-regularised loss: the ridge weight",
        "not estimable from a run; certify only"),
    Assumption(
        "bounded_variance", "bounded noise variance",
        "E[g(x) | x] = grad f(x) and E||g(x) - grad f(x)||^2 <= sigma^2 for all x", ("sigma",),
        "additive noise of known covariance S: sigma^2 = trace(S)",
        "mean over updates of ||g - grad f||^2 at logged points (needs full gradients)"),
    Assumption(
        "bounded_second_moment", "bounded second moment (Euclidean norm)",
        "E||g_t||^2 <= M^2 for every stochastic gradient g_t the method evaluates (at the views "
        "v_t it reads; implies E||grad f(v_t)||^2 <= M^2 there)", ("M",),
        "on a domain of radius D: M^2 = sup ||grad f||^2 + sigma^2",
        "max over updates t of the mean over seeds of sgrad_norm_sq (trace column), square-rooted"),
    Assumption(
        # issue 18: nadiradze2021/nonconvex_M needs this, and measuring M at the evaluated
        # gradients only made the check claim a bound the theorem does not give
        "gradient_bounded_at_iterates", "gradient bounded at every iterate",
        "E||grad f(x_t)||^2 <= M^2 at every (virtual) iterate x_t, t = 0..K, including the "
        "iterates whose gradient the method never evaluates", ("M",),
        "a certified M bounds ||grad f|| everywhere on the domain, iterates included",
        "max over updates t of the mean over seeds of max(sgrad_norm_sq, grad_norm_sq), "
        "square-rooted; needs grad_norm_sq at every update (eval_every = 1), else M is not bound"),
    Assumption(
        "bounded_gradient_inf", "bounded stochastic gradients (sup norm)",
        "||g(x; xi)||_inf <= G almost surely for all x in the domain", ("G",),
        "clipped or bounded-noise oracle on a box domain: G = sup ||grad f||_inf + noise bound",
        "max over the run of ||g||_inf (a lower bound of G)"),
    Assumption(
        "bounded_domain", "bounded domain (sup norm)",
        "||x||_inf <= D for every feasible x (box of half-width D)", ("D",),
        "problem.project clips to the box [-D, D]^d",
        "max over the run of ||x||_inf (a lower bound of D)"),
    Assumption(
        "bounded_delay", "bounded staleness",
        "0 <= tau_k <= tau for every update k (staleness = write_version - read_version)",
        ("tau",),
        "DelayModel.max_delay of the delay model driving the run",
        "max of the trace's staleness column (tau_max)"),
    Assumption(
        "average_delay", "average staleness",
        "(1/K) sum_k tau_k <= tau_avg", ("tau_avg",),
        "mean of the delay distribution of the DelayModel",
        "mean of the trace's staleness column"),
    Assumption(
        "block_fairness", "fair block selection",
        "P(block i is updated at step k | past) >= p_min for every block i and step k",
        ("p_min", "n_blocks"),
        "uniform choice among n_blocks blocks: p_min = 1/n_blocks (partition owners: per owner)",
        "min over blocks of the fraction of updates written to that block (trace column block)"),
    Assumption(
        "step_summability", "Robbins-Monro step sizes",
        "sum_k gamma_k = inf and sum_k gamma_k^2 < inf (gamma_k = a/(k+b)^p: 1/2 < p <= 1)",
        ("a_step", "b_step", "p_step"),
        "decided symbolically by theory.papers.kungurtsev2021.schedule_conditions",
        "not estimable from a finite run"),
    Assumption(
        "vanishing_delay_effect", "delay effect vanishes",
        "gamma_{k - tau_k} * tau_k -> 0 almost surely", ("tau",),
        "bounded delay tau with gamma_k -> 0 (limit decided symbolically)",
        "gamma at (update - staleness) times staleness, over the last window of the trace"),
    Assumption(
        "bounded_iterates", "bounded iterates",
        "sup_k ||x_k|| < inf almost surely", ("D",),
        "projection onto a box of radius D",
        "max over the run of ||x_k||_inf"),
    Assumption(
        "elastic_consistency", "elastic consistency",
        "E||x_t - v_t|| <= eta*B (norm form) and E||x_t - v_t||^2 <= eta^2*B^2 (squared form)",
        ("B", "eta"),
        "B of the system (theory.papers.nadiradze2021.B_SYSTEMS) from tau, M, gamma_topk ...",
        "max over t of the mean over seeds of the trace's view_gap column, divided by eta"),
    Assumption(
        "amsgrad_gamma", "AMSGrad moment condition",
        "beta1, beta2 in [0, 1) and beta1 < sqrt(beta2)", ("beta1", "beta2"),
        "hyperparameters of the rule", "hyperparameters of the rule"),
]

ASSUMPTIONS: dict[str, Assumption] = {a.key: a for a in _LIST}


def get_assumption(key: str) -> Assumption:
    try:
        return ASSUMPTIONS[key]
    except KeyError:
        raise ValueError(f"unknown assumption {key!r}; known: {', '.join(ASSUMPTIONS)}") from None
