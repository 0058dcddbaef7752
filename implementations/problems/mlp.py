"""A small real network: MLP classifier with a flat parameter vector, batched over seeds.

Architecture: ``inputs -> hidden -> hidden -> classes`` with tanh activations and softmax
cross-entropy, float32. Parameters of S seeds are a (S, d) tensor; the forward pass uses
``torch.bmm`` over the seed dimension (no per-seed loops). Gradients come from autograd on the
sum of the per-seed losses (seeds do not interact, so each row gets its own gradient).

Data: Gaussian clusters (``classes`` centres on a sphere of radius ``separation``, unit
noise) from ``data_generator(seed)``, or a local ``.npz`` file (``data=path``, see
``load_dataset``; labels are mapped to 0..C-1). The stochastic gradient is a minibatch mean
with replacement (unbiased).

Certified: f* >= 0 only (cross-entropy is non-negative); ``f_star = 0.0`` is a lower bound.
No L, sigma: not certifiable for this network; checks must measure them.
Deviation from the papers: the papers' experiments use larger CNNs on real data.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor
from torch.nn.functional import cross_entropy

from ..seeding import data_generator
from ._common import check_pos_int, check_real, minibatch
from .base import Problem
from .data import load_dataset


class MLP(Problem):
    def __init__(self, *, dim: int | None = None, seed: int = 0, n: int = 512, batch_size: int = 32,
                 inputs: int = 8, hidden: int = 16, classes: int = 3, separation: float = 3.0,
                 data: str | None = None):
        self.batch_size = check_pos_int("batch_size", batch_size)
        hidden = check_pos_int("hidden", hidden)
        gen = data_generator(seed)
        if data is not None:
            X, y = load_dataset(data)
            labels, y = np.unique(y, return_inverse=True)
            self.X = torch.as_tensor(X, dtype=torch.float32)
            self.y = torch.as_tensor(y, dtype=torch.long)
            inputs, classes = self.X.shape[1], max(2, len(labels))
        else:
            n, inputs = check_pos_int("n", n), check_pos_int("inputs", inputs)
            classes = check_pos_int("classes", classes, ge=2)
            separation = check_real("separation", separation, ge=0)
            centres = torch.randn(classes, inputs, generator=gen)
            centres = separation * centres / centres.norm(dim=1, keepdim=True)
            self.y = torch.randint(classes, (n,), generator=gen)
            self.X = centres[self.y] + torch.randn(n, inputs, generator=gen)
        self.n = self.X.shape[0]
        self.sizes = [inputs, hidden, hidden, classes]
        self.shapes = [(a, b) for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=False)]
        d = sum(a * b + b for a, b in self.shapes)
        if dim is not None and dim != d:
            raise ValueError(f"dim must be {d} for this mlp (set by inputs/hidden/classes), got {dim!r}")
        self.name, self.dim, self.dtype = "mlp", d, torch.float32
        self.smooth, self.convex = True, False
        self.f_star, self.x_star = 0.0, None
        self.constants = {}
        self.certificates = {"f_star": "0 is a lower bound (cross-entropy >= 0); the true f* is unknown."}

    def x0(self, n_seeds: int, generator: torch.Generator) -> Tensor:
        """Glorot-style init per layer: weights N(0, 1/fan_in), biases 0."""
        parts = []
        for a, b in self.shapes:
            w = torch.randn(n_seeds, a * b, generator=generator, device=generator.device) / math.sqrt(a)
            parts += [w.cpu(), torch.zeros(n_seeds, b)]
        return torch.cat(parts, dim=-1)

    def _forward(self, x: Tensor, X: Tensor) -> Tensor:
        """x (S, d), X (S, B, p) -> logits (S, B, C)."""
        h, off, S = X, 0, x.shape[0]
        for i, (a, b) in enumerate(self.shapes):
            W = x[:, off: off + a * b].reshape(S, a, b)
            off += a * b
            bias = x[:, off: off + b]
            off += b
            h = torch.bmm(h, W) + bias.unsqueeze(1)
            if i < len(self.shapes) - 1:
                h = torch.tanh(h)
        return h

    def _losses(self, x: Tensor, X: Tensor, y: Tensor) -> Tensor:
        logits = self._forward(x, X)
        S, B, C = logits.shape
        return cross_entropy(logits.reshape(S * B, C), y.reshape(S * B), reduction="none").reshape(S, B).mean(-1)

    def _full(self, x: Tensor):
        S = x.shape[0]
        return self.X.to(x.dtype).expand(S, *self.X.shape), self.y.expand(S, self.n)

    def _loss(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            return self._losses(x, *self._full(x))

    def _grad_of(self, x: Tensor, X: Tensor, y: Tensor) -> Tensor:
        with torch.enable_grad():
            xr = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self._losses(xr, X, y).sum(), xr)
        return g

    def _grad(self, x: Tensor) -> Tensor:
        return self._grad_of(x, *self._full(x))

    def _sgrad(self, x: Tensor, generator: torch.Generator) -> Tensor:
        idx = minibatch(self.n, self.batch_size, x.shape[0], generator)
        return self._grad_of(x, self.X[idx].to(x.dtype), self.y[idx])
