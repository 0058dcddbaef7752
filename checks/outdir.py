"""One output directory of one command: validate, lock, stage, commit (issue 14).

Every command that writes results (``run``, ``verify``, ``check``) goes through
:class:`OutputDir`, so the same rules hold everywhere:

1. **Validate before touching anything.** :meth:`OutputDir.validate` raises ``UsageError``
   (exit 2, nothing on disk changed) when ``--out`` is a file, when its nearest existing
   ancestor is not writable, or when it holds another command's output (a ``run`` into a
   ``verify`` directory, or the reverse): a command replaces only what the same kind of
   command wrote there.
2. **One writer.** ``OUT/.asyncbound.lock`` is created with ``O_CREAT | O_EXCL`` and holds the
   owner's pid and host. A second writer is refused (``UsageError`` naming the pid); a lock
   whose pid is dead on this host is stale and is taken over (logged), and the staging
   directories a killed writer left behind are removed.
3. **Stage.** The command writes into a fresh ``OUT/.staging-<pid>-<random>/``; readers of
   ``OUT`` never see half a result.
4. **Commit.** On success each entry the command owns (``run.json``, ``records/``, ...) is
   swapped in by ``os.rename`` (atomic per entry, same filesystem), ``run.json`` last, and
   the replaced entries are removed. Entries of ``OUT`` the command does not own (a variant's
   ``OUT/<name>/`` sub-directory, a user's notes) are never touched.
5. **Interrupted or failed midway.** :meth:`OutputDir.keep_partial` keeps what was staged: as
   ``OUT`` itself when ``OUT`` held no earlier result, otherwise beside it in
   ``OUT/partial-<UTC time>/`` so an earlier complete result is never replaced by a partial one.
6. **Modes.** Every file and directory committed gets the user's umask (``0666 & ~umask``,
   ``0777 & ~umask``): temporary files are created ``0600`` by ``mkstemp``, results are not.

Nothing here imports torch.
"""

from __future__ import annotations

import datetime as _dt
import errno
import logging
import os
import shutil
import socket
import tempfile
from pathlib import Path

from asyncbound.checks.errors import UsageError

from asyncbound._files import umask

log = logging.getLogger(__name__)

LOCK_NAME = ".asyncbound.lock"
STAGING_PREFIX = ".staging-"
REPLACED_PREFIX = ".replaced-"

#: what each kind of command writes into OUT (and so may replace); the first entry marks the kind
OWNED = {
    "run": ("trace.parquet", "run.json"),
    "suite": ("records", "traces", "index.html", "report.html", "run.json"),
}
#: command -> kind of output (verify and check write the same layout)
KIND_OF_COMMAND = {"run": "run", "verify": "suite", "check": "suite"}


def apply_umask(path: Path) -> None:
    """Give ``path`` (recursively) the modes a plain ``open``/``mkdir`` would have given it."""
    mask = umask()
    path = Path(path)
    if path.is_dir():
        os.chmod(path, 0o777 & ~mask)
        for root, dirs, files in os.walk(path):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o777 & ~mask)
            for f in files:
                os.chmod(os.path.join(root, f), 0o666 & ~mask)
    elif path.exists():
        os.chmod(path, 0o666 & ~mask)


def kind_of(path: Path) -> str | None:
    """Which command's output ``path`` holds: ``"run"``, ``"suite"`` or None (none/empty)."""
    if (path / "records").is_dir():
        return "suite"
    if (path / "trace.parquet").exists():
        return "run"
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _writable_ancestor(path: Path) -> Path:
    p = path
    while not p.exists():
        if p.parent == p:
            break
        p = p.parent
    return p


