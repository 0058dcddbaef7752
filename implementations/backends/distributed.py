"""`distributed` backend: a parameter server on torch.distributed (gloo on CPU, NCCL on GPU).

Rank 0 is the master (parameter server), ranks 1..W are workers (worker w = rank w+1). The
master sends each worker x with its version tag; a worker computes a stochastic gradient at
exactly that x (its j-th gradient is the j-th draw of ``worker_generator(seed, w)``) and sends
it back with the version it read; the master posts one non-blocking ``irecv`` per worker,
applies whichever completes first (polling ``is_completed()``), and answers that worker with
the new x. Staleness ``write_version - read_version`` is therefore exact: the number of other
workers' gradients applied while this one was computed. Patterns: ``full`` (Hogwild!'s
per-worker rule state, kept at the master, which applies each worker's step with its state and
clock; writes serialised, reads consistent), ``master_worker`` (APAM, async Adam at the master,
parameter-server SGD), ``sparse`` / ``sparse_ef`` (top-k steps sent as values + indices,
error-feedback memory at the worker), ``sync`` (the master waits for one gradient per worker
and applies their mean). Where the master runs the rule (``full``, ``master_worker``, ``sync``)
a rule that wants it gets the update context with that exact staleness, and ``full`` honours
discards (``discard_above``, a rule's ``keep``): see :mod:`._ps`.

Two launchers, one loop (:mod:`._ps`):

- ``run(..., workers=N)`` starts N+1 local ranks (a local spawn context) that rendezvous over
  TCP on 127.0.0.1 (a free port; rank 0's store listens on that address only, and
  ``GLOO_SOCKET_IFNAME=lo``), with an explicit process-group timeout; the parent
  supervises them (exit codes, the master's heartbeat, a deadline) and reads the master's
  stamps from shared memory, so a failed run still returns its partial trace;
- ``torchrun --nproc-per-node N+1 -m implementations.backends.distributed_main ...`` reads
  RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT from the environment; rank 0 writes the trace.

Every rank destroys its process group on the way out. Deviation from APAM's MPI code: no
per-epoch ``Bcast`` synchronisation (it would reset the staleness the checks measure); the
master applies one gradient per message instead of a ``Waitsome`` batch.
"""

from __future__ import annotations

import logging
import socket
import tempfile

import torch

from . import _adapt, _faults
from . import _shared as S
from ._faults import BackendRunError
from ._worker import WorkerConfig, child_pattern

log = logging.getLogger(__name__)

__all__ = ["BackendRunError", "free_port", "prepare", "run"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def choose_backend(device: str, world: int) -> str:
    """NCCL when every rank can have its own GPU; gloo otherwise (CPU tensors on the wire).

    NCCL refuses two ranks on one GPU, so with fewer GPUs than ranks the wire stays gloo and
    the GPU only computes.
    """
    if str(device).startswith("cuda") and torch.cuda.is_available() \
            and torch.cuda.device_count() >= world:
        return "nccl"
    return "gloo"


def prepare(algorithm, problem, delays, steps, seeds, *, workers, lr=None, eval_every=None,
            seed=None, device="cpu", instrument=True, grad_norms=True, view_gap=False,
            straggler=None, dim=None, problem_options=None, hang_timeout=30.0, _fault=None,
            **options):
    """Validate everything and build ``(cfg, run_, meta)``; shared by run() and torchrun's main."""
    from ..registry import build_rule, get_algorithm, split_config
    from . import (
        CAPABILITIES,
        check_run_size,
        initial_point,
        problem_meta,
        resolve_problem,
        resolve_seeds,
    )
    from .processes import _grad_norms, _parse_straggler

    base, n_seeds = resolve_seeds(seeds, seed)
    if n_seeds != 1:
        raise ValueError(f"the distributed backend runs one seed per launch, got {n_seeds}")
    ev = check_run_size(steps, workers, eval_every)
    algo = get_algorithm(algorithm)
    patterns = CAPABILITIES["distributed"].patterns
    if algo.pattern not in patterns:
        raise ValueError(f"{algo.name} has access pattern {algo.pattern!r}; the distributed "
                         f"backend runs {', '.join(patterns)}")
    spec_str, model = _adapt.delay_spec(delays)
    straggler = _parse_straggler(straggler, workers)
    if model is not None and spec_str != "none":
        speeds = getattr(model, "speeds", None)
        if speeds is None:
            raise ValueError(f"the distributed backend measures its own delays; delay {spec_str!r} "
                             "cannot be injected there (use 'none', 'virtual:speeds=...' or "
                             "--straggler, or the processes backend's max_delay)")
        if len(speeds) != workers:
            raise ValueError(f"{spec_str} describes {len(speeds)} workers, the run has {workers}")
        straggler = straggler or tuple(s / min(speeds) for s in speeds)
    for name in ("lock", "lock_free", "max_delay", "timeout", "start_timeout"):
        options.pop(name, None)  # processes-only switches; a parameter server is always consistent
    from . import _check_context
    _check_context(algo, CAPABILITIES["distributed"], "distributed", lr, options)  # torchrun too
    prob = resolve_problem(problem, dim=dim, seed=base, **(problem_options or {}))
    config = algo.config(lr=lr, **options)
    rule_kw, pat_kw = split_config(algo, config)
    from ..rules.base import needs_staleness
    if needs_staleness(build_rule(algo, **rule_kw), pat_kw.get("discard_above")) \
            and not instrument:
        # a discarded gradient exists only as its stamped row (steps counts gradients)
        raise ValueError(f"{algo.name} reads its update context or discards updates: the "
                         "distributed backend runs it instrumented, got instrument=False")
    home = "cpu"
    if str(device).startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} requested but no CUDA device is available")
        home = "cuda"
    cfg = WorkerConfig(seed=base, n_workers=workers, steps=steps, pattern=algo.pattern,
                       algorithm=_adapt.algorithm_for_children(algo),
                       rule_kw=rule_kw, pattern_kw=pat_kw, problem=prob, device=home,
                       locked=True, instrument=bool(instrument),
                       grad_norms=_grad_norms(instrument, grad_norms), straggler=straggler,
                       view_gap=bool(view_gap),
                       eval_every=ev, fault=_fault, extra={"hang_timeout": hang_timeout})
    x0_drawn = initial_point(prob, 1, base)
    x0 = x0_drawn.to(prob.dtype)
    pattern = child_pattern(cfg, x0.reshape(-1))
    states = pattern.init_states(x0)
    run_ = S.allocate(x0.reshape(-1), states.shared, steps=steps, n_writers=1, n_workers=workers,
                      n_procs=workers + 1, eval_every=ev, max_delay=None, master_worker=False,
                      instrument=instrument)
    run_.extra["t0"] = torch.zeros(1, dtype=torch.float64).share_memory_()
    run_.extra["wstate"] = [{k: v.clone().share_memory_() for k, v in ws.items()}
                            for ws in states.workers]
    meta = {
        "algorithm": algo.name, "backend": "distributed", "pattern": algo.pattern,
        "rule": pattern.rule.name,
        "problem": problem_meta(prob, problem_options, base if isinstance(problem, str) else None),
        "config": config, "delay": spec_str, "max_delay": None, "n_workers": workers,
        "n_seeds": 1, "base_seed": base, "seeds": [0], "steps": steps, "eval_every": ev,
        "device": home, "bounds": list(algo.bounds), "x0": x0_drawn.double().numpy(),
        "backend_config": {"straggler": list(straggler), "instrument": bool(instrument),
                           "grad_norms": cfg.grad_norms, "view_gap": cfg.view_gap,
                           "hang_timeout": hang_timeout, "layout": "parameter-server, rank 0"},
    }
    return cfg, run_, prob, meta


