"""Fault handling of the real backends: a worker that raises or hangs ends the run promptly,
with an error naming the worker and the cause, a partial trace marked incomplete, and no
child process left behind."""

from __future__ import annotations

import multiprocessing
import os

import numpy as np
import pytest
from asyncbound.implementations.backends import distributed, processes
from asyncbound.implementations.backends._faults import BackendRunError

pytestmark = [pytest.mark.multiprocess]


def _assert_no_orphans(trace):
    assert multiprocessing.active_children() == []
    for pid in trace.meta["pids"].values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # signal 0: existence check only


def _assert_partial(trace, steps):
    assert trace.meta["complete"] is False and trace.meta["error"]
    assert len(trace) < steps
    wv = np.sort(trace["write_version"])
    assert np.array_equal(wv, np.arange(len(wv)))  # the rows kept are the first updates


@pytest.mark.timeout(120)
def test_processes_worker_raises():
    steps = 100_000
    with pytest.raises(BackendRunError) as info:
        processes.run("hogwild_sgd", "quadratic", None, steps, [0], workers=2, dim=8,
                      _fault={"worker": 1, "after": 5, "kind": "raise"})
    err = info.value
    assert err.who == "worker 1"
    assert "worker 1" in str(err) and "RuntimeError" in str(err) and "injected fault" in str(err)
    tr = err.trace
    assert tr.meta["ended_after_s"] < 10.0
    _assert_partial(tr, steps)
    assert (tr["worker"] == 1).sum() == 5
    _assert_no_orphans(tr)


@pytest.mark.timeout(120)
def test_processes_worker_hangs():
    steps = 100_000
    tr = processes.run("apam", "quadratic", None, steps, [0], workers=2, dim=8,
                       hang_timeout=2.0, raise_on_error=False,
                       _fault={"worker": 0, "after": 3, "kind": "hang"})
    assert tr.meta["failed"] == "worker 0"
    assert "worker 0 hung" in tr.meta["error"] and "hang_timeout=2.0" in tr.meta["error"]
    assert tr.meta["ended_after_s"] < 10.0
    _assert_partial(tr, steps)
    _assert_no_orphans(tr)


@pytest.mark.timeout(120)
def test_processes_run_timeout():
    tr = processes.run("hogwild_sgd", "quadratic", None, 10_000_000, [0], workers=2, dim=8,
                       timeout=1.5, raise_on_error=False)
    assert "timed out" in tr.meta["error"] and tr.meta["complete"] is False
    _assert_no_orphans(tr)


@pytest.mark.distributed
@pytest.mark.timeout(150)
def test_distributed_worker_raises():
    steps = 100_000
    with pytest.raises(BackendRunError) as info:
        distributed.run("ps_sgd", "quadratic", None, steps, [0], workers=2, dim=8,
                        _fault={"worker": 1, "after": 4, "kind": "raise"})
    err = info.value
    assert err.who == "worker 1" and "injected fault" in str(err)
    assert err.trace.meta["ended_after_s"] < 10.0
    _assert_partial(err.trace, steps)
    assert (err.trace["worker"] == 1).sum() == 4
    _assert_no_orphans(err.trace)


@pytest.mark.distributed
@pytest.mark.timeout(150)
def test_distributed_worker_hangs():
    steps = 100_000
    tr = distributed.run("apam", "quadratic", None, steps, [0], workers=1, dim=8,
                         hang_timeout=2.0, raise_on_error=False,
                         _fault={"worker": 0, "after": 3, "kind": "hang"})
    assert tr.meta["failed"] == "master"
    assert "[0] hung" in tr.meta["error"] and "hang_timeout=2.0" in tr.meta["error"]
    assert tr.meta["ended_after_s"] < 10.0
    _assert_partial(tr, steps)
    _assert_no_orphans(tr)
