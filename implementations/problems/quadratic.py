"""Quadratic with a chosen spectrum and exactly known Gaussian gradient noise.

    f(x) = 1/2 (x - x*)^T A (x - x*) + f*,   A = Q^T diag(lambda) Q,
    g(x) = A (x - x*) + xi,   xi ~ N(0, (sigma^2 / d) I_d)

or, with ``noise_weights=w`` (w_i >= 0 along eigenvector i, normalised to mean 1), the
non-isotropic ``xi ~ N(0, (sigma^2 / d) Q^T diag(w) Q)``: still ``E||xi||^2 = sigma^2``, and
the same ``(S, d)`` normal draws are consumed (replay parity does not change).

The spectrum is log-spaced from ``mu`` to ``L`` (both endpoints included; linear if mu = 0), or
given explicitly (``spectrum=[...]``, sorted descending), and Q is a Haar
orthogonal matrix (QR of a Gaussian matrix from ``data_generator(seed)``), so ``L = max
lambda`` and ``mu = min lambda`` are exact, and ``E||xi||^2 = sigma^2`` exactly.

``quadratic_box`` (``box = D``): the same f on the box [-D, D]^d (``project`` is the clamp),
written with the unconstrained minimiser ``centre`` = c and minimum ``f_min``; there
E||g||^2 = ||A (x - c)||^2 + sigma^2 <= (L R)^2 + sigma^2 with R = ||D + |c|||_2 (the farthest
corner), so M is certified on the box (not G: the noise is Gaussian); x*/f* are the minimum over
the box, by FISTA with a certified Frank-Wolfe gap (``_common.fista_box``).
Source: the standard test function of delayed-SGD analyses (e.g. Nadiradze et al. 2021,
arXiv:2001.05918, §5 experiments); no deviation.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..seeding import data_generator
from ._common import check_real, fista_box
from .base import Problem


class Quadratic(Problem):
    def __init__(self, *, dim: int | None = None, seed: int = 0, L: float = 1.0, mu: float | None = None,
                 cond: float | None = None, sigma: float = 0.1, f_star: float = 0.0,
                 x_star_scale: float = 1.0, x0_scale: float = 1.0, spectrum=None, noise_weights=None,
                 box: float | None = None):
        if spectrum is not None:
            spectrum = torch.as_tensor(spectrum, dtype=torch.float64).flatten()
            if spectrum.numel() < 1 or not bool((spectrum >= 0).all()) or not bool(torch.isfinite(spectrum).all()):
                raise ValueError(f"spectrum must be finite and >= 0, got {spectrum.tolist()!r}")
            if dim is not None and dim != spectrum.numel():
                raise ValueError(f"dim must equal len(spectrum) = {spectrum.numel()}, got {dim!r}")
            dim, L, mu, cond = spectrum.numel(), float(spectrum.max()), float(spectrum.min()), None
        dim = 10 if dim is None else dim
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be an integer >= 1, got {dim!r}")
        if not (isinstance(L, (int, float)) and L > 0):
            raise ValueError(f"L must be > 0, got {L!r}")
        if mu is not None and cond is not None:
            raise ValueError(f"give mu or cond, not both, got mu={mu!r}, cond={cond!r}")
        if cond is not None:
            if not cond >= 1:
                raise ValueError(f"cond must be >= 1, got {cond!r}")
            mu = L / cond
        if mu is None:
            mu = L / 10.0
        if not 0 <= mu <= L:
            raise ValueError(f"mu must be in [0, L={L}], got {mu!r}")
        if not sigma >= 0:
            raise ValueError(f"sigma must be >= 0, got {sigma!r}")
        if noise_weights is not None:
            noise_weights = torch.as_tensor(noise_weights, dtype=torch.float64).flatten()
            if (noise_weights.numel() != dim or not bool((noise_weights >= 0).all())
                    or not bool(torch.isfinite(noise_weights).all()) or float(noise_weights.sum()) <= 0):
                raise ValueError(f"noise_weights must be {dim} finite values >= 0 with a positive "
                                 f"sum, got {noise_weights.tolist()!r}")
            noise_weights = noise_weights * (dim / noise_weights.sum())
        #: per-eigenvector noise variance weights (mean 1), or None: isotropic
        self.noise_weights = noise_weights
        self.name, self.dim, self.dtype = "quadratic", dim, torch.float64
        self.smooth, self.convex = True, True
        gen = data_generator(seed)
        if spectrum is not None:
            spectrum = spectrum.sort(descending=True).values
        elif dim == 1:
            spectrum = torch.tensor([float(L)], dtype=torch.float64)
            mu = float(L)
        elif mu > 0:
            spectrum = torch.logspace(math.log10(L), math.log10(mu), dim, dtype=torch.float64)
            spectrum[0], spectrum[-1] = L, mu  # make the extremes exact, not log/exp rounded
        else:
            spectrum = torch.linspace(L, 0.0, dim, dtype=torch.float64)
        q, r = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=torch.float64))
        q = q * torch.sign(torch.diagonal(r))  # Haar measure
        self.Q = q.T.contiguous()  # rows of Q are the eigenvectors: A = Q^T diag Q
        self.spectrum = spectrum
        self.A = (self.Q.T * spectrum) @ self.Q
        self.A = 0.5 * (self.A + self.A.T)
        #: the unconstrained minimiser and minimum (x* and f* unless the problem has a box)
        self.centre = x_star_scale * torch.randn(dim, generator=gen, dtype=torch.float64) / math.sqrt(dim)
        self.f_min = float(f_star)
        self.x_star = self.centre
        self.x0_center = self.x_star
        self.x0_scale = float(x0_scale)
        self.f_star = float(f_star)
        self.sigma = float(sigma)
        self.constants = {"L": float(L), "mu": float(mu), "sigma": float(sigma)}
        self.certificates = {
            "L": "largest eigenvalue of A, chosen by construction (A = Q^T diag(spectrum) Q, Q orthogonal).",
            "mu": "smallest eigenvalue of A, chosen by construction.",
            "sigma": ("noise is N(0, sigma^2/d I_d) (or sigma^2/d Q^T diag(w) Q with mean(w) = 1), "
                      "so E||g - grad f||^2 = sigma^2 exactly."),
        }

        if box is not None:
            self._on_box(check_real("box", box, gt=0))

    def _on_box(self, D: float) -> None:
        """The box variant: domain [-D, D]^d, M certified on it, x*/f* the minimum over the box."""
        self.name = "quadratic_box"
        R = float(torch.linalg.vector_norm(D + self.centre.abs()))  # max over the box of ||x - c||
        L, sigma = self.constants["L"], self.constants["sigma"]
        self.constants |= {"D": D, "M": math.sqrt((L * R) ** 2 + sigma ** 2)}
        self.certificates |= {
            "D": f"the domain is the box [-{D:g}, {D:g}]^d; project is the clamp.",
            "M": (f"E||g||^2 = ||A (x - c)||^2 + sigma^2 <= (L R)^2 + sigma^2 on the box, R = "
                  f"||D + |c|||_2 = {R:.4g} the largest distance from the unconstrained minimiser c.")}
        x, gap = fista_box(self._loss, self._grad, L, D, self.dim)
        self.x_star, self.f_star, self.f_star_gap = x[0].clone(), float(self._loss(x)[0]), gap
        self.x0_center = self.x_star
        self.certificates["f_star"] = (f"FISTA on the box in float64; certified f(x_hat) - f* <= "
                                       f"{gap:.3g} (Frank-Wolfe gap).")

    def eigenvector(self, i: int) -> Tensor:
        """Unit eigenvector for ``spectrum[i]`` (``spectrum[0] = L``, ``spectrum[-1] = mu``)."""
        return self.Q[i]

    def _loss(self, x: Tensor) -> Tensor:
        z = x - self.centre.to(x)
        return 0.5 * ((z @ self.A.to(x)) * z).sum(-1) + self.f_min

    def _grad(self, x: Tensor) -> Tensor:
        return (x - self.centre.to(x)) @ self.A.to(x)

    def _sgrad(self, x: Tensor, generator: torch.Generator) -> Tensor:
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=generator.device)
        if self.noise_weights is not None:
            noise = (noise * self.noise_weights.sqrt().to(noise)) @ self.Q.to(noise)
        return self._grad(x) + (self.sigma / math.sqrt(self.dim)) * noise.to(x.device)
