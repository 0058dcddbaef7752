"""Normalized and inexactly normalized steps, optionally with EMA momentum.

Gratton & Toint 2026, arXiv:2606.01787v1, reconstructed pseudo-code in the project notes §2.3
(d), (e): with ``u_t = g_t`` or the EMA momentum ``M_t = beta M_{t-1} + (1 - beta) g_t``,

    exact:    s_t = -alpha_t u_t / ||u_t||               (||.|| over the last dim: per block)
    inexact:  s_t = -alpha_t d_t,   (1 - delta) <= ||d_t|| <= (1 + delta),   <d_t, u_t> > 0

with ``alpha_t = lr`` (``schedule="constant"``) or ``lr / sqrt(t)`` (``"inv_sqrt"``). Where
``u_t = 0`` the step is 0 (no direction to normalise).

Inexactness, how it is generated (documented choice, not the paper's):
- ``generator=None`` (deterministic, pure): ``d_t = r_t u_t/||u_t||`` with the norm factor
  ``r_t = 1 + delta * (2 frac(t * phi) - 1)``, phi the golden ratio: a low-discrepancy sequence
  that sweeps [1 - delta, 1 + delta]; the direction is exact. Same for every row of a batch.
- ``generator`` given: ``r ~ U[1 - delta, 1 + delta]`` per vector and the direction is
  ``normalize(u/||u|| + delta * z/||z||)`` with ``z`` Gaussian, so the angle to ``u`` is at most
  ``asin(delta)``. Draws come from the passed generator in call order, so the rule is then
  not pure in the generator (like a worker's noise stream, CONTRACTS §1).

Deviation from the paper: RECONSTRUCTED. The paper's inexact-normalization model (notes §2.3
(e), marked [I]) is not verified; the Muon-like polar (Newton–Schulz) matrix variant is not
implemented here.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import (
    SCHEDULES,
    FunctionalRule,
    Rule,
    State,
    check_choice,
    check_number,
    schedule_factor,
)

_PHI = (1 + math.sqrt(5)) / 2


def _unit(u: Tensor) -> Tensor:
    n = torch.linalg.vector_norm(u, dim=-1, keepdim=True)
    return torch.where(n > 0, u / torch.where(n > 0, n, torch.ones_like(n)), torch.zeros_like(u))


def _make(name: str, lr: float, schedule: str, momentum: float, direction) -> Rule:
    def init(params: Tensor) -> State:
        return {"momentum": torch.zeros_like(params)} if momentum > 0 else {}

    def step(grad: Tensor, state: State, t: int) -> tuple[Tensor, State]:
        new = dict(state)
        u = grad
        if momentum > 0:
            u = momentum * state["momentum"] + (1 - momentum) * grad
            new["momentum"] = u
        return -(lr * schedule_factor(schedule, t)) * direction(u, t), new

    return FunctionalRule(name, init, step, dict(lr=lr, schedule=schedule, momentum=momentum))


def normalized(*, lr: float, schedule: str = "constant", momentum: float = 0.0) -> Rule:
    """Exactly normalized step ``-alpha_t u/||u||`` (per vector along the last dim)."""
    lr = check_number("lr", lr, gt=0)
    schedule = check_choice("schedule", schedule, SCHEDULES)
    momentum = check_number("momentum", momentum, ge=0, lt=1)
    return _make("normalized", lr, schedule, momentum, lambda u, t: _unit(u))


def inexact_normalized(*, lr: float, delta: float, schedule: str = "constant",
                       momentum: float = 0.0, generator: torch.Generator | None = None) -> Rule:
    """Inexactly normalized step: ``(1 - delta) <= ||d|| <= (1 + delta)``, ``delta in [0, 1)``."""
    lr = check_number("lr", lr, gt=0)
    delta = check_number("delta", delta, ge=0, lt=1)
    schedule = check_choice("schedule", schedule, SCHEDULES)
    momentum = check_number("momentum", momentum, ge=0, lt=1)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator or None, got {generator!r}")

    def direction(u: Tensor, t: int) -> Tensor:
        unit = _unit(u)
        if generator is None:
            r = 1.0 + delta * (2.0 * ((t * _PHI) % 1.0) - 1.0)
            return r * unit
        shape = u.shape[:-1] + (1,)
        r = 1.0 + delta * (2.0 * torch.rand(shape, generator=generator, dtype=u.dtype,
                                            device=generator.device).to(u.device) - 1.0)
        z = torch.randn(u.shape, generator=generator, dtype=u.dtype,
                        device=generator.device).to(u.device)
        d = _unit(unit + delta * _unit(z))
        return r * torch.where((unit != 0).any(-1, keepdim=True), d, torch.zeros_like(d))

    rule = _make("inexact_normalized", lr, schedule, momentum, direction)
    rule.hparams.update(delta=delta, random=generator is not None)
    return rule
