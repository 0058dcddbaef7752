"""Regenerate ``results.py``: ``python -m asyncbound.theory.crosscheck.generate [--grid full]``.

Runs ``crosscheck`` on every derived bound and writes the summary (status, worst ratio and where,
SDP count, time) with the date, the grid and the software versions as the module constant
``STORED``; ``theory show`` and the report read it without the extra.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import multiprocessing
import pprint
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from pathlib import Path

from asyncbound.theory.crosscheck import crosscheck_bound, grid_text

#: remarks the table carries next to a status (what the exact worst case showed)
REMARKS = {
    "classic_delayed_sgd/strongly_convex":
        "valid but loose in the rate: the exact worst case decays like (1 - eta mu)^(2K), the "
        "bound like (1 - eta mu)^K (see the theory module)",
    "nadiradze2021/strongly_convex_sigma":
        "valid but loose in the rate: per step the bound contracts by 1 - eta mu (3/2 - 2 L eta), "
        "the exact worst case at tau = 0 by (1 - eta mu)^2 (see the theory module)",
    "nadiradze2021/nonconvex_M":
        "with M bounding ||grad f|| at every iterate (the toolkit's reading and estimator); "
        "with M over evaluated gradients only the bound is invalid (issue 18)",
}


def markdown_table(stored: dict) -> str:
    """The README's table of the stored results."""
    lines = ["| bound | status | worst case / bound | where | SDPs | max solver gap | time |",
             "|---|---|---|---|---|---|---|"]
    for key, r in stored["bounds"].items():
        gap = r.get("max_solver_gap")
        lines.append(f"| `{key}` | {r['status']} | {r['worst_ratio']:.4f} | {r['worst_at']} | "
                     f"{r['n_sdp']} | {'-' if gap is None else f'{gap:.0e}'} | {r['seconds']:.0f} s |")
    lines.append(f"\nGrid ({stored['grid_name']}, {stored['date']}; {stored['software']}): "
                 f"{stored['grid']}.")
    return "\n".join(lines)


def _one(key: str, grid: str):
    from asyncbound import theory

    logging.basicConfig(level=logging.INFO)
    return crosscheck_bound(theory.get_bound(key), grid)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", default="full")
    ap.add_argument("--jobs", type=int, default=1, help="bounds solved in parallel processes")
    ap.add_argument("--markdown", action="store_true",
                    help="only print the stored table as markdown (for the README)")
    args = ap.parse_args(argv)
    if args.markdown:
        from asyncbound.theory.crosscheck.results import STORED

        print(markdown_table(STORED))
        return 0
    if args.jobs < 1:
        ap.error(f"--jobs must be >= 1, got {args.jobs}")
    logging.basicConfig(level=logging.INFO)
    from asyncbound.theory.crosscheck.cases import cases

    keys = list(cases())
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=ctx) as pool:
        summaries = list(pool.map(_one, keys, [args.grid] * len(keys)))
    rows = {}
    for s in summaries:
        d = s.as_dict()
        rows[s.key] = {"status": d["status"], "worst_ratio": round(d["worst_ratio"], 4),
                       "worst_at": d["worst_at"], "n_sdp": d["n_sdp"], "unsolved": d["unsolved"],
                       "max_solver_gap": float(f"{d['max_accuracy']:.1e}"),
                       "seconds": d["seconds"], "remark": REMARKS.get(s.key, "")}
        logging.info("%s %s %.4f (%d SDPs, %.1f s)", s.key, s.status, d["worst_ratio"],
                     d["n_sdp"], d["seconds"])
    soft = ", ".join(f"{p} {metadata.version(p)}" for p in ("pepit", "cvxpy", "clarabel", "scs"))
    stored = {"date": datetime.date.today().isoformat(), "grid_name": args.grid,
              "grid": grid_text(args.grid), "software": soft, "bounds": rows}
    path = Path(__file__).with_name("results.py")
    path.write_text('"""Stored cross-check table, written by '
                    '``python -m asyncbound.theory.crosscheck.generate``."""\n\n'
                    f"STORED: dict = {pprint.pformat(stored, width=96, sort_dicts=False)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
