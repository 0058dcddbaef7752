"""The one supervisor of spawned children: start, monitor, teardown, and death with the parent.

It owns every child (workers, master, distributed ranks) for its whole life:

- **start**: :func:`supervise` starts the children and releases them together;
- **monitor**: exit codes, heartbeats (hangs), a deadline, and **divergence**: the parent
  reads the shared model ``x`` at every poll (10 Hz, no cost in the workers' hot loops) and
  once more at the end, and stops the run when ``x`` is non-finite or has exploded
  (``max|x| > EXPLODE_FACTOR * max(1, max|x0|)``). A diverged run is an *outcome*, not a
  fault: its partial trace is returned marked incomplete, ``meta["error"]`` starting with
  ``"diverged"`` and ``meta["cause"] == "diverged"``, as the reference backend does;
- **interruption**: SIGINT (and SIGTERM, which the CLI turns into a ``KeyboardInterrupt``
  subclass carrying ``signum``) stops the run like a failure; the partial trace travels in
  :class:`RunInterrupted` (a ``KeyboardInterrupt``, so nothing that catches ``Exception``
  swallows it);
- **teardown**: stop flag, then terminate -> join(timeout) -> kill -> join(timeout), in a
  ``finally``, so no child outlives ``run`` (tests check the pids);
- **death with the parent**, however the parent dies (SIGKILL included, where no ``finally``
  runs): every child is started through :func:`asyncbound.implementations._lifeline.child_main`
  (``lifeline(target, *args)`` below builds that ``Process``), which sets Linux's parent-death
  signal and a watchdog on the parent's pipe *before* it unpickles the real target (which
  imports torch, seconds). A dead child closes its sockets, so a distributed rank's port
  closes with it, and the multiprocessing resource tracker exits once no child holds its pipe.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import time
from multiprocessing.connection import wait as mp_wait
from pathlib import Path

log = logging.getLogger(__name__)


#: ``max|x|`` above this multiple of ``max(1, max|x0|)`` counts as divergence (exploding)
EXPLODE_FACTOR = 1e8
DIVERGED = "diverged"


class RunInterrupted(KeyboardInterrupt):
    """A real run stopped by SIGINT/SIGTERM; ``.trace`` is its partial trace (or None)."""

    def __init__(self, message: str, signum: int, trace=None):
        super().__init__(message)
        self.signum, self.trace = signum, trace


def is_diverged(meta: dict) -> bool:
    """Whether a trace's meta says the run diverged (every backend writes it this way)."""
    return meta.get("cause") == DIVERGED or str(meta.get("error") or "").startswith(DIVERGED)


def divergence(x, scale0: float) -> str | None:
    """The divergence of model ``x`` (a tensor), as a message, or None when it is sane."""
    if not bool(x.isfinite().all()):
        return f"{DIVERGED}: non-finite parameters"
    m = float(x.abs().max()) if x.numel() else 0.0
    if m > EXPLODE_FACTOR * scale0:
        return (f"{DIVERGED}: parameters exploded (max |x| = {m:.3g} > "
                f"{EXPLODE_FACTOR:g} x max(1, max |x0|))")
    return None


def lifeline_process(ctx, target, args, **kwargs):
    """``ctx.Process`` running ``target(*args)`` behind the child's lifeline (see above)."""
    from .._lifeline import Deferred, child_main

    return ctx.Process(target=child_main, args=(Deferred(target, *args),), **kwargs)


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


def wait_ready(procs, names, ready, errdir, start_timeout):
    """Wait until every child has bootstrapped (so timing starts together) or one failed."""
    deadline = time.monotonic() + start_timeout
    n = 0
    while n < len(procs):
        if ready.acquire(timeout=0.1):
            n += 1
            continue
        for p, name in zip(procs, names, strict=True):
            if p.exitcode not in (None, 0):
                tb = read_error(errdir, name.replace(" ", ""))
                msg = last_line(tb) if tb else f"exit code {p.exitcode}"
                return name, f"{name} failed while starting: {msg}"
        if time.monotonic() > deadline:
            return None, f"workers did not start within start_timeout={start_timeout} s"
    return None, None


