"""Issue 16's virtual-time study: its verdict passes the built-in Ringmaster and fails a planted
one (inverted discard test), and it makes no prediction for homogeneous speeds."""

from __future__ import annotations

import math

import pytest
from asyncbound.checks.virtual_time_study import run_virtual_time_study
from asyncbound.implementations.registry import AlgorithmSpec
from asyncbound.implementations.rules import FunctionalRule

FAST = dict(steps=1200, seeds=4)


def inverted_ringmaster_rule(*, lr: float):
    """Planted bug: keeps the stale gradients and drops the fresh ones."""
    def step(grad, state, t, ctx):
        return -lr * grad, state, ctx.staleness >= 2
    return FunctionalRule("inverted_ringmaster", lambda x: {}, step, {"lr": lr},
                          wants_context=True)


def test_ringmaster_beats_minibatch_on_heterogeneous_speeds():
    rec = run_virtual_time_study(R=4, **FAST)
    assert rec["verdict"] == "PASS", rec["reason"]
    m = rec["methods"]
    assert m["ringmaster_asgd"]["tau_max_applied"] <= 3
    assert 0 < m["ringmaster_asgd"]["discarded_fraction"] < 0.5
    assert m["ringmaster_asgd"]["time_to_target"] < m["minibatch_sgd"]["time_to_target"]
    # plain async SGD at the max-delay step is the slowest async method here (reported)
    assert m["hogwild_sgd"]["time_to_target"] > m["delay_adaptive_sgd"]["time_to_target"]


def test_planted_inverted_discard_fails():
    bad = AlgorithmSpec("inverted_ringmaster", inverted_ringmaster_rule, "full", {"lr": 0.1})
    rec = run_virtual_time_study(R=4, ringmaster=bad, **FAST)
    assert rec["verdict"] == "FAIL", rec["reason"]
    assert math.isinf(rec["methods"]["ringmaster_asgd"]["time_to_target"])


def test_homogeneous_speeds_make_no_prediction():
    rec = run_virtual_time_study(speeds=(1, 1, 1, 1), R=4, steps=400, seeds=2)
    assert rec["verdict"] == "NOT_APPLICABLE"


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="R must be"):
        run_virtual_time_study(R=0)
    with pytest.raises(ValueError, match="target_fraction"):
        run_virtual_time_study(target_fraction=1.5)
