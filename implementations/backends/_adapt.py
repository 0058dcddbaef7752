"""Small adapters between the real backends and the delays / trace modules."""

from __future__ import annotations

#: access patterns the `processes` backend runs (every pattern of implementations.patterns)
PROCESS_PATTERNS = ("full", "partition", "partition_plus", "random_blocks", "master_worker",
                    "sparse", "sparse_ef", "sync")
#: patterns the `distributed` (parameter-server) backend runs
DISTRIBUTED_PATTERNS = ("master_worker", "sparse", "sparse_ef", "sync")


def delay_spec(delays) -> tuple[str, object]:
    """``(spec string, DelayModel or None)`` of a ``delays`` argument."""
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
