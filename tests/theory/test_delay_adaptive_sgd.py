"""Theorem DA (delay-adaptive SGD, derived): its algebra by sympy, and a simulation that can fail."""

from __future__ import annotations

import numpy as np
import sympy as sp
from asyncbound.implementations.backends import run
from asyncbound.implementations.delays import parse_delay
from asyncbound.implementations.schedule import schedule_generator
from asyncbound.theory.papers import delay_adaptive_sgd as da


def test_eta_max_is_the_root_and_makes_the_coefficient_nonpositive():
    L, eta, C, tc = da.L, da.eta, da.C, da.tau_c
    assert sp.simplify((L * eta + 2 * C * L**2 * eta**2 * tc - 1).subs(eta, da.ETA_MAX)) == 0
    ej = sp.Symbol("eta_j", positive=True)
    # coefficient <= (eta_j/2)(-(1 - L eta) + 2 C L^2 eta^2 tau_c) when eta_j <= eta
    gap = sp.expand(ej / 2 * (-(1 - L * eta) + 2 * C * L**2 * eta**2 * tc) - da.a_coefficient(ej))
    assert sp.simplify(gap - C * L**2 * eta * tc * ej * (eta - ej)) == 0
    # numerically at the root: zero for eta_j = eta, negative below
    vals = {L: 1, C: 3, tc: 2}
    e = float(da.ETA_MAX.subs(vals))
    assert abs(float(da.a_coefficient(ej).subs({**vals, eta: e, ej: e}))) < 1e-12


def test_concurrency_of_one_worker_per_slot_is_n_minus_1():
    sched = parse_delay("virtual:speeds=1,2,3,50").schedule(400, 4, 1, schedule_generator(0))
    r = sched.read_version[0].numpy()
    assert da.concurrency(r) == 3 and int((np.arange(400) - r).max()) > 3 * 10


def test_theorem_holds_on_a_simulation_with_stragglers():
    """sum_{k=1}^{K-1} eta_k E||grad f(x_k)||^2 <= 2 F0 + K (...) with eta = eta_max(C, tau_c),
    mean over 64 seeds; C from the schedule (one slot per worker: C = 3 for 4 workers)."""
    spec, K, S, W, tau_c = "virtual:speeds=1,1,2,40", 400, 64, 4, 2.0
    C = max(da.concurrency(r) for r in
            parse_delay(spec).schedule(K, W, S, schedule_generator(0)).read_version.numpy())
    prob_L, sigma = 1.0, 0.1
    eta_max = float(da.ETA_MAX.subs({da.L: prob_L, da.C: C, da.tau_c: tau_c}))
    tr = run("delay_adaptive_sgd", "quadratic", spec, K, S, workers=W, lr=eta_max, tau_c=tau_c,
             eval_every=1, seed=0)
    assert tr.meta["problem"]["constants"]["L"] == prob_L
    assert tr.meta["problem"]["constants"]["sigma"] == sigma  # the certified noise level
    st = tr.staleness.reshape(S, K).astype(float)
    steps = eta_max * np.minimum(1.0, tau_c / np.maximum(st, 1e-300))
    gn = tr["grad_norm_sq"].reshape(S, K)           # row k: ||grad f(x_{k+1})||^2
    lhs = float(np.mean((steps[:, 1:] * gn[:, :-1]).sum(axis=1)))   # x_1..x_{K-1}, eta_1..
    F0 = float(np.mean(tr.meta["loss0"])) - tr.meta["problem"]["f_star"]
    rhs = float(da.WEIGHTED_SUM_BOUND.subs({da.F0: F0, da.K: K, da.L: prob_L, da.eta: eta_max,
                                            da.tau_c: tau_c, da.sigma: sigma}))
    assert 0 < lhs <= rhs, (lhs, rhs)
    # the bound is not vacuous here: the weighted sum is a visible fraction of it (0.21 measured)
    assert lhs > 0.05 * rhs, (lhs, rhs)
