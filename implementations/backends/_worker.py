"""Worker and master loops of the `processes` backend (run in spawned children).

Per update, a worker (1) claims a ticket (so a run applies exactly ``steps`` updates), (2) reads
the version counter and copies x (under the lock in locked mode, or from the max-delay ring
buffer), (3) draws its stochastic gradient from ``worker_generator(seed, w)`` (CONTRACTS §1:
worker w's j-th gradient is the j-th draw), (4) applies the rule's delta through the access
pattern, (5) bumps the version under the lock and (6) stamps its own preallocated row.
Instrumentation (2, 5, 6) is outside the numerical kernel and is skipped when
``instrument=False`` (lock-free: only the ticket counter, claimed in chunks, remains).
"""

from __future__ import annotations

import os
import queue
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
    spec = get_algorithm(cfg.algorithm)
    rule = build_rule(spec, **cfg.rule_kw)
    return make_pattern(spec.pattern, rule, dim, cfg.n_workers,
                        layer_sizes=getattr(cfg.problem, "layer_sizes", None), **cfg.pattern_kw)


def child_pattern(cfg: WorkerConfig, x: torch.Tensor):
    """``build_pattern`` in a child; ``init_states`` also sets a pattern's derived attributes
    (e.g. which shared states are per coordinate), so it runs once on a copy of x."""
    pattern = build_pattern(cfg, x.numel())
    pattern.init_states(x.detach().to("cpu").clone().unsqueeze(0))
    return pattern


def bootstrap(cfg: WorkerConfig, device: str) -> None:
    """First thing in every child: threads, then the CUDA device, before any CUDA call."""
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
    """Test-only fault injection (``_fault={"worker", "after", "kind"}``); inert otherwise."""

    def __init__(self, spec: dict | None, who: int):
        self.on = bool(spec) and int(spec.get("worker", -99)) == who
        self.after = int(spec.get("after", 0)) if self.on else 0
        self.kind = spec.get("kind", "raise") if self.on else None

    def check(self, done: int) -> None:
        if self.on and done >= self.after:
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
    """Entry point of worker ``who`` (spawned)."""
    try:
        device = cfg.worker_devices[who] if cfg.worker_devices else cfg.device
        bootstrap(cfg, device)
        if cfg.pattern in ("master_worker", "sync"):
            _mw_worker_loop(cfg, who, run, lock, ready, go, extra, device)
            extra["queue"].close()
            extra["queue"].join_thread()  # flush our notes before leaving
        else:
            _async_loop(cfg, who, run, lock, ready, go, device)
    except BaseException:
        _write_error(cfg, f"worker{who}")
        raise SystemExit(1) from None
    _fast_exit(device)


def _fast_exit(device: str) -> None:
    """Leave without interpreter teardown (about 1.3 s with torch loaded, per child).

    Everything the parent needs is already in shared memory; CUDA work is synchronised first.
    """
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    os._exit(0)


def _region(pattern, block: int):
    """Coordinates an update may write: a slice for partitions, None (data-dependent/all)."""
    if block is not None and not torch.is_tensor(block) and block >= 0 and hasattr(pattern, "blocks"):
        a, b = pattern.blocks[block]
        return slice(a, b)
    return None


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


