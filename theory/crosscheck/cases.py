r"""Which PEP cross-checks each derived bound, on which grid (a capability table, not branches).

Every derived bound with a deterministic specialisation (sigma = 0) is listed by ``cases()``;
``NOT_CROSSCHECKABLE`` says why the others are not. A case turns one grid point (K, delay
sequence, step fraction, constants) into the keyword arguments of ``pep.delayed_gd`` and the
values at which the *registered* sympy expression is evaluated, so a wrong registered formula is
caught, not a copy of it.

Scale: L = 1 and F0 = 1 (or r0_sq = 1). f -> c f with x -> sqrt(c) x keeps L and multiplies F0,
every squared gradient and every squared distance by c, so worst/bound does not depend on the
common scale; what remains (M^2 / (L F0), B, mu / L) are the grid axes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy as sp

#: the step axis: fractions of the bound's admissible maximum (or of 1/L where any eta is allowed)
ETA_FRACTIONS = (1.0, 0.5)
#: tau_k = min(tau, k) for these K; every adversarial sequence tau_k in {0..min(tau, k)} as well
#: for K <= ADVERSARIAL_K_MAX
GRIDS = {
    "quick": dict(K=(3, 6), tau=(0, 2, 4), adversarial_K_max=3),
    "full": dict(K=(2, 3, 5, 10, 20), tau=(0, 1, 2, 4), adversarial_K_max=4),
}


@dataclass(frozen=True)
class Case:
    key: str
    cls: str  # "smooth" | "strongly_convex"
    metrics: tuple  # pep.delayed_gd metrics the registered expression bounds
    default_eta_max: object  # used only when the bound states no step limit (sympy, in L, mu, tau)
    extra: tuple  # grid axes beyond K, tau, eta: one dict of constants per grid point
    note: str
    square_root: bool = False  # the bound is on a norm and the PEP on its square
    #: ||grad f(x_t)|| <= M at every iterate, not only at the evaluated (delayed) gradients
    m_at_iterates: bool = False


def step_limit(bound, case: Case):
    """The bound's own admissible step (its ``derived['eta_max']``, else its solved side
    condition ``eta <= expr``), so that a wrong condition is cross-checked as registered; the
    case's default only where the bound allows any eta (then the grid spans fractions of it)."""
    derived = getattr(bound, "derived", {}) or {}
    if "eta_max" in derived:
        return derived["eta_max"]
    for c in bound.conditions:
        if c.lhs.is_Symbol and c.lhs.name == "eta" and c.rel_op in ("<=", "<"):
            return c.rhs
    return case.default_eta_max


def step(bound, case: Case, frac: float, values: dict) -> float:
    """``frac`` times the admissible maximum step at ``values`` (names -> numbers)."""
    e = sp.sympify(step_limit(bound, case))
    return frac * float(e.subs({s: values[s.name] for s in e.free_symbols}))


_AVG = ("avg_grad_sq", "avg_grad_sq_0")  # the registered forms bound both windows


def _sym(name):
    from asyncbound.theory.symbols import SYMBOLS

    return SYMBOLS[name]


