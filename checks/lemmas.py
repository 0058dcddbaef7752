"""Proof-step (lemma) checks: the per-update facts a derivation rests on, checked exactly on
every update of a run (record field ``test: "lemma"``).

The bounds of ``theory`` are chains of lemmas. Those that hold per update hold *exactly* (up to
float64 rounding), so a single violated update is a FAIL naming the lemma, the update, the seed
and the numbers. The table :data:`LEMMAS` says which lemma applies to which algorithm: by the
bounds it claims (the derivation that uses the lemma) and by its access pattern (of the
algorithm it ``implements`` when it names one):

======================  ==========================================================================
``descent``             f(x + u) <= f(x) + <grad f(x), u> + (L/2)||u||^2 for the applied update
                        u, L the problem's certified constant (every smooth problem; Nesterov,
                        *Lectures on Convex Optimization*, Lemma 1.2.3).
``view_gap_recursion``  ||x_k - v_k|| <= sum_{j = read_version[k]}^{k-1} ||u_j||: the view is the
                        iterate of version read_version[k] (triangle inequality; Nadiradze et al.
                        2021, arXiv:2001.05918, §4, the elastic-consistency argument). From the
                        trace columns ``view_gap`` and ``update_norm`` alone, so any backend that
                        records both is checked; also measures the ratio the bound B must cover.
``sgd_step_at_view``    u_k = -eta g(v_k): the step applied at update k is eta times the stochastic
                        gradient computed at the view of version read_version[k] (the update the
                        delayed-SGD theorems analyse: Lian et al. 2015 arXiv:1506.08272 eq. (2);
                        Nadiradze et al. 2021 Alg. 1). Plain SGD claims only (momentum 0).
``ef_identity``         error feedback: with e_w the part of worker w's step not yet applied, the
                        virtual sequence x + sum_w e_w moves by the uncompressed step -eta g(v_k)
                        exactly (Stich & Karimireddy 2020, arXiv:1909.05350, Lemma 9's identity;
                        the issue writes it x - e with e of the opposite sign).
``topk_contraction``    ||C(u) - u||^2 <= (1 - k/d) ||u||^2 at every compression (Stich et al.
                        2018, arXiv:1809.07599, Lemma A.1), u the vector compressed.
``block_ownership``     partitioned methods: the applied update is zero outside the writer's own
                        block (PASSM+: full steps allowed where the pattern makes them); every
                        block is written and p_min (the least frequent block's share) is reported
                        (Kungurtsev et al. 2021, arXiv:1910.10787, Assumptions 3.1-3.2).
``amsgrad_monotone``    AMSGrad's v-hat never decreases (Reddi et al. 2018, Alg. 2; Xu et al.,
                        APAM, Alg. 1 line "vhat <- max(vhat, v)"), coordinate-wise.
``amsgrad_convention``  the step is -eta_t m / sqrt(v-hat) with neither bias correction nor eps,
                        the convention of APAM's Algorithm 1 that ``xu_apam/*`` are proved for.
======================  ==========================================================================

``recorded_view`` (:func:`check_recorded_view`, for a real backend's trace): the stochastic
gradient a worker applied at update k has the norm of the gradient the reference replay computes
at x_{read_version[k]} with the same noise draw: the recorded read version is the version the
worker actually read. Exact for a locked run; lock-free, exact up to the first racing update
(``implementations.backends._tolerance``: before it no read or write overlapped another write).

Everything but ``view_gap_recursion`` and ``recorded_view`` is recomputed on the reference backend through a
:class:`checks.lemma_probe.Probe` (the full state is available per update there; a real backend
could not record gradients, states and iterates cheaply). ``EXACT_RTOL`` is the only tolerance.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

#: relative slack for "exact": float64 rounding of a few dozen operations per update is ~1e-14
#: of the quantities compared; 1e-9 leaves five orders of room for reassociation, while every
#: real violation (a wrong step, a lost memory, a decreasing maximum) is O(1) of the step.
EXACT_RTOL = 1e-9

SGD_BOUNDS = ("classic_delayed_sgd/", "nadiradze2021/nonconvex", "nadiradze2021/strongly_convex")
PARTITION_BOUNDS = ("kungurtsev2021/",)
AMSGRAD_BOUNDS = ("xu_apam/",)

#: lemma -> one line for the records
LEMMAS: dict[str, str] = {
    "descent": "f(x+u) <= f(x) + <grad f(x), u> + (L/2)||u||^2 (certified L)",
    "view_gap_recursion": "||x_k - v_k|| <= sum of ||u_j|| applied between the read and the write",
    "sgd_step_at_view": "u_k = -eta g(v_k) with v_k the iterate of version read_version[k]",
    "ef_identity": "x + sum_w e_w moves by the uncompressed step -eta g(v_k)",
    "topk_contraction": "||C(u) - u||^2 <= (1 - k/d)||u||^2 at every compression",
    "block_ownership": "update zero outside the writer's block; every block written (p_min)",
    "amsgrad_monotone": "v-hat never decreases",
    "amsgrad_convention": "step = -eta_t m / sqrt(v-hat), no bias correction, no eps",
    "recorded_view": "the gradient applied at update k was computed at version read_version[k]",
}


@dataclass
class Subject:
    """What decides which lemmas apply: the claimed algorithm's pattern, bounds and rule name,
    and the hyperparameters of the run."""

    pattern: str
    bounds: tuple
    rule_name: str
    config: dict


def subject_of(algo, options: dict | None = None) -> Subject:
    """The claim of ``algo``: its own, or that of the registered algorithm it implements (the
    lemmas are the steps of *that* algorithm's proofs), with the variant's hyperparameters."""
    from asyncbound.implementations.registry import get_algorithm

    claimed = get_algorithm(algo.implements) if getattr(algo, "implements", None) else algo
    bounds = tuple(claimed.bounds) + tuple(algo.bounds)
    return Subject(claimed.pattern, bounds, getattr(claimed.rule, "__name__", ""),
                   algo.config(**(options or {})))


def _claims(subject: Subject, prefixes) -> bool:
    return any(b.startswith(p) for b in subject.bounds for p in prefixes)


def applicable(subject: Subject, problem) -> dict[str, dict]:
    """lemma -> the parameters its probe needs, for the lemmas that apply (the table above)."""
    cfg = subject.config
    lr = float(cfg["lr"])
    plain = float(cfg.get("momentum", 0) or 0) == 0
    out: dict[str, dict] = {}
    L = (getattr(problem, "constants", {}) or {}).get("L")
    if L is not None and math.isfinite(float(L)):
        out["descent"] = {"L": float(L)}
    if subject.pattern != "sync":
        out["view_gap_recursion"] = {}
    if plain and subject.pattern in ("full", "master_worker", "sync") and \
            subject.rule_name == "sgd" and _claims(subject, SGD_BOUNDS):
        out["sgd_step_at_view"] = {"lr": lr}
    if plain and subject.pattern in ("sparse", "sparse_ef"):
        ratio = cfg.get("ratio")
        if ratio is not None:
            k = max(1, min(problem.dim, math.ceil(float(ratio) * problem.dim - 1e-12)))
            ef = subject.pattern == "sparse_ef"
            out["topk_contraction"] = {"lr": lr, "k": k, "error_feedback": ef}
            if ef:
                out["ef_identity"] = {"lr": lr, "error_feedback": True}
    if subject.pattern in ("partition", "partition_plus") or _claims(subject, PARTITION_BOUNDS):
        out["block_ownership"] = {"full_steps_allowed": subject.pattern == "partition_plus"}
    if _claims(subject, AMSGRAD_BOUNDS) or subject.rule_name == "amsgrad_paper":
        out["amsgrad_monotone"] = {}
        out["amsgrad_convention"] = {"lr": lr, "schedule": cfg.get("schedule", "constant")}
    return out


# --------------------------------------------------------------------------------------------
# deciding


def _first_violation(table: np.ndarray):
    """``table`` (K, 3, S) -> (k, seed) of the first update violating lhs <= rhs + rtol*scale."""
    if table.size == 0:
        return None
    lhs, rhs, scale = table[:, 0], table[:, 1], table[:, 2]
    with np.errstate(invalid="ignore"):
        bad = ~(lhs <= rhs + EXACT_RTOL * np.where(np.isfinite(scale), scale, 0.0))
    bad &= ~(np.isnan(lhs) & np.isnan(rhs))
    if not bad.any():
        return None
    k = int(np.argmax(bad.any(axis=1)))
    return k, int(np.argmax(bad[k]))


def _result(name, table, probe, trace, extra=None) -> dict:
    hit = _first_violation(table)
    n = int(table.shape[0] * table.shape[2]) if table.size else 0
    res = {"lemma": name, "statement": LEMMAS[name], "n_checked": n, **(extra or {})}
    if hit is None:
        res.update(verdict="PASS", reason=f"{name}: holds at all {n} update-seed pairs")
        return res
    k, s = hit
    lhs, rhs, scale = (float(v) for v in table[k, :, s])
    worker = probe.worker[k] if probe is not None and k < len(probe.worker) else \
        int(_seed_col(trace, "worker", s)[k])
    blk = probe.block[k] if probe is not None and k < len(probe.block) else -1
    blk = int(blk[s]) if isinstance(blk, np.ndarray) else int(blk)
    res.update(verdict="FAIL", update=k, seed=s, worker=worker, block=blk, lhs=lhs, rhs=rhs,
               reason=f"lemma {name} violated at update {k} (seed {s}, worker {worker}, block "
                      f"{blk}): {lhs:.6g} > {rhs:.6g} (scale {scale:.3g}); {LEMMAS[name]}")
    return res


def _seed_col(trace, name, seed):
    c = trace.columns
    m = c["seed"] == seed
    order = np.argsort(c["update"][m], kind="stable")
    return c[name][m][order]


def view_gap_table(trace) -> np.ndarray:
    """(K, 3, S) of the view-gap recursion from the trace columns (any backend)."""
    seeds = np.unique(trace.columns["seed"])
    per = []
    for s in seeds:
        gap, un = _seed_col(trace, "view_gap", s), _seed_col(trace, "update_norm", s)
        read = _seed_col(trace, "read_version", s)
        csum = np.concatenate([[0.0], np.cumsum(np.nan_to_num(un))])
        k = np.arange(len(gap))
        rhs = csum[k] - csum[np.clip(read, 0, len(gap))]
        per.append(np.stack([gap, rhs, rhs + np.abs(gap)]))
    if not per:
        return np.zeros((0, 3, 0))
    K = min(p.shape[1] for p in per)
    return np.stack([p[:, :K] for p in per], axis=-1).transpose(1, 0, 2)


def _ownership_extra(probe, partition, steps) -> tuple[dict, str | None]:
    counts = np.zeros(len(partition), dtype=np.int64)
    for w, b in zip(probe.worker, probe.block, strict=True):
        b = int(b.reshape(-1)[0]) if isinstance(b, np.ndarray) else int(b)
        if b >= 0 and 0 <= w < len(partition):
            counts[w] += 1
    owned = counts.sum()
    p = counts / owned if owned else counts.astype(float)
    extra = {"block_writes": counts.tolist(), "p_min": float(p.min()) if owned else 0.0,
             "partition": [list(ab) for ab in partition]}
    missing = [i for i, c in enumerate(counts) if c == 0 and partition[i][1] > partition[i][0]]
    why = (f"lemma block_ownership: block(s) {missing} never written in {steps} updates "
           "(coverage fails)") if missing else None
    return extra, why


def evaluate(probe, trace, lemmas: dict) -> list[dict]:
    """One result per applicable lemma (PASS, or FAIL with update, seed, worker and numbers)."""
    out = []
    for name, params in lemmas.items():
        if name == "view_gap_recursion":
            if np.isnan(trace.columns["update_norm"]).all() or np.isnan(trace.columns["view_gap"]).all():
                out.append({"lemma": name, "statement": LEMMAS[name], "verdict": "NOT_APPLICABLE",
                            "reason": "trace has no view_gap/update_norm columns"})
                continue
            table = view_gap_table(trace)
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.where(table[:, 1] > 0, table[:, 0] / table[:, 1], 0.0)
            out.append(_result(name, table, None, trace, {"max_gap_over_sum": float(np.nanmax(ratio))
                                                         if ratio.size else 0.0}))
            continue
        extra, why = (None, None)
        if name == "block_ownership":
            extra, why = _ownership_extra(probe, params["partition"], len(probe.worker))
        res = _result(name, probe.table(name), probe, trace, extra)
        if why and res["verdict"] == "PASS":
            res.update(verdict="FAIL", reason=why)
        out.append(res)
    return out


# --------------------------------------------------------------------------------------------
# running


def probe_run(algo, problem, *, delay: str, steps: int, seeds: int, workers: int,
              base_seed: int = 0, options: dict | None = None, lemmas: dict | None = None,
              keep_updates: bool = False, eval_every: int | None = None):
    """Run ``algo`` on the reference backend with a :class:`Probe`; returns (trace, probe)."""
    from asyncbound.checks.lemma_probe import Probe
    from asyncbound.implementations.backends.reference import run as ref_run

    params: dict = {}
    for p in (lemmas or {}).values():
        params.update(p)
    probe = Probe(problem, tuple(lemmas or ()), params, keep_updates=keep_updates)
    opts = dict(options or {})
    trace = ref_run(algo, problem, delay, steps, list(range(base_seed, base_seed + seeds)),
                    workers=workers, eval_every=eval_every or steps, observer=probe, **opts)
    return trace, probe


def check_lemmas(algo, problem, *, delay: str = "uniform:4", steps: int = 300, seeds: int = 4,
                 workers: int = 4, base_seed: int = 0, options: dict | None = None) -> dict:
    """Run ``algo`` once and check every lemma that applies to it; a summary dict with
    ``verdict`` (FAIL if any lemma fails), ``reason`` (the first failure) and ``lemmas``."""
    from asyncbound.implementations.patterns import partition

    t0 = time.perf_counter()
    subject = subject_of(algo, options)
    if subject.pattern == "sync" or algo.pattern == "sync":
        delay = "none"
    lemmas = applicable(subject, problem)
    if "block_ownership" in lemmas:
        sizes = getattr(problem, "layer_sizes", None) or [1] * problem.dim
        lemmas["block_ownership"]["partition"] = partition(sizes, workers)
    needs_probe = {k: v for k, v in lemmas.items() if k != "view_gap_recursion"}
    trace, probe = probe_run(algo, problem, delay=delay, steps=steps, seeds=seeds,
                             workers=workers, base_seed=base_seed, options=options,
                             lemmas=needs_probe)
    results = evaluate(probe, trace, lemmas)
    fails = [r for r in results if r["verdict"] == "FAIL"]
    verdict = "FAIL" if fails else ("PASS" if results else "NOT_APPLICABLE")
    reason = fails[0]["reason"] if fails else (
        f"{len(results)} lemma(s) hold exactly on every update ({', '.join(lemmas)})"
        if results else "no lemma of the table applies to this algorithm")
    return {"verdict": verdict, "reason": reason, "lemmas": results, "delay": delay,
            "steps": steps, "seeds": seeds, "workers": workers,
            "incomplete": None if trace.complete else trace.meta.get("error"),
            "duration_s": time.perf_counter() - t0}


def check_recorded_view(trace, problem=None) -> dict:
    """``recorded_view`` on one real run's trace (one seed): replay it on the reference backend
    and compare ``sgrad_norm_sq`` update by update (see the module docstring)."""
    from asyncbound.implementations.backends import replay

    if np.isnan(trace.columns["sgrad_norm_sq"]).all():
        return {"lemma": "recorded_view", "verdict": "NOT_APPLICABLE",
                "reason": "trace has no sgrad_norm_sq (run with grad_norms and instrument on)"}
    order = np.argsort(trace.columns["update"], kind="stable")
    real = np.asarray(trace.columns["sgrad_norm_sq"], dtype=np.float64)[order]
    n = len(real)
    locked = bool((trace.meta.get("backend_config") or {}).get("lock", False))
    if getattr(trace, "intervals", None) is not None and not locked:
        from asyncbound.implementations.backends._tolerance import racing

        race, _ = racing(trace)
        if race.any():
            n = int(np.argmax(race[order]))
    rp = replay(trace, problem=problem, eval_every=max(1, len(real)))
    again = np.asarray(rp.columns["sgrad_norm_sq"], dtype=np.float64)[:len(real)]
    table = np.stack([np.abs(real - again)[:n], np.zeros(n), np.abs(again)[:n]])[:, :, None]
    table = table.transpose(1, 0, 2)
    res = _result("recorded_view", table, None, trace, {"n_exact_prefix": n})
    if res["verdict"] == "FAIL":
        res["reason"] = (f"lemma recorded_view violated at update {res['update']}: the worker's "
                         f"||g||^2 = {real[res['update']]:.10g} but the gradient at the recorded "
                         f"view (version {int(trace.columns['read_version'][order][res['update']])})"
                         f" has {again[res['update']]:.10g}")
    return res


__all__ = ["check_recorded_view", "EXACT_RTOL", "LEMMAS", "Subject", "applicable", "check_lemmas", "evaluate",
           "probe_run", "subject_of", "view_gap_table"]
