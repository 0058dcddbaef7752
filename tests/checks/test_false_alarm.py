"""The false-alarm measurement runs and counts (one small batch; the real number is in the docs)."""

from __future__ import annotations

from asyncbound.checks.false_alarm import measure


def test_measure_counts_verdicts_over_batches():
    res = measure(2, only="hogwild_sgd--classic_delayed_sgd-strongly_convex", progress=None)
    assert res["batches"] == 2 and res["checks_per_batch"] == 1
    (counts,) = res["per_check"].values()
    assert sum(counts.values()) == 2
    assert res["failing_check_runs"] == 0
    assert 0 < res["per_check_rate_upper95"] < 1
