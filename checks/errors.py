"""The CLI's error contract: the exceptions a user can cause and the exit code of each.

One table (:data:`EXIT_CODES`) is the single source of the codes; ``asyncbound.checks.cli.main``
maps every exception through :func:`classify` to one line on stderr and that code, and
README's "Exit codes" table lists the same rows.
"""

from __future__ import annotations

import errno
import signal

#: exit code -> meaning (README "Exit codes" repeats this table)
EXIT_CODES = {
    0: "success (verify/check: no FAIL)",
    1: "verify/check found a FAIL, or a real run failed (a worker died or hung); partial trace kept",
    2: "bad input: arguments, files, variant, output directory (nothing on disk changed)",
    3: "run diverged (non-finite or exploding parameters); partial trace kept, marked incomplete",
    4: "cannot write the output or not enough memory/disk for it (nothing half-written)",
    70: "internal error (a bug: rerun with -vv for the traceback and report it)",
    130: "interrupted by SIGINT (Ctrl-C); partial results kept and marked interrupted",
    143: "terminated by SIGTERM; handled like SIGINT",
}
EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_DIVERGED, EXIT_RESOURCE, EXIT_INTERNAL = 0, 1, 2, 3, 4, 70


class UsageError(Exception):
    """Bad input from the user (arguments, files, keys): reported as one line, exit 2."""


class ResourceError(Exception):
    """The machine cannot hold or write the output (memory, disk, permissions): exit 4."""


class Terminated(KeyboardInterrupt):
    """Raised in the main thread by the CLI's SIGTERM handler, so that SIGTERM takes exactly
    the path of Ctrl-C (stop, keep the partial results) and ends with exit code 143.

    A ``KeyboardInterrupt`` subclass on purpose: code that stops cleanly on Ctrl-C (the
    backends' supervisor, the runner) needs no second branch; ``signum`` tells them apart.
    """

    signum = signal.SIGTERM


def interrupt_exit_code(exc: BaseException) -> int:
    """128 + the signal that interrupted us (SIGINT unless the exception says otherwise)."""
    return 128 + int(getattr(exc, "signum", signal.SIGINT))


def _oserror_line(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else ""
    what = exc.strerror or str(exc)
    return f"{where}: {what}" if where else what


def classify(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one line for an exception that reached the CLI."""
    if isinstance(exc, UsageError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, ResourceError):
        return EXIT_RESOURCE, str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return interrupt_exit_code(exc), "interrupted"
    if isinstance(exc, MemoryError):
        return EXIT_RESOURCE, "out of memory (use fewer --steps, --seeds or a smaller --dim)"
    if isinstance(exc, RecursionError):
        return EXIT_USAGE, "input nested too deeply to read (a crafted or corrupt file?)"
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS):
            return EXIT_RESOURCE, f"cannot write: {_oserror_line(exc)}"
        return EXIT_RESOURCE, _oserror_line(exc)
    if isinstance(exc, ValueError):  # library validation: names the argument and the value
        return EXIT_USAGE, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    first = str(exc).splitlines()[0] if str(exc) else ""
    return EXIT_INTERNAL, (f"internal error: {type(exc).__name__}: {first} "
                           "(rerun with -vv for the traceback and please report it)")
