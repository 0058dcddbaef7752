"""The oracle checks a suite runs: one per registered linear algorithm (reference backend).

Linear is decided by the capability tables of :mod:`.model` on the built rule (its declared name
and hyperparameters), never by the algorithm's name; a user's variant that declares a linear
rule gets an oracle check too. Hogwild! also gets a run with heavy-ball momentum kept per worker
(its default has none), so that the per-worker state path is checked exactly.
"""

from __future__ import annotations

from .band import N_SEEDS_ORACLE
from .model import NotLinear, linear_algorithm

#: the suite's oracle configuration: the default quadratic (d = 10, L = 1, mu = 0.1), the
#: suite's delay, and a run long enough to leave the transient (400 updates at lr 0.05-0.1)
ORACLE_CONFIG = dict(problem="quadratic", delay="uniform:4", steps=400, eval_every=1)
#: the full suite: 3x longer runs and twice the seeds (the quick suite's ids, as for bounds)
FULL_STEPS_FACTOR, N_SEEDS_ORACLE_FULL = 3, 2 * N_SEEDS_ORACLE
#: extra oracle runs per algorithm (label -> options), for state paths the defaults skip
EXTRA_RUNS = {"hogwild_sgd": {"momentum": {"momentum": 0.5}}}


def is_linear(algo, workers: int = 4) -> bool:
    try:
        linear_algorithm(algo, algo.config(), 10, workers)
    except (NotLinear, ValueError):
        return False
    return True


def oracle_specs(algos, suite: str = "quick", *, workers: int = 4, by_name: bool = True) -> list:
    """CheckSpecs (``test="oracle"``) for every linear algorithm among ``algos``."""
    from asyncbound.checks.engine import CheckSpec

    out = []
    for algo in algos:
        if "reference" not in algo.backends or not is_linear(algo, workers):
            continue
        cfg = dict(ORACLE_CONFIG)
        seeds = N_SEEDS_ORACLE
        if suite == "full":
            cfg["steps"] *= FULL_STEPS_FACTOR
            seeds = N_SEEDS_ORACLE_FULL
        if algo.pattern == "sync":
            cfg["delay"] = "none"
        runs = {"": {}, **EXTRA_RUNS.get(algo.name, {})} if by_name else {"": {}}
        for label, options in runs.items():
            out.append(CheckSpec(algorithm=algo.name if by_name else algo,
                                 bound="oracle/exact_moments", test="oracle", seeds=seeds,
                                 workers=workers, label=label, options=dict(options), **cfg))
    return out


__all__ = ["ORACLE_CONFIG", "is_linear", "oracle_specs"]
