"""The loop of a `processes` worker that writes x itself: Hogwild! (``full``), PASSM
(``partition``, ``partition_plus``), ``random_blocks`` and ``sparse``/``sparse_ef``.

The per-update protocol (tickets, read, gradient, write, version bump, stamps) is described in
:mod:`._worker`, which holds the helpers this loop shares with the APAM loops and :mod:`._ps`.
"""

from __future__ import annotations

import time

import torch

from . import _shared as S
from ._worker import (
    _after_write,
    _bounded_read,
    _Delay,
    _Fault,
    _sync,
    _wait_bounded,
    _write,
    child_pattern,
)


def _region(pattern, block: int):
    """Coordinates an update may write: a slice for partitions, None (data-dependent/all)."""
    if block is not None and not torch.is_tensor(block) and block >= 0 and hasattr(pattern, "blocks"):
        a, b = pattern.blocks[block]
        return slice(a, b)
    return None


def worker_loop(cfg, who, run, lock, ready, go, device):
    """Apply updates until the run's ``steps`` tickets are claimed or the parent stops it."""
    from ..patterns import block_generator
    from ..rules.base import UpdateContext, needs_staleness
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
    # a context rule or discard_above needs the exact staleness when the step is computed:
    # processes.run forces locked mode for those (documented deviation)
    ctx_on = needs_staleness(pattern.rule, pattern.discard_above)
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
                if cfg.view_gap and cfg.instrument:
                    # ||x_k - v_k|| with x_k the model just BEFORE this write, as the reference
                    # and the definition (Nadiradze et al. 2021) have it
                    vgap = float(torch.linalg.vector_norm(x.to(device) - xr))
                ctx = None if not ctx_on else UpdateContext(
                    torch.tensor([tg - 1 - r]), who, torch.tensor([tg - 1]), cfg.steps,
                    cfg.n_workers, tl, tg)
                delta, wstate, new_sh, keep = pattern.update(g, wstate, shared, t_local=tl,
                                                             t_global=tg, block=block, ctx=ctx)
                discarded = keep is not None  # S = 1: not None means this one was declined
                if not discarded:
                    _write(x, delta.to(home), problem, region, serial, sparse)
                    for k, v in new_sh.items():
                        shared[k].copy_(v)
                    _sync(x)
                wv = -1
                if discarded:  # no write, no version bump: stamped with the current version
                    wv = tg - 1
                    if delay is not None:  # our read is no longer in flight (else writers wait)
                        infl[who] = -1
                elif serial or cfg.instrument:  # lock-free and uninstrumented: no bookkeeping
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
                ist[done, S.I_DISCARD] = int(discarded)
                fst[done, S.F_WALL] = we - t0
                if cfg.grad_norms:
                    # g is (1, d): vecdot gives one value, the same float32 the reference
                    # records (a .sum() over it would be an extra op and change nothing)
                    fst[done, S.F_SGRAD] = float(torch.linalg.vecdot(g, g))
                fst[done, S.F_RS], fst[done, S.F_RE] = rs - t0, re_ - t0
                fst[done, S.F_WS], fst[done, S.F_WE] = ws - t0, we - t0
                ef = pattern.ef_residual(wstate)
                if ef is not None:
                    fst[done, S.F_EF] = float(ef.sum())
                if cfg.view_gap:
                    fst[done, S.F_VIEWGAP] = vgap
                cnt[who] = done + 1
            done += 1
            hb[who] = we
    slot = run.extra["wstate"][who]  # leave the final worker state for the parent (parity)
    for k, v in wstate.items():
        slot[k].copy_(v.to(slot[k].device))

