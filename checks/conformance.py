"""Step-level conformance: a variant that says it ``implements`` a registered algorithm is run
side by side with that algorithm and must apply the same update at every step (record field
``test: "conformance"``).

A theorem is about an algorithm box. An ``AlgorithmSpec`` with ``implements="passm"`` (a user's
fused kernel, a re-implemented master, a planted bug) makes a claim that is checkable exactly:

1. the registered algorithm runs on the reference backend with the check's delay model; its
   trace *records* the interleaving (worker, read version, block choices);
2. the variant runs on the same recorded schedule (``ReplayDelay``), the same seeds, hence the
   same starting point and the same noise stream of every worker (CONTRACTS §1), with the same
   hyperparameters (the variant's configuration; the registered algorithm takes the keys its
   rule and pattern accept);
3. the applied updates ``u_k = x_{k+1} - x_k`` of the two runs are compared at every update and
   seed: they must agree to ``CONFORMANCE_RTOL`` (float64 reassociation; a kernel that computes
   the same algorithm in another order passes). The verdict names the first update that
   differs, its seed, worker and block, the coordinates that differ and the sizes.

This generalises replay parity (tests/integration/test_replay_parity.py: a real backend against
its reference replay, where the lock-free tolerance is ``implementations/backends/_tolerance``)
to any implementation of the algorithm.

On a real backend (:func:`check_conformance_real`) the variant runs for real, its interleaving
is recorded, and the *registered* algorithm replays it on the reference backend. A real run
keeps no update vectors (instrumentation stays cheap), so the comparison is on what it records:
the per-update ``||g_k||^2`` (equal while the iterates agree, so the first differing one bounds
the first differing update from above) and the final parameters: exact in locked mode; lock-free
within ``implementations.backends._tolerance.lockfree_replay_tolerance`` (SGD-type steps) and
exact before the first racing update.
"""

from __future__ import annotations

import inspect
import logging
import time

import numpy as np

log = logging.getLogger(__name__)

#: relative agreement of two implementations of the same update, per update: float64 rounding
#: of a reassociated kernel is ~1e-15 of the step and grows at most linearly over a stable run;
#: 1e-9 leaves room for that while any implementation mistake shows at O(1) of the step.
CONFORMANCE_RTOL = 1e-9


def reference_config(variant, registered, options: dict | None = None) -> dict:
    """The variant's hyperparameters, restricted to what the registered algorithm accepts."""
    from asyncbound.implementations.patterns import PATTERN_OPTIONS

    cfg = variant.config(**(options or {}))
    accepted = set(registered.defaults) | set(PATTERN_OPTIONS[registered.pattern])
    try:
        params = inspect.signature(registered.rule).parameters.values()
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            accepted |= {p.name for p in params}
    except (TypeError, ValueError):
        pass
    return {k: v for k, v in cfg.items() if k in accepted}


def compare_updates(u_var: np.ndarray, u_ref: np.ndarray, worker, block, rtol=CONFORMANCE_RTOL):
    """First (update, seed) where ``u_var`` and ``u_ref`` (K, S, d) differ, with the details;
    None when they agree everywhere (and have the same length)."""
    K = min(len(u_var), len(u_ref))
    if K == 0:
        return None if len(u_var) == len(u_ref) else {"update": 0, "why": "one run has no updates"}
    a, b = u_var[:K], u_ref[:K]
    scale = np.abs(b).max(axis=-1, keepdims=True) + np.abs(b).max() * 1e-6
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(a - b) <= rtol * scale)  # NaN counts as a difference
    both_nan = np.isnan(a) & np.isnan(b)
    bad &= ~both_nan
    per_ks = bad.any(axis=-1)
    if not per_ks.any():
        if len(u_var) != len(u_ref):
            return {"update": K, "why": f"the runs stopped after {len(u_var)} and {len(u_ref)} "
                                         "updates (one diverged)"}
        return None
    k = int(np.argmax(per_ks.any(axis=1)))
    s = int(np.argmax(per_ks[k]))
    coords = np.nonzero(bad[k, s])[0]
    blk = block[k]
    blk = int(blk[s]) if isinstance(blk, np.ndarray) else int(blk)
    return {"update": k, "seed": s, "worker": int(worker[k]), "block": blk,
            "coords": [int(coords[0]), int(coords[-1])], "n_coords": int(len(coords)),
            "norm_variant": float(np.linalg.norm(a[k, s])), "norm_reference": float(np.linalg.norm(b[k, s])),
            "norm_difference": float(np.linalg.norm(a[k, s] - b[k, s]))}


