"""A new algorithm with a theorem of your own, checked in one file:

    asyncbound check examples/variant_user_bound.py --out out/user_bound

Delayed SGD (Hogwild!, lock-free full-model writes) claiming a bound declared here. With the
step-size condition eta <= 1/(2 L (tau + 1)), 2 L^2 eta^2 tau <= L eta, so the project's derived
classic_delayed_sgd/nonconvex bound simplifies to the claim below. It is labelled
``claimed`` (the user's claim) in every record and report, never ``derived``.
"""

from asyncbound.implementations.registry import AlgorithmSpec
from asyncbound.implementations.rules import sgd
from asyncbound.theory import ASSUMPTIONS, Bound, Kind, Provenance, Source, symbol

L, sigma, tau, K, eta, F0 = (symbol(n) for n in ("L", "sigma", "tau", "K", "eta", "F0"))

MY_BOUND = Bound(
    key="my_delayed_sgd/nonconvex",
    paper="my_delayed_sgd",
    metric="(1/K) sum_k E||grad f(x_k)||^2",
    metric_id="avg_grad_sq",
    kind=Kind.UPPER,
    expr=2 * F0 / (eta * K) + 4 * L * eta * sigma**2,
    assumptions=tuple(ASSUMPTIONS[a] for a in ("smooth", "lower_bounded", "bounded_variance",
                                               "bounded_delay")),
    conditions=(eta <= 1 / (2 * L * (tau + 1)),),  # solved for eta: the check plans lr from it
    source=Source(authors="A. User", title="Delayed SGD, simple constants", venue="my notes",
                  year=2026, arxiv="n/a", locator="Claim 1", url="https://example.org/notes"),
    provenance=Provenance.CLAIMED,
    statement="Delayed SGD, tau_k <= tau, L-smooth f, noise variance sigma^2, eta <= 1/(2L(tau+1))",
)
BOUNDS = [MY_BOUND]  # the loader registers these (asyncbound.theory.register_bound)

ALGORITHM = AlgorithmSpec(
    name="my_delayed_sgd",
    rule=sgd,
    pattern="full",
    defaults={"lr": 0.05},
    backends=("reference", "processes"),
    bounds=(MY_BOUND.key,),
    description="Delayed SGD claiming its own bound (examples/variant_user_bound.py).",
)
