"""AMSGrad as the APAM paper analyses it, and as the APAM code runs it.

``amsgrad_paper`` is Algorithm 1 of Xu, Xu, Yan, Sutcher-Shepard, Grinberg & Chen, "Parallel
and distributed asynchronous adaptive stochastic gradient methods" (APAM; arXiv:2002.09095),
master's view, equations (2)–(5):

    m_k = b1 m_{k-1} + (1 - b1) g_k
    v_k = b2 v_{k-1} + (1 - b2) g_k ⊙ g_k
    vhat_k = max(vhat_{k-1}, v_k)
    x_{k+1} = Proj_{X, sqrt(vhat_k)}(x_k - alpha_k m_k ⊘ sqrt(vhat_k)),  alpha_k = alpha/sqrt(k)
                                                                        or alpha (constant)

No bias correction, no epsilon. The projection is the problem's ``project``, applied by the
caller: for a box X the sqrt(vhat)-weighted projection is separable and equals the clamp.
0/0 convention: where ``vhat_i = 0`` the step is 0. This is consistent, since vhat_i = 0
means every g_i so far was 0 (for b2 < 1), hence m_i = 0; the APAM OpenMP code likewise
skips coordinates with vhat <= 1e-11.

``amsgrad_code`` is what the public APAM code runs (github.com/RPI-OPT/APAM, c902ce5,
``MPI4PY/optim_and_train_apam.py``): bias-corrected step ``lr sqrt(1 - b2^k)/(1 - b1^k)`` and
``m / (sqrt(vhat) + eps)``. It equals ``torch.optim.Adam(amsgrad=True)`` (tested).

Deviation from the paper: ``amsgrad_code`` deviates by design (the code's own comment lists
"the calculation of lr" and "+ epsilon"). ``amsgrad_paper`` follows Algorithm 1; the 0/0
convention is ours (the paper assumes vhat > 0).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .adam import _check_betas, adam
from .base import (
    SCHEDULES,
    FunctionalRule,
    Rule,
    State,
    check_choice,
    check_number,
    schedule_factor,
)


def amsgrad_paper(*, lr: float, beta1: float = 0.9, beta2: float = 0.999,
                  schedule: str = "inv_sqrt") -> Rule:
    """APAM Algorithm 1 (no eps, no bias correction); state ``m, v, vhat``."""
    lr = check_number("lr", lr, gt=0)
    beta1 = check_number("beta1", beta1, ge=0, lt=1)
    beta2 = check_number("beta2", beta2, ge=0, lt=1)
    schedule = check_choice("schedule", schedule, SCHEDULES)

    def init(params: Tensor) -> State:
        z = torch.zeros_like(params)
        return {"m": z, "v": z.clone(), "vhat": z.clone()}

    def step(grad: Tensor, state: State, t: int) -> tuple[Tensor, State]:
        m = beta1 * state["m"] + (1 - beta1) * grad
        v = beta2 * state["v"] + (1 - beta2) * grad * grad
        vhat = torch.maximum(state["vhat"], v)
        pos = vhat > 0
        ratio = torch.where(pos, m / torch.where(pos, vhat, torch.ones_like(vhat)).sqrt(),
                            torch.zeros_like(m))
        delta = -(lr * schedule_factor(schedule, t)) * ratio
        return delta, {**state, "m": m, "v": v, "vhat": vhat}

    return FunctionalRule("amsgrad_paper", init, step,
                          dict(lr=lr, beta1=beta1, beta2=beta2, schedule=schedule))


def amsgrad_code(*, lr: float, betas=(0.9, 0.999), eps: float = 1e-8) -> Rule:
    """The APAM code's AMSGrad (bias-corrected, eps): ``torch.optim.Adam(amsgrad=True)``."""
    lr = check_number("lr", lr, gt=0)
    b1, b2 = _check_betas(betas)
    eps = check_number("eps", eps, ge=0)
    inner = adam(lr=lr, betas=(b1, b2), eps=eps, amsgrad=True)
    return FunctionalRule("amsgrad_code", inner.init_fn, inner.step_fn,
                          dict(lr=lr, betas=(b1, b2), eps=eps))
