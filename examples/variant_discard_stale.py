"""Discard stale gradients (the Ringmaster ASGD rule) in one file.

    asyncbound check examples/variant_discard_stale.py --backend reference,processes

A gradient whose delay is R or more is declined: the rule returns ``keep`` False for it, so
nothing is written, the version does not advance and the trace marks the row ``discarded``.
The measured tau (applied updates only) is then at most R - 1, which is what the claimed
bounded-delay theorems need. The built-in ``ringmaster_asgd`` does the same with the ``full``
pattern's option ``discard_above = R - 1``.
"""

from asyncbound.implementations.registry import AlgorithmSpec
from asyncbound.implementations.rules import FunctionalRule

R = 3


def discard_stale_sgd(*, lr: float, R: int = R):
    def step(grad, state, t, ctx):
        return -lr * grad, state, ctx.staleness < R  # keep: (S,) bool

    return FunctionalRule("discard_stale_sgd", lambda x: {}, step, {"lr": lr, "R": R},
                          wants_context=True)


ALGORITHM = AlgorithmSpec(
    name="discard_stale_variant",
    rule=discard_stale_sgd,
    pattern="full",
    defaults={"lr": 0.05, "R": R},
    backends=("reference", "processes", "distributed"),
    bounds=("nadiradze2021/elastic_consistency",),
    description="Async SGD that discards gradients of staleness >= R.",
)