def check_conformance(variant, problem, *, delay: str = "uniform:4", steps: int = 300,
                      seeds: int = 4, workers: int = 4, base_seed: int = 0,
                      options: dict | None = None) -> dict:
    """Run ``variant`` and ``variant.implements`` side by side (module docstring); a summary
    dict with ``verdict`` (PASS / FAIL / NOT_APPLICABLE), ``reason`` and ``first_difference``."""
    from asyncbound.checks.lemmas import probe_run
    from asyncbound.implementations.delays import ReplayDelay
    from asyncbound.implementations.registry import get_algorithm
    from asyncbound.implementations.schedule import Schedule

    t0 = time.perf_counter()
    if not getattr(variant, "implements", None):
        return {"verdict": "NOT_APPLICABLE", "reason": f"{variant.name} implements no registered "
                "algorithm: it is checked as a conjecture (its bounds)", "implements": None}
    registered = get_algorithm(variant.implements)
    if registered.name == variant.name:
        return {"verdict": "NOT_APPLICABLE", "implements": registered.name,
                "reason": f"{variant.name} is the registered algorithm itself"}
    ref_cfg = reference_config(variant, registered, options)
    sync = "sync" in (registered.pattern, variant.pattern)
    delay = "none" if sync else delay
    tr_ref, p_ref = probe_run(registered, problem, delay=delay, steps=steps, seeds=seeds,
                              workers=workers, base_seed=base_seed, options=ref_cfg,
                              keep_updates=True)
    replay = delay if sync else ReplayDelay(Schedule.from_trace(tr_ref))
    tr_var, p_var = probe_run(variant, problem, delay=replay, steps=steps, seeds=seeds,
                              workers=workers, base_seed=base_seed, options=options,
                              keep_updates=True)
    diff = compare_updates(p_var.applied_updates(), p_ref.applied_updates(), p_ref.worker,
                           p_ref.block)
    out = {"implements": registered.name, "reference_config": ref_cfg, "delay": delay,
           "steps": steps, "seeds": seeds, "workers": workers, "first_difference": diff,
           "rtol": CONFORMANCE_RTOL, "n_compared": int(min(len(p_var.updates), len(p_ref.updates)) * seeds)}
    if diff is None:
        out.update(verdict="PASS", reason=f"every applied update of {variant.name} equals "
                   f"{registered.name}'s on the same schedule and noise ({steps} updates x "
                   f"{seeds} seeds, rtol {CONFORMANCE_RTOL:g})")
    elif "why" in diff:
        out.update(verdict="FAIL", reason=f"{variant.name} does not conform to {registered.name}: "
                   f"{diff['why']}")
    else:
        out.update(verdict="FAIL", reason=(
            f"{variant.name} does not conform to {registered.name}: first differing update "
            f"{diff['update']} (seed {diff['seed']}, worker {diff['worker']}, block "
            f"{diff['block']}, coordinates {diff['coords'][0]}..{diff['coords'][1]}, "
            f"{diff['n_coords']} of {p_ref.updates[0].shape[-1]}): ||u_variant|| = "
            f"{diff['norm_variant']:.6g}, ||u_reference|| = {diff['norm_reference']:.6g}, "
            f"||difference|| = {diff['norm_difference']:.3g}"))
    out["complete"] = bool(tr_var.complete and tr_ref.complete)
    out["duration_s"] = time.perf_counter() - t0
    return out


