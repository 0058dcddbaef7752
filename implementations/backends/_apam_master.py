"""APAM / ``sync`` on the `processes` backend: gradient-only workers and the master.

Workers never write x: each reads x, computes its gradient into its slot of ``grad_slot`` and
notes the master, which alone holds the optimizer state and applies the gradients (see
:func:`._worker.master_main`). Shared helpers live in :mod:`._worker`.
"""

from __future__ import annotations

import queue
import time

import torch

from . import _shared as S
from ._worker import (
    ViewHistory,
    _after_write,
    _bounded_read,
    _Delay,
    _Fault,
    _feasible,
    _sync,
    _write,
    child_pattern,
)


def gradient_worker_loop(cfg, who, run, lock, ready, go, extra, device):
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


def master_loop(cfg, who, run, lock, ready, go, extra):
    """Apply the workers' gradients until ``steps`` updates are done or the parent stops it."""
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
    hist = ViewHistory(x, W, slack=T or 0) if cfg.view_gap and cfg.instrument else None
    fault = _Fault(cfg.fault, who)  # test-only ("slow": widen the decide-write window)
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
            held = False  # whether this iteration holds the lock
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
                    # Decide and write in ONE critical section: a worker's bounded read (under
                    # the lock) assumes the oldest unresolved read is written first; a read
                    # slipping in between an unlocked decision and the write could be older
                    # than widx's and end at staleness T + 1 (seen: 1 run in 8).
                    lock.acquire()
                    held = True
                    widx = min(pending, key=lambda q: (pending[q], q))
                    rest = [int(infl[o]) for o in range(W) if o != widx and infl[o] >= 0]
                    if not _feasible(rest, k + 1, T):
                        lock.release()
                        held = False
                        continue  # an older read is still being computed: wait for it
                chosen, r = [widx], pending[widx]
                g = run.grad_slot[widx].unsqueeze(0).clone()
            try:
                _sync(g)  # the copy must be done before the ack lets the worker overwrite its slot
                delta, _, shared = pattern.step(g, {}, shared, t_local=k + 1, t_global=k + 1)
                fault.pause()
                vgap = hist.gap(x, r) if hist is not None else None  # x_k: before the write
                if not held:
                    lock.acquire()
                    held = True
                _write(x, delta, problem, None, True, False)
                _sync(x)
                c[S.C_VERSION] = k + 1
                _after_write(run, cfg, x, k + 1)
                _sync(run.ring)
                for w in chosen:
                    infl[w] = -1
            finally:
                if held:
                    lock.release()
                    held = False
            now = time.monotonic()
            if cfg.instrument:
                ist[k, S.I_READ] = r
                ist[k, S.I_WRITE] = k
                ist[k, S.I_BLOCK] = -1
                ist[k, S.I_WORKER] = widx
                fst[k, S.F_WALL] = now - t0
                if cfg.grad_norms:
                    fst[k, S.F_SGRAD] = float(torch.linalg.vecdot(g, g).sum())
                if hist is not None:
                    fst[k, S.F_VIEWGAP] = vgap
                    hist.written(k + 1, x, chosen)
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