def run(algorithm, problem, delays=None, steps: int = 1000, seeds=1, *, workers: int = 2,
        lr: float | None = None, eval_every: int | None = None, seed: int | None = None,
        device: str = "cpu", instrument: bool = True, grad_norms: bool = True,
        view_gap: bool = False, straggler=None, dim: int | None = None,
        problem_options: dict | None = None, timeout: float | None = None,
        hang_timeout: float = 30.0, start_timeout: float = 120.0, pg_timeout: float = 120.0,
        host: str = "127.0.0.1", raise_on_error: bool = True, _fault: dict | None = None,
        **options):
    """Start ``workers`` + 1 local ranks on loopback and run ``algorithm``; returns the Trace.

    Same signature as the other backends. ``pg_timeout``: the process group's timeout
    (rendezvous and every blocking op), ``hang_timeout``: the master's limit on silence from
    the workers, ``timeout``: the whole run. On failure raises :class:`BackendRunError`
    carrying the partial trace (``meta["complete"] is False``), or returns it when
    ``raise_on_error=False``.
    """
    from ._ps import rank_main

    cfg, run_, prob, meta = prepare(algorithm, problem, delays, steps, seeds, workers=workers,
                                    lr=lr, eval_every=eval_every, seed=seed, device=device,
                                    instrument=instrument, grad_norms=grad_norms,
                                    view_gap=view_gap, straggler=straggler, dim=dim,
                                    problem_options=problem_options, hang_timeout=hang_timeout,
                                    _fault=_fault, **options)
    world = workers + 1
    backend = choose_backend(device, world)
    cfg.errdir = tempfile.mkdtemp(prefix="asyncbound-dist-")
    init_method = f"tcp://{host}:{free_port(host)}"
    ctx = torch.multiprocessing.get_context("spawn")
    ready, go = ctx.Semaphore(0), ctx.Event()
    procs = [_faults.lifeline_process(ctx, rank_main, (r, world, cfg, run_, init_method, backend,
                                                       pg_timeout, ready, go),
                                      daemon=True, name=f"asyncbound-rank{r}")
             for r in range(world)]
    names = ["master"] + [f"worker {w}" for w in range(workers)]
    env = {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1}
    if host.startswith("127."):
        env["GLOO_SOCKET_IFNAME"] = "lo"
    # only the master's heartbeat is watched: a worker waiting for its reply is idle, not
    # hung; the master itself names silent workers (hang_timeout)
    out = _faults.supervise(
        procs, names, run_=run_, ready=ready, go=go, errdir=cfg.errdir, env=env,
        start_timeout=start_timeout, heartbeat=run_.heartbeat[:1],
        hang_timeout=max(hang_timeout * 2, 10.0), timeout=timeout, stop_index=S.C_STOP)
    error, t0, t_end, t_detect = out.error, out.t0, out.t_end, out.t_detect
    meta["backend_config"].update(process_group=backend, init_method=init_method,
                                  pg_timeout=pg_timeout)
    meta["elapsed_s"] = (t_end - t0) if t_end else None
    meta["ended_after_s"] = t_detect
    meta["pids"] = {n: p.pid for n, p in zip(names, procs, strict=True)}
    meta["writer_processes"] = ["master"]   # rank 0 is the only rank that writes x
    from .processes import _build_trace
    trace = _build_trace(run_, cfg, prob, meta, error)
    return _faults.finish(trace, out, backend="distributed", raise_on_error=raise_on_error)
