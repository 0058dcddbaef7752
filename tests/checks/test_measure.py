"""Estimators on hand-built traces (values computed by hand)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from asyncbound.checks import measure


def frame(rows):
    cols = ["seed", "update", "worker", "block", "read_version", "write_version", "staleness",
            "wall_time", "loss", "grad_norm_sq", "sgrad_norm_sq", "view_gap", "ef_residual"]
    df = pd.DataFrame(rows, columns=cols[: len(rows[0])])
    for c in cols:
        if c not in df:
            df[c] = np.nan
    return df


@pytest.fixture
def trace():
    # 2 seeds x 4 updates, 2 workers; staleness = write - read
    rows = []
    for s in (0, 1):
        for k, (w, b, r) in enumerate([(0, 0, 0), (1, 1, 0), (0, 0, 1), (1, 1, 1)]):
            rows.append((s, k, w, b, r, k, k - r, 0.5 * (k + 1), 4.0 - k + s, 1.0 / (k + 1) + s,
                         2.0 + s, 0.1 * (k - r) * (s + 1), math.nan))
    return frame(rows)


def test_staleness_summary(trace):
    st = measure.staleness_summary(trace)
    assert st["tau_max"] == 2
    assert st["tau_avg"] == pytest.approx((0 + 1 + 1 + 2) / 4)
    assert st["per_worker"]["0"] == {"tau_max": 1, "tau_avg": 0.5, "n": 4}
    assert st["per_worker"]["1"]["tau_max"] == 2
    assert st["per_block"]["1"]["tau_avg"] == pytest.approx(1.5)


def test_staleness_histograms(trace):
    h = measure.staleness_histograms(trace)
    assert h["1"] == {"values": [1, 2], "counts": [2, 2]}


def test_view_gap_and_elastic_B(trace):
    mat, it = measure.view_gap_matrix(trace)
    assert mat.shape == (2, 4) and list(it) == [0, 1, 2, 3]
    assert mat[1, 3] == pytest.approx(0.4)
    B = measure.elastic_B_samples(trace, eta=0.1)
    # max_t mean over seeds of gap / eta: t = 3, gaps 0.2 and 0.4 -> 0.3 / 0.1
    assert np.max(B.mean(axis=0)) == pytest.approx(3.0)


def test_grad_moments(trace):
    m = measure.grad_second_moment(trace)
    assert m["M2_max"] == pytest.approx(2.5) and m["M2_mean"] == pytest.approx(2.5)
    # sigma^2 ~ mean(||g||^2 - ||grad f||^2) over evaluated rows
    expect = np.mean([2.0 + s - (1.0 / (k + 1) + s) for s in (0, 1) for k in range(4)])
    assert measure.grad_noise_variance(trace) == pytest.approx(expect)


def test_block_frequencies(trace):
    bf = measure.block_frequencies(trace)
    assert bf["p_min"] == pytest.approx(0.5) and bf["n_blocks"] == 2
    whole = trace.assign(block=-1)
    assert measure.block_frequencies(whole)["p_min"] == 1.0


def test_evaluated_columns_drop_unevaluated_points(trace):
    t = trace.copy()
    t.loc[t["update"] % 2 == 0, "loss"] = np.nan
    mat, it = measure.evaluated(t, "loss")
    assert list(it) == [1, 3] and mat.shape == (2, 2)
    assert mat[0, 0] == pytest.approx(3.0)


def test_metric_reductions():
    mat = np.array([[3.0, 1.0, 2.0], [4.0, 5.0, 0.5]])
    assert measure.running_min(mat).tolist() == [[3.0, 1.0, 1.0], [4.0, 4.0, 0.5]]
    assert measure.per_seed_average(mat).tolist() == pytest.approx([2.0, 9.5 / 3])
    assert measure.final_values(mat).tolist() == [2.0, 0.5]


def test_divergence_evidence(trace):
    assert measure.divergence(trace) is None
    bad = trace.copy()
    bad.loc[5, "loss"] = math.inf
    ev = measure.divergence(bad)
    assert ev["column"] == "loss" and ev["update"] == 1 and ev["seed"] == 1
    huge = trace.copy()
    huge.loc[2, "grad_norm_sq"] = 1e200
    assert measure.huge(huge)["column"] == "grad_norm_sq"


def test_throughput(trace):
    # per seed: 4 updates over a wall span of 1.5 s
    assert measure.throughput(trace)["updates_per_s"] == pytest.approx(4 / 1.5)


def test_accepts_a_trace_object(trace):
    from asyncbound.implementations.trace import Trace

    t = Trace({c: trace[c].to_numpy() for c in trace.columns if c != "staleness"})
    assert measure.staleness_summary(t)["tau_max"] == 2
