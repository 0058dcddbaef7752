"""Least squares and logistic regression on generated data, with certified constants.

Data (``data_generator(seed)``): rows a_i ~ N(0, I_d), i = 1..n.
- ``least_squares``: b = A w + 0.5 N(0, 1);  f(x) = ||A x - b||^2 / (2n).
- ``logistic``: y_i = sign(a_i^T w + 0.5 N(0,1)) (label noise keeps the data non-separable);
  f(x) = (1/n) sum log(1 + exp(-y_i a_i^T x)) + (lam/2) ||x||^2.
- ``logistic_box``: the same on the box [-D, D]^d (``project`` = clamp; APAM's convex setting,
  Xu et al., arXiv:2002.09095, assumption A4).

Stochastic gradient: the mean of B per-sample gradients drawn uniformly *with replacement*,
hence unbiased, with E||g - grad f||^2 = (1/B) * (1/n) sum_i ||grad f_i(x) - grad f(x)||^2.

Certificates: L = lambda_max(A^T A)/n (LS) and lambda_max(A^T A)/(4n) + lam (logistic), by an
exact symmetric eigen-decomposition (+1e-10 relative margin); mu = lambda_min(A^T A)/n (LS), lam
(logistic). For logistic sigma^2 = (1/(B n)) sum ||a_i||^2 bounds the variance everywhere
(Var <= second moment, |sigmoid| <= 1, the lam x term is deterministic). For least squares the
variance grows with ||x - x*||; sigma is certified on the ball ||x - x*|| <= radius:
sigma^2 = (1/(B n)) sum ||a_i||^2 (||a_i|| radius + |r_i|)^2 with r_i the residual at x*.
f*/x*: LS exactly (normal equations via lstsq); logistic by damped Newton in float64 to
||grad|| <= 1e-12, so the reported f* exceeds the true one by at most ||grad||^2 / (2 lam);
logistic_box by FISTA on the box (stopped when the Frank–Wolfe gap, a certified bound on
f(x_hat) - f*, is <= 1e-13, or after 20000 iterations; the final gap is recorded).

Deviation from the papers: none claimed; these are standard test problems.
"""

from __future__ import annotations

import logging
import math

import torch
from torch import Tensor
from torch.nn.functional import logsigmoid

from ..seeding import data_generator
from ._common import EIG_MARGIN, check_pos_int, check_real, fista_box, minibatch, sym_eig_extremes
from .base import Problem, Region

log = logging.getLogger(__name__)


class LeastSquares(Problem):
    def __init__(self, *, dim: int = 10, seed: int = 0, n: int = 200, batch_size: int = 1,
                 radius: float = 3.0, x0_scale: float = 1.0):
        d, n = check_pos_int("dim", dim), check_pos_int("n", n)
        self.batch_size = check_pos_int("batch_size", batch_size)
        radius = check_real("radius", radius, gt=0)
        self.name, self.dim, self.dtype, self.smooth, self.convex = "least_squares", d, torch.float64, True, True
        gen = data_generator(seed)
        A = torch.randn(n, d, generator=gen, dtype=torch.float64)
        w = torch.randn(d, generator=gen, dtype=torch.float64) / math.sqrt(d)
        b = A @ w + 0.5 * torch.randn(n, generator=gen, dtype=torch.float64)
        self.A, self.b, self.n = A, b, n
        lmax, lmin = sym_eig_extremes(A.T @ A / n)
        self.x_star = torch.linalg.lstsq(A, b.unsqueeze(-1)).solution.squeeze(-1)
        self.f_star = float(self._loss(self.x_star.unsqueeze(0))[0])
        r = A @ self.x_star - b
        an = A.norm(dim=1)
        sigma2 = float((an ** 2 * (an * radius + r.abs()) ** 2).mean()) / self.batch_size
        sigma2_star = float((an ** 2 * r ** 2).mean()) / self.batch_size
        self.x0_center, self.x0_scale, self.radius = self.x_star, float(x0_scale), radius
        self.constants = {"L": lmax * (1 + EIG_MARGIN), "mu": max(lmin * (1 - EIG_MARGIN), 0.0),
                          "sigma": math.sqrt(sigma2)}
        self.certificates = {
            "L": "lambda_max(A^T A)/n from an exact symmetric eigendecomposition (+1e-10 relative margin).",
            "mu": "lambda_min(A^T A)/n from the same eigendecomposition (-1e-10 relative margin).",
            "sigma": (f"upper bound on the ball ||x - x*|| <= {radius:g} only: (1/(B n)) sum ||a_i||^2 "
                      f"(||a_i|| R + |r_i|)^2; at x* the variance is exactly {sigma2_star:.6g}."),
        }
        self.regions = {"sigma": Region(self.x_star, radius)}

    def _loss(self, x: Tensor) -> Tensor:
        res = x @ self.A.T - self.b
        return 0.5 * (res * res).mean(-1)

    def _grad(self, x: Tensor) -> Tensor:
        return (x @ self.A.T - self.b) @ self.A / self.n

    def per_sample_grads(self, x: Tensor) -> Tensor:
        """(S, n, d) per-sample gradients (for tests and variance estimates)."""
        res = x @ self.A.T - self.b
        return res.unsqueeze(-1) * self.A

    def _sgrad(self, x: Tensor, generator: torch.Generator) -> Tensor:
        idx = minibatch(self.n, self.batch_size, x.shape[0], generator)
        Ab, bb = self.A[idx], self.b[idx]  # (S, B, d), (S, B)
        res = torch.einsum("sbd,sd->sb", Ab, x) - bb
        return torch.einsum("sb,sbd->sd", res, Ab) / self.batch_size


