"""The reconstructed time-complexity formulas the virtual-time study predicts with."""

from __future__ import annotations

import pytest
import sympy as sp
from asyncbound.theory.papers import classic_delayed_sgd as cds
from asyncbound.theory.papers import tyurin_richtarik2023 as tr


def test_optimal_time_is_the_minimum_over_m_and_ignores_stragglers():
    taus = [1, 1, 2, 100]
    t, m = tr.optimal_time(taus, 1.0, 1.0, 0.01, 0.1)
    brute = [tr.time_of_m(taus, k, 1.0, 1.0, 0.01, 0.1) for k in range(1, 5)]
    assert t == min(brute) and m == brute.index(min(brute)) + 1 and m < 4
    assert t < tr.minibatch_time(taus, 1.0, 1.0, 0.01, 0.1) / 10


def test_equal_speeds_give_the_minibatch_time():
    t, m = tr.optimal_time([3, 3, 3], 2.0, 1.0, 0.1, 0.5)
    assert m == 3 and t == pytest.approx(tr.minibatch_time([3, 3, 3], 2.0, 1.0, 0.1, 0.5))


def test_harmonic_mean_form_is_the_sum_form():
    """(1/m sum 1/tau_i)^-1 (a + b/m) = (a m + b) / sum 1/tau_i, symbolically for m = 3."""
    t1, t2, t3, a, b = sp.symbols("t1 t2 t3 a b", positive=True)
    s = 1 / t1 + 1 / t2 + 1 / t3
    lhs = (3 / s) * (a + b / 3)
    assert sp.simplify(lhs - (3 * a + b) / s) == 0


def test_ringmaster_step_is_the_derived_step_at_delay_R_minus_1():
    """The study gives Ringmaster the DERIVED theorem's step at tau = R - 1 (its applied delays
    are at most R - 1): L eta + 2 L^2 eta^2 tau^2 = 1 holds with equality there."""
    L, tau = cds.L, cds.tau
    eta = cds.ETA_MAX_NONCONVEX
    assert sp.simplify(L * eta + 2 * L**2 * eta**2 * tau**2 - 1) == 0


def test_threshold_and_bad_input():
    assert tr.ringmaster_threshold(0.1, 0.01) == 1 and tr.ringmaster_threshold(1.0, 0.1) == 10
    with pytest.raises(ValueError, match="taus"):
        tr.optimal_time([0, 1], 1, 1, 1, 1)
