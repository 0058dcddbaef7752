"""Evaluating a finished run: from the trace and the plan only, the record fields that depend on
the run (staleness, throughput, fairness, constants, conditions, measured metric, verdict).

1. bind the bound's symbols again, now with measured quantities (tau from the trace, B,
   p_min, F0 from the trace's recorded starting points ``meta["x0"]``), and check every side
   condition with numbers;
2. the cascade :func:`asyncbound.checks.verdicts.before_metric` (NOT_APPLICABLE / DIVERGED /
   FAIL) decides what it can before any metric is estimated, with the run's exit from a region
   its certified constants need and the bounded-iterates assumption (:mod:`.applicability`);
3. otherwise estimate the bound's metric with a confidence interval over seeds
   (``checks.metrics``), evaluate the bound and decide by its kind (``checks.verdicts``); a bound
   below the arithmetic floor is decided against the floor, and a PASS that rests on constants
   measured on a run where they grow is NOT_APPLICABLE (:mod:`.applicability`).
"""

from __future__ import annotations

import math

import numpy as np
from asyncbound.checks import applicability, binding, measure, metrics
from asyncbound.checks.verdicts import Decision, Verdict, before_metric, decide

#: constants that, measured on a diverging run, make the bound vacuous rather than violated
RUN_DEPENDENT = ("M", "B", "sigma", "G")


def _kind(kind) -> str:
    return str(getattr(kind, "value", kind)).upper()


def initial_gap(trace, problem) -> np.ndarray | None:
    """f(x0) - f* per seed: the batched reference records ``loss0``; otherwise it is computed
    from the recorded starting points ``meta["x0"]``; None when f* is unknown."""
    if problem.f_star is None:
        return None
    if trace.meta.get("loss0") is not None:
        return np.asarray(trace.meta["loss0"], dtype=float).ravel() - problem.f_star
    if trace.x0 is None:
        return None
    import torch

    return (problem.loss(torch.as_tensor(trace.x0, dtype=problem.dtype)) - problem.f_star).numpy()


def throughput(df, trace) -> dict:
    """Updates per second; on a virtual clock (capability ``virtual_clock``) the clock's rate is
    kept apart and the real rate is the batch's seed-updates per elapsed second."""
    from asyncbound.implementations.backends import capabilities

    tp = measure.throughput(df)
    meta = trace.meta
    if capabilities(meta.get("backend", "reference")).virtual_clock:
        tp = {"virtual_updates_per_s": tp.get("updates_per_s"), "clock": "virtual"}
        if meta.get("elapsed_s"):
            tp["updates_per_s"] = len(df) / float(meta["elapsed_s"])
            tp["note"] = "seed-updates per second of the vectorised reference run"
    return tp


def divergence(df, trace) -> dict | None:
    """Evidence that the run diverged (non-finite or huge values), or None."""
    evidence = measure.divergence(df) or measure.huge(df) or measure.blowup(df)
    meta = trace.meta
    if evidence is None and not meta.get("complete", True) and "diverg" in str(meta.get("error")):
        evidence = {"column": "params", "value": "non-finite",
                    "update": int(df["update"].max()) if len(df) else 0, "seed": -1,
                    "error": meta.get("error")}
    return evidence


def conditions(bound, vals: dict) -> tuple[list[dict], list[str]]:
    """(checked side conditions, their symbols without a value)."""
    if not bound.conditions:
        return [], []
    needed = set()
    for c in bound.conditions:
        needed |= {s.name for s in c.free_symbols}
    missing = sorted(needed - vals.keys())
    if missing:
        return [], missing
    try:
        return [r.to_dict() for r in bound.check_conditions(
            **{k: v for k, v in vals.items() if k in needed})], []
    except ValueError as exc:
        return [{"text": f"conditions could not be evaluated: {exc}", "holds": False}], []


