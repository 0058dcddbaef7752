"""``asyncbound algorithms`` and ``asyncbound run``: list the registry; run one algorithm.

``run`` validates every argument before any work (bad input: one line, exit 2, nothing
written): options a backend would ignore are refused (:data:`OPTION_BACKENDS`), the memory the
run needs is estimated before anything is allocated (:mod:`asyncbound.checks.memory`), and
``--out`` is checked by :class:`~asyncbound.checks.outdir.OutputDir` (a directory holding a
verify result is never overwritten). The run writes into the output directory's staging area,
committed on success. Exit codes: 0 complete, 1 a worker failed or hung, 3 diverged (the
partial trace is kept, marked incomplete with the cause), 130/143 interrupted (partial trace
kept). torch is imported inside the handlers only. ``run VARIANT.py`` runs a variant file's
algorithm (loaded and validated by :mod:`asyncbound.checks.variant`; its ``PROBLEM``,
``PROBLEM_OPTIONS`` and ``DELAY`` are the defaults) and records ``variant: {path, sha256}`` in
``run.json`` with a copy of the file in ``OUT/variants/``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from asyncbound.checks.errors import EXIT_DIVERGED, EXIT_FAIL, UsageError, interrupt_exit_code
from asyncbound.checks.outdir import OutputDir

#: run option (argparse dest) -> the backends on which it does something; elsewhere it is refused
OPTION_BACKENDS = {
    "lock": ("processes",),                      # --lock / --lock-free
    "instrument": ("processes", "distributed"),  # --no-instrument
    "grad_norms": ("processes", "distributed"),  # --no-grad-norms
    "max_delay": ("reference", "processes"),     # --max-delay (distributed measures its own)
}
_FLAG = {"lock": "--lock/--lock-free", "instrument": "--no-instrument",
         "grad_norms": "--no-grad-norms", "max_delay": "--max-delay"}
_DEFAULT = {"lock": None, "instrument": True, "grad_norms": True, "max_delay": None}


def register(subparsers) -> None:
    p = subparsers.add_parser("algorithms", help="list the registered algorithms",
                              description="List every registered algorithm: pattern, rule, "
                                          "backends and the theory bounds it claims.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_algorithms)

    r = subparsers.add_parser(
        "run", help="run one algorithm on one backend and write its trace",
        description="Run ALGO on a problem under a delay model; write OUT/trace.parquet and "
                    "OUT/run.json and print a summary.")
    r.add_argument("algorithm", metavar="ALGO",
                   help="registered algorithm (see 'algorithms'), or a variant file VARIANT.py "
                        "(its PROBLEM, PROBLEM_OPTIONS and DELAY are the defaults)")
    r.add_argument("--backend", default="reference", help="reference | processes | distributed")
    r.add_argument("--problem", default=None,
                   help="problem name (default: the variant's PROBLEM, else quadratic)")
    r.add_argument("--dim", type=int, default=None, help="problem dimension")
    r.add_argument("--delay", default=None,
                   help="delay spec: none, constant:T, uniform:T, geometric:p[,cap=C], "
                        "pareto:a[,cap=C], virtual:speeds=s1,s2,..[,jitter=j], adversarial:T, "
                        "replay:PATH (default none)")
    r.add_argument("--steps", type=int, required=True, help="number of applied updates K")
    r.add_argument("--seeds", type=int, default=1, help="number of seeds S (batched)")
    r.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    r.add_argument("--lr", type=float, default=None, help="step size (default: registry)")
    r.add_argument("--workers", type=int, default=None, help="number of workers (default 4)")
    r.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    lk = r.add_mutually_exclusive_group()
    lk.add_argument("--lock", dest="lock", action="store_true", default=None,
                    help="locked writes (real backends)")
    lk.add_argument("--lock-free", dest="lock", action="store_false",
                    help="lock-free writes (real backends; default)")
    r.add_argument("--straggler", default=None, metavar="S1,S2,...",
                   help="relative compute times of the workers (virtual time / injected delays)")
    r.add_argument("--max-delay", type=int, default=None, help="cap on staleness, in updates")
    r.add_argument("--eval-every", type=int, default=None, help="evaluate f every E updates")
    r.add_argument("--no-instrument", dest="instrument", action="store_false",
                   help="real backends: no version counter, stamps or per-update rows (the "
                        "trace then holds only the final x and the update count; for timing)")
    r.add_argument("--no-grad-norms", dest="grad_norms", action="store_false",
                   help="real backends: do not record each update's ||g||^2 (sgrad_norm_sq "
                        "stays NaN; the M, sigma^2 and lock-free replay estimates need it)")
    r.add_argument("--out", required=True, help="output directory")
    r.set_defaults(handler=_run)


def _algorithms(args) -> int:
    from asyncbound.implementations.registry import ALGORITHMS, describe

    rows = [describe(s) for s in ALGORITHMS.values()]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    w = max(len(r["name"]) for r in rows)
    print(f"{'name':{w}}  {'pattern':14}  {'rule':18}  {'backends':31}  bounds")
    for r in rows:
        print(f"{r['name']:{w}}  {r['pattern']:14}  {r['rule']:18}  "
              f"{','.join(r['backends']):31}  {', '.join(r['bounds']) or '-'}")
    return 0


def _positive(name, value, minimum=1):
    if value is not None and value < minimum:
        raise UsageError(f"--{name} must be >= {minimum}, got {value}")


def _validate(args):
    """Everything that can be checked without running; returns the run's keyword arguments."""
    from asyncbound.implementations.backends import BACKEND_NAMES
    from asyncbound.implementations.delays import parse_delay, with_cap
    from asyncbound.implementations.problems import get_problem
    from asyncbound.implementations.registry import build_rule, get_algorithm, split_config

    if args.backend not in BACKEND_NAMES:
        raise UsageError(f"--backend must be one of {', '.join(BACKEND_NAMES)}, got {args.backend!r}")
    variant, options = None, {}
    if args.algorithm.endswith(".py"):
        from asyncbound.checks.variant import load_variant

        variant = load_variant(args.algorithm, backends=(args.backend,))
        # PROBLEM_OPTIONS go with the file's problem: --problem OTHER drops them
        if args.problem is None or args.problem == (variant.problem or "quadratic"):
            options = dict(variant.problem_options)
        args.problem = args.problem or variant.problem
        args.delay = args.delay or (None if args.straggler else variant.delay)
        dim = options.pop("dim", None)  # --dim wins over the file's dim
        args.dim = args.dim if args.dim is not None else dim
    args.problem = args.problem or "quadratic"
    args.variant = variant
    try:
        spec = get_algorithm(variant.algorithm.name if variant else args.algorithm)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.backend not in spec.backends:
        raise UsageError(f"{spec.name} does not run on backend {args.backend!r} "
                         f"(supported: {', '.join(spec.backends)})")
    for name, backends in OPTION_BACKENDS.items():
        if getattr(args, name) != _DEFAULT[name] and args.backend not in backends:
            raise UsageError(f"{_FLAG[name]} does nothing on backend {args.backend!r} "
                             f"(it is for: {', '.join(backends)})")
    for name in ("steps", "seeds", "workers", "eval_every", "dim"):
        _positive(name.replace("_", "-"), getattr(args, name))
    _positive("seed", args.seed, 0)
    _positive("max-delay", args.max_delay, 0)
    if args.delay is not None and not args.delay.strip():
        raise UsageError("--delay must be a delay spec (none, constant:T, uniform:T, ...), got ''")
    from asyncbound.checks.memory import check_run_fits

    check_run_fits(problem=args.problem, dim=args.dim, steps=args.steps, seeds=args.seeds,
                   max_delay=args.max_delay)
    if args.lr is not None and not (args.lr > 0 and math.isfinite(args.lr)):
        raise UsageError(f"--lr must be a finite number > 0, got {args.lr}")
    workers = args.workers
    delay = args.delay
    if args.straggler is not None:
        try:
            speeds = [float(s) for s in args.straggler.split(",")]
        except ValueError:
            raise UsageError(f"--straggler must be comma-separated numbers, got {args.straggler!r}") from None
        if delay is not None and not delay.startswith("virtual"):
            raise UsageError("give --straggler or --delay, not both (--straggler means "
                             "--delay virtual:speeds=...)")
        if workers is not None and workers != len(speeds):
            raise UsageError(f"--straggler lists {len(speeds)} workers, --workers is {workers}")
        workers = len(speeds)
        delay = delay or "virtual:speeds=" + args.straggler
    delay = delay or "none"
    try:
        model = with_cap(parse_delay(delay), args.max_delay)
    except ValueError as exc:
        raise UsageError(f"--delay: {exc}") from None
    if workers is None:
        workers = getattr(model, "n_workers", 4)
    if hasattr(model, "n_workers") and model.n_workers != workers:
        raise UsageError(f"--delay {model.spec} describes {model.n_workers} workers, --workers is {workers}")
    if spec.pattern == "sync" and model.max_delay != 0:
        raise UsageError(f"{spec.name} is synchronous: --delay must be none, got {model.spec!r}")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UsageError("--device cuda: CUDA is not available on this machine")
    try:
        problem = get_problem(args.problem, dim=args.dim, seed=args.seed, **options)
        rule_kw, pat_kw = split_config(spec, spec.config(lr=args.lr))
        build_rule(spec, **rule_kw)
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    out = OutputDir(args.out, command="run").validate()
    kw = dict(backend=args.backend, workers=workers, lr=args.lr, eval_every=args.eval_every,
              seed=args.seed, device=args.device)
    for name in ("instrument", "grad_norms"):
        if not getattr(args, name):
            kw[name] = False
    if args.lock is not None:
        kw["lock"] = args.lock
    if args.max_delay is not None:
        kw["max_delay"] = args.max_delay
    return spec, problem, model, kw, out