def _async_loop(cfg, who, run, lock, ready, go, device):
    from ..patterns import block_generator
    from ..seeding import worker_generator
    problem = cfg.problem
    x = run.x                                # (d,) shared
    home = x.device
    pattern = child_pattern(cfg, x)
    gen = worker_generator(cfg.seed, who, device=device)
    bgen = block_generator(cfg.seed, who, device=device) if pattern.random_block else None
    wstate = {k: v.to(device) for k, v in run.extra["wstate"][who].items()}
    shared = run.state                       # (1, ...) shared tensors ({} if none)
    sparse = pattern.random_block or cfg.pattern in ("sparse", "sparse_ef")
    c = run.counters.numpy()
    hb = run.heartbeat.numpy()
    ist = run.istamps.numpy()[who] if cfg.instrument else None
    fst = run.fstamps.numpy()[who] if cfg.instrument else None
    cnt = run.counts.numpy()
    infl = run.inflight.numpy()
    fault = _Fault(cfg.fault, who)
    delay = _Delay(cfg, who) if cfg.max_delay is not None else None
    T = cfg.max_delay
    factor = float(cfg.straggler[who]) if cfg.straggler else 1.0
    serial = cfg.locked or delay is not None
    # tickets: the run applies exactly `steps` updates; claiming them in chunks keeps the
    # claim off the per-update path (at most chunk-1 reserved updates per worker at the end)
    chunk = max(1, min(16, cfg.steps // (8 * cfg.n_workers)))
    tickets = 0
    done = 0
    ready.release()
    go.wait()
    t0 = float(run.extra["t0"][0])
    with torch.no_grad():
        while True:
            if tickets == 0:  # claim a few updates at a time: one lock per `chunk` updates
                with lock:
                    left = cfg.steps - int(c[S.C_CLAIMED])
                    if left <= 0 or c[S.C_STOP]:
                        break
                    tickets = min(chunk, left)
                    c[S.C_CLAIMED] += tickets
            if c[S.C_STOP]:
                break
            tickets -= 1
            fault.check(done)
            rs = time.monotonic()
            if delay is not None:
                with lock:
                    r = _bounded_read(c, lock, infl, who, delay, hb)
                    xr = run.ring[r % (T + 1)].to(device, copy=True)
                    _sync(xr)
            elif cfg.locked:
                with lock:
                    r = int(c[S.C_VERSION])
                    xr = x.to(device, copy=True)
                    _sync(xr)
            else:
                r = int(c[S.C_VERSION]) if cfg.instrument else -1
                xr = x.to(device, copy=True)
                _sync(xr)
            re_ = time.monotonic()
            xr = xr.unsqueeze(0)
            g = problem.stochastic_grad(xr, gen)                    # (1, d)
            if factor != 1.0:
                time.sleep(max(0.0, (factor - 1.0) * (time.monotonic() - re_)))
            tl = done + 1
            block = pattern.draw_block(bgen, 1) if bgen is not None else pattern.block_for(who, tl)
            region = _region(pattern, block)
            ws = time.monotonic()
            held = serial
            if serial:
                lock.acquire()
            try:
                if delay is not None:
                    _wait_bounded(c, lock, infl, who, T, hb)
                tg = int(c[S.C_VERSION]) + 1
                delta, wstate, new_sh = pattern.step(g, wstate, shared, t_local=tl,
                                                     t_global=tg, block=block)
                _write(x, delta.to(home), problem, region, serial, sparse)
                for k, v in new_sh.items():
                    shared[k].copy_(v)
                _sync(x)
                wv = -1
                if serial or cfg.instrument:  # lock-free and uninstrumented: no bookkeeping
                    if not held:
                        lock.acquire()
                        held = True
                    wv = int(c[S.C_VERSION])
                    c[S.C_VERSION] = wv + 1
                    _after_write(run, cfg, x, wv + 1)
                    _sync(run.ring)
                    if delay is not None:
                        infl[who] = -1
                we = time.monotonic()  # under the lock: wall times follow the write order
            finally:
                if held:
                    lock.release()
            if cfg.instrument:
                ist[done, S.I_READ] = r
                ist[done, S.I_WRITE] = wv
                ist[done, S.I_BLOCK] = int(block)
                ist[done, S.I_WORKER] = who
                fst[done, S.F_WALL] = we - t0
                fst[done, S.F_SGRAD] = float(torch.linalg.vecdot(g, g).sum())
                fst[done, S.F_RS], fst[done, S.F_RE] = rs - t0, re_ - t0
                fst[done, S.F_WS], fst[done, S.F_WE] = ws - t0, we - t0
                ef = pattern.ef_residual(wstate)
                if ef is not None:
                    fst[done, S.F_EF] = float(ef.sum())
                if cfg.view_gap:
                    fst[done, S.F_VIEWGAP] = float(torch.linalg.vector_norm(x.to(device) - xr))
                cnt[who] = done + 1
            done += 1
            hb[who] = we
    slot = run.extra["wstate"][who]  # leave the final worker state for the parent (parity)
    for k, v in wstate.items():
        slot[k].copy_(v.to(slot[k].device))


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


def _mw_worker_loop(cfg, who, run, lock, ready, go, extra, device):
    """APAM worker: read x (shared), compute g, hand it to the master's slot, wait for the ack."""
    from ..seeding import worker_generator
    problem = cfg.problem
    gen = worker_generator(cfg.seed, who, device=device)
    x = run.x
    c = run.counters.numpy()
    hb = run.heartbeat.numpy()
    meta = run.slot_meta.numpy()
    infl = run.inflight.numpy()
    note_q, acks = extra["queue"], extra["acks"]
    fault = _Fault(cfg.fault, who)
    delay = _Delay(cfg, who) if cfg.max_delay is not None else None
    T = cfg.max_delay
    factor = float(cfg.straggler[who]) if cfg.straggler else 1.0
    done = 0
    ready.release()
    go.wait()
    while not c[S.C_STOP]:
        fault.check(done)
        if delay is not None:
            with lock:
                r = _bounded_read(c, lock, infl, who, delay, hb)
                xr = run.ring[r % (T + 1)].to(device, copy=True)
                _sync(xr)
        elif cfg.locked or cfg.pattern == "sync":
            with lock:
                r = int(c[S.C_VERSION])
                xr = x.to(device, copy=True)
                infl[who] = r
                _sync(xr)
        else:
            r = int(c[S.C_VERSION])
            infl[who] = r
            xr = x.to(device, copy=True)
            _sync(xr)
        t_c = time.monotonic()
        g = problem.stochastic_grad(xr.unsqueeze(0), gen)
        if factor != 1.0:
            time.sleep(max(0.0, (factor - 1.0) * (time.monotonic() - t_c)))
        run.grad_slot[who].copy_(g.squeeze(0))
        _sync(run.grad_slot)
        meta[who, 0] = r
        meta[who, 1] = done
        note_q.put(who)
        done += 1
        while not acks[who].acquire(timeout=0.2):
            hb[who] = time.monotonic()
            if c[S.C_STOP]:
                return
        hb[who] = time.monotonic()


def master_main(cfg: WorkerConfig, who: int, run: S.SharedRun, lock, ready, go, extra) -> None:
    """APAM master (spawned): the only writer of x and of the optimizer state.

    Gradients are applied in arrival order; with max-delay injection the oldest pending one
    goes first and the master waits rather than let an in-flight read exceed T. ``sync``: the
    master waits for one gradient from every worker and applies their mean (minibatch SGD /
    synchronous AMSGrad), one row per applied step with ``worker = -1``.
    """
    try:
        bootstrap(cfg, cfg.device)
        _master_loop(cfg, who, run, lock, ready, go, extra)
    except BaseException:
        _write_error(cfg, "master")
        raise SystemExit(1) from None
    _fast_exit(cfg.device)


def _master_loop(cfg, who, run, lock, ready, go, extra):
    problem = cfg.problem
    x = run.x
    pattern = child_pattern(cfg, x)
    shared = {k: v.clone() for k, v in run.state.items()}   # the master's own copy (it alone writes)
    c = run.counters.numpy()
    hb = run.heartbeat.numpy()
    meta = run.slot_meta.numpy()
    infl = run.inflight.numpy()
    ist = run.istamps.numpy()[0] if cfg.instrument else None
    fst = run.fstamps.numpy()[0] if cfg.instrument else None
    cnt = run.counts.numpy()
    note_q, acks = extra["queue"], extra["acks"]
    W, T = cfg.n_workers, cfg.max_delay
    sync = cfg.pattern == "sync"
    pending: dict[int, int] = {}
    ready.release()
    go.wait()
    t0 = float(run.extra["t0"][0])
    k = 0
    with torch.no_grad():
        while k < cfg.steps and not c[S.C_STOP]:
            try:
                w = note_q.get(timeout=0.2 if not pending else 1e-3)
                pending[w] = int(meta[w, 0])
                while True:  # drain without blocking
                    w = note_q.get_nowait()
                    pending[w] = int(meta[w, 0])
            except queue.Empty:
                pass
            hb[who] = time.monotonic()
            if sync:
                if len(pending) < W:
                    continue
                chosen = list(range(W))
                # same expression as the reference: sum over workers 0..W-1, then / W
                g = sum(run.grad_slot[w].unsqueeze(0) for w in chosen) / W
                r, widx = min(pending.values()), -1
            else:
                if not pending:
                    continue
                widx = next(iter(pending))  # arrival order
                if T is not None:
                    widx = min(pending, key=lambda q: (pending[q], q))
                    rest = [int(infl[o]) for o in range(W) if o != widx and infl[o] >= 0]
                    if not _feasible(rest, k + 1, T):
                        continue  # an older read is still being computed: wait for it
                chosen, r = [widx], pending[widx]
                g = run.grad_slot[widx].unsqueeze(0).clone()
            _sync(g)  # the copy must be done before the ack lets the worker overwrite its slot
            delta, _, shared = pattern.step(g, {}, shared, t_local=k + 1, t_global=k + 1)
            with lock:
                _write(x, delta, problem, None, True, False)
                _sync(x)
                c[S.C_VERSION] = k + 1
                _after_write(run, cfg, x, k + 1)
                _sync(run.ring)
                for w in chosen:
                    infl[w] = -1
            now = time.monotonic()
            if cfg.instrument:
                ist[k, S.I_READ] = r
                ist[k, S.I_WRITE] = k
                ist[k, S.I_BLOCK] = -1
                ist[k, S.I_WORKER] = widx
                fst[k, S.F_WALL] = now - t0
                fst[k, S.F_SGRAD] = float(torch.linalg.vecdot(g, g).sum())
                cnt[0] = k + 1
            k += 1
            for w in chosen:
                del pending[w]
                acks[w].release()
    with lock:
        c[S.C_STOP] = 1
    for key, v in shared.items():
        run.state[key].copy_(v)
    for a in acks:
        a.release()
