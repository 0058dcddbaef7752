"""Issue 16 on the distributed backend: the master passes the update context and honours
discards, and every such run replays bit for bit on the reference (gloo on 127.0.0.1).

The rules here live at module level: the master (a spawned rank) unpickles them by name."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest
import torch
from asyncbound.implementations.backends import distributed, replay, run
from asyncbound.implementations.registry import AlgorithmSpec
from asyncbound.implementations.rules import FunctionalRule

from tests.implementations.test_distributed_backend import _same_state

pytestmark = [pytest.mark.distributed, pytest.mark.multiprocess]
ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("reference", "processes", "distributed")
#: every launch here ends in seconds; these bound a hung rank instead of the suite's timeout
LIMITS = dict(timeout=90.0, hang_timeout=30.0, start_timeout=60.0, pg_timeout=60.0)


def context_summing_sgd(*, lr: float):
    """SGD whose state sums what its context reports (staleness, k, worker, both clocks)."""
    keys = ("tau", "k", "worker", "t_local", "t_global", "n")

    def init(x):
        return {key: torch.zeros_like(x[..., :1], dtype=torch.float64) for key in keys}

    def step(grad, state, t, ctx):
        seen = {"tau": ctx.staleness, "k": ctx.k, "worker": ctx.worker, "t_local": ctx.t_local,
                "t_global": ctx.t_global, "n": 1}
        new = {key: state[key] + torch.as_tensor(seen[key], dtype=torch.float64).reshape(-1, 1)
               for key in keys}
        return -lr * grad, new

    return FunctionalRule("context_summing_sgd", init, step, {"lr": lr}, wants_context=True)


def _example(name: str):
    from asyncbound.checks.variant import load_variant

    return load_variant(ROOT / "examples" / f"{name}.py", backends=BACKENDS).algorithm


def _replays_exactly(tr, algo):
    """The reference, fed this run's recorded interleaving, makes the same run bit for bit."""
    rp = replay(tr, algorithm=algo)
    np.testing.assert_array_equal(rp["discarded"], tr["discarded"])
    np.testing.assert_array_equal(rp.staleness, tr.staleness)
    np.testing.assert_array_equal(rp["sgrad_norm_sq"], tr["sgrad_norm_sq"])
    np.testing.assert_array_equal(np.asarray(rp.final_params), np.asarray(tr.final_params))
    _same_state(tr.final_state, rp.final_state)
    ev = np.isfinite(tr["loss"])  # the real run evaluates the versions it snapshotted
    assert ev.sum() >= 2
    np.testing.assert_array_equal(rp["loss"][ev], tr["loss"][ev])
    return rp


@pytest.mark.timeout(180)
def test_delay_adaptive_example_on_distributed_replays_exactly_and_its_context_matters():
    algo = _example("variant_delay_adaptive")
    # c = 0.05: eta = lr only while tau <= 1; three workers make tau = 2 the typical staleness
    tr = run(algo, "quadratic", None, 150, [4], backend="distributed", workers=3, dim=8, c=0.05,
             straggler="1,1,3", eval_every=10, **LIMITS)
    assert tr.complete and tr.meta["backend"] == "distributed" and len(tr) == 150
    assert not tr["discarded"].any() and (tr.staleness >= 2).any()
    _replays_exactly(tr, algo)
    # the same interleaving without the context (plain SGD at lr): another run, so the steps
    # above were shaped by the staleness the master passed
    from asyncbound.implementations.problems import get_problem
    from asyncbound.implementations.schedule import Schedule

    plain = replay(Schedule.from_trace(tr), algorithm="hogwild_sgd", seed=4, lr=0.05,
                   problem=get_problem("quadratic", dim=8, seed=4), workers=3)
    assert np.array_equal(plain.staleness, tr.staleness)
    assert not np.array_equal(np.asarray(plain.final_params), np.asarray(tr.final_params))
    assert multiprocessing.active_children() == []


@pytest.mark.timeout(180)
@pytest.mark.parametrize("pattern", ["full", "master_worker"])
def test_the_rule_receives_the_context_the_trace_records(pattern):
    """Per-worker (full) or master (master_worker) state sums the context it was given."""
    algo = AlgorithmSpec(f"ctx_sum_{pattern}", context_summing_sgd, pattern, {"lr": 0.05}, BACKENDS)
    tr = distributed.run(algo, "quadratic", None, 120, [1], workers=3, dim=6, straggler="1,1,3",
                         **LIMITS)
    assert tr.complete and tr.staleness.max() > 0
    states = tr.final_state.workers if pattern == "full" else [tr.final_state.shared]
    rows = [tr["worker"] == w for w in range(3)] if pattern == "full" else [tr["worker"] >= 0]
    for state, mine in zip(states, rows, strict=True):
        got = {key: int(v.item()) for key, v in state.items()}
        counts = [int((mine & (tr["worker"] == w)).sum()) for w in range(3)]
        assert got["n"] == int(mine.sum())
        assert got["tau"] == int(tr.staleness[mine].sum())
        assert got["k"] == int(tr["write_version"][mine].sum())
        assert got["t_global"] == int((tr["write_version"][mine] + 1).sum())
        assert got["worker"] == int(tr["worker"][mine].sum())
        assert got["t_local"] == sum(n * (n + 1) // 2 for n in counts)  # 1..n_w per worker
    _replays_exactly(tr, algo)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("how", ["discard_above", "rule_keep"])
def test_discards_write_nothing_and_replay_exactly(how):
    if how == "discard_above":  # the built-in Ringmaster ASGD: staleness > 1 is discarded
        algo, opts, R = "ringmaster_asgd", dict(discard_above=1), 2
    else:  # the example's rule returns keep = staleness < R
        algo, opts, R = _example("variant_discard_stale"), dict(R=2), 2
    tr = distributed.run(algo, "quadratic", None, 150, [2], workers=3, dim=8, straggler="1,1,3",
                         eval_every=1, view_gap=True, **opts, **LIMITS)
    d = tr["discarded"]
    assert tr.complete and len(tr) == 150 and 0 < d.sum() < len(d)
    assert tr.meta["updates_applied"] == int((~d).sum())
    assert tr.staleness[d].min() >= R and tr.staleness[~d].max() < R
    wv = tr["write_version"]
    assert np.array_equal(np.diff(wv), (~d[:-1]).astype(int))  # no version bump when discarded
    # no new version: nothing snapshotted at these rows (the last row carries the final
    # evaluation of the run, discarded or not)
    assert np.isnan(tr["loss"][:-1][d[:-1]]).all()
    rp = _replays_exactly(tr, algo)
    # the master's ||x_k - x_read|| (it keeps the versions a worker may still read) is exact
    np.testing.assert_array_equal(rp["view_gap"], tr["view_gap"])