def evaluate_trace(check, bound, problem, trace, plan, alpha: float) -> dict:
    """Record fields of a finished ``trace`` run with ``plan`` (see the module docstring)."""
    df = measure.as_frame(trace)
    out: dict = {}
    st = measure.staleness_summary(df)
    out["staleness"] = {"per_worker": measure.staleness_histograms(df, "worker"),
                        "tau_max": st["tau_max"], "tau_avg": st["tau_avg"],
                        "per_block": st.get("per_block")}
    out["throughput"] = throughput(df, trace)
    out["fairness"] = measure.block_frequencies(df)
    pattern = str(trace.meta.get("pattern", "full"))
    ctx = binding.RunContext(problem=problem, lr=plan.lr, steps=check.steps, workers=check.workers,
                             hparams=plan.hparams, pattern=pattern,
                             delay_max=getattr(plan.delays, "max_delay", None), df=df, x0=trace.x0,
                             F0_samples=initial_gap(trace, problem), overrides=check.overrides,
                             assumptions=tuple(a.key for a in bound.assumptions))
    names = bound.symbols() - binding.UNBINDABLE
    consts, missing = binding.bind(names | binding.system_symbols(bound, problem), ctx)
    missing = [m for m in missing if m in names]
    consts = binding.system_constants(bound, consts, pattern)
    out["constants"] = {k: c.as_dict() for k, c in consts.items()}
    vals = binding.values(consts)

    evidence = divergence(df, trace)
    conds, cond_missing = conditions(bound, vals)
    out["conditions"] = conds
    if evidence is not None:
        out["divergence"] = evidence
    run_measured = [k for k, c in consts.items() if c.origin == "measured" and k in RUN_DEPENDENT]
    d = before_metric(unbound=sorted(set(cond_missing) | set(missing)), problem=check.problem,
                      divergence=evidence, failed=[c for c in conds if not c.get("holds")],
                      run_measured=run_measured, region=applicability.region_exit(df, problem, consts),
                      assumes_bounded_iterates=any(a.key == "bounded_iterates" for a in bound.assumptions))
    if d is not None:
        out.update(verdict=d.verdict.value, reason=d.reason)
        return out

    m = metrics.measure_metric(bound, df, problem, trace, vals, alpha, check)
    out["measured"] = m.interval.as_dict()
    out["series"] = m.series
    out["bound_value"] = m.bound_value
    # measured/bound is meaningful for positive bounds only (a slope target of -0.3 vs a slope
    # of -0.8 gives 2.7, which reads as a violation); for the others the margin says it all
    ok = m.bound_value is not None and math.isfinite(m.interval.value) and math.isfinite(m.bound_value)
    out["ratio"] = m.interval.value / m.bound_value if ok and m.bound_value > 0 else None
    out["margin"] = m.bound_value - m.interval.value if ok else None
    if out["series"] is not None:
        out["series"].setdefault("label", m.what)
    floor = applicability.roundoff_floor(bound, vals, problem)
    if m.decision is not None:
        d = m.decision
    elif (floor is not None and m.bound_value is not None and math.isfinite(m.interval.value)
          and _kind(m.kind) == "UPPER" and m.bound_value < floor[0]):
        out["roundoff_floor"] = floor[0]
        d = applicability.decide_at_floor(m.interval, m.bound_value, floor[0], floor[1], m.what)
    else:
        d = decide(m.kind, m.interval, m.bound_value, rtol=check.rtol, what=m.what, proxy_note=m.note)
        if m.fail_is_inconclusive and d.verdict == Verdict.FAIL:
            d = Decision(Verdict.INCONCLUSIVE, d.reason + f"; but {m.fail_is_inconclusive}")
    reason = d.reason
    if run_measured:
        reason += (f"; evaluated with {', '.join(run_measured)} measured on this run itself "
                   "(not certified)")
        growth = applicability.grown(df, run_measured)
        if growth is not None:
            out["growth"] = growth
            if d.verdict == Verdict.PASS:
                d = Decision(Verdict.NOT_APPLICABLE, "")
                reason = (f"the constants {', '.join(run_measured)} measured on this run grow with "
                          f"the horizon (mean ||g||^2 {growth['first_window_mean_g2']:.4g} over the "
                          f"first {growth['window_updates']} updates, {growth['last_window_mean_g2']:.4g} over the last), and the "
                          "theorem presumes them bounded: no PASS on it; " + reason)
    if check.also_checks:
        out["also_checks"] = list(check.also_checks)
        reason += (f"; this measurement also decides {', '.join(check.also_checks)} (the same "
                   "finite-run proxy), so it is run and counted once")
    out.update(verdict=d.verdict.value, reason=reason)
    if m.extra:
        out.update(m.extra)
    return out
