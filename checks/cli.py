"""The ``asyncbound`` console script.

Each subcommand lives in its own ``checks/cli_*.py`` module exposing ``register(subparsers)``;
this module only assembles them and owns the error contract:

- bad input (``UsageError`` or ``ValueError`` raised while validating arguments): one line on
  stderr, exit code 2, never a traceback;
- a verification that found a FAIL: exit code 1 (set by the subcommand's return value);
- success: exit code 0.

Subcommand modules import torch lazily, inside their handlers, so that ``asyncbound report``
and ``asyncbound theory`` run without torch installed.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from asyncbound.checks.errors import UsageError

log = logging.getLogger("asyncbound")

# Order is the order of ``asyncbound --help``.
_SUBCOMMAND_MODULES = (
    "asyncbound.checks.cli_theory",
    "asyncbound.checks.cli_run",
    "asyncbound.checks.cli_verify",
    "asyncbound.checks.cli_report",
    "asyncbound.checks.cli_bench",
    "asyncbound.checks.cli_audit",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asyncbound",
        description=(
            "Check asynchronous stochastic optimization algorithms against their theorems: "
            "state the bound (theory), run the algorithm for real with measured staleness "
            "(run), compare and decide (verify, check), and read the HTML report (report)."
        ),
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # subcommand not built yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # argparse exits 2 with its own usage message on malformed arguments; keep that.
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        rc = args.handler(args)
    except (UsageError, ValueError) as exc:
        print(f"asyncbound {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"asyncbound {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
