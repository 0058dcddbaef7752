"""Delay-adaptive SGD: the step of a gradient depends on its own staleness (a context rule).

    eta_k = lr * min(1, tau_c / tau_k)      (eta_k = lr when tau_k <= tau_c, tau_k = 0 included)
    x_{k+1} = x_k - eta_k g(x_{k - tau_k})

i.e. ``eta_k = min(lr, c / tau_k)`` with ``c = lr * tau_c``, the form of the delay-adaptive
step sizes of Mishchenko, Bach, Even & Woodworth (NeurIPS 2022, arXiv:2206.07638, "Asynchronous
SGD beats minibatch SGD under arbitrary delays") and Koloskova, Stich & Jaggi (NeurIPS 2022,
arXiv:2206.08307). RECONSTRUCTED: the full texts are not available here; the papers' exact
thresholds (a multiple of the number of workers) and constants are not verified, so ``tau_c``
is a free hyperparameter (the registry default is the number of workers of the default run).

The staleness ``tau_k`` is the trace's (applied updates between the read and this write) and
arrives per seed through :class:`implementations.rules.base.UpdateContext`; a ``(S,)`` step
vector scales each seed's gradient. With no delays the rule is ``torch.optim.SGD(lr)`` exactly
(tests/conformance/test_torch_optim_parity.py).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .base import FunctionalRule, Rule, State, UpdateContext, check_number


def delay_step(lr: float, tau_c: float, staleness: Tensor, dtype) -> Tensor:
    """``lr * min(1, tau_c / tau)`` per seed (``(S,)``; lr where tau <= tau_c)."""
    tau = staleness.to(dtype)
    return lr * torch.clamp(tau_c / tau.clamp(min=1e-300), max=1.0)


def delay_adaptive_sgd(*, lr: float, tau_c: float = 4.0) -> Rule:
    """SGD whose step is ``lr * min(1, tau_c / tau_k)`` for a gradient of staleness tau_k."""
    lr = check_number("lr", lr, gt=0)
    tau_c = check_number("tau_c", tau_c, gt=0)

    def init(params: Tensor) -> State:
        return {}

    def step(grad: Tensor, state: State, t: int, ctx: UpdateContext):
        eta = delay_step(lr, tau_c, ctx.staleness.to(grad.device), grad.dtype)
        return -eta.reshape(-1, *([1] * (grad.dim() - 1))) * grad, state

    return FunctionalRule("delay_adaptive_sgd", init, step, dict(lr=lr, tau_c=tau_c),
                          wants_context=True)
