"""A spawned child's lifeline to its parent: it dies with the parent, however the parent dies.

Why a module of its own, outside ``implementations.backends``: a ``spawn`` child unpickles its
target before running it, and unpickling a backend's target imports torch (seconds on a busy
machine). A parent killed during those seconds would leave the child running its whole step
budget (issue 14). So the backends start every child through :func:`child_main`, which lives
here, imports nothing heavy, and runs :func:`die_with_parent` *before* it unpickles the real
target and its arguments (carried as bytes by :class:`Deferred`).

:func:`die_with_parent`: Linux's parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGKILL)``
through ctypes; then, if the parent is already gone, exit at once) and, on every OS, a watchdog
thread blocked on the parent's pipe (``multiprocessing.parent_process().sentinel``), which
becomes readable when the parent dies. A dead child closes its sockets (a distributed rank's
listening port) and its hold on the resource tracker's pipe, so those go too.
"""

from __future__ import annotations

import os
import signal
import sys
import threading


def die_with_parent() -> None:
    """End this process when its multiprocessing parent dies (no-op without such a parent)."""
    import multiprocessing

    parent = multiprocessing.parent_process()
    if parent is None:
        return
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no usable libc: the watchdog still covers it
            pass
        if parent.pid is not None and os.getppid() != parent.pid:
            os._exit(1)  # the parent died before the prctl call took effect

    def watchdog():
        from multiprocessing.connection import wait

        try:
            wait([parent.sentinel])
        except OSError:
            pass
        os._exit(1)

    threading.Thread(target=watchdog, name="asyncbound-parent-watchdog", daemon=True).start()


def _restore(payload: bytes) -> Deferred:
    d = Deferred.__new__(Deferred)
    d.payload = payload
    return d


class Deferred:
    """``(target, args)`` pickled only while the child is being spawned, unpickled only in
    :func:`child_main` (after :func:`die_with_parent`).

    Pickling happens inside ``Process.start()``, so locks, semaphores and shared tensors are
    reduced exactly as they would be as direct ``Process`` arguments (file descriptors travel
    with the spawn).
    """

    def __init__(self, target, *args):
        self.target, self.args, self.payload = target, args, None

    def __reduce__(self):
        from multiprocessing.reduction import ForkingPickler

        return _restore, (bytes(ForkingPickler.dumps((self.target, self.args))),)

    def load(self):
        import pickle

        if self.payload is None:  # never pickled (called in-process)
            return self.target, self.args
        return pickle.loads(self.payload)


def child_main(deferred: Deferred) -> None:
    """The ``Process`` target of every backend child: lifeline first, then the real target."""
    die_with_parent()
    target, args = deferred.load()
    target(*args)
