"""The interleaving of a run (:class:`Schedule`: which worker produced update k and the version
of x it read) and the seeded stream delay models draw it from (:func:`schedule_generator`).

A delay model (:mod:`implementations.delays`) produces a schedule; a trace records one
(:meth:`Schedule.from_trace`); ``replay`` re-uses it. The staleness of update k is
``k - read_version[k]`` (the one definition: :mod:`implementations.trace`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

_STRIDE = 1_000_003       # as in seeding.py: keeps (seed, purpose) -> stream injective
_SCHEDULE_OFFSET = 2 * 5003  # even: disjoint from the (odd) worker streams of seeding.py


def schedule_generator(seed: int) -> torch.Generator:
    """The stream a backend passes to :meth:`DelayModel.schedule` for base seed ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    g = torch.Generator()
    g.manual_seed(seed * _STRIDE + _SCHEDULE_OFFSET)
    return g


@dataclass
class Schedule:
    """The interleaving of a run: ``worker`` and ``read_version``, both ``(S, K)`` int64.

    Optional: ``wall_time`` (S, K) float64 virtual/real seconds of each write; ``block`` (S, K)
    int64 recorded block choices (-1: none) that a replay re-uses.
    """

    worker: torch.Tensor
    read_version: torch.Tensor
    wall_time: torch.Tensor | None = None
    block: torch.Tensor | None = None

    def __post_init__(self):
        self.worker = torch.as_tensor(self.worker, dtype=torch.int64)
        self.read_version = torch.as_tensor(self.read_version, dtype=torch.int64)
        if self.worker.dim() == 1:
            self.worker, self.read_version = self.worker[None], self.read_version[None]
        if self.worker.shape != self.read_version.shape or self.worker.dim() != 2:
            raise ValueError(f"worker and read_version must both be (S, K), got "
                             f"{tuple(self.worker.shape)} and {tuple(self.read_version.shape)}")
        k = torch.arange(self.worker.shape[1])
        if (self.read_version < 0).any() or (self.read_version > k).any():
            raise ValueError("schedule must satisfy 0 <= read_version[k] <= k")
        if (self.worker < 0).any():
            raise ValueError("schedule workers must be >= 0")
        for name in ("wall_time", "block"):
            v = getattr(self, name)
            if v is not None:
                v = torch.as_tensor(v)
                v = v[None] if v.dim() == 1 else v
                if v.shape != self.worker.shape:
                    raise ValueError(f"schedule {name} must be {tuple(self.worker.shape)}, got "
                                     f"{tuple(v.shape)}")
                setattr(self, name, v)

    @property
    def n_seeds(self) -> int:
        return self.worker.shape[0]

    @property
    def n_updates(self) -> int:
        return self.worker.shape[1]

    @property
    def staleness(self) -> torch.Tensor:
        return torch.arange(self.n_updates) - self.read_version

    def head(self, n_updates: int) -> Schedule:
        sl = (slice(None), slice(0, n_updates))
        return Schedule(self.worker[sl], self.read_version[sl],
                        None if self.wall_time is None else self.wall_time[sl],
                        None if self.block is None else self.block[sl])

    @classmethod
    def from_trace(cls, trace) -> Schedule:
        """The schedule a trace recorded (rows sorted by seed, then update)."""
        c = trace.columns
        seeds = np.unique(c["seed"])
        order = np.lexsort((c["update"], c["seed"]))
        S = len(seeds)
        if S == 0 or len(order) % S:
            raise ValueError("trace does not hold the same number of updates for every seed")
        K = len(order) // S

        def col(name, dtype):
            return torch.as_tensor(np.ascontiguousarray(c[name][order]).astype(dtype).reshape(S, K))

        upd = col("update", np.int64)
        if not torch.equal(upd, torch.arange(K).expand(S, K)):
            raise ValueError("trace updates are not 0..K-1 for every seed (gaps or duplicates)")
        block = col("block", np.int64)
        read = col("read_version", np.int64)
        disc = c.get("discarded")
        if disc is not None and np.any(disc):
            read = torch.as_tensor(_arrival_reads(read.numpy(), col("discarded", bool).numpy()))
        return cls(col("worker", np.int64), read,
                   col("wall_time", np.float64), block if (block >= 0).any() else None)


def _arrival_reads(read: np.ndarray, discarded: np.ndarray) -> np.ndarray:
    """Read versions of a trace with discards (counted in applied updates) as the arrival
    indices a schedule uses: version r was current from the arrival after applied update r - 1
    up to applied update r (a discarded arrival leaves x unchanged, so any of them reads the
    same x); the first such arrival is taken. Replayed, the same discards recur."""
    out = np.empty_like(read)
    for s in range(read.shape[0]):
        applied_rows = np.nonzero(~discarded[s])[0]
        starts = np.concatenate([[0], applied_rows + 1])   # first arrival at version r
        out[s] = starts[read[s]]
    return out