class Outcome:
    """What supervising a run found: who failed and why (or None), and its timing."""

    def __init__(self):
        self.who = self.error = self.t_end = self.t_detect = None
        self.cause: str | None = None       # "diverged" | "interrupted" | None (fault)
        self.signum: int | None = None      # the signal that interrupted the run
        self.t0 = time.monotonic()
        self.error_files: dict[str, str] = {}


def supervise(procs, names, *, run_, ready, go, errdir, env, start_timeout, heartbeat,
              hang_timeout, timeout, stop_index) -> Outcome:
    """Start ``procs``, release them together, watch them, and always tear them down.

    ``heartbeat`` is the slice of ``run_.heartbeat`` to watch for hangs; ``run_.counters
    [stop_index]`` is the stop flag every child polls. Timing starts when all children are
    ready, so spawn cost (seconds) never counts as run time.
    """
    out = Outcome()
    scale0 = max(1.0, float(run_.x.abs().max())) if run_.x.numel() else 1.0

    def diverging():
        msg = divergence(run_.x, scale0)
        if msg is None:
            return None
        from ._shared import C_CLAIMED, C_VERSION

        done = max(int(run_.counters[C_VERSION]), int(run_.counters[C_CLAIMED]))
        return f"{msg} after about {done} updates"

    try:
        with child_env(**env):
            for p in procs:
                p.start()
        out.who, out.error = wait_ready(procs, names, ready, errdir, start_timeout)
        if out.error is None:
            out.t0 = time.monotonic()
            run_.extra["t0"][0] = out.t0
            run_.heartbeat.fill_(out.t0)
            go.set()
            log.info("%d children started and released together", len(procs))
            out.who, out.error = monitor(
                procs, names, errdir=errdir, heartbeat=heartbeat, hang_timeout=hang_timeout,
                deadline=None if timeout is None else out.t0 + float(timeout),
                on_poll=diverging)
            if out.error is None:  # a run faster than one poll: look at its final x too
                out.error = diverging()
            if out.error is not None and out.error.startswith(DIVERGED):
                out.cause = DIVERGED
            out.t_detect = time.monotonic() - out.t0
            # each child's last heartbeat is its last update: exit time is not run time
            out.t_end = float(run_.heartbeat.max())
    except KeyboardInterrupt as exc:  # SIGINT, or SIGTERM turned into one by the CLI
        out.signum = int(getattr(exc, "signum", signal.SIGINT))
        out.cause = "interrupted"
        out.error = f"interrupted by {signal.Signals(out.signum).name}"
        out.t_detect = time.monotonic() - out.t0
    finally:
        run_.counters[stop_index] = 1
        go.set()
        teardown(procs)
        out.error_files = collect_errors_and_clean(errdir)
    return out


def finish(trace, out: Outcome, *, backend: str, raise_on_error: bool):
    """Mark a failed run's partial trace (who, tracebacks), log it, then raise or return it."""
    if out.error is None:
        return trace
    trace.meta["failed"] = out.who
    trace.meta["error_files"] = out.error_files
    trace.meta["cause"] = out.cause or "fault"
    # the caller gets the message (exception or trace); a warning only where nothing is raised
    level = logging.INFO if raise_on_error or out.cause == "interrupted" else logging.WARNING
    log.log(level, "%s run stopped: %s", backend, out.error)
    if out.cause == "interrupted":
        raise RunInterrupted(out.error, out.signum, trace)
    if out.cause == DIVERGED:  # an outcome, as on the reference backend: the caller decides
        return trace
    if raise_on_error:
        raise BackendRunError(out.error, out.who, trace)
    return trace


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
    """Terminate, then kill, every child still alive; every join has a timeout.

    Children that never started (``start()`` raised for an earlier one) are skipped: joining
    them would raise and hide the error that stopped the start.
    """
    procs = [p for p in procs if p.pid is not None]
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
    (monotonic seconds); ``on_poll``, called at every poll, may return an error message
    (divergence) that ends the run.
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
            found = on_poll()
            if found:
                return None, found
        mp_wait([p.sentinel for p in alive], timeout=poll)