def _run(args) -> int:
    spec, problem, model, kw, out = _validate(args)
    from asyncbound.implementations.backends import run
    from asyncbound.implementations.backends._faults import (
        BackendRunError,
        RunInterrupted,
        is_diverged,
    )

    kw.pop("max_delay", None)  # already folded into the model
    with out:
        try:
            trace = run(spec.name, problem, model, args.steps, args.seeds, **kw)
        except BackendRunError as err:
            # A worker died or hung: keep the partial trace (marked incomplete) for diagnosis
            # and name the cause in one line; exit 1 (a fault of the run, not of the arguments).
            kept = _keep_partial(out, err.trace)
            print(f"asyncbound run: run failed: {err}{kept}", file=sys.stderr)
            return EXIT_FAIL
        except RunInterrupted as exc:
            kept = _keep_partial(out, exc.trace)
            print(f"asyncbound run: {exc}{kept}", file=sys.stderr)
            return interrupt_exit_code(exc)
        trace.meta["problem"]["seed"] = args.seed
        if is_diverged(trace.meta):
            trace.meta.setdefault("cause", "diverged")
            kept = _keep_partial(out, trace)
            print(f"asyncbound run: {spec.name} {trace.meta.get('error')}{kept}", file=sys.stderr)
            return EXIT_DIVERGED
        trace.meta["cli"] = {"argv": sys.argv[1:]}
        if args.variant is not None:
            trace.meta["variant"] = args.variant.record
            args.variant.write_copy(out.staging)
        trace.write(out.staging)
        out.commit()
    _summary(spec, problem, model, kw, args, trace, out.path)
    return 0


