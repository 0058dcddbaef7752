"""Memory a run will need, estimated before anything is allocated (issue 14, item 5).

``asyncbound run --steps/--seeds/--dim`` large enough used to die in an allocation with a
``MemoryError`` traceback (or be killed by the OOM killer). :func:`check_run_fits` refuses such
a run up front with one line naming the estimate and the limit.

The estimate is an upper bound of the dominant terms, not an exact count:

- the trace: ``K * S`` rows of at most 20 eight-byte columns, held up to three times (the
  backend's buffers, the numpy columns, the Arrow table written to Parquet): ``480 K S`` bytes;
- the model and what scales with it: ``x``, optimizer state, evaluation copies, at most 16
  ``(S, d)`` float64 tensors, plus the max-delay ring buffer ``(T + 1) S d`` when ``T`` is given;
- the problem's data: the quadratic's dense ``d x d`` matrix and its QR workspace (``24 d^2``);
  other problems keep at most a ``4096 x d`` data matrix (``8 * 4096 d``).

The limit is :data:`LIMIT_FRACTION` of the memory available now (``MemAvailable`` in
``/proc/meminfo``; ``sysconf`` elsewhere). Where neither is known, nothing is refused.
"""

from __future__ import annotations

import os

from asyncbound.checks.errors import UsageError

LIMIT_FRACTION = 0.8
TRACE_BYTES_PER_ROW = 480
PARAM_COPIES = 16
#: problem name -> bytes of its data for dimension d (default: a 4096 x d float64 matrix)
PROBLEM_BYTES = {"quadratic": lambda d: 24 * d * d}


def _default_problem_bytes(d: int) -> int:
    return 8 * 4096 * d


def available_bytes() -> int | None:
    """Memory available to a new allocation now, or None when the OS does not say."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def run_bytes(*, problem: str, dim: int | None, steps: int, seeds: int,
              max_delay: int | None = None) -> int:
    """Upper estimate, in bytes, of the memory of one ``run`` (see the module docstring)."""
    d = int(dim or 0)  # None: the problem's default dimension, small by construction
    total = TRACE_BYTES_PER_ROW * int(steps) * int(seeds)
    total += PARAM_COPIES * 8 * int(seeds) * d
    if max_delay is not None:
        total += (int(max_delay) + 1) * int(seeds) * d * 8
    total += PROBLEM_BYTES.get(problem, _default_problem_bytes)(d)
    return total


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB"


def check_run_fits(**sizes) -> int:
    """Raise ``UsageError`` (one line: estimate and limit) when the run cannot fit in memory.

    Returns the estimate in bytes.
    """
    need = run_bytes(**sizes)
    avail = available_bytes()
    if avail is not None and need > LIMIT_FRACTION * avail:
        shown = ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in sizes.items()
                          if v is not None and k != "problem")
        raise UsageError(f"this run needs about {_gib(need)} of memory ({shown}), more than the "
                         f"limit {_gib(LIMIT_FRACTION * avail)} ({LIMIT_FRACTION:.0%} of the "
                         f"{_gib(avail)} available): use fewer --steps or --seeds or a smaller --dim")
    return need
