"""`processes` backend: real asynchronous runs on torch.multiprocessing workers, instrumented.

Layout (DESIGN §3, ecosystem notes B1-B7, C3):

- a LOCAL spawn context (``torch.multiprocessing.get_context("spawn")``); children get
  ``OMP_NUM_THREADS=1`` in their environment and call ``torch.set_num_threads(1)`` first;
- the model (and, for Hogwild, the rule state) lives in shared memory (``share_memory_()``),
  or in CUDA memory shared through CUDA IPC from the parent, which keeps it alive until every
  child has been joined;
- patterns: ``full`` (Hogwild!: every worker reads and writes the whole model, shared rule
  state), ``partition`` (PASSM: worker w owns block w, writes only it, keeps its own momentum),
  ``partition_plus`` (PASSM+: a worker alternates full and own-block steps), ``master_worker``
  (APAM: workers read x and hand gradients to one master process, the only writer of x and
  of the rule state), ``sync`` (the master averages one gradient per worker per step);
- ``lock=True``: a worker copies x and reads the version under one lock, and applies its
  update and bumps the version under the same lock (consistent reads, serialised writes:
  replay is exact). ``lock=False`` (Hogwild!): reads and parameter writes are lock-free; only
  the bookkeeping (ticket, version bump, ring buffer, snapshot) takes the lock;
- instrumentation (``instrument=True``): the version counter is bumped under the lock at each
  write; ``(read_version, write_version, block, worker)`` and times go into preallocated
  per-worker shared rows that the parent reads once at the end; ``grad_norms=True`` (default)
  also stores each update's ``||g||^2`` (``sgrad_norm_sq``: M, sigma^2 and the lock-free
  replay tolerance use it), ``grad_norms=False`` leaves that column NaN;
- evaluation never runs in a worker's hot loop: the writer of every ``eval_every``-th version
  copies x into a preallocated snapshot row (under the lock); the parent evaluates ``loss``
  and ``grad_norm_sq`` of the snapshots and of the final x after the run;
- delay injection: ``straggler=(f_0, ..., f_{W-1})`` makes worker w sleep ``(f_w - 1)`` times
  its measured gradient time after each gradient; ``max_delay=T`` (or a bounded ``delays``
  model such as ``uniform:T``) makes workers read x from a ring buffer of the last T+1
  versions, at a drawn delay, and holds writers back so that no update is ever staler than T.

Deviation from the papers: APAM's shared-memory master (OpenMP) scans ready flags and computes
gradients itself when idle; here the master only applies (it is the single writer), in arrival
order (or oldest read first under max-delay injection).
"""

from __future__ import annotations

import logging
import math
import tempfile

import numpy as np
import torch

from . import _adapt, _faults
from . import _shared as S
from ._faults import BackendRunError
from ._worker import WorkerConfig, master_main, worker_main

log = logging.getLogger(__name__)

__all__ = ["BackendRunError", "run"]


def _parse_straggler(straggler, workers: int) -> tuple:
    if straggler is None or straggler == ():
        return ()
    if isinstance(straggler, str):
        straggler = [s for s in straggler.split(",") if s.strip()]
    vals = []
    for s in straggler:
        try:
            v = float(s)
        except (TypeError, ValueError):
            raise ValueError(f"straggler factors must be numbers >= 1, got {straggler!r}") from None
        if not (v >= 1.0 and math.isfinite(v)):
            raise ValueError(f"straggler factors must be numbers >= 1, got {straggler!r}")
        vals.append(v)
    if len(vals) != workers:
        raise ValueError(f"straggler needs one factor per worker ({workers}), got {len(vals)}")
    return tuple(vals)


def _devices(device: str, workers: int) -> tuple[str, tuple]:
    if not str(device).startswith("cuda"):
        return "cpu", ()
    if not torch.cuda.is_available():
        raise ValueError(f"device={device!r} requested but no CUDA device is available")
    n = torch.cuda.device_count()
    home = str(device) if ":" in str(device) else "cuda:0"
    if ":" in str(device) or n == 1:
        return home, tuple(home for _ in range(workers))
    return home, tuple(f"cuda:{w % n}" for w in range(workers))  # one worker per GPU


