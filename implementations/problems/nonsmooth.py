"""Nonsmooth problems for the subgradient results (Kungurtsev et al. 2021, arXiv:1910.10787).

- ``l1_least_squares`` (lasso): f(x) = ||Ax - b||^2/(2n) + lam ||x||_1, subgradient
  grad_LS + lam sign(x) (sign(0) = 0). Convex, mu = lambda_min(A^T A)/n (n > d). f* by FISTA
  (proximal gradient) in float64; certified f(x_hat) - f* <= dist(0, ∂f(x_hat))^2 / (2 mu).
- ``hinge`` (linear SVM): f(x) = (1/n) sum max(0, 1 - y_i a_i^T x) + (lam/2)||x||^2, subgradient
  with 1[margin < 1]. f* is bracketed by weak duality: the dual
  D(alpha) = mean(alpha) - ||sum alpha_i y_i a_i||^2/(2 lam n^2), alpha in [0,1]^n, is maximised
  by FISTA (stopped at a duality gap <= 1e-9 or after 3000 iterations); ``f_star`` is the dual value (a certified *lower* bound) and
  ``x_star`` the primal point x(alpha) = sum alpha_i y_i a_i/(lam n); their gap is recorded.
- ``relu_net``: one-hidden-layer ReLU regression f(W, v) = (1/(2n)) sum (v^T relu(W a_i) - y_i)^2
  on data from a teacher of the same shape, so f* = 0 exactly and the teacher is a minimiser
  (x_star; not unique: permutations and positive rescalings). Nonconvex and nonsmooth; the
  (Clarke) subgradient uses relu'(0) = 0, as autograd does.

Stationarity proxy: ``stationarity(x)`` is the norm of the minimum-norm subgradient for the
lasso (closed form), and the norm of the returned subgradient otherwise.
Stochastic subgradients: minibatch mean with replacement (unbiased). For hinge,
sigma^2 = (1/(B n)) sum ||a_i||^2 (the lam x term is deterministic).

Deviation from the papers: these are our test problems; the papers do not fix them.
"""

from __future__ import annotations

import logging
import math

import torch
from torch import Tensor

from ..seeding import data_generator
from ._common import EIG_MARGIN, check_pos_int, check_real, minibatch, sym_eig_extremes
from .base import Problem

log = logging.getLogger(__name__)


def _data(n: int, d: int, seed: int):
    gen = data_generator(seed)
    A = torch.randn(n, d, generator=gen, dtype=torch.float64)
    w = torch.randn(d, generator=gen, dtype=torch.float64) / math.sqrt(d) * 3
    noise = torch.randn(n, generator=gen, dtype=torch.float64)
    return A, w, noise


