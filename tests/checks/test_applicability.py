"""A check only where its theorem applies (issue 17): each case found by the sweep, with the
correct algorithm not FAILing and a planted bug (or a run outside the theorem) caught."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from asyncbound.checks import applicability
from asyncbound.checks.engine import CheckSpec, run_check
from asyncbound.checks.stats import Interval
from asyncbound.checks.verdicts import Verdict, before_metric
from asyncbound.implementations.registry import AlgorithmSpec

from tests.checks.planted import biased_sgd

ALPHA = 1e-3


def _check(**kw) -> dict:
    base = dict(algorithm="hogwild_sgd", seeds=16, delay="uniform:4", steps=400, eval_every=10)
    base.update(kw)
    rec = run_check(CheckSpec(**base), ALPHA)
    rec.pop("_trace", None)
    return rec


BIASED = AlgorithmSpec("planted_biased_sgd", biased_sgd, "full", {"lr": 0.05, "momentum": 0.0},
                       ("reference",), ("classic_delayed_sgd/strongly_convex",), None,
                       "PLANTED BUG: constant gradient bias.")

# --- 1. round-off floor ---------------------------------------------------------------------
FLOOR_CASE = dict(bound="classic_delayed_sgd/strongly_convex", problem="quadratic",
                  problem_options={"cond": 1.0, "sigma": 0.0}, delay="constant:1", steps=1500,
                  lr_fraction=1.0, eval_every=25)


def test_bound_below_the_arithmetic_is_decided_against_the_floor():
    rec = _check(**FLOOR_CASE)
    assert rec["bound_value"] < 1e-40 < rec["roundoff_floor"], rec["reason"]
    assert rec["verdict"] == "PASS" and "arithmetic floor" in rec["reason"], rec["reason"]


def test_floor_still_catches_an_algorithm_that_stalls_above_round_off():
    rec = _check(**{**FLOOR_CASE, "algorithm": BIASED})
    assert rec["verdict"] == "FAIL" and "above the floor" in rec["reason"], rec["reason"]


def test_decide_at_floor_cases():
    iv = lambda lo, hi: Interval((lo + hi) / 2, lo, hi, 16, ALPHA)  # noqa: E731
    assert applicability.decide_at_floor(iv(0, 1e-20), 1e-80, 1e-15, "f", "m").verdict == Verdict.PASS
    assert applicability.decide_at_floor(iv(1e-10, 1e-9), 1e-80, 1e-15, "f", "m").verdict == Verdict.FAIL
    assert applicability.decide_at_floor(iv(0, 1e-9), 1e-80, 1e-15, "f", "m").verdict == Verdict.INCONCLUSIVE


# --- 2. constants certified on a region -------------------------------------------------------
def test_run_leaving_the_region_of_sigma_is_not_applicable_with_the_exit():
    rec = _check(bound="classic_delayed_sgd/nonconvex", problem="least_squares", lr_fraction=1.0,
                 steps=1000, eval_every=1)
    assert rec["verdict"] == "NOT_APPLICABLE", rec["reason"]
    assert "certified on the ball ||x - x*|| <= 3" in rec["reason"] and "at update" in rec["reason"]


def test_run_inside_the_region_is_checked():
    rec = _check(bound="classic_delayed_sgd/nonconvex", problem="least_squares", lr_fraction=0.25,
                 steps=600, eval_every=1)
    assert rec["verdict"] == "PASS", rec["reason"]


def test_region_exit_reads_the_first_certain_exit():
    from asyncbound.checks.binding import Constant
    from asyncbound.implementations.problems import get_problem

    p = get_problem("least_squares")
    L, R2 = p.constants["L"], p.radius ** 2
    loss = [p.f_star + 0.1, p.f_star + 0.6 * L * R2, p.f_star + 0.1]
    df = pd.DataFrame({"update": [0, 1, 2], "seed": [0, 0, 0], "loss": loss})
    d = applicability.region_exit(df, p, {"sigma": Constant(1.0, "certified", "")})
    assert d.verdict == Verdict.NOT_APPLICABLE and "at update 1" in d.reason
    # a measured sigma is not the certificate: no region applies
    assert applicability.region_exit(df, p, {"sigma": Constant(1.0, "measured", "")}) is None


# --- 3./4. algorithm class: projection and options --------------------------------------------
@pytest.mark.parametrize("bound", ["classic_delayed_sgd/nonconvex", "nadiradze2021/nonconvex_M"])
def test_projected_problem_under_an_unconstrained_theorem(bound):
    rec = _check(bound=bound, problem="logistic_box")
    assert rec["verdict"] == "NOT_APPLICABLE" and "projects onto a box" in rec["reason"], rec["reason"]


def test_projected_theorem_on_an_unconstrained_problem():
    rec = _check(algorithm="apam", bound="xu_apam/convex", problem="quadratic")
    assert rec["verdict"] == "NOT_APPLICABLE" and "does not project" in rec["reason"], rec["reason"]


def test_momentum_outside_a_plain_sgd_theorem_is_named():
    rec = _check(bound="classic_delayed_sgd/nonconvex", options={"momentum": 0.9})
    assert rec["verdict"] == "NOT_APPLICABLE" and "momentum=0.9" in rec["reason"], rec["reason"]
    assert _check(bound="classic_delayed_sgd/nonconvex", options={"momentum": 0.0})["verdict"] == "PASS"


def test_a_conjecture_outside_the_class_is_checked_as_claimed_an_implementation_is_not():
    from dataclasses import replace

    from asyncbound.implementations.registry import get_algorithm, is_conjecture

    hog = get_algorithm("hogwild_sgd")
    conj = replace(hog, name="heavy_ball_hogwild", defaults={**hog.defaults, "momentum": 0.5})
    impl = replace(conj, name="heavy_ball_hogwild_impl", implements="hogwild_sgd")
    assert is_conjecture(conj) and not is_conjecture(impl) and not is_conjecture(hog)
    rec = _check(algorithm=conj, bound="classic_delayed_sgd/nonconvex")
    assert rec["verdict"] != "NOT_APPLICABLE", rec["reason"]
    assert any(n.startswith("conjecture: option momentum=0.5") for n in rec["plan_notes"])
    rec = _check(algorithm=impl, bound="classic_delayed_sgd/nonconvex")
    assert rec["verdict"] == "NOT_APPLICABLE" and "momentum=0.5" in rec["reason"], rec["reason"]
    # the domain gate holds for conjectures too: a projected problem under an unconstrained theorem
    rec = _check(algorithm=conj, bound="classic_delayed_sgd/nonconvex", problem="logistic_box")
    assert rec["verdict"] == "NOT_APPLICABLE" and "projects" in rec["reason"], rec["reason"]


# --- 5. constants measured on a growing run ---------------------------------------------------
def test_growing_run_cannot_pass_on_its_own_measured_constants():
    rec = _check(bound="nadiradze2021/strongly_convex", lr=0.85, steps=1500, eval_every=50)
    assert rec["verdict"] == "NOT_APPLICABLE" and "grow with the horizon" in rec["reason"], rec["reason"]
    assert rec["growth"]["factor"] > 4


def test_measured_constants_are_named_in_a_pass():
    rec = _check(bound="nadiradze2021/strongly_convex", lr=0.05, steps=1500, eval_every=50)
    assert rec["verdict"] == "PASS" and "measured on this run itself" in rec["reason"], rec["reason"]


def test_grown_unit():
    per = np.r_[np.ones(50), np.full(50, 100.0)]
    df = pd.DataFrame({"update": np.arange(100), "sgrad_norm_sq": per})
    assert applicability.grown(df, ["M"])["factor"] == pytest.approx(100.0)
    assert applicability.grown(df.assign(sgrad_norm_sq=per[::-1]), ["M"]) is None
    assert applicability.grown(df, []) is None


# --- 6. planning ---------------------------------------------------------------------------------
@pytest.mark.parametrize("tau", [0, 1, 2, 4, 8])
def test_stable_step_is_the_exact_threshold_of_delayed_gd(tau):
    # x_{k+1} = x_k - a x_{k-tau}: characteristic polynomial z^{tau+1} - z^tau + a
    t, _ = applicability.stable_step(1.0, tau, "constant")
    for a, inside in ((t * 0.999, True), (t * 1.001, False)):
        poly = np.zeros(tau + 2)
        poly[0], poly[1], poly[-1] = 1.0, -1.0, a
        if tau == 0:
            poly = np.array([1.0, a - 1.0])
        assert (np.max(np.abs(np.roots(poly))) < 1) == inside


def test_plan_caps_a_step_the_theorem_allows_but_delayed_gd_cannot_take():
    rec = _check(bound="nadiradze2021/strongly_convex", delay="constant:4", steps=300, eval_every=50)
    assert rec["config"]["lr"] == pytest.approx(0.5 * 2 * math.sin(math.pi / 18))
    assert any("unstable" in n for n in rec["plan_notes"]), rec.get("plan_notes")
    assert rec["verdict"] != "FAIL", rec["reason"]


def test_plan_says_when_lr_fraction_cannot_be_honoured():
    rec = _check(bound="nadiradze2021/view_gap_async", lr_fraction=0.9, steps=200)
    assert any("lr_fraction = 0.9 not honoured" in n for n in rec["plan_notes"]), rec.get("plan_notes")


# --- 7. bounded iterates ----------------------------------------------------------------------------
def test_divergence_under_a_bounded_iterates_theorem_is_not_applicable():
    ev = {"column": "loss", "value": math.inf, "update": 29, "seed": 61}
    d = before_metric(unbound=[], problem="relu_net", divergence=ev, failed=[], run_measured=[],
                      assumes_bounded_iterates=True)
    assert d.verdict == Verdict.NOT_APPLICABLE and "bounded set" in d.reason and "update 29" in d.reason
    d = before_metric(unbound=[], problem="q", divergence=ev, failed=[], run_measured=[])
    assert d.verdict == Verdict.FAIL


def test_passm_pilot_picks_a_schedule_relu_net_can_take():
    rec = run_check(CheckSpec(algorithm="passm", bound="kungurtsev2021/stationarity", problem="relu_net",
                              delay="uniform:4", steps=300, seeds=64, eval_every=10,
                              study="passm_stationarity"), ALPHA)
    assert "halved" in rec["config"]["lr_rule"] and rec["config"]["lr"] < 0.05, rec["config"]["lr_rule"]
    assert rec["verdict"] not in ("FAIL", "DIVERGED"), rec["reason"]


# --- 8. sequential looks -----------------------------------------------------------------------------
def test_sequential_looks_spend_alpha_by_bonferroni(monkeypatch):
    from asyncbound.checks import engine

    seen = []

    def fake(check, alpha):
        seen.append((check.seeds, alpha))
        return {"verdict": "INCONCLUSIVE" if check.seeds < 32 else "PASS", "reason": "r"}

    monkeypatch.setattr(engine, "_run_once", fake)
    rec = engine.run_check(CheckSpec(algorithm="hogwild_sgd", bound="classic_delayed_sgd/nonconvex",
                                     seeds=8, looks=4), 0.01)
    assert seen == [(8, 0.0025), (16, 0.0025), (32, 0.0025)]
    assert rec["verdict"] == "PASS" and rec["sequential"]["looks_used"] == 3


TIGHT_VIEW_GAP = dict(bound="nadiradze2021/view_gap_async", problem="quadratic",
                      problem_options={"cond": 10.0, "sigma": 0.1}, delay="constant:4", steps=400)


def test_sequential_looks_pass_a_tight_correct_algorithm():
    # Hogwild! view gap at 0.94 of eta*tau*M: 4 seeds cannot decide, the looks add seeds until PASS
    one = _check(**TIGHT_VIEW_GAP, seeds=4)
    seq = _check(**TIGHT_VIEW_GAP, seeds=4, looks=7)
    assert one["verdict"] == "INCONCLUSIVE" and 0.85 < one["ratio"] < 1, one["reason"]
    assert seq["verdict"] == "PASS" and seq["sequential"]["looks_used"] > 2, seq["reason"]


def test_sequential_looks_fail_a_tight_wrong_algorithm():
    # PLANTED BUG: SGD stepping 2.4x the lr it reports (1.2x the admissible maximum): the SC gap
    # is about 1.2x its bound; 4 seeds cannot decide, the looks add seeds until FAIL
    from functools import partial

    from tests.checks.planted import overstep_sgd

    wrong = AlgorithmSpec("planted_overstep_tight", partial(overstep_sgd, factor=2.4), "full", {"lr": 0.05},
                          ("reference",), (), None, "PLANTED BUG: step 2.4x the reported lr.")
    kw = dict(algorithm=wrong, bound="classic_delayed_sgd/strongly_convex", problem="quadratic",
              problem_options={"cond": 1.0}, steps=1500, eval_every=25)
    one = _check(**kw, seeds=4)
    seq = _check(**kw, seeds=4, looks=4)
    assert one["verdict"] == "INCONCLUSIVE" and one["ratio"] > 1, one["reason"]
    assert seq["verdict"] == "FAIL", seq["reason"]


def test_looks_must_be_a_positive_integer():
    from asyncbound.checks.engine import run_sequential

    with pytest.raises(ValueError, match="looks"):
        run_sequential(CheckSpec(algorithm="hogwild_sgd", bound="classic_delayed_sgd/nonconvex", looks=0))


def test_problem_declares_projection_and_regions():
    from asyncbound.implementations.problems import get_problem

    assert get_problem("logistic_box").projects and not get_problem("quadratic").projects
    ls = get_problem("least_squares")
    assert set(ls.regions) == {"sigma"} and torch.equal(ls.regions["sigma"].centre, ls.x_star)


def test_step_at_the_stability_threshold_is_refused_before_running():
    rec = _check(bound="nadiradze2021/strongly_convex", delay="constant:4", lr_fraction=1.0, steps=300)
    assert rec["verdict"] == "NOT_APPLICABLE" and "stability threshold" in rec["reason"], rec["reason"]
    assert "_trace" not in rec and "measured" in rec and "value" not in rec["measured"]


def test_smoothness_of_a_nonsmooth_problem_is_not_assumed():
    rec = _check(bound="nadiradze2021/strongly_convex", problem="l1_least_squares", lr=0.05)
    assert rec["verdict"] == "NOT_APPLICABLE" and "is not smooth" in rec["reason"], rec["reason"]
    rec = _check(bound="classic_delayed_sgd/strongly_convex", problem="quadratic",
                 problem_options={"mu": 0.0}, steps=200)
    assert rec["verdict"] == "NOT_APPLICABLE" and "certifies no mu > 0" in rec["reason"], rec["reason"]


# --- 9. the sweep ------------------------------------------------------------------------------------
def test_sweep_space_covers_fractions_noise_and_delay_families():
    from asyncbound.checks import sweep

    specs = sweep.configurations(algorithms={"hogwild_sgd"})
    assert {s.lr_fraction for s in specs} == set(sweep.FRACTIONS) and max(sweep.FRACTIONS) == 1.0
    assert {s.delay.split(":")[0] for s in specs} == {"constant", "uniform", "geometric"}
    assert any(s.problem_options.get("sigma") == 0.0 for s in specs)
    assert {s.problem for s in specs} == {p for p, _ in sweep.PROBLEMS}
    assert {s.bound for s in specs} == set(__import__("asyncbound.implementations.registry", fromlist=["x"])
                                           .ALGORITHMS["hogwild_sgd"].bounds)
    assert all(s.delay == "none" for s in sweep.configurations(algorithms={"minibatch_sgd"}))


def test_sweep_runs_counts_and_names_every_exclusion():
    from asyncbound.checks import sweep

    mine = [s for s in sweep.configurations(algorithms={"hogwild_sgd"}, steps=200)
            if s.bound == "classic_delayed_sgd/nonconvex"]
    specs = [s for s in mine if s.problem == "logistic_box"] + [mine[0]]
    out = sweep.run(specs, budget_s=120)
    assert sum(out["totals"].values()) == len(specs) and out["totals"].get("FAIL", 0) == 0
    assert out["excluded_by_reason"].get("outside the algorithm class (projection)") == 3
    assert "totals: PASS" in sweep.report(out)


def test_sweep_cli_refuses_bad_arguments(capsys):
    from asyncbound.checks import sweep

    assert sweep.main(["--seeds", "0"]) == 2
    assert sweep.main(["--algorithms", "nope"]) == 2
    assert "error" in capsys.readouterr().err
