"""Registry-driven conformance of every algorithm on the reference backend.

For each entry of ``ALGORITHMS``: it converges on the default quadratic; with tau = 0 and one
worker it equals a plain sequential loop of its rule; staleness respects a bounded delay model
and follows its distribution; the seed-vectorised run equals an independent per-seed loop over
the pattern kernels; replaying a recorded schedule reproduces the final parameters.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from asyncbound.implementations.backends import initial_point, replay, run
from asyncbound.implementations.delays import parse_delay
from asyncbound.implementations.patterns import block_generator, make_pattern, random_blocks
from asyncbound.implementations.problems import get_problem
from asyncbound.implementations.registry import ALGORITHMS, build_rule, split_config
from asyncbound.implementations.rules.base import UpdateContext, wants_context
from asyncbound.implementations.schedule import schedule_generator
from asyncbound.implementations.seeding import worker_generator

NAMES = list(ALGORITHMS)
CONVERGENCE_FACTOR = 10.0  # final mean loss gap must drop below 1/10 of the initial one
ALPHA = 1e-4               # false-alarm rate of each staleness chi-square test
Z_ALPHA = 3.7190           # upper 1e-4 quantile of N(0, 1) (Wilson–Hilferty critical value)


@pytest.fixture(scope="module")
def quad():
    return get_problem("quadratic", dim=10, seed=0)


def _sync(name):
    return ALGORITHMS[name].pattern == "sync"


@pytest.mark.parametrize("name", NAMES)
def test_converges_and_staleness_follows_uniform_model(name, quad):
    tau = 4
    delay = "none" if _sync(name) else f"uniform:{tau}"
    tr = run(name, quad, delay, 2000, 8, workers=4)
    assert tr.complete
    c = tr.columns
    last = c["update"] == 1999
    gap0 = np.mean(tr.meta["loss0"]) - quad.f_star
    gap = np.mean(c["loss"][last]) - quad.f_star
    assert gap < gap0 / CONVERGENCE_FACTOR, (gap, gap0)
    st = c["staleness"]
    assert st.min() >= 0 and st.max() <= (0 if _sync(name) else tau)
    cut = ALGORITHMS[name].defaults.get("discard_above")
    if cut is not None and cut < tau:
        # issue 16: versions count applied updates, so a discarding algorithm's staleness is not
        # the model's lag; what it guarantees is applied staleness <= discard_above
        assert c["discarded"].any() and st[~c["discarded"]].max() <= cut
        return
    if not _sync(name):
        x = st[c["update"] >= tau]
        counts = np.bincount(x, minlength=tau + 1)
        exp = len(x) / (tau + 1)
        stat = ((counts - exp) ** 2 / exp).sum()
        h = 2.0 / (9.0 * tau)
        assert stat < tau * (1 - h + Z_ALPHA * math.sqrt(h)) ** 3


def _plain_loop(name, prob, steps, S, base):
    """The sequential method written directly: one worker, no delay, the same streams."""
    spec = ALGORITHMS[name]
    rule_kw, pat_kw = split_config(spec, spec.config())
    rule = build_rule(spec, **rule_kw)
    x = initial_point(prob, S, base).to(prob.dtype)
    gen = worker_generator(base, 0)
    if spec.pattern != "random_blocks":
        state = rule.init(x)
        for t in range(1, steps + 1):
            ctx = (UpdateContext(torch.zeros(S, dtype=torch.int64), 0,
                                 torch.full((S,), t - 1), steps, 1, t, t)
                   if wants_context(rule) else None)  # tau = 0, one worker
            delta, state = rule.step(prob.stochastic_grad(x, gen), state, t, *([ctx] if ctx else []))
            x = prob.project(x + delta)
        return x
    table = random_blocks(prob.dim, pat_kw["n_blocks"], pat_kw["block_frac"])
    m = table.shape[1]
    bgen = block_generator(base, 0)
    probe = rule.init(x[:1, :m])
    coord = {k: rule.init(x)[k] for k, v in probe.items() if v.shape[-1] == m}
    per_block = {k: [[v.clone() for _ in range(table.shape[0])] for _ in range(S)]
                 for k, v in probe.items() if v.shape[-1] != m}
    for t in range(1, steps + 1):
        g = prob.stochastic_grad(x, gen)
        blocks = torch.randint(0, table.shape[0], (S,), generator=bgen)
        xs = []
        for s in range(S):
            j = int(blocks[s])
            idx = table[j]
            sub = {k: v[s:s + 1, idx] for k, v in coord.items()}
            sub.update({k: per_block[k][s][j] for k in per_block})
            d_blk, new = rule.step(g[s:s + 1, idx], sub, t)
            for k in coord:
                coord[k][s, idx] = new[k][0]
            for k in per_block:
                per_block[k][s][j] = new[k]
            xs_new = x[s:s + 1].clone()
            xs_new[0, idx] += d_blk[0]
            xs.append(xs_new)
        x = prob.project(torch.cat(xs))
    return x


@pytest.mark.parametrize("name", NAMES)
def test_tau_zero_equals_sequential_loop(name, quad):
    tr = run(name, quad, "none", 60, 3, workers=1, seed=7)
    expected = _plain_loop(name, quad, 60, 3, 7)
    # full-batch arithmetic is identical op for op: exact. Per-seed block loops reduce
    # (S=1, m) rows instead of (S, m) batches; allow rounding (1e-12 relative).
    tol = 1e-12 if ALGORITHMS[name].pattern == "random_blocks" else 0.0
    torch.testing.assert_close(torch.as_tensor(tr.final_params), expected, rtol=tol, atol=tol)


def _per_seed_oracle(name, prob, delay, steps, S, W, base, **overrides):
    """Independent per-seed loop over the pattern kernels (no batching, no ring buffer)."""
    spec = ALGORITHMS[name]
    rule_kw, pat_kw = split_config(spec, spec.config(**overrides))
    pattern = make_pattern(spec.pattern, build_rule(spec, **rule_kw), prob.dim, W, **pat_kw)
    sched = parse_delay(delay).schedule(steps, W, S, schedule_generator(base))
    x0 = initial_point(prob, S, base).to(prob.dtype)
    gens = [worker_generator(base, w) for w in range(W)]
    bgens = [block_generator(base, w) for w in range(W)]
    hist = [[x0[s:s + 1].clone()] for s in range(S)]
    states = [pattern.init_states(x0[s:s + 1]) for s in range(S)]
    counts = [[0] * W for _ in range(S)]
    ver = [[0] for _ in range(S)]  # applied updates before each arrival (issue 16 versions)
    for k in range(steps):
        views = torch.cat([hist[s][int(sched.read_version[s, k])] for s in range(S)])
        if spec.pattern == "sync":
            g_all = sum(prob.stochastic_grad(views, gens[w]) for w in range(W)) / W
            for s in range(S):
                delta, _, states[s].shared = pattern.step(g_all[s:s + 1], {}, states[s].shared,
                                                          t_local=k + 1, t_global=k + 1)
                hist[s].append(prob.project(hist[s][-1] + delta))
            continue
        present = sorted(set(sched.worker[:, k].tolist()))
        g = {w: prob.stochastic_grad(views, gens[w]) for w in present}
        blocks = ({w: pattern.draw_block(bgens[w], S) for w in present}
                  if pattern.random_block else {})
        for s in range(S):
            w = int(sched.worker[s, k])
            counts[s][w] += 1
            tl = counts[s][w]
            block = blocks[w][s:s + 1] if pattern.random_block else pattern.block_for(w, tl)
            r = int(sched.read_version[s, k])
            ctx = UpdateContext(torch.tensor([ver[s][k] - ver[s][r]]), w, torch.tensor([ver[s][k]]),
                                steps, W, tl, k + 1)
            delta, states[s].workers[w], states[s].shared, keep = pattern.update(
                g[w][s:s + 1], states[s].workers[w], states[s].shared, t_local=tl,
                t_global=k + 1, block=block, ctx=ctx)
            applied = keep is None or bool(keep.all())
            ver[s].append(ver[s][k] + int(applied))
            hist[s].append(prob.project(hist[s][-1] + delta) if applied else hist[s][-1])
    return torch.cat([h[-1] for h in hist])


@pytest.mark.parametrize("delay", ["uniform:3", "virtual:speeds=1,2,3,jitter=0.3"])
@pytest.mark.parametrize("name", NAMES)
def test_vectorised_equals_per_seed(name, delay, quad):
    if _sync(name):
        delay = "none"
    tr = run(name, quad, delay, 40, 4, workers=3, seed=3)
    expected = _per_seed_oracle(name, quad, delay, 40, 4, 3, 3)
    torch.testing.assert_close(torch.as_tensor(tr.final_params), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("name", "overrides"), [
    ("hogwild_sgd", {"momentum": 0.9}),            # momentum kept per worker
    ("hogwild_sgd", {"momentum": 0.9, "nesterov": True}),
    ("passm_plus", {"warmup": 3}),
    ("async_adagrad", {"n_blocks": 3, "block_frac": 0.8}),
    ("ringmaster_asgd", {"discard_above": 1}),     # issue 16: discards differ across seeds
    ("delay_adaptive_sgd", {"tau_c": 0.5}),        # steps differ across seeds
])
def test_vectorised_equals_per_seed_with_options(name, overrides, quad):
    delay = "virtual:speeds=1,2,3,jitter=0.3"
    tr = run(name, quad, delay, 40, 4, workers=3, seed=5, **overrides)
    expected = _per_seed_oracle(name, quad, delay, 40, 4, 3, 5, **overrides)
    torch.testing.assert_close(torch.as_tensor(tr.final_params), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", [n for n in NAMES if ALGORITHMS[n].sequential not in (None, n)])
def test_tau_zero_equals_registered_sequential_counterpart(name, quad):
    spec, seq = ALGORITHMS[name], ALGORITHMS[ALGORITHMS[name].sequential]
    rule_kw, _ = split_config(spec, spec.config())
    a = run(name, quad, "none", 80, 3, workers=1, seed=4)
    b = run(seq.name, quad, "none", 80, 3, workers=1, seed=4, **rule_kw)
    assert torch.equal(torch.as_tensor(a.final_params), torch.as_tensor(b.final_params))


@pytest.mark.parametrize("name", NAMES)
def test_bounded_models_bound_staleness(name, quad):
    if _sync(name):
        pytest.skip("synchronous: staleness is 0 by construction (checked above)")
    for spec, tau in (("constant:2", 2), ("adversarial:5", 5), ("geometric:0.5,cap=3", 3)):
        st = run(name, quad, spec, 50, 2, workers=2).staleness
        assert st.max() <= tau


@pytest.mark.parametrize("name", ["hogwild_sgd", "passm_plus", "async_adagrad", "apam",
                                  "async_topk_ef"])
def test_replay_reproduces_final_params(name, quad, tmp_path):
    tr = run(name, quad, "virtual:speeds=1,1.5,3,jitter=0.5", 120, 2, workers=3, seed=11)
    tr.write(tmp_path)
    again = replay(tmp_path, problem=quad)
    assert torch.equal(torch.as_tensor(again.final_params), torch.as_tensor(tr.final_params))
    np.testing.assert_array_equal(again.staleness, tr.staleness)
    assert again.meta["delay"].startswith("replay:")


def test_replay_from_cli_style_meta(tmp_path):
    tr = run("passm", "quadratic", "uniform:3", 50, 1, workers=2, dim=6, seed=2)
    tr.write(tmp_path)
    again = replay(tmp_path)
    assert torch.equal(torch.as_tensor(again.final_params), torch.as_tensor(tr.final_params))


def test_divergence_stops_early_and_keeps_partial_trace(quad):
    tr = run("hogwild_sgd", quad, "constant:3", 3000, 2, workers=2, lr=30.0, eval_every=5)
    assert not tr.complete and "diverged" in tr.meta["error"]
    n = tr.meta["updates_done"]
    assert n < 3000 and len(tr) == 2 * n


@pytest.mark.parametrize("kwargs", [
    dict(algorithm="hogwild_sgdd"),
    dict(lr=-0.1),
    dict(workers=0),
    dict(steps=0),
    dict(seeds=0),
    dict(delays="uniform:x"),
    dict(algorithm="minibatch_sgd", delays="uniform:2"),
    dict(algorithm="passm_plus", warmup=-1),
    dict(algorithm="async_adagrad", n_blocks=0),
    dict(nonsense=1.0),
    dict(backend="mpi"),
    dict(algorithm="passm", backend="distributed"),
    dict(eval_every=0),
    dict(delays="virtual:speeds=1,2", workers=3),
])
def test_invalid_configs_raise(kwargs, quad):
    args = dict(algorithm="hogwild_sgd", problem=quad, delays="uniform:2", steps=10, seeds=2)
    args.update(kwargs)
    with pytest.raises(ValueError):
        run(args.pop("algorithm"), args.pop("problem"), args.pop("delays"), args.pop("steps"),
            args.pop("seeds"), **args)
