"""Issue 16 on the processes backend: the context a rule receives and discarded updates."""

from __future__ import annotations

import numpy as np
import pytest
from asyncbound.implementations.backends import processes

pytestmark = [pytest.mark.multiprocess]


@pytest.mark.timeout(240)
def test_processes_discards_without_writing_and_measures_tau_over_applied_updates():
    tr = processes.run("ringmaster_asgd", "quadratic", "virtual:speeds=1,1,4", 240, 1, workers=3,
                       discard_above=1, eval_every=1)
    d = tr["discarded"]
    assert tr.meta["complete"] and tr.meta["backend_config"]["lock"] is True
    assert len(tr) == 240 and tr.meta["updates_applied"] == int((~d).sum())
    assert d.any() and tr.staleness[d].min() >= 2 and tr.staleness[~d].max() <= 1
    wv = tr["write_version"]
    assert np.array_equal(np.diff(wv), (~d[:-1]).astype(int))  # no version bump when discarded
    # the run's last x is the state after the last applied update (evaluated at the last row)
    assert np.isfinite(tr["loss"][-1])


def tau_summing_sgd(*, lr: float):
    """SGD whose (per-worker) state sums the staleness its context reports."""
    import torch
    from asyncbound.implementations.rules import FunctionalRule

    def step(grad, state, t, ctx):
        tau = ctx.staleness.to(grad.dtype).reshape(-1, 1)
        return -lr * grad, {"tau_sum": state["tau_sum"] + tau, "n": state["n"] + 1}

    def init(x):
        return {"tau_sum": torch.zeros_like(x[..., :1]), "n": torch.zeros_like(x[..., :1])}

    return FunctionalRule("tau_summing_sgd", init, step, {"lr": lr}, wants_context=True)


@pytest.mark.timeout(240)
def test_processes_context_rule_receives_the_staleness_the_trace_records():
    from asyncbound.implementations.registry import AlgorithmSpec

    algo = AlgorithmSpec("tau_summing", tau_summing_sgd, "full", {"lr": 0.05},
                         ("reference", "processes"))
    tr = processes.run(algo, "quadratic", "virtual:speeds=1,1,4", 200, 1, workers=3)
    assert tr.meta["complete"] and tr.meta["backend_config"]["lock"] is True
    assert tr.staleness.max() > 0
    for w, state in enumerate(tr.final_state.workers):
        mine = tr["worker"] == w
        assert int(state["n"].item()) == int(mine.sum())
        assert int(state["tau_sum"].item()) == int(tr.staleness[mine].sum())
    with pytest.raises(ValueError, match="locked and instrumented"):
        processes.run("delay_adaptive_sgd", "quadratic", None, 50, 1, workers=2, lock_free=True)


@pytest.mark.timeout(240)
def test_processes_discards_under_max_delay_injection_do_not_block_the_writers():
    """A discarded gradient must release its in-flight read (regression: the run hung)."""
    for seed in range(3):  # discard_above = 0: most gradients are discarded, last ones too
        tr = processes.run("ringmaster_asgd", "quadratic", "uniform:4", 200, 1, workers=4,
                           discard_above=0, hang_timeout=20.0, timeout=60.0, seed=seed)
        d = tr["discarded"]
        assert tr.meta["complete"] and len(tr) == 200 and d.any()
        assert tr.staleness[~d].max() == 0 and tr.staleness.max() <= 4
