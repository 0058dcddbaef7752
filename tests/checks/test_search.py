"""Worst-case search (issue 12): the admissible space, the design, the decision on fresh seeds,
the record's search/worst/reproduce, divergence that counts and the side-by-side baseline."""

from __future__ import annotations

from dataclasses import replace

import pytest
from asyncbound.checks import search, search_space
from asyncbound.checks.engine import CheckSpec, run_check
from asyncbound.checks.suite import build_suite, spec_for
from asyncbound.implementations.delays import parse_delay
from asyncbound.implementations.registry import AlgorithmSpec
from asyncbound.implementations.rules import sgd
from asyncbound.implementations.rules.base import FunctionalRule

from tests.checks import planted

ALPHA = 1e-3


def small(spec, **kw):
    return replace(spec, seeds=8, steps=min(spec.steps, 300), **kw)


def exploding_momentum(*, lr: float):
    """PLANTED BUG: plain SGD as declared, but a hidden heavy-ball buffer with factor 1.5 (a sign
    error in a damping term): it reports no momentum, so the theorem's class admits it."""
    inner = sgd(lr=lr, momentum=1.5)
    return FunctionalRule("exploding_sgd", inner.init, inner.step, {"lr": lr})


EXPLODING = AlgorithmSpec("planted_exploding_momentum", exploding_momentum, "full",
                          {"lr": 0.05}, ("reference",),
                          ("nadiradze2021/nonconvex_sigma",), None, "PLANTED BUG: momentum 1.5.")


# --- the design -------------------------------------------------------------------------------
def test_design_visits_three_problem_and_delay_families_in_three_points():
    pts = [search.design_point(i, 10) for i in (1, 2, 3)]
    assert all(0 <= x < 1 for p in pts for x in p)
    assert len({int(p[0] * 3) for p in pts}) == 3  # problem axis: 3 cells of 3
    assert len({int(p[1] * 5) for p in pts}) == 3  # delay axis: 3 of the 5 families
    assert pts == [search.design_point(i, 10) for i in (1, 2, 3)]  # deterministic


def _first_visits(space, check, profile):
    """The families the anchor, the corners and the profile's start points visit."""
    pts = [search.corner_point(space, lv) for lv in search.CORNER_LEVELS]
    pts += [search.design_point(i, space.dim) for i in range(1, profile.start + 1)]
    return {check.problem} | {space.point(u)["axes"]["problem"] for u in pts}


@pytest.mark.parametrize("algorithm, bound", [("async_adagrad", "gratton_toint2026/rate"),
                                              ("apam", "xu_apam/nonconvex")])
def test_coverage_point_puts_the_rate_shapes_on_every_family_including_the_network(algorithm, bound):
    """Issue 12 (breadth): every reconstructed rate shape runs on a non-convex and a non-quadratic
    problem in the quick profile. The 3 Halton start points visit 3 of the 4 certifying families;
    one coverage point visits the 4th, with the other coordinates of the next design point."""
    from asyncbound.implementations.problems import get_problem

    check, quick = spec_for(algorithm, bound), search.PROFILES["quick"]
    space = search_space.space_for(check)
    names = [f.name for f in space.problems]
    assert names == ["quadratic", "huber_ridge", "tanh_net", "logistic"]
    first = _first_visits(space, check, quick)
    extra = search.coverage_points(space, quick, first)
    assert len(extra) == 1 and first | {space.point(u)["axes"]["problem"] for u in extra} == set(names)
    assert not get_problem("tanh_net").convex
    u, nxt = extra[0], search.design_point(quick.start + 1, space.dim)
    assert u[1:] == nxt[1:]  # only the problem coordinate is moved


