"""``asyncbound report DIR [--out FILE]``: rebuild the HTML report from stored records alone.

Imports only :mod:`reports` (inside the handler), so it works without torch installed.
"""

from __future__ import annotations

import argparse
import logging

from asyncbound.checks.errors import UsageError

log = logging.getLogger("asyncbound.report")


def register(subparsers) -> None:
    """Add the ``report`` subcommand to the CLI's subparsers."""
    p = subparsers.add_parser(
        "report",
        help="build the self-contained HTML report of a result directory",
        description=(
            "Read DIR/records/*.json (and DIR/run.json, DIR/traces/*.parquet when present) and "
            "write one self-contained HTML file: verdict index, theorems, constants, side "
            "conditions, figures. Runs no optimizer."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("dir", metavar="DIR", help="result directory written by 'asyncbound check/verify'")
    p.add_argument("--out", "-o", metavar="FILE", default=None,
                   help="output HTML file (default: DIR/report.html)")
    p.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from asyncbound.checks.outdir import apply_umask
    from asyncbound.reports import RecordError, write_report

    try:
        path = write_report(args.dir, args.out)
    except RecordError as exc:
        raise UsageError(str(exc)) from None
    except RecursionError:
        raise UsageError(f"{args.dir}: a record is nested too deeply to read (crafted or "
                         "corrupt JSON)") from None
    except OSError as exc:
        raise UsageError(f"{exc.filename or args.out}: cannot write the report: {exc.strerror}") from None
    apply_umask(path)  # written through mkstemp (0600); outputs follow the umask
    print(path)
    return 0
