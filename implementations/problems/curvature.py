"""Measured curvature: the largest Hessian eigenvalue (in modulus) by power iteration.

    ||H(x)||_2 = max |lambda_i(H(x))|,   v_{j+1} = H v_j / ||H v_j||,   ||H v_j|| -> ||H||_2

The Hessian-vector product is a central difference of the problem's own gradient,
``H v ~ (grad f(x + e v) - grad f(x - e v)) / (2 e)`` with ``||v|| = 1``, evaluated in float64
(every problem computes in the dtype of x) with ``e = 1e-4``: the truncation error is
O(e^2 |f'''|) and the rounding error about 1e-16 ||grad f|| / e, both far below the 1e-3
relative accuracy asked. A difference of gradients works for every problem, including those
whose gradient is hand-written (no autograd graph to differentiate twice).

The sup of ||H(x)||_2 over x is the smoothness constant L; measured at sampled iterates it is a
lower estimate of L on the region the run visited (what ``asyncbound audit`` reports).
"""

from __future__ import annotations

import torch

FD_STEP = 1e-4
#: stop when the estimate changes by less than this relative amount between two iterations
POWER_RTOL = 1e-6


def hvp(problem, x: torch.Tensor, v: torch.Tensor, *, step: float = FD_STEP) -> torch.Tensor:
    """``H(x) v`` by a central difference of ``problem.full_grad`` (x, v: (d,), float64)."""
    # two single-point calls, not one batch of 2: the networks' S = 1 path is the fast one
    return (problem.full_grad(x + step * v) - problem.full_grad(x - step * v)) / (2 * step)


def hessian_norm(problem, x, *, iters: int = 100, rtol: float = POWER_RTOL,
                 generator: torch.Generator | None = None) -> float:
    """``||H(x)||_2`` by power iteration on finite-difference Hessian-vector products."""
    x = torch.as_tensor(x, dtype=torch.float64).reshape(-1)
    if x.shape[0] != problem.dim:
        raise ValueError(f"x must have {problem.dim} entries, got {x.shape[0]}")
    gen = generator or torch.Generator().manual_seed(0)
    v = torch.randn(problem.dim, generator=gen, dtype=torch.float64)
    v /= v.norm()
    est = 0.0
    for _ in range(iters):
        hv = hvp(problem, x, v)
        new = float(hv.norm())
        if new == 0.0:
            return 0.0
        v = hv / new
        if abs(new - est) <= rtol * new:
            return new
        est = new
    return est
