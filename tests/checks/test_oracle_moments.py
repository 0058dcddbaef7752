"""The exact second-moment recursion against brute-force Monte Carlo (10^5 seeds, reference
backend vectorised), its two forms against each other, and the classical stability threshold."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from asyncbound.checks.oracle import (
    classical_threshold,
    constant_delay_radius,
    critical_step,
    exact_curves,
    iid_law,
    linear_algorithm,
    quadratic_model,
    start_conditional,
)
from asyncbound.implementations.backends import run
from asyncbound.implementations.delays import ReplayDelay, parse_delay
from asyncbound.implementations.problems import get_problem
from asyncbound.implementations.registry import get_algorithm
from asyncbound.implementations.schedule import Schedule

MC_SEEDS = 100_000
K, W, D = 24, 3, 4
#: |z| over K correlated points of a correct oracle: P(max |z| > 5) < 24 * 6e-7
Z_MAX = 5.0


def _setup(algo, lr, options, problem_options=None):
    prob = get_problem("quadratic", dim=D, seed=3, **(problem_options or {}))
    spec = get_algorithm(algo)
    alg = linear_algorithm(spec, spec.config(lr=lr, **options), D, W)
    return prob, alg, quadratic_model(prob)


def _mc(algo, prob, delay, lr, options):
    before = torch.get_num_threads()
    tr = run(algo, prob, delay, K, MC_SEEDS, workers=W, lr=lr, eval_every=1, **options)
    torch.set_num_threads(before)
    loss = tr.columns["loss"].reshape(MC_SEEDS, K) - prob.f_star
    gn = tr.columns["grad_norm_sq"].reshape(MC_SEEDS, K)
    dist_sq = ((np.asarray(tr.final_params) - prob.x_star.numpy()) ** 2).sum(-1)
    return loss, gn, dist_sq


def _z(samples, exact):
    return (samples.mean(0) - exact) / (samples.std(0, ddof=1) / np.sqrt(samples.shape[0]))


CASES = [  # algorithm, delay, lr, options, problem options
    ("hogwild_sgd", "uniform:3", 0.2, {"momentum": 0.5}, {"noise_weights": [4, 1, 0.5, 0.1]}),
    ("ps_sgd", "pareto:1.5,cap=4", 0.2, {"momentum": 0.6, "ema": True}, {}),
    ("passm", "geometric:0.4,cap=3", 0.2, {"momentum": 0.5}, {}),
    ("passm_plus", "constant:2", 0.1, {"warmup": 2, "momentum": 0.5, "nesterov": True}, {}),
]


@pytest.mark.parametrize(("algo", "delay", "lr", "options", "popts"), CASES, ids=[c[0] for c in CASES])
def test_exact_moments_match_monte_carlo(algo, delay, lr, options, popts):
    prob, alg, qm = _setup(algo, lr, options, popts)
    ex = exact_curves(alg, qm, K, law=iid_law(parse_delay(delay)))
    loss, gn, dist_sq = _mc(algo, prob, delay, lr, options)
    assert np.abs(_z(loss, ex.loss_gap[1:])).max() < Z_MAX
    assert np.abs(_z(gn, ex.grad_sq[1:])).max() < Z_MAX
    assert abs(_z(dist_sq[:, None], ex.dist_sq[-1:])[0]) < Z_MAX   # E||x_K - x*||^2
    # the same Monte Carlo rejects a delay law off by one: the comparison has power
    shifted = iid_law(parse_delay("constant:4" if delay == "constant:2" else "constant:1"))
    wrong = exact_curves(alg, qm, K, law=shifted)
    assert np.abs(_z(loss, wrong.loss_gap[1:])).max() > 2 * Z_MAX


def test_conditional_on_a_recorded_schedule_matches_monte_carlo():
    prob, alg, qm = _setup("hogwild_sgd", 0.2, {"momentum": 0.5})
    g = torch.Generator().manual_seed(5)
    worker = torch.randint(0, W, (K,), generator=g)
    read = torch.stack([torch.randint(max(0, k - 5), k + 1, (1,), generator=g)[0] for k in range(K)])
    sched = Schedule(worker, read)
    ex = exact_curves(alg, qm, K, worker=worker.numpy(), read=read.numpy())
    loss, _, _ = _mc("hogwild_sgd", prob, ReplayDelay(sched), 0.2, {"momentum": 0.5})
    assert np.abs(_z(loss, ex.loss_gap[1:])).max() < Z_MAX


@pytest.mark.parametrize("algo", ["hogwild_sgd", "passm_plus"])
def test_a_batch_of_schedules_equals_one_recursion_per_schedule(algo):
    _, alg, qm = _setup(algo, 0.2, {"momentum": 0.5, "warmup": 2} if algo == "passm_plus" else {"momentum": 0.5})
    sched = parse_delay("virtual:speeds=1,2,3,jitter=0.5").schedule(30, W, 5, torch.Generator().manual_seed(1))
    worker, read = sched.worker.numpy(), sched.read_version.numpy()
    batch = exact_curves(alg, qm, 30, worker=worker, read=read)
    for b in range(5):
        one = exact_curves(alg, qm, 30, worker=worker[b], read=read[b])
        np.testing.assert_allclose(batch.loss_gap[b], one.loss_gap, rtol=1e-12)
        np.testing.assert_allclose(batch.grad_sq[b], one.grad_sq, rtol=1e-12)


def test_start_conditional_averages_to_the_unconditional_moments():
    """E_y0[E(f_k | y0)] = E f_k: with rows sqrt(d c) e_i, the mean of y0_i^2 is c = x0_scale^2/d."""
    _, alg, qm = _setup("ps_sgd", 0.2, {"momentum": 0.6})
    law = iid_law(parse_delay("uniform:3"))
    c = qm.start_moment[0, 0]
    y0 = np.sqrt(D * c) * np.eye(D)
    cond, uncond = start_conditional(alg, qm, 40, y0, law=law)
    ex = exact_curves(alg, qm, 40, law=law)
    for m in ("loss", "grad_norm_sq", "dist_sq"):
        np.testing.assert_allclose(cond[m].mean(0), ex.metric(m), rtol=1e-10)
        np.testing.assert_allclose(uncond.metric(m), ex.metric(m), rtol=1e-10)


def test_start_conditional_noise_part_matches_monte_carlo():
    """From x0 = x* (x0_scale = 0) only the noise drives the run: E(f_k | y0 = 0) vs 10^5 seeds."""
    prob, alg, qm = _setup("hogwild_sgd", 0.2, {"momentum": 0.5}, {"x0_scale": 0.0})
    law = iid_law(parse_delay("uniform:3"))
    cond, _ = start_conditional(alg, qm, K, np.zeros((1, D)), law=law)
    loss, _, _ = _mc("hogwild_sgd", prob, "uniform:3", 0.2, {"momentum": 0.5})
    assert np.abs(_z(loss, cond["loss"][0, 1:])).max() < Z_MAX


@pytest.mark.parametrize("algo", ["hogwild_sgd", "ps_sgd", "minibatch_sgd"])
def test_decoupled_and_dense_forms_agree(algo):
    _, alg, qm = _setup(algo, 0.2, {"momentum": 0.7, "nesterov": True})
    law = iid_law(parse_delay("none" if algo == "minibatch_sgd" else "uniform:4"))
    a = exact_curves(alg, qm, 60, law=law)
    b = exact_curves(alg, qm, 60, law=law, dense=True)
    assert (a.mode, b.mode) == ("decoupled", "dense")
    for m in ("loss", "grad_norm_sq", "dist_sq"):
        np.testing.assert_allclose(a.metric(m), b.metric(m), rtol=1e-10, atol=1e-15)


def test_law_equals_the_mixture_of_its_point_masses_for_one_step():
    """One update under uniform:T equals the average of the T + 1 conditional ones."""
    _, alg, qm = _setup("hogwild_sgd", 0.3, {})
    T, k = 3, 6
    law = iid_law(parse_delay(f"uniform:{T}"))
    pre = np.arange(k) % W, np.arange(k)  # no delay before update k, then delay j at update k
    parts = []
    for j in range(T + 1):
        read = np.concatenate([pre[1], [k - j]])
        parts.append(exact_curves(alg, qm, k + 1, worker=np.arange(k + 1) % W, read=read).loss_gap[-1])
    law_k = (lambda i, p=law[0]: p(i) if i == k else np.eye(1)[0]), T
    mixed = exact_curves(alg, qm, k + 1, law=law_k).loss_gap[-1]
    assert mixed == pytest.approx(np.mean(parts), rel=1e-12)


@pytest.mark.parametrize("tau", range(9))
def test_classical_delayed_gd_threshold(tau):
    """Levin & May (1976): y_{k+1} = y_k - h y_{k-tau} is stable iff h < 2 sin(pi/(2(2 tau+1)))."""
    assert critical_step(tau) == pytest.approx(classical_threshold(tau), rel=1e-9)


@pytest.mark.parametrize("tau", [0, 1, 4, 8])
def test_constant_delay_radius_reproduces_the_threshold_for_hogwild(tau):
    prob = get_problem("quadratic", dim=3, seed=0, cond=1.0)  # every eigenvalue = L = 1
    qm = quadratic_model(prob)
    h = classical_threshold(tau)
    for f, stable in ((0.98, True), (1.02, False)):
        alg = linear_algorithm(get_algorithm("hogwild_sgd"), {"lr": f * h, "momentum": 0.0}, 3, W)
        assert (constant_delay_radius(alg, qm, tau) < 1.0) is stable
