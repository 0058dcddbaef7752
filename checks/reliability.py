"""Reliability probe of the command line (issue 14): ``python -m asyncbound.checks.reliability``.

Drives the real ``asyncbound`` command (a subprocess per case, as a user would) through

- a **bad-input table** (:data:`CASES`): each case must end with its expected exit code, one
  line on stderr, no traceback, and nothing changed on disk (every file under the scratch
  directory is hashed before and after);
- **fault injection** (:func:`kill_parent`, in :mod:`.reliability_faults` with the other probes): the parent of a ``processes`` or ``distributed``
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
import json
import os
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from asyncbound.checks.reliability_faults import (
    PROBE_RUNS,
    diverge,
    interrupted_verify,
    kill_parent,
    subprocess_cli,
    tree_digest,
)
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
