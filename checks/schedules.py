"""Step-size schedules wrapped around a registry rule factory (checks-side, no rule is edited).

Kungurtsev et al. 2021 need gamma_k = a/(k+b)^p with 1/2 < p <= 1 (sum gamma = inf, sum gamma^2
< inf); the registry's PASSM uses a constant lr (a finite-horizon surrogate). (``PolynomialFactory``) turns any rule whose step is linear in lr (SGD with heavy-ball momentum: delta = -lr * buf) into
the same rule with gamma_t = lr * ((1 + b)/(t + b))^p, so gamma_1 = lr and a = lr (1 + b)^p.
"""

from __future__ import annotations

from dataclasses import replace

#: the schedule used by the PASSM checks: p = 3/4 is the middle of (1/2, 1]; b = 10 keeps the
#: first steps from shrinking too fast on short runs.
POWER, OFFSET = 0.75, 10.0


class PolynomialFactory:
    """Picklable rule factory (it crosses into spawned worker processes): the registry rule of
    ``algorithm`` with gamma_t = lr ((1 + b)/(t + b))^p."""

    def __init__(self, algorithm: str, power: float = POWER, offset: float = OFFSET):
        self.algorithm, self.power, self.offset = algorithm, float(power), float(offset)
        self.__name__ = f"{algorithm}_poly"

    def __call__(self, **hp):
        from asyncbound.implementations.registry import get_algorithm
        from asyncbound.implementations.rules.base import FunctionalRule

        inner = get_algorithm(self.algorithm).rule(**hp)
        power, offset = self.power, self.offset

        def step(grad, state, t):
            delta, new = inner.step(grad, state, t)
            return delta * ((1.0 + offset) / (t + offset)) ** power, new

        return FunctionalRule(f"{inner.name}_poly{power:g}", inner.init, step,
                              {**getattr(inner, "hparams", {}), "step_power": power, "step_offset": offset})


def scheduled_variant(algo, *, power: float = POWER, offset: float = OFFSET):
    """A registered copy of ``algo`` (name ``<name>__poly``) with the polynomial schedule."""
    from asyncbound.implementations.registry import ALGORITHMS, register

    name = f"{algo.name}__poly"
    if name not in ALGORITHMS:
        register(replace(algo, name=name, rule=PolynomialFactory(algo.name, power, offset),
                         bounds=(), description=f"{algo.name} with gamma_k = lr ((1+{offset:g})/(k+{offset:g}))^{power:g}"),
                 replace=True)
    return ALGORITHMS[name]
