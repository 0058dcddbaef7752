"""Verdict logic on constructed intervals: every verdict reachable for every kind."""

from __future__ import annotations

import math

import pytest
from asyncbound.checks.stats import Interval
from asyncbound.checks.verdicts import FAILING, Verdict, decide, not_applicable, worst


def iv(lo, hi, value=None):
    return Interval(value if value is not None else (lo + hi) / 2, lo, hi, 32, 0.01)


@pytest.mark.parametrize(("kind", "interval", "bound", "expected"), [
    ("UPPER", iv(0.1, 0.2), 1.0, Verdict.PASS),
    ("UPPER", iv(1.2, 1.5), 1.0, Verdict.FAIL),
    ("UPPER", iv(0.5, 1.5), 1.0, Verdict.INCONCLUSIVE),
    ("UPPER", iv(0.9, 1.04), 1.0, Verdict.PASS),          # within RTOL = 5%
    ("LOWER", iv(1.2, 1.5), 1.0, Verdict.PASS),
    ("LOWER", iv(0.1, 0.2), 1.0, Verdict.FAIL),
    ("LOWER", iv(0.5, 1.5), 1.0, Verdict.INCONCLUSIVE),
    ("TIGHT", iv(0.98, 1.02), 1.0, Verdict.PASS),
    ("TIGHT", iv(1.3, 1.4), 1.0, Verdict.FAIL),
    ("TIGHT", iv(0.9, 1.2), 1.0, Verdict.INCONCLUSIVE),
    ("ASYMPTOTIC", iv(-0.8, -0.6), -0.4, Verdict.PASS),   # proxy decided as UPPER
    ("ASYMPTOTIC", iv(-0.1, 0.0), -0.4, Verdict.FAIL),
])
def test_decide(kind, interval, bound, expected):
    d = decide(kind, interval, bound)
    assert d.verdict == expected, d.reason
    assert d.reason


def test_kind_enum_accepted():
    from asyncbound.theory import Kind

    assert decide(Kind.UPPER, iv(0.1, 0.2), 1.0).verdict == Verdict.PASS


def test_non_finite_interval_is_diverged():
    d = decide("UPPER", Interval(math.inf, math.nan, math.nan, 4, 0.01), 1.0)
    assert d.verdict == Verdict.DIVERGED


def test_infinite_bound_is_inconclusive():
    assert decide("UPPER", iv(0.1, 0.2), math.inf).verdict == Verdict.INCONCLUSIVE


def test_unknown_kind_raises():
    with pytest.raises(ValueError):
        decide("SIDEWAYS", iv(0.1, 0.2), 1.0)


def test_not_applicable_names_the_condition():
    d = not_applicable([{"text": "eta <= 1/L", "lhs": 2.0, "rhs": 1.0, "holds": False}])
    assert d.verdict == Verdict.NOT_APPLICABLE
    assert "eta <= 1/L" in d.reason and "2" in d.reason


def test_worst_and_failing():
    assert worst(["PASS", "INCONCLUSIVE"]) == Verdict.INCONCLUSIVE
    assert worst(["PASS", "FAIL", "DIVERGED"]) == Verdict.FAIL
    # issue 16: a crashed check (ERROR) fails the run too
    assert FAILING == {Verdict.FAIL, Verdict.ERROR}
    assert worst(["FAIL", "ERROR", "PASS"]) == Verdict.ERROR


def test_an_infinite_end_point_decides_nothing_on_its_side_and_is_no_divergence():
    """A proxy whose lower end is ln 0 (the data cannot keep a nonnegative quantity from 0)."""
    assert decide("UPPER", Interval(-0.6, -math.inf, -0.4, 32, 0.01), -0.2).verdict == Verdict.PASS
    assert decide("UPPER", Interval(-0.1, -math.inf, 0.3, 32, 0.01), -0.2).verdict == Verdict.INCONCLUSIVE
    assert decide("UPPER", Interval(0.0, -0.1, math.inf, 32, 0.01), -0.2).verdict == Verdict.FAIL
    assert decide("UPPER", Interval(-math.inf, -math.inf, -0.4, 32, 0.01), -0.2).verdict == Verdict.DIVERGED
