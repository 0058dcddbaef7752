r"""A small NON-CONVEX network with certified constants: one tanh hidden layer, a fixed output
layer, logistic loss (issue 12: the reconstructed rate shapes on a network, not only on convex
problems; the MLP of :mod:`.mlp` certifies no L).

With x~ = (x, 1) (the constant feature carries the hidden biases) and hidden weights
W = (w_1, ..., w_m) in R^{m (p+1)} (the parameter vector, row-major),

    f(W) = (1/n) sum_i l(y_i u_i(W)),   u_i(W) = sum_j a_j tanh(w_j^T x~_i),
    l(z) = log(1 + e^{-z}),   a_j = c (-1)^j / sqrt(m)   (fixed, not trained; c = ``scale``).

Data (``data_generator(seed)``): x_i ~ N(0, I_p), p = ``inputs``; labels from a teacher of the
same architecture, y_i = sign(u_i(W*) + 0.3 sd(u(W*)) N(0, 1)), W* ~ N(0, 4/(p+1)) (label noise
keeps the data non-separable). A teacher rather than an XOR rule: XOR labels are uncorrelated
with x, so small weights sit on a plateau (the gradient of the linearised network vanishes), a
transient by design that an ASYMPTOTIC proxy must not be run on (search_space.long_transient).
Starting points: Glorot-style, every weight N(0, x0_scale^2/(p+1)).

Fixing the output layer is the two-layer setting of the mean-field / NTK analyses (e.g. Mei,
Montanari & Nguyen 2018, PNAS 115(33)); it is what makes a *global* smoothness constant
certifiable: with a trained output layer the Hessian grows with it without bound.

Certificates (everywhere), with S = X~^T X~ / n, ||a||^2 = c^2, a_max = c/sqrt(m), |l'| <= 1,
0 <= l'' <= 1/4, |tanh'| <= 1, |tanh''| <= c2 = 4 / (3 sqrt 3) (at tanh^2 = 1/3):
- L = lambda_max(S) (||a||^2 / 4 + c2 a_max). The Hessian is
  (1/n) sum_i [l''(z_i) grad z_i grad z_i^T + l'(z_i) y_i grad^2 u_i]. For a unit v = (v_j):
  (grad z_i^T v)^2 = (sum_j a_j tanh'_ij v_j^T x~_i)^2 <= ||a||^2 sum_j (v_j^T x~_i)^2 (Cauchy-
  Schwarz), whose mean over i is <= ||a||^2 lambda_max(S); grad^2 u_i is block diagonal with
  blocks a_j tanh''_ij x~_i x~_i^T, so |v^T (.) v| <= a_max c2 sum_j (v_j^T x~_i)^2, mean
  <= a_max c2 lambda_max(S). lambda_max by an exact eigendecomposition (+1e-10 margin).
- G = a_max max_ik |x~_ik| >= ||g||_inf: a per-sample gradient coordinate is
  l' y_i a_j tanh'_ij x~_ik; a minibatch mean is bounded by the same.
- M = ||a|| max_i ||x~_i|| >= ||g|| for every minibatch gradient (a mean of vectors of norm
  <= ||a|| ||x~_i||).
- sigma^2 = (1/(B n)) sum_i ||a||^2 ||x~_i||^2 >= E||g - grad f||^2 (a minibatch of B drawn
  uniformly with replacement: the variance is 1/B of one sample's, at most its second moment).
- f* >= log(1 + e^{-||a||_1}) = log(1 + e^{-c sqrt m}) since |u_i| <= ||a||_1: a certified
  *lower bound* (``f_star``); the infimum is not known (tanh saturates, it may not be attained).
No mu (not convex). Stochastic gradient: the mean of B per-sample gradients drawn uniformly with
replacement (unbiased). Float64, like every problem with certified constants.
Deviation from the papers: their experiments train larger networks (CNNs on CIFAR-10 / MNIST);
this one is small enough for certified constants and fast runs.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.nn.functional import logsigmoid

from ..seeding import data_generator
from ._common import EIG_MARGIN, check_pos_int, check_real, minibatch, sym_eig_extremes
from .base import Problem

#: max |tanh''(t)| = max 2 tanh (1 - tanh^2), reached at tanh^2 = 1/3
TANH_CURVATURE = 4.0 / (3.0 * math.sqrt(3.0))
#: the teacher's hidden weights are N(0, TEACHER_SCALE^2 / (p + 1)); labels flip with noise of
#: LABEL_NOISE times the spread of the teacher's outputs (non-separable data: a minimum exists)
TEACHER_SCALE, LABEL_NOISE = 2.0, 0.3


class TanhNet(Problem):
    def __init__(self, *, dim: int | None = None, seed: int = 0, n: int = 200, inputs: int = 2,
                 hidden: int = 8, batch_size: int = 4, scale: float = 1.0, x0_scale: float = 1.0):
        p, m = check_pos_int("inputs", inputs, ge=2), check_pos_int("hidden", hidden, ge=2)
        n, self.batch_size = check_pos_int("n", n), check_pos_int("batch_size", batch_size)
        self.x0_scale = check_real("x0_scale", x0_scale, gt=0)
        c = check_real("scale", scale, gt=0)
        d = m * (p + 1)
        if dim is not None and dim != d:
            raise ValueError(f"dim must be {d} for this tanh_net (hidden * (inputs + 1)), got {dim!r}")
        self.name, self.dim, self.dtype, self.smooth, self.convex = "tanh_net", d, torch.float64, True, False
        self.inputs, self.hidden, self.n = p, m, n
        gen = data_generator(seed)
        X = torch.randn(n, p, generator=gen, dtype=torch.float64)
        self.Xt = torch.cat([X, torch.ones(n, 1, dtype=torch.float64)], dim=1)  # (n, p+1)
        self.a = c * torch.tensor([(-1.0) ** j for j in range(m)], dtype=torch.float64) / math.sqrt(m)
        teacher = TEACHER_SCALE * torch.randn(1, d, generator=gen, dtype=torch.float64) / math.sqrt(p + 1)
        u = torch.tanh(self._pre(teacher, self.Xt))[0] @ self.a
        y = torch.sign(u + LABEL_NOISE * u.std() * torch.randn(n, generator=gen, dtype=torch.float64))
        y[y == 0] = 1.0
        self.y = y
        lmax, _ = sym_eig_extremes(self.Xt.T @ self.Xt / n)
        a_max, a_sq, a_l1 = c / math.sqrt(m), c * c, c * math.sqrt(m)
        f_low = math.log1p(math.exp(-a_l1))
        norms = self.Xt.norm(dim=1)
        self.constants = {
            "L": lmax * (1 + EIG_MARGIN) * (a_sq / 4 + TANH_CURVATURE * a_max),
            "G": a_max * float(self.Xt.abs().max()),
            "M": math.sqrt(a_sq) * float(norms.max()),
            "sigma": math.sqrt(a_sq * float((norms ** 2).mean()) / self.batch_size),
        }
        self.certificates = {
            "L": "lambda_max(X~^T X~/n) (||a||^2/4 + a_max 4/(3 sqrt 3)): the logistic curvature <= 1/4 "
                 "on the outer-product term, |l'| <= 1 and |tanh''| <= 4/(3 sqrt 3) on the block-diagonal "
                 "term; lambda_max by an exact eigendecomposition (+1e-10 margin).",
            "G": "a_max max_ik |x~_ik| bounds every per-sample (hence minibatch) gradient coordinate.",
            "M": "||a|| max_i ||x~_i|| bounds every per-sample (hence minibatch) gradient norm.",
            "sigma": "(1/(B n)) sum ||a||^2 ||x~_i||^2 >= E||g - grad f||^2 everywhere (a variance is at "
                     "most the second moment; |l'| <= 1, |tanh'| <= 1).",
            "f_star": f"log(1 + exp(-||a||_1)) = {f_low:.6g} is a lower bound "
                      "(|u_i| <= ||a||_1); the infimum is unknown.",
        }
        self.f_star, self.x_star = f_low, None

    def x0(self, n_seeds: int, generator: torch.Generator) -> Tensor:
        """Glorot-style: every hidden weight N(0, x0_scale^2 / (p + 1))."""
        z = torch.randn(n_seeds, self.dim, generator=generator, dtype=self.dtype, device=generator.device)
        return z.cpu() * (self.x0_scale / math.sqrt(self.inputs + 1))

    def _pre(self, x: Tensor, Xt: Tensor) -> Tensor:
        """Hidden pre-activations: x (S, d), Xt (S, B, p+1) or (n, p+1) -> (S, B, m)."""
        W = x.reshape(x.shape[0], self.hidden, self.inputs + 1)
        if Xt.dim() == 2:
            return torch.einsum("smk,bk->sbm", W, Xt)
        return torch.einsum("smk,sbk->sbm", W, Xt)

    def _loss(self, x: Tensor) -> Tensor:
        u = torch.tanh(self._pre(x, self.Xt)) @ self.a  # (S, n)
        return -logsigmoid(self.y * u).mean(-1)

    def _dpre(self, x: Tensor, Xt: Tensor, y: Tensor) -> Tensor:
        """Per-sample dl/d(pre-activation) = l'(z) y a_j tanh'(w_j^T x~): (S, B, m)."""
        h = torch.tanh(self._pre(x, Xt))                          # (S, B, m)
        dz = -torch.sigmoid(-y * (h @ self.a)) * y                # dl/du = l'(z) y
        return dz.unsqueeze(-1) * self.a * (1 - h * h)

    def _grad_on(self, x: Tensor, Xt: Tensor, y: Tensor) -> Tensor:
        """Mean gradient over the rows of Xt (n, p+1) or (S, B, p+1), labels y (n,) or (S, B)."""
        dpre = self._dpre(x, Xt, y)
        spec = "sbm,bk->smk" if Xt.dim() == 2 else "sbm,sbk->smk"
        return torch.einsum(spec, dpre, Xt).reshape(x.shape[0], self.dim) / dpre.shape[1]

    def _grad(self, x: Tensor) -> Tensor:
        return self._grad_on(x, self.Xt, self.y)

    def per_sample_grads(self, x: Tensor) -> Tensor:
        """(S, n, d) per-sample gradients (for tests and variance estimates)."""
        g = self._dpre(x, self.Xt, self.y).unsqueeze(-1) * self.Xt.unsqueeze(1)  # (S, n, m, p+1)
        return g.reshape(x.shape[0], self.n, self.dim)

    def _sgrad(self, x: Tensor, generator: torch.Generator) -> Tensor:
        idx = minibatch(self.n, self.batch_size, x.shape[0], generator)
        return self._grad_on(x, self.Xt[idx].to(x.dtype), self.y[idx])
