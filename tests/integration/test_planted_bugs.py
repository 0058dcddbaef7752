"""A check must be able to fail: each planted bug gets FAIL on the check that exposes it, while
the correct algorithm it imitates PASSes the same check across several independent seed batches."""

from __future__ import annotations

from dataclasses import replace

import pytest
from asyncbound.checks.engine import run_check
from asyncbound.checks.stats import ALPHA_SINGLE
from asyncbound.checks.suite import build_suite, spec_for, studies_for

from tests.checks import planted

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _planted_registered():
    with planted.registered():
        yield

# (planted variant, check it must FAIL, the correct algorithm that must PASS that check)
CASES = [
    ("stale_view", "classic_delayed_sgd/nonconvex", None, "hogwild_sgd"),
    ("overstep", "classic_delayed_sgd/strongly_convex", None, "hogwild_sgd"),
    ("drop_momentum", "kungurtsev2021/stationarity", "passm_momentum_gain", "passm"),
]
SEED_BATCHES = (0, 101, 202, 303, 404)


def _spec(algorithm, bound, study):
    if study:
        s = next(s for s in studies_for("quick") if s.study == study)
        return replace(s, algorithm=algorithm)
    return spec_for(algorithm, bound)


@pytest.mark.parametrize(("key", "bound", "study", "correct"), CASES, ids=[c[0] for c in CASES])
def test_planted_bug_fails(key, bound, study, correct):
    spec = _spec(planted.SPECS[key], bound, study)
    rec = run_check(spec, ALPHA_SINGLE)
    assert rec["verdict"] == "FAIL", rec["reason"]


@pytest.mark.parametrize(("key", "bound", "study", "correct"), CASES, ids=[c[3] for c in CASES])
@pytest.mark.parametrize("base_seed", SEED_BATCHES)
def test_correct_algorithm_passes(key, bound, study, correct, base_seed):
    spec = replace(_spec(correct, bound, study), base_seed=base_seed)
    rec = run_check(spec, ALPHA_SINGLE)
    assert rec["verdict"] == "PASS", rec["reason"]


def test_every_planted_variant_has_a_failing_check_in_its_suite():
    for key, spec in planted.SPECS.items():
        verdicts = [run_check(s, ALPHA_SINGLE)["verdict"] for s in build_suite("quick", algorithms=[spec])]
        assert "FAIL" in verdicts, (key, verdicts)
