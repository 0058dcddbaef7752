"""The check kind ``oracle``: planted bugs in linear algorithms FAIL, the correct ones PASS, the
stability verdict, the record fields, and the suite hook."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from asyncbound.checks.engine import CheckSpec, run_check
from asyncbound.checks.oracle.specs import oracle_specs
from asyncbound.checks.stats import ALPHA_SINGLE
from asyncbound.checks.suite import build_suite
from asyncbound.implementations.registry import ALGORITHMS

from tests.checks import planted_oracle as planted

ORACLE_SUITE = [s for s in build_suite("quick") if s.test == "oracle"]
LINEAR = ("hogwild_sgd", "ps_sgd", "passm", "passm_plus", "minibatch_sgd")


def _spec(algo, **kw) -> CheckSpec:
    return oracle_specs([ALGORITHMS[algo] if isinstance(algo, str) else algo], "quick",
                        by_name=isinstance(algo, str))[0] if not kw else replace(_spec(algo), **kw)


def test_the_quick_suite_has_an_oracle_check_for_every_linear_algorithm():
    names = {s.algorithm_name for s in ORACLE_SUITE}
    assert names == set(LINEAR)
    assert all(s.bound == "oracle/exact_moments" for s in ORACLE_SUITE)
    assert len({s.check_id for s in ORACLE_SUITE}) == len(ORACLE_SUITE)


@pytest.mark.parametrize("base_seed", [0, 1])
@pytest.mark.parametrize("spec", ORACLE_SUITE, ids=[s.check_id for s in ORACLE_SUITE])
def test_correct_linear_algorithms_pass(spec, base_seed):
    rec = run_check(replace(spec, base_seed=base_seed), ALPHA_SINGLE)
    assert rec["verdict"] == "PASS", rec["reason"]
    assert rec["test"] == "oracle"


@pytest.mark.parametrize("name", sorted(planted.KERNEL_BUGS))
def test_planted_kernel_bug_fails(name, monkeypatch):
    bug = planted.KERNEL_BUGS[name]
    monkeypatch.setitem(ALGORITHMS, bug.name, bug)  # registered for this test only
    rec = run_check(_spec(bug), ALPHA_SINGLE)
    assert rec["verdict"] == "FAIL", rec["reason"]
    first = rec["oracle"]["first_outside"]
    assert not (first["lo"] <= first["exact"] <= first["hi"])


@pytest.mark.parametrize("name", sorted(planted.SYSTEM_BUGS))
def test_planted_system_bug_fails(name, monkeypatch):
    patch, algo = planted.SYSTEM_BUGS[name]
    patch(monkeypatch)
    rec = run_check(_spec(algo), ALPHA_SINGLE)
    assert rec["verdict"] == "FAIL", rec["reason"]


def test_record_carries_exact_curve_band_and_costs():
    rec = run_check(_spec("hogwild_sgd"), ALPHA_SINGLE)
    o = rec["oracle"]
    K = rec["config"]["steps"]
    assert len(o["exact"]["loss_gap"]) == K + 1 and o["form"] == "law, and on each seed's start point" and o["mode"] == "decoupled"
    s = rec["series"]
    assert len(s["iteration"]) == len(s["bound"]) == len(s["lo"]) >= 20
    assert all(lo <= b <= hi for lo, b, hi in zip(s["lo"], s["bound"], s["hi"], strict=True))
    assert np.all(np.diff(s["iteration"]) > 0) and s["iteration"][-1] == K
    assert 0 < o["cost_s"] and 0 < o["run_cost_s"]
    assert o["first_outside"] is None and rec["bound"]["kind"] == "TIGHT"
    from asyncbound.checks.records import jsonable, validate_record
    from asyncbound.reports.records import validate_record as report_validate

    rec.pop("_trace")
    clean = jsonable({"schema": "asyncbound.record/1", **rec})
    assert validate_record(clean) == []
    report_validate(clean)


def test_not_linear_is_not_applicable():
    rec = run_check(replace(_spec("hogwild_sgd"), algorithm="async_adam"), ALPHA_SINGLE)
    assert rec["verdict"] == "NOT_APPLICABLE" and "not linear" in rec["reason"]
    rec = run_check(replace(_spec("hogwild_sgd"), delay="pareto:1.5"), ALPHA_SINGLE)
    assert rec["verdict"] == "NOT_APPLICABLE" and "cap" in rec["reason"]


def test_replay_form_under_virtual_time_with_jitter_passes():
    spec = replace(_spec("hogwild_sgd"), delay="virtual:speeds=1,1,2,3,jitter=0.3", seeds=64,
                   steps=150)
    rec = run_check(spec, ALPHA_SINGLE)
    assert rec["verdict"] == "PASS", rec["reason"]
    assert rec["oracle"]["form"].startswith("conditional") and rec["oracle"]["n_schedules"] > 1


# --- stability under a constant delay -------------------------------------------------------
TAU = 4
H = 0.3472963553338607  # 2 sin(pi / 18): the critical eta L for tau = 4 (Levin & May 1976)


def _stability_spec(lr, steps=2500, **kw):
    return replace(_spec("hogwild_sgd"), delay=f"constant:{TAU}", lr=lr, seeds=64, steps=steps,
                   problem_options={"cond": 1.0}, **kw)


def test_divergence_predicted_by_the_spectral_radius_passes():
    rec = run_check(_stability_spec(3.0 * H), ALPHA_SINGLE)
    assert rec["verdict"] == "PASS", rec["reason"]
    assert rec["oracle"]["stability"] == "diverges" and "divergence" in rec


def test_divergence_where_the_oracle_says_converges_fails(monkeypatch):
    # the planted overstep's real step is 3 x the declared lr: 0.9 H declared, 2.7 H run, so
    # the exact oracle (declared lr) converges while the run overflows
    bug = replace(planted.KERNEL_BUGS["overstep"], defaults={"lr": 0.9 * H, "factor": 3.0})
    monkeypatch.setitem(ALGORITHMS, bug.name, bug)
    rec = run_check(replace(_stability_spec(0.9 * H), algorithm=bug), ALPHA_SINGLE)
    assert rec["oracle"]["stability"] == "converges" and "divergence" in rec
    assert rec["verdict"] == "FAIL", rec["reason"]
    good = run_check(_stability_spec(0.9 * H, steps=400), ALPHA_SINGLE)
    assert good["verdict"] == "PASS", good["reason"]


def test_a_variant_declaring_a_linear_rule_gets_an_oracle_check(monkeypatch):
    """``verify --with`` / ``check``: the suite of a variant includes its oracle check, and it
    catches the planted bug with no access to the variant's code beyond what the rule declares."""
    bug = planted.KERNEL_BUGS["ema_undamped"]
    monkeypatch.setitem(ALGORITHMS, bug.name, bug)
    specs = [s for s in build_suite("quick", algorithms=[bug]) if s.test == "oracle"]
    assert len(specs) == 1 and specs[0].algorithm is bug
    assert run_check(specs[0], ALPHA_SINGLE)["verdict"] == "FAIL"
    nonlinear = [s for s in build_suite("quick", algorithms=[ALGORITHMS["async_adam"]])
                 if s.test == "oracle"]
    assert nonlinear == []