class Logistic(Problem):
    def __init__(self, *, dim: int = 10, seed: int = 0, n: int = 200, batch_size: int = 1,
                 lam: float = 1e-2, box: float | None = None, x0_scale: float = 1.0):
        d, n = check_pos_int("dim", dim), check_pos_int("n", n)
        self.batch_size = check_pos_int("batch_size", batch_size)
        lam = check_real("lam", lam, ge=0)
        if box is not None:
            box = check_real("box", box, gt=0)
        if box is None and lam == 0:
            raise ValueError("lam must be > 0 for the unconstrained logistic problem, got 0.0")
        self.name = "logistic" if box is None else "logistic_box"
        self.dim, self.dtype, self.smooth, self.convex = d, torch.float64, True, True
        gen = data_generator(seed)
        A = torch.randn(n, d, generator=gen, dtype=torch.float64)
        w = torch.randn(d, generator=gen, dtype=torch.float64) / math.sqrt(d) * 3
        y = torch.sign(A @ w + 0.5 * torch.randn(n, generator=gen, dtype=torch.float64))
        y[y == 0] = 1.0
        self.A, self.y, self.n, self.lam, self.box = A, y, n, lam, box
        self.Ay = A * y.unsqueeze(-1)  # rows y_i a_i
        lmax, _ = sym_eig_extremes(A.T @ A / n)
        an = A.norm(dim=1)
        sigma = math.sqrt(float((an ** 2).mean()) / self.batch_size)
        self.constants = {"L": lmax / 4 * (1 + EIG_MARGIN) + lam, "sigma": sigma}
        self.certificates = {
            "L": "lambda_max(A^T A)/(4n) + lam: the logistic Hessian is A^T diag(s(1-s)) A/n + lam I "
                 "with s(1-s) <= 1/4; lambda_max by an exact eigendecomposition (+1e-10 margin).",
            "sigma": "(1/(B n)) sum ||a_i||^2 >= E||g - grad f||^2 everywhere: the per-sample data "
                     "gradient is y_i a_i times a number in [0, 1], and a variance is at most the "
                     "second moment; the lam x term is deterministic.",
        }
        if lam > 0:
            self.constants["mu"] = lam
            self.certificates["mu"] = "lam: the ridge term; the logistic part is convex."
        amax = float(an.max())
        if box is not None:
            self.constants["D"] = box
            self.certificates["D"] = f"the domain is the box [-{box:g}, {box:g}]^d; project is the clamp."
            self.constants["G"] = float(A.abs().max()) + lam * box
            self.certificates["G"] = ("max_ij |a_ij| + lam D bounds every per-sample (hence minibatch) "
                                      "gradient coordinate on the box.")
            self.constants["M"] = amax + lam * box * math.sqrt(d)
            self.certificates["M"] = "max_i ||a_i|| + lam D sqrt(d) bounds ||g|| on the box."
        elif lam == 0:
            self.constants["M"] = amax
            self.certificates["M"] = "max_i ||a_i|| bounds every per-sample gradient norm."
        self.x0_scale = float(x0_scale)
        self._solve()

    # --- objective ---------------------------------------------------------------------------
    def _loss(self, x: Tensor) -> Tensor:
        z = x @ self.Ay.T
        return -logsigmoid(z).mean(-1) + 0.5 * self.lam * (x * x).sum(-1)

    def _grad(self, x: Tensor) -> Tensor:
        s = torch.sigmoid(-(x @ self.Ay.T))  # (S, n)
        return -(s @ self.Ay) / self.n + self.lam * x

    def _sgrad(self, x: Tensor, generator: torch.Generator) -> Tensor:
        idx = minibatch(self.n, self.batch_size, x.shape[0], generator)
        Ayb = self.Ay[idx]  # (S, B, d)
        s = torch.sigmoid(-torch.einsum("sbd,sd->sb", Ayb, x))
        return -torch.einsum("sb,sbd->sd", s, Ayb) / self.batch_size + self.lam * x

    def per_sample_grads(self, x: Tensor) -> Tensor:
        s = torch.sigmoid(-(x @ self.Ay.T))
        return -s.unsqueeze(-1) * self.Ay + self.lam * x.unsqueeze(-2)

    # --- f* and x* ---------------------------------------------------------------------------
    def _solve(self) -> None:
        if self.box is None:
            x = torch.zeros(1, self.dim, dtype=torch.float64)
            for _ in range(100):  # damped Newton: strongly convex, converges quadratically
                g = self._grad(x)[0]
                if float(g.norm()) <= 1e-12:
                    break
                s = torch.sigmoid(x[0] @ self.Ay.T)
                H = (self.A.T * (s * (1 - s))) @ self.A / self.n + self.lam * torch.eye(self.dim, dtype=torch.float64)
                step = torch.linalg.solve(H, g)
                t, f0 = 1.0, float(self._loss(x)[0])
                while float(self._loss(x - t * step)[0]) > f0 - 1e-4 * t * float(g @ step) and t > 1e-10:
                    t *= 0.5
                x = x - t * step
            gn = float(self._grad(x)[0].norm())
            gap = gn ** 2 / (2 * self.lam)
        else:
            # FISTA on the box, stopped on a certified Frank-Wolfe gap
            x, gap = fista_box(self._loss, self._grad, self.constants["L"], self.box, self.dim)
        self.x_star = x[0].clone()
        self.f_star = float(self._loss(x)[0])
        self.f_star_gap = gap
        log.debug("%s: f* = %.17g by %s, certified gap %.3g", self.name, self.f_star,
                  "Newton" if self.box is None else "FISTA", gap)
        how = "damped Newton" if self.box is None else "FISTA"
        self.certificates["f_star"] = (f"{how} in float64; certified f(x_hat) - f* <= {gap:.3g} "
                                       f"({'||grad||^2/(2 lam)' if self.box is None else 'Frank-Wolfe gap'}).")
