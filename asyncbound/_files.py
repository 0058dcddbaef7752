"""Atomic file writes that follow the user's umask: the one writer every layer uses.

Every output (trace, record, run.json, report) is written to a temporary file in the target's
directory and renamed over it, so a reader never sees half a file. ``tempfile.mkstemp`` creates
the temporary file with mode 0600; the result gets ``0666 & ~umask`` like any file the user's
programs create (issue 14). Standard library only: every layer may import it, none of the layers'
dependency rules is touched.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    old = os.umask(0o022)  # elsewhere: set and restore (the CLI is single-threaded here)
    os.umask(old)
    return old


def atomic_write(path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, give it the umask's mode
    and rename it over ``path``; on any failure the temporary file is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path, text: str) -> None:
    """:func:`atomic_write` of UTF-8 text (``\\n`` line ends, flushed to disk before the rename)."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    atomic_write(path, write)