def test_a_three_family_space_gets_no_coverage_point():
    check, quick = spec_for("hogwild_sgd", "classic_delayed_sgd/strongly_convex"), search.PROFILES["quick"]
    space = search_space.space_for(check)
    assert len(space.problems) == 3
    assert search.coverage_points(space, quick, _first_visits(space, check, quick)) == []
    assert len(search.coverage_points(space, quick, set())) == 3  # nothing visited: one per family


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_design_rejects_bad_index(bad):
    with pytest.raises(ValueError, match="i must be"):
        search.design_point(bad, 10)


def test_refinement_moves_the_step_towards_the_hard_end_first():
    u = search.design_point(1, 10)
    first = next(search.refinement_moves(u, 0.25))
    i = search_space.SearchSpace.AXES.index("lr")
    assert first[i] == pytest.approx(min(u[i] + 0.25, 0.999))


def test_badness_ranks_fail_first_and_drops_no_claim():
    assert search.badness({"verdict": "FAIL", "ratio": 1.5}) > search.badness({"verdict": "PASS", "ratio": 0.9})
    assert search.badness({"verdict": "PASS", "ratio": 0.9}) > search.badness({"verdict": "PASS", "ratio": 0.2})
    for v in ("NOT_APPLICABLE", "DIVERGED"):
        assert search.badness({"verdict": v, "ratio": 5.0}) is None
    # a proxy: margin positive on the claimed side
    assert search.badness({"verdict": "PASS", "margin": 0.1, "bound_value": -0.5}) == (0, pytest.approx(-0.2))


# --- the admissible space ---------------------------------------------------------------------
@pytest.mark.parametrize("family", search_space.DELAY_FAMILIES)
def test_every_delay_family_guarantees_the_tau_eta_max_is_solved_at(family):
    for tau in (2, 7):
        assert parse_delay(search_space.delay_spec(family, tau, 0.9, workers=4)).max_delay == tau


def test_space_keeps_only_problems_certifying_the_bound():
    nc = search_space.space_for(spec_for("hogwild_sgd", "classic_delayed_sgd/nonconvex"))
    assert {f.name for f in nc.problems} == {"quadratic", "huber", "huber_ridge", "logistic", "cauchy", "welsch",
                                            "tanh_net"}
    assert "L" in nc.excluded["mlp"] and "structural" in nc.excluded["logistic_box"]
    assert nc.lr_axis == "fraction" and nc.lr_range[1] == 1.0
    m = search_space.space_for(spec_for("hogwild_sgd", "nadiradze2021/nonconvex_M"))
    assert [f.name for f in m.problems] == ["huber", "tanh_net", "welsch", "cauchy"]  # those certifying M
    assert "does not certify M" in m.excluded["huber_ridge"]  # a ridge makes the gradient unbounded
    box = search_space.space_for(spec_for("apam", "xu_apam/convex"))
    assert {f.name for f in box.problems} == {"quadratic_box", "huber_box", "logistic_box"}  # bounded domain
    sync = search_space.space_for(spec_for("minibatch_sgd", "classic_delayed_sgd/nonconvex"))
    assert sync.delays == () and sync.taus == (0,)


def test_quick_suite_searches_bound_checks_not_studies():
    from asyncbound.checks.suite import UNCLAIMED

    specs = build_suite("quick")
    bound_checks = [s for s in specs if s.test == "bound" and not s.study and s.label != UNCLAIMED]
    assert bound_checks and all(s.search == "quick" for s in bound_checks)
    # an algorithm claiming no bound gets a smoke check of the fallback bound: not a claim, so
    # no search for its counterexample
    unclaimed = [s for s in specs if s.label == UNCLAIMED]
    assert {s.algorithm for s in unclaimed} >= {"apam_adam"} and all(s.search is None for s in unclaimed)
    assert all(s.search is None for s in specs if s not in bound_checks)  # studies, oracle, lemma
    assert all(s.search is None for s in build_suite("quick", search=False))


def test_unknown_profile_is_a_value_error():
    with pytest.raises(ValueError, match="search profile"):
        search.get_profile("huge")


