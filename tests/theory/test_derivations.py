"""Derivations (theory.derivations) and, per bound, the tau = 0 limit, the order in K and the
monotonicity the theorem implies, each re-checked by sympy."""

from __future__ import annotations

import pytest
import sympy as sp
from asyncbound.theory import get_bound
from asyncbound.theory.derivations import (
    derived_quantities,
    is_monotone,
    leading_order,
    max_delay_exponent,
    optimal_step,
    tau_zero_limit,
)
from asyncbound.theory.papers import nadiradze2021 as nad
from asyncbound.theory.papers import xu_apam
from asyncbound.theory.symbols import SYMBOLS as S

L, mu, sigma, tau, K, eta, F0, M, B, C1, C2 = (
    S[n] for n in ("L", "mu", "sigma", "tau", "K", "eta", "F0", "M", "B", "C1", "C2"))


def test_optimal_step_of_textbook_sgd():
    expr = 2 * F0 / (eta * K) + L * eta * sigma**2
    star, value = optimal_step(expr)
    assert sp.simplify(star - sp.sqrt(2 * F0 / (L * sigma**2 * K))) == 0
    assert sp.simplify(value - 2 * sp.sqrt(2 * F0 * L * sigma**2 / K)) == 0
    curvature = sp.diff(expr, eta, 2).subs(eta, star)  # a minimum
    assert float(curvature.subs({F0: 2, K: 100, L: 1, sigma: 0.5})) > 0


def test_optimal_step_of_nadiradze_nonconvex_M_matches_the_notes():
    star, value = optimal_step(nad.NC_M_CORE)
    assert sp.simplify(star - sp.sqrt(2 * F0 / (L * M * (M + 2 * B) * K))) == 0
    assert sp.simplify(value - sp.sqrt(2 * F0 * L * M * (M + 2 * B) / K)) == 0
    # the registered (K+1)-form: K -> K + 1 under the root
    star1, _ = optimal_step(get_bound("nadiradze2021/nonconvex_M"))
    assert sp.simplify(star1 - sp.sqrt(2 * F0 / (L * M * (M + 2 * B) * (K + 1)))) == 0
    assert leading_order(value, "K")[0] == sp.Rational(-1, 2)


def test_optimal_step_errors():
    with pytest.raises(ValueError, match="var"):
        optimal_step(get_bound("xu_apam/nonconvex"))  # no eta in the template
    with pytest.raises(ValueError, match="var"):
        optimal_step(get_bound("nadiradze2021/view_gap_async"))  # linear in eta
    with pytest.raises(ValueError, match="transcendental"):
        optimal_step(get_bound("nadiradze2021/strongly_convex"))
    with pytest.raises(ValueError, match="degree 3"):
        optimal_step(get_bound("classic_delayed_sgd/nonconvex"))


def test_apam_speedup_condition_is_tau_little_o_K_to_the_quarter():
    for key in ("xu_apam/convex", "xu_apam/nonconvex"):
        assert max_delay_exponent(get_bound(key)) == sp.Rational(1, 4)
    ratio = sp.simplify((C2 * tau**2 / K) / (C1 / sp.sqrt(K)))
    assert sp.limit(ratio.subs(tau, K**sp.Rational(24, 100)), K, sp.oo) == 0
    assert sp.limit(ratio.subs(tau, K**sp.Rational(1, 4)), K, sp.oo) == C2 / C1


def test_apam_speedup_is_linear_in_the_limit():
    s = xu_apam.speedup()
    p, e = S["n_workers"], S["eps_acc"]
    assert sp.limit(s, e, 0) == p  # vanishing target accuracy: perfectly linear
    assert sp.simplify(s.subs(p, 1)) == 1
    assert float(s.subs({p: 8, e: 0.01, C1: 1, C2: 1})) < 8


def test_leading_orders():
    assert leading_order(get_bound("gratton_toint2026/rate"), "K")[0] == sp.Rational(-1, 2)
    assert leading_order(get_bound("xu_apam/nonconvex"), "K") == (sp.Rational(-1, 2), C1 / sp.sqrt(K))
    # fixed step: a noise floor of order K^0
    order, floor = leading_order(get_bound("classic_delayed_sgd/nonconvex"), "K")
    assert order == 0
    assert sp.simplify(floor - (L * eta * sigma**2 + 2 * L**2 * eta**2 * tau * sigma**2)) == 0
    # step 1/sqrt(K): the rate is K^{-1/2}
    at = get_bound("classic_delayed_sgd/nonconvex").expr.subs(eta, 1 / sp.sqrt(K))
    assert leading_order(at, "K")[0] == sp.Rational(-1, 2)


