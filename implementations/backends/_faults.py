"""Supervision of spawned children: start, monitor (exit codes, heartbeats, deadline), teardown.

Every wait has a timeout; teardown is terminate -> join(timeout) -> kill -> join(timeout), in
a ``finally``, so no child outlives ``run`` (checked in tests with
``multiprocessing.active_children()`` and the pids).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from multiprocessing.connection import wait as mp_wait
from pathlib import Path

log = logging.getLogger(__name__)


class BackendRunError(RuntimeError):
    """A real run ended early. ``.trace`` holds the partial trace (``meta['complete'] is False``).

    ``.who`` names the failed process (``"worker 1"``, ``"master"``, ``"rank 2"``) or None for
    a run-level timeout.
    """

    def __init__(self, message: str, who: str | None = None, trace=None):
        super().__init__(message)
        self.who, self.trace = who, trace


def last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def read_error(errdir: str, tag: str) -> str | None:
    p = Path(errdir) / f"{tag}.err"
    try:
        return p.read_text()
    except OSError:
        return None


def collect_errors_and_clean(errdir: str) -> dict[str, str]:
    """Read every child's traceback file, then remove the directory.

    The full tracebacks travel in the trace's meta (``error_files``), so nothing is left in the
    temporary directory after a run, failed or not.
    """
    found = {}
    try:
        for p in sorted(Path(errdir).glob("*.err")):
            found[p.stem] = p.read_text(errors="replace")
    except OSError:
        pass
    shutil.rmtree(errdir, ignore_errors=True)
    return found


@contextlib.contextmanager
def child_env(**env):
    """Set environment variables for children started inside the block (spawn copies os.environ)."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update({k: str(v) for k, v in env.items()})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def teardown(procs, grace: float = 2.0) -> None:
    """Terminate, then kill, every child still alive; every join has a timeout."""
    for p in procs:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + grace
    for p in procs:
        p.join(timeout=max(0.05, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            log.warning("child pid %s ignored SIGTERM; killing it", p.pid)
            p.kill()
            p.join(timeout=5.0)


def monitor(procs, names, *, errdir: str, heartbeat, hang_timeout: float | None,
            deadline: float | None, poll: float = 0.1, on_poll=None) -> tuple[str | None, str | None]:
    """Wait until every child exited 0, or the first failure. Returns ``(who, error)``.

    Failure kinds: a child exited non-zero (its traceback file names the exception), a child's
    heartbeat is older than ``hang_timeout`` seconds, or the run passed ``deadline``
    (monotonic seconds).
    """
    hb = heartbeat.numpy() if heartbeat is not None else None
    while True:
        alive = [p for p in procs if p.exitcode is None]
        for p, name in zip(procs, names, strict=True):
            if p.exitcode not in (None, 0):
                tb = read_error(errdir, name.replace(" ", ""))
                if tb:
                    return name, f"{name} failed: {last_line(tb)}"
                return name, f"{name} exited with code {p.exitcode}"
        if not alive:
            return None, None
        now = time.monotonic()
        if hb is not None and hang_timeout is not None:
            for i, (p, name) in enumerate(zip(procs, names, strict=True)):
                if p.exitcode is None and i < hb.shape[0] and now - hb[i] > hang_timeout:
                    return name, (f"{name} hung: no progress for {now - hb[i]:.1f} s "
                                  f"(hang_timeout={hang_timeout} s)")
        if deadline is not None and now > deadline:
            return None, "run timed out (timeout reached before all workers finished)"
        if on_poll is not None:
            on_poll()
        mp_wait([p.sentinel for p in alive], timeout=poll)
