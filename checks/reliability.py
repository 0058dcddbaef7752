"""Reliability probe of the command line (issue 14): ``python -m asyncbound.checks.reliability``.

Drives the real ``asyncbound`` command (a subprocess per case, as a user would) through

- a **bad-input table** (:data:`CASES`): each case must end with its expected exit code, one
  line on stderr, no traceback, and nothing changed on disk (every file under the scratch
  directory is hashed before and after);
- **fault injection** (:func:`kill_parent`): the parent of a ``processes`` or ``distributed``
  run is killed with SIGTERM, SIGINT or SIGKILL; every descendant must be gone within 5 s and
  every port they listened on closed; SIGTERM/SIGINT end with 143/130 and keep the partial
  trace;
- **divergence** (:func:`diverge`): a step size that diverges, on every backend: exit 3, the
  partial trace kept and marked incomplete with the cause;
- an **interrupted verify** into an existing result: the earlier result is untouched, the
  partial one is kept beside it, marked interrupted.

and prints the totals: bad inputs tried, clean one-line errors, tracebacks (goal 0), results
lost (goal 0), orphans (goal 0). ``tests/reliability`` runs the same table in-process.
Linux only (it reads ``/proc``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from asyncbound.implementations.backends import capabilities

#: a fast reference check, to build an existing verify result (V) once
ONE_CHECK = "hogwild_sgd--nadiradze2021-elastic_consistency--reference"
RUN = ["run", "hogwild_sgd", "--steps", "50"]


@dataclass(frozen=True)
class Case:
    """One bad input: ``argv`` (``{X}`` placeholders name fixtures) and the exit code due."""

    name: str
    argv: tuple
    code: int = 2


CASES = (
    Case("run --delay ''", (*RUN, "--delay", "", "--out", "{T}/a")),
    Case("run --delay unknown", (*RUN, "--delay", "unifrm:4", "--out", "{T}/a")),
    Case("run --lock on reference", (*RUN, "--lock", "--out", "{T}/a")),
    Case("run --lock-free on distributed", ("run", "ps_sgd", "--backend", "distributed",
                                            "--steps", "50", "--lock-free", "--out", "{T}/a")),
    Case("run --max-delay on distributed", ("run", "ps_sgd", "--backend", "distributed",
                                            "--steps", "50", "--max-delay", "3", "--out", "{T}/a")),
    Case("run --no-instrument on reference", (*RUN, "--no-instrument", "--out", "{T}/a")),
    Case("run --steps too large for memory", ("run", "hogwild_sgd", "--steps", "10000000000000",
                                              "--out", "{T}/a")),
    Case("run --seeds too large for memory", (*RUN[:2], "--steps", "100000", "--seeds",
                                              "100000000", "--out", "{T}/a")),
    Case("run --dim too large for memory", (*RUN, "--dim", "10000000", "--out", "{T}/a")),
    Case("run --steps 0", ("run", "hogwild_sgd", "--steps", "0", "--out", "{T}/a")),
    Case("run --lr -1", (*RUN, "--lr", "-1", "--out", "{T}/a")),
    Case("run unknown algorithm", ("run", "hogwild", "--steps", "5", "--out", "{T}/a")),
    Case("run --backend mpi", (*RUN, "--backend", "mpi", "--out", "{T}/a")),
    Case("run into a verify result", (*RUN, "--out", "{V}")),
    Case("run --out is a file", (*RUN, "--out", "{F}")),
    Case("run --out under a file", (*RUN, "--out", "{F}/sub")),
    Case("run --out unwritable", (*RUN, "--out", "/proc/asyncbound-out")),
    Case("run --out locked by a live command", (*RUN, "--out", "{L}")),
    Case("verify --only matching nothing into a result", ("verify", "--only", "zzz", "--out", "{V}")),
    Case("verify into a run's trace", ("verify", "--only", ONE_CHECK, "--out", "{R}")),
    Case("verify --backend gpu", ("verify", "--backend", "gpu", "--out", "{T}/b")),
    Case("verify --workers 0", ("verify", "--workers", "0", "--out", "{T}/b")),
    Case("verify --out unwritable", ("verify", "--out", "/proc/asyncbound-out")),
    Case("verify --out locked", ("verify", "--only", ONE_CHECK, "--out", "{L}")),
    Case("check: nothing left on distributed", ("check", "{VAR_ok}", "--backend", "distributed",
                                               "--out", "{T}/c")),
    Case("check: invalid PROBLEM", ("check", "{VAR_problem}", "--out", "{T}/c")),
    Case("check: invalid DELAY", ("check", "{VAR_delay}", "--out", "{T}/c")),
    Case("check: rule factory raises", ("check", "{VAR_rule}", "--out", "{T}/c")),
    Case("check: file shadows a std module (processes)", ("check", "{VAR_json}", "--backend",
                                                          "processes", "--out", "{T}/c")),
    Case("check: missing file", ("check", "{T}/nope.py", "--out", "{T}/c")),
    Case("check --out unwritable", ("check", "{VAR_ok}", "--out", "/proc/asyncbound-out")),
    Case("report: record nested too deeply", ("report", "{D}", "--out", "{T}/r.html")),
    Case("report: missing directory", ("report", "{T}/nope")),
    Case("bench: unknown benchmark", ("bench", "no_such_bench")),
    Case("theory show: unknown key", ("theory", "show", "no/such")),
)

_VARIANT = """from asyncbound.implementations.registry import AlgorithmSpec
from asyncbound.implementations.rules import sgd
{extra}
def rule(*, lr):
    {body}
