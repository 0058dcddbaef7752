"""The one exception type the CLI turns into a one-line message and exit code 2."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user (arguments, files, keys): reported as one line, exit 2."""
