"""A small real network: MLP classifier with a flat parameter vector, batched over seeds.

Architecture: ``inputs -> hidden -> hidden -> classes`` with tanh activations and softmax
cross-entropy, float32. Parameters of S seeds are a (S, d) tensor; the forward pass uses
``torch.baddbmm`` over the seed dimension (no per-seed loops). The gradient with S = 1 (every
update of the real backends) runs on 2-D tensors with plain ``addmm``/``mm`` instead: a batch
of one gains nothing from the batched kernels.
Gradients are computed analytically (``_grad_analytic``: the network is small and fixed, so the
backward pass is five matmuls, two ``tanh_backward`` and a softmax, without autograd's graph
bookkeeping, which dominated an update of the real backends). ``_grad_autograd`` (autograd on
the sum of the per-seed losses; seeds do not interact, so each row gets its own gradient) is
kept as the reference the analytic one is tested against.

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
from ._common import check_pos_int, check_real, cross_entropy_identity, minibatch
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
        cross_entropy_identity(self, "mlp", d)

    def x0(self, n_seeds: int, generator: torch.Generator) -> Tensor:
        """Glorot-style init per layer: weights N(0, 1/fan_in), biases 0."""
        parts = []
        for a, b in self.shapes:
            w = torch.randn(n_seeds, a * b, generator=generator, device=generator.device) / math.sqrt(a)
            parts += [w.cpu(), torch.zeros(n_seeds, b)]
        return torch.cat(parts, dim=-1)

    def _layers(self, x: Tensor):
        """Per layer ``(W, bias)`` as views of x (no copies): (a, b), (b,) for a single (d,)
        vector, else (S, a, b), (S, b)."""
        flat = x.dim() == 1
        S = 1 if flat else x.shape[0]
        out, off = [], 0
        for a, b in self.shapes:
            if flat:
                W = x[off: off + a * b].reshape(a, b)
            else:
                W = x[:, off: off + a * b].reshape(S, a, b)
            off += a * b
            out.append((W, x[..., off: off + b]))
            off += b
        return out

    @staticmethod
    def _affine(h: Tensor, W: Tensor, bias: Tensor) -> Tensor:
        """``h @ W + bias`` fused: ``addmm`` for one (B, a) batch, ``baddbmm`` for (S, B, a)."""
        if h.dim() == 2:
            return torch.addmm(bias, h, W)
        return torch.baddbmm(bias.unsqueeze(1), h, W)

    def _forward(self, x: Tensor, X: Tensor) -> Tensor:
        """x (S, d), X (S, B, p) -> logits (S, B, C); x (d,), X (B, p) -> (B, C)."""
        h = X
        layers = self._layers(x)
        for i, (W, bias) in enumerate(layers):
            h = self._affine(h, W, bias)
            if i < len(layers) - 1:
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

    def _grad_autograd(self, x: Tensor, X: Tensor, y: Tensor) -> Tensor:
        """Reference gradient (autograd through the batched forward); x (S, d), X (S, B, p)."""
        with torch.enable_grad():
            xr = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self._losses(xr, X, y).sum(), xr)
        return g

    def _grad_analytic(self, x: Tensor, X: Tensor, y: Tensor) -> Tensor:
        """Gradient of the mean cross-entropy by the chain rule, written out; x (S, d), X (S, B, p).

        S = 1 runs on 2-D tensors (``addmm``/``mm``, each layer's gradient written in place into
        the flat result); S > 1 on 3-D (``baddbmm``/``bmm``, concatenated).
        With z_l = h_{l-1} W_l + b_l, h_l = tanh(z_l): dL/dz_last = (softmax - onehot(y)) / B,
        dW_l = h_{l-1}^T dz_l, db_l = sum_B dz_l, dz_{l-1} = tanh'(z_{l-1}) * (dz_l W_l^T).
        """
        S = x.shape[0]
        if S == 1:
            x, X, y = x[0], X[0], y[0]
        with torch.no_grad():
            layers = self._layers(x)
            hs = [X]  # the input of each layer
            for i, (W, bias) in enumerate(layers):
                z = self._affine(hs[-1], W, bias)
                hs.append(torch.tanh(z) if i < len(layers) - 1 else z)
            dz = torch.softmax(hs.pop(), dim=-1)
            yi = y.unsqueeze(-1)
            dz.scatter_add_(-1, yi, dz.new_full((1,) * dz.dim(), -1.0).expand(yi.shape))
            dz.div_(dz.shape[-2])  # the batch mean, as autograd's mean backward divides
            g = dz.new_empty(self.dim) if S == 1 else None
            parts = [None] * (2 * len(layers))
            off = self.dim
            for i in range(len(layers) - 1, -1, -1):
                h = hs[i]
                a, b = self.shapes[i]
                off -= a * b + b
                if g is not None:
                    torch.mm(h.T, dz, out=g[off: off + a * b].view(a, b))
                    torch.sum(dz, 0, out=g[off + a * b: off + a * b + b])
                else:
                    parts[2 * i] = torch.bmm(h.mT, dz).reshape(S, a * b)
                    parts[2 * i + 1] = dz.sum(-2)
                if i > 0:
                    dz = torch.ops.aten.tanh_backward(torch.matmul(dz, layers[i][0].mT), h)
        return g.unsqueeze(0) if g is not None else torch.cat(parts, dim=-1)

    def _grad_of(self, x: Tensor, X: Tensor, y: Tensor) -> Tensor:
        """The gradient every caller uses: the analytic one (the autograd one is its test oracle)."""
        return self._grad_analytic(x, X, y)

    def _grad(self, x: Tensor) -> Tensor:
        return self._grad_of(x, *self._full(x))

    def _sgrad(self, x: Tensor, generator: torch.Generator) -> Tensor:
        idx = minibatch(self.n, self.batch_size, x.shape[0], generator)
        return self._grad_of(x, self.X[idx].to(x.dtype), self.y[idx])
