"""Backends: one signature, ``run(algorithm, problem, delays, steps, seeds, ...) -> Trace``.

- ``reference`` (:mod:`.reference`): single process, deterministic, vectorised over seeds;
  the oracle every other backend is compared with (replay parity);
- ``processes`` / ``distributed``: real asynchronous runs, in modules of the same names,
  imported lazily and called with the same signature.

What a backend can do is declared once, in :data:`CAPABILITIES` (:class:`Capabilities`);
callers look capabilities up there and never branch on a backend's name. :func:`run` is the one
entrance: it owns seeds (a backend that does not batch seeds runs one seed per run, and the runs
are concatenated into one trace) and pickling (a user's rule sent to spawned workers must pickle).

Shared conventions every backend follows (so a reference replay reproduces a real run):

- seeds: ``seeds`` is a count S (base seed ``seed=0``) or a sequence (base seed = its first
  element, S = its length). Seed row s of a batch is a sub-stream of the base seed: worker w's
  noise is drawn as ``(S, d)`` from ``worker_generator(base, w)`` (CONTRACTS §1). A real run
  with seed b equals the reference with ``seeds=[b]``;
- starting point: :func:`initial_point` (``problem.x0(S, generator)`` on its own stream);
- schedule: ``delay.schedule(K, P, S, schedule_generator(base))``;
- block choices (random_blocks): the j-th draw of ``block_generator(base, w)``.
"""

from __future__ import annotations

import importlib
import logging
import pickle
from dataclasses import dataclass, replace

import numpy as np
import torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Capabilities:
    """What one backend does (CONTRACTS, "Backend capabilities")."""

    #: one call runs S seeds vectorised; otherwise each seed is its own run
    batches_seeds: bool
    #: honours a delay model's schedule (else staleness is only what the run itself makes)
    injects_delays: bool
    #: the view gap ||x_read - x_applied|| is measured only when asked (``view_gap=True``);
    #: False: measured on every run
    view_gap_on_request: bool
    #: ``wall_time`` is virtual time (a simulated clock), not seconds
    virtual_clock: bool
    #: workers are spawned processes: an algorithm not in the built-in registry travels
    #: pickled, so its rule factory must pickle
    spawns_workers: bool
    #: access patterns (implementations.patterns) it runs
    patterns: tuple[str, ...]
    #: its interleaving is drawn from the delay model's law itself (a simulator); a real backend
    #: only caps what its own asynchrony makes, so its law is known only through its recording
    follows_delay_law: bool = False
    #: accepts ``observer=callable(k, info)`` with the full per-update state (the exact lemma
    #: and conformance checks recompute every update through it)
    observes_updates: bool = False
    #: patterns in which it passes the update context to a rule that wants it and honours
    #: discards (issue 16; rules.base.UpdateContext, the full pattern's discard_above)
    context_patterns: tuple[str, ...] = ()


_ALL_PATTERNS = ("full", "partition", "partition_plus", "random_blocks", "master_worker",
                 "sparse", "sparse_ef", "sync")
#: backend name -> what it can do; the one place a backend's abilities are written down.
CAPABILITIES: dict[str, Capabilities] = {
    "reference": Capabilities(batches_seeds=True, injects_delays=True, view_gap_on_request=False,
                              virtual_clock=True, spawns_workers=False, patterns=_ALL_PATTERNS,
                              follows_delay_law=True, observes_updates=True,
                              context_patterns=_ALL_PATTERNS),
    "processes": Capabilities(batches_seeds=False, injects_delays=True, view_gap_on_request=True,
                              virtual_clock=False, spawns_workers=True, patterns=_ALL_PATTERNS,
                              context_patterns=("full", "partition", "partition_plus",
                                                "random_blocks", "sparse", "sparse_ef")),
    # distributed: the master runs the rule (and so knows the staleness) except on the sparse
    # patterns, whose workers run the top-k kernel before the master sees the step
    "distributed": Capabilities(batches_seeds=False, injects_delays=False, view_gap_on_request=True,
                                virtual_clock=False, spawns_workers=True,
                                patterns=("full", "master_worker", "sparse", "sparse_ef", "sync"),
                                context_patterns=("full", "master_worker", "sync")),
}
BACKEND_NAMES = tuple(CAPABILITIES)
_STRIDE, _X0_OFFSET = 1_000_003, 2 * 5011  # even: disjoint from the worker noise streams


