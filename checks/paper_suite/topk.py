"""Nadiradze et al. (elastic consistency, arXiv:2001.05918): error feedback "may not necessarily
help" sparsified asynchronous SGD on CNNs.

Here: ``async_topk`` (no EF) and ``async_topk_ef`` on the digits CNN, reference backend, the
same seeds, delay schedule (``uniform:T``), step and horizon, at several densities k/d. Reported
side by side: final training loss and test accuracy (mean over seeds), and which one won.

Verdict on the claim's shape: PASS when at some density the run without EF is at least as good
as the run with it (final loss within ``TIE_RTOL`` of EF's, or lower): EF was not necessary
there. FAIL when EF wins clearly at every density (the claim would then be contradicted here).
Deviation from the paper: an 8x8-digits CNN (d = 2618) instead of ResNets on CIFAR-10.
"""

from __future__ import annotations

import torch
from asyncbound.checks.paper_suite.common import curve, study_record

SOURCE = "Nadiradze et al., elastic consistency, arXiv:2001.05918 (sparsified async SGD, CNNs)"
TIE_RTOL = 0.05  # within 5% of EF's final loss counts as "EF did not help"
DEFAULT = dict(problem="digits_cnn", ratios=(0.01, 0.05, 0.25), steps=800, lr=0.1, workers=4,
               delay="uniform:4", eval_every=50, seeds=[0, 1])


def run_study(config: dict | None = None, progress=None) -> dict:
    cfg = {**DEFAULT, **(config or {})}
    from asyncbound.implementations.backends import run
    from asyncbound.implementations.problems import get_problem

    problem = get_problem(cfg["problem"], seed=cfg["seeds"][0])
    rows = []
    for ratio in cfg["ratios"]:
        res = {}
        for algo in ("async_topk", "async_topk_ef"):
            tr = run(algo, problem, cfg["delay"], cfg["steps"], cfg["seeds"], workers=cfg["workers"],
                     lr=cfg["lr"], eval_every=cfg["eval_every"], ratio=ratio)
            _, f, _ = curve(tr)
            x = torch.as_tensor(tr.final_params, dtype=problem.dtype)
            acc = float(problem.accuracy(x).mean()) if hasattr(problem, "accuracy") else None
            res[algo] = {"final_loss": float(f[-1]), "test_accuracy": acc}
            if progress:
                progress(f"  topk study: ratio={ratio} {algo}: loss {f[-1]:.4f}, accuracy {acc}")
        no, ef = res["async_topk"], res["async_topk_ef"]
        winner = "no EF" if no["final_loss"] < ef["final_loss"] else "EF"
        rows.append({"ratio": ratio, "no_ef": no, "ef": ef, "winner": winner,
                     "ef_not_needed": no["final_loss"] <= ef["final_loss"] * (1 + TIE_RTOL)})
    not_needed = [r["ratio"] for r in rows if r["ef_not_needed"]]
    verdict = "PASS" if not_needed else "FAIL"
    txt = "; ".join(f"k/d={r['ratio']:g}: loss {r['no_ef']['final_loss']:.3g} (no EF) vs {r['ef']['final_loss']:.3g} "
                    f"(EF), accuracy {r['no_ef']['test_accuracy']:.3f} vs {r['ef']['test_accuracy']:.3f}, "
                    f"{r['winner']} won" for r in rows)
    reason = (txt + (f". EF was not needed at k/d = {', '.join(f'{q:g}' for q in not_needed)}: consistent with "
                     "the paper ('may not necessarily help')." if not_needed else
                     ". EF won clearly at every density: the claim is not reproduced here."))
    gaps = [r["no_ef"]["final_loss"] / r["ef"]["final_loss"] for r in rows if r["ef"]["final_loss"] > 0]
    return study_record(
        study="topk_ef", paper="nadiradze2021", claim="error feedback may not necessarily help async top-k SGD",
        algorithm="async_topk", backend="reference", problem=cfg["problem"], workers=cfg["workers"],
        verdict=verdict, reason=reason, ours=min(gaps) if gaps else None,
        paper_value="EF not needed for convergence on CNNs (qualitative)",
        rule=f"PASS if at some density loss(no EF) <= (1 + {TIE_RTOL}) loss(EF); ours = min ratio loss(no EF)/loss(EF)",
        config={k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()},
        details={"table": rows}, source=SOURCE)
