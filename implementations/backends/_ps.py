"""Rank loops of the `distributed` backend: a parameter server (rank 0) and workers (ranks 1..W).

Message layout (one float64 tensor per message, so one non-blocking receive per worker; integers
below 2**53 are exact in float64):

- worker -> master: ``[read_version, seq, n, ef_residual, worker, payload...]``; dense patterns
  (``full``, ``master_worker``, ``sync``) send the stochastic gradient (``n = d``); sparse
  patterns (``sparse``, ``sparse_ef``) send the worker's top-k step as ``k`` values then ``k``
  indices (``n = k``); ``seq`` is the worker's 0-based gradient count (its rule clock is
  ``seq + 1``);
- master -> worker: ``[version, stop, x...]`` (stop 0: go on, 1: stop, 2: stop and your
  last message was not applied, so undo its local state change): the new model and the version it is, so the
  worker's next gradient carries exactly the version it read (staleness measured exactly).

The master posts one ``irecv`` per worker and applies whichever completes first (polling
``is_completed()``), so the order of application is the order of arrival. Only the master
writes x (and, for APAM, m, v, vhat); for sparse patterns the worker runs the pattern kernel
with its own state (top-k, error-feedback memory) and the master adds the sparse step.

``full`` (Hogwild!'s pattern) on a parameter server: worker w's rule state (e.g. its momentum)
is kept *at the master*, which applies w's gradient with that state and w's own clock, exactly
the kernel a writing worker runs. Deviation from Hogwild!: writes are serialised and every read
is a consistent version (the ``processes`` backend's locked mode), never lock-free.

Update context (issue 16; :class:`..rules.base.UpdateContext`): where the master runs the rule
(``full``, ``master_worker``, ``sync``) it knows the arrival's read version r exactly, and passes
a rule that wants it ``staleness = k - r`` with k the updates applied so far (the version at
apply), ``k``, ``K = steps``, the worker (-1 for ``sync``), ``t_local = seq + 1`` and
``t_global = k + 1``, as the ``processes`` backend does. A discarded update (``full``'s
``discard_above`` or a rule's ``keep``) is not written and bumps no version; its row is stamped
``discarded`` with the current version, and ``steps`` counts gradients (applied or discarded).
Sparse patterns run the rule at the worker, before its staleness exists: no context there.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

import torch

from . import _shared as S
from ._worker import (
    ViewHistory,
    WorkerConfig,
    _after_write,
    _Fault,
    _write,
    bootstrap,
    child_pattern,
)

SPARSE = ("sparse", "sparse_ef")
_LISTEN_SOCKETS: list = []
H_IN, H_OUT = 5, 2


def sparse_k(pattern, d: int, dtype) -> int:
    """Entries a sparse step writes: a dry run of the kernel on a constant gradient."""
    x = torch.zeros(1, d, dtype=dtype)
    st = pattern.init_states(x).workers[0]
    delta, _, _ = pattern.step(torch.ones(1, d, dtype=dtype), st, {}, t_local=1, t_global=1,
                               block=-1)
    return max(1, int((delta != 0).sum()))


def msg_sizes(cfg: WorkerConfig, d: int, k: int | None) -> tuple[int, int]:
    n_in = H_IN + (2 * k if cfg.pattern in SPARSE else d)
    return n_in, H_OUT + d


def rank_main(rank: int, world: int, cfg: WorkerConfig, run_, init_method: str | None,
              backend: str, pg_timeout: float, ready=None, go=None) -> None:
    """Entry of one rank (spawned by :func:`distributed.run` or called by torchrun's main)."""
    import torch.distributed as dist
    who = "master" if rank == 0 else f"worker{rank - 1}"
    try:
        device = cfg.device
        if device.startswith("cuda"):
            n = torch.cuda.device_count()
            device = f"cuda:{rank % n}"
        bootstrap(cfg, device)
        if init_method and init_method.startswith("tcp://"):
            store = _loopback_store(init_method, rank, world, pg_timeout)
            dist.init_process_group(backend, store=store, rank=rank, world_size=world,
                                    timeout=timedelta(seconds=pg_timeout))
        else:
            dist.init_process_group(backend, init_method=init_method, rank=rank,
                                    world_size=world, timeout=timedelta(seconds=pg_timeout))
        try:
            comm = device if backend == "nccl" else "cpu"
            if ready is not None:
                ready.release()
                go.wait()
            if rank == 0:
                master_loop(cfg, run_, world, device, comm)
            else:
                worker_loop(cfg, rank, run_, device, comm)
        finally:
            dist.destroy_process_group()
    except BaseException:
        if cfg.errdir:
            from ._worker import _write_error
            _write_error(cfg, who)
            raise SystemExit(1) from None
        raise
    if ready is not None:  # spawned by run(): leave without the slow interpreter teardown
        os._exit(0)


def _loopback_store(init_method: str, rank: int, world: int, timeout: float):
    """The rendezvous store, its server socket bound to the given host only.

    ``init_method="tcp://host:port"`` would make rank 0's TCPStore listen on every interface;
    binding the socket ourselves and handing it over (``master_listen_fd``) keeps the
    unauthenticated rendezvous on 127.0.0.1.
    """
    import socket

    import torch.distributed as dist
    host, port = init_method[len("tcp://"):].rsplit(":", 1)
    t = timedelta(seconds=timeout)
    if rank != 0:
        return dist.TCPStore(host, int(port), world, False, t)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    sock.listen(world * 4)
    store = dist.TCPStore(host, int(port), world, True, t, master_listen_fd=sock.fileno())
    _LISTEN_SOCKETS.append(sock)  # the store serves on this fd: keep it open for the run
    return store


def worker_loop(cfg: WorkerConfig, rank: int, run_, device: str, comm: str) -> None:
    import torch.distributed as dist

    from ..seeding import worker_generator
    w = rank - 1
    problem = cfg.problem
    d = problem.dim
    dtype = problem.dtype
    pattern = child_pattern(cfg, torch.zeros(d, dtype=dtype))
    sparse = cfg.pattern in SPARSE
    k = sparse_k(pattern, d, dtype) if sparse else None
    n_in, n_out = msg_sizes(cfg, d, k)
    gen = worker_generator(cfg.seed, w, device=device)
    wstate = pattern.init_states(torch.zeros(1, d, dtype=dtype, device=device)).workers[w]
    hb = run_.heartbeat.numpy() if run_ is not None else None
    fault = _Fault(cfg.fault, w)
    factor = float(cfg.straggler[w]) if cfg.straggler else 1.0
    out = torch.zeros(n_in, dtype=torch.float64, device=comm)
    inb = torch.zeros(n_out, dtype=torch.float64, device=comm)
    done = 0
    prev = wstate
    with torch.no_grad():
        dist.recv(inb, src=0)
        while inb[1].item() == 0:
            r = int(inb[0].item())
            x = inb[H_OUT:].to(device=device, dtype=dtype).unsqueeze(0)
            fault.check(done)
            t_c = time.monotonic()
            g = problem.stochastic_grad(x, gen)
            if factor != 1.0:
                time.sleep(max(0.0, (factor - 1.0) * (time.monotonic() - t_c)))
            out[0], out[1], out[4] = r, done, w
            prev = wstate  # rules are pure: kept to undo a step the master discards
            if sparse:
                delta, wstate, _ = pattern.step(g, wstate, {}, t_local=done + 1,
                                                t_global=r + 1, block=-1)
                idx = torch.topk(delta.reshape(-1).abs(), k, sorted=False).indices.sort().values
                out[2] = k
                out[H_IN:H_IN + k] = delta.reshape(-1)[idx].to(comm, torch.float64)
                out[H_IN + k:H_IN + 2 * k] = idx.to(comm, torch.float64)
                ef = pattern.ef_residual(wstate)
                out[3] = float(ef.sum()) if ef is not None else float("nan")
            else:
                out[2] = d
                out[H_IN:] = g.reshape(-1).to(comm, torch.float64)
            dist.send(out, dst=0)
            done += 1
            if hb is not None:
                hb[rank] = time.monotonic()
            dist.recv(inb, src=0)
    if int(inb[1].item()) == 2:  # stop, and the last step was not applied: state as if never taken
        wstate = prev
    if sparse and run_ is not None and run_.extra.get("wstate"):  # else the master holds it
        slot = run_.extra["wstate"][w]
        for key, v in wstate.items():
            slot[key].copy_(v.to(slot[key].device))


def _faults_last(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def master_loop(cfg: WorkerConfig, run_, world: int, device: str, comm: str) -> None:
    """Rank 0: apply gradients (or sparse steps) in arrival order; the only writer of x."""
    import torch.distributed as dist

    from ..rules.base import UpdateContext, needs_staleness
    problem = cfg.problem
    W = world - 1
    x = run_.x
    d, dtype = x.numel(), x.dtype
    device = str(x.device)  # the master computes where x lives (CPU shared memory)
    pattern = child_pattern(cfg, x)
    sparse, sync = cfg.pattern in SPARSE, cfg.pattern == "sync"
    k_sp = sparse_k(pattern, d, dtype) if sparse else None
    n_in, n_out = msg_sizes(cfg, d, k_sp)
    shared = {key: v.clone() for key, v in run_.state.items()}
    # full: each worker's rule state lives here (sparse: at the worker; shared patterns: none)
    wstates = [{key: v.clone() for key, v in ws.items()} for ws in run_.extra["wstate"]] \
        if not sparse else None
    ctx_on = needs_staleness(pattern.rule, pattern.discard_above)
    c = run_.counters.numpy()
    hb = run_.heartbeat.numpy()
    ist = run_.istamps.numpy()[0] if cfg.instrument else None
    fst = run_.fstamps.numpy()[0] if cfg.instrument else None
    cnt = run_.counts.numpy()
    bufs = [torch.zeros(n_in, dtype=torch.float64, device=comm) for _ in range(W)]
    outs = [torch.zeros(n_out, dtype=torch.float64, device=comm) for _ in range(W)]
    sends: list = [None] * W
    t0 = float(run_.extra["t0"][0]) if "t0" in run_.extra and run_.extra["t0"][0] > 0 \
        else time.monotonic()
    hang = cfg.extra.get("hang_timeout")
    # worker w computes at exactly the version last sent to it: the view gap is exact here
    hist = ViewHistory(x, W) if cfg.view_gap and cfg.instrument else None

    def reply(w: int, version: int, stop: int) -> None:
        if sends[w] is not None:
            sends[w].wait()
        outs[w][0], outs[w][1] = version, stop
        outs[w][H_OUT:] = x.to(comm, torch.float64)
        sends[w] = dist.isend(outs[w], dst=w + 1)

    any_source = comm == "cpu"   # gloo; NCCL has no receive-from-any-source
    buf_any = torch.zeros(n_in, dtype=torch.float64, device=comm)
    reqs: list = [None] * W

    def post(w: int) -> None:
        if not any_source:
            reqs[w] = dist.irecv(bufs[w], src=w + 1)

    def next_message(limit: float | None):
        """(worker, message) of the next gradient to arrive, in arrival order.

        gloo: one receive from any source (its p2p ``is_completed()`` only turns true after a
        ``wait()``, so polling per-worker receives would spin forever); NCCL: one ``irecv`` per
        worker, polled with ``is_completed()``, the scan start rotating so no worker is favoured.
        """
        nonlocal start
        t_wait = time.monotonic()
        if any_source:
            req = dist.irecv(buf_any, src=None)
            try:
                req.wait(timeout=timedelta(seconds=limit or pg_default))
            except RuntimeError as exc:
                now = time.monotonic()
                idle = [w for w in range(W) if now - seen[w] >= (limit or pg_default)]
                raise TimeoutError(f"worker(s) {idle} hung: no gradient for "
                                   f"{now - t_wait:.1f} s (hang_timeout={limit} s; "
                                   f"{_faults_last(exc)})") from None
            w = int(buf_any[4].item())
            seen[w] = time.monotonic()
            return w, buf_any
        while True:
            for j in range(W):
                w = (start + j) % W
                if reqs[w] is not None and reqs[w].is_completed():
                    reqs[w].wait()
                    reqs[w] = None
                    start = (w + 1) % W
                    return w, bufs[w]
            hb[0] = time.monotonic()
            if limit is not None and hb[0] - t_wait > limit:
                idle = [w for w in range(W) if reqs[w] is not None]
                raise TimeoutError(f"worker(s) {idle} hung: no gradient for "
                                   f"{hb[0] - t_wait:.1f} s (hang_timeout={limit} s)")
            time.sleep(2e-5)

    pg_default = 1800.0
    start = 0
    seen = [time.monotonic()] * W
    with torch.no_grad():
        for w in range(W):
            reply(w, 0, 0)
            post(w)
        k = n = 0  # k: updates applied (the version); n: gradients processed (trace rows)
        batch: dict[int, torch.Tensor] = {}
        stopped: set[int] = set()
        while n < cfg.steps:
            got, msg = next_message(hang)
            now = time.monotonic()
            hb[0] = now
            hb[got + 1] = now
            if sync:
                batch[got] = msg.clone()
                if len(batch) < W:
                    continue
                g = sum(batch[w][H_IN:].to(device, dtype).unsqueeze(0) for w in range(W)) / W
                r, widx, chosen = int(min(float(b[0]) for b in batch.values())), -1, list(range(W))
                tl = k + 1  # the reference's sync clock
                batch = {}
            else:
                r, widx, chosen = int(msg[0].item()), got, [got]
                tl = int(msg[1].item()) + 1  # the worker's own 1-based gradient count
            keep = None
            if sparse:
                kk = int(msg[2].item())
                vals = msg[H_IN:H_IN + kk].to(device, dtype)
                idx = msg[H_IN + kk:H_IN + 2 * kk].to(device).long()
                delta = torch.zeros(1, d, dtype=dtype, device=device)
                delta[0, idx] = vals
                g_norm = float("nan")
                efr = float(msg[3].item())
            elif not sync:
                g = msg[H_IN:].to(device, dtype).unsqueeze(0)
            if not sparse:
                ctx = None if not ctx_on else UpdateContext(
                    torch.tensor([k - r]), widx, torch.tensor([k]), cfg.steps, W, tl, k + 1)
                ws = wstates[widx] if widx >= 0 else {}
                delta, ws, shared, keep = pattern.update(g, ws, shared, t_local=tl,
                                                         t_global=k + 1, ctx=ctx)
                if widx >= 0:
                    wstates[widx] = ws  # a discarded update handed back the old state
                g_norm = float(torch.linalg.vecdot(g, g).sum()) if cfg.grad_norms else float("nan")
                efr = float("nan")
            vgap = hist.gap(x, r) if hist is not None else None  # x is x_k: before the write
            discarded = keep is not None  # S = 1: not None means this one was declined
            if not discarded:  # a discarded update writes nothing and bumps no version
                _write(x, delta.to(x.device), problem, None, True, False)
                c[S.C_VERSION] = k + 1
                _after_write(run_, cfg, x, k + 1)
            if cfg.instrument:
                ist[n, S.I_READ], ist[n, S.I_WRITE] = r, k
                ist[n, S.I_BLOCK], ist[n, S.I_WORKER] = -1, widx
                ist[n, S.I_DISCARD] = int(discarded)
                fst[n, S.F_WALL] = time.monotonic() - t0
                fst[n, S.F_SGRAD], fst[n, S.F_EF] = g_norm, efr
                if hist is not None:
                    fst[n, S.F_VIEWGAP] = vgap
                    if discarded:
                        hist.resent(k, chosen)
                    else:
                        hist.written(k + 1, x, chosen)
                cnt[0] = n + 1
            k += int(not discarded)
            n += 1
            stop = int(n >= cfg.steps)
            for w in chosen:
                reply(w, k, stop)
                if stop:
                    stopped.add(w)
                else:
                    post(w)
        # end: every other worker has one gradient in flight; take it, then tell it to stop
        while len(stopped) < W:
            try:
                got, _ = next_message(hang or 60.0)
            except TimeoutError as exc:
                missing = [w for w in range(W) if w not in stopped]
                raise TimeoutError(f"worker(s) {missing} hung at the end of the run: {exc}") from None
            if got not in stopped:
                reply(got, k, 2)  # 2: stop; this last gradient arrived after the budget
                stopped.add(got)
        for w in range(W):
            if sends[w] is not None:
                sends[w].wait()
        for key, v in shared.items():
            run_.state[key].copy_(v)
        for w, ws in enumerate(wstates or ()):  # the parent's final rule state (replay parity)
            for key, v in ws.items():
                run_.extra["wstate"][w][key].copy_(v)
        c[S.C_STOP] = 1