def initial_point(problem, n_seeds: int, seed: int, device="cpu") -> torch.Tensor:
    """The ``(S, d)`` starting points of a run with base seed ``seed``."""
    g = torch.Generator(device=device)
    g.manual_seed(int(seed) * _STRIDE + _X0_OFFSET)
    return problem.x0(n_seeds, g).to(device)


def resolve_seeds(seeds, seed: int | None = None) -> tuple[int, int]:
    """``(base_seed, n_seeds)`` from ``seeds`` (count or sequence) and an optional base ``seed``."""
    if isinstance(seeds, bool):
        raise ValueError(f"seeds must be a count or a list of seeds, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {seeds}")
        base = 0 if seed is None else seed
        n = seeds
    else:
        seeds = list(seeds)
        if not seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
            raise ValueError(f"seeds must be non-negative integers, got {seeds!r}")
        base, n = seeds[0], len(seeds)
    if isinstance(base, bool) or not isinstance(base, int) or base < 0:
        raise ValueError(f"seed must be a non-negative integer, got {base!r}")
    return base, n


def resolve_problem(problem, *, dim=None, seed: int = 0, **problem_options):
    """A Problem object passes through; a name is built with ``get_problem``."""
    if isinstance(problem, str):
        from ..problems import get_problem

        return get_problem(problem, dim=dim, seed=seed, **problem_options)
    if not hasattr(problem, "stochastic_grad"):
        raise ValueError(f"problem must be a Problem or a problem name, got {problem!r}")
    if dim is not None and dim != problem.dim:
        raise ValueError(f"dim={dim} given, but the problem has dim {problem.dim}")
    return problem


def capabilities(backend: str) -> Capabilities:
    """The declared :class:`Capabilities` of ``backend`` (ValueError for an unknown name)."""
    if backend not in CAPABILITIES:
        raise ValueError(f"backend must be one of {list(BACKEND_NAMES)}, got {backend!r}")
    return CAPABILITIES[backend]


