"""The `distributed` backend: a gloo parameter server on loopback (rank 0 = master)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from asyncbound.implementations.backends import distributed, replay
from asyncbound.implementations.trace import Trace

pytestmark = [pytest.mark.distributed, pytest.mark.multiprocess]
ROOT = Path(__file__).resolve().parents[2]


def _check_versions(tr, steps):
    wv = tr["write_version"]
    assert np.array_equal(np.sort(wv), np.arange(steps))
    assert (tr["read_version"] <= wv).all() and (tr["read_version"] >= 0).all()


def _same_state(a, b):
    for wa, wb in zip(a.workers, b.workers, strict=True):
        for k in wa:
            torch.testing.assert_close(wa[k], wb[k], rtol=0, atol=0)
    for k in a.shared:
        torch.testing.assert_close(a.shared[k], b.shared[k], rtol=0, atol=0)


@pytest.mark.timeout(180)
def test_apam_gloo_two_workers_exact_staleness_and_replay():
    steps = 200
    tr = distributed.run("apam", "quadratic", None, steps, [3], workers=2, dim=8, view_gap=True)
    assert tr.complete and tr.meta["backend_config"]["process_group"] == "gloo"
    assert tr.meta["backend_config"]["init_method"].startswith("tcp://127.0.0.1:")
    _check_versions(tr, steps)
    assert set(np.unique(tr["worker"])) == {0, 1}
    # a worker's next gradient is computed at the x the master sent it: with 2 workers the
    # staleness is the number of the other worker's updates in between, >= 0 and mostly 1
    assert tr["staleness"].max() >= 1
    rp = replay(tr)   # the worker computed at exactly x_{read_version}: replay is exact
    np.testing.assert_array_equal(np.asarray(tr.final_params), np.asarray(rp.final_params))
    _same_state(tr.final_state, rp.final_state)
    # the master's ||x_k - x_read||, from the versions it keeps, is the replay's view gap
    np.testing.assert_array_equal(np.asarray(tr["view_gap"]), np.asarray(rp["view_gap"]))
    assert (np.asarray(tr["view_gap"])[tr["staleness"] == 0] == 0).all()
    assert (np.asarray(tr["view_gap"])[tr["staleness"] > 0] > 0).all()
    assert multiprocessing.active_children() == []


@pytest.mark.timeout(180)
def test_topk_ef_sends_values_and_indices_and_replays_exactly():
    steps = 150
    tr = distributed.run("async_topk_ef", "quadratic", None, steps, [1], workers=2, dim=12)
    _check_versions(tr, steps)
    assert np.isfinite(tr["ef_residual"]).all()
    rp = replay(tr)
    np.testing.assert_array_equal(np.asarray(tr.final_params), np.asarray(rp.final_params))
    _same_state(tr.final_state, rp.final_state)   # error-feedback memory included


@pytest.mark.timeout(180)
def test_hogwild_full_pattern_keeps_each_workers_momentum_at_the_master_and_replays_exactly():
    """``full`` on a parameter server: worker w's momentum lives at the master, which applies
    w's gradient with it and w's own clock; the final per-worker states come back (parity)."""
    steps = 150
    tr = distributed.run("hogwild_sgd", "quadratic", None, steps, [5], workers=3, dim=8,
                         momentum=0.5, straggler="1,1,3", timeout=90.0, hang_timeout=30.0)
    assert tr.complete and tr.meta["pattern"] == "full"
    _check_versions(tr, steps)
    assert set(np.unique(tr["worker"])) == {0, 1, 2} and tr["staleness"].max() >= 1
    rp = replay(tr)
    np.testing.assert_array_equal(np.asarray(tr.final_params), np.asarray(rp.final_params))
    _same_state(tr.final_state, rp.final_state)
    assert all(float(ws["momentum"].abs().sum()) > 0 for ws in tr.final_state.workers)


@pytest.mark.timeout(180)
def test_sync_minibatch_has_zero_staleness():
    tr = distributed.run("minibatch_sgd", "quadratic", None, 60, [0], workers=2, dim=8,
                         straggler="1,2")
    assert (tr["staleness"] == 0).all() and (tr["worker"] == -1).all()
    ref = __import__("asyncbound.implementations.backends", fromlist=["run"]).run(
        "minibatch_sgd", "quadratic", "none", 60, [0], workers=2, dim=8)
    np.testing.assert_array_equal(np.asarray(tr.final_params), np.asarray(ref.final_params))


@pytest.mark.timeout(180)
def test_torchrun_entry_point(tmp_path):
    out = tmp_path / "trace"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    port = distributed.free_port()
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "3",
           "--master-addr", "127.0.0.1", "--master-port", str(port),
           "-m", "asyncbound.implementations.backends.distributed_main", "--algorithm", "ps_sgd",
           "--dim", "8", "--steps", "80", "--seed", "2", "--out", str(out)]
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=150)
    assert res.returncode == 0, res.stderr[-2000:]
    tr = Trace.read(out)
    assert tr.complete and len(tr) == 80 and tr.meta["backend"] == "distributed"
    rp = replay(tr)
    np.testing.assert_array_equal(np.asarray(tr.final_params), np.asarray(rp.final_params))


def test_unsupported_pattern_and_delay_are_clear_errors():
    with pytest.raises(ValueError, match="passm.*pattern 'partition'"):
        distributed.run("passm", "quadratic", None, 10, [0], workers=2)
    with pytest.raises(ValueError, match="cannot be injected"):
        distributed.run("apam", "quadratic", "uniform:4", 10, [0], workers=2)