def cases() -> dict[str, Case]:
    from asyncbound.theory.papers import nadiradze2021 as nad

    L = _sym("L")
    return {c.key: c for c in (
        Case("classic_delayed_sgd/nonconvex", "smooth", _AVG, None,
             ({"F0": 1.0},), "metric over x_1..x_K and over x_0..x_{K-1}"),
        Case("classic_delayed_sgd/strongly_convex", "strongly_convex", ("final_gap",),
             None, ({"F0": 1.0, "mu": 0.1}, {"F0": 1.0, "mu": 0.5}),
             "final gap f(x_K) - f*"),
        Case(f"{nad.PAPER}/nonconvex_M", "smooth", _AVG, 1 / L,
             ({"F0": 1.0, "M": 0.1}, {"F0": 1.0, "M": 1.0}),
             "||grad f||^2 <= M^2 at every iterate (the toolkit's reading), B = tau M",
             m_at_iterates=True),
        Case(f"{nad.PAPER}/nonconvex_sigma", "smooth", _AVG, None,
             ({"F0": 1.0, "B": 0.5}, {"F0": 1.0, "B": 2.0}),
             "view gap ||x_t - v_t||^2 <= eta^2 B^2 a constraint"),
        Case(f"{nad.PAPER}/strongly_convex", "strongly_convex", ("final_dist_sq",), None,
             ({"r0_sq": 1.0, "mu": 0.5, "M": 0.1}, {"r0_sq": 1.0, "mu": 0.5, "M": 1.0}),
             "||grad f(v_t)||^2 <= M^2 at the evaluated gradients, B = tau M"),
        Case(f"{nad.PAPER}/strongly_convex_sigma", "strongly_convex", ("final_dist_sq",), None,
             ({"r0_sq": 1.0, "mu": 0.5, "B": 0.5}, {"r0_sq": 1.0, "mu": 0.5, "B": 2.0}),
             "view gap ||x_t - v_t||^2 <= eta^2 B^2 a constraint"),
        Case(f"{nad.PAPER}/view_gap_async", "smooth", ("view_gap_sq",), 1 / L,
             ({"M": 1.0},), "||grad f(v_t)||^2 <= M^2 at the evaluated gradients", square_root=True),
    )}


NOT_CROSSCHECKABLE = {
    "nadiradze2021/elastic_consistency": "a definition (the view gap is eta*B by assumption), not "
                                         "an inequality about an algorithm",
}


def delay_sequences(K: int, tau: int, adversarial_K_max: int):
    """tau_k = min(tau, k) first, then (for small K) every other sequence with 0 <= tau_k <= min(tau, k)."""
    capped = tuple(min(tau, k) for k in range(K))
    yield "capped", capped
    if K <= adversarial_K_max:
        for seq in itertools.product(*(range(min(tau, k) + 1) for k in range(K))):
            if seq != capped:
                yield "adversarial", seq


def configurations(case: Case, grid: str):
    """Every (K, tau, delays, eta fraction, constants) of ``grid`` for ``case``."""
    g = GRIDS[grid]
    for K, tau, frac, consts in itertools.product(g["K"], g["tau"], ETA_FRACTIONS, case.extra):
        if "view_gap_sq" in case.metrics and tau == 0:
            continue  # the bound is 0 and so is the gap: nothing to compare
        for kind, seq in delay_sequences(K, tau, g["adversarial_K_max"]):
            for metric in case.metrics:
                yield dict(K=K, tau=tau, frac=frac, delays=seq, delay_kind=kind,
                           consts=dict(consts), metric=metric)


def pep_arguments(bound, case: Case, cfg: dict, L: float = 1.0) -> tuple[dict, dict]:
    """(keyword arguments of pep.delayed_gd, values for the registered expression)."""
    c, tau, K = cfg["consts"], cfg["tau"], cfg["K"]
    eta = step(bound, case, cfg["frac"], {"L": L, "tau": tau, **c})
    kw = dict(cls=case.cls, K=K, delays=list(cfg["delays"]), eta=eta, L=L, mu=c.get("mu", 0.0),
              metric=cfg["metric"])
    vals = {"L": L, "K": K, "eta": eta, "tau": tau, "sigma": 0.0}
    if "F0" in c:
        kw["F0"] = vals["F0"] = c["F0"]
    if "r0_sq" in c:
        kw["r0_sq"] = vals["r0_sq"] = c["r0_sq"]
    if "mu" in c:
        vals["mu"] = c["mu"]
    if "M" in c:
        kw["M"] = vals["M"] = c["M"]
        kw["B"] = vals["B"] = tau * c["M"]  # the async shared-memory system's B (nadiradze2021)
        kw["M_at_iterates"] = case.m_at_iterates
    if "B" in c and "M" not in c:
        kw["B"] = vals["B"] = c["B"]
    return kw, vals


def bound_value(bound, vals: dict) -> float:
    """The registered expression at ``vals`` (``square_root`` cases compare it with the square
    root of the PEP's worst case)."""
    return float(bound.evaluate(**{k: vals[k] for k in bound.expr_symbols()}))
