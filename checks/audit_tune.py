"""``asyncbound audit --tune``: theory-guided step sizes, tried on the run's own interleaving.

Each distinct step a claimed theorem prescribes (``prescribed_lr`` of the audit's theorems, at
most :data:`MAX_TUNE_RUNS` of them) is replayed on the reference backend with the recorded
interleaving (only eta changes), and the updates to a target loss are compared with the
original step's. Target: f_K + TARGET_FRACTION (f_0 - f_K) of the original's replayed mean loss
(90% of its decrease); seconds are estimated with the original run's seconds per update.
"""

from __future__ import annotations

from asyncbound.checks import audit_measure as am

TARGET_FRACTION = 0.1  # target = f_K + 0.1 (f_0 - f_K)
MAX_TUNE_RUNS = 4  # distinct prescribed steps replayed by --tune


def tune_steps(trace, problem, full, theorems: list[dict], lr: float) -> dict:
    """Replays with each distinct prescribed step; updates (and seconds) to the target loss."""
    from asyncbound.implementations.backends import replay

    u, f = am.loss_curve(full)
    import torch

    f0 = float(problem.loss(torch.as_tensor(trace.x0, dtype=problem.dtype)).mean())
    target = float(f[-1] + TARGET_FRACTION * (f0 - f[-1]))
    K = int(trace.columns["update"].max()) + 1
    el = trace.meta.get("elapsed_s")
    spu = float(el) / K if el else None

    def row(run_lr, tr, keys):
        n = am.updates_to_target(tr, target)
        _, ff = am.loss_curve(tr)
        return {"lr": run_lr, "bounds": keys, "updates_to_target": n,
                "seconds_to_target_est": n * spu if (n is not None and spu) else None,
                "final_loss": float(ff[-1]) if len(ff) else None}

    steps: dict[float, list[str]] = {}
    for t in theorems:
        p = t.get("prescribed_lr")
        if p:
            steps.setdefault(float(f"{p:.6g}"), []).append(t["key"])
    runs = []
    for s, keys in sorted(steps.items())[:MAX_TUNE_RUNS]:
        tr = replay(trace, problem=problem, steps=K, lr=s, eval_every=max(1, K // 50))
        runs.append(row(s, tr, keys))
    orig = row(lr, full, ["(original)"])
    for r in runs:
        a, b = orig["updates_to_target"], r["updates_to_target"]
        r["speedup_vs_original"] = a / b if (a and b) else None
    return {"target_loss": target, "target_rule": f"f_K + {TARGET_FRACTION} (f_0 - f_K) of the original",
            "seconds_per_update": spu, "original": orig, "runs": runs,
            "note": "replays of the recorded interleaving on the reference backend; only eta changes"}