class L1LeastSquares(Problem):
    def __init__(self, *, dim: int = 10, seed: int = 0, n: int = 200, batch_size: int = 1,
                 lam: float = 0.1, x0_scale: float = 1.0):
        d, n = check_pos_int("dim", dim), check_pos_int("n", n)
        self.batch_size = check_pos_int("batch_size", batch_size)
        self.lam = check_real("lam", lam, ge=0)
        self.name, self.dim, self.dtype, self.smooth, self.convex = "l1_least_squares", d, torch.float64, False, True
        A, w, noise = _data(n, d, seed)
        w = w * (torch.arange(d) < max(1, d // 2))  # sparse truth
        self.A, self.b, self.n = A, A @ w + 0.5 * noise, n
        lmax, lmin = sym_eig_extremes(A.T @ A / n)
        self.x0_scale = float(x0_scale)
        self.constants, self.certificates = {}, {}
        if lmin > 0:
            self.constants["mu"] = lmin * (1 - EIG_MARGIN)
            self.certificates["mu"] = "lambda_min(A^T A)/n (exact eigendecomposition, -1e-10 margin)."
        x = y = torch.zeros(1, d, dtype=torch.float64)
        tk, step = 1.0, 1.0 / (lmax * (1 + EIG_MARGIN))
        for it in range(20000):
            if it % 100 == 0 and lmin > 0 and float(self.stationarity(x)[0]) ** 2 / (2 * lmin) <= 1e-14:
                break
            z = y - step * self._smooth_grad(y)
            x_new = z.sign() * (z.abs() - step * self.lam).clamp_min(0)
            tk_new = (1 + math.sqrt(1 + 4 * tk * tk)) / 2
            y, x, tk = x_new + (tk - 1) / tk_new * (x_new - x), x_new, tk_new
        self.x_star, self.f_star = x[0].clone(), float(self._loss(x)[0])
        self.f_star_gap = float(self.stationarity(x)[0]) ** 2 / (2 * lmin) if lmin > 0 else math.inf
        self.x0_center = self.x_star
        log.debug("l1_least_squares: f* = %.17g, certified gap %.3g", self.f_star, self.f_star_gap)
        self.certificates["f_star"] = (f"FISTA in float64; f(x_hat) - f* <= dist(0, ∂f)^2/(2 mu) = "
                                       f"{self.f_star_gap:.3g}.")

    def _smooth_grad(self, x: Tensor) -> Tensor:
        return (x @ self.A.T - self.b) @ self.A / self.n

    def _loss(self, x: Tensor) -> Tensor:
        r = x @ self.A.T - self.b
        return 0.5 * (r * r).mean(-1) + self.lam * x.abs().sum(-1)

    def _grad(self, x: Tensor) -> Tensor:
        return self._smooth_grad(x) + self.lam * x.sign()

    def _sgrad(self, x: Tensor, generator: torch.Generator) -> Tensor:
        idx = minibatch(self.n, self.batch_size, x.shape[0], generator)
        Ab, bb = self.A[idx], self.b[idx]
        res = torch.einsum("sbd,sd->sb", Ab, x) - bb
        return torch.einsum("sb,sbd->sd", res, Ab) / self.batch_size + self.lam * x.sign()

    def stationarity(self, x: Tensor) -> Tensor:
        """||minimum-norm subgradient||: per coordinate g + lam sign(x) if x != 0, else soft(g, lam)."""
        g = self._smooth_grad(x)
        at_zero = g.sign() * (g.abs() - self.lam).clamp_min(0)
        return torch.linalg.vector_norm(torch.where(x != 0, g + self.lam * x.sign(), at_zero), dim=-1)


class Hinge(Problem):
    def __init__(self, *, dim: int = 10, seed: int = 0, n: int = 200, batch_size: int = 1,
                 lam: float = 1e-2, x0_scale: float = 1.0):
        d, n = check_pos_int("dim", dim), check_pos_int("n", n)
        self.batch_size = check_pos_int("batch_size", batch_size)
        self.lam = check_real("lam", lam, gt=0)
        self.name, self.dim, self.dtype, self.smooth, self.convex = "hinge", d, torch.float64, False, True
        A, w, noise = _data(n, d, seed)
        y = torch.sign(A @ w + 0.5 * noise)
        y[y == 0] = 1.0
        self.A, self.y, self.n, self.Ay = A, y, n, A * y.unsqueeze(-1)
        self.x0_scale = float(x0_scale)
        an = A.norm(dim=1)
        self.constants = {"mu": self.lam, "sigma": math.sqrt(float((an ** 2).mean()) / self.batch_size)}
        self.certificates = {
            "mu": "lam: the ridge term; the hinge part is convex.",
            "sigma": "(1/(B n)) sum ||a_i||^2: per-sample data subgradients are y_i a_i times 0 or 1; "
                     "a variance is at most the second moment; lam x is deterministic.",
        }
        # dual projected gradient ascent: certified lower bound on f*
        K = self.Ay
        Ld = sym_eig_extremes(K @ K.T)[0] / (self.lam * n * n) * (1 + EIG_MARGIN)
        Q = (K @ K.T) / (self.lam * n * n)
        alpha = beta = torch.zeros(n, dtype=torch.float64)
        tk = 1.0
        for it in range(3000):  # FISTA on the (concave, box-constrained) dual
            if it % 100 == 0:
                v = K.T @ alpha
                dual = float(alpha.mean() - (v @ v) / (2 * self.lam * n * n))
                if float(self._loss((v / (self.lam * n)).unsqueeze(0))[0]) - dual <= 1e-9:
                    break
            grad = 1.0 / n - Q @ beta
            alpha_new = (beta + grad / Ld).clamp(0, 1)
            tk_new = (1 + math.sqrt(1 + 4 * tk * tk)) / 2
            beta = (alpha_new + (tk - 1) / tk_new * (alpha_new - alpha)).clamp(0, 1)
            alpha, tk = alpha_new, tk_new
        v = K.T @ alpha
        dual = float(alpha.mean() - (v @ v) / (2 * self.lam * n * n))
        xp = (v / (self.lam * n)).unsqueeze(0)
        primal = float(self._loss(xp)[0])
        self.f_star, self.x_star, self.f_star_gap = dual, xp[0], primal - dual
        log.debug("hinge: dual %.17g, primal %.17g", dual, primal)
        self.certificates["f_star"] = (f"dual value of the SVM dual (weak duality: a certified lower "
                                       f"bound); duality gap at x_star {self.f_star_gap:.3g}.")

    def _loss(self, x: Tensor) -> Tensor:
        return (1 - x @ self.Ay.T).clamp_min(0).mean(-1) + 0.5 * self.lam * (x * x).sum(-1)

    def _grad(self, x: Tensor) -> Tensor:
        active = ((x @ self.Ay.T) < 1).to(x.dtype)
        return -(active @ self.Ay) / self.n + self.lam * x

    def _sgrad(self, x: Tensor, generator: torch.Generator) -> Tensor:
        idx = minibatch(self.n, self.batch_size, x.shape[0], generator)
        Ayb = self.Ay[idx]
        active = (torch.einsum("sbd,sd->sb", Ayb, x) < 1).to(x.dtype)
        return -torch.einsum("sb,sbd->sd", active, Ayb) / self.batch_size + self.lam * x


class ReluNet(Problem):
    def __init__(self, *, dim: int | None = None, seed: int = 0, n: int = 200, batch_size: int = 1,
                 inputs: int = 5, hidden: int = 4, x0_scale: float = 1.0):
        p, h = check_pos_int("inputs", inputs), check_pos_int("hidden", hidden)
        if dim is not None and dim != h * p + h:
            raise ValueError(f"dim must be hidden*inputs + hidden = {h * p + h} for relu_net, got {dim!r}")
        self.n, self.p, self.h = check_pos_int("n", n), p, h
        self.batch_size = check_pos_int("batch_size", batch_size)
        self.name, self.dim, self.dtype = "relu_net", h * p + h, torch.float64
        self.smooth, self.convex = False, False
        gen = data_generator(seed)
        self.X = torch.randn(self.n, p, generator=gen, dtype=torch.float64)
        teacher = torch.randn(self.dim, generator=gen, dtype=torch.float64) / math.sqrt(p)
        self.y = self._forward(teacher.unsqueeze(0), self.X)[0]
        self.x_star, self.f_star, self.x0_scale = teacher, 0.0, float(x0_scale) * math.sqrt(self.dim)
        self.x0_center = None
        self.constants = {}
        self.certificates = {"f_star": "0 exactly: the targets are a teacher network of the same "
                                       "shape (realisable, no noise); the teacher attains it."}

    def _split(self, x: Tensor):
        S = x.shape[0]
        return x[:, : self.h * self.p].reshape(S, self.h, self.p), x[:, self.h * self.p:]

    def _forward(self, x: Tensor, X: Tensor) -> Tensor:
        W, v = self._split(x)
        return torch.einsum("snh,sh->sn", torch.relu(torch.einsum("np,shp->snh", X, W)), v)

    def _loss(self, x: Tensor) -> Tensor:
        r = self._forward(x, self.X) - self.y
        return 0.5 * (r * r).mean(-1)

    def _grad_on(self, x: Tensor, X: Tensor, y: Tensor) -> Tensor:
        # X: (S, B, p) or (B, p); y matching
        W, v = self._split(x)
        Xs = X if X.dim() == 3 else X.expand(x.shape[0], *X.shape)
        pre = torch.einsum("sbp,shp->sbh", Xs, W)
        hid = torch.relu(pre)
        r = torch.einsum("sbh,sh->sb", hid, v) - y
        B = Xs.shape[1]
        gv = torch.einsum("sb,sbh->sh", r, hid) / B
        back = r.unsqueeze(-1) * v.unsqueeze(1) * (pre > 0).to(x.dtype)  # (S, B, h)
        gW = torch.einsum("sbh,sbp->shp", back, Xs) / B
        return torch.cat([gW.reshape(x.shape[0], -1), gv], dim=-1)

    def _grad(self, x: Tensor) -> Tensor:
        return self._grad_on(x, self.X, self.y)

    def _sgrad(self, x: Tensor, generator: torch.Generator) -> Tensor:
        idx = minibatch(self.n, self.batch_size, x.shape[0], generator)
        return self._grad_on(x, self.X[idx], self.y[idx])
