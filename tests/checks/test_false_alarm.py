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


def test_split_runs_merge_into_the_whole(tmp_path):
    import json

    from asyncbound.checks.false_alarm import main, merge

    only = "minibatch_sgd--classic_delayed_sgd-strongly_convex"
    a, b = measure(1, only=only, first=1), measure(1, only=only, first=2)
    both = merge([a, b])
    assert both["batches"] == 2 and both["batches_run"] == [[1, 1], [2, 2]]
    assert sum(next(iter(both["per_check"].values())).values()) == 2
    # overlapping ranges are refused, with a one-line error and exit 2 from the CLI
    fa = tmp_path / "a.json"
    fa.write_text(json.dumps(a))
    out = tmp_path / "m.json"
    assert main(["--merge", str(fa), str(fa), "--out", str(out)]) == 2
    assert not out.exists()
