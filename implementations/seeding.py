"""Explicit random streams: no global seeding anywhere in asyncbound.

Every backend draws the noise of worker ``w`` from ``worker_generator(seed, w)``, in the order
that worker computes its gradients. The reference backend replays a real run by following the
recorded worker of each update, so it reproduces the real run's gradient noise exactly.
"""

from __future__ import annotations

import torch

# Large odd multipliers keep the (seed, worker) -> stream map injective for any realistic
# seed (< 2**31) and worker count (< 2**16), and keep data and worker streams disjoint.
_WORKER_STRIDE = 1_000_003
_DATA_OFFSET = 7_919


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return seed


def worker_generator(seed: int, worker: int, device: str | torch.device = "cpu") -> torch.Generator:
    """The noise stream of one worker in one run."""
    _check_seed(seed)
    if worker < 0:
        raise ValueError(f"worker must be >= 0, got {worker!r}")
    gen = torch.Generator(device=device)
    gen.manual_seed(seed * _WORKER_STRIDE + 2 * worker + 1)
    return gen


def data_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """The stream used to build data (matrices, datasets, initial points) for a seed."""
    _check_seed(seed)
    gen = torch.Generator(device=device)
    gen.manual_seed(seed * _WORKER_STRIDE + 2 * _DATA_OFFSET)
    return gen
