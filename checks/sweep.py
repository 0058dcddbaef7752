"""The applicability sweep (issue 17): every shipped, correct algorithm through the admissible
space of every bound it claims, counting PASS / INCONCLUSIVE / NOT_APPLICABLE / DIVERGED / FAIL.
The goal is 0 FAIL: a correct algorithm fails a bound only where the engine accepted a
configuration its theorem does not cover. Every excluded configuration is NOT_APPLICABLE with
its reason, and the report groups them by reason.

Space (:func:`configurations`): for each registered algorithm and each bound it claims (a bound
decided by its partner's measurement, ``suite.SAME_MEASUREMENT``, once), every problem setting of
:data:`PROBLEMS` (noise 0 and high noise, condition numbers 1 to 100, the regression, projected,
nonsmooth and network problems), every delay family of :data:`DELAYS` (``none`` only, for a
synchronous algorithm), and a step fraction from :data:`FRACTIONS` (up to 1), cycled so that the
product of problems x delays sees every fraction. The rest of each configuration is the quick
suite's for that bound (``suite.spec_for``) with the run shortened to ``steps``, except for
ASYMPTOTIC bounds: their finite-run proxies (a slope, a shrinking stationarity) are calibrated
for the suite's horizon, and a shorter run measures the transient instead (PASSM at 400 updates
sits at its noise floor, stationarity ratio 1.2 [0.87, 1.48] with 64 seeds; at 2000, 0.23).

Decisions use sequential looks (``CheckSpec.looks``, Bonferroni across looks) on the reference
backend. ``--budget-s`` stops the sweep when spent; configurations not run are counted.

    python -m asyncbound.checks.sweep [--steps 400] [--seeds 8] [--looks 3] [--budget-s 600]
                                      [--out sweep.json] [--algorithms a,b]
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import logging
import sys
import time
from dataclasses import replace

log = logging.getLogger(__name__)

#: problem settings: (name, options)
PROBLEMS: tuple[tuple[str, dict], ...] = (
    ("quadratic", {"cond": 1.0, "sigma": 0.0}),
    ("quadratic", {"cond": 10.0, "sigma": 0.1}),
    ("quadratic", {"cond": 100.0, "sigma": 1.0, "dim": 50}),
    ("least_squares", {}),
    ("logistic", {}),
    ("logistic_box", {}),
    ("l1_least_squares", {}),
    ("hinge", {}),
    ("relu_net", {}),
    ("mlp", {}),
)
DELAYS = ("constant:4", "uniform:8", "geometric:0.5")
FRACTIONS = (0.25, 0.5, 1.0)
#: algorithms that are bugs on purpose, or variants built by the checks: never swept
EXCLUDE_PREFIXES = ("planted_",)
EXCLUDE_SUFFIXES = ("__poly",)


def _shipped() -> list:
    from asyncbound.implementations.registry import ALGORITHMS

    return [a for a in ALGORITHMS.values() if not a.name.startswith(EXCLUDE_PREFIXES)
            and not a.name.endswith(EXCLUDE_SUFFIXES)]


def configurations(*, steps: int = 400, seeds: int = 8, looks: int = 3, algorithms=None) -> list:
    """The CheckSpecs of the sweep (see the module docstring)."""
    from asyncbound.checks import suite

    from asyncbound import theory

    algos = [a for a in _shipped() if algorithms is None or a.name in algorithms]
    specs, i = [], 0
    for algo in algos:
        claimed = list(algo.bounds)
        for key in claimed:
            if suite.SAME_MEASUREMENT.get(key) in claimed:
                continue
            base = suite.spec_for(algo.name, key, suite="quick")
            asymptotic = str(getattr(theory.get_bound(key).kind, "value", "")).upper() == "ASYMPTOTIC"
            horizon = base.steps if asymptotic else min(base.steps, steps)
            delays = ("none",) if algo.pattern == "sync" else DELAYS
            for problem, opts in PROBLEMS:
                for delay in delays:
                    frac = FRACTIONS[i % len(FRACTIONS)]
                    i += 1
                    label = f"{problem}{''.join(f'-{k}{v:g}' for k, v in opts.items())}-{delay}-f{frac:g}"
                    specs.append(replace(base, problem=problem, problem_options=dict(opts), delay=delay,
                                         lr=None, lr_fraction=frac, seeds=seeds, looks=looks,
                                         steps=horizon, label=label))
    return specs


@functools.cache
def _problem(name: str, seed: int, options: tuple):
    from asyncbound.implementations.problems import get_problem

    return get_problem(name, seed=seed, **dict(options))


def _cached_load(check):
    return _problem(check.problem, check.base_seed, tuple(sorted(dict(check.problem_options).items())))


def run(specs, *, budget_s: float = 600.0, alpha: float | None = None) -> dict:
    """Run ``specs`` until done or ``budget_s`` is spent; the summary (totals, reasons, FAILs)."""
    from asyncbound.checks import planning
    from asyncbound.checks.engine import run_check
    from asyncbound.checks.stats import ALPHA_SINGLE

    alpha = ALPHA_SINGLE if alpha is None else alpha
    t0 = time.perf_counter()
    totals: collections.Counter = collections.Counter()
    excluded: collections.Counter = collections.Counter()
    rows, not_run = [], 0
    original = planning.load_problem
    planning.load_problem = _cached_load  # the problems are rebuilt per check otherwise (FISTA, Newton)
    try:
        for spec in specs:
            if time.perf_counter() - t0 > budget_s:
                not_run += 1
                continue
            try:
                rec = run_check(spec, alpha)
            except ValueError as exc:  # a configuration the problem or algorithm refuses
                rec = {"verdict": "NOT_APPLICABLE", "reason": f"refused up front: {exc}"}
            v = rec.get("verdict", "NOT_APPLICABLE")
            totals[v] += 1
            if v == "NOT_APPLICABLE":
                excluded[_reason_class(rec.get("reason", ""))] += 1
            rows.append({"check_id": spec.check_id, "algorithm": spec.algorithm_name, "bound": spec.bound,
                         "problem": spec.problem, "problem_options": spec.problem_options,
                         "delay": spec.delay, "lr_fraction": spec.lr_fraction, "verdict": v,
                         "ratio": rec.get("ratio"), "reason": rec.get("reason", ""),
                         "plan_notes": rec.get("plan_notes")})
    finally:
        planning.load_problem = original
    return {"configurations": len(specs), "run": len(rows), "not_run_budget": not_run,
            "totals": dict(totals), "excluded_by_reason": dict(excluded.most_common()),
            "fails": [r for r in rows if r["verdict"] == "FAIL"], "rows": rows,
            "elapsed_s": time.perf_counter() - t0}


def _reason_class(reason: str) -> str:
    """The reason without its numbers: groups the NOT_APPLICABLE exclusions."""
    reason = reason.split(" [sequential:")[0]
    head = reason.split(":")[0] if reason else "no reason"
    for key in ("outside the algorithm class", "certified on the ball", "grow with the horizon",
                "left every bounded set", "side condition not met", "assumption not certified",
                "stability threshold", "refused up front"):
        if key in reason:
            detail = ""
            if key == "assumption not certified":
                detail = " (" + (reason.split("no value for")[-1].strip() if "no value for" in reason
                                 else reason.split(":", 1)[-1].split(":")[0].strip()) + ")"
            elif key == "outside the algorithm class":
                detail = " (projection)" if "project" in reason else " (options)"
            elif key == "side condition not met":
                detail = " (" + reason.split(":", 1)[-1].split("(")[0].strip() + ")"
            return key + detail
    return head[:80]


def report(summary: dict) -> str:
    t = summary["totals"]
    lines = [f"configurations {summary['configurations']}, run {summary['run']}, not run (budget) "
             f"{summary['not_run_budget']}, {summary['elapsed_s']:.0f} s",
             "totals: " + ", ".join(f"{k} {t.get(k, 0)}" for k in
                                    ("PASS", "INCONCLUSIVE", "NOT_APPLICABLE", "DIVERGED", "FAIL")),
             "excluded (NOT_APPLICABLE) by reason:"]
    lines += [f"  {n:5d}  {r}" for r, n in summary["excluded_by_reason"].items()]
    for r in summary["fails"]:
        lines.append(f"FAIL {r['check_id']} ({r['problem']} {r['problem_options']} {r['delay']} "
                     f"f={r['lr_fraction']}): {r['reason'][:300]}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m asyncbound.checks.sweep", description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--looks", type=int, default=3)
    p.add_argument("--budget-s", type=float, default=600.0)
    p.add_argument("--algorithms", default=None, help="comma-separated registry names (default: all shipped)")
    p.add_argument("--out", default=None, help="write the summary (every row) as JSON here")
    args = p.parse_args(argv)
    for name, v in (("steps", args.steps), ("seeds", args.seeds), ("looks", args.looks)):
        if v < 1:
            sys.stderr.write(f"sweep: error: --{name} must be >= 1, got {v}\n")
            return 2
    logging.basicConfig(level=logging.ERROR)
    algos = set(args.algorithms.split(",")) if args.algorithms else None
    if algos:
        unknown = algos - {a.name for a in _shipped()}
        if unknown:
            sys.stderr.write(f"sweep: error: unknown algorithms {sorted(unknown)}\n")
            return 2
    specs = configurations(steps=args.steps, seeds=args.seeds, looks=args.looks, algorithms=algos)
    summary = run(specs, budget_s=args.budget_s)
    sys.stdout.write(report(summary) + "\n")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(summary, fh, indent=1, default=str)
    return 1 if summary["totals"].get("FAIL") else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
