"""Shared pieces of the `processes` backend's child processes, and their entry points.

The loops themselves live in :mod:`._async_worker` (workers that write x: Hogwild!, PASSM,
random blocks, sparse) and :mod:`._apam_master` (APAM/sync: gradient-only workers and the
master). This module holds what both (and :mod:`._ps`) share: the run configuration, child
bootstrap, error files, fault and max-delay injection, the bounded-staleness bookkeeping, the
write of an update and what follows a version bump.

Per update, a worker (1) claims a ticket (so a run applies exactly ``steps`` updates), (2) reads
the version counter and copies x (under the lock in locked mode, or from the max-delay ring
buffer), (3) draws its stochastic gradient from ``worker_generator(seed, w)`` (CONTRACTS §1:
worker w's j-th gradient is the j-th draw), (4) applies the rule's delta through the access
pattern, (5) bumps the version under the lock and (6) stamps its own preallocated row.
Instrumentation (2, 5, 6) is outside the numerical kernel and is skipped when
``instrument=False`` (lock-free: only the ticket counter, claimed in chunks, remains). The
per-update metric ``sgrad_norm_sq = ||g||^2`` is not staleness bookkeeping but reads the whole
fresh gradient once more (about 10 us of a 280 us MLP update, profiled); ``grad_norms=False``
skips it and leaves the column NaN.
"""

from __future__ import annotations

import os
import random
import time
import traceback
from dataclasses import dataclass, field

import torch

from . import _shared as S


@dataclass
class WorkerConfig:
    seed: int                     # base seed: worker_generator(seed, w), block_generator(seed, w)
    n_workers: int
    steps: int
    pattern: str                  # patterns.PATTERNS name
    algorithm: object             # registry name (or a picklable AlgorithmSpec)
    rule_kw: dict                 # rule hyperparameters (lr included)
    pattern_kw: dict              # pattern options (warmup, n_blocks, ...)
    problem: object
    device: str = "cpu"
    worker_devices: tuple = ()
    locked: bool = True
    instrument: bool = True
    grad_norms: bool = True       # per-update ||g||^2 (sgrad_norm_sq); needs instrument
    straggler: tuple = ()
    max_delay: int | None = None
    delay_model: object = None    # DelayModel whose sample() draws injected delays, or None
    eval_every: int | None = None
    view_gap: bool = False
    fault: dict | None = None
    errdir: str = ""
    threads: int = 1
    extra: dict = field(default_factory=dict)


def build_pattern(cfg: WorkerConfig, dim: int):
    """The rule and access pattern of this run, built the same way the reference does."""
    from ..patterns import make_pattern
    from ..registry import build_rule, get_algorithm
    algo = get_algorithm(cfg.algorithm)
    rule = build_rule(algo, **cfg.rule_kw)
    return make_pattern(algo.pattern, rule, dim, cfg.n_workers,
                        layer_sizes=getattr(cfg.problem, "layer_sizes", None), **cfg.pattern_kw)


def child_pattern(cfg: WorkerConfig, x: torch.Tensor):
    """``build_pattern`` in a child; ``init_states`` also sets a pattern's derived attributes
    (e.g. which shared states are per coordinate), so it runs once on a copy of x."""
    pattern = build_pattern(cfg, x.numel())
    pattern.init_states(x.detach().to("cpu").clone().unsqueeze(0))
    return pattern


def bootstrap(cfg: WorkerConfig, device: str) -> None:
    """First thing in every child: threads, then the CUDA device, before any CUDA call.

    (The child's lifeline to its parent is set even earlier, by ``_lifeline.child_main``.)"""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(max(1, cfg.threads))
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # may be set only once per process
        pass
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))


def _write_error(cfg: WorkerConfig, who: str) -> None:
    path = os.path.join(cfg.errdir, f"{who}.err")
    with open(path + ".tmp", "w") as fh:
        fh.write(traceback.format_exc())
    os.replace(path + ".tmp", path)


def _sync(*tensors) -> None:
    """Wait for this process's queued CUDA work on these tensors' devices (no-op on CPU).

    CUDA kernels are asynchronous per process: before another process may read what we wrote
    (version bump, lock release, a note to the master) or overwrite what we are copying, our
    kernels must have finished.
    """
    for t in tensors:
        if t is not None and t.is_cuda:
            torch.cuda.synchronize(t.device)


