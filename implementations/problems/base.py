"""The problem interface (CONTRACTS §3) shared by every certified problem.

A problem is batched over seeds: ``x`` has shape ``(S, d)`` (a single ``(d,)`` vector is also
accepted and the leading dimension is then absent from the result). Constants are certified by
construction and each carries a one-sentence certificate. Canonical constant names:

- ``L``: gradient Lipschitz constant, ``||grad f(x) - grad f(y)|| <= L ||x - y||``;
- ``mu``: strong convexity modulus;
- ``sigma``: ``E||g(x) - grad f(x)||^2 <= sigma^2`` (an equality where stated);
- ``G``: ``||g(x)||_inf <= G`` for every stochastic (sub)gradient on the domain;
- ``M``: ``E||g(x)||^2 <= M^2`` on the domain;
- ``D``: half-width of the box domain ``[-D, D]^d`` (``project`` is a clamp).
"""

from __future__ import annotations

import torch
from torch import Tensor

CANONICAL_CONSTANTS = ("L", "mu", "sigma", "G", "M", "D")


class Region:
    """Where a constant is certified (issue 17): the ball ``||x - centre|| <= radius``. A problem
    lists such constants in ``Problem.regions`` (name -> Region); a constant not listed there is
    certified on the whole domain."""

    def __init__(self, centre: Tensor, radius: float, what: str = "x*"):
        if not radius > 0:
            raise ValueError(f"radius must be > 0, got {radius!r}")
        self.centre, self.radius, self.what = centre, float(radius), what

    def describe(self) -> str:
        return f"the ball ||x - {self.what}|| <= {self.radius:g}"


class Problem:
    """Base class: subclasses set the attributes and implement ``_loss``/``_grad``/``_sgrad``."""

    name: str = "problem"
    dim: int
    dtype: torch.dtype = torch.float64
    smooth: bool = True
    convex: bool = True
    constants: dict[str, float]
    certificates: dict[str, str]
    f_star: float | None = None
    x_star: Tensor | None = None
    #: scale of the default starting points: x0 = x_ref + x0_scale * N(0, I) / sqrt(d)
    x0_scale: float = 1.0
    x0_center: Tensor | None = None
    #: constants certified on a region only (name -> Region); the others hold on the whole domain
    regions: dict = {}

    @property
    def projects(self) -> bool:
        """Whether iterates are projected (``project`` clamps to the box ``[-D, D]^d``)."""
        return self.constants.get("D") is not None

    # --- helpers -------------------------------------------------------------------------
    def _batch(self, x: Tensor) -> tuple[Tensor, bool]:
        if x.shape[-1] != self.dim:
            raise ValueError(f"x must have last dimension {self.dim}, got shape {tuple(x.shape)}")
        if x.dim() == 1:
            return x.unsqueeze(0), True
        if x.dim() != 2:
            raise ValueError(f"x must have shape (S, d) or (d,), got {tuple(x.shape)}")
        return x, False

    @staticmethod
    def _unbatch(y: Tensor, squeezed: bool) -> Tensor:
        return y.squeeze(0) if squeezed else y

    # --- the interface -------------------------------------------------------------------
    def x0(self, n_seeds: int, generator: torch.Generator) -> Tensor:
        """Starting points ``(S, d)``: the centre plus ``x0_scale * N(0, I_d)/sqrt(d)``, projected."""
        z = torch.randn(n_seeds, self.dim, generator=generator, dtype=self.dtype,
                        device=generator.device)
        centre = self.x0_center if self.x0_center is not None else torch.zeros(self.dim, dtype=self.dtype)
        return self.project(centre.to(z.device) + self.x0_scale * z / self.dim ** 0.5)

    def loss(self, x: Tensor) -> Tensor:
        xb, sq = self._batch(x)
        return self._unbatch(self._loss(xb), sq)

    def full_grad(self, x: Tensor) -> Tensor:
        xb, sq = self._batch(x)
        return self._unbatch(self._grad(xb), sq)

    def stochastic_grad(self, x: Tensor, generator: torch.Generator) -> Tensor:
        xb, sq = self._batch(x)
        return self._unbatch(self._sgrad(xb, generator), sq)

    def project(self, x: Tensor) -> Tensor:
        D = self.constants.get("D")
        return x if D is None else x.clamp(-D, D)

    def stationarity(self, x: Tensor) -> Tensor:
        """Stationarity proxy ``||grad f(x)||`` (the (sub)gradient returned by ``full_grad``)."""
        return torch.linalg.vector_norm(self.full_grad(x), dim=-1)

    # --- to implement --------------------------------------------------------------------
    def _loss(self, x: Tensor) -> Tensor:  # (S, d) -> (S,)
        raise NotImplementedError

    def _grad(self, x: Tensor) -> Tensor:  # (S, d) -> (S, d)
        raise NotImplementedError

    def _sgrad(self, x: Tensor, generator: torch.Generator) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        consts = ", ".join(f"{k}={v:.4g}" for k, v in self.constants.items())
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, {consts})"