class OutputDir:
    """The output directory of one command. Use as a context manager after :meth:`validate`::

        out = OutputDir(args.out, command="verify")
        out.validate()                 # before any work: exit 2, nothing changed
        with out:                      # lock + staging
            write into out.staging
            out.commit()               # or out.keep_partial() on interruption
    """

    def __init__(self, path, *, command: str, flag: str = "--out"):
        if command not in KIND_OF_COMMAND:
            raise ValueError(f"command must be one of {', '.join(KIND_OF_COMMAND)}, got {command!r}")
        self.path = Path(path)
        self.command, self.kind, self.flag = command, KIND_OF_COMMAND[command], flag
        self.staging: Path | None = None
        self._created: Path | None = None  # the outermost directory this command created
        self._locked = False
        self._done = False

    # -- 1. validate ------------------------------------------------------------------------
    def validate(self) -> OutputDir:
        p = self.path
        if str(p).strip() == "":
            raise UsageError(f"{self.flag} must name a directory, got ''")
        if p.exists() and not p.is_dir():
            raise UsageError(f"{self.flag} {str(p)!r} exists and is not a directory")
        anc = _writable_ancestor(p)
        if not anc.is_dir():
            raise UsageError(f"{self.flag} {str(p)!r}: {str(anc)!r} is not a directory")
        try:  # a real probe: os.access says yes to root even on a read-only filesystem
            fd, probe = tempfile.mkstemp(prefix=".asyncbound-probe-", dir=anc)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise UsageError(f"{self.flag} {str(p)!r}: cannot write in {str(anc)!r}: "
                             f"{exc.strerror or exc}") from None
        if p.is_dir():
            other = kind_of(p)
            if other is not None and other != self.kind:
                theirs = "a run's trace (trace.parquet)" if other == "run" else \
                    "a verify/check result (records/)"
                raise UsageError(f"{self.flag} {str(p)!r} holds {theirs}; 'asyncbound "
                                 f"{self.command}' never replaces another command's output: "
                                 "choose another directory")
            self._check_lock()
        return self

    def _check_lock(self) -> None:
        owner = self._lock_owner()
        if owner is not None and owner[1]:
            raise UsageError(f"{self.flag} {str(self.path)!r} is in use by another asyncbound "
                             f"command (pid {owner[0]}, lock {self.path / LOCK_NAME}); wait for "
                             "it or choose another directory")

    def _lock_owner(self) -> tuple[int, bool] | None:
        """(pid, alive) of the lock's owner, or None when there is no lock."""
        try:
            text = (self.path / LOCK_NAME).read_text()
        except FileNotFoundError:
            return None
        except OSError:
            return (-1, True)
        fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        try:
            pid = int(fields.get("pid", ""))
        except ValueError:  # being written right now, or garbage: treat as held
            return (-1, True)
        same_host = fields.get("host", socket.gethostname()) == socket.gethostname()
        return (pid, _pid_alive(pid) if same_host else True)

    # -- 2./3. lock and stage ---------------------------------------------------------------
    def __enter__(self) -> OutputDir:
        if not self.path.exists():
            missing = self.path
            while not missing.parent.exists():
                missing = missing.parent
            self.path.mkdir(parents=True)
            self._created = missing
        self._lock()
        self._sweep_dead_writers()
        try:
            self.staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-",
                                                 dir=self.path))
        except BaseException:
            self._unlock()
            raise
        return self

    def _sweep_dead_writers(self) -> None:
        """Remove staging/replaced directories left by a writer killed with SIGKILL (we hold
        the lock, so no live writer owns one)."""
        for d in self.path.iterdir():
            for prefix in (STAGING_PREFIX, REPLACED_PREFIX):
                if d.name.startswith(prefix) and d.is_dir():
                    pid = d.name[len(prefix):].split("-", 1)[0]
                    if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
                        log.info("removing %s, left by a writer that died", d)
                        shutil.rmtree(d, ignore_errors=True)

    def _lock(self) -> None:
        lock = self.path / LOCK_NAME
        for _ in range(2):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._lock_owner()
                if owner is not None and not owner[1]:
                    log.warning("removing the stale lock of dead pid %s in %s", owner[0], self.path)
                    with _suppress_missing():
                        lock.unlink()
                    continue
                self._check_lock()
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(f"pid={os.getpid()}\nhost={socket.gethostname()}\n"
                         f"command={self.command}\n")
            self._locked = True
            return
        self._check_lock()
        raise UsageError(f"{self.flag} {str(self.path)!r}: cannot take the lock {lock}")

    def _unlock(self) -> None:
        if self._locked:
            with _suppress_missing():
                (self.path / LOCK_NAME).unlink()
            self._locked = False
        if self._created is not None:  # nothing was committed: leave the disk as we found it
            p = self.path
            while True:
                try:
                    p.rmdir()
                except OSError:
                    break
                if p == self._created:
                    break
                p = p.parent
            self._created = None

    # -- 4./5. commit or keep the partial result --------------------------------------------
    def commit(self) -> Path:
        """Swap every staged entry into OUT (``run.json`` last); remove what it replaced."""
        assert self.staging is not None, "commit() outside 'with OutputDir(...)'"
        apply_umask(self.staging)
        entries = sorted(os.listdir(self.staging), key=lambda n: (n == "run.json", n))
        replaced = Path(tempfile.mkdtemp(prefix=f"{REPLACED_PREFIX}{os.getpid()}-", dir=self.path))
        if kind_of(self.path) == self.kind:  # a re-run replaces the previous result whole
            for name in OWNED[self.kind]:
                if name not in entries and (self.path / name).exists():
                    os.rename(self.path / name, replaced / name)
        for name in entries:
            target = self.path / name
            if target.exists():
                os.rename(target, replaced / name)
            os.rename(self.staging / name, target)
        shutil.rmtree(replaced, ignore_errors=True)
        self._remove_staging()
        self._created = None
        self._done = True
        return self.path

    def keep_partial(self) -> Path | None:
        """Keep what was staged after an interruption; returns where (None: nothing staged)."""
        if self.staging is None or self._done:
            return None
        if not any(self.staging.iterdir()):
            self._remove_staging()
            return None
        if kind_of(self.path) is None:
            return self.commit()
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        where = self.path / f"partial-{stamp}"
        apply_umask(self.staging)
        os.rename(self.staging, where)
        self.staging = None
        self._created = None
        self._done = True
        return where

    def _remove_staging(self) -> None:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if not self._done:
                self._remove_staging()
        finally:
            self._unlock()


class _suppress_missing:
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        return exc_type is not None and issubclass(exc_type, OSError) and \
            getattr(exc, "errno", None) in (errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST)
