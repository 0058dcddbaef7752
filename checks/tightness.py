"""Tightness of the derived bounds, measured by the worst-case search (issue 12; a benchmark
script, not a test).

    python -m asyncbound.checks.tightness [--profile full] [--only SUBSTR] [--markdown]

For every shipped bound of provenance ``derived`` with a positive value (measured/bound is
meaningful), run its suite check with the *correct* algorithm (``suite.DEFAULT_ALGORITHM``)
under the search profile and report the worst measured/bound ratio: the deciding run's (fresh
seeds, an unbiased estimate at the worst configuration) and the largest screened one, with the
configuration. A ratio far below 1 everywhere means the bound is loose on the whole searched
space (goal: >= 0.1).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

GOAL = 0.1


def measure(profile: str = "full", only: str | None = None, progress=None) -> list[dict]:
    from asyncbound.checks.engine import run_check
    from asyncbound.checks.stats import ALPHA_SINGLE
    from asyncbound.checks.suite import DEFAULT_ALGORITHM, spec_for

    from asyncbound import theory

    rows = []
    for key, bound in theory.BOUNDS.items():
        if bound.provenance != theory.Provenance.DERIVED or theory.is_user_bound(key):
            continue
        if only and only not in key:
            continue
        spec = replace(spec_for(DEFAULT_ALGORITHM.get(key, "hogwild_sgd"), key), search=profile)
        rec = run_check(spec, ALPHA_SINGLE)
        screened = [e for e in rec.get("search", []) if e.get("ratio") is not None
                    and e.get("verdict") not in ("NOT_APPLICABLE", "DIVERGED")]
        top = max(screened, key=lambda e: e["ratio"], default=None)
        rows.append({"bound": key, "algorithm": spec.algorithm_name, "verdict": rec["verdict"],
                     "worst_ratio": rec.get("ratio"), "worst": (rec.get("worst") or {}).get("axes"),
                     "max_screened_ratio": None if top is None else top["ratio"],
                     "configurations": len(rec.get("search", [])),
                     "meets_goal": rec.get("ratio") is not None and rec["ratio"] >= GOAL})
        if progress:
            progress(f"{key}: {rows[-1]['verdict']} worst ratio {rows[-1]['worst_ratio']}")
    return rows


def _g(v) -> str:
    return "—" if v is None else f"{v:.3g}"


def markdown(rows: list[dict]) -> str:
    out = ["| derived bound | algorithm | configs | worst ratio (decided) | max screened | worst configuration |",
           "|---|---|---|---|---|---|"]
    for r in rows:
        w = r["worst"] or {}
        cfg = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in w.items())
        out.append(f"| `{r['bound']}` | {r['algorithm']} | {r['configurations']} | "
                   f"{_g(r['worst_ratio'])}{'' if r['meets_goal'] else ' (< 0.1)'} | "
                   f"{_g(r['max_screened_ratio'])} | {cfg} |")
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m asyncbound.checks.tightness")
    p.add_argument("--profile", default="full", choices=("quick", "full", "thorough"))
    p.add_argument("--only", default=None)
    p.add_argument("--markdown", action="store_true")
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    rows = measure(a.profile, a.only, progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(markdown(rows) if a.markdown else json.dumps(rows, indent=1, default=str))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
