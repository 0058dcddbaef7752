"""``asyncbound verify`` (the main job) and ``asyncbound check VARIANT.py``.

verify: run the suite (every registered algorithm against every bound it claims, every bound at
least once, the per-paper studies), one progress line per check on stderr, a record per check
under ``DIR/records/``, traces under ``DIR/traces/``, ``DIR/run.json``, the HTML report
``DIR/index.html``, and a verdict table on stdout. Exit 0 when nothing FAILs, 1 otherwise (a run
that diverges under the theorem's own conditions with certified constants is a FAIL).

check: load a user's variant file (trusted local Python, like a conftest.py) that defines an
algorithm and the bounds it claims; run it through the same checks; same outputs, same exit codes.
``--delay/--steps`` override the file's DELAY/STEPS, ``--only`` filters the checks. Every record of
a variant (also ``verify --with``) keeps ``variant: {path, sha256}``; ``OUT/variants/`` a copy.
Bad input (missing file, nothing defined, unknown bound key, import error, an invalid
PROBLEM/DELAY, a rule factory that raises): one line, exit 2, validated before anything runs.

Both write through :class:`~asyncbound.checks.outdir.OutputDir` (validate, lock, stage,
commit). Only checks on the requested backends run: the checks left out (an algorithm that
does not run on a requested backend, the reference-only coverage checks and studies when
``reference`` is not requested) are named on stderr, and nothing left is exit 2. Interrupted
(SIGINT/SIGTERM): the finished checks' records, ``run.json`` with ``"status":
"interrupted"`` and a report that says so are kept (:meth:`OutputDir.keep_partial`), exit
130/143.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path

from asyncbound.checks.errors import UsageError, interrupt_exit_code
from asyncbound.checks.outdir import OutputDir

log = logging.getLogger("asyncbound.verify")

DEFAULT_OUT = "asyncbound-out"


def _progress(line: str) -> None:
    """One line per finished check on stderr, so stdout keeps only the verdict table."""
    print(line, file=sys.stderr, flush=True)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "verify",
        help="run the verification suite, write records and the HTML report (exit 1 on any FAIL)",
        description=("Run every registered algorithm against every bound it claims (and every "
                     "bound at least once), with confidence intervals over seeds; write "
                     "DIR/records/*.json, DIR/traces/*.parquet, DIR/run.json and DIR/index.html."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--suite", choices=("quick", "full", "thorough", "paper"), default="quick",
                   help="quick: CI-sized (minutes); full: more seeds, longer runs; thorough: the full "
                        "suite with the largest worst-case search (every bound check searches its "
                        "admissible space with the suite's profile); paper: the papers' "
                        "experiments on real data (needs the data extra)")
    p.add_argument("--backend", default="reference",
                   help="comma-separated backends: reference, processes, distributed")
    p.add_argument("--workers", type=int, default=4, help="workers per run")
    p.add_argument("--out", default=DEFAULT_OUT, help="output directory")
    p.add_argument("--only", default=None, metavar="SUBSTR",
                   help="run only checks whose id contains SUBSTR (comma-separated: any of them)")
    p.add_argument("--no-studies", action="store_true", help="skip the per-paper studies")
    p.add_argument("--with", dest="with_variants", action="append", default=[], metavar="VARIANT.py",
                   help="also check the algorithm of this variant file (repeatable)")
    p.set_defaults(handler=_verify)

    c = subparsers.add_parser(
        "check",
        help="check a user's variant file (an algorithm and the bounds it claims)",
        description=("Load VARIANT.py (trusted local Python, loaded like a conftest.py), which must "
                     "define ALGORITHM (an asyncbound.implementations.registry.AlgorithmSpec naming the bounds "
                     "it claims) or register one; run it through the suite's checks and write the "
                     "same records and report as verify."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    c.add_argument("variant", metavar="VARIANT.py", help="path of the variant file")
    c.add_argument("--suite", choices=("quick", "full", "thorough"), default="quick")
    c.add_argument("--backend", default="reference", help="comma-separated backends")
    c.add_argument("--workers", type=int, default=4)
    c.add_argument("--out", default=None, help="output directory (default: asyncbound-out/<variant>)")
    c.add_argument("--delay", default=None, metavar="SPEC", help="delay spec; overrides the file's DELAY")
    c.add_argument("--steps", type=int, default=None, metavar="N",
                   help="updates per run (>= 10); overrides the file's STEPS")
    c.add_argument("--only", default=None, metavar="SUBSTR",
                   help="run only checks whose id contains SUBSTR (comma-separated: any of them)")
    c.set_defaults(handler=_check)


def _backends(text: str) -> tuple[str, ...]:
    from asyncbound.implementations.registry import BACKENDS

    names = tuple(b.strip() for b in text.split(",") if b.strip())
    bad = [b for b in names if b not in BACKENDS]
    if not names or bad:
        raise UsageError(f"--backend must be a comma-separated list of {', '.join(BACKENDS)}, got {text!r}")
    return names


def _workers(n: int) -> int:
    if n < 1:
        raise UsageError(f"--workers must be >= 1, got {n}")
    return n


def _on_requested_backends(specs, backends, algorithms) -> list:
    """Keep the checks on ``backends``; say which were left out and why (on stderr when
    something is left to run, in the one error line when nothing is)."""
    kept = [s for s in specs if s.backend in backends]
    notes = []
    for b in backends:
        names = sorted(a.name for a in algorithms if b not in getattr(a, "backends", ()))
        if names:
            notes.append(f"skipped on {b} (not supported by the algorithm): {', '.join(names)}")
    dropped = [s for s in specs if s.backend not in backends]
    if dropped:
        notes.append(f"skipped {len(dropped)} reference-only check(s) (bound coverage, studies): "
                     f"--backend {','.join(backends)} does not include reference")
    if not kept:
        raise UsageError(f"nothing to run on --backend {','.join(backends)}"
                         + (f"; {'; '.join(notes)}" if notes else ""))
    for note in notes:
        print(f"asyncbound: {note}", file=sys.stderr)
    return kept


def _execute(out: OutputDir, specs, info: dict, run_into=None, variants=()) -> int:
    """Run ``specs`` into ``out``'s staging area; commit, or keep the partial result.

    ``specs``: the check specs, or (with ``run_into(staging, done)``, which appends each finished
    record to ``done``) the number of checks planned. ``variants``: the loaded variant files
    whose algorithms run; each is copied to ``OUT/variants/`` and its records get
    ``variant: {path, sha256}``."""
    from asyncbound.checks import runner

    t0 = time.perf_counter()
    done: list[dict] = []
    n_planned = specs if run_into is not None else len(specs)
    by_name = {v.algorithm.name: v.record for v in variants}

    def record_extra(spec):
        return {"variant": by_name[spec.algorithm_name]} if spec.algorithm_name in by_name else None

    with out:
        for v in variants:
            v.write_copy(out.staging)
        try:
            if run_into is None:
                runner.run_specs(specs, out.staging, progress=_progress, results=done,
                                 record_extra=record_extra)
            else:
                run_into(out.staging, done)
        except KeyboardInterrupt as exc:
            info["status"] = "interrupted"
            signame = signal.Signals(interrupt_exit_code(exc) - 128).name
            info["interrupted"] = {"signal": signame,
                                   "checks_done": len(done), "checks_planned": n_planned}
            _write_run_and_report(out.staging, done, info, t0)
            where = out.keep_partial()
            print(f"asyncbound {info['command']}: interrupted after {len(done)} of {n_planned} "
                  f"checks; partial results (marked interrupted) kept in {where}", file=sys.stderr)
            return interrupt_exit_code(exc)
        info["status"] = "complete"
        _write_run_and_report(out.staging, done, info, t0)
        out.commit()
    print(runner.verdict_table(done))
    print(f"\nrecords: {out.path / 'records'}  report: {out.path / 'index.html'}  "
          f"({info['duration_s']:.0f}s)")
    return runner.exit_code(done)


def _write_run_and_report(where: Path, results: list[dict], info: dict, t0: float) -> None:
    from asyncbound.checks import records, runner

    info["duration_s"] = time.perf_counter() - t0
    info["verdicts"] = {v: sum(r["verdict"] == v for r in results) for v in records.VERDICTS}
    records.write_run(where, info)
    runner.write_report(where, results, info)


def _single_thread() -> None:
    """The reference backend's tensors are tiny ((seeds, d) with d ~ 10): intra-op threads only
    add synchronisation (10x slower measured on a loaded 2-core machine). Real backends set their
    own per-worker threads."""
    import torch

    torch.set_num_threads(1)


def _verify(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg", force=True)
    _single_thread()
    from asyncbound.checks import records, suite
    from asyncbound.implementations.registry import ALGORITHMS

    backends = _backends(args.backend)
    workers = _workers(args.workers)
    if args.suite == "paper":
        return _verify_paper(args)
    out = OutputDir(args.out, command="verify").validate()
    specs = suite.build_suite(args.suite, backends=backends, workers=workers,
                              include_studies=not args.no_studies)
    algorithms = list(ALGORITHMS.values())
    loaded_variants = []
    if args.with_variants:
        from asyncbound.checks import variant

        for path in args.with_variants:
            loaded = variant.load_variant(path, backends=backends)
            specs += variant.specs_for_variant(loaded, suite=args.suite, backends=backends, workers=workers)
            algorithms.append(loaded.algorithm)
            loaded_variants.append(loaded)
    specs = _only(specs, args.only)
    specs = _on_requested_backends(specs, backends, algorithms if not args.only else [])
    print(f"asyncbound verify: {len(specs)} checks, suite={args.suite}, backends={','.join(backends)}",
          file=sys.stderr, flush=True)
    info = records.run_info(command="verify", argv=sys.argv, suite=args.suite,
                            seeds=sorted({s.seeds for s in specs}),
                            extra={"backends": list(backends), "workers": workers, "n_checks": len(specs)})
    return _execute(out, specs, info, variants=loaded_variants)


def _only(specs, only: str | None) -> list:
    """``--only SUBSTR[,SUBSTR...]``: the checks whose id contains any of them."""
    if only is None:
        return specs
    keys = [k for k in only.split(",") if k]
    specs = [s for s in specs if any(k in s.check_id for k in keys)]
    if not specs:
        raise UsageError(f"--only {only!r} matches no check")
    return specs


def _verify_paper(args: argparse.Namespace) -> int:
    """The paper suite (checks/paper_suite): one study record per paper claim."""
    from asyncbound.checks import records
    from asyncbound.checks.paper_suite import STUDIES, run_paper_suite
    from asyncbound.implementations.problems.datasets import load_builtin

    load_builtin("digits")  # no scikit-learn: one line naming the data extra, before any output
    only = None
    if args.only:
        keys = [k for k in args.only.split(",") if k]
        only = [n for n in STUDIES if any(k in n for k in keys)]
        if not only:
            raise UsageError(f"--only {args.only!r} matches no study (studies: {', '.join(STUDIES)})")
    out = OutputDir(args.out, command="verify").validate()
    n = len(only or STUDIES)
    print(f"asyncbound verify: {n} paper studies", file=sys.stderr, flush=True)
    info = records.run_info(command="verify", argv=sys.argv, suite="paper", seeds=[0, 1],
                            extra={"studies": list(only or STUDIES)})
    return _execute(out, n, info, lambda staging, done: run_paper_suite(
        staging, only=only, progress=_progress, results=done))


def _check(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg", force=True)
    _single_thread()
    from asyncbound.checks import records, variant

    backends = _backends(args.backend)
    workers = _workers(args.workers)
    out = OutputDir(args.out or Path(DEFAULT_OUT) / Path(args.variant).stem, command="check")
    out.validate()
    loaded = variant.load_variant(args.variant, backends=backends)
    variant.apply_overrides(loaded, delay=args.delay, steps=args.steps)
    specs = variant.specs_for_variant(loaded, suite=args.suite, backends=backends, workers=workers)
    specs = _on_requested_backends(_only(specs, args.only), backends,
                                   [loaded.algorithm] if not args.only else [])
    print(f"asyncbound check: {loaded.algorithm.name} from {args.variant}: {len(specs)} checks",
          file=sys.stderr, flush=True)
    info = records.run_info(command="check", argv=sys.argv, suite=args.suite,
                            seeds=sorted({s.seeds for s in specs}),
                            extra={"variant": str(args.variant), "algorithm": loaded.algorithm.name,
                                   "variant_sha256": loaded.sha256,
                                   "backends": list(backends), "workers": workers})
    return _execute(out, specs, info, variants=[loaded])
