"""Stochastic gradient steps: plain, heavy-ball, Nesterov and EMA momentum.

Heavy ball / Nesterov follow ``torch.optim.SGD`` exactly (PyTorch docs, "SGD" algorithm box):

    g_t <- g_t + wd * x_t                           (weight decay; needs the params, see below)
    b_1  = g_1,  b_t = mu b_{t-1} + (1 - dampening) g_t   (t > 1: torch's first-step init)
    d_t  = g_t + mu b_t  (nesterov)   or   d_t = b_t
    x_{t+1} = x_t - lr d_t

EMA momentum (``ema=True``, the form of Kungurtsev et al. 2021 PASSM, arXiv:1910.10787, §2,
and Gratton & Toint's momentum variants): ``m_t = beta m_{t-1} + (1 - beta) g_t`` with
``m_0 = 0`` and ``beta = momentum``; ``x_{t+1} = x_t - lr m_t``.

Weight decay needs ``x_t``, which a pure ``step(grad, state, t)`` does not see; the rule keeps
a copy of the parameters in ``state["x"]`` and advances it by its own delta. This is exact when
the rule's deltas are the only writes (the sequential case); in async patterns the caller
should fold weight decay into the problem instead.

Deviation from the papers: none for the momentum forms; weight decay is torch's, not a paper's.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .base import FunctionalRule, Rule, State, check_bool, check_number


def sgd(*, lr: float, momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False,
        weight_decay: float = 0.0, ema: bool = False) -> Rule:
    """SGD with optional heavy-ball / Nesterov (torch semantics) or EMA momentum."""
    lr = check_number("lr", lr, gt=0)
    momentum = check_number("momentum", momentum, ge=0, lt=1 if ema else None)
    dampening = check_number("dampening", dampening, ge=0, le=1)
    nesterov = check_bool("nesterov", nesterov)
    weight_decay = check_number("weight_decay", weight_decay, ge=0)
    ema = check_bool("ema", ema)
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError(
            f"nesterov requires momentum > 0 and dampening = 0, got momentum={momentum}, "
            f"dampening={dampening}")
    if ema and (nesterov or dampening != 0):
        raise ValueError(f"ema momentum excludes nesterov and dampening, got nesterov={nesterov}, "
                         f"dampening={dampening}")
    use_buf = momentum > 0

    def init(params: Tensor) -> State:
        state: State = {}
        if use_buf:
            state["momentum"] = torch.zeros_like(params)
        if weight_decay:
            state["x"] = params.clone()
        return state

    def step(grad: Tensor, state: State, t: int) -> tuple[Tensor, State]:
        new: State = dict(state)
        g = grad
        if weight_decay:
            g = g + weight_decay * state["x"]
        if use_buf:
            buf = state["momentum"]
            if ema:
                buf = momentum * buf + (1.0 - momentum) * g
            elif t == 1:
                buf = g.clone()
            else:
                buf = momentum * buf + (1.0 - dampening) * g
            new["momentum"] = buf
            d = g + momentum * buf if nesterov else buf
        else:
            d = g
        delta = -lr * d
        if weight_decay:
            new["x"] = state["x"] + delta
        return delta, new

    name = "sgd_ema" if ema else ("sgd_nesterov" if nesterov else ("sgd_momentum" if use_buf else "sgd"))
    return FunctionalRule(name, init, step, dict(lr=lr, momentum=momentum, dampening=dampening,
                                                 nesterov=nesterov, weight_decay=weight_decay,
                                                 ema=ema))