ALGORITHM = AlgorithmSpec(name="{name}", rule=rule, pattern="full", defaults={{"lr": 0.05}},
                          backends=("reference", "processes"),
                          bounds=("classic_delayed_sgd/nonconvex",))
"""


def make_fixtures(root: Path, cli) -> dict:
    """Build the scratch tree the cases refer to; ``cli(argv) -> (rc, stderr)`` runs a command."""
    root.mkdir(parents=True, exist_ok=True)
    fx = {"T": str(root / "t"), "R": str(root / "R"), "V": str(root / "V"), "F": str(root / "F"),
          "L": str(root / "L"), "D": str(root / "D")}
    Path(fx["T"]).mkdir(exist_ok=True)
    Path(fx["F"]).write_text("a file, not a directory\n")
    rc, err = cli([*RUN, "--out", fx["R"]])
    assert rc == 0, err
    rc, err = cli(["verify", "--only", ONE_CHECK, "--no-studies", "--out", fx["V"]])
    assert rc == 0, err
    lock = Path(fx["L"])
    lock.mkdir(exist_ok=True)
    # a lock held by a live process: this one (its pid stays alive for the whole probe)
    (lock / ".asyncbound.lock").write_text(f"pid={os.getpid()}\nhost={os.uname().nodename}\n")
    deep = Path(fx["D"]) / "records"
    deep.mkdir(parents=True, exist_ok=True)
    (deep / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    variants = {
        "ok": ("", "return sgd(lr=lr)"),
        "problem": ("PROBLEM = 'no_such_problem'", "return sgd(lr=lr)"),
        "delay": ("DELAY = 'uniform:-3'", "return sgd(lr=lr)"),
        "rule": ("", "raise RuntimeError('broken factory')"),
        "json": ("", "return sgd(lr=lr)"),
    }
    vdir = root / "variants"
    vdir.mkdir(exist_ok=True)
    for key, (extra, body) in variants.items():
        stem = "json" if key == "json" else f"reliability_variant_{key}"
        p = vdir / f"{stem}.py"
        p.write_text(_VARIANT.format(extra=extra, body=body, name=f"rel_{key}"))
        fx[f"VAR_{key}"] = str(p)
    Path(fx["VAR_ok"]).write_text(Path(fx["VAR_ok"]).read_text().replace(
        '("reference", "processes")', '("reference",)'))
    return fx


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


def expand(argv, fx: dict) -> list[str]:
    return [a.format(**fx) for a in argv]


def run_case(case: Case, fx: dict, root: Path, cli) -> dict:
    """Run one case; the verdict of each criterion."""
    before = tree_digest(root)
    rc, err = cli(expand(case.argv, fx))
    after = tree_digest(root)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    lost = [p for p in before if p.split(os.sep)[0] in ("R", "V") and after.get(p) != before[p]]
    return {"case": case.name, "rc": rc, "expected": case.code, "stderr": err.strip(),
            "one_line": len(lines) == 1 and lines[0].startswith("asyncbound"),
            "traceback": "Traceback" in err, "changed": before != after, "lost": lost}


def subprocess_cli(argv, timeout=300, cwd=None) -> tuple[int, str]:
    p = subprocess.run([sys.executable, "-m", "asyncbound.checks.cli", *argv],
                       capture_output=True, text=True, timeout=timeout, cwd=cwd)
    return p.returncode, p.stderr


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
PROBE_RUNS = {"reference": ("hogwild_sgd", 0), "processes": ("hogwild_sgd", 0),
              "distributed": ("ps_sgd", 1)}


def kill_parent(sig: int, backend: str, out: Path, *, workers: int = 2, settle: float = 1.5,
                grace: float = 5.0) -> dict:
    """Start a long real run, kill its parent with ``sig`` once its children run, and report
    what survived ``grace`` seconds later (orphans, ports) and how the parent ended."""
    algo, extra_ranks = PROBE_RUNS[backend]
    cmd = [sys.executable, "-m", "asyncbound.checks.cli", "-v", "run", algo, "--backend", backend,
           "--workers", str(workers), "--steps", "400000", "--out", str(out)]
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m asyncbound.checks.reliability",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print the full results as JSON")
    ap.add_argument("--no-faults", action="store_true", help="bad inputs only (no real runs)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="asyncbound-reliability-") as tmp:
        root = Path(tmp)
        fx = make_fixtures(root / "scratch", subprocess_cli)
        bad = [run_case(c, fx, root / "scratch", subprocess_cli) for c in CASES]
        faults, divs, intr = [], [], None
        if not args.no_faults:
            spawning = [b for b in PROBE_RUNS if capabilities(b).spawns_workers]
            for backend in spawning:
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
                    faults.append(kill_parent(sig, backend, root / f"k-{backend}-{sig.name}"))
            divs = [diverge(b, root / f"div-{b}") for b in PROBE_RUNS]
            intr = interrupted_verify(Path(fx["V"]))
    totals = {
        "bad inputs tried": len(bad),
        "clean one-line errors": sum(r["one_line"] and r["rc"] == r["expected"] and not r["changed"]
                                     for r in bad),
        "tracebacks": sum(r["traceback"] for r in bad),
        "results lost": sum(bool(r["lost"]) for r in bad) + (len(intr["lost"]) if intr else 0),
        "faults injected": len(faults),
        "orphans": sum(f["orphans"] for f in faults),
        "ports left open": sum(len(f["open_ports"]) for f in faults),
        "divergences seen (exit 3)": f"{sum(d['rc'] == 3 for d in divs)} of {len(divs)}",
    }
    if args.json:
        print(json.dumps({"totals": totals, "bad_inputs": bad, "faults": faults,
                          "divergence": divs, "interrupted_verify": intr}, indent=1))
    else:
        for r in bad:
            ok = r["one_line"] and r["rc"] == r["expected"] and not r["changed"]
            print(f"{'ok ' if ok else 'BAD'} rc={r['rc']:<3} {r['case']}: {r['stderr'][:110]}")
        for f in faults:
            print(f"kill {f['signal']:7} {f['backend']:11} rc={f['rc']} children={f['children']} "
                  f"orphans={f['orphans']} ports={f['ports']} open={f['open_ports']} "
                  f"partial complete={f['meta_complete']} cause={f['cause']}")
        for d in divs:
            print(f"diverge {d['backend']:11} rc={d['rc']} complete={d['complete']} {d['error']}")
        if intr:
            print(f"interrupted verify: rc={intr['rc']} lost={len(intr['lost'])} "
                  f"partial={intr['partial']} status={intr['status']}")
        print()
        for k, v in totals.items():
            print(f"{k}: {v}")
    bad_total = totals["tracebacks"] + totals["results lost"] + totals["orphans"]
    return 0 if bad_total == 0 and totals["clean one-line errors"] == len(bad) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
