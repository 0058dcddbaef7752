"""Helpers shared by the data-driven problems: validation, data generation, minibatches."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def check_pos_int(name: str, value, *, ge: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < ge:
        raise ValueError(f"{name} must be an integer >= {ge}, got {value!r}")
    return value


def check_real(name: str, value, *, gt=None, ge=None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    if gt is not None and not value > gt:
        raise ValueError(f"{name} must be > {gt}, got {value!r}")
    if ge is not None and not value >= ge:
        raise ValueError(f"{name} must be >= {ge}, got {value!r}")
    return float(value)


def sym_eig_extremes(H: Tensor) -> tuple[float, float]:
    """(lambda_max, lambda_min) of a symmetric matrix by an exact (LAPACK) eigen-decomposition."""
    ev = torch.linalg.eigvalsh(0.5 * (H + H.T))
    return float(ev[-1]), float(ev[0])


# Relative safety margin added to eigenvalue-based constants: eigvalsh is backward stable, so
# the computed lambda_max is within ~ d * eps_machine * ||H|| of the true one; 1e-10 covers it.
EIG_MARGIN = 1e-10


def fista_box(loss, grad, L: float, D: float, dim: int, *, tol: float = 1e-13,
              iters: int = 20000) -> tuple[Tensor, float]:
    """Minimiser of a convex L-smooth f over the box [-D, D]^d by FISTA from 0 (float64), stopped
    when the Frank-Wolfe gap g.x + D ||g||_1 (a certified upper bound on f(x) - f* over the box,
    by convexity) is <= ``tol`` (checked every 100 iterations) or after ``iters``.
    ``loss``/``grad`` take (1, d). Returns (x of shape (1, d), the final gap, clipped at 0)."""
    x = y = torch.zeros(1, dim, dtype=torch.float64)
    tk = 1.0
    for it in range(iters):
        if it % 100 == 0:
            g = grad(x)[0]
            if float(g @ x[0] + D * g.abs().sum()) <= tol:
                break
        x_new = (y - grad(y) / L).clamp(-D, D)
        tk_new = (1 + math.sqrt(1 + 4 * tk * tk)) / 2
        y = x_new + (tk - 1) / tk_new * (x_new - x)
        x, tk = x_new, tk_new
    g = grad(x)[0]
    return x, max(float(g @ x[0] + D * g.abs().sum()), 0.0)


def minibatch(n: int, batch_size: int, n_seeds: int, generator: torch.Generator) -> Tensor:
    """Indices (S, B) drawn uniformly with replacement (so the minibatch mean is unbiased)."""
    return torch.randint(n, (n_seeds, batch_size), generator=generator,
                         device=generator.device).cpu()


def cross_entropy_identity(problem, name: str, dim: int) -> None:
    """The identity every cross-entropy network problem shares: float32, smooth, non-convex,
    f* = 0 as a certified lower bound (cross-entropy >= 0; the true f* is unknown), no
    certified constants."""
    problem.name, problem.dim, problem.dtype = name, dim, torch.float32
    problem.smooth, problem.convex = True, False
    problem.f_star, problem.x_star = 0.0, None
    problem.constants = {}
    problem.certificates = {"f_star": "0 is a lower bound (cross-entropy >= 0); the true f* is unknown."}
