"""The MLP's hand-written gradient against its autograd reference.

The real backends run the analytic backward (``MLP._grad_analytic``: 2-D ``addmm``/``mm`` when
S = 1, ``baddbmm``/``bmm`` for S > 1) because autograd's bookkeeping dominated an update;
``MLP._grad_autograd`` stays as the oracle. Agreement is asked to 1e-5 (float32) over random
parameters, data, labels, architectures and batch shapes.
"""

from __future__ import annotations

import pytest
import torch
from asyncbound.implementations.problems import get_problem

TOL = dict(rtol=1e-5, atol=1e-5)


def _inputs(p, S, B, seed):
    gen = torch.Generator().manual_seed(seed)
    x = p.x0(S, gen) + 0.5 * torch.randn(S, p.dim, generator=gen)
    X = torch.randn(S, B, p.sizes[0], generator=gen)
    y = torch.randint(p.sizes[-1], (S, B), generator=gen)
    return x, X, y


@pytest.mark.parametrize("arch", [dict(inputs=8, hidden=16, classes=3),
                                  dict(inputs=64, hidden=64, classes=10),
                                  dict(inputs=5, hidden=7, classes=2)])
@pytest.mark.parametrize("S,B", [(1, 1), (1, 7), (1, 64), (2, 1), (3, 17), (5, 64)])
@pytest.mark.parametrize("seed", [0, 1])
def test_analytic_gradient_matches_autograd(arch, S, B, seed):
    p = get_problem("mlp", seed=seed, n=64, batch_size=8, **arch)
    x, X, y = _inputs(p, S, B, seed + 10)
    g = p._grad_analytic(x, X, y)
    assert g.shape == (S, p.dim) and g.dtype == torch.float32
    torch.testing.assert_close(g, p._grad_autograd(x, X, y), **TOL)


def test_single_seed_path_matches_batched_path():
    """S = 1 (2-D matmuls) and the same row inside an S > 1 batch (3-D) agree."""
    p = get_problem("mlp", seed=3, inputs=64, hidden=64, classes=10, n=256, batch_size=64)
    x, X, y = _inputs(p, 4, 64, 7)
    batched = p._grad_analytic(x, X, y)
    for s in range(4):
        one = p._grad_analytic(x[s:s + 1], X[s:s + 1], y[s:s + 1])
        torch.testing.assert_close(one, batched[s:s + 1], **TOL)


@pytest.mark.parametrize("S", [1, 3])
def test_public_gradients_use_the_analytic_kernel_and_match_autograd(S):
    p = get_problem("mlp", seed=0, inputs=16, hidden=32, classes=4, n=128, batch_size=32)
    x = p.x0(S, torch.Generator().manual_seed(1))
    torch.testing.assert_close(p.full_grad(x), p._grad_autograd(x, *p._full(x)), **TOL)
    sg = p.stochastic_grad(x, torch.Generator().manual_seed(2))
    idx = torch.randint(p.n, (S, p.batch_size), generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(sg, p._grad_autograd(x, p.X[idx], p.y[idx]), **TOL)
    # a single (d,) vector goes through the S = 1 path and keeps its shape
    assert p.full_grad(x[0]).shape == (p.dim,)
    torch.testing.assert_close(p.full_grad(x[0]), p.full_grad(x)[0], **TOL)


def test_analytic_gradient_is_deterministic():
    """Replay parity needs the same bits for the same x and minibatch."""
    p = get_problem("mlp", seed=0, inputs=64, hidden=64, classes=10, n=512, batch_size=64)
    x = p.x0(1, torch.Generator().manual_seed(0))
    a = p.stochastic_grad(x, torch.Generator().manual_seed(5))
    b = p.stochastic_grad(x.clone(), torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
