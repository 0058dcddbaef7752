"""Huber regression: certificates hold by construction (M, G, sigma, L) and f* is the minimum."""

from __future__ import annotations

import pytest
import torch
from asyncbound.implementations.problems import get_problem
from hypothesis import given
from hypothesis import strategies as st


def per_sample(p, x):
    r = (x @ p.A.T - p.b).clamp(-p.delta, p.delta)  # (S, n)
    return r.unsqueeze(-1) * p.A  # (S, n, d)


@given(seed=st.integers(0, 2**16), delta=st.sampled_from([0.3, 1.0, 2.5]), scale=st.floats(0.1, 30.0))
def test_certificates_bound_every_per_sample_gradient(seed, delta, scale):
    p = get_problem("huber", seed=seed % 7, delta=delta, dim=6, n=60)
    g = torch.Generator().manual_seed(seed)
    x = scale * torch.randn(4, 6, generator=g, dtype=torch.float64)
    ps = per_sample(p, x)
    assert float(ps.norm(dim=-1).max()) <= p.constants["M"] * (1 + 1e-12)
    assert float(ps.abs().max()) <= p.constants["G"] * (1 + 1e-12)
    var = ((ps - p.full_grad(x).unsqueeze(1)) ** 2).sum(-1).mean(-1)  # batch size 1
    assert float(var.max()) <= p.constants["sigma"] ** 2 * (1 + 1e-12)
    assert torch.allclose(ps.mean(1), p.full_grad(x))  # the stochastic gradient is unbiased
    y = scale * torch.randn(4, 6, generator=g, dtype=torch.float64)
    lip = (p.full_grad(x) - p.full_grad(y)).norm(dim=-1) / (x - y).norm(dim=-1)
    assert float(lip.max()) <= p.constants["L"] * (1 + 1e-12)


def test_f_star_is_the_minimum_and_the_loss_is_not_quadratic():
    p = get_problem("huber", seed=3)
    assert float(p.full_grad(p.x_star).norm()) < 1e-9
    g = torch.Generator().manual_seed(0)
    x = p.x_star + 0.5 * torch.randn(64, p.dim, generator=g, dtype=torch.float64)
    assert float((p.loss(x) - p.f_star).min()) >= 0
    assert bool(((p.A @ p.x_star - p.b).abs() > p.delta).any())  # the linear zone is visited
    assert "mu" not in p.constants


def test_stochastic_gradient_norm_never_exceeds_m():
    p = get_problem("huber", seed=1, batch_size=4)
    g = torch.Generator().manual_seed(1)
    x = 100 * torch.randn(256, p.dim, generator=g, dtype=torch.float64)
    assert float(p.stochastic_grad(x, g).norm(dim=-1).max()) <= p.constants["M"] * (1 + 1e-12)


@pytest.mark.parametrize(("kw", "match"), [({"delta": 0}, "delta"), ({"dim": 0}, "dim"),
                                            ({"batch_size": 1.5}, "batch_size")])
def test_bad_options_are_value_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        get_problem("huber", **kw)


# --- the ridge and box variants (issue 12: breadth for the strongly convex bounds) ---------------
def test_ridge_certifies_mu_and_withdraws_m():
    p = get_problem("huber_ridge", seed=2, lam=0.05, dim=6, n=60)
    assert p.name == "huber_ridge" and p.constants["mu"] == 0.05
    assert "M" not in p.constants and "G" not in p.constants  # lam x is unbounded
    g = torch.Generator().manual_seed(0)
    x, y = (p.x_star + 5 * torch.randn(64, 6, generator=g, dtype=torch.float64) for _ in range(2))
    mono = ((p.full_grad(x) - p.full_grad(y)) * (x - y)).sum(-1)
    assert bool((mono >= 0.05 * ((x - y) ** 2).sum(-1) * (1 - 1e-10)).all())
    far = 1e4 * torch.ones(1, 6, dtype=torch.float64)
    assert float(p.full_grad(far).norm()) > 1e2  # why no M is certified without a box
    assert float(p.full_grad(p.x_star).norm()) <= 1e-12 and p.f_star_gap <= 1e-20
    with pytest.raises(ValueError, match="lam must be > 0"):
        get_problem("huber_ridge", lam=0.0)


@given(seed=st.integers(0, 2**16), box=st.sampled_from([0.3, 1.0, 2.0]), lam=st.sampled_from([0.0, 0.1]))
def test_box_certifies_m_and_g_on_the_box_and_x_star_is_the_box_minimum(seed, box, lam):
    p = get_problem("huber_box", seed=seed % 5, box=box, lam=lam, dim=6, n=60)
    assert p.projects and p.constants["D"] == box and ("mu" in p.constants) == (lam > 0)
    g = torch.Generator().manual_seed(seed)
    x = p.project(20 * torch.randn(64, 6, generator=g, dtype=torch.float64))
    ps = p.per_sample_grads(x)
    assert float(ps.norm(dim=-1).max()) <= p.constants["M"] * (1 + 1e-12)
    assert float(ps.abs().max()) <= p.constants["G"] * (1 + 1e-12)
    assert bool((p.loss(x) >= p.f_star - 1e-12).all()) and p.f_star_gap <= 1e-10
    xs = p.x_star  # a fixed point of the projected gradient step: the minimum over the box
    torch.testing.assert_close(p.project(xs - p.full_grad(xs) / p.constants["L"]), xs, rtol=0, atol=1e-6)


@pytest.mark.parametrize("dim", [5, 20])
def test_newton_solves_few_sample_problems(dim):
    """One or three samples: the generalised Hessian is singular in the linear zone, where an
    undamped semismooth Newton step stalled (||grad f(x_hat)|| = 2.8 was reported as x*)."""
    for n in (1, 3):
        for seed in range(4):
            p = get_problem("huber", seed=seed, n=n, dim=dim)
            assert float(p.full_grad(p.x_star).norm()) <= 1e-12
            assert abs(p.f_star) <= 1e-20  # n <= d: every residual can vanish
