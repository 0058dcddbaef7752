"""Delay-adaptive asynchronous SGD in one file: the step of a gradient depends on its own delay.

    asyncbound check examples/variant_delay_adaptive.py --backend reference,processes

eta_k = min(LR, C / tau_k) (Mishchenko et al. 2022; Koloskova et al. 2022). The rule opts in
to the update context (``wants_context=True``) and reads ``ctx.staleness``: the staleness the
trace records, per seed. Without the opt-in the rule would get no context at all (an error,
never a silent plain SGD).
"""

import torch
from asyncbound.implementations.registry import AlgorithmSpec
from asyncbound.implementations.rules import FunctionalRule

C = 0.1  # eta_k = lr while tau_k <= C / lr = 2; smaller beyond


def delay_adaptive(*, lr: float, c: float = C):
    def step(grad, state, t, ctx):
        tau = ctx.staleness.to(grad.dtype).clamp(min=1e-12)
        eta = torch.clamp(c / tau, max=lr)  # (S,): one step per seed
        return -eta[:, None] * grad, state

    return FunctionalRule("delay_adaptive", lambda x: {}, step, {"lr": lr, "c": c},
                          wants_context=True)


ALGORITHM = AlgorithmSpec(
    name="delay_adaptive_variant",
    rule=delay_adaptive,
    pattern="full",
    defaults={"lr": 0.05, "c": C},
    backends=("reference", "processes", "distributed"),
    bounds=("nadiradze2021/elastic_consistency",),  # ||x_k - v_k|| <= B eta: smaller steps help
    description="Async SGD with eta_k = min(lr, c / tau_k).",
)