def test_nadiradze_rates_of_the_notes():
    for key, core in (("nadiradze2021/nonconvex_M", nad.NC_M_CORE),
                      ("nadiradze2021/nonconvex_sigma", nad.NC_SIGMA_CORE)):
        f0_term = core - core.subs(F0, 0)  # the F0 term is not inflated by (1 + 1/K)
        assert sp.simplify(get_bound(key).expr - core - (core - f0_term) / K) == 0
    nc_m = nad.NC_M_CORE.subs(eta, 1 / sp.sqrt(K))
    assert sp.simplify(nc_m - (F0 + L * M * (2 * B + M) / 2) / sp.sqrt(K)) == 0
    nc_s = nad.NC_SIGMA_CORE.subs(eta, 1 / sp.sqrt(K))
    assert sp.simplify(nc_s - ((2 * F0 + L * sigma**2) / sp.sqrt(K) + L**2 * B**2 / K)) == 0
    # with B = tau*M the sigma-form delay term is of order 1/K: tau = o(K^{1/4}) keeps it small
    assert max_delay_exponent(nc_s.subs(B, tau * M)) == sp.Rational(1, 4)


def test_max_delay_exponent_errors():
    with pytest.raises(ValueError, match="bound"):
        max_delay_exponent(C1 / sp.sqrt(K))


TAU_ZERO = {
    "classic_delayed_sgd/nonconvex": 2 * F0 / (eta * K) + (1 + 1 / K) * L * eta * sigma**2,
    "classic_delayed_sgd/strongly_convex": (1 - eta * mu)**K * F0 + L * eta * sigma**2 / (2 * mu),
    "nadiradze2021/view_gap_async": sp.Integer(0),
    "xu_apam/convex": C1 / sp.sqrt(K),
    "xu_apam/nonconvex": C1 / sp.sqrt(K),
}


@pytest.mark.parametrize(("key", "expected"), list(TAU_ZERO.items()))
def test_tau_zero_limit(key, expected):
    assert sp.simplify(tau_zero_limit(get_bound(key)) - expected) == 0


@pytest.mark.parametrize("key", ["nadiradze2021/nonconvex_M", "nadiradze2021/nonconvex_sigma",
                                 "nadiradze2021/strongly_convex", "nadiradze2021/strongly_convex_sigma"])
def test_nadiradze_tau_zero_is_sequential_sgd(key):
    """With the async-shared-memory B = tau*M, tau = 0 gives the bound with B = 0."""
    expr = nad.with_system(get_bound(key), "async_shared_memory")
    assert sp.simplify(tau_zero_limit(expr) - get_bound(key).expr.subs(B, 0)) == 0


MONOTONE = [  # (key, var, direction the theorem implies)
    ("classic_delayed_sgd/nonconvex", "tau", "increasing"),
    ("classic_delayed_sgd/nonconvex", "sigma", "increasing"),
    ("classic_delayed_sgd/nonconvex", "F0", "increasing"),
    ("classic_delayed_sgd/strongly_convex", "tau", "increasing"),
    ("classic_delayed_sgd/strongly_convex", "sigma", "increasing"),
    ("nadiradze2021/view_gap_async", "tau", "increasing"),
    ("nadiradze2021/nonconvex_M", "B", "increasing"),
    ("nadiradze2021/nonconvex_sigma", "B", "increasing"),
    ("nadiradze2021/nonconvex_sigma", "sigma", "increasing"),
    ("nadiradze2021/nonconvex_sigma", "K", "decreasing"),
    ("nadiradze2021/strongly_convex", "B", "increasing"),
    ("xu_apam/nonconvex", "tau", "increasing"),
    ("xu_apam/convex", "K", "decreasing"),
    ("gratton_toint2026/rate", "C0", "increasing"),
]


@pytest.mark.parametrize(("key", "var", "direction"), MONOTONE)
def test_monotone(key, var, direction):
    assert is_monotone(get_bound(key), var, direction) is True


def test_is_monotone_false_and_undecided():
    assert is_monotone(1 / (1 + tau), "tau") is False
    assert is_monotone(sp.sin(tau), "tau") is None
    assert is_monotone(tau + K, "tau", "decreasing") is False
    # C2 may be 0, so "decreasing in tau" is neither provable nor refutable for the template
    assert is_monotone(get_bound("xu_apam/nonconvex"), "tau", "decreasing") is None
    with pytest.raises(ValueError, match="direction"):
        is_monotone(tau, "tau", "up")
    with pytest.raises(ValueError, match="unknown symbol"):
        is_monotone(tau, "taux")


def test_derived_quantities_for_show():
    d = derived_quantities(get_bound("xu_apam/nonconvex"))
    assert d["max_delay_exponent"] == "1/4"
    assert derived_quantities(get_bound("gratton_toint2026/slope"))["limit_K_inf"] == "-1/2"
    assert "eta_max" in derived_quantities(get_bound("classic_delayed_sgd/nonconvex"))
