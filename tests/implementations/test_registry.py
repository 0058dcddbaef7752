"""The algorithm registry: every entry is well formed; lookups and registration behave."""

from __future__ import annotations

import pytest
import torch
from asyncbound.implementations.patterns import PATTERNS, make_pattern
from asyncbound.implementations.registry import (
    ALGORITHMS,
    AlgorithmSpec,
    build_rule,
    describe,
    get_algorithm,
    register,
    split_config,
)
from asyncbound.implementations.rules import sgd

DISTRIBUTED = {"apam", "apam_adam", "minibatch_sgd", "async_topk", "async_topk_ef", "ps_sgd"}


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_entry_is_well_formed(name):
    spec = ALGORITHMS[name]
    assert spec.pattern in PATTERNS and "lr" in spec.defaults
    assert spec.backends[:2] == ("reference", "processes")
    assert ("distributed" in spec.backends) == (name in DISTRIBUTED)
    assert spec.sequential is None or spec.sequential in ALGORITHMS
    rule_kw, pat_kw = split_config(spec, spec.config())
    rule = build_rule(spec, **rule_kw)
    pattern = make_pattern(spec.pattern, rule, 10, 3, **pat_kw)
    states = pattern.init_states(torch.zeros(2, 10, dtype=torch.float64))
    assert len(states.workers) == 3
    assert describe(spec)["name"] == name


def test_claimed_bounds_exist_in_theory():
    theory = pytest.importorskip("theory")
    known = set(getattr(theory, "BOUNDS", {}))
    if not known:
        pytest.skip("theory.BOUNDS is empty")
    for spec in ALGORITHMS.values():
        missing = set(spec.bounds) - known
        assert not missing, f"{spec.name} claims unknown bounds {sorted(missing)}"


def test_expected_names_present():
    for name in ("hogwild_sgd", "passm", "passm_plus", "async_adagrad", "async_adanorm",
                 "async_adam", "async_adagrad_momentum", "async_normalized", "apam", "apam_adam",
                 "async_topk", "async_topk_ef", "minibatch_sgd", "sync_amsgrad", "ps_sgd"):
        assert name in ALGORITHMS


def test_unknown_name_suggests_close_matches():
    with pytest.raises(ValueError, match="did you mean hogwild_sgd"):
        get_algorithm("hogwild_sdg")
    assert get_algorithm(ALGORITHMS["passm"]) is ALGORITHMS["passm"]


def test_register_adds_one_entry_and_refuses_duplicates():
    spec = AlgorithmSpec("test_variant_sgd", sgd, "full", {"lr": 0.05}, ("reference",))
    try:
        register(spec)
        assert get_algorithm("test_variant_sgd") is spec
        with pytest.raises(ValueError, match="already registered"):
            register(spec)
        register(spec, replace=True)
    finally:
        ALGORITHMS.pop("test_variant_sgd", None)


@pytest.mark.parametrize("kwargs", [
    dict(name="bad name", rule=sgd, pattern="full", defaults={"lr": 0.1}),
    dict(name="x", rule=None, pattern="full", defaults={"lr": 0.1}),
    dict(name="x", rule=sgd, pattern="ring", defaults={"lr": 0.1}),
    dict(name="x", rule=sgd, pattern="full", defaults={}),
    dict(name="x", rule=sgd, pattern="full", defaults={"lr": 0.1}, backends=("processes",)),
    dict(name="x", rule=sgd, pattern="full", defaults={"lr": 0.1}, backends=("reference", "mpi")),
])
def test_invalid_specs_raise(kwargs):
    with pytest.raises(ValueError):
        AlgorithmSpec(**kwargs)


def test_bad_hyperparameters_raise_value_error():
    spec = ALGORITHMS["hogwild_sgd"]
    with pytest.raises(ValueError, match="lr"):
        build_rule(spec, lr=-1.0)
    with pytest.raises(ValueError, match="bad hyperparameters"):
        build_rule(spec, lr=0.1, nonsense=3)
    with pytest.raises(ValueError):
        register("not a spec")
