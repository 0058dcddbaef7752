"""Measure the false-alarm rate: run the CORRECT algorithms' checks over independent seed batches
and count how often a check FAILs. ``python -m asyncbound.checks.false_alarm --batches 20 [--first 1] [--out FILE]``; batches
``first .. first + batches - 1`` (so two processes can share the work: ``--first 1`` and
``--first 21``), and ``--merge A.json B.json ...`` adds up such runs into one result.

Each batch shifts every check's base seed (new problem instance, new starting points, new noise,
new delays), so batches are independent replicates of the whole suite. The suite is designed for a
family-wise false-alarm probability of at most ``ALPHA_SUITE`` per run (Bonferroni); this measures
it, with a Clopper-Pearson upper bound on the per-suite-run rate.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace

from asyncbound.checks import records, stats, suite
from asyncbound.checks.engine import run_check
from asyncbound.checks.verdicts import FAILING, Verdict


def measure(n_batches: int = 10, *, suite_name: str = "quick", seed_stride: int = 1000,
            only: str | None = None, progress=None, first: int = 1) -> dict:
    specs = suite.build_suite(suite_name)
    if only:
        specs = [s for s in specs if only in s.check_id]
    alpha = stats.per_check_alpha(stats.n_statistical(specs))
    per_check: dict[str, dict] = {}
    runs_with_failure = 0
    t0 = time.perf_counter()
    for b in range(first, first + n_batches):
        failed_here = []
        for s in specs:
            sb = replace(s, base_seed=s.base_seed + b * seed_stride)
            try:
                rec = run_check(sb, alpha)
            except Exception as exc:  # noqa: BLE001 - counted, not fatal
                rec = {"verdict": "INCONCLUSIVE", "reason": f"crashed: {exc}"}
            v = rec["verdict"]
            c = per_check.setdefault(s.check_id, {v2: 0 for v2 in records.VERDICTS})
            c[v] += 1
            if Verdict(v) in FAILING:
                failed_here.append((s.check_id, rec.get("reason")))
        runs_with_failure += bool(failed_here)
        if progress is not None:
            progress(f"batch {b} ({b - first + 1}/{n_batches}): {len(failed_here)} failing checks "
                     f"({time.perf_counter() - t0:.0f}s) {failed_here[:3]}")
    return summarize(suite_name, n_batches, len(specs), alpha, per_check, runs_with_failure,
                     time.perf_counter() - t0, batches_run=[first, first + n_batches - 1])


def summarize(suite_name, n_batches, checks_per_batch, alpha, per_check, runs_with_failure,
              duration_s, batches_run) -> dict:
    """The result dict (rates with Clopper-Pearson upper bounds) of per-check verdict counts."""
    n_checks = checks_per_batch * n_batches
    n_fail = sum(c["FAIL"] + c["DIVERGED"] for c in per_check.values())
    return {
        "suite": suite_name, "batches": n_batches, "batches_run": batches_run,
        "checks_per_batch": checks_per_batch,
        "alpha_per_check": alpha, "alpha_suite": stats.ALPHA_SUITE,
        "check_runs": n_checks, "failing_check_runs": n_fail,
        "per_check_false_alarm_rate": n_fail / n_checks if n_checks else None,
        "per_check_rate_upper95": stats.clopper_pearson_upper(n_fail, n_checks, 0.05),
        "suite_runs_with_a_failure": runs_with_failure,
        "suite_false_alarm_rate": runs_with_failure / n_batches,
        "suite_rate_upper95": stats.clopper_pearson_upper(runs_with_failure, n_batches, 0.05),
        "per_check": per_check, "duration_s": duration_s,
    }


def merge(results: list[dict]) -> dict:
    """One result from runs of the same suite over disjoint batch ranges."""
    if not results:
        raise ValueError("nothing to merge")
    first = results[0]
    for r in results[1:]:
        if (r["suite"], r["checks_per_batch"]) != (first["suite"], first["checks_per_batch"]):
            raise ValueError("runs of different suites cannot be merged")
    ranges = sorted(tuple(r["batches_run"]) for r in results)
    for (_, hi), (lo, _) in zip(ranges[:-1], ranges[1:], strict=True):
        if lo <= hi:
            raise ValueError(f"batch ranges overlap: {ranges}")
    per_check: dict[str, dict] = {}
    for r in results:
        for cid, counts in r["per_check"].items():
            acc = per_check.setdefault(cid, {v: 0 for v in records.VERDICTS})
            for v, n in counts.items():
                acc[v] = acc.get(v, 0) + n
    return summarize(first["suite"], sum(r["batches"] for r in results), first["checks_per_batch"],
                     first["alpha_per_check"], per_check,
                     sum(r["suite_runs_with_a_failure"] for r in results),
                     sum(r["duration_s"] for r in results), [list(x) for x in ranges])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m asyncbound.checks.false_alarm")
    p.add_argument("--batches", type=int, default=10)
    p.add_argument("--suite", default="quick")
    p.add_argument("--only", default=None)
    p.add_argument("--first", type=int, default=1, help="first batch number (default 1)")
    p.add_argument("--merge", nargs="+", default=None, metavar="RESULT.json",
                   help="add up earlier results (disjoint batch ranges) instead of running")
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    if a.batches < 1 or a.first < 1:
        print(f"error: --batches and --first must be >= 1, got {a.batches}, {a.first}", file=sys.stderr)
        return 2
    if a.merge:
        try:
            res = merge([json.loads(open(f).read()) for f in a.merge])
        except (OSError, ValueError, KeyError) as exc:
            print(f"error: cannot merge: {exc}", file=sys.stderr)
            return 2
    else:
        import torch

        torch.set_num_threads(1)
        res = measure(a.batches, suite_name=a.suite, only=a.only, first=a.first,
                      progress=lambda line: print(line, file=sys.stderr, flush=True))
    text = json.dumps(records.jsonable(res), indent=1)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text)
    print(json.dumps({k: v for k, v in records.jsonable(res).items() if k != "per_check"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