def check_conformance_real(variant, problem, *, backend: str = "processes", delay=None,
                           steps: int = 200, seeds: int = 1, workers: int = 2, base_seed: int = 0,
                           options: dict | None = None) -> dict:
    """Conformance of a real-backend run of ``variant`` to the reference replay of the algorithm
    it implements (module docstring). ``options``: ``lock_free=True`` checks a lock-free run
    within the derived tolerance; the default is a locked run, compared exactly."""
    from asyncbound.implementations.backends import _backend_module, replay
    from asyncbound.implementations.backends._tolerance import lockfree_replay_tolerance
    from asyncbound.implementations.registry import get_algorithm

    t0 = time.perf_counter()
    registered = get_algorithm(variant.implements)
    opts = dict(options or {})
    lock_free = bool(opts.pop("lock_free", False))
    ref_cfg = reference_config(variant, registered, opts)
    out = {"implements": registered.name, "backend": backend, "lock_free": lock_free,
           "reference_config": ref_cfg, "steps": steps, "seeds": seeds, "runs": []}
    fail = None
    for i in range(seeds):
        tr = _backend_module(backend).run(variant, problem, delay, steps, [base_seed + i],
                                          workers=workers, lock=not lock_free,
                                          lock_free=lock_free, eval_every=steps, **opts)
        rp = replay(tr, problem=problem, algorithm=registered.name, eval_every=steps,
                    **{k: v for k, v in ref_cfg.items() if k != "lr"}, lr=ref_cfg.get("lr"))
        order = np.argsort(tr.columns["update"], kind="stable")
        real = np.asarray(tr.columns["sgrad_norm_sq"], dtype=np.float64)[order]
        again = np.asarray(rp.columns["sgrad_norm_sq"], dtype=np.float64)[:len(real)]
        diff = float(np.linalg.norm(np.asarray(tr.final_params, dtype=np.float64)
                                    - np.asarray(rp.final_params, dtype=np.float64)))
        tol, prefix = 0.0, len(real)
        if lock_free:
            t = lockfree_replay_tolerance(tr, L=float(problem.constants["L"]),
                                          lr=float(ref_cfg["lr"]),
                                          momentum=float(ref_cfg.get("momentum", 0) or 0))
            tol, prefix = t["bound"], t["first_race"]
        scale = float(np.linalg.norm(np.asarray(rp.final_params, dtype=np.float64)))
        with np.errstate(invalid="ignore"):
            bad = ~(np.abs(real - again)[:prefix] <= CONFORMANCE_RTOL * np.abs(again)[:prefix])
        first_grad = int(np.argmax(bad)) if bad.any() else None
        run = {"seed": base_seed + i, "final_difference": diff, "tolerance": tol,
               "exact_prefix": prefix, "first_differing_gradient": first_grad}
        out["runs"].append(run)
        if fail is None and (first_grad is not None or diff > tol + CONFORMANCE_RTOL * scale):
            fail = run
    if fail is None:
        out.update(verdict="PASS", reason=f"{variant.name} on {backend} matches {registered.name}'s "
                   f"replay of its recorded schedule ({seeds} run(s) of {steps} updates; "
                   + ("lock-free: within the derived tolerance)" if lock_free else "locked: exactly)"))
    else:
        where = (f"the gradient of update {fail['first_differing_gradient']} already differs, so an "
                 f"earlier update did" if fail["first_differing_gradient"] is not None else
                 "the per-update gradients agree")
        out.update(verdict="FAIL", reason=(
            f"{variant.name} on {backend} does not conform to {registered.name} (seed {fail['seed']}): "
            f"{where}; ||x_real - x_replay|| = {fail['final_difference']:.3g} > tolerance "
            f"{fail['tolerance']:.3g}" if fail["final_difference"] > fail["tolerance"] else
            f"{variant.name} on {backend} does not conform to {registered.name} (seed "
            f"{fail['seed']}): {where}"))
    out["duration_s"] = time.perf_counter() - t0
    return out


__all__ = ["CONFORMANCE_RTOL", "check_conformance", "check_conformance_real", "compare_updates",
           "reference_config"]