def run(algorithm, problem, delays=None, steps: int = 1000, seeds=1, *, workers: int = 2,
        lr: float | None = None, eval_every: int | None = None, seed: int | None = None,
        device: str = "cpu", lock: bool | None = None, lock_free: bool | None = None,
        instrument: bool = True, grad_norms: bool = True, straggler=None,
        max_delay: int | None = None,
        view_gap: bool = False, timeout: float | None = None, hang_timeout: float = 10.0,
        start_timeout: float = 120.0, dim: int | None = None, problem_options: dict | None = None,
        raise_on_error: bool = True, _fault: dict | None = None, **options):
    """Run ``algorithm`` for real on ``workers`` spawned processes; return its Trace (S = 1).

    Same signature as :func:`implementations.backends.reference.run`. ``seeds``/``seed`` follow
    :func:`implementations.backends.resolve_seeds`; a real run has one seed (several seeds are
    several launches: :func:`implementations.backends.run` makes them and concatenates the
    traces). ``options`` are hyperparameters and pattern options
    (as for the reference). ``lock=True`` (or ``lock_free=False``): locked mode; default
    lock-free. ``delays``: ``None``/``"none"`` (natural asynchrony), a bounded model
    (``"uniform:T"``, ``"constant:T"``, a capped one) for max-delay injection, or
    ``"virtual:speeds=..."`` (straggler factors ``speed / min(speed)``). On failure raises
    :class:`BackendRunError` (``.trace`` is the partial trace, ``meta["complete"] is False``),
    or returns that trace when ``raise_on_error=False``.
    """
    from ..registry import build_rule, get_algorithm, split_config
    from . import resolve_seeds

    base, n_seeds = resolve_seeds(seeds, seed)
    if n_seeds != 1:
        raise ValueError(f"the processes backend runs one seed per launch, got {n_seeds} "
                         "(implementations.backends.run runs several, one launch each)")
    from . import CAPABILITIES, check_run_size
    ev = check_run_size(steps, workers, eval_every)
    locked = _lock_mode(lock, lock_free)
    algo = get_algorithm(algorithm)
    patterns = CAPABILITIES["processes"].patterns
    if algo.pattern not in patterns:
        raise ValueError(f"{algo.name} has access pattern {algo.pattern!r}, which the processes "
                         f"backend does not run (supported: {', '.join(patterns)})")
    from . import problem_meta, resolve_problem
    prob = resolve_problem(problem, dim=dim, seed=base, **(problem_options or {}))
    spec_str, model = _adapt.delay_spec(delays)
    straggler = _parse_straggler(straggler, workers)
    inject_model = None
    if algo.pattern == "sync" and model is not None and spec_str != "none" \
            and getattr(model, "speeds", None) is None:
        raise ValueError(f"{algo.name} is synchronous: its delay must be 'none' (or stragglers), "
                         f"got {spec_str!r}")
    if model is not None and spec_str != "none":
        speeds = getattr(model, "speeds", None)
        if speeds is not None:  # virtual time: slow workers become real stragglers
            if len(speeds) != workers:
                raise ValueError(f"{spec_str} describes {len(speeds)} workers, the run has {workers}")
            straggler = straggler or tuple(s / min(speeds) for s in speeds)
        else:
            if model.max_delay is None and max_delay is None:
                raise ValueError(f"delay {spec_str!r} is unbounded; real-run injection needs a cap "
                                 f"(e.g. {spec_str},cap=16) or max_delay=T")
            if hasattr(model, "recorded"):
                raise ValueError("replay schedules are for the reference backend; a real run "
                                 "makes its own interleaving")
            inject_model = model
            cap = model.max_delay if model.max_delay is not None else max_delay
            max_delay = cap if max_delay is None else min(int(max_delay), int(cap))
    if max_delay is not None and (isinstance(max_delay, bool) or int(max_delay) != max_delay
                                  or max_delay < 0):
        raise ValueError(f"max_delay must be an integer >= 0, got {max_delay!r}")
    if hang_timeout is not None and not hang_timeout > 0:
        raise ValueError(f"hang_timeout must be > 0 seconds, got {hang_timeout!r}")

    config = algo.config(lr=lr, **options)
    rule_kw, pat_kw = split_config(algo, config)
    rule = build_rule(algo, **rule_kw)               # validates hyperparameters up front
    from ..rules.base import needs_staleness
    if needs_staleness(rule, pat_kw.get("discard_above")):
        # the rule must see the exact staleness of the gradient it applies: reads and writes
        # under the lock (lock-free reads have no exact read version); instrumented rows
        if lock_free or lock is False or not instrument:
            raise ValueError(f"{algo.name} reads its update context (staleness) or discards "
                             "updates: the processes backend runs it locked and instrumented, "
                             f"got lock={lock!r}, lock_free={lock_free!r}, instrument={instrument!r}")
        locked = True
    pattern_name = algo.pattern
    mw = pattern_name in ("master_worker", "sync")
    home, wdev = _devices(device, workers)
    from . import initial_point
    x0_drawn = initial_point(prob, 1, base)
    x0 = x0_drawn.to(prob.dtype).to(home)     # (1, d), the reference's x0
    cfg = WorkerConfig(seed=base, n_workers=workers, steps=steps, pattern=pattern_name,
                       algorithm=_adapt.algorithm_for_children(algo),
                       rule_kw=rule_kw, pattern_kw=pat_kw, problem=prob, device=home,
                       worker_devices=wdev, locked=locked, instrument=bool(instrument),
                       grad_norms=_grad_norms(instrument, grad_norms),
                       straggler=straggler, max_delay=max_delay, delay_model=inject_model,
                       eval_every=ev, view_gap=bool(view_gap), fault=_fault)
    from ._worker import build_pattern
    pattern = build_pattern(cfg, x0.shape[-1])
    states = pattern.init_states(x0)
    n_writers = 1 if mw else workers
    n_procs = workers + (1 if mw else 0)
    run_ = S.allocate(x0.reshape(-1), states.shared, steps=steps, n_writers=n_writers,
                      n_workers=workers, n_procs=n_procs, eval_every=ev, max_delay=max_delay,
                      master_worker=mw, instrument=instrument)
    run_.extra["t0"] = torch.zeros(1, dtype=torch.float64).share_memory_()
    run_.extra["wstate"] = [{k: v.clone().share_memory_() for k, v in ws.items()}
                            for ws in states.workers]
    cfg.errdir = tempfile.mkdtemp(prefix="asyncbound-proc-")
    ctx = torch.multiprocessing.get_context("spawn")
    lk, ready, go = ctx.Lock(), ctx.Semaphore(0), ctx.Event()
    extra = {}
    if mw:
        extra = {"queue": ctx.Queue(), "acks": [ctx.Semaphore(0) for _ in range(workers)]}
    procs, names = [], []
    for w in range(workers):
        procs.append(_faults.lifeline_process(ctx, worker_main, (cfg, w, run_, lk, ready, go, extra),
                                              daemon=True, name=f"asyncbound-worker{w}"))
        names.append(f"worker {w}")
    if mw:
        procs.append(_faults.lifeline_process(ctx, master_main,
                                              (cfg, workers, run_, lk, ready, go, extra),
                                              daemon=True, name="asyncbound-master"))
        names.append("master")

    out = _faults.supervise(
        procs, names, run_=run_, ready=ready, go=go, errdir=cfg.errdir,
        env={"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1}, start_timeout=start_timeout,
        heartbeat=run_.heartbeat, hang_timeout=hang_timeout, timeout=timeout,
        stop_index=S.C_STOP)
    error, t0, t_end, t_detect = out.error, out.t0, out.t_end, out.t_detect
    meta = {
        "algorithm": algo.name, "backend": "processes", "pattern": pattern_name,
        "rule": pattern.rule.name,
        "problem": problem_meta(prob, problem_options, base if isinstance(problem, str) else None),
        "config": config, "delay": spec_str, "max_delay": max_delay,
        "n_workers": workers, "n_seeds": 1, "base_seed": base, "seeds": [0], "steps": steps,
        "eval_every": ev, "device": str(home), "bounds": list(algo.bounds),
        "backend_config": {"lock": locked, "instrument": bool(instrument),
                           "grad_norms": cfg.grad_norms,
                           "straggler": list(straggler), "max_delay": max_delay,
                           "start_method": "spawn", "worker_devices": list(wdev),
                           "hang_timeout": hang_timeout, "timeout": timeout},
        "elapsed_s": (t_end - t0) if t_end else None,
        "ended_after_s": t_detect, "pids": {n: p.pid for n, p in zip(names, procs, strict=True)},
        "x0": x0_drawn.double().numpy(),
        "writer_processes": [n for n, c in zip(["master"] if mw else names,
                                               run_.counts.tolist(), strict=True) if c > 0],
    }
    if hasattr(pattern, "blocks"):
        meta["partition"] = [list(b) for b in pattern.blocks]
    trace = _build_trace(run_, cfg, prob, meta, error)
    return _faults.finish(trace, out, backend="processes", raise_on_error=raise_on_error)


def _grad_norms(instrument, grad_norms) -> bool:
    """Whether workers record ``||g||^2`` per update: only into instrumented rows."""
    if not isinstance(grad_norms, bool):
        raise ValueError(f"grad_norms must be True or False, got {grad_norms!r}")
    if grad_norms and not instrument:
        return False  # nothing is recorded per update without instrumentation
    return grad_norms


def _lock_mode(lock, lock_free) -> bool:
    if lock is not None and lock_free is not None and bool(lock) == bool(lock_free):
        raise ValueError(f"lock={lock!r} and lock_free={lock_free!r} contradict each other")
    if lock is not None:
        return bool(lock)
    if lock_free is not None:
        return not bool(lock_free)
    return False


def _build_trace(run_, cfg, prob, meta, error):
    from ..patterns import PatternState
    if cfg.instrument:
        rows = S.gather_rows(run_)
    else:
        rows = {"i": np.zeros((0, S.N_ISTAMP), np.int64), "f": np.zeros((0, S.N_FSTAMP))}
    i, f = rows["i"], rows["f"]
    n = i.shape[0]
    loss = np.full(n, np.nan)
    gns = np.full(n, np.nan)
    wv = i[:, S.I_WRITE]
    disc = i[:, S.I_DISCARD] == 1
    x_final = run_.x.detach().to("cpu").clone().unsqueeze(0)
    applied = int(run_.counters[S.C_VERSION])
    if not cfg.instrument and not cfg.locked and cfg.pattern not in ("master_worker", "sync"):
        # lock-free without instrumentation keeps no version counter: claimed tickets
        # (all applied when the run completed)
        applied = int(run_.counters[S.C_CLAIMED])
    with torch.no_grad():
        nsnap = int((run_.snap_version >= 0).sum())
        if nsnap and n:
            xs = run_.snaps[:nsnap].clone()
            vs = run_.snap_version[:nsnap].numpy()
            # one (1, d) row at a time: the reference's shapes, so its reductions (and values,
            # bit for bit) are the same as the reference's evaluation of the same x
            lv, gv = np.empty(nsnap), np.empty(nsnap)
            for j in range(nsnap):
                xj = xs[j:j + 1]
                lv[j] = float(prob.loss(xj).reshape(-1)[0])
                gr = prob.full_grad(xj)
                gv[j] = float(torch.linalg.vecdot(gr, gr).reshape(-1)[0])
            # the row of the update that made version vs (the last row with write_version
            # vs - 1: discarded rows of that version come before it)
            pos = np.searchsorted(wv, vs - 1, side="right") - 1
            ok = (pos >= 0) & (wv[np.maximum(pos, 0)] == vs - 1)
            loss[pos[ok]], gns[pos[ok]] = lv[ok], gv[ok]
        # the final x is the state after the last row (a discarded row leaves x as it was)
        if n and applied == wv[-1] + 1 - int(disc[-1]):
            loss[-1] = float(prob.loss(x_final).reshape(-1)[0])
            gr = prob.full_grad(x_final)
            gns[-1] = float(torch.linalg.vecdot(gr, gr).reshape(-1)[0])
    cols = {
        "seed": np.zeros(n, np.int32),
        # update = arrival index (= write version without discards), as in the reference
        "update": np.arange(n, dtype=np.int64) if disc.any() else wv.copy(),
        "worker": i[:, S.I_WORKER], "discarded": disc,
        "block": i[:, S.I_BLOCK], "read_version": i[:, S.I_READ], "write_version": wv,
        "wall_time": f[:, S.F_WALL], "loss": loss, "grad_norm_sq": gns,
        "sgrad_norm_sq": f[:, S.F_SGRAD], "view_gap": f[:, S.F_VIEWGAP],
        "ef_residual": f[:, S.F_EF],
    }
    final_state = PatternState(
        [{k: v.detach().to("cpu").clone() for k, v in ws.items()} for ws in run_.extra["wstate"]],
        {k: v.detach().to("cpu").clone() for k, v in run_.state.items()})
    elapsed = meta.get("elapsed_s")
    rate = (applied / elapsed) if elapsed else None  # applied updates per second
    if disc.any():  # steps counts gradients (arrivals); ``applied`` excludes the discarded
        meta["updates_applied"] = applied
        applied = n
    meta = dict(meta, updates_done=applied, complete=error is None and applied >= cfg.steps,
                error=error, updates_per_s=rate,
                instrumented=cfg.instrument)
    trace = _adapt.make_trace(cols, meta, x_final, final_state)
    # in memory only: per-update read and write windows (seconds since start), used by the
    # lock-free replay tolerance to find which updates raced (docs/readme/backends.md)
    trace.intervals = {"read_start": f[:, S.F_RS], "read_end": f[:, S.F_RE],
                       "write_start": f[:, S.F_WS], "write_end": f[:, S.F_WE]}
    # in memory only: the evaluation snapshots (version, x after that many updates)
    nsnap = int((run_.snap_version >= 0).sum())
    trace.snapshots = (run_.snap_version[:nsnap].numpy().copy(), run_.snaps[:nsnap].numpy().copy())
    return trace
