"""``asyncbound verify`` (the main job) and ``asyncbound check VARIANT.py``.

verify: run the suite (every registered algorithm against every bound it claims, every bound at
least once, the per-paper studies), one progress line per check on stderr, a record per check
under ``DIR/records/``, traces under ``DIR/traces/``, ``DIR/run.json``, the HTML report
``DIR/index.html``, and a verdict table on stdout. Exit 0 when nothing FAILs, 1 otherwise (a run
that diverges under the theorem's own conditions with certified constants is a FAIL).

check: load a user's variant file (trusted local Python, like a conftest.py) that defines an
algorithm and the bounds it claims; run it through the same checks; same outputs, same exit codes.
Bad input (missing file, nothing defined, unknown bound key, import error): one line, exit 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from asyncbound.checks.errors import UsageError

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
    p.add_argument("--suite", choices=("quick", "full", "thorough"), default="quick",
                   help="quick: CI-sized (minutes); full: more seeds, longer runs; every bound check "
                        "searches its admissible space with the suite's profile (thorough: the "
                        "largest search)")
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


def _prepare_out(path) -> Path:
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    stale = out / "records"
    if stale.is_dir():  # a re-run replaces the previous records, never mixes with them
        for f in stale.glob("*.json"):
            f.unlink()
    return out


def _finish(out: Path, results: list[dict], info: dict, t0: float) -> int:
    from asyncbound.checks import records, runner

    info["duration_s"] = time.perf_counter() - t0
    info["verdicts"] = {v: sum(r["verdict"] == v for r in results) for v in records.VERDICTS}
    records.write_run(out, info)
    page = runner.write_report(out, results, info)
    print(runner.verdict_table(results))
    print(f"\nrecords: {out / 'records'}  report: {page}  ({info['duration_s']:.0f}s)")
    return runner.exit_code(results)


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
    from asyncbound.checks import records, runner, suite

    backends = _backends(args.backend)
    workers = _workers(args.workers)
    out = _prepare_out(args.out)
    t0 = time.perf_counter()
    specs = suite.build_suite(args.suite, backends=backends, workers=workers,
                              include_studies=not args.no_studies)
    if args.with_variants:
        from asyncbound.checks import variant

        for path in args.with_variants:
            loaded = variant.load_variant(path)
            specs += variant.specs_for_variant(loaded, suite=args.suite, backends=backends, workers=workers)
    if args.only:
        keys = [k for k in args.only.split(",") if k]
        specs = [s for s in specs if any(k in s.check_id for k in keys)]
        if not specs:
            raise UsageError(f"--only {args.only!r} matches no check")
    print(f"asyncbound verify: {len(specs)} checks, suite={args.suite}, backends={','.join(backends)}",
          file=sys.stderr, flush=True)
    info = records.run_info(command="verify", argv=sys.argv, suite=args.suite,
                            seeds=sorted({s.seeds for s in specs}),
                            extra={"backends": list(backends), "workers": workers, "n_checks": len(specs)})
    results = runner.run_specs(specs, out, progress=_progress)
    return _finish(out, results, info, t0)


def _check(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg", force=True)
    _single_thread()
    from asyncbound.checks import records, runner, variant

    backends = _backends(args.backend)
    workers = _workers(args.workers)
    loaded = variant.load_variant(args.variant)
    out = _prepare_out(args.out or Path(DEFAULT_OUT) / Path(args.variant).stem)
    t0 = time.perf_counter()
    specs = variant.specs_for_variant(loaded, suite=args.suite, backends=backends, workers=workers)
    print(f"asyncbound check: {loaded.algorithm.name} from {args.variant}: {len(specs)} checks",
          file=sys.stderr, flush=True)
    info = records.run_info(command="check", argv=sys.argv, suite=args.suite,
                            seeds=sorted({s.seeds for s in specs}),
                            extra={"variant": str(args.variant), "algorithm": loaded.algorithm.name,
                                   "backends": list(backends), "workers": workers})
    results = runner.run_specs(specs, out, progress=_progress)
    return _finish(out, results, info, t0)
