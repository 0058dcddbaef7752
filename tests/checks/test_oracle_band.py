"""The oracle's band: Hall's skewness-corrected t keeps its level on skewed data, where the plain
t test is too liberal on one side (the side on which a correct run would be called FAIL)."""

from __future__ import annotations

import numpy as np
import pytest
from asyncbound.checks.oracle.band import _hall_interval, simultaneous_band

N, R, ALPHA = 256, 20_000, 0.002


@pytest.mark.parametrize("dist", ["exponential", "chisquare3"])
def test_level_on_skewed_samples(dist):
    rng = np.random.default_rng(7)
    X = rng.exponential(size=(N, R)) if dist == "exponential" else rng.chisquare(3, (N, R)) / 3
    b = simultaneous_band(X, np.ones(R), ALPHA, 1)   # R independent tests of the true mean 1
    rate = b.outside.mean()
    # binomial sd of the rate at 0.002 over 20,000 tests is 0.0003
    assert 0.001 <= rate <= 0.003, rate
    assert np.all(b.lo[~b.outside] <= 1.0) and np.all(b.hi[~b.outside] >= 1.0)


def test_hall_interval_reduces_to_student_t_without_skewness():
    lo, hi = _hall_interval(3.0, np.zeros(1), 100)
    assert lo[0] == pytest.approx(-0.3, rel=1e-6) and hi[0] == pytest.approx(0.3, rel=1e-6)


def test_a_shifted_mean_is_outside():
    rng = np.random.default_rng(1)
    X = rng.exponential(size=(N, 50))
    assert simultaneous_band(X, np.full(50, 2.0), ALPHA, 50).outside.all()
