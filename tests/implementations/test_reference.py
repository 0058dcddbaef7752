"""Reference backend: recorded columns, the real-backend kernel API, devices."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from asyncbound.implementations.backends import initial_point, run
from asyncbound.implementations.delays import ReplayDelay, parse_delay
from asyncbound.implementations.patterns import apply_update, block_generator, make_pattern
from asyncbound.implementations.problems import get_problem
from asyncbound.implementations.registry import ALGORITHMS, build_rule, split_config
from asyncbound.implementations.schedule import schedule_generator
from asyncbound.implementations.seeding import worker_generator


@pytest.fixture(scope="module")
def quad():
    return get_problem("quadratic", dim=12, seed=1)


def test_columns_recorded(quad):
    tr = run("async_topk_ef", quad, "uniform:3", 100, 3, workers=2, eval_every=10)
    c = tr.columns
    assert len(tr) == 300 and (c["seed"] == np.repeat([0, 1, 2], 100)).all()
    assert (c["write_version"] == c["update"]).all()
    evaluated = ~np.isnan(c["loss"])
    assert evaluated.sum() == 3 * 10 and (c["update"][evaluated] % 10 == 9).all()
    assert np.isfinite(c["grad_norm_sq"][evaluated]).all()
    assert (c["sgrad_norm_sq"] > 0).all()
    assert (c["view_gap"][c["staleness"] == 0] == 0).all()
    assert (c["view_gap"][c["staleness"] > 0] > 0).mean() > 0.9
    assert np.isfinite(c["ef_residual"]).all() and (c["ef_residual"] > 0).any()
    assert tr.meta["complete"] and tr.meta["n_seeds"] == 3 and tr.meta["delay"] == "uniform:3"
    plain = run("hogwild_sgd", quad, "none", 20, 1, workers=1)
    assert np.isnan(plain["ef_residual"]).all() and (plain["view_gap"] == 0).all()


def test_block_column(quad):
    tr = run("passm", quad, "uniform:2", 30, 1, workers=3)
    assert (tr["block"] == tr["worker"]).all()
    assert tr.meta["partition"] == [[0, 4], [4, 8], [8, 12]]
    tr = run("passm_plus", quad, "none", 60, 1, workers=2, warmup=4)
    local = np.array([np.sum(tr["worker"][: i + 1] == w) for i, w in enumerate(tr["worker"])])
    full = tr["block"] == -1
    assert full[local <= 4].all() and not full[(local > 4) & ((local - 4) % 2 == 1)].any()
    tr = run("async_adagrad", quad, "none", 200, 2, workers=2)
    assert set(np.unique(tr["block"])) == {0, 1, 2, 3}


def _fake_real_backend(name, prob, sched, seed, W):
    """What a real backend does per update, serialised: S = 1 tensors and ``apply_update``."""
    spec = ALGORITHMS[name]
    rule_kw, pat_kw = split_config(spec, spec.config())
    pattern = make_pattern(spec.pattern, build_rule(spec, **rule_kw), prob.dim, W, **pat_kw)
    x = initial_point(prob, 1, seed).to(prob.dtype)
    states = pattern.init_states(x)
    gens = [worker_generator(seed, w) for w in range(W)]
    bgens = [block_generator(seed, w) for w in range(W)]
    history, counts = [x.clone()], [0] * W
    for k in range(sched.n_updates):
        w = int(sched.worker[0, k])
        counts[w] += 1
        view = history[int(sched.read_version[0, k])]
        g = prob.stochastic_grad(view, gens[w])
        block = (pattern.draw_block(bgens[w], 1) if pattern.random_block
                 else pattern.block_for(w, counts[w]))
        apply_update(pattern, x, states, w, g, t_local=counts[w], t_global=k + 1, block=block,
                     project=prob.project)
        history.append(x.clone())
    return x


@pytest.mark.parametrize("name", ["hogwild_sgd", "passm", "passm_plus", "async_adanorm", "apam",
                                  "async_topk_ef"])
def test_kernel_api_matches_reference(name, quad):
    sched = parse_delay("virtual:speeds=1,2,2.5,jitter=0.4").schedule(80, 3, 1, schedule_generator(0))
    x = _fake_real_backend(name, quad, sched, 5, 3)
    tr = run(name, quad, ReplayDelay(sched), 80, [5], workers=3)
    assert torch.equal(torch.as_tensor(tr.final_params), x)


@pytest.mark.cuda
def test_runs_on_cuda(quad):
    tr = run("async_adagrad", quad, "virtual:speeds=1,2", 300, 8, workers=2, device="cuda")
    assert tr.complete and np.mean(tr["loss"][tr["update"] == 299]) < np.mean(tr.meta["loss0"])
