"""A polynomially decaying step wrapped around a registry rule factory (checks-side, no rule is
edited). Not to be confused with a rule's own ``schedule`` hyperparameter (``constant`` /
``inv_sqrt``) or with the interleaving a delay model draws (``implementations.schedule.Schedule``).

Kungurtsev et al. 2021 need gamma_k = a/(k+b)^p with 1/2 < p <= 1 (sum gamma = inf, sum gamma^2
< inf); the registry's PASSM uses a constant lr (a finite-horizon surrogate). (``PolynomialFactory``) turns any rule whose step is linear in lr (SGD with heavy-ball momentum: delta = -lr * buf) into
the same rule with gamma_t = lr * ((1 + b)/(t + b))^p, so gamma_1 = lr and a = lr (1 + b)^p.
"""

from __future__ import annotations

from dataclasses import replace

#: the decay used by the PASSM checks: p = 3/4 is the middle of (1/2, 1]; b = 10 keeps the
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


def decaying_variant(algo, *, power: float = POWER, offset: float = OFFSET):
    """A registered copy of ``algo`` (name ``<name>__poly``) with the polynomially decaying step."""
    from asyncbound.implementations.registry import ALGORITHMS, register

    name = f"{algo.name}__poly"
    if name not in ALGORITHMS:
        register(replace(algo, name=name, rule=PolynomialFactory(algo.name, power, offset),
                         bounds=(), description=f"{algo.name} with gamma_k = lr ((1+{offset:g})/(k+{offset:g}))^{power:g}"),
                 replace=True)
    return ALGORITHMS[name]


def decay_conditions(lr: float, max_delay, *, power: float = POWER, offset: float = OFFSET) -> list[dict]:
    """Kungurtsev et al.'s conditions on gamma_k = a/(k+b)^p (a = lr (1+b)^p), decided by sympy
    (``theory.papers.kungurtsev2021.schedule_conditions``), as record conditions."""
    out = []
    try:
        from asyncbound.theory.papers.kungurtsev2021 import schedule_conditions

        a = lr * (1 + offset) ** power
        res = schedule_conditions(round(a, 12), offset, power, max_delay if max_delay is not None else 0)
        for key, text in (("sum_diverges", "sum_k gamma_k = inf"), ("sum_sq_converges", "sum_k gamma_k^2 < inf"),
                          ("delay_effect_vanishes", "gamma_{k-tau} * tau -> 0")):
            out.append({"text": f"{text} for gamma_k = {a:.4g}/(k+{offset:g})^{power:g}", "lhs": None,
                        "rhs": None, "holds": bool(res.get(key)) if res.get(key) is not None else False})
    except Exception as exc:  # noqa: BLE001 - an undecided condition does not hold
        out.append({"text": f"step-size conditions could not be decided: {exc}", "holds": False})
    return out
