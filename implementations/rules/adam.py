"""RMSprop and Adam, ``torch.optim`` semantics exactly.

RMSprop (Tieleman & Hinton 2012, lecture 6.5; PyTorch "RMSprop" algorithm box):

    v_t = alpha v_{t-1} + (1 - alpha) g²;  centered: a_t = alpha a_{t-1} + (1 - alpha) g,
    den = sqrt(v_t - a_t²) + eps (centered) or sqrt(v_t) + eps
    momentum > 0: b_t = momentum b_{t-1} + g/den, delta = -lr b_t;  else delta = -lr g/den

Adam (Kingma & Ba 2015, arXiv:1412.6980v9, Algorithm 1) with torch's placement of eps and the
AMSGrad option (Reddi, Kale & Kumar 2018, "On the convergence of Adam and beyond"):

    m_t = b1 m + (1 - b1) g,  v_t = b2 v + (1 - b2) g²,  vmax_t = max(vmax, v_t) (amsgrad)
    delta = -(lr / (1 - b1^t)) m_t / (sqrt(v_t or vmax_t) / sqrt(1 - b2^t) + eps)

``weight_decay`` is torch's L2 form (g <- g + wd x); as in ``sgd`` the rule tracks ``x`` in its
state, exact when its own deltas are the only writes.

Deviation from the papers: eps placement and bias correction are torch's (Adam's paper puts
eps after the bias-corrected sqrt too, so this matches Kingma & Ba up to rounding).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import FunctionalRule, Rule, State, check_bool, check_number


def _check_betas(betas) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    b1 = check_number("betas[0]", betas[0], ge=0, lt=1)
    b2 = check_number("betas[1]", betas[1], ge=0, lt=1)
    return b1, b2


def rmsprop(*, lr: float, alpha: float = 0.99, eps: float = 1e-8, momentum: float = 0.0,
            centered: bool = False) -> Rule:
    """RMSprop; state ``square_avg`` (+ ``grad_avg`` if centered, + ``momentum`` if > 0)."""
    lr = check_number("lr", lr, gt=0)
    alpha = check_number("alpha", alpha, ge=0, le=1)
    eps = check_number("eps", eps, ge=0)
    momentum = check_number("momentum", momentum, ge=0)
    centered = check_bool("centered", centered)

    def init(params: Tensor) -> State:
        state = {"square_avg": torch.zeros_like(params)}
        if centered:
            state["grad_avg"] = torch.zeros_like(params)
        if momentum > 0:
            state["momentum"] = torch.zeros_like(params)
        return state

    def step(grad: Tensor, state: State, t: int) -> tuple[Tensor, State]:
        new = dict(state)
        sq = alpha * state["square_avg"] + (1 - alpha) * grad * grad
        new["square_avg"] = sq
        if centered:
            ga = alpha * state["grad_avg"] + (1 - alpha) * grad
            new["grad_avg"] = ga
            den = (sq - ga * ga).sqrt().add(eps)
        else:
            den = sq.sqrt().add(eps)
        if momentum > 0:
            buf = momentum * state["momentum"] + grad / den
            new["momentum"] = buf
            return -lr * buf, new
        return -lr * grad / den, new

    return FunctionalRule("rmsprop", init, step, dict(lr=lr, alpha=alpha, eps=eps,
                                                      momentum=momentum, centered=centered))


def adam(*, lr: float, betas=(0.9, 0.999), eps: float = 1e-8, amsgrad: bool = False,
         weight_decay: float = 0.0) -> Rule:
    """Adam / AMSGrad as in ``torch.optim.Adam``; state ``exp_avg, exp_avg_sq[, max_exp_avg_sq]``."""
    lr = check_number("lr", lr, gt=0)
    b1, b2 = _check_betas(betas)
    eps = check_number("eps", eps, ge=0)
    amsgrad = check_bool("amsgrad", amsgrad)
    weight_decay = check_number("weight_decay", weight_decay, ge=0)

    def init(params: Tensor) -> State:
        state = {"exp_avg": torch.zeros_like(params), "exp_avg_sq": torch.zeros_like(params)}
        if amsgrad:
            state["max_exp_avg_sq"] = torch.zeros_like(params)
        if weight_decay:
            state["x"] = params.clone()
        return state

    def step(grad: Tensor, state: State, t: int) -> tuple[Tensor, State]:
        new = dict(state)
        g = grad + weight_decay * state["x"] if weight_decay else grad
        m = b1 * state["exp_avg"] + (1 - b1) * g
        v = b2 * state["exp_avg_sq"] + (1 - b2) * g * g
        new["exp_avg"], new["exp_avg_sq"] = m, v
        if amsgrad:
            v = torch.maximum(state["max_exp_avg_sq"], v)
            new["max_exp_avg_sq"] = v
        bc1 = 1 - b1 ** t
        bc2_sqrt = math.sqrt(1 - b2 ** t)
        delta = -(lr / bc1) * m / (v.sqrt() / bc2_sqrt + eps)
        if weight_decay:
            new["x"] = state["x"] + delta
        return delta, new

    return FunctionalRule("amsgrad_torch" if amsgrad else "adam", init, step,
                          dict(lr=lr, betas=(b1, b2), eps=eps, amsgrad=amsgrad,
                               weight_decay=weight_decay))
