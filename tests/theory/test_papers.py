"""Paper-specific symbolic facts: schedules (Kungurtsev), slope band (Gratton-Toint), elastic
consistency constants and recursions (Nadiradze)."""

from __future__ import annotations

import math

import pytest
import sympy as sp
from asyncbound.theory import get_bound
from asyncbound.theory.papers import gratton_toint2026 as gt
from asyncbound.theory.papers import kungurtsev2021 as kg
from asyncbound.theory.papers import nadiradze2021 as nad
from asyncbound.theory.symbols import SYMBOLS as S

K, C0, C1, p_log = S["K"], S["C0"], S["C1"], S["p_log"]


@pytest.mark.parametrize(("p", "expected"), [
    (0.75, dict(sum_diverges=True, sum_sq_converges=True, all=True)),
    (1, dict(sum_diverges=True, sum_sq_converges=True, all=True)),
    (0.5, dict(sum_diverges=True, sum_sq_converges=False, all=False)),
    (0.3, dict(sum_diverges=True, sum_sq_converges=False, all=False)),
    (1.5, dict(sum_diverges=False, sum_sq_converges=True, all=False)),
])
def test_schedule_conditions(p, expected):
    out = kg.schedule_conditions(a=0.1, b=10, p=p, delay=8)
    assert out["delay_effect_vanishes"] is True
    for k, v in expected.items():
        assert out[k] is v, (k, out)


def test_schedule_validation_and_limits():
    with pytest.raises(ValueError, match="^a must"):
        kg.schedule_conditions(a=-1, b=0, p=0.75, delay=2)
    with pytest.raises(ValueError, match="^delay must"):
        kg.schedule_conditions(a=1, b=0, p=0.75, delay=-2)
    assert kg.delay_effect_limit() == 0
    assert sp.simplify(kg.momentum_gain() - 1 / (1 - S["momentum"])) == 0
    b = get_bound("kungurtsev2021/stationarity")
    assert b.expr == 0 and b.metric_id == "stationarity"
    assert b.conditions_hold(momentum=0.9)


def test_gratton_slope_formula_and_band():
    lg = sp.log(K + 1)
    expected = -sp.Rational(1, 2) + p_log * C1 * lg**(p_log - 1) / (C0 + C1 * lg**p_log)
    assert sp.simplify(gt.SLOPE - expected) == 0
    # derived allowance: 0 <= slope + 1/2 <= p/ln(K+1)
    gap = sp.simplify(gt.slope_correction_bound() - (gt.SLOPE + sp.Rational(1, 2)))
    assert sp.simplify(gap - p_log * C0 / (lg * (C0 + C1 * lg**p_log))) == 0
    lo, hi = gt.slope_band(1000, p=1)
    assert lo == -0.5 and hi == pytest.approx(-0.5 + 1 / math.log(1001))
    assert hi == pytest.approx(-0.355, abs=1e-3)
    assert gt.slope_band(1e5)[1] == pytest.approx(-0.413, abs=1e-3)
    with pytest.raises(ValueError, match="k_lo"):
        gt.slope_band(0)
    # the slope bound at C0 = 0, p = 1 is exactly the upper edge of the band
    at = get_bound("gratton_toint2026/slope").evaluate(C0=0, C1=1, p_log=1, K=1000)
    assert at == pytest.approx(hi)


def test_nadiradze_sc_recursion_unrolls_to_the_bound():
    eta, mu, M, B, r0 = S["eta"], S["mu"], S["M"], S["B"], S["r0_sq"]
    c = eta**2 * (M**2 + 2 * M * B) + 2 * mu * eta**3 * B**2
    fixed = sp.solve(sp.Eq(nad.sc_step(sp.Symbol("a")), sp.Symbol("a")), sp.Symbol("a"))[0]
    assert sp.simplify(fixed - c / (eta * mu)) == 0
    floor = get_bound("nadiradze2021/strongly_convex").expr.subs(r0, 0)
    assert sp.simplify(floor - c / (eta * mu)) == 0


def test_nadiradze_b_values():
    g, M = S["gamma_topk"], S["M"]
    assert nad.b_for("sequential") == 0
    assert sp.simplify(nad.b_for("async_topk_ef") - (S["tau"] * M + (S["tau"] + 1) * nad.B_EF)) == 0
    slack = sp.simplify(4 * (1 - g) * M**2 / g**2 - nad.B_EF**2)
    assert sp.simplify(slack - 2 * M**2 * (1 - g) / g) == 0  # B_EF <= 2 sqrt(1-g) M/g
    assert nad.B_EF.subs(g, 1) == 0  # no compression, no residual
    with pytest.raises(ValueError, match="unknown system"):
        nad.b_for("gossip")
    for spec in nad.B_SYSTEMS.values():
        assert spec.expr.free_symbols <= set(S.values())


def test_nadiradze_async_bounds_hold_in_a_simulation():
    """Delayed SGD on a quadratic (numpy, many seeds): the view gap and the sigma-form rate hold
    with B = tau*M, M^2 = max over steps of the seed-mean of ||G||^2."""
    import numpy as np

    rng = np.random.default_rng(7)
    a, sig, delay, K_, n = np.array([1.0, 0.6, 0.3]), 1.0, 6, 300, 400
    step = 1.0 / (1.0 + 2 * delay)
    x = np.ones((n, 3))
    hist, gaps, gsq, grad_avg = [x], [], [], np.zeros(n)
    for k in range(K_):
        lag = rng.integers(0, min(delay, k) + 1, size=n)
        v = np.stack(hist)[-1 - lag, np.arange(n)]
        g = a * v + rng.normal(0, sig / np.sqrt(3), size=(n, 3))
        gaps.append(np.linalg.norm(x - v, axis=1).mean())
        gsq.append((g**2).sum(1).mean())
        x = x - step * g
        hist = (hist + [x])[-(delay + 1):]
        grad_avg += ((a * x)**2).sum(1)
    M = float(np.sqrt(max(gsq)))
    vals = dict(eta=step, tau=delay, M=M)
    assert max(gaps) <= get_bound("nadiradze2021/view_gap_async").evaluate(**vals)
    assert max(gaps) > get_bound("nadiradze2021/view_gap_async").evaluate(**vals) / 10
    b = get_bound("nadiradze2021/nonconvex_sigma")
    bv = dict(L=1.0, F0=0.5 * a.sum(), eta=step, K=K_, sigma=sig, B=delay * M)
    assert b.conditions_hold(**bv)
    assert (grad_avg / K_).mean() <= b.evaluate(**bv)


def test_amsgrad_step_ratio_invariant():
    import numpy as np
    from asyncbound.theory.papers import xu_apam

    b1, b2 = 0.9, 0.999
    bound = float(xu_apam.amsgrad_step_ratio_bound().subs({S["beta1"]: b1, S["beta2"]: b2}))
    rng = np.random.default_rng(0)
    g = rng.standard_t(df=2, size=(2000, 50))  # heavy tails: large isolated gradients
    m = v = vhat = np.zeros(50)
    worst = 0.0
    for gk in g:
        m = b1 * m + (1 - b1) * gk
        v = b2 * v + (1 - b2) * gk**2
        vhat = np.maximum(vhat, v)
        worst = max(worst, float(np.max(np.abs(m) / np.sqrt(vhat))))
    assert worst <= bound
    assert worst > bound / 20  # not vacuous
    # a violated gamma condition makes the constant undefined
    assert xu_apam.amsgrad_step_ratio_bound().subs({S["beta1"]: 0.9, S["beta2"]: 0.5}).is_real is False
