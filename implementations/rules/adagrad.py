"""AdaGrad (diagonal) and AdaNorm (one scalar accumulator per vector).

Diagonal AdaGrad, ``torch.optim.Adagrad`` semantics exactly (Duchi, Hazan & Singer 2011,
JMLR 12; PyTorch "Adagrad" algorithm box):

    clr_t = lr / (1 + (t - 1) lr_decay);   V_t = V_{t-1} + g_t ⊙ g_t   (V_0 = initial_accumulator_value)
    x_{t+1} = x_t - clr_t g_t / (sqrt(V_t) + eps)

AdaNorm (Gratton & Toint 2026, "Stochastic convergence of parallel asynchronous adaptive
first-order methods", notes §2.3 (b)): one scalar per vector, reduced along the last dim,

    V_t = V_{t-1} + ||g_t||^2,   x_{t+1} = x_t - lr g_t / (sqrt(V_t) + eps)

``form="gratton_toint"`` (both rules) uses the reconstructed Gratton–Toint form
``v_loc = V + g²; V += g²; s = -lr g / sqrt(ς + v_loc)`` with ``ς = eps`` *inside* the square
root. Sequentially ``v_loc`` equals the updated V; the distinction matters only under racy
accumulator writes, where the pattern (not the rule) decides which V was read.

Deviation from the paper: the Gratton–Toint form is RECONSTRUCTED from the notes (§2.3 (a),
(b) are marked [I], unconfirmed): the paper's exact placement of ς and its schedule are not
verified. ``lr_decay`` applies to the torch form only.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .base import FunctionalRule, Rule, State, check_choice, check_number

FORMS = ("torch", "gratton_toint")


def _denom(acc: Tensor, eps: float, form: str) -> Tensor:
    return acc.sqrt().add(eps) if form == "torch" else (acc + eps).sqrt()


def adagrad(*, lr: float, eps: float = 1e-10, initial_accumulator_value: float = 0.0,
            lr_decay: float = 0.0, form: str = "torch") -> Rule:
    """Diagonal AdaGrad; state ``{"sum": V}`` shaped like the params."""
    lr = check_number("lr", lr, gt=0)
    eps = check_number("eps", eps, ge=0)
    iav = check_number("initial_accumulator_value", initial_accumulator_value, ge=0)
    lr_decay = check_number("lr_decay", lr_decay, ge=0)
    form = check_choice("form", form, FORMS)
    if form == "gratton_toint" and eps == 0 and iav == 0:
        raise ValueError("eps must be > 0 for form='gratton_toint' with a zero accumulator, got 0.0")

    def init(params: Tensor) -> State:
        return {"sum": torch.full_like(params, iav)}

    def step(grad: Tensor, state: State, t: int) -> tuple[Tensor, State]:
        acc = state["sum"] + grad * grad
        clr = lr / (1.0 + (t - 1) * lr_decay)
        return -clr * grad / _denom(acc, eps, form), {**state, "sum": acc}

    name = "adagrad" if form == "torch" else "adagrad_gt"
    return FunctionalRule(name, init, step, dict(lr=lr, eps=eps, initial_accumulator_value=iav,
                                                 lr_decay=lr_decay, form=form))


def adanorm(*, lr: float, eps: float = 1e-10, initial_accumulator_value: float = 0.0,
            form: str = "torch") -> Rule:
    """AdaNorm: a scalar accumulator per vector (last dim); state ``{"sum": (..., 1)}``."""
    lr = check_number("lr", lr, gt=0)
    eps = check_number("eps", eps, ge=0)
    iav = check_number("initial_accumulator_value", initial_accumulator_value, ge=0)
    form = check_choice("form", form, FORMS)
    if form == "gratton_toint" and eps == 0 and iav == 0:
        raise ValueError("eps must be > 0 for form='gratton_toint' with a zero accumulator, got 0.0")

    def init(params: Tensor) -> State:
        return {"sum": torch.full_like(params[..., :1], iav)}

    def step(grad: Tensor, state: State, t: int) -> tuple[Tensor, State]:
        acc = state["sum"] + (grad * grad).sum(-1, keepdim=True)
        return -lr * grad / _denom(acc, eps, form), {**state, "sum": acc}

    name = "adanorm" if form == "torch" else "adanorm_gt"
    return FunctionalRule(name, init, step, dict(lr=lr, eps=eps, initial_accumulator_value=iav,
                                                 form=form))
