"""The suite covers every registered algorithm and every bound, with unique ids."""

from __future__ import annotations

from asyncbound.checks import suite


def test_quick_suite_covers_everything():
    from asyncbound.implementations.registry import ALGORITHMS

    from asyncbound import theory

    specs = suite.build_suite("quick")
    ids = [s.check_id for s in specs]
    assert len(ids) == len(set(ids))
    assert {s.algorithm_name for s in specs} >= set(ALGORITHMS) - {n for n in ALGORITHMS if "__" in n}
    assert {s.bound for s in specs} | {b for s in specs for b in s.also_checks} >= set(theory.BOUNDS)
    assert {s.study for s in specs} >= {"apam_tau_sweep", "topk_ef_compare", "passm_momentum_gain",
                                        "passm_stationarity"}


def test_sync_algorithms_run_without_delay():
    specs = suite.build_suite("quick")
    assert all(s.delay == "none" for s in specs if s.algorithm_name in ("minibatch_sgd", "sync_amsgrad"))


def test_full_suite_is_bigger():
    q = {s.check_id: s for s in suite.build_suite("quick")}
    f = {s.check_id: s for s in suite.build_suite("full")}
    assert q.keys() == f.keys()
    assert all(f[k].seeds > q[k].seeds for k in q)


def test_unknown_suite_is_an_error():
    import pytest

    with pytest.raises(ValueError, match="unknown suite"):
        suite.build_suite("medium")


def test_one_measurement_is_run_once_for_the_bounds_it_decides():
    """Gratton-Toint's rate and slope share their only testable consequence (the slope proxy):
    one check per algorithm decides both and its record says so."""
    specs = suite.build_suite("quick")
    gt = [s for s in specs if s.bound.startswith("gratton_toint2026/")]
    assert gt and all(s.bound == "gratton_toint2026/rate" for s in gt)
    assert all(s.also_checks == ("gratton_toint2026/slope",) for s in gt if s.label != "unclaimed")
    assert len({s.check_id for s in gt}) == len(gt)
