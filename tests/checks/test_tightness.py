"""The tightness table: derived bounds only, loose ones flagged against the 0.1 goal."""

from __future__ import annotations

from asyncbound.checks import tightness


def test_markdown_flags_bounds_below_the_goal():
    rows = [{"bound": "a/x", "algorithm": "hogwild_sgd", "verdict": "PASS", "worst_ratio": 0.5,
             "worst": {"tau": 12, "eta_over_eta_max": 0.93}, "max_screened_ratio": 0.45,
             "configurations": 18, "meets_goal": True},
            {"bound": "a/y", "algorithm": "hogwild_sgd", "verdict": "PASS", "worst_ratio": 0.002,
             "worst": None, "max_screened_ratio": None, "configurations": 18, "meets_goal": False}]
    md = tightness.markdown(rows).splitlines()
    assert len(md) == 4 and "tau=12, eta_over_eta_max=0.93" in md[2] and "(< 0.1)" not in md[2]
    assert "0.002 (< 0.1)" in md[3] and "| — |" in md[3]


def test_only_derived_bounds_are_measured():
    assert tightness.measure(only="no-such-bound") == []
