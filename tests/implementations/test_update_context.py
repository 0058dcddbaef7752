"""Issue 16: rules that see their update context, and discarded updates (reference backend;
the processes backend is in test_update_context_processes.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from asyncbound.checks import measure
from asyncbound.implementations.backends import run
from asyncbound.implementations.patterns import make_pattern
from asyncbound.implementations.registry import AlgorithmSpec
from asyncbound.implementations.rules import FunctionalRule, delay_adaptive_sgd, sgd
from asyncbound.implementations.rules.base import UpdateContext

SEEN: list = []


def recording_rule(*, lr: float):
    """SGD that records the context it receives (module level: the registry needs a factory)."""
    def step(grad, state, t, ctx):
        SEEN.append((ctx.staleness.clone(), ctx.k.clone(), ctx.worker, ctx.K, ctx.n_workers))
        return -lr * grad, state
    return FunctionalRule("recording", lambda x: {}, step, {"lr": lr}, wants_context=True)


def keep_fresh_rule(*, lr: float, R: int = 2):
    def step(grad, state, t, ctx):
        return -lr * grad, state, ctx.staleness < R
    return FunctionalRule("keep_fresh", lambda x: {}, step, {"lr": lr, "R": R}, wants_context=True)


def _algo(name, factory, **defaults):
    return AlgorithmSpec(name, factory, "full", {"lr": 0.05, **defaults})


def test_context_rule_receives_the_staleness_the_trace_records():
    SEEN.clear()
    S, K, W = 5, 120, 4
    tr = run(_algo("rec", recording_rule), "quadratic", "uniform:6", K, S, workers=W)
    assert len(SEEN) == K
    st = torch.stack([s for s, *_ in SEEN]).T.reshape(-1).numpy()  # seed-major like the trace
    assert np.array_equal(st, tr.staleness)
    assert tr.staleness.max() > 0 and len(np.unique(st)) > 2  # the rule saw varying delays
    ks = torch.stack([k for _, k, *_ in SEEN]).T.reshape(-1).numpy()
    assert np.array_equal(ks, tr["write_version"])
    assert [w for _, _, w, _, _ in SEEN] == tr["worker"][:K].tolist()
    assert {(K_, n) for *_, K_, n in SEEN} == {(K, W)}


def test_context_rule_on_a_virtual_schedule_whose_workers_differ_across_seeds():
    """Seeds are then processed in groups (rows); each group's context is its rows' staleness."""
    SEEN.clear()
    tr = run(_algo("rec", recording_rule), "quadratic", "virtual:speeds=1,2,3,5,jitter=0.5", 80, 3,
             workers=4)
    assert sum(len(s) for s, *_ in SEEN) == 80 * 3
    assert sorted(np.concatenate([s.numpy() for s, *_ in SEEN]).tolist()) == \
        sorted(tr.staleness.tolist())


def test_delay_adaptive_step_is_lr_min_one_tau_c_over_tau():
    rule = delay_adaptive_sgd(lr=0.1, tau_c=2.0)
    g = torch.ones(4, 3, dtype=torch.float64)
    st = torch.tensor([0, 2, 4, 8])
    ctx = UpdateContext(st, 0, torch.zeros(4, dtype=torch.int64), 10, 4, 1, 1)
    delta, _ = rule.step(g, {}, 1, ctx)
    assert torch.allclose(delta[:, 0], -torch.tensor([0.1, 0.1, 0.05, 0.025], dtype=torch.float64))


def test_context_rule_without_a_context_is_an_error_not_plain_sgd():
    rule = delay_adaptive_sgd(lr=0.1)
    with pytest.raises(ValueError, match="wants the update context"):
        rule.step(torch.ones(1, 3), {}, 1)
    pat = make_pattern("full", rule, 3, 2)
    st = pat.init_states(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="needs the update context"):
        pat.step(torch.ones(1, 3), st.workers[0], st.shared, t_local=1, t_global=1)


def test_discard_above_validated_and_only_where_a_pattern_can_discard():
    with pytest.raises(ValueError, match="discard_above"):
        make_pattern("full", sgd(lr=0.1), 3, 2, discard_above=-1)
    pat = make_pattern("partition", keep_fresh_rule(lr=0.1), 4, 2)
    st = pat.init_states(torch.zeros(1, 4))
    ctx = UpdateContext(torch.tensor([5]), 0, torch.tensor([5]), 10, 2, 1, 6)
    with pytest.raises(ValueError, match="cannot discard"):
        pat.update(torch.ones(1, 4), st.workers[0], st.shared, t_local=1, t_global=6, block=0,
                   ctx=ctx)


@pytest.mark.parametrize("how", ["rule_keep", "discard_above"])
def test_a_discarded_update_leaves_no_write_and_no_version_bump(how):
    algo = (_algo("kf", keep_fresh_rule, R=2) if how == "rule_keep"
            else _algo("da", lambda **kw: sgd(**kw), discard_above=1))
    S, K = 4, 300
    tr = run(algo, "quadratic", "virtual:speeds=1,1,4,jitter=0.3", K, S, workers=3, eval_every=1)
    d = tr["discarded"]
    assert 0 < d.sum() < len(d)
    assert tr.staleness[d].min() >= 2 and tr.staleness[~d].max() <= 1
    for s in range(S):
        m = tr["seed"] == s
        wv, ds, loss = tr["write_version"][m], d[m], tr["loss"][m]
        # versions count applied updates: +1 after an applied row, +0 after a discarded one
        assert np.array_equal(np.diff(wv), (~ds[:-1]).astype(int))
        # x is unchanged by a discarded row: the loss after it equals the loss before it
        idx = np.nonzero(ds[1:])[0] + 1
        assert np.array_equal(loss[idx], loss[idx - 1])
    # the estimators see applied rows only; throughput shows the wasted compute
    assert measure.staleness_summary(tr)["tau_max"] <= 1
    thr = measure.throughput(tr)
    assert thr["discarded_fraction"] == pytest.approx(d.mean())
    assert thr["updates_per_s"] < thr["gradients_per_s"]


def test_ringmaster_without_stale_gradients_is_hogwild_sgd_exactly():
    a = run("ringmaster_asgd", "quadratic", "uniform:2", 200, 3, workers=4)
    b = run("hogwild_sgd", "quadratic", "uniform:2", 200, 3, workers=4)
    assert not a["discarded"].any()
    assert np.array_equal(a["loss"], b["loss"], equal_nan=True)
    assert np.array_equal(a.final_params, b.final_params)


def test_delay_adaptive_equals_hogwild_while_delays_stay_below_tau_c():
    a = run("delay_adaptive_sgd", "quadratic", "uniform:3", 200, 3, workers=4, tau_c=3.0)
    b = run("hogwild_sgd", "quadratic", "uniform:3", 200, 3, workers=4)
    assert np.allclose(a.final_params, b.final_params, rtol=0, atol=1e-12)
    c = run("delay_adaptive_sgd", "quadratic", "uniform:3", 200, 3, workers=4, tau_c=1.0)
    assert not np.allclose(c.final_params, b.final_params)  # steps shrink for tau > 1


def test_backends_declare_where_they_pass_the_context_and_refuse_elsewhere():
    from asyncbound.implementations.backends import CAPABILITIES, distributed

    assert "full" in CAPABILITIES["processes"].context_patterns
    assert "master_worker" not in CAPABILITIES["processes"].context_patterns
    # the parameter server runs the rule at the master, except the sparse patterns' top-k
    assert set(CAPABILITIES["distributed"].context_patterns) == {"full", "master_worker", "sync"}
    every = ("reference", "processes", "distributed")
    algo = AlgorithmSpec("ps_da", delay_adaptive_sgd, "master_worker", {"lr": 0.1}, every)
    with pytest.raises(ValueError, match="does not pass on pattern 'master_worker'"):
        run(algo, "quadratic", "none", 10, 1, backend="processes")
    assert run(algo, "quadratic", "uniform:2", 20, 2).complete  # the reference passes it
    topk_da = AlgorithmSpec("topk_da", delay_adaptive_sgd, "sparse", {"lr": 0.1}, every)
    with pytest.raises(ValueError, match="does not pass on pattern 'sparse'"):
        run(topk_da, "quadratic", "none", 10, 1, backend="distributed")
    # the torchrun entry validates through prepare, without the entrance (before any rank starts)
    with pytest.raises(ValueError, match="does not pass on pattern 'sparse'"):
        distributed.prepare(topk_da, "quadratic", None, 10, [0], workers=2)
    with pytest.raises(ValueError, match="runs it instrumented"):  # discards live in the rows
        distributed.prepare("ringmaster_asgd", "quadratic", None, 10, [0], workers=2,
                            instrument=False)


def test_replay_of_a_trace_with_discards_reproduces_it(tmp_path):
    from asyncbound.implementations.backends import replay

    tr = run("ringmaster_asgd", "quadratic", "virtual:speeds=1,1,4,jitter=0.5", 150, 3, workers=3,
             discard_above=1, seed=2)
    assert tr["discarded"].any()
    tr.write(tmp_path)
    again = replay(tmp_path)
    assert np.array_equal(again["discarded"], tr["discarded"])
    np.testing.assert_array_equal(again.staleness, tr.staleness)
    assert np.array_equal(again.final_params, tr.final_params)
