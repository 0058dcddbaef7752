r"""Reddi, Kale & Kumar's stochastic convex problem on which Adam does not converge (AMSGrad does).

Source: S. J. Reddi, S. Kale, S. Kumar, "On the Convergence of Adam and Beyond", ICLR 2018,
arXiv:1904.09237, Theorem 3 (stochastic setting). On the box ``[-D, D]^d`` (the paper: d = 1,
D = 1), every coordinate independently,

    f(x, xi) = sum_i c_i x_i,   c_i = C with probability p = (1 + delta)/(C + 1), else -1,

so ``E c_i = p (C + 1) - 1 = delta``: ``E f(x, xi) = delta sum_i x_i`` is minimised at the corner
``x* = -D 1`` (exact: a linear function on a box). The stochastic gradient is the vector ``c``; it
does not depend on x, so delays and workers do not change the law of a run, only its seeds.
Theorem 3: for every ``beta1 < sqrt(beta2)`` there are C and delta for which Adam does not
converge to x*. Mechanism: Adam's exponential average v damps the rare large gradient C, and
the frequent -1 steps act at full size once v has decayed between two rare ones; AMSGrad's
running maximum keeps the damping, so its expected step is along ``-delta``.

Deviations (ours): the recorded loss is shifted by the constant ``delta D d``, ``f(x) = delta
sum_i (x_i + D)``, so ``f* = 0`` and ``0 <= f <= 2 delta D d`` on the box (gaps and gradients are
unchanged; a loss crossing zero would pass for a blow-up in ``checks.measure.blowup``, which
compares the last loss with the first); the start is the centre ``x0 = 0`` (``x0_scale = 0``).
Defaults ``C = 101, delta = 0.02`` (p = 0.01): gradients 1010 with probability 0.01, else -10,
divided by 10 (Adam and AMSGrad without eps are invariant under a positive scaling of the
gradients): the stochastic counterpart of the paper's §5 synthetic setting, whose online version
a public reproduction runs as 1010 x at t mod 101 = 1, else -10 x, beta = (0.9, 0.99), 10^7
steps (labml_nn ``optimizers/amsgrad.py``); the paper's text was not re-read here.

Certificates (exact, from the two-point law; derived here, not the paper's):

- ``L``: f is linear (its gradient is the constant ``delta 1``), so every L >= 0 is a Lipschitz
  constant of the gradient; the checks require a certified L > 0 for "L-smooth"
  (``checks.applicability.uncertified``), so L is the smallest positive normal double
  (``sys.float_info.min``: 1/L is finite, and the descent lemma's L/2 ||u||^2 is 0 to round-off);
- ``G = max(C, 1)``: every stochastic gradient coordinate is C or -1;
- ``M^2 = E||g||^2 = d (p C^2 + 1 - p)`` (an equality);
- ``sigma^2 = E||g - grad f||^2 = d (p C^2 + 1 - p - delta^2)`` (an equality: d Var c_i);
- ``D``: the box; ``project`` is the clamp. No ``mu``: a linear function is not strongly convex.

Not in the worst-case search's families (``checks.search_space.PROBLEM_FAMILIES``), measured
(README, "Adam's counterexample"): at APAM's beta2 = 0.999 Adam goes wrong only when the rare
gradient is about 1/(1 - beta2) = 1000 updates apart, so a quick-suite run (3000-6000 updates)
sees a handful of them and correct APAM does not reach x* either: the convex check's rate proxy
then FAILs the correct algorithm, and where it PASSes it, it PASSes Adam too.
"""

from __future__ import annotations

import math
import sys

import torch
from torch import Tensor

from ._common import check_pos_int, check_real
from .base import Problem


class AdamCounterexample(Problem):
    def __init__(self, *, dim: int = 1, seed: int = 0, C: float = 101.0, delta: float = 0.02,
                 box: float = 1.0, x0_scale: float = 0.0):
        d = check_pos_int("dim", dim)
        C = check_real("C", C, gt=0)
        delta = check_real("delta", delta, gt=0)
        box = check_real("box", box, gt=0)
        if not delta < C:  # p = (1 + delta)/(C + 1) must be a probability below 1
            raise ValueError(f"delta must be < C = {C:g} (so that p < 1), got {delta!r}")
        del seed  # no data: the law is the whole problem
        self.name, self.dim, self.dtype, self.smooth, self.convex = (
            "adam_counterexample", d, torch.float64, True, True)
        self.C, self.delta, self.box = C, delta, box
        self.p = (1.0 + delta) / (C + 1.0)
        second = self.p * C * C + (1.0 - self.p)  # E c_i^2
        self.constants = {"L": sys.float_info.min, "G": max(C, 1.0), "M": math.sqrt(d * second),
                          "sigma": math.sqrt(d * (second - delta * delta)), "D": box}
        self.certificates = {
            "L": "f(x) = delta sum (x_i + D) is linear: its gradient is constant, so every L > 0 "
                 "certifies (the smallest positive normal double is taken).",
            "G": "every stochastic gradient coordinate is C or -1.",
            "M": "E||g||^2 = d (p C^2 + 1 - p) exactly (two-point law per coordinate).",
            "sigma": "E||g - grad f||^2 = d (p C^2 + 1 - p - delta^2) exactly (Var of the two-point law).",
            "D": f"the domain is the box [-{box:g}, {box:g}]^d; project is the clamp.",
        }
        self.x_star = torch.full((d,), -box, dtype=torch.float64)
        self.f_star = 0.0
        self.certificates["f_star"] = ("exact: f(x) = delta sum (x_i + D) with delta > 0 is minimised "
                                       "at the corner x* = -D 1 of the box, where it is 0.")
        self.x0_scale = check_real("x0_scale", x0_scale, ge=0)

    def _loss(self, x: Tensor) -> Tensor:
        return self.delta * (x + self.box).sum(-1)

    def _grad(self, x: Tensor) -> Tensor:
        return torch.full_like(x, self.delta)

    def _sgrad(self, x: Tensor, generator: torch.Generator) -> Tensor:
        u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=generator.device).to(x.device)
        return torch.where(u < self.p, torch.full_like(x, self.C), torch.full_like(x, -1.0))
