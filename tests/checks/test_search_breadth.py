"""Breadth of the worst-case search (issue 12): every derived bound of the quick suite is searched
on >= 3 problem families that certify its constants and >= 3 delay families, and box problems
enter a bound's space only where its derivation is declared to hold for the projected iteration."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pytest
from asyncbound.checks import applicability, search, search_space
from asyncbound.checks.engine import CheckSpec, run_check
from asyncbound.checks.suite import build_suite, spec_for
from asyncbound.checks.verdicts import Verdict
from asyncbound.implementations.problems import get_problem
from asyncbound.implementations.registry import AlgorithmSpec
from asyncbound.theory.coverage import AlgorithmClass

from asyncbound import theory
from tests.checks.planted import overstep_sgd

ALPHA = 1e-3
MIN_FAMILIES = 3


@pytest.fixture(scope="module")
def derived_rows():
    return [r for r in search_space.breadth(build_suite("quick")) if r["provenance"] == "derived"]


def test_every_derived_bound_has_three_certifying_problems_and_three_delay_families(derived_rows):
    assert {r["bound"] for r in derived_rows} >= {"nadiradze2021/nonconvex_M", "nadiradze2021/strongly_convex",
                                                  "nadiradze2021/view_gap_async",
                                                  "classic_delayed_sgd/strongly_convex"}
    thin = [(r["bound"], r["algorithm"], r["problems"]) for r in derived_rows
            if len(r["problems"]) < MIN_FAMILIES]
    assert not thin, thin
    for r in derived_rows:
        sync = search_space.space_for(spec_for(r["algorithm"], r["bound"])).taus == (0,)
        assert sync or len(r["delays"]) >= MIN_FAMILIES, r  # a synchronous pattern has no staleness


def test_the_quick_design_visits_three_certifying_problems_and_three_delay_families():
    """The first 3 start points of the quick profile (what CI runs) land on 3 distinct families
    of every derived bound's space, whatever its number of families."""
    n = search.PROFILES["quick"].start
    for s in build_suite("quick"):
        if s.test != "bound" or s.study or theory.get_bound(s.bound).provenance != theory.Provenance.DERIVED:
            continue
        space = search_space.space_for(s)
        pts = [space.point(search.design_point(i, space.dim))["axes"] for i in range(1, n + 1)]
        assert len({p["problem"] for p in pts}) == MIN_FAMILIES, (s.bound, pts)
        if space.delays:
            assert len({p["delay_family"] for p in pts}) == MIN_FAMILIES, (s.bound, pts)


# --- box problems: only where the derivation is declared to hold for the projected iteration ----
def _with_class(key: str, domain: str | None):
    """The registered bound under another key, with ``domain`` as its stated class (None: no
    stated class)."""
    b = theory.get_bound(key)
    derived = dict(b.derived)
    if domain is not None:
        derived["covers"] = AlgorithmClass(step="test", domain=domain, fixed={"momentum": 0.0})
    return replace(b, key=f"test/{domain}", derived=derived)


@pytest.mark.parametrize("name", ["huber_box", "logistic_box", "quadratic_box"])
def test_box_problem_accepted_only_where_declared(name):
    box = get_problem(name, lam=0.03) if name != "quadratic_box" else get_problem(name)
    sc = theory.get_bound("nadiradze2021/strongly_convex")
    assert search_space.structural_gap(sc, box) is None  # declared: unconstrained_or_box
    assert search_space.structural_gap(theory.get_bound("nadiradze2021/view_gap_async"), box) is None
    for key in ("nadiradze2021/nonconvex_M", "classic_delayed_sgd/strongly_convex"):
        assert "not declared" in search_space.structural_gap(theory.get_bound(key), box)
    # the same derivation with the class stated unconstrained, or not stated: no box runs
    for domain in ("unconstrained", None):
        assert "not declared" in search_space.structural_gap(_with_class("nadiradze2021/strongly_convex", domain), box)
    assert search_space.structural_gap(_with_class("nadiradze2021/strongly_convex", "unconstrained_or_box"), box) is None


