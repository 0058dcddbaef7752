"""Proof-step (lemma) checks (issue 11 §3): every registered algorithm satisfies the lemmas its
derivations rest on at every update; each lemma has a planted violation that it FAILs, naming
the lemma, the update and the numbers."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from asyncbound.checks.lemmas import applicable, check_lemmas, evaluate, subject_of
from asyncbound.implementations.backends import run
from asyncbound.implementations.problems import get_problem
from asyncbound.implementations.registry import ALGORITHMS, get_algorithm

from tests.checks import planted

PROBLEM = get_problem("quadratic", seed=0)
SMALL = dict(steps=120, seeds=3)
BUILTIN = [n for n in ALGORITHMS if not n.startswith("planted")]


@pytest.mark.parametrize("name", BUILTIN)
def test_every_registered_algorithm_satisfies_its_lemmas(name):
    res = check_lemmas(get_algorithm(name), PROBLEM, **SMALL)
    assert res["verdict"] == "PASS", res["reason"]
    assert "descent" in {r["lemma"] for r in res["lemmas"]}


def test_the_table_picks_the_lemmas_of_each_family():
    def names(algo):
        return set(applicable(subject_of(get_algorithm(algo)), PROBLEM))

    assert {"sgd_step_at_view", "view_gap_recursion"} <= names("hogwild_sgd")
    assert {"ef_identity", "topk_contraction"} <= names("async_topk_ef")
    assert "ef_identity" not in names("async_topk") and "topk_contraction" in names("async_topk")
    assert "block_ownership" in names("passm") and "block_ownership" in names("passm_plus")
    assert {"amsgrad_monotone", "amsgrad_convention"} <= names("apam")
    assert "view_gap_recursion" not in names("minibatch_sgd")


# lemma -> (planted bug, mode) that violates it
CAUGHT = {
    "sgd_step_at_view": ("overstep", "implements"),
    "ef_identity": ("topk_ef_lost_memory", "conjecture"),
    "topk_contraction": ("topk_smallest", "conjecture"),
    "block_ownership": ("passm_full_writes", "conjecture"),
    "amsgrad_monotone": ("apam_no_max", "conjecture"),
    "amsgrad_convention": ("apam_bias_corrected", "conjecture"),
}


@pytest.mark.parametrize("lemma", sorted(CAUGHT))
def test_each_lemma_fails_its_planted_violation(lemma):
    key, mode = CAUGHT[lemma]
    res = check_lemmas(planted.variant(key, mode), PROBLEM, **SMALL)
    bad = {r["lemma"]: r for r in res["lemmas"] if r["verdict"] == "FAIL"}
    assert res["verdict"] == "FAIL" and lemma in bad, res["reason"]
    r = bad[lemma]
    assert f"lemma {lemma} violated at update {r['update']}" in r["reason"]
    assert r["lhs"] > r["rhs"]


def test_descent_fails_when_the_certified_L_is_wrong():
    wrong = copy.copy(PROBLEM)
    wrong.constants = dict(PROBLEM.constants, L=0.5 * PROBLEM.constants["L"])
    res = check_lemmas(get_algorithm("hogwild_sgd"), wrong, **SMALL)
    bad = [r for r in res["lemmas"] if r["verdict"] == "FAIL"]
    assert [r["lemma"] for r in bad] == ["descent"], res["reason"]


def test_view_gap_recursion_fails_on_a_misrecorded_read_version():
    tr = run("hogwild_sgd", "quadratic", "uniform:4", 80, 2)
    ok = evaluate(None, tr, {"view_gap_recursion": {}})[0]
    assert ok["verdict"] == "PASS" and 0 < ok["max_gap_over_sum"] <= 1 + 1e-9
    bad = copy.deepcopy(tr)
    stale = np.nonzero(bad.columns["staleness"] > 1)[0][0]
    bad.columns["read_version"][stale] = bad.columns["write_version"][stale]  # claims tau = 0
    res = evaluate(None, bad, {"view_gap_recursion": {}})[0]
    assert res["verdict"] == "FAIL" and res["update"] == int(bad.columns["update"][stale])


def test_block_coverage_and_p_min_are_reported():
    res = check_lemmas(get_algorithm("passm"), PROBLEM, **SMALL)
    own = next(r for r in res["lemmas"] if r["lemma"] == "block_ownership")
    assert sum(own["block_writes"]) == 120 and 0 < own["p_min"] <= 0.25
