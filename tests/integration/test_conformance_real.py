"""Conformance on a real backend (issue 11 §2): a variant run on worker processes against the
registered algorithm's reference replay of its recorded schedule (locked: exact)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from asyncbound.checks.conformance import check_conformance_real
from asyncbound.implementations.problems import get_problem
from asyncbound.implementations.registry import get_algorithm
from asyncbound.implementations.rules import sgd

from tests.checks import planted

pytestmark = [pytest.mark.multiprocess]
PROBLEM = get_problem("quadratic", dim=10, seed=0)


@pytest.mark.timeout(300)
def test_processes_copy_conforms_and_planted_bug_fails():
    # the rule factory itself (module level, so spawned workers can unpickle it)
    copy = replace(get_algorithm("hogwild_sgd"), name="hogwild_copy", implements="hogwild_sgd",
                   rule=sgd, backends=("reference", "processes"))
    ok = check_conformance_real(copy, PROBLEM, steps=120)
    assert ok["verdict"] == "PASS", ok["reason"]
    assert ok["runs"][0]["final_difference"] == 0.0
    bug = replace(planted.variant("overstep", "implements"), backends=("reference", "processes"))
    res = check_conformance_real(bug, PROBLEM, steps=120)
    assert res["verdict"] == "FAIL", res["reason"]
    assert res["runs"][0]["first_differing_gradient"] is not None
    assert "does not conform to hogwild_sgd" in res["reason"]


@pytest.mark.timeout(300)
def test_engine_runs_a_real_backend_conformance_spec():
    from asyncbound.checks.engine import run_check
    from asyncbound.checks.exact import exact_spec

    bug = replace(planted.variant("overstep", "implements"), backends=("reference", "processes"))
    rec = run_check(exact_spec(bug, "conformance", backend="processes", steps=100, seeds=1,
                               workers=2))
    assert (rec["test"], rec["backend"], rec["verdict"]) == ("conformance", "processes", "FAIL")
