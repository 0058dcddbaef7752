"""Shared pieces of the paper studies: loss curves, time to target, the study record.

A study record is an ordinary ``asyncbound.record/1`` (CONTRACTS §9) with ``test = "study"``,
``bound.key = "<paper>/<claim>"``, no kind and no provenance (a study is not a theorem: the
number is the paper's reported experiment, said in ``bound.notes``), plus ``paper_claim``: the claim in words, the
paper's number, ours, and the rule that turns ours into the verdict (which can FAIL).
"""

from __future__ import annotations

import math

import numpy as np
from asyncbound.checks import measure


def curve(trace, time_column: str = "wall_time") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(updates applied, mean loss over seeds, mean time) at the evaluated updates."""
    df = measure.as_frame(trace)
    ev = df[np.isfinite(df["loss"])]
    g = ev.groupby("update").agg(loss=("loss", "mean"), t=(time_column, "mean"))
    return g.index.to_numpy() + 1, g["loss"].to_numpy(), g["t"].to_numpy()


def first_below(x: np.ndarray, f: np.ndarray, target: float) -> float | None:
    """The first x at which f <= target (None: never)."""
    hit = np.nonzero(np.asarray(f) <= target)[0]
    return float(x[hit[0]]) if len(hit) else None


def ratio(a, b) -> float | None:
    return a / b if (a is not None and b is not None and b > 0) else None


def study_record(*, study: str, paper: str, claim: str, algorithm: str, backend: str, problem: str,
                 workers: int, verdict: str, reason: str, ours: float | None, paper_value,
                 rule: str, config: dict, details: dict, source: str, **extra) -> dict:
    ours_f = float(ours) if ours is not None and math.isfinite(ours) else None
    return {
        "check_id": f"paper--{study}", "test": "study", "algorithm": algorithm, "backend": backend,
        "problem": problem, "workers": workers, "verdict": verdict, "reason": reason,
        "bound": {"key": f"{paper}/{study}", "paper": source, "source": source,
                  "metric": claim, "metric_id": "study",
                  "notes": "an empirical claim of the paper; its number as reported there"},
        "measured": {"value": ours_f, "n_seeds": len(config.get("seeds", [0]))},
        "paper_claim": {"claim": claim, "paper_value": paper_value, "ours": ours_f, "rule": rule},
        "config": config, "study": details, **extra,
    }
