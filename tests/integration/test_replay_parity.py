"""Replay parity: a real run's recorded interleaving, replayed by the reference backend.

- locked mode: bit-for-bit identical parameters and rule state (reads and writes serialised);
- lock-free: within the derived bound of ``implementations.backends._tolerance`` (racing
  updates only; exact when no two updates' windows overlapped);
- one worker on `processes` equals the reference backend exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from asyncbound.implementations.backends import replay
from asyncbound.implementations.backends import run as backend_run
from asyncbound.implementations.backends._tolerance import lockfree_replay_tolerance
from asyncbound.implementations.problems import get_problem

pytestmark = [pytest.mark.multiprocess]


def _states_equal(a, b):
    assert len(a.workers) == len(b.workers)
    for wa, wb in zip(a.workers, b.workers, strict=True):
        assert set(wa) == set(wb)
        for k in wa:
            torch.testing.assert_close(wa[k], wb[k], rtol=0, atol=0)
    assert set(a.shared) == set(b.shared)
    for k in a.shared:
        torch.testing.assert_close(a.shared[k], b.shared[k], rtol=0, atol=0)


def _check_versions(tr, steps):
    wv = tr["write_version"]
    assert np.array_equal(np.sort(wv), np.arange(steps)), "write versions must be 0..K-1"
    assert np.array_equal(tr["update"], np.arange(steps))
    assert (tr["read_version"] <= wv).all() and (tr["read_version"] >= 0).all()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("algorithm,options", [
    ("hogwild_sgd", {"momentum": 0.5}),
    ("passm", {}),
    ("apam", {}),
])
def test_locked_replay_is_exact(algorithm, options):
    steps = 240
    tr = backend_run(algorithm, "quadratic", None, steps, [5], backend="processes", workers=2,
                     lock=True, dim=12, **options)
    assert tr.complete and tr.meta["error"] is None
    _check_versions(tr, steps)
    rp = replay(tr)
    np.testing.assert_array_equal(np.asarray(tr.final_params), np.asarray(rp.final_params))
    _states_equal(tr.final_state, rp.final_state)
    np.testing.assert_array_equal(tr["sgrad_norm_sq"], rp["sgrad_norm_sq"])


@pytest.mark.timeout(180)
def test_one_worker_processes_equals_reference():
    steps = 150
    tr = backend_run("hogwild_sgd", "quadratic", None, steps, [2], backend="processes",
                     workers=1, dim=10, momentum=0.9, lr=0.05)
    ref = backend_run("hogwild_sgd", "quadratic", "none", steps, [2], backend="reference",
                      workers=1, dim=10, momentum=0.9, lr=0.05)
    assert (tr["staleness"] == 0).all()
    np.testing.assert_array_equal(np.asarray(tr.final_params), np.asarray(ref.final_params))
    _states_equal(tr.final_state, ref.final_state)
    ok = ~np.isnan(tr["loss"])
    np.testing.assert_array_equal(tr["loss"][ok], ref["loss"][ok])


@pytest.mark.timeout(180)
def test_lockfree_replay_within_derived_tolerance():
    """Lock-free Hogwild: ||x_real - x_replay|| <= the racing-update bound (0 if no races)."""
    steps, lr = 300, 0.01
    prob = get_problem("quadratic", dim=16, seed=1)
    tr = backend_run("hogwild_sgd", prob, None, steps, [1], backend="processes", workers=2,
                     lock_free=True, lr=lr, eval_every=1)
    assert tr.complete
    _check_versions(tr, steps)
    tol = lockfree_replay_tolerance(tr, L=prob.constants["L"], lr=lr)
    rp = replay(tr, problem=prob, eval_every=1)
    diff = float(np.linalg.norm(np.asarray(tr.final_params) - np.asarray(rp.final_params)))
    # 1e-12: float64 rounding of the bound's own arithmetic, nothing else
    assert diff <= tol["bound"] + 1e-12, (diff, tol)
    if tol["n_racing"] == 0:
        assert diff == 0.0
    # before the first race nothing can differ: the snapshots' losses match bit for bit
    j0 = tol["first_race"]
    np.testing.assert_array_equal(tr["loss"][:j0], rp["loss"][:j0])