class _Fault:
    """Test-only fault injection (``_fault={"worker", "after", "kind"}``); inert otherwise.

    Kinds: ``raise``, ``hang``, ``exit`` (at :meth:`check`), and ``slow`` (``seconds``): the
    process sleeps at :meth:`pause`, the APAM master between choosing a gradient and writing it,
    which widens any race between that decision and the workers' reads.
    """

    def __init__(self, fault: dict | None, who: int):
        self.on = bool(fault) and int(fault.get("worker", -99)) == who
        self.after = int(fault.get("after", 0)) if self.on else 0
        self.kind = fault.get("kind", "raise") if self.on else None
        self.seconds = float(fault.get("seconds", 0.0)) if self.on else 0.0

    def pause(self) -> None:
        if self.kind == "slow":
            time.sleep(self.seconds)

    def check(self, done: int) -> None:
        if self.on and self.kind != "slow" and done >= self.after:
            if self.kind == "hang":
                while True:  # no heartbeat: the parent's hang detector must catch this
                    time.sleep(1.0)
            if self.kind == "exit":
                os._exit(3)
            raise RuntimeError(f"injected fault after {done} updates")


class _Delay:
    """Max-delay injection (APAM's artificial delay): a target delay per read, at most T.

    Draws come from the run's DelayModel (``uniform:T`` -> U{0..T}, ``constant:T`` -> T) or,
    with only ``max_delay=T``, uniformly from 0..T, on a stream of their own (the noise stream
    must stay "the j-th draw is the j-th gradient").
    """

    def __init__(self, cfg: WorkerConfig, who: int):
        self.T = cfg.max_delay
        self.model = cfg.delay_model
        self.rng = random.Random(cfg.seed * 1_000_003 + 7 * who + 5)
        self.gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + 2 * (30_011 + who))
        self.buf: list[int] = []

    def draw(self, version: int) -> int:
        if self.model is None:
            dl = self.rng.randint(0, self.T)
        else:
            if not self.buf:
                self.buf = [int(v) for v in self.model.sample(256, self.gen)]
            dl = self.buf.pop()
        return max(0, min(dl, self.T, version))


def _feasible(reads: list[int], v: int, T: int) -> bool:
    """Can unresolved reads ``reads`` still all be written with staleness <= T from version v?

    The best order writes the oldest read first, at v, v+1, ...: feasible iff
    ``v + i - r_(i) <= T`` for the sorted reads. Keeping this invariant at every read and every
    write guarantees the bound (the oldest read's owner can always write, so nobody deadlocks).
    """
    return all(v + i - r <= T for i, r in enumerate(sorted(reads)))


def _others(infl, who: int) -> list[int]:
    return [int(infl[o]) for o in range(infl.shape[0]) if o != who and infl[o] >= 0]


def _bounded_read(c, lock, infl, who: int, delay: _Delay, hb) -> int:
    """Under the lock: pick a read version as old as the drawn delay allows; returns it.

    Called with the lock held; may release and re-acquire it while waiting.
    """
    T = delay.T
    target = None
    while True:
        v = int(c[S.C_VERSION])
        if target is None:
            target = delay.draw(v)
        others = _others(infl, who)
        for dl in range(min(target, v), -1, -1):
            if _feasible(others + [v - dl], v, T):
                infl[who] = v - dl
                return v - dl
        if c[S.C_STOP]:
            infl[who] = v
            return v
        lock.release()
        hb[who] = time.monotonic()
        time.sleep(5e-5)
        lock.acquire()


def _wait_bounded(c, lock, infl, who: int, T: int, hb) -> None:
    """Block (lock released meanwhile) until writing now keeps every other read within T."""
    while not (_feasible(_others(infl, who), int(c[S.C_VERSION]) + 1, T) or c[S.C_STOP]):
        lock.release()
        hb[who] = time.monotonic()
        time.sleep(5e-5)
        lock.acquire()


def worker_main(cfg: WorkerConfig, who: int, run: S.SharedRun, lock, ready, go, extra) -> None:
    """Entry point of worker ``who`` (spawned).

    The loop modules import this module's helpers, so they are imported here, in the child,
    rather than at the top (which would be circular).
    """
    try:
        device = cfg.worker_devices[who] if cfg.worker_devices else cfg.device
        bootstrap(cfg, device)
        if cfg.pattern in ("master_worker", "sync"):
            from ._apam_master import gradient_worker_loop
            gradient_worker_loop(cfg, who, run, lock, ready, go, extra, device)
            extra["queue"].close()
            extra["queue"].join_thread()  # flush our notes before leaving
        else:
            from ._async_worker import worker_loop
            worker_loop(cfg, who, run, lock, ready, go, device)
    except BaseException:
        _write_error(cfg, f"worker{who}")
        raise SystemExit(1) from None
    _fast_exit(device)


