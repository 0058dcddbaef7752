"""The suite covers every registered algorithm and every bound, with unique ids."""

from __future__ import annotations

from checks import suite


def test_quick_suite_covers_everything():
    import theory
    from implementations.registry import ALGORITHMS

    specs = suite.build_suite("quick")
    ids = [s.check_id for s in specs]
    assert len(ids) == len(set(ids))
    assert {s.algorithm_name for s in specs} >= set(ALGORITHMS) - {n for n in ALGORITHMS if "__" in n}
    assert {s.bound for s in specs} >= set(theory.BOUNDS)
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
