"""``asyncbound bench``: run the benchmark scripts of the checkout.

Benchmarks are scripts in ``benchmarks/`` (never timed tests): each prints ratios measured
within one run, so a busy or slow machine shifts both sides of a ratio alike. They ship with
the source tree, not the wheel, so this subcommand looks for them next to the package.
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

from asyncbound.checks.errors import UsageError

_BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


def available() -> dict[str, Path]:
    if not _BENCH_DIR.is_dir():
        return {}
    return {p.stem.removeprefix("bench_"): p for p in sorted(_BENCH_DIR.glob("bench_*.py"))}


def _handler(args) -> int:
    found = available()
    if args.list or not args.name:
        if not found:
            raise UsageError(f"no benchmarks found (looked in {_BENCH_DIR}; they ship with the source tree)")
        for name, path in found.items():
            print(f"{name:20s} {path}")
        return 0
    if args.name not in found:
        raise UsageError(f"unknown benchmark {args.name!r}; available: {', '.join(found) or 'none'}")
    path = found[args.name]
    old_argv = sys.argv
    sys.argv = [str(path), *args.bench_args]
    try:
        runpy.run_path(str(path), run_name="__main__")
    except SystemExit as exc:  # a benchmark's own exit code is ours
        if isinstance(exc.code, str):  # sys.exit("message"): the message, exit 1
            raise UsageError(exc.code) from None
        return int(exc.code or 0)
    finally:
        sys.argv = old_argv
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "bench",
        help="run a benchmark script (ratios measured in one run)",
        description="Run one of the benchmark scripts in benchmarks/ and print its ratios.",
    )
    p.add_argument("name", nargs="?", help="benchmark name (e.g. reference, hogwild, async_vs_sync, report)")
    # REMAINDER: everything after NAME is the benchmark's own (``bench NAME --flag`` and
    # ``bench NAME -- --flag`` mean the same)
    p.add_argument("bench_args", nargs=argparse.REMAINDER,
                   help="arguments passed to the benchmark script")
    p.add_argument("--list", action="store_true", help="list the benchmarks")
    p.set_defaults(handler=_handler)
