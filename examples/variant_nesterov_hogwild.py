"""A new async algorithm, checked against theory in one file:

    asyncbound check examples/variant_nesterov_hogwild.py --out out/nesterov

Hogwild! (lock-free full-model writes) with Nesterov momentum. The rule scales lr by (1 - m),
so its steady-state step equals lr, which is the eta the claimed delayed-SGD theorems are
stated for. The check solves lr from each theorem's side condition, runs 32 seeds with measured
staleness, and says PASS / FAIL / INCONCLUSIVE / NOT_APPLICABLE / DIVERGED per claim.
"""

from asyncbound.implementations.registry import AlgorithmSpec
from asyncbound.implementations.rules import sgd

MOMENTUM = 0.5


def nesterov_sgd(*, lr: float, momentum: float = MOMENTUM):
    """torch-semantics Nesterov SGD with lr rescaled by (1 - momentum)."""
    return sgd(lr=lr * (1 - momentum), momentum=momentum, nesterov=True)


ALGORITHM = AlgorithmSpec(
    name="nesterov_hogwild",
    rule=nesterov_sgd,
    pattern="full",  # every worker writes the whole model, no locks
    defaults={"lr": 0.05, "momentum": MOMENTUM},
    backends=("reference", "processes"),
    bounds=(
        "classic_delayed_sgd/nonconvex",
        "classic_delayed_sgd/strongly_convex",
        "nadiradze2021/elastic_consistency",
    ),
    description="Hogwild! with Nesterov momentum (lr scaled by 1 - m).",
)

# Optional knobs of the checks (defaults: each bound's configuration in checks.suite):
# PROBLEM = "quadratic"; DELAY = "uniform:4"; STEPS = 1500
