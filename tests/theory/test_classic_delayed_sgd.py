"""Classic delayed SGD (DERIVED): the algebra of the proofs re-checked by sympy, and a numpy
simulation of delayed SGD on quadratics that the bound must survive (and a bound 10x smaller
must not)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from asyncbound.theory.papers import classic_delayed_sgd as cds
from asyncbound.theory.symbols import SYMBOLS as S

from asyncbound import theory

L, mu, sigma, tau, K, eta, F0 = (S[n] for n in ("L", "mu", "sigma", "tau", "K", "eta", "F0"))
NC = theory.get_bound("classic_delayed_sgd/nonconvex")
SC = theory.get_bound("classic_delayed_sgd/strongly_convex")


# ---- algebra --------------------------------------------------------------------------------
def test_eta_max_is_the_root_of_the_descent_condition():
    e = cds.ETA_MAX_NONCONVEX
    assert sp.simplify(L * e + 2 * L**2 * e**2 * tau**2 - 1) == 0
    assert sp.simplify(e.subs(tau, 0) - 1 / L) == 0
    # the statement's simpler sufficient step 1/(L(1+2 tau)) is admissible
    gap = sp.simplify(e - 1 / (L * (1 + 2 * tau)))
    for t in (0, 1, 3, 10, 100):
        assert float(gap.subs({L: 1, tau: t})) >= 0


def test_coefficient_of_A_is_nonpositive_below_eta_max():
    coef_A, _, _ = cds.step_error_terms()
    for t in (0, 1, 4, 32):
        for frac in (0.1, 0.5, 1.0):
            val = coef_A.subs({L: 1, tau: t, eta: frac * cds.ETA_MAX_NONCONVEX.subs({L: 1, tau: t})})
            assert float(val) <= 1e-15
    # and positive just above it (the condition is sharp for this proof)
    val = coef_A.subs({L: 1, tau: 4, eta: 1.01 * cds.ETA_MAX_NONCONVEX.subs({L: 1, tau: 4})})
    assert float(val) > 0


def test_telescoping_gives_the_core_bound():
    _, noise, delay_noise = cds.step_error_terms()
    # (eta/2) sum ||grad||^2 <= F0 + K (noise + delay_noise)  =>  divide by eta K / 2
    avg = sp.simplify((F0 + K * (noise + delay_noise)) / (eta * K / 2))
    assert sp.simplify(avg - cds.NONCONVEX_CORE) == 0
    # the registered (1 + 1/K) form dominates the core form
    assert sp.simplify(NC.expr - cds.NONCONVEX_CORE
                       - (L * eta * sigma**2 + 2 * L**2 * eta**2 * tau * sigma**2) / K) == 0


def test_strongly_convex_constants():
    q = 1 - eta * mu
    # q^{-tau} <= e^{1/4} when eta*mu <= 1/(4(tau+1))
    for t in range(0, 200, 7):
        worst_q = 1 - sp.Rational(1, 4 * (t + 1))
        assert float(worst_q**(-t)) <= math.exp(0.25) + 1e-12
    # 1 - L eta >= 3/4 and 2 L^2 eta^2 tau^2 e^{1/4} <= e^{1/4}/8 < 3/4 at eta = 1/(4L(tau+1))
    e = cds.ETA_MAX_STRONGLY_CONVEX
    assert sp.simplify(1 - L * e - sp.Rational(3, 4)) .subs(tau, 0) == 0
    ratio = sp.simplify(2 * L**2 * e**2 * tau**2)
    assert sp.limit(ratio, tau, sp.oo) == sp.Rational(1, 8)
    assert math.exp(0.25) / 8 < 0.75
    # geometric sum of the per-step noise gives the floor
    per_step = L * eta**2 * sigma**2 * (1 + 2 * L * eta * tau) / 2
    floor = sp.simplify(per_step / (eta * mu))
    assert sp.simplify(SC.expr - q**K * F0 - floor) == 0


def test_tau_zero_recovers_textbook_sgd():
    from asyncbound.theory.derivations import tau_zero_limit

    assert sp.simplify(tau_zero_limit(NC) - (2 * F0 / (eta * K) + (1 + 1 / K) * L * eta * sigma**2)) == 0
    assert sp.simplify(tau_zero_limit(SC) - ((1 - eta * mu)**K * F0 + L * eta * sigma**2 / (2 * mu))) == 0


# ---- numerics (numpy only) ------------------------------------------------------------------
def _simulate(a, sig, step, delay, K_, S_, mode, seed):
    """Delayed SGD on f = 1/2 sum a_i x_i^2 from x0 = 1, noise N(0, sig^2/d I), S_ seeds at once.
    Returns per-seed (1/K) sum_{k=1..K} ||grad f(x_k)||^2 and f(x_K)."""
    rng = np.random.default_rng(seed)
    d = len(a)
    x = np.ones((S_, d))
    hist = [x]
    acc = np.zeros(S_)
    for k in range(K_):
        m = min(delay, k)
        if mode == "constant":
            xr = hist[-1 - m]
        else:
            lag = rng.integers(0, m + 1, size=S_)
            xr = np.stack(hist[-(m + 1):])[-1 - lag, np.arange(S_)]
        g = a * xr + rng.normal(0.0, sig / math.sqrt(d), size=(S_, d))
        x = x - step * g
        hist = (hist + [x])[-(delay + 1):]
        acc += ((a * x) ** 2).sum(1)
    return acc / K_, 0.5 * (a * x**2).sum(1)


CASES = [  # spectrum, sigma, tau, K, delay mode
    (np.ones(5), 1.0, 4, 500, "constant"),
    (np.ones(5), 1.0, 0, 500, "constant"),
    (np.linspace(0.2, 1.0, 5), 1.0, 3, 600, "uniform"),
    (np.ones(3), 0.0, 8, 200, "constant"),
    (np.array([1.0, 0.5]), 3.0, 16, 400, "uniform"),
]


@pytest.mark.parametrize(("a", "sig", "delay", "K_", "mode"), CASES)
def test_simulated_delayed_sgd_respects_both_bounds(a, sig, delay, K_, mode):
    n_seeds = 300
    vals = dict(L=float(a.max()), mu=float(a.min()), F0=0.5 * float(a.sum()), K=K_, sigma=sig,
                tau=delay)
    step_nc = float(NC.derived["eta_max"].subs({L: vals["L"], tau: delay}))
    step_sc = float(SC.derived["eta_max"].subs({L: vals["L"], tau: delay}))
    assert NC.conditions_hold(eta=step_nc, **vals)
    assert SC.conditions_hold(eta=step_sc, **vals)
    g_nc, _ = _simulate(a, sig, step_nc, delay, K_, n_seeds, mode, seed=1)
    _, f_sc = _simulate(a, sig, step_sc, delay, K_, n_seeds, mode, seed=2)
    for measured, bound in ((g_nc, NC.evaluate(eta=step_nc, **vals)),
                            (f_sc, SC.evaluate(eta=step_sc, **vals))):
        mean, se = measured.mean(), measured.std(ddof=1) / math.sqrt(n_seeds)
        assert mean <= bound, (mean, bound)
        if delay in (4, 0) and sig > 0:  # regimes where the bound is sharp: a 10x smaller one fails
            assert mean - 4 * se > bound / 10, (mean, bound)


def test_a_wrong_constant_is_caught():
    """The test above can fail: the bound divided by 10 is violated by the simulation."""
    a = np.ones(5)
    vals = dict(L=1.0, F0=2.5, K=500, sigma=1.0, tau=4)
    step = float(NC.derived["eta_max"].subs({L: 1.0, tau: 4}))
    g, _ = _simulate(a, 1.0, step, 4, 500, 300, "constant", seed=3)
    assert g.mean() > NC.evaluate(eta=step, **vals) / 10
    assert g.mean() > NC.evaluate(eta=step, **vals) / 3
