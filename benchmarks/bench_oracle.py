"""Oracle power and false alarms (a benchmark, not a timed test).

    python benchmarks/bench_oracle.py --batches 10 [--alpha A]

For each planted bug of tests/checks/planted_oracle.py: the fraction of independent seed
batches (base seeds 1000 + b) in which the oracle check alone says FAIL; for the suite's oracle
checks of the correct linear algorithms: the number of FAILs (false alarms) and the rejection
rate at a loose level (alpha = 0.05, where a calibrated test rejects at most 5% of batches), and
the oracle's cost against the run's. Output: one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    import pytest
    from asyncbound.checks.engine import run_check
    from asyncbound.checks.stats import ALPHA_SINGLE
    from asyncbound.checks.suite import build_suite
    from asyncbound.implementations.registry import ALGORITHMS

    from tests.checks import planted_oracle as planted

    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--alpha", type=float, default=ALPHA_SINGLE)
    ap.add_argument("--loose-alpha", type=float, default=0.05)
    args = ap.parse_args(argv)
    suite = [s for s in build_suite("quick") if s.test == "oracle"]
    out = {"alpha": args.alpha, "batches": args.batches, "bugs": {}, "correct": {}}
    by_algo = {s.algorithm_name: s for s in suite if not s.label}

    def batch_verdicts(spec):
        return [run_check(replace(spec, base_seed=1000 + b), args.alpha)
                for b in range(args.batches)]

    for name, bug in planted.KERNEL_BUGS.items():
        ALGORITHMS[bug.name] = bug
        base = by_algo["hogwild_sgd"]
        recs = batch_verdicts(replace(base, algorithm=bug.name))
        ALGORITHMS.pop(bug.name)
        out["bugs"][name] = np.mean([r["verdict"] == "FAIL" for r in recs])
    for name, (patch, algo) in planted.SYSTEM_BUGS.items():
        with pytest.MonkeyPatch.context() as mp:
            patch(mp)
            recs = batch_verdicts(by_algo[algo])
        out["bugs"][name] = np.mean([r["verdict"] == "FAIL" for r in recs])
    for spec in suite:
        recs = batch_verdicts(spec)
        loose = [run_check(replace(spec, base_seed=1000 + b), args.loose_alpha)["verdict"] == "FAIL"
                 for b in range(args.batches)]
        out["correct"][spec.check_id] = {
            "false_fail": int(sum(r["verdict"] == "FAIL" for r in recs)),
            "reject_rate_at_loose_alpha": float(np.mean(loose)),
            "oracle_cost_s": float(np.median([r["oracle"]["cost_s"] for r in recs])),
            "run_cost_s": float(np.median([r["oracle"]["run_cost_s"] for r in recs]))}
    out["bugs"] = {k: float(v) for k, v in out["bugs"].items()}
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
