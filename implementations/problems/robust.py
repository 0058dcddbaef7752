r"""Smooth NON-CONVEX robust regression with bounded gradients: the Cauchy (Lorentzian) and the
Welsch loss (issue 12: breadth for the bounds that need a certified M without strong convexity).

Data (``data_generator(seed)``): rows a_i ~ N(0, I_d), w ~ N(0, I_d)/sqrt(d), b = A w
(noise-free, so that the minimum is known exactly although f is not convex).

    f(x) = (1/n) sum_i c^2 phi((a_i^T x - b_i) / c),   c = ``scale`` > 0,
    cauchy:  phi(r) = log(1 + r^2) / 2,    phi'(r) = r / (1 + r^2),
    welsch:  phi(r) = 1 - exp(-r^2 / 2),   phi'(r) = r exp(-r^2 / 2).

Both are redescending M-estimator losses: phi' -> 0 as |r| -> inf, so f is not convex and its
gradient vanishes far from the data (a plateau, not only a slow region). The loss table
:data:`ROBUST_LOSSES` gives, per loss, s = sup |phi'| and the range [k, 1] of phi'':
cauchy s = 1/2 (at r = 1), phi'' = (1 - r^2)/(1 + r^2)^2 in [-1/8, 1] (min at r^2 = 3);
welsch s = exp(-1/2) (at r = 1), phi'' = (1 - r^2) exp(-r^2/2) in [-2 exp(-3/2), 1] (r^2 = 3).

Per-sample gradient c phi'(r_i / c) a_i; the stochastic gradient is the mean of B of them drawn
uniformly with replacement (unbiased). Certificates (everywhere, no domain):
- L = lambda_max(A^T A)/n: the Hessian is (1/n) A^T diag(phi''(r_i/c)) A and |phi''| <= 1 (k >= -1),
  so |v^T H v| <= (1/n) sum (a_i^T v)^2 <= lambda_max(A^T A / n) for every unit v; exact
  eigendecomposition (+1e-10 margin, as for the other problems);
- M = c s max_i ||a_i|| >= ||g|| for every minibatch gradient (a mean of vectors of norm <= it);
- G = c s max_ij |a_ij| >= ||g||_inf;
- sigma^2 = (1/(B n)) sum_i c^2 s^2 ||a_i||^2 >= E||g - grad f||^2 (variance <= second moment).
f* = 0 at x* = w exactly (f >= 0 and every residual vanishes at w); no mu (not convex).
Source: the Cauchy/Lorentzian and Welsch losses of robust statistics (Holland & Welsch 1977,
Commun. Stat. Theory Methods 6(9); Black & Anandan 1996, CVIU 63(1)); no paper deviation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..seeding import data_generator
from ._common import EIG_MARGIN, check_pos_int, check_real, minibatch, sym_eig_extremes
from .base import Problem


@dataclass(frozen=True)
class RobustLoss:
    """phi, phi', s = sup |phi'| and k = inf phi'' (sup phi'' = 1) of one robust loss."""

    phi: Callable[[Tensor], Tensor]
    dphi: Callable[[Tensor], Tensor]
    slope: float
    curvature_min: float


ROBUST_LOSSES: dict[str, RobustLoss] = {
    "cauchy": RobustLoss(lambda r: 0.5 * torch.log1p(r * r), lambda r: r / (1 + r * r),
                         0.5, -1.0 / 8),
    "welsch": RobustLoss(lambda r: -torch.expm1(-0.5 * r * r), lambda r: r * torch.exp(-0.5 * r * r),
                         math.exp(-0.5), -2 * math.exp(-1.5)),
}


class RobustRegression(Problem):
    def __init__(self, *, loss: str = "cauchy", dim: int = 10, seed: int = 0, n: int = 200,
                 batch_size: int = 1, scale: float = 1.0, x0_scale: float = 1.0):
        if loss not in ROBUST_LOSSES:
            raise ValueError(f"loss must be one of {', '.join(ROBUST_LOSSES)}, got {loss!r}")
        d, n = check_pos_int("dim", dim), check_pos_int("n", n)
        self.batch_size = check_pos_int("batch_size", batch_size)
        self.scale = check_real("scale", scale, gt=0)
        self.rho = ROBUST_LOSSES[loss]
        self.name, self.dim, self.dtype, self.smooth, self.convex = loss, d, torch.float64, True, False
        gen = data_generator(seed)
        A = torch.randn(n, d, generator=gen, dtype=torch.float64)
        w = torch.randn(d, generator=gen, dtype=torch.float64) / math.sqrt(d)
        self.A, self.b, self.n = A, A @ w, n
        lmax, _ = sym_eig_extremes(A.T @ A / n)
        an = A.norm(dim=1)
        cs = self.scale * self.rho.slope
        self.constants = {"L": lmax * (1 + EIG_MARGIN), "M": cs * float(an.max()),
                          "G": cs * float(A.abs().max()),
                          "sigma": cs * math.sqrt(float((an ** 2).mean()) / self.batch_size)}
        self.certificates = {
            "L": (f"lambda_max(A^T A)/n: phi'' lies in [{self.rho.curvature_min:.4g}, 1], so the "
                  "Hessian (1/n) A^T diag(phi'') A has spectral norm <= it; exact eigendecomposition "
                  "(+1e-10 relative margin)."),
            "M": (f"c sup|phi'| max_i ||a_i|| (sup|phi'| = {self.rho.slope:.4g}): every per-sample "
                  "gradient has norm <= it, so does their minibatch mean."),
            "G": "c sup|phi'| max_ij |a_ij| bounds every gradient coordinate.",
            "sigma": "(1/(B n)) sum c^2 sup|phi'|^2 ||a_i||^2 >= E||g - grad f||^2 (variance <= second moment).",
            "f_star": "0, attained at x* = w: b = A w has no noise and the loss is >= 0.",
        }
        self.x_star, self.f_star = w, 0.0
        self.x0_center, self.x0_scale = w, float(x0_scale)

    def _res(self, x: Tensor) -> Tensor:
        return (x @ self.A.T - self.b) / self.scale

    def _loss(self, x: Tensor) -> Tensor:
        return self.scale ** 2 * self.rho.phi(self._res(x)).mean(-1)

    def _grad(self, x: Tensor) -> Tensor:
        return self.scale * self.rho.dphi(self._res(x)) @ self.A / self.n

    def per_sample_grads(self, x: Tensor) -> Tensor:
        """(S, n, d) per-sample gradients (for tests and variance estimates)."""
        return self.scale * self.rho.dphi(self._res(x)).unsqueeze(-1) * self.A

    def _sgrad(self, x: Tensor, generator: torch.Generator) -> Tensor:
        idx = minibatch(self.n, self.batch_size, x.shape[0], generator)
        Ab, bb = self.A[idx], self.b[idx]  # (S, B, d), (S, B)
        r = (torch.einsum("sbd,sd->sb", Ab, x) - bb) / self.scale
        return self.scale * torch.einsum("sb,sbd->sd", self.rho.dphi(r), Ab) / self.batch_size
