"""The ``asyncbound`` console script.

Each subcommand lives in its own ``checks/cli/<command>.py`` module exposing ``register(subparsers)``;
this module only assembles them and owns the one error path: every exception that reaches
:func:`main` becomes one line on stderr (``asyncbound COMMAND: error: ...``) and the exit code
of :data:`asyncbound.checks.errors.EXIT_CODES` chosen by :func:`~asyncbound.checks.errors.classify`
(bad input 2, resource 4, internal 70, SIGINT 130, SIGTERM 143); a subcommand's return value is
its code otherwise (0 success, 1 FAIL or failed run, 3 diverged run). SIGTERM is turned into
:class:`~asyncbound.checks.errors.Terminated` (a ``KeyboardInterrupt``) so that it stops
exactly like Ctrl-C. ``-vv`` adds the traceback of an internal error.

Subcommand modules import torch lazily, inside their handlers, so that ``asyncbound report``
and ``asyncbound theory`` run without torch installed.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import signal
import sys
import threading

from asyncbound.checks.errors import Terminated, classify

log = logging.getLogger("asyncbound")

# Order is the order of ``asyncbound --help``.
_SUBCOMMAND_MODULES = (
    "asyncbound.checks.cli.theory",
    "asyncbound.checks.cli.run",
    "asyncbound.checks.cli.verify",
    "asyncbound.checks.cli.report",
    "asyncbound.checks.cli.bench",
    "asyncbound.checks.cli.audit",
)


def _raise_terminated(signum, frame):
    raise Terminated()


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM raises :class:`Terminated` in the main thread while a command runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


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
        with _sigterm_as_interrupt():
            rc = args.handler(args)
    except BaseException as exc:  # noqa: BLE001 - the one error path of the command line
        if isinstance(exc, SystemExit):
            raise
        code, line = classify(exc)
        if code == 70 or args.verbose >= 2:
            log.debug("traceback of the error below", exc_info=True)
        print(f"asyncbound {args.command}: {'' if code >= 128 else 'error: '}{line}",
              file=sys.stderr)
        return code
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
