"""Hogwild! with a cosine step-size schedule over the run, in one file.

    asyncbound check examples/variant_cosine_hogwild.py --backend reference,processes

eta_k = lr (1 + cos(pi k / K)) / 2 with k the number of updates applied before this one and K
the run's horizon: both come from the update context (``ctx.k``, ``ctx.K``), the same global
clock on every backend (a worker's own count ``t`` would restart the cosine per worker).
"""

import math

import torch
from asyncbound.implementations.registry import AlgorithmSpec
from asyncbound.implementations.rules import FunctionalRule


def cosine_sgd(*, lr: float):
    def step(grad, state, t, ctx):
        eta = lr * (1 + torch.cos(math.pi * ctx.k.to(grad.dtype) / ctx.K)) / 2  # (S,)
        return -eta[:, None] * grad, state

    return FunctionalRule("cosine_sgd", lambda x: {}, step, {"lr": lr}, wants_context=True)


ALGORITHM = AlgorithmSpec(
    name="cosine_hogwild",
    rule=cosine_sgd,
    pattern="full",
    defaults={"lr": 0.05},
    backends=("reference", "processes"),
    bounds=("nadiradze2021/elastic_consistency",),  # eta_k <= lr: the view gap stays <= B lr
    description="Hogwild! SGD with a cosine schedule over the run.",
)
