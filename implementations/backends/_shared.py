"""Shared-memory state of one `processes` run: parameters, counters, stamp buffers, ring buffer.

Everything a worker touches in its hot loop is allocated ONCE by the parent, before the workers
start, and passed to them as spawn arguments (torch moves CPU tensors to shared memory and CUDA
tensors through CUDA IPC). The parent keeps every tensor alive until all workers have been
joined, as CUDA IPC requires (the producer must outlive the consumers).

Bookkeeping is never lock-free (ecosystem notes B4/B6): the version counter is bumped under one
``ctx.Lock()``; stamps go to preallocated per-worker rows (one writer per row, no race).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

# integer stamp columns (per worker, one row per applied update of that worker)
# (I_DISCARD: 1 for a discarded gradient, 0 applied, -1 not stamped by that loop)
I_READ, I_WRITE, I_BLOCK, I_WORKER, I_DISCARD = 0, 1, 2, 3, 4
N_ISTAMP = 5
# float stamp columns
F_WALL, F_SGRAD, F_VIEWGAP, F_EF, F_RS, F_RE, F_WS, F_WE = range(8)
N_FSTAMP = 8

# counters (int64, shared): version = number of updates applied; claimed = tickets handed out;
# stop = 1 when the run must end (budget reached or a failure in the parent).
C_VERSION, C_CLAIMED, C_STOP, C_SNAPS = 0, 1, 2, 3
N_COUNTERS = 4


@dataclass
class SharedRun:
    """Tensors shared between the parent and the workers (all CPU except ``x``/state/ring)."""

    x: torch.Tensor                       # (d,) the model
    state: dict[str, torch.Tensor]        # shared optimizer state ({} if per-worker/master)
    counters: torch.Tensor                # (N_COUNTERS,) int64
    istamps: torch.Tensor                 # (n_writers, cap, N_ISTAMP) int64
    fstamps: torch.Tensor                 # (n_writers, cap, N_FSTAMP) float64
    counts: torch.Tensor                  # (n_writers,) int64 rows filled per writer
    heartbeat: torch.Tensor               # (n_procs,) float64 time.monotonic() of last progress
    snaps: torch.Tensor                   # (n_snaps, d) model snapshots for evaluation
    snap_version: torch.Tensor            # (n_snaps,) int64 number of updates at the snapshot
    ring: torch.Tensor | None = None      # (T+1, d) last T+1 versions of x (max_delay injection)
    ring_version: torch.Tensor | None = None  # (T+1,) int64
    inflight: torch.Tensor | None = None  # (n_workers,) int64 read version in flight, -1 idle
    grad_slot: torch.Tensor | None = None     # (n_workers, d) master-worker gradient slots
    slot_meta: torch.Tensor | None = None     # (n_workers, 2) int64 [read_version, seq]
    extra: dict = field(default_factory=dict)


def allocate(x0: torch.Tensor, state: dict[str, torch.Tensor], *, steps: int, n_writers: int,
             n_workers: int, n_procs: int, eval_every: int | None, max_delay: int | None,
             master_worker: bool, instrument: bool) -> SharedRun:
    """Preallocate all shared buffers. ``x0`` is (d,) on the run's device."""
    d = x0.numel()
    cap = steps if instrument else 0
    need = n_writers * cap * 8 * (N_ISTAMP + N_FSTAMP)
    need += (steps // eval_every if eval_every else 0) * d * x0.element_size()
    check_shm(need)
    x = x0.clone().contiguous()
    x.share_memory_()
    shared_state = {}
    for k, v in state.items():
        t = v.clone().contiguous()
        t.share_memory_()
        shared_state[k] = t
    istamps = torch.full((n_writers, cap, N_ISTAMP), -1, dtype=torch.int64).share_memory_()
    fstamps = torch.full((n_writers, cap, N_FSTAMP), math.nan, dtype=torch.float64).share_memory_()
    n_snaps = 0
    if eval_every:
        n_snaps = steps // eval_every
    snaps = torch.zeros((n_snaps, d), dtype=x.dtype, device="cpu").share_memory_()
    snap_version = torch.full((n_snaps,), -1, dtype=torch.int64).share_memory_()
    run = SharedRun(
        x=x, state=shared_state,
        counters=torch.zeros(N_COUNTERS, dtype=torch.int64).share_memory_(),
        istamps=istamps, fstamps=fstamps,
        counts=torch.zeros(n_writers, dtype=torch.int64).share_memory_(),
        heartbeat=torch.zeros(n_procs, dtype=torch.float64).share_memory_(),
        snaps=snaps, snap_version=snap_version,
    )
    if max_delay is not None:
        run.ring = x.unsqueeze(0).repeat(max_delay + 1, 1).contiguous()
        run.ring.share_memory_()
        run.ring_version = torch.full((max_delay + 1,), -1, dtype=torch.int64)
        run.ring_version[0] = 0
        run.ring_version.share_memory_()
    run.inflight = torch.full((n_workers,), -1, dtype=torch.int64).share_memory_()
    if master_worker:
        run.grad_slot = torch.zeros((n_workers, d), dtype=x.dtype, device=x.device)
        run.grad_slot.share_memory_()
        run.slot_meta = torch.zeros((n_workers, 2), dtype=torch.int64).share_memory_()
    return run


def check_shm(nbytes: int, path: str = "/dev/shm") -> None:
    """Fail early, with the remedy, when shared memory is too small (Docker's 64 MB default)."""
    import os
    import shutil
    if not os.path.isdir(path):
        return
    free = shutil.disk_usage(path).free
    if nbytes * 1.2 > free:
        raise ValueError(f"this run needs about {nbytes / 2**20:.0f} MiB of shared memory for its "
                         f"stamp buffers and snapshots, but {path} has {free / 2**20:.0f} MiB free; "
                         "use fewer steps per run, a larger eval_every, instrument=False, or give "
                         "the container more shared memory (docker run --shm-size=1g)")


def gather_rows(run: SharedRun) -> dict[str, np.ndarray]:
    """Collect the stamp rows of every writer, ordered by write version.

    Works on a partial run too (after a failure): only filled rows are read.
    """
    ist, fst = [], []
    for w in range(run.counts.numel()):
        n = int(run.counts[w])
        ist.append(run.istamps[w, :n].numpy())
        fst.append(run.fstamps[w, :n].numpy())
    i = np.concatenate(ist) if ist else np.zeros((0, N_ISTAMP), np.int64)
    f = np.concatenate(fst) if fst else np.zeros((0, N_FSTAMP), np.float64)
    disc = i[:, I_DISCARD] == 1
    if disc.any():
        # discarded gradients share the write version of the next applied update: they come
        # before it (declined while that version was current), in arrival (wall time) order
        order = np.lexsort((f[:, F_WALL], ~disc, i[:, I_WRITE]))
    else:
        order = np.argsort(i[:, I_WRITE], kind="stable")
    return {"i": i[order], "f": f[order]}
