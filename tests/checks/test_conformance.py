"""Step-level conformance (issue 11 §2): a variant that ``implements`` a registered algorithm must
apply the same update at every step on the same schedule and noise; the verdict names the first
update that differs. Correct re-implementations pass, every planted bug fails."""

from __future__ import annotations

from dataclasses import replace

import pytest
from asyncbound.checks.conformance import check_conformance, compare_updates, reference_config
from asyncbound.checks.engine import run_check
from asyncbound.checks.exact import exact_spec
from asyncbound.implementations.problems import get_problem
from asyncbound.implementations.registry import AlgorithmSpec, get_algorithm
from asyncbound.implementations.rules.base import FunctionalRule

from tests.checks import planted

PROBLEM = get_problem("quadratic", seed=0)
SMALL = dict(steps=120, seeds=3)


@pytest.mark.parametrize("name", ["hogwild_sgd", "ps_sgd", "passm", "passm_plus", "async_adagrad",
                                  "apam", "async_topk_ef", "minibatch_sgd"])
def test_a_copy_of_a_registered_algorithm_conforms(name):
    algo = get_algorithm(name)
    res = check_conformance(replace(algo, name=name + "_copy", implements=name), PROBLEM, **SMALL)
    assert res["verdict"] == "PASS", res["reason"]
    assert res["first_difference"] is None and res["n_compared"] == 120 * 3


def reassociated_sgd(*, lr: float, momentum: float = 0.0):
    """The same SGD step computed in another order (a 'fused kernel'): must conform."""
    def step(grad, state, t):
        return (grad * (-2.0 * lr)) / 2.0, state

    return FunctionalRule("sgd_fused", lambda p: {}, step, {"lr": lr})


def test_a_reassociated_kernel_conforms_within_rounding():
    v = AlgorithmSpec("fused_hogwild", reassociated_sgd, "full", {"lr": 0.1}, ("reference",),
                      (), None, "test", implements="hogwild_sgd")
    res = check_conformance(v, PROBLEM, **SMALL)
    assert res["verdict"] == "PASS", res["reason"]


@pytest.mark.parametrize("key", sorted(planted.CATALOGUE))
def test_every_planted_bug_fails_conformance_naming_the_update(key):
    res = check_conformance(planted.variant(key, "implements"), PROBLEM, **SMALL)
    assert res["verdict"] == "FAIL", res["reason"]
    d = res["first_difference"]
    assert {"update", "seed", "worker", "block", "coords", "norm_variant", "norm_reference",
            "norm_difference"} <= set(d)
    assert d["norm_difference"] > 0
    assert f"first differing update {d['update']}" in res["reason"]
    assert f"worker {d['worker']}" in res["reason"]


def test_a_variant_without_implements_is_a_conjecture():
    res = check_conformance(planted.variant("overstep", "conjecture"), PROBLEM, **SMALL)
    assert res["verdict"] == "NOT_APPLICABLE" and "conjecture" in res["reason"]


def test_reference_config_keeps_only_what_the_registered_algorithm_accepts():
    v = planted.variant("stale_view", "implements")
    cfg = reference_config(v, get_algorithm("hogwild_sgd"))
    assert "lag" not in cfg and cfg["lr"] == v.defaults["lr"]


def test_compare_updates_names_first_difference():
    import numpy as np

    a = np.zeros((5, 2, 4))
    b = a.copy()
    b[3, 1, 2] = 1e-3
    d = compare_updates(a, b, worker=[0, 1, 0, 1, 0], block=[-1] * 5)
    assert (d["update"], d["seed"], d["worker"], d["coords"]) == (3, 1, 1, [2, 2])
    assert compare_updates(a, a.copy(), [0] * 5, [-1] * 5) is None


def test_conformance_records_say_their_kind_and_claim():
    rec = run_check(exact_spec(planted.variant("apam_no_max", "implements"), "conformance",
                               **SMALL))
    assert rec["test"] == "conformance" and rec["verdict"] == "FAIL"
    assert rec["implements"] == "apam" and rec["bound"]["key"] == "conformance/apam"
    ok = run_check(exact_spec(replace(get_algorithm("apam"), name="apam_copy", implements="apam"),
                              "conformance", **SMALL))
    assert ok["verdict"] == "PASS"


def test_observer_must_be_callable():
    from asyncbound.implementations.backends.reference import run

    with pytest.raises(ValueError, match="observer"):
        run("hogwild_sgd", "quadratic", "none", 5, 1, observer=3)
