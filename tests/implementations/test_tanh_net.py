"""The small non-convex network with certified constants (``tanh_net``): its certificates hold
where they are hardest to meet (saturated units, large weights), it is genuinely non-convex, bad
options are rejected, and the reconstructed rate check run on it tells a correct normalized
method from a planted bug."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from asyncbound.checks.engine import run_check
from asyncbound.checks.suite import spec_for
from asyncbound.implementations.problems import get_problem
from asyncbound.implementations.problems.tanh_net import TANH_CURVATURE
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.checks import planted

OPTIONS = st.fixed_dictionaries({"hidden": st.integers(2, 12), "inputs": st.integers(2, 5),
                                 "batch_size": st.integers(1, 8),
                                 "scale": st.floats(0.25, 4.0)})


def _points(p, seed: int, S: int, spread: float):
    gen = torch.Generator().manual_seed(seed)
    return spread * torch.randn(S, p.dim, generator=gen, dtype=torch.float64)


def _hessian(p, x):
    return torch.autograd.functional.hessian(lambda z: p.loss(z.unsqueeze(0))[0], x)


def test_tanh_curvature_constant_is_the_max_of_tanh_second_derivative():
    t = torch.linspace(-5, 5, 200001, dtype=torch.float64)
    th = torch.tanh(t)
    assert float((2 * th * (1 - th * th)).abs().max()) == pytest.approx(TANH_CURVATURE, rel=1e-9)


@given(opts=OPTIONS, seed=st.integers(0, 10**6))
@settings(max_examples=12)
def test_certified_L_bounds_the_hessian_everywhere_sampled(opts, seed):
    """|eig(Hessian)| <= L at small, Glorot-size and saturating weights (where tanh'' peaks or
    the logistic curvature is largest)."""
    p = get_problem("tanh_net", seed=seed % 97, **opts)
    for spread in (0.05, 1.0, 4.0):
        for x in _points(p, seed, 3, spread):
            ev = torch.linalg.eigvalsh(_hessian(p, x))
            assert float(ev.abs().max()) <= p.constants["L"] * (1 + 1e-9)


@given(opts=OPTIONS, seed=st.integers(0, 10**6))
@settings(max_examples=12)
def test_G_M_bound_every_per_sample_gradient_and_f_star_is_a_lower_bound(opts, seed):
    p = get_problem("tanh_net", seed=seed % 97, **opts)
    x = _points(p, seed, 16, 3.0)
    per = p.per_sample_grads(x)                           # (S, n, d)
    assert float(per.abs().max()) <= p.constants["G"] * (1 + 1e-12)
    assert float(per.norm(dim=-1).max()) <= p.constants["M"] * (1 + 1e-12)
    full = p.full_grad(x)
    torch.testing.assert_close(per.mean(1), full, rtol=1e-12, atol=1e-13)
    var = ((per - full.unsqueeze(1)) ** 2).sum(-1).mean(-1) / p.batch_size
    assert (var <= p.constants["sigma"] ** 2).all()
    assert (p.loss(x) >= p.f_star).all()


def test_it_is_not_convex():
    """A witness: a point where the Hessian has a negative eigenvalue (tanh'' < 0 on one side of
    every unit), so no certificate of convexity may be claimed and mu stays absent."""
    p = get_problem("tanh_net", hidden=4, inputs=2)
    assert not p.convex and "mu" not in p.constants
    lows = [float(torch.linalg.eigvalsh(_hessian(p, x))[0]) for x in _points(p, 3, 8, 1.5)]
    assert min(lows) < -1e-3


def test_gradient_matches_autograd_on_a_minibatch():
    p = get_problem("tanh_net", hidden=6, inputs=3, batch_size=5)
    x = _points(p, 1, 4, 1.0)
    idx = torch.randint(p.n, (4, 5), generator=torch.Generator().manual_seed(2))
    xr = x.clone().requires_grad_(True)
    u = torch.tanh(p._pre(xr, p.Xt[idx])) @ p.a
    loss = torch.nn.functional.softplus(-p.y[idx] * u).mean(-1).sum()
    (g,) = torch.autograd.grad(loss, xr)
    torch.testing.assert_close(p._grad_on(x, p.Xt[idx], p.y[idx]), g, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("bad, match", [
    (dict(inputs=1), "inputs must be an integer >= 2"),
    (dict(hidden=1), "hidden must be an integer >= 2"),
    (dict(batch_size=0), "batch_size must be an integer >= 1"),
    (dict(scale=0.0), "scale must be > 0"),
    (dict(dim=7), "dim must be 24"),
])
def test_bad_options_are_rejected(bad, match):
    with pytest.raises(ValueError, match=match):
        get_problem("tanh_net", **bad)


# --- the rate check on the network: a correct method passes, a planted bug fails ---------------

@pytest.mark.parametrize("algorithm, verdict", [
    ("async_normalized", "PASS"),
    (planted.CATALOGUE["normalized_harmonic"][2], "FAIL"),  # lr/t: the steps sum to lr ln t
])
def test_the_rate_on_the_network_fails_a_normalized_step_at_lr_over_t(algorithm, verdict):
    spec = replace(spec_for(algorithm, "gratton_toint2026/rate"), search=None, looks=1, lr=0.2,
                   base_seed=3, problem="tanh_net",
                   problem_options={"hidden": 16, "batch_size": 4, "inputs": 4},
                   delay="adversarial:4", workers=4, steps=1000, seeds=64, eval_every=10)
    rec = run_check(spec, 1e-3)
    assert rec["verdict"] == verdict, rec["reason"]