def master_main(cfg: WorkerConfig, who: int, run: S.SharedRun, lock, ready, go, extra) -> None:
    """APAM master (spawned): the only writer of x and of the optimizer state.

    Gradients are applied in arrival order; with max-delay injection the oldest pending one
    goes first and the master waits rather than let an in-flight read exceed T. ``sync``: the
    master waits for one gradient from every worker and applies their mean (minibatch SGD /
    synchronous AMSGrad), one row per applied step with ``worker = -1``.
    """
    try:
        bootstrap(cfg, cfg.device)
        from ._apam_master import master_loop
        master_loop(cfg, who, run, lock, ready, go, extra)
    except BaseException:
        _write_error(cfg, "master")
        raise SystemExit(1) from None
    _fast_exit(cfg.device)


def _fast_exit(device: str) -> None:
    """Leave without interpreter teardown (about 1.3 s with torch loaded, per child).

    Everything the parent needs is already in shared memory; CUDA work is synchronised first.
    """
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    os._exit(0)


def _write(x, delta, problem, region, locked: bool, sparse: bool) -> None:
    """``x <- project(x + delta)`` on the coordinates the update owns.

    Locked: exactly the reference's ``project(x + delta)`` (bit-for-bit; a block update's
    delta is zero elsewhere, so other coordinates keep their values). Lock-free: an
    in-place add on the written coordinates only (a slice, or the non-zeros of a sparse or
    block delta), so a worker never rewrites coordinates it does not update (a full-width
    read-modify-write would erase concurrent writes to them); a box domain (constant ``D``)
    is then clamped coordinate-wise, in place.
    """
    d = delta.reshape(-1)
    if locked:  # the problem's own projection, on the (1, d) batch the reference uses
        x.copy_(problem.project((x + d).unsqueeze(0)).reshape(-1))
        return
    D = getattr(problem, "constants", {}).get("D")
    if region is not None:
        x[region].add_(d[region])
        if D is not None:
            x[region].clamp_(-D, D)
    elif sparse:
        idx = d.nonzero().squeeze(1)
        x.index_add_(0, idx, d[idx])
        if D is not None:
            x[idx] = x[idx].clamp(-D, D)
    else:
        x.add_(d)
        if D is not None:
            x.clamp_(-D, D)


class ViewHistory:
    """A single writer's copies of recent versions of x, for the view gap ``||x_k - x_r||``.

    In a master-worker run the gradient applied at update k was computed at version r of x,
    while the master holds x_k; the view gap (Nadiradze et al. 2021's ``||x_t - v_t||``) is their
    distance. Only the master writes x, so it can keep x_v itself for every version a worker may
    still be computing at: worker w's next read is at least ``floor[w]`` (the version current
    when its last gradient was applied, or the version sent to it), minus ``slack`` under
    max-delay injection (a worker reads up to T versions back from the ring buffer). Versions
    older than every floor are dropped, so the copies kept span the current staleness.

    Exact when workers read a consistent version (locked reads, max-delay ring reads, the
    distributed master's replies); with lock-free reads of shared x a worker's view may mix
    versions r and r+1, and the gap to x_r is then the gap of the version it was tagged with.
    Returns NaN for a version no longer kept (never expected; counted by the caller's NaNs).
    """

    def __init__(self, x: torch.Tensor, n_workers: int, slack: int = 0):
        self.h = {0: x.detach().clone()}
        self.floor = [0] * n_workers
        self.slack = int(slack)

    def gap(self, x: torch.Tensor, r: int) -> float:
        v = self.h.get(int(r))
        return float(torch.linalg.vector_norm(x - v)) if v is not None else float("nan")

    def written(self, version: int, x: torch.Tensor, workers) -> None:
        """After ``version`` was written; ``workers``' next reads are at least ``version``."""
        self.h[int(version)] = x.detach().clone()
        for w in workers:
            self.floor[w] = int(version)
        self._drop()

    def resent(self, version: int, workers) -> None:
        """``workers`` were sent ``version`` again (their gradient was discarded, nothing
        written): their next reads are at least ``version``."""
        for w in workers:
            self.floor[w] = int(version)
        self._drop()

    def _drop(self) -> None:
        lo = min(self.floor) - self.slack
        for v in [v for v in self.h if v < lo]:
            del self.h[v]


def _after_write(run: S.SharedRun, cfg: WorkerConfig, x: torch.Tensor, version: int) -> None:
    """Under the lock, right after version ``version`` became current: ring buffer, snapshot."""
    if run.ring is not None:
        slot = version % run.ring.shape[0]
        run.ring[slot].copy_(x)
        run.ring_version[slot] = version
    if cfg.eval_every and version % cfg.eval_every == 0:
        i = version // cfg.eval_every - 1
        if i < run.snaps.shape[0]:
            run.snaps[i].copy_(x)
            run.snap_version[i] = version

