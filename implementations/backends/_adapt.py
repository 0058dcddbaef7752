"""Small adapters between the real backends and the delays / trace modules."""

from __future__ import annotations


def delay_spec(delays) -> tuple[str, object]:
    """``(delay spec text, DelayModel or None)`` of a ``delays`` argument."""
    if delays is None:
        return "none", None
    from ..delays import parse_delay
    model = parse_delay(delays)
    return model.spec, model


def make_trace(columns: dict, meta: dict, final_params, final_state):
    from ..trace import Trace, environment_meta
    m = dict(meta)
    try:
        m.update(environment_meta())
    except Exception:  # environment details are best effort, never a failed run
        pass
    return Trace(columns, m, final_params, final_state)


def algorithm_for_children(algo):
    """How a spawned child finds the algorithm: by name for the built-in registry entries
    (the child imports ``asyncbound.implementations.algorithms`` itself), else the pickled AlgorithmSpec.

    An AlgorithmSpec registered at run time (a user's variant) is not in a fresh child's registry, so it
    travels pickled: its rule factory must be importable by module name in the child (the
    variant loader imports variant files under their own module name for that reason).
    """
    from ..registry import get_algorithm

    module = getattr(algo.rule, "__module__", "") or ""
    builtin = module.startswith("asyncbound.implementations.")
    try:
        registered = get_algorithm(algo.name) is algo
    except ValueError:
        registered = False
    return algo.name if (builtin and registered) else algo
