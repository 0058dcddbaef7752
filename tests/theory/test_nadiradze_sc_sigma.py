"""nadiradze2021/strongly_convex_sigma (SC-sigma, derived in theory/papers/nadiradze2021.py):
the algebra of its recursion (sympy) and the bound against the *exact* second moments of delayed
SGD on diagonal quadratics (numpy), where it must hold and where a planted wrong constant fails."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import sympy as sp
from asyncbound.theory import get_bound
from asyncbound.theory.papers import nadiradze2021 as nad
from asyncbound.theory.symbols import SYMBOLS as S

KEY = "nadiradze2021/strongly_convex_sigma"
L, mu, sigma, B, K, eta, r0 = (S[n] for n in ("L", "mu", "sigma", "B", "K", "eta", "r0_sq"))


def test_one_step_of_the_recursion_unrolls_to_the_registered_bound():
    expr = get_bound(KEY).expr
    assert sp.simplify(expr.subs(K, 0) - r0) == 0
    # the registered expression solves b_{K+1} = q b_K + C exactly (so it dominates a_K by
    # induction, q > 0); q^K is named P so that simplify sees a rational function
    q, P = 1 - nad.SC_SIGMA_RATE, sp.Symbol("P")
    b_K = expr.subs(q**K, P)
    b_next = sp.expand_power_exp(expr.subs(K, K + 1)).subs(q**K, P)
    assert K not in b_K.free_symbols | b_next.free_symbols
    assert sp.simplify(b_next - nad.sc_sigma_step(b_K)) == 0


def test_step_coefficients_are_the_derivation_at_c_one_half_p_one():
    c, p = sp.symbols("c p", positive=True)
    # |r|^2 coefficient and |e|^2 factor of the docstring's one-step inequality, general (c, p)
    rate = eta * mu * (1 - c) + eta * mu * (1 - L * eta * (1 + 1 / p))
    e_factor = eta * L**2 * (1 / (c * mu) + eta * (1 + p))
    at = {c: sp.Rational(1, 2), p: 1}
    assert sp.simplify(rate.subs(at) - nad.SC_SIGMA_RATE) == 0
    add = eta**2 * sigma**2 + e_factor.subs(at) * eta**2 * B**2  # E|e|^2 <= eta^2 B^2
    assert sp.simplify(add - nad.SC_SIGMA_ADD) == 0
    # the f(x_t) - f* coefficient 1 - L eta (1 + 1/p) >= 0 is the registered step condition
    cond = get_bound(KEY).conditions[0]
    limit = sp.solve(sp.Eq(L * eta * (1 + 1 / p), 1), eta)[0].subs(p, 1)
    assert cond.lhs == eta and sp.simplify(cond.rhs - limit) == 0
    # 0 < 1 - q <= 9/32 on the admissible region (x = L eta in (0, 1/2], mu <= L)
    x = sp.symbols("x", positive=True)
    per_mu = sp.simplify(nad.SC_SIGMA_RATE.subs(eta, x / L) * L / mu)  # x (3/2 - 2x)
    top = sp.solve(sp.diff(per_mu, x), x)[0]
    assert top == sp.Rational(3, 8) and per_mu.subs(x, top) == sp.Rational(9, 32)
    assert per_mu.subs(x, sp.Rational(1, 2)) == sp.Rational(1, 4)


# --- exact second moments of delayed SGD ---------------------------------------------------------
def exact_moments(lams, step, sig, K_, delays):
    """E||x_K - x*||^2 and max_t E||x_t - v_t||^2 for x_{k+1} = x_k - step (lam x_{k-tau_k} + xi_k)
    on f = sum_i lam_i x_i^2 / 2 (x* = 0), xi ~ N(0, sig^2/d I), x_0 = (1, .., 1)/sqrt(d)
    (r0_sq = 1), views before x_0 read x_0. ``delays(k)``: {tau: probability} at update k, drawn
    independently of the noise (every delay schedule the theorem allows). Exact: the moments of
    the window (x_k, .., x_{k-T}) evolve linearly, one (T+1)x(T+1) matrix per coordinate."""
    lams = np.asarray(lams, dtype=float)
    d, T = len(lams), max(max(delays(k)) for k in range(K_))
    S_ = np.full((d, T + 1, T + 1), 1.0 / d)
    gap = 0.0
    for k in range(K_):
        new, g = np.zeros_like(S_), np.zeros(d)
        for tau, prob in delays(k).items():
            j = min(tau, k)
            A = np.zeros((d, T + 1, T + 1))
            A[:, 0, 0] = 1.0
            A[:, 0, j] -= step * lams
            A[:, np.arange(1, T + 1), np.arange(T)] = 1.0
            new += prob * np.einsum("dij,djk,dlk->dil", A, S_, A)
            g += prob * (S_[:, 0, 0] - 2 * S_[:, 0, j] + S_[:, j, j])
        new[:, 0, 0] += step**2 * sig**2 / d
        gap, S_ = max(gap, float(g.sum())), new
    return float(S_[:, 0, 0].sum()), gap


DELAYS = {
    "none": lambda tau: (lambda k: {0: 1.0}),
    "constant": lambda tau: (lambda k: {tau: 1.0}),
    "uniform": lambda tau: (lambda k: {t: 1.0 / (tau + 1) for t in range(tau + 1)}),
    "sawtooth": lambda tau: (lambda k: {k % (tau + 1): 1.0}),  # round-robin workers
}


def _ratios(expr=None):
    """measured / bound over a grid of spectra, noise, delays and steps (B measured exactly)."""
    bound = get_bound(KEY)
    names = ("L", "mu", "sigma", "B", "K", "eta", "r0_sq")
    f = None if expr is None else sp.lambdify([S[n] for n in names], expr)
    out = []
    delays = (("none", 0), ("constant", 2), ("uniform", 4), ("sawtooth", 3))
    grid = itertools.product(((1.0,), (1.0, 0.3, 0.1)), (0.0, 1.0), delays, (0.1, 0.5, 1.0), (60, 300))
    for lams, sig, (kind, tau), frac, K_ in grid:
        L_, mu_ = max(lams), min(lams)
        step = frac / (2 * L_)
        final, gap = exact_moments(lams, step, sig, K_, DELAYS[kind](tau))
        vals = dict(L=L_, mu=mu_, sigma=sig, B=math.sqrt(gap) / step, K=K_, eta=step, r0_sq=1.0)
        assert bound.conditions_hold(**vals)
        b = bound.evaluate(**vals) if f is None else f(*(vals[n] for n in names))
        ratio = final / b if b > 0 else (math.inf if final > 0 else 0.0)
        out.append((ratio, dict(lams=lams, sig=sig, delay=kind, tau=tau, frac=frac, K=K_)))
    return out


def test_bound_holds_on_the_exact_second_moments_and_is_tight_somewhere():
    ratios = _ratios()
    worst, where = max(ratios, key=lambda r: r[0])
    assert worst <= 1.0, where
    # measured/bound: 0.75 is the limit at B = 0, eta -> 0 (module docstring)
    assert worst > 0.6, where


def test_a_planted_wrong_rate_is_caught_by_the_same_grid():
    """The bound with the rate of noiseless GD on a quadratic, 1 - (1 - eta mu)^2 ~ 2 eta mu,
    in place of eta mu (3/2 - 2 L eta): its noise floor eta sigma^2/(2 mu) is below the exact
    eta sigma^2/(mu (2 - eta mu)) of plain SGD."""
    wrong = get_bound(KEY).expr.subs(nad.SC_SIGMA_RATE, 2 * eta * mu)
    assert wrong != get_bound(KEY).expr
    noisy = [(r, w) for r, w in _ratios(wrong) if w["sig"] > 0 and w["delay"] == "none"]
    worst, where = max(noisy, key=lambda r: r[0])
    assert worst > 1.2, where


def test_a_planted_missing_delay_term_is_caught_by_the_same_grid():
    """The bound with its B-term dropped (as if the view were never stale): delayed SGD at the
    largest admissible step grows while the bound at B = 0 decays."""
    wrong = get_bound(KEY).expr.subs(B, 0)
    worst, where = max(_ratios(wrong), key=lambda r: r[0])
    assert worst > 10 and where["delay"] != "none", where


@pytest.mark.parametrize("frac", [0.1, 1.0])
def test_exact_moments_match_the_closed_form_of_plain_sgd(frac):
    """The moment recursion itself: at tau = 0 on lam x^2/2,
    E x_K^2 = q^K r0 + (1 - q^K) s / (1 - q) with q = (1 - eta lam)^2, s = eta^2 sigma^2."""
    lam, sig, K_ = 0.7, 0.5, 40
    step = frac / (2 * lam)
    final, gap = exact_moments([lam], step, sig, K_, DELAYS["none"](0))
    q = (1 - step * lam) ** 2
    assert gap == 0.0
    assert final == pytest.approx(q**K_ + (1 - q**K_) * step**2 * sig**2 / (1 - q), rel=1e-12)
