"""Huber regression: a smooth, convex, non-quadratic problem whose stochastic gradients are
bounded by construction, so M (and B = tau M, the elastic constant of lock-free shared memory)
is certified, not measured on the run (issue 12: divergence that counts).

Data (``data_generator(seed)``): rows a_i ~ N(0, I_d), b = A w + 0.5 N(0, 1) plus, on every
tenth row, an outlier 5 N(0, 1) (so the linear zone of the loss is visited).

    f(x) = (1/n) sum_i h_delta(a_i^T x - b_i) + (lam/2) ||x||^2,
    h_delta(r) = r^2 / 2 (|r| <= delta),  delta (|r| - delta / 2) (otherwise),

optionally on the box [-D, D]^d (``box = D``: ``project`` is the clamp). Three structural
variants, named by what they certify (as ``logistic``/``logistic_box``):
- ``huber`` (lam = 0, no box): M and G everywhere, no mu;
- ``huber_ridge`` (lam > 0, no box): mu = lam; the gradient lam x is unbounded, so NO M and no G;
- ``huber_box`` (a box, lam >= 0): M and G on the box, mu = lam when lam > 0.

Per-sample gradient clip(r_i, -delta, delta) a_i + lam x; the stochastic gradient is the mean of
B of them drawn uniformly with replacement (unbiased). Certificates:
- L = lambda_max(A^T A)/n + lam (h'' <= 1), by an exact eigendecomposition (+1e-10 margin);
- M = delta max_i ||a_i|| (+ lam D sqrt(d) on the box) >= ||g|| for every minibatch gradient (a
  mean of vectors of norm <= it); G = delta max_ij |a_ij| (+ lam D) >= ||g||_inf;
- sigma^2 = (1/(B n)) sum_i delta^2 ||a_i||^2 >= E||g - grad f||^2 (variance <= second moment;
  the lam x term is deterministic);
- mu = lam (the ridge term; the Huber part is convex). Without a ridge no strong convexity is
  claimed (the loss is linear in the tails).
f*/x*: without a box, semismooth Newton with backtracking in float64 to ||grad f|| <= 1e-12
(with lam > 0 the certified gap is ||grad||^2/(2 lam)); on the box, the minimiser over the box by
FISTA with a certified Frank-Wolfe gap (``_common.fista_box``). ``x0_scale`` sets how far from x*
the runs start (the linear zone, where ||grad f|| is near M when n is small, is then long).
Source: Huber (1964), Ann. Math. Stat. 35(1); a standard robust-regression test problem, no
paper deviation.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..seeding import data_generator
from ._common import EIG_MARGIN, check_pos_int, check_real, fista_box, minibatch, sym_eig_extremes
from .base import Problem


class Huber(Problem):
    def __init__(self, *, dim: int = 10, seed: int = 0, n: int = 200, batch_size: int = 1,
                 delta: float = 1.0, x0_scale: float = 1.0, lam: float = 0.0,
                 box: float | None = None):
        d, n = check_pos_int("dim", dim), check_pos_int("n", n)
        self.batch_size = check_pos_int("batch_size", batch_size)
        self.delta = check_real("delta", delta, gt=0)
        self.lam = check_real("lam", lam, ge=0)
        self.box = None if box is None else check_real("box", box, gt=0)
        self.name = "huber_box" if self.box is not None else ("huber_ridge" if self.lam > 0 else "huber")
        self.dim, self.dtype, self.smooth, self.convex = d, torch.float64, True, True
        gen = data_generator(seed)
        A = torch.randn(n, d, generator=gen, dtype=torch.float64)
        w = torch.randn(d, generator=gen, dtype=torch.float64) / math.sqrt(d)
        b = A @ w + 0.5 * torch.randn(n, generator=gen, dtype=torch.float64)
        b[::10] += 5.0 * torch.randn(len(b[::10]), generator=gen, dtype=torch.float64)
        self.A, self.b, self.n = A, b, n
        lmax, _ = sym_eig_extremes(A.T @ A / n)
        an = A.norm(dim=1)
        dl, lam = self.delta, self.lam
        self.constants = {"L": lmax * (1 + EIG_MARGIN) + lam,
                          "sigma": dl * math.sqrt(float((an ** 2).mean()) / self.batch_size)}
        self.certificates = {
            "L": "lambda_max(A^T A)/n + lam (the Huber function has h'' <= 1), exact eigendecomposition "
                 "(+1e-10 relative margin).",
            "sigma": "(1/(B n)) sum delta^2 ||a_i||^2 >= E||g - grad f||^2 (variance <= second moment; "
                     "the lam x term is deterministic).",
        }
        if lam > 0:
            self.constants["mu"] = lam
            self.certificates["mu"] = "lam: the ridge term; the Huber part is convex."
        if self.box is not None:  # on the box ||lam x|| <= lam D sqrt(d), |lam x_j| <= lam D
            D = self.box
            self.constants |= {"D": D, "M": dl * float(an.max()) + lam * D * math.sqrt(d),
                               "G": dl * float(A.abs().max()) + lam * D}
            self.certificates |= {
                "D": f"the domain is the box [-{D:g}, {D:g}]^d; project is the clamp.",
                "M": "delta max_i ||a_i|| + lam D sqrt(d) bounds every per-sample (hence minibatch) "
                     "gradient norm on the box.",
                "G": "delta max_ij |a_ij| + lam D bounds every gradient coordinate on the box."}
        elif lam == 0:  # with a ridge and no box the gradient is unbounded: no M, no G
            self.constants |= {"M": dl * float(an.max()), "G": dl * float(A.abs().max())}
            self.certificates |= {
                "M": "delta max_i ||a_i||: every per-sample gradient clip(r_i) a_i has norm <= it, so "
                     "does their minibatch mean.",
                "G": "delta max_ij |a_ij| bounds every gradient coordinate."}
        self.x0_scale = float(x0_scale)
        self._solve()

    def _res(self, x: Tensor) -> Tensor:
        return x @ self.A.T - self.b

    def _loss(self, x: Tensor) -> Tensor:
        r, dl = self._res(x), self.delta
        a = r.abs()
        return torch.where(a <= dl, 0.5 * r * r, dl * (a - 0.5 * dl)).mean(-1) + 0.5 * self.lam * (x * x).sum(-1)

    def _grad(self, x: Tensor) -> Tensor:
        return self._res(x).clamp(-self.delta, self.delta) @ self.A / self.n + self.lam * x

    def per_sample_grads(self, x: Tensor) -> Tensor:
        """(S, n, d) per-sample gradients (for tests and variance estimates)."""
        r = self._res(x).clamp(-self.delta, self.delta)
        return r.unsqueeze(-1) * self.A + self.lam * x.unsqueeze(-2)

    def _sgrad(self, x: Tensor, generator: torch.Generator) -> Tensor:
        idx = minibatch(self.n, self.batch_size, x.shape[0], generator)
        Ab, bb = self.A[idx], self.b[idx]  # (S, B, d), (S, B)
        r = (torch.einsum("sbd,sd->sb", Ab, x) - bb).clamp(-self.delta, self.delta)
        return torch.einsum("sb,sbd->sd", r, Ab) / self.batch_size + self.lam * x

    def _solve(self) -> None:
        if self.box is not None:
            x, gap = fista_box(self._loss, self._grad, self.constants["L"], self.box, self.dim)
            how = f"FISTA on the box in float64; certified f(x_hat) - f* <= {gap:.3g} (Frank-Wolfe gap)"
        else:
            x = self._newton()
            gn = float(self._grad(x)[0].norm())
            gap = gn ** 2 / (2 * self.lam) if self.lam > 0 else 0.0
            how = (f"semismooth Newton in float64, ||grad f(x_hat)|| = {gn:.2g}"
                   + (f" (certified gap ||grad||^2/(2 lam) = {gap:.3g})" if self.lam > 0 else ""))
        self.x_star = x[0].clone()
        self.x0_center = self.x_star
        self.f_star = float(self._loss(x)[0])
        self.f_star_gap = gap
        self.certificates["f_star"] = how + "."

    def _newton(self) -> Tensor:
        x = torch.zeros(1, self.dim, dtype=torch.float64)
        eye = torch.eye(self.dim, dtype=torch.float64)
        for _ in range(200):
            g = self._grad(x)[0]
            gn = float(g.norm())
            if gn <= 1e-12:
                break
            # the generalised Hessian A_I^T A_I / n + lam I, Levenberg-Marquardt damped by ||g||:
            # with few residuals in the quadratic zone (n small) it is singular, and the damped
            # step is then a gradient step; near x* the damping vanishes (superlinear again)
            inside = (self._res(x)[0].abs() <= self.delta).to(torch.float64)
            H = (self.A.T * inside) @ self.A / self.n + (self.lam + 1e-12 + gn) * eye
            step = torch.linalg.lstsq(H, g.unsqueeze(-1)).solution.squeeze(-1)
            t, f0 = 1.0, float(self._loss(x)[0])
            slack = 4 * torch.finfo(torch.float64).eps * abs(f0)  # f's round-off: near x* the
            # decrease is below it, and the full Newton step must not be refused for that
            while float(self._loss(x - t * step)[0]) > f0 - 1e-4 * t * float(g @ step) + slack and t > 1e-12:
                t *= 0.5
            x = x - t * step
        return x
