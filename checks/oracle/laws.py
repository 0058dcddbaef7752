"""The exact law of who writes update k and which version it read, per delay model.

Read from :mod:`asyncbound.implementations.delays`, sampler by sampler (the law of what the code
draws, not of what the docstring says):

- ``none``: tau_k = 0;
- ``constant:T`` / ``adversarial:T``: tau_k = min(T, k);
- ``uniform:T``: D = ``randint(0, T + 1)``, uniform on {0..T}; tau_k = min(D, k);
- ``geometric:p``: D = floor(log1p(-U) / log1p(-p)), so P(D >= j) = P(1 - U <= (1-p)^j) = (1-p)^j;
- ``pareto:a``: D = floor((1-U)^(-1/a)) - 1, so P(D >= j) = (j+1)^(-a);
- ``...,cap=C``: read = max(read, k - C), i.e. tau_k = min(D, k, C).

Every one of these draws D i.i.d. over updates and independently of the gradient noise, and
assigns update k to worker k mod P (so its clock is k // P + 1): the delay of update k is
independent of the state it acts on, which is what lets the second-moment recursion average
over the law of tau_k alone (see :mod:`.moments`). With tau_k = min(D, m), m = min(k, C):
P(tau_k = j) = S(j) - S(j+1) for j < m and P(tau_k = m) = S(m), S the survival of D.

``virtual`` without jitter is deterministic (one schedule, shared by every seed); with jitter,
and for ``replay``, the schedule is random or recorded and the oracle is conditional on it
(:func:`fixed_schedules`). Uncapped geometric/Pareto delays reach back to version 0 at every
step and are refused (cap them: the ring of past iterates would be K long).
"""

from __future__ import annotations

import numpy as np

from .model import NotLinear


def _survival(model):
    """``(S, T)``: survival function j -> P(D >= j) of the drawn delay, and its finite cap T
    (None when unbounded); None when the model is not i.i.d. round-robin."""
    from asyncbound.implementations import delays as dl

    if isinstance(model, dl.CappedDelay):
        inner = _survival(model.inner)
        if inner is None:
            return None
        surv, t_max = inner
        cap = model.cap if t_max is None else min(model.cap, t_max)
        return surv, cap
    if isinstance(model, dl.NoDelay):
        return (lambda j: 1.0 if j <= 0 else 0.0), 0
    if isinstance(model, dl.ConstantDelay):  # adversarial too
        return (lambda j, T=model.tau: 1.0 if j <= T else 0.0), model.tau
    if isinstance(model, dl.UniformDelay):
        return (lambda j, T=model.tau: max(0.0, min(1.0, (T + 1 - j) / (T + 1)))), model.tau
    if isinstance(model, dl.GeometricDelay):
        if model.p == 1:
            return (lambda j: 1.0 if j <= 0 else 0.0), 0
        return (lambda j, p=model.p: (1.0 - p) ** max(j, 0)), None
    if isinstance(model, dl.ParetoDelay):
        return (lambda j, a=model.alpha: (max(j, 0) + 1.0) ** (-a)), None
    return None


def iid_law(model):
    """``(pmf(k) -> array over j = 0..min(k, T), T)`` for an i.i.d. round-robin model, else None."""
    got = _survival(model)
    if got is None:
        return None
    surv, T = got
    if T is None:
        raise NotLinear(f"delay {model.spec!r} is unbounded: cap it (cap=C) for the exact oracle")
    table = np.array([surv(j) for j in range(T + 2)], dtype=float)

    def pmf(k: int) -> np.ndarray:
        m = min(k, T)
        p = table[:m + 1] - table[1:m + 2]
        p[m] = table[m]
        return p

    return pmf, T


def constant_delay(model) -> int | None:
    """T when the model's delay is the point mass T once k >= T (none, constant, adversarial,
    capped versions), else None: the case where :mod:`.stability` gives an exact verdict."""
    try:
        law = iid_law(model)
    except NotLinear:
        return None
    if law is None:
        return None
    pmf, T = law
    return T if pmf(T)[-1] == 1.0 else None


def fixed_schedules(model, n_updates: int, n_workers: int, n_seeds: int, base_seed: int):
    """The schedule(s) the reference backend will run, as numpy ``(worker, read)`` of shape
    ``(S', K)``: S' = 1 when every seed shares it (deterministic virtual time, replay of one
    recorded run), else one row per seed (virtual time with jitter, per-seed replay)."""
    from asyncbound.implementations.schedule import schedule_generator

    sched = model.schedule(n_updates, n_workers, n_seeds, schedule_generator(base_seed))
    worker, read = sched.worker.numpy(), sched.read_version.numpy()
    if (worker == worker[:1]).all() and (read == read[:1]).all():
        return worker[:1], read[:1]
    return worker, read


__all__ = ["constant_delay", "fixed_schedules", "iid_law"]
