"""A small LeNet-style CNN on the 8x8 digits, with a flat parameter vector batched over seeds.

Architecture (LeNet-5's pattern scaled to 8x8 inputs: convolution, tanh, average-pooling
"subsampling", twice, then two dense layers):

    1x8x8 -conv3x3(pad 1)-> c1x8x8 -tanh-> avgpool2 -> c1x4x4
          -conv3x3(pad 1)-> c2x4x4 -tanh-> avgpool2 -> c2x2x2 -> flatten (4 c2)
          -dense-> hidden -tanh-> dense -> 10 logits;  loss: mean softmax cross-entropy.

Defaults c1 = 6, c2 = 12, hidden = 32: d = 2618 parameters. tanh and average pooling (as in
LeNet-5, not ReLU/max-pooling) keep f twice differentiable, so L-smoothness is meaningful
locally and the audit's Hessian-vector power iteration measures it.

Gradients by autograd (``torch.func.grad``; ``vmap`` over the seed dimension when S > 1): a
hand-written backward is not worth it for a convolution. The forward runs in the dtype of x
(float32 by default; the audit evaluates in float64 for finite differences). Stochastic
gradient: the mean over a minibatch drawn uniformly with replacement (unbiased).

Certified: f* >= 0 only. No L, sigma: measured by ``asyncbound audit``.
Deviation from the papers: LeNet-5 on 28x28 MNIST (Xu et al.) and ResNets on CIFAR
(Kungurtsev et al., Nadiradze et al.) are much larger; this network keeps the papers' studies
within minutes on 2 CPU cores.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.func import grad, vmap
from torch.nn import functional as F

from ._common import check_pos_int, cross_entropy_identity, minibatch
from .base import Problem
from .real_data import ClassifierMetrics


class DigitsCNN(ClassifierMetrics, Problem):
    def __init__(self, *, dim: int | None = None, seed: int = 0, batch_size: int = 32,
                 channels: tuple[int, int] = (6, 12), hidden: int = 32, test_fraction: float = 0.2):
        self.batch_size = check_pos_int("batch_size", batch_size)
        c1, c2 = (check_pos_int("channels", int(c)) for c in channels)
        hidden = check_pos_int("hidden", hidden)
        self._load_digits(seed, test_fraction)
        # (name, shape, fan_in); weights before their bias, in forward order
        self.param_shapes = [("conv1.w", (c1, 1, 3, 3), 9), ("conv1.b", (c1,), None),
                             ("conv2.w", (c2, c1, 3, 3), 9 * c1), ("conv2.b", (c2,), None),
                             ("fc1.w", (4 * c2, hidden), 4 * c2), ("fc1.b", (hidden,), None),
                             ("fc2.w", (hidden, 10), hidden), ("fc2.b", (10,), None)]
        self.layer_sizes = [math.prod(s) for _, s, _ in self.param_shapes]
        d = sum(self.layer_sizes)
        if dim is not None and dim != d:
            raise ValueError(f"dim must be {d} for digits_cnn (set by channels/hidden), got {dim!r}")
        cross_entropy_identity(self, "digits_cnn", d)

    def x0(self, n_seeds: int, generator: torch.Generator) -> Tensor:
        """Weights N(0, 1/fan_in) per layer, biases 0 (as the MLP)."""
        parts = []
        for (_, _, fan_in), size in zip(self.param_shapes, self.layer_sizes, strict=True):
            if fan_in is None:
                parts.append(torch.zeros(n_seeds, size))
            else:
                w = torch.randn(n_seeds, size, generator=generator, device=generator.device)
                parts.append(w.cpu() / math.sqrt(fan_in))
        return torch.cat(parts, dim=-1)

    # --- one parameter vector -------------------------------------------------------------
    def _unflatten(self, theta: Tensor) -> list[Tensor]:
        out, off = [], 0
        for (_, shape, _), size in zip(self.param_shapes, self.layer_sizes, strict=True):
            out.append(theta[off: off + size].reshape(shape))
            off += size
        return out

    def _logits1(self, theta: Tensor, X: Tensor) -> Tensor:
        """theta (d,), X (B, 64) -> logits (B, 10)."""
        w1, b1, w2, b2, w3, b3, w4, b4 = self._unflatten(theta)
        h = X.reshape(-1, 1, 8, 8)
        h = F.avg_pool2d(torch.tanh(F.conv2d(h, w1, b1, padding=1)), 2)
        h = F.avg_pool2d(torch.tanh(F.conv2d(h, w2, b2, padding=1)), 2)
        h = torch.tanh(h.flatten(1) @ w3 + b3)
        return h @ w4 + b4

    def _loss1(self, theta: Tensor, X: Tensor, y: Tensor) -> Tensor:
        return F.cross_entropy(self._logits1(theta, X), y)

    # --- batched over seeds ---------------------------------------------------------------
    def _forward(self, x: Tensor, X: Tensor) -> Tensor:
        """x (S, d), X (S, B, 64) -> logits (S, B, 10)."""
        if x.shape[0] == 1:
            return self._logits1(x[0], X[0]).unsqueeze(0)
        return vmap(self._logits1)(x, X)

    def _grad_of(self, x: Tensor, X: Tensor, y: Tensor) -> Tensor:
        """Autograd gradient of the minibatch mean loss; x (S, d), X (S, B, 64), y (S, B)."""
        with torch.enable_grad():
            if x.shape[0] == 1:  # plain autograd: half the time of torch.func.grad at S = 1
                theta = x[0].detach().requires_grad_(True)
                (g,) = torch.autograd.grad(self._loss1(theta, X[0], y[0]), theta)
                return g.unsqueeze(0)
            return vmap(grad(self._loss1))(x.detach(), X, y)

    def _full(self, x: Tensor) -> tuple[Tensor, Tensor]:
        S = x.shape[0]
        return self.X.to(x.dtype).expand(S, *self.X.shape), self.y.expand(S, self.n)

    def _loss(self, x: Tensor) -> Tensor:
        X, y = self._full(x)
        with torch.no_grad():
            logits = self._forward(x, X)
        S, B, C = logits.shape
        return F.cross_entropy(logits.reshape(S * B, C), y.reshape(-1), reduction="none").reshape(S, B).mean(-1)

    def _grad(self, x: Tensor) -> Tensor:
        return self._grad_of(x, *self._full(x))

    def _sgrad(self, x: Tensor, generator: torch.Generator) -> Tensor:
        idx = minibatch(self.n, self.batch_size, x.shape[0], generator)
        return self._grad_of(x, self.X[idx].to(x.dtype), self.y[idx])


__all__ = ["DigitsCNN"]