def _keep_partial(out: OutputDir, trace) -> str:
    """Write a stopped run's partial trace (marked incomplete) and keep it; the tail of the line."""
    if trace is None or not len(trace.columns["update"]):
        return "; no update was recorded, nothing written"
    trace.meta["complete"] = False
    trace.meta.setdefault("cli", {"argv": sys.argv[1:]})
    trace.write(out.staging)
    where = out.keep_partial()
    return f"; partial trace ({len(trace.columns['update'])} updates, incomplete) kept in {where}"


def _summary(spec, problem, model, kw, args, trace, out: Path) -> None:
    import numpy as np

    cols = trace.columns
    if not len(cols["update"]):  # --no-instrument: no per-update rows, only the count
        rate = trace.meta.get("updates_per_s")
        print(f"{spec.name} on {problem.name} (d={problem.dim}), backend {trace.meta.get('backend')}, "
              f"{kw['workers']} workers, uninstrumented: {trace.meta.get('updates_done')} of "
              f"{args.steps} updates applied"
              + (f" at {rate:.1f} updates/s" if rate else "")
              + f". Wrote {out / 'trace.parquet'} and {out / 'run.json'}.")
        return
    last = cols["update"] == cols["update"].max()
    final = np.nanmean(cols["loss"][last]) if last.any() else float("nan")
    loss0 = trace.meta.get("loss0")
    initial = f" (initial {float(np.mean(loss0)):.6g})" if loss0 else ""
    st = cols["staleness"]
    status = "complete" if trace.complete else f"STOPPED EARLY ({trace.meta.get('error')})"
    print(f"{spec.name} on {problem.name} (d={problem.dim}), backend {trace.meta.get('backend')}, "
          f"delay {model.spec}, {kw['workers']} workers, {args.seeds} seed(s), "
          f"{int(cols['update'].max()) + 1} of {args.steps} updates, {status}: final loss mean "
          f"{final:.6g}{initial}; staleness mean {st.mean():.3g}, max {int(st.max())}. "
          f"Wrote {out / 'trace.parquet'} and {out / 'run.json'}.")
