"""Strategies build valid objects by construction."""

from __future__ import annotations

import pytest
from asyncbound.checks import strategies as S
from hypothesis import given, settings


@settings(max_examples=15, deadline=None)
@given(S.problems(("quadratic", "least_squares", "l1_least_squares"), dims=(2, 8)))
def test_problems_are_buildable_with_certified_constants(choice):
    p = choice.build(seed=0)
    assert p.dim == choice.options["dim"]
    assert all(v >= 0 for v in p.constants.values())
    if choice.name == "quadratic":
        assert p.constants["L"] == pytest.approx(choice.options["L"])


@settings(max_examples=30, deadline=None)
@given(S.delay_specs(6, kinds=("none", "constant", "uniform", "adversarial", "geometric")))
def test_delay_specs_round_trip_with_a_finite_guarantee(spec):
    from asyncbound.implementations.delays import parse_delay

    m = parse_delay(spec)
    assert m.max_delay is not None and m.max_delay <= 6
    assert parse_delay(m.spec).spec == m.spec


@settings(max_examples=10, deadline=None)
@given(S.generators(S.seeds(1000)), S.seeds(1000))
def test_generators_are_torch_generators_seeded_by_integers(g, seed):
    import torch

    assert isinstance(g, torch.Generator)
    a, b = torch.Generator(), torch.Generator()
    a.manual_seed(seed)
    b.manual_seed(seed)
    assert torch.equal(torch.rand(3, generator=a), torch.rand(3, generator=b))


@settings(max_examples=10, deadline=None)
@given(S.check_specs("classic_delayed_sgd/nonconvex", "hogwild_sgd"))
def test_check_specs_solve_an_admissible_step(spec):
    from asyncbound.checks.planning import load_algorithm, load_problem, plan_lr

    from asyncbound import theory

    assert 0.05 <= spec.lr_fraction <= 1.0
    lr, how = plan_lr(spec, theory.get_bound(spec.bound), load_problem(spec), load_algorithm(spec.algorithm))
    assert lr > 0 and "admissible" in how