def test_applicability_reads_the_same_declaration():
    box = get_problem("huber_box")
    assert applicability.outside_class(theory.get_bound("nadiradze2021/strongly_convex"), box, {}) is None
    no = applicability.outside_class(theory.get_bound("nadiradze2021/nonconvex_M"), box, {})
    assert no.verdict == Verdict.NOT_APPLICABLE and "projects onto a box" in no.reason
    no = applicability.outside_class(_with_class("nadiradze2021/strongly_convex", "unconstrained"), box, {})
    assert no is not None and no.verdict == Verdict.NOT_APPLICABLE


def test_space_of_a_bound_follows_its_declaration():
    check = spec_for("hogwild_sgd", "nadiradze2021/strongly_convex")
    declared = search_space.space_for(check)
    assert declared.certified and {f.name for f in declared.problems} == {"quadratic_box", "huber_box", "logistic_box"}
    undeclared = search_space.space_for(check, _with_class("nadiradze2021/strongly_convex", "unconstrained"))
    assert not undeclared.certified and [f.name for f in undeclared.problems] == [check.problem]


OVERSTEP = AlgorithmSpec("planted_overstep_10x", partial(overstep_sgd, factor=10.0), "full", {"lr": 0.05},
                         ("reference",), ("nadiradze2021/view_gap_async",), None,
                         "PLANTED BUG: the step uses 10x the reported lr.")


def test_box_runs_pass_the_correct_algorithm_and_catch_a_planted_overstep():
    """On a box problem (M certified on the box) the extended claims decide: hogwild_sgd PASSes
    the view gap (never searched on a box before) and Nadiradze's SC bound (NOT_APPLICABLE on a
    box before the declaration), and SGD stepping 10x its reported lr is a FAIL of the view gap."""
    run = partial(CheckSpec, problem="huber_box", lr=0.05, delay="uniform:4", steps=400, seeds=16, eval_every=10)
    ok = run_check(run(algorithm="hogwild_sgd", bound="nadiradze2021/view_gap_async"), ALPHA)
    assert ok["verdict"] == "PASS", ok["reason"]
    assert ok["constants"]["M"]["origin"] == "certified"
    sc = run_check(run(algorithm="hogwild_sgd", bound="nadiradze2021/strongly_convex"), ALPHA)
    assert sc["verdict"] == "PASS", sc["reason"]
    assert sc["constants"]["mu"]["origin"] == "certified" and sc["constants"]["B"]["origin"] == "formula"
    bad = run_check(run(algorithm=OVERSTEP, bound="nadiradze2021/view_gap_async"), ALPHA)
    assert bad["verdict"] == "FAIL", bad["reason"]


def test_breadth_table_command(capsys):
    assert search_space.main(["--derived"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| bound check |") and all("| derived |" in ln for ln in lines[2:])
    nc_m = next(ln for ln in lines if "`nadiradze2021/nonconvex_M`" in ln)
    assert "huber" in nc_m and "measured constants" not in nc_m
    assert any("none (synchronous)" in ln for ln in lines)  # minibatch_sgd has no staleness


def test_long_transient_families_are_no_candidates_for_asymptotic_claims():
    """A far start (Huber's levels) or a redescending loss's plateau spends the horizon before the
    asymptotic regime that a rate claim's finite-run slope proxy presumes: the correct
    async_normalized FAILs Gratton-Toint's rate proxy on Cauchy regression started 3 from x*. Such
    families stay in the spaces of bounds that hold at every K, and out of ASYMPTOTIC ones."""
    long = {f.name for f in search_space.PROBLEM_FAMILIES if f.long_transient}
    assert long == {"huber", "cauchy", "welsch"}
    rate = search_space.space_for(spec_for("async_normalized", "gratton_toint2026/rate"))
    assert not long & {f.name for f in rate.problems} and len(rate.problems) >= MIN_FAMILIES
    assert all("pre-asymptotic" in rate.excluded[n] for n in long)
    nc_m = search_space.space_for(spec_for("hogwild_sgd", "nadiradze2021/nonconvex_M"))
    assert {f.name for f in nc_m.problems} == long | {"tanh_net"}  # UPPER at every K: kept
    spec = replace(spec_for("async_normalized", "gratton_toint2026/rate"), search=None, problem="cauchy",
                   problem_options={"x0_scale": 3.0, "dim": 20})
    assert run_check(spec, ALPHA)["verdict"] == "FAIL"
