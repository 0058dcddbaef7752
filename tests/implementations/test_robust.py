"""Cauchy and Welsch robust regression: smooth, non-convex, bounded gradients; the certificates
(L, M, G, sigma, f* = 0 at w) hold at random points, near and far from x*."""

from __future__ import annotations

import math

import pytest
import torch
from asyncbound.implementations.problems import get_problem
from asyncbound.implementations.problems.robust import ROBUST_LOSSES
from hypothesis import given, settings
from hypothesis import strategies as st

LOSSES = tuple(ROBUST_LOSSES)


@pytest.mark.parametrize("loss", LOSSES)
def test_loss_table_slope_and_curvature_range(loss):
    """sup |phi'| and the range of phi'' (by finite differences of phi') on a fine grid: the
    table's numbers are attained (to grid precision) and never exceeded; phi'' >= -1 is what
    makes L = lambda_max(A^T A)/n."""
    rho = ROBUST_LOSSES[loss]
    r = torch.linspace(-30, 30, 600001, dtype=torch.float64)
    d1 = rho.dphi(r)
    assert float(d1.abs().max()) <= rho.slope * (1 + 1e-12)
    assert float(d1.abs().max()) >= rho.slope * (1 - 1e-9)
    d2 = torch.diff(d1) / torch.diff(r)
    assert float(d2.max()) <= 1 + 1e-6 and float(d2.min()) >= rho.curvature_min - 1e-6
    assert float(d2.min()) <= rho.curvature_min + 1e-4 and -1 <= rho.curvature_min < 0
    # phi' is the derivative of phi (central differences)
    h = 1e-6
    fd = (rho.phi(r[::1000] + h) - rho.phi(r[::1000] - h)) / (2 * h)
    torch.testing.assert_close(fd, d1[::1000], rtol=1e-6, atol=1e-8)


@given(seed=st.integers(0, 2**16), loss=st.sampled_from(LOSSES), scale=st.sampled_from([0.3, 1.0, 2.5]),
       spread=st.floats(0.05, 30.0))
@settings(max_examples=25, deadline=None)
def test_certificates_hold_at_random_points(seed, loss, scale, spread):
    p = get_problem(loss, seed=seed % 7, scale=scale, dim=6, n=60)
    g = torch.Generator().manual_seed(seed)
    x = p.x_star + spread * torch.randn(4, 6, generator=g, dtype=torch.float64)
    ps = p.per_sample_grads(x)
    assert float(ps.norm(dim=-1).max()) <= p.constants["M"] * (1 + 1e-12)
    assert float(ps.abs().max()) <= p.constants["G"] * (1 + 1e-12)
    var = ((ps - p.full_grad(x).unsqueeze(1)) ** 2).sum(-1).mean(-1)  # batch size 1
    assert float(var.max()) <= p.constants["sigma"] ** 2 * (1 + 1e-12)
    torch.testing.assert_close(ps.mean(1), p.full_grad(x), rtol=1e-12, atol=1e-14)  # unbiased
    y = p.x_star + spread * torch.randn(4, 6, generator=g, dtype=torch.float64)
    lip = (p.full_grad(x) - p.full_grad(y)).norm(dim=-1) / (x - y).norm(dim=-1)
    assert float(lip.max()) <= p.constants["L"] * (1 + 1e-12)
    assert bool((p.loss(x) >= p.f_star).all())


@pytest.mark.parametrize("loss", LOSSES)
def test_minimum_is_zero_at_w_and_gradient_matches_finite_differences(loss):
    p = get_problem(loss, seed=3, dim=5)
    assert p.f_star == 0.0 and float(p.loss(p.x_star)) == 0.0
    assert float(p.full_grad(p.x_star).norm()) == 0.0
    g = torch.Generator().manual_seed(0)
    x = p.x_star + 2.0 * torch.randn(3, 5, generator=g, dtype=torch.float64)
    h, eye = 1e-6, torch.eye(5, dtype=torch.float64)
    fd = torch.stack([(p.loss(x + h * e) - p.loss(x - h * e)) / (2 * h) for e in eye], dim=-1)
    torch.testing.assert_close(fd, p.full_grad(x), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("loss", LOSSES)
def test_not_convex_and_no_mu(loss):
    """A chord lies below f somewhere (residuals beyond the inflection point |r| = 1): the
    problem is genuinely non-convex, and claims no strong convexity."""
    p = get_problem(loss, seed=1, dim=5)
    assert not p.convex and p.smooth and "mu" not in p.constants
    g = torch.Generator().manual_seed(2)
    x = p.x_star + 3.0 * torch.randn(256, 5, generator=g, dtype=torch.float64)
    y = p.x_star + 3.0 * torch.randn(256, 5, generator=g, dtype=torch.float64)
    mid = p.loss((x + y) / 2)
    assert bool((mid > (p.loss(x) + p.loss(y)) / 2 + 1e-9).any())


def test_stochastic_gradient_never_exceeds_m_far_from_x_star():
    p = get_problem("cauchy", seed=1, batch_size=4)
    g = torch.Generator().manual_seed(1)
    x = 100 * torch.randn(256, p.dim, generator=g, dtype=torch.float64)
    assert float(p.stochastic_grad(x, g).norm(dim=-1).max()) <= p.constants["M"] * (1 + 1e-12)
    assert math.isclose(p.constants["M"], 0.5 * float(p.A.norm(dim=1).max()))


@pytest.mark.parametrize(("kw", "match"), [({"scale": 0}, "scale"), ({"dim": 0}, "dim"),
                                            ({"n": 0}, "n")])
def test_bad_options_are_value_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        get_problem("welsch", **kw)