def check_run_size(steps, workers, eval_every) -> int:
    """Validate the sizes every backend takes; returns the evaluation period (``eval_every``,
    default ``max(1, steps // 200)``)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    ev = max(1, steps // 200) if eval_every is None else eval_every
    if isinstance(ev, bool) or not isinstance(ev, int) or ev < 1:
        raise ValueError(f"eval_every must be an integer >= 1, got {eval_every!r}")
    return ev


def problem_meta(problem, problem_options: dict | None = None, seed=None) -> dict:
    return {"name": problem.name, "dim": int(problem.dim), "seed": seed,
            "options": dict(problem_options or {}),
            "constants": {k: float(v) for k, v in problem.constants.items()},
            "f_star": problem.f_star, "dtype": str(problem.dtype).replace("torch.", "")}


def _backend_module(backend: str):
    capabilities(backend)
    try:
        return importlib.import_module(f"{__name__}.{backend}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.endswith(f"backends.{backend}"):
            raise ValueError(f"backend {backend!r} is not available in this installation") from None
        raise


def run(algorithm, problem, delays, steps, seeds, *, backend: str = "reference", workers: int = 4,
        lr: float | None = None, eval_every: int | None = None, **options):
    """Run ``algorithm`` on ``problem`` with delay model ``delays``; returns a :class:`Trace`.

    ``options``: hyperparameters and pattern options overriding the registry defaults, plus
    backend options (reference: ``seed``, ``device``, ``dim``, ``max_delay``, ``problem_options``).

    ``seeds`` (a count or a list, see :func:`resolve_seeds`): a backend that batches seeds gets
    them in one call; any other runs seed ``base + i`` as launch i and the launches are
    concatenated (seed column and ``meta["seeds"]`` = launch index, ``meta["base_seed"]`` = base,
    ``meta["seeds_are_runs"] = True``, ``meta["x0"]`` stacked; the final rule state is kept only
    for a single launch).
    ``algorithm``: a registry name or an :class:`AlgorithmSpec` (a user's variant).
    """
    from ..registry import get_algorithm

    algo = get_algorithm(algorithm)
    if backend not in algo.backends:
        raise ValueError(f"{algo.name} does not support backend {backend!r} "
                         f"(supported: {', '.join(algo.backends)})")
    caps = capabilities(backend)
    _check_context(algo, caps, backend, lr, options)
    module = _backend_module(backend)
    if caps.spawns_workers:
        algo = _sendable(algo)
    if caps.batches_seeds:
        return module.run(algo, problem, delays, steps, seeds, workers=workers, lr=lr,
                          eval_every=eval_every, **options)
    from ..trace import Trace

    base, n = resolve_seeds(seeds, options.pop("seed", None))
    parts = []
    for i in range(n):
        tr = module.run(algo, problem, delays, steps, [base + i], workers=workers, lr=lr,
                        eval_every=eval_every, **options)
        tr.columns["seed"] = np.full_like(tr.columns["seed"], i)
        parts.append(tr)
    if n == 1:  # one launch: its trace as it is (final rule state included)
        parts[0].meta["seeds_are_runs"] = True
        return parts[0]
    out = Trace.concat(parts)
    # each launch's instrumented read/write intervals (lock-free replay tolerance, per run)
    out.run_intervals = [getattr(tr, "intervals", None) for tr in parts]
    out.meta.update(n_seeds=n, base_seed=base, seeds=list(range(n)), seeds_are_runs=True)
    out.meta.pop("loss0", None)  # the first launch's; F0 comes from meta["x0"], one row per seed
    return out


def _check_context(algo, caps, backend, lr, options) -> None:
    """A rule that wants the update context, or a discard option, on a backend/pattern that does
    not pass it is refused up front (never run as if the rule had no context)."""
    from ..registry import build_rule, split_config
    from ..rules.base import wants_context

    rule_kw, pat_kw = split_config(algo, algo.config(lr=lr, **options))
    if algo.pattern in caps.context_patterns:
        return
    wants = pat_kw.get("discard_above") is not None
    if not wants:
        known = {k: v for k, v in rule_kw.items() if k in algo.defaults or k == "lr"}
        try:
            wants = wants_context(build_rule(algo, **known))
        except ValueError:
            return  # bad hyperparameters: the backend reports them
    if wants:
        raise ValueError(f"{algo.name} reads the update context (or discards updates), which "
                         f"backend {backend!r} does not pass on pattern {algo.pattern!r} "
                         f"(it does on: {', '.join(caps.context_patterns) or 'none'})")


def _sendable(algo):
    """``algo`` as spawned workers can receive it. A worker knows only the built-in registry;
    any other entry (a user's variant, a planted bug) travels pickled, as a copy that is not
    the registered object, so the rule factory itself must pickle."""
    from .. import algorithms

    if algo.name in {e.name for e in algorithms._ENTRIES}:
        return algo
    try:
        pickle.dumps(algo.rule)
    except Exception as exc:  # noqa: BLE001 - any pickling failure means the same to the user
        raise ValueError(f"{algo.name}: its rule factory cannot be sent to worker processes "
                         f"({type(exc).__name__}); define it at module level in an importable "
                         "module") from None
    return replace(algo)


def replay(source, *, problem=None, algorithm=None, steps=None, **options):
    """Re-run a recorded interleaving on the reference backend (replay parity).

    ``source``: a trace directory, a :class:`Trace`, or a :class:`Schedule` (then ``algorithm``
    and ``problem`` are required). Algorithm, problem, config, workers and seed default to the
    recorded meta; keyword arguments override them.
    """
    from ..delays import ReplayDelay
    from ..schedule import Schedule
    from ..trace import Trace
    from .reference import run as ref_run

    if isinstance(source, Schedule):
        meta, sched = {}, source
    else:
        tr = source if isinstance(source, Trace) else Trace.read(source)
        meta, sched = tr.meta, Schedule.from_trace(tr)
    algorithm = algorithm or meta.get("algorithm")
    if algorithm is None or (problem is None and not meta.get("problem")):
        raise ValueError("replay needs an algorithm and a problem (not recorded in the source)")
    pm = meta.get("problem") or {}
    if problem is None:
        if pm.get("seed") is None:
            raise ValueError("the recorded problem was passed as an object (its data seed is not "
                             "recorded): pass problem= to replay")
        problem = resolve_problem(pm["name"], dim=pm.get("dim"), seed=pm["seed"],
                                  **pm.get("options", {}))
    cfg = dict(meta.get("config") or {})
    cfg.update(options)
    cfg.setdefault("seed", meta.get("base_seed", 0))
    workers = cfg.pop("workers", None) or meta.get("n_workers") or int(sched.worker.max()) + 1
    for k in ("eval_every", "lr"):
        cfg.setdefault(k, None)
    steps = steps or sched.n_updates
    return ref_run(algorithm, problem, ReplayDelay(sched), steps, sched.n_seeds, workers=workers,
                   **cfg)


__all__ = ["BACKEND_NAMES", "CAPABILITIES", "Capabilities", "capabilities", "check_run_size",
           "initial_point", "problem_meta", "replay", "resolve_problem",
           "resolve_seeds", "run"]
