"""The fault-injection half of the reliability probe (:mod:`asyncbound.checks.reliability`).

Real commands are started as subprocesses and disturbed as a user or the system would: the
parent of a ``processes``/``distributed`` run killed by a signal (:func:`kill_parent`: every
descendant must be gone within ``grace`` seconds and every port they listened on closed), a
step that diverges on each backend (:func:`diverge`), a verify interrupted while writing into an
existing result (:func:`interrupted_verify`). Linux only: processes and sockets are read from
``/proc``.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from asyncbound.implementations.backends import capabilities


def subprocess_cli(argv, timeout=300, cwd=None) -> tuple[int, str]:
    p = subprocess.run([sys.executable, "-m", "asyncbound.checks.cli", *argv],
                       capture_output=True, text=True, timeout=timeout, cwd=cwd)
    return p.returncode, p.stderr


def tree_digest(root: Path) -> dict[str, str]:
    """path -> sha256 (or 'dir') of everything under ``root``, hidden files included."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for d in dirs:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = "dir"
        for f in files:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
    return out


# -- processes: descendants, ports ---------------------------------------------------------------

def _stat(pid: int) -> tuple[int, str] | None:
    """(ppid, state) of ``pid``, or None when it does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), fields[0]


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = _stat(int(d))
            if st is not None:
                children.setdefault(st[0], []).append(int(d))
    found, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in found:
                found.add(c)
                todo.append(c)
    return found


def alive(pids) -> set[int]:
    """The pids still running (zombies count as dead: they hold no CPU, memory or socket)."""
    out = set()
    for p in pids:
        st = _stat(p)
        if st is not None and st[1] not in ("Z", "X"):
            out.add(p)
    return out


def _listening() -> dict[int, int]:
    """socket inode -> port, for every TCP socket in LISTEN state."""
    out = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for ln in lines:
            f = ln.split()
            if len(f) > 9 and f[3] == "0A":
                out[int(f[9])] = int(f[1].rsplit(":", 1)[1], 16)
    return out


def ports_of(pids) -> set[int]:
    listening, ports = _listening(), set()
    for p in pids:
        try:
            fds = os.listdir(f"/proc/{p}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{p}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inode = int(target[8:-1])
                if inode in listening:
                    ports.add(listening[inode])
    return ports


#: backend -> (the algorithm a probe runs there, extra processes it starts besides the workers:
#: a distributed parameter server's master is a rank of its own)
#: problem dimension of the probe's run (see kill_parent)
PROBE_DIM = 400
PROBE_RUNS = {"reference": ("hogwild_sgd", 0), "processes": ("hogwild_sgd", 0),
              "distributed": ("ps_sgd", 1)}


def kill_parent(sig: int, backend: str, out: Path, *, workers: int = 2, settle: float = 1.5,
                grace: float = 5.0) -> dict:
    """Start a long real run, kill its parent with ``sig`` once its children run, and report
    what survived ``grace`` seconds later (orphans, ports) and how the parent ended."""
    algo, extra_ranks = PROBE_RUNS[backend]
    # d = PROBE_DIM makes each update cost a dense d x d product (~0.1 ms), so the run lasts
    # far longer than the probe's settle time: on a fast, idle machine 400000 updates at d = 10
    # finished in ~3 s, before the kill (ProcessLookupError)
    cmd = [sys.executable, "-m", "asyncbound.checks.cli", "-v", "run", algo, "--backend", backend,
           "--workers", str(workers), "--steps", "400000", "--dim", str(PROBE_DIM), "--out", str(out)]
    # stderr to a file, not a pipe: orphans would hold a pipe open and hang the probe
    errfile = out.parent / f".{out.name}.stderr"
    errfile.parent.mkdir(parents=True, exist_ok=True)
    errfh = open(errfile, "w")  # noqa: SIM115 - closed below, after the parent ended
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errfh, text=True,
                         start_new_session=True)
    need = workers + extra_ranks
    deadline = time.monotonic() + 120
    kids: set[int] = set()
    # kill mid-run, not mid-start: wait for the supervisor's "released" line (-v), then a
    # little more for the updates to begin
    while time.monotonic() < deadline and p.poll() is None:
        kids = descendants(p.pid)
        if len(kids) >= need and "released together" in errfile.read_text():
            break
        time.sleep(0.2)
    time.sleep(settle)
    kids |= descendants(p.pid)
    ports = ports_of(kids)
    os.kill(p.pid, sig)
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=10)
    errfh.close()
    # the command's own lines (the -v log lines start with their level)
    err = "\n".join(ln for ln in errfile.read_text().splitlines() if ln.startswith("asyncbound"))
    t_end = time.monotonic() + grace
    while alive(kids) and time.monotonic() < t_end:
        time.sleep(0.1)
    left = alive(kids)
    open_ports = ports & set(_listening().values())
    for k in left:  # never leave them behind, even when the probe fails
        try:
            os.kill(k, signal.SIGKILL)
        except OSError:
            pass
    meta = None
    if (out / "run.json").exists():
        meta = json.loads((out / "run.json").read_text())
    return {"signal": signal.Signals(sig).name, "backend": backend, "rc": p.returncode,
            "children": len(kids), "orphans": len(left), "ports": sorted(ports),
            "open_ports": sorted(open_ports), "stderr": err.strip(), "meta_complete":
            None if meta is None else meta.get("complete"),
            "cause": None if meta is None else meta.get("cause")}


def diverge(backend: str, out: Path) -> dict:
    algo = PROBE_RUNS[backend][0]
    extra = ["--workers", "2"] if capabilities(backend).spawns_workers else []
    rc, err = subprocess_cli(["run", algo, "--backend", backend, *extra, "--steps", "3000",
                              "--lr", "1000", "--eval-every", "1", "--out", str(out)])
    meta = json.loads((out / "run.json").read_text()) if (out / "run.json").exists() else {}
    return {"backend": backend, "rc": rc, "complete": meta.get("complete"),
            "error": meta.get("error"), "stderr": err.strip()}


def interrupted_verify(v_dir: Path, settle: float = 8.0) -> dict:
    """SIGTERM a verify writing into an existing result: the result must survive untouched."""
    before = tree_digest(v_dir)
    cmd = [sys.executable, "-m", "asyncbound.checks.cli", "verify", "--no-studies",
           "--only", "hogwild_sgd--,ps_sgd--", "--out", str(v_dir)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(settle)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    after = tree_digest(v_dir)
    kept = [p_ for p_ in after if p_ not in before and p_.endswith("run.json")]
    partial = json.loads((v_dir / kept[0]).read_text()) if kept else {}
    lost = [k for k in before if after.get(k) != before[k]]
    return {"rc": p.returncode, "lost": lost, "partial": kept,
            "status": partial.get("status"), "stderr": err.strip().splitlines()[-1:]}


