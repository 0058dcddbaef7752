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