# --- a search end to end ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def correct_record():
    return run_check(small(spec_for("hogwild_sgd", "classic_delayed_sgd/nonconvex"), search="quick"), ALPHA)


def test_search_record_keeps_every_configuration_and_decides_on_fresh_seeds(correct_record):
    rec = correct_record
    assert rec["verdict"] == "PASS", rec["reason"]
    quick = search.PROFILES["quick"]
    space = search_space.space_for(spec_for("hogwild_sgd", "classic_delayed_sgd/nonconvex"))
    visited = {e["problem"] for e in rec["search"][:1 + len(search.CORNER_LEVELS) + quick.start]}
    extra = search.coverage_points(space, quick, visited)
    assert len(extra) == 1  # 7 families: the anchor, corners and 3 start points visit 3
    assert len(rec["search"]) == 1 + len(search.CORNER_LEVELS) + quick.start + len(extra) + quick.refine
    assert len({e["problem"] for e in rec["search"]}) >= quick.cover
    screened = {e["base_seed"] for e in rec["search"]}
    assert len(screened) == len(rec["search"]) and min(screened) >= search.SCREEN_OFFSET
    assert rec["config"]["base_seed"] == 0 and rec["worst"]["decided_on_seeds"] == [0, 7]
    assert len({e["problem"] for e in rec["search"]}) >= 3
    assert len({e["axes"].get("delay_family", e["delay"]) for e in rec["search"]}) >= 3
    worst = rec["worst"]["screening"]
    assert worst["badness"] == max(e["badness"] for e in rec["search"] if e["badness"])
    assert rec["config"]["problem"] == worst["problem"] and rec["config"]["delay"] == worst["delay"]
    assert rec["reproduce"].startswith("python -m asyncbound.checks.search --reproduce ")


