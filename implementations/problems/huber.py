"""Huber regression: a smooth, convex, non-quadratic problem whose stochastic gradients are
bounded by construction, so M (and B = tau M, the elastic constant of lock-free shared memory)
is certified, not measured on the run (issue 12: divergence that counts).

Data (``data_generator(seed)``): rows a_i ~ N(0, I_d), b = A w + 0.5 N(0, 1) plus, on every
tenth row, an outlier 5 N(0, 1) (so the linear zone of the loss is visited).

    f(x) = (1/n) sum_i h_delta(a_i^T x - b_i),
    h_delta(r) = r^2 / 2 (|r| <= delta),  delta (|r| - delta / 2) (otherwise).

Per-sample gradient clip(r_i, -delta, delta) a_i; the stochastic gradient is the mean of B of
them drawn uniformly with replacement (unbiased). Certificates (everywhere, no domain):
- L = lambda_max(A^T A)/n (h'' <= 1), by an exact eigendecomposition (+1e-10 margin);
- M = delta max_i ||a_i|| >= ||g|| for every minibatch gradient (a mean of vectors of norm <=);
- G = delta max_ij |a_ij| >= ||g||_inf;
- sigma^2 = (1/(B n)) sum_i delta^2 ||a_i||^2 >= E||g - grad f||^2 (variance <= second moment).
No strong convexity is claimed (the loss is linear in the tails). f*/x*: semismooth Newton with
backtracking in float64 to ||grad f|| <= 1e-12. Source: Huber (1964), Ann. Math. Stat. 35(1);
a standard robust-regression test problem, no paper deviation.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..seeding import data_generator
from ._common import EIG_MARGIN, check_pos_int, check_real, minibatch, sym_eig_extremes
from .base import Problem


class Huber(Problem):
    def __init__(self, *, dim: int = 10, seed: int = 0, n: int = 200, batch_size: int = 1,
                 delta: float = 1.0, x0_scale: float = 1.0):
        d, n = check_pos_int("dim", dim), check_pos_int("n", n)
        self.batch_size = check_pos_int("batch_size", batch_size)
        self.delta = check_real("delta", delta, gt=0)
        self.name, self.dim, self.dtype, self.smooth, self.convex = "huber", d, torch.float64, True, True
        gen = data_generator(seed)
        A = torch.randn(n, d, generator=gen, dtype=torch.float64)
        w = torch.randn(d, generator=gen, dtype=torch.float64) / math.sqrt(d)
        b = A @ w + 0.5 * torch.randn(n, generator=gen, dtype=torch.float64)
        b[::10] += 5.0 * torch.randn(len(b[::10]), generator=gen, dtype=torch.float64)
        self.A, self.b, self.n = A, b, n
        lmax, _ = sym_eig_extremes(A.T @ A / n)
        an = A.norm(dim=1)
        dl = self.delta
        self.constants = {"L": lmax * (1 + EIG_MARGIN), "M": dl * float(an.max()),
                          "G": dl * float(A.abs().max()),
                          "sigma": dl * math.sqrt(float((an ** 2).mean()) / self.batch_size)}
        self.certificates = {
            "L": "lambda_max(A^T A)/n (the Huber function has h'' <= 1), exact eigendecomposition "
                 "(+1e-10 relative margin).",
            "M": "delta max_i ||a_i||: every per-sample gradient clip(r_i) a_i has norm <= it, so "
                 "does their minibatch mean.",
            "G": "delta max_ij |a_ij| bounds every gradient coordinate.",
            "sigma": "(1/(B n)) sum delta^2 ||a_i||^2 >= E||g - grad f||^2 (variance <= second moment).",
        }
        self.x0_scale = float(x0_scale)
        self._solve()

    def _res(self, x: Tensor) -> Tensor:
        return x @ self.A.T - self.b

    def _loss(self, x: Tensor) -> Tensor:
        r, dl = self._res(x), self.delta
        a = r.abs()
        return torch.where(a <= dl, 0.5 * r * r, dl * (a - 0.5 * dl)).mean(-1)

    def _grad(self, x: Tensor) -> Tensor:
        return self._res(x).clamp(-self.delta, self.delta) @ self.A / self.n

    def _sgrad(self, x: Tensor, generator: torch.Generator) -> Tensor:
        idx = minibatch(self.n, self.batch_size, x.shape[0], generator)
        Ab, bb = self.A[idx], self.b[idx]  # (S, B, d), (S, B)
        r = (torch.einsum("sbd,sd->sb", Ab, x) - bb).clamp(-self.delta, self.delta)
        return torch.einsum("sb,sbd->sd", r, Ab) / self.batch_size

    def _solve(self) -> None:
        x = torch.zeros(1, self.dim, dtype=torch.float64)
        eye = 1e-12 * torch.eye(self.dim, dtype=torch.float64)
        for _ in range(200):  # semismooth Newton; the generalised Hessian is A_I^T A_I / n
            g = self._grad(x)[0]
            if float(g.norm()) <= 1e-12:
                break
            inside = (self._res(x)[0].abs() <= self.delta).to(torch.float64)
            H = (self.A.T * inside) @ self.A / self.n + eye
            step = torch.linalg.lstsq(H, g.unsqueeze(-1)).solution.squeeze(-1)
            t, f0 = 1.0, float(self._loss(x)[0])
            while float(self._loss(x - t * step)[0]) > f0 - 1e-4 * t * float(g @ step) and t > 1e-12:
                t *= 0.5
            x = x - t * step
        self.x_star = x[0].clone()
        self.x0_center = self.x_star
        self.f_star = float(self._loss(x)[0])
        self.certificates["f_star"] = (f"semismooth Newton in float64, ||grad f(x_hat)|| = "
                                       f"{float(self._grad(x)[0].norm()):.2g}.")
