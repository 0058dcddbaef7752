"""Running a check's algorithm: the checks side of the one entrance,
:func:`asyncbound.implementations.backends.run`, which owns seeds (batched, or one run per seed)
and pickling (a user's rule sent to spawned workers)."""

from __future__ import annotations


def run_trace(check, problem, delays, lr: float, eval_every: int | None = None):
    """Run ``check``'s algorithm for its seeds ``base_seed .. base_seed + seeds - 1`` -> Trace.

    ``delays``: the delay model parsed once by the plan. A backend that measures the view gap
    only on request (capability ``view_gap_on_request``) is asked to, since the elastic-
    consistency checks need it.
    """
    from asyncbound.implementations.backends import capabilities, run

    options = dict(check.options)
    if capabilities(check.backend).view_gap_on_request:
        options.setdefault("view_gap", True)
    seeds = list(range(check.base_seed, check.base_seed + check.seeds))
    return run(check.algorithm, problem, delays, check.steps, seeds, backend=check.backend,
               workers=check.workers, lr=lr, eval_every=eval_every or check.eval_every, **options)