def test_reproduce_reruns_the_deciding_configuration(correct_record, capsys):
    import shlex

    argv = shlex.split(correct_record["reproduce"])[3:]
    assert search.main(argv + ["--alpha", str(ALPHA)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PASS") and f"{correct_record['measured']['value']:.4g}" in out


def test_reproduce_bad_config_exits_2(capsys):
    assert search.main(["--reproduce", '{"algorithm": "hogwild_sgd", "nope": 1}']) == 2
    assert "unknown fields" in capsys.readouterr().err


# --- divergence that counts -------------------------------------------------------------------
def test_divergence_with_certified_m_is_a_fail_measured_b_is_vacuous():
    spec = CheckSpec(algorithm=EXPLODING, bound="nadiradze2021/nonconvex_sigma", problem="huber",
                     steps=300, seeds=8, eval_every=1)
    rec = run_check(spec, ALPHA)
    assert rec["verdict"] == "FAIL", rec["reason"]
    assert rec["constants"]["B"]["origin"] == "formula" and "diverged" in rec["reason"]
    on_quadratic = run_check(replace(spec, problem="quadratic"), ALPHA)  # M not certified there
    assert on_quadratic["verdict"] == "DIVERGED"
    correct = run_check(replace(spec, algorithm="hogwild_sgd"), ALPHA)
    assert correct["verdict"] == "PASS", correct["reason"]


def test_diverging_variant_is_flagged_beside_the_algorithm_it_extends():
    spec = CheckSpec(algorithm=EXPLODING, bound="nadiradze2021/nonconvex_sigma", problem="quadratic",
                     steps=300, seeds=8, eval_every=1)
    assert search.baseline_for(EXPLODING, spec.bound) == "hogwild_sgd"
    out = search.side_by_side(spec, ALPHA)
    assert out["diverges_where_baseline_converges"] is True
    assert out["baseline"]["algorithm"] == "hogwild_sgd" and not out["baseline"]["diverged"]
    assert search.baseline_for("hogwild_sgd", spec.bound) is None  # nothing beside itself


def test_a_fail_comes_with_a_shrunk_counterexample_that_reproduces(capsys):
    import shlex

    bug = planted.SPECS["overstep"]  # found away from the anchor: 8 workers, dim 10
    rec = run_check(small(spec_for(bug, "classic_delayed_sgd/nonconvex"), search="quick"), ALPHA)
    assert rec["verdict"] == "FAIL", rec["reason"]
    ce = rec["counterexample"]
    assert 1 <= ce["shrink_runs"] <= search.PROFILES["quick"].shrink
    assert ce["workers"] <= rec["worst"]["axes"]["workers"]
    argv = shlex.split(ce["reproduce"])[3:5]  # without --with: the registry has it below
    with planted.registered():  # the reproduce line names the algorithm; --with would load it
        assert search.main(argv + ["--alpha", str(ALPHA)]) == 1
    assert capsys.readouterr().out.startswith("FAIL")
    assert rec["worst"]["screening"]["verdict"] == "FAIL"  # the search found it before deciding


def test_the_corner_is_eta_max_under_adversarial_delays_at_the_smallest_tau(correct_record):
    rec = correct_record
    corner = rec["search"][1]["axes"]  # screened right after the anchor
    assert corner["delay_family"] == "adversarial" and corner["eta_over_eta_max"] > 0.99
    assert corner["tau"] == min(rec["search_space"]["taus"])
    assert corner["workers"] == min(rec["search_space"]["workers"])
    assert corner["problem"] == rec["search_space"]["problems"][0]
    assert min(rec["search_space"]["taus"]) == 1
    # the second corner: the same, with the problem's parameters at their first levels
    second = rec["search"][2]["axes"]
    assert {k: v for k, v in second.items() if not k.startswith("problem.")} == \
        {k: v for k, v in corner.items() if not k.startswith("problem.")}
    fam = next(f for f in search_space.PROBLEM_FAMILIES if f.name == corner["problem"])
    assert {k[len("problem."):]: v for k, v in second.items() if k.startswith("problem.")} == \
        fam.options((0.0,) * len(fam.levels))


def test_the_deciding_run_keeps_the_checks_sequential_looks(monkeypatch):
    from asyncbound.checks import engine
    from asyncbound.checks.suite import SEARCHED_LOOKS, build_suite

    spec = next(s for s in build_suite("quick") if s.search)
    assert spec.looks == SEARCHED_LOOKS > 1
    seen = []
    real = engine.run_check

    def spy(check, alpha=engine.ALPHA_SINGLE):
        seen.append(check.looks)
        return real(check, alpha)

    monkeypatch.setattr(engine, "run_check", spy)
    rec = search.search_check(small(spec, search="quick"), ALPHA)
    assert set(seen[:-1]) == {1} and seen[-1] == SEARCHED_LOOKS  # screening: one look each
    assert rec["verdict"] in ("PASS", "INCONCLUSIVE")


@pytest.mark.parametrize("algorithm, verdict", [
    ("ps_sgd", "PASS"),
    (planted.CATALOGUE["ps_stale_by_one"][2], "FAIL"),
])
def test_the_tau_1_corner_catches_a_parameter_server_off_by_one(algorithm, verdict):
    """At the corner with tau = 1 (eta = eta_max(tau = 1) = 1/(2L), adversarial delays, the
    quadratic with condition number 1 and little noise) a master applying the previous arrival's
    gradient runs at delay 2 where the trace records 1: the classic non-convex bound FAILs
    (measured/bound ~2.3); ps_sgd sits at ~0.23 of it."""
    spec = replace(spec_for(algorithm, "classic_delayed_sgd/nonconvex"), search=None, looks=1,
                   problem="quadratic", problem_options={"cond": 1.0, "sigma": 0.01, "dim": 5},
                   delay="adversarial:1", workers=2, lr_fraction=0.999, base_seed=5)
    rec = run_check(spec, ALPHA)
    assert rec["verdict"] == verdict, rec["reason"]
