"""``asyncbound audit RUN_DIR``: the assumptions of every claimed theorem, measured on one run.

For a trace directory written by any backend (``asyncbound run``, a check's traces, a user's
run), the audit (1) rebuilds the problem from ``run.json``, (2) rebuilds sampled iterates by
replay and measures L, sigma^2, M, G, tau, p_min and B there (:mod:`.audit_measure` says how
and why), (3) for each theorem the algorithm claims: binds its symbols with the *measured*
constants (the problem's certificates are shown beside them, never substituted), says which
assumptions hold on this run, evaluates the side conditions, the bound, whether the bound is
vacuous, and the step size the theorem prescribes (the largest eta its solved side conditions
admit at the measured constants), and (4) with ``tune=True`` replays the same interleaving with
each prescribed step and reports the updates to a target loss against the original step.

Vacuous: the bound exceeds what the run achieves trivially at its start: f(x0) - f_low for
function-value metrics (f_low = the problem's f* or lower bound), ||grad f(x0)||^2 for
squared-gradient metrics, ||grad f(x0)|| for stationarity, ||x0 - x*||^2 for distances. A
bound with free constants (reconstructed rates: C0, C1, p_log) cannot be evaluated and says so.

Time to target (tune): target = f_K + 0.1 (f_0 - f_K) with f the original's replayed mean
loss (90% of the original's decrease); counted in applied updates on the reference backend
(same interleaving, only eta changes), and converted to seconds with the original run's
measured seconds per update when the trace has them.

Output: ``audit.json`` (schema :data:`AUDIT_SCHEMA`, docs/CONTRACTS.md) and ``audit.html``.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
from asyncbound.checks import audit_measure as am
from asyncbound.checks import binding, measure
from asyncbound.reports.audit import AUDIT_SCHEMA  # the one definition (reports reads it)

log = logging.getLogger(__name__)

#: measured > certified * (1 + rtol) flags a wrong certificate. Exact estimators (power
#: iteration to 1e-3, exact per-sample variance, observed maxima): 1e-2. Monte-Carlo sigma^2
#: over N_DRAWS = 64 draws: its relative standard error is ~ sqrt(2/64) = 0.18 on sigma^2, so
#: 1.0 on sigma^2 is > 5 standard errors; 0.5 on sigma is the same margin.
CERT_RTOL, CERT_RTOL_MC = 1e-2, 0.5
TRIVIAL_LEVEL = {  # metric_id -> which start-of-run quantity a useful bound must beat
    "final_gap": "F0", "avg_gap": "F0", "min_grad_sq": "grad0_sq", "avg_grad_sq": "grad0_sq",
    "stationarity": "grad0", "final_dist_sq": "r0_sq",
}


# --- loading ---------------------------------------------------------------------------------
def load_run(run_dir):
    """(trace, problem) of a trace directory; bad input is a one-line ValueError."""
    from asyncbound.implementations.backends import resolve_problem
    from asyncbound.implementations.trace import Trace

    d = Path(run_dir)
    if not d.is_dir():
        raise ValueError(f"RUN_DIR {str(d)!r} is not a directory")
    if not (d / "trace.parquet").is_file() or not (d / "run.json").is_file():
        raise ValueError(f"{str(d)!r} is not a trace directory (needs trace.parquet and run.json, "
                         "as written by 'asyncbound run')")
    try:
        trace = Trace.read(d)
    except Exception as exc:  # noqa: BLE001 - a corrupt file is bad input, one line
        raise ValueError(f"cannot read the trace in {str(d)!r}: {exc}") from None
    meta = trace.meta
    if not len(trace):
        raise ValueError(f"the trace in {str(d)!r} has no per-update rows (recorded with "
                         "--no-instrument?): nothing to audit")
    pm = meta.get("problem") or {}
    if not meta.get("algorithm") or not pm.get("name") or pm.get("seed") is None:
        raise ValueError(f"cannot rebuild the problem of {str(d)!r}: run.json records no "
                         "algorithm, problem name or problem seed")
    try:
        problem = resolve_problem(pm["name"], dim=pm.get("dim"), seed=pm["seed"], **pm.get("options", {}))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"cannot rebuild the problem {pm.get('name')!r} of {str(d)!r}: {exc}") from None
    return trace, problem


# --- judging -----------------------------------------------------------------------------------
def _assumption(a, problem, c: dict, hparams: dict | None = None) -> dict:
    """(status, detail) of one assumption on this run: holds / fails / unknown."""
    k = a.key

    def row(status, detail):
        return {"key": k, "title": a.title, "status": status, "detail": detail}

    fin = lambda name: name in c and c[name] is not None and math.isfinite(c[name])  # noqa: E731
    if k == "lower_bounded":
        f = getattr(problem, "f_star", None)
        return row("holds", f"f_low = {f:.6g} (problem's f* or a certified lower bound)") if f is not None \
            else row("unknown", "the problem records no f* or lower bound")
    if k == "smooth":
        if not getattr(problem, "smooth", True):
            return row("fails", "the problem is not differentiable everywhere (declared nonsmooth)")
        return row("holds", f"||H||_2 <= {c['L']:.4g} at the sampled iterates (a local, lower estimate "
                            "of L)") if fin("L") else row("unknown", "L not measured")
    if k == "strongly_convex":
        mu = (getattr(problem, "constants", {}) or {}).get("mu")
        if mu:
            return row("holds", f"certified mu = {mu:.4g}")
        return row("fails" if not getattr(problem, "convex", True) else "unknown",
                   "the problem is nonconvex" if not getattr(problem, "convex", True)
                   else "mu is not certified and cannot be measured from a run")
    simple = {"bounded_variance": ("sigma", "sigma"), "bounded_second_moment": ("M", "M"),
              "bounded_gradient_inf": ("G", "G"), "elastic_consistency": ("B", "B"),
              "bounded_delay": ("tau", "tau_max"), "average_delay": ("tau_avg", "tau_avg"),
              "block_fairness": ("p_min", "p_min")}
    if k in simple:
        name, label = simple[k]
        if not fin(name):
            return row("unknown", f"{label} could not be measured on this run")
        if k == "block_fairness" and c[name] <= 0:
            return row("fails", "a block was never written (p_min = 0)")
        return row("holds", f"{label} = {c[name]:.4g} on this run (finite sample: sampled iterates / "
                            "recorded updates)")
    if k == "bounded_domain":
        D = (getattr(problem, "constants", {}) or {}).get("D")
        return row("holds", f"box domain, D = {D:.4g}") if D else row(
            "fails", f"unconstrained problem (no projection); max |x|_inf seen = {c.get('x_inf', float('nan')):.4g}")
    if k == "step_summability":
        sched = (hparams or {}).get("schedule") or "constant"
        if sched in ("constant", "inv_sqrt"):  # the rules' SCHEDULES: gamma_k^2 = 1 or 1/k
            return row("fails", f"schedule {sched!r}: sum_k gamma_k^2 diverges (Robbins-Monro needs "
                                "gamma_k = a/(k+b)^p with 1/2 < p <= 1)")
        return row("unknown", f"schedule {sched!r} not classified")
    if k == "bounded_iterates":
        return row("holds", f"max |x|_inf over the sampled iterates = {c.get('x_inf', float('nan')):.4g} "
                            "(finite sample)")
    return row("unknown", "not measured by the audit")


def _trivial(metric_id: str, c: dict) -> tuple[str | None, float | None]:
    name = TRIVIAL_LEVEL.get(metric_id)
    v = c.get(name) if name else None
    return name, (v if v is not None and math.isfinite(v) else None)


def judge_bound(bound, problem, consts: dict, ctx) -> dict:
    """One theorem on this run: assumptions, conditions, value, vacuity, prescribed step."""
    from asyncbound.checks.planning import admissible_lr

    overrides = {k: binding.Constant(v["value"], "measured", v["how"]) for k, v in consts.items()
                 if isinstance(v, dict) and v.get("value") is not None}
    ctx.overrides = overrides
    bound_c, missing = binding.bind(bound.symbols(), ctx)
    vals = binding.values(bound_c)
    flat = {k: v["value"] for k, v in consts.items() if isinstance(v, dict)}
    out = {"key": bound.key, "kind": bound.kind.value, "provenance": bound.provenance.value,
           "metric": bound.metric, "metric_id": bound.metric_id, "source": bound.source.cite(),
           "constants": {k: c.as_dict() for k, c in bound_c.items()}, "missing": missing,
           "assumptions": [_assumption(a, problem, flat, ctx.hparams) for a in bound.assumptions]}
    cond_missing = set()
    for cnd in bound.conditions:
        cond_missing |= {s.name for s in cnd.free_symbols} - vals.keys()
    if cond_missing:
        out["conditions"], out["conditions_hold"] = [], None
        out["conditions_note"] = f"not evaluable: {', '.join(sorted(cond_missing))} unbound"
    else:
        res = bound.check_conditions(**vals)
        out["conditions"] = [r.to_dict() for r in res]
        out["conditions_hold"] = all(r.holds for r in res)
    value, note = None, None
    free = sorted(set(missing) & binding.UNBINDABLE)
    if free:
        note = f"free constants {', '.join(free)} (reconstructed rate): not evaluable"
    elif missing:
        note = f"unbound symbols {', '.join(missing)}"
    else:
        try:
            value = bound.evaluate(**vals)
        except ValueError as exc:
            note = str(exc)
    out["value"] = value if value is not None and math.isfinite(value) else None
    out["value_note"] = note or (None if out["value"] is not None else "not finite at these constants")
    level_name, level = _trivial(bound.metric_id, flat)
    out["trivial_level"] = {"name": level_name, "value": level}
    out["vacuous"] = (None if out["value"] is None or level is None else bool(out["value"] > level))
    if value is not None and not math.isfinite(value):
        out["vacuous"] = True
    eta_max, texts = admissible_lr(bound, vals)
    out["prescribed_lr"] = eta_max if math.isfinite(eta_max) else None
    out["prescribed_how"] = "; ".join(texts) if texts else "the theorem puts no condition on eta"
    out["lr_used"] = ctx.lr
    out["lr_ratio"] = ctx.lr / eta_max if math.isfinite(eta_max) and eta_max > 0 else None
    held = [a["status"] for a in out["assumptions"]]
    out["applies"] = ("no" if "fails" in held or out["conditions_hold"] is False
                      else "unknown" if "unknown" in held or out["conditions_hold"] is None else "yes")
    return out


# --- the whole audit ---------------------------------------------------------------------------
def _constants(trace, problem, full, points: list[dict], x0: np.ndarray, lr: float) -> dict:
    df = measure.as_frame(trace)
    st = am.staleness_stats(df)
    bf = measure.block_frequencies(df)
    fdf = measure.as_frame(full)
    vg = np.asarray(df["view_gap"], dtype=float)
    B = am.elastic_B(df if np.isfinite(vg).any() else fdf, lr)
    B_src = "the trace's view gaps" if np.isfinite(vg).any() else "the full replay's view gaps"
    m2_trace = measure.grad_second_moment(df)["M2_max"] if np.isfinite(df["sgrad_norm_sq"]).any() else math.nan
    m2 = max([p["M2"] for p in points] + ([m2_trace] if math.isfinite(m2_trace) else []))
    import torch

    f_low = problem.f_star if problem.f_star is not None else math.nan
    x0t = torch.as_tensor(x0, dtype=problem.dtype)
    F0s = (problem.loss(x0t).to(torch.float64).numpy() - f_low).reshape(-1)
    g0 = float(problem.full_grad(x0t[:1].to(torch.float64)).pow(2).sum())
    certs = getattr(problem, "constants", {}) or {}
    sig_how = points[0]["sigma2_how"]

    def c(value, how, name=None):
        v = float(value)
        cert = float(certs[name]) if name in certs else None
        tol = CERT_RTOL_MC if (name == "sigma" and "Monte-Carlo" in sig_how) else CERT_RTOL
        return {"value": v if math.isfinite(v) else None, "how": how, "certified": cert,
                # a measured value above its certificate means the certificate is wrong
                "certificate_violated": (None if cert is None or not math.isfinite(v)
                                         else bool(v > cert * (1 + tol)))}

    out = {
        "L": c(max(p["hessian_norm"] for p in points), "max over sampled iterates of ||H(x)||_2 "
               "(power iteration, finite-difference HVPs)", "L"),
        "sigma": c(math.sqrt(max(p["sigma2"] for p in points)), f"sqrt of max over sampled iterates of "
                   f"the stochastic-gradient variance ({sig_how})", "sigma"),
        "M": c(math.sqrt(m2), "sqrt of max of E||g||^2 over sampled iterates (oracle draws)"
               + (" and the recorded ||g_t||^2 of every update" if math.isfinite(m2_trace) else ""), "M"),
        "G": c(max(p["G"] for p in points), "max |g|_inf over all oracle draws", "G"),
        "tau": c(st["max"], "max staleness over all recorded updates"),
        "tau_avg": c(st["avg"], "mean staleness over all recorded updates"),
        "p_min": c(bf["p_min"], "smallest fraction of writes to one block"),
        "B": c(B, f"sqrt(max_t mean_s ||x_t - v_t||^2) / eta from {B_src}"),
        "F0": c(float(np.mean(F0s)), "mean over seeds of f(x0) - f_low at the recorded starting points"),
        "grad0_sq": c(g0, "||grad f(x0)||^2 at seed row 0"),
        "grad0": c(math.sqrt(g0), "||grad f(x0)|| at seed row 0"),
        "x_inf": c(max(p["x_inf"] for p in points), "max |x|_inf over the sampled iterates"),
    }
    if getattr(problem, "x_star", None) is not None:
        xs = np.asarray(problem.x_star, dtype=float)
        out["r0_sq"] = c(float(np.mean(np.sum((x0 - xs) ** 2, axis=-1))), "mean over seeds of ||x0 - x*||^2")
    return out, st, bf


def _run_context(trace, problem, lr, df, x0, F0s):
    meta = trace.meta
    cfg = dict(meta.get("config") or {})
    return binding.RunContext(problem=problem, lr=lr, steps=int(meta.get("steps") or len(df)),
                              workers=int(meta.get("n_workers") or 1), hparams=cfg,
                              pattern=meta.get("pattern") or "full", df=df, x0=x0, F0_samples=F0s)


def audit(run_dir, *, points: int = 5, tune: bool = False, progress=None) -> dict:
    """The audit of one trace directory, as the JSON-able ``asyncbound.audit/1`` dict."""
    from asyncbound.implementations.registry import get_algorithm

    from asyncbound import theory

    t0 = time.perf_counter()
    say = progress or (lambda s: log.info("%s", s))
    trace, problem = load_run(run_dir)
    meta = trace.meta
    spec = get_algorithm(meta["algorithm"])
    K = int(trace.columns["update"].max()) + 1
    lr = float((meta.get("config") or {}).get("lr") or spec.defaults["lr"])
    ups = am.sample_updates(K, points)
    say(f"audit: replaying {len(ups)} prefixes of {K} updates on the reference backend")
    xs, full = am.iterates(trace, problem, ups, eval_every=max(1, K // 50))
    say("audit: measuring L, sigma^2, M, G at the sampled iterates")
    pts = am.point_measurements(problem, xs, int(meta.get("base_seed") or 0))
    consts, st, bf = _constants(trace, problem, full, pts, xs[0], lr)
    rec_final = trace.final_params
    fidelity = None
    if rec_final is not None and full.final_params is not None:
        a, b = np.asarray(rec_final, float), np.asarray(full.final_params, float)
        if a.shape == b.shape:
            fidelity = float(np.linalg.norm(a - b) / max(np.linalg.norm(a), 1e-300))
    df = measure.as_frame(trace)
    F0s = np.asarray([consts["F0"]["value"]]) if consts["F0"]["value"] is not None else None
    keys = list(meta.get("bounds") or spec.bounds)
    theorems = []
    for key in keys:
        try:
            bound = theory.get_bound(key)
        except (KeyError, ValueError):
            theorems.append({"key": key, "applies": "unknown", "value_note": "unknown bound key"})
            continue
        ctx = _run_context(trace, problem, lr, df, xs[0], F0s)
        theorems.append(judge_bound(bound, problem, consts, ctx))
    out = {
        "schema": AUDIT_SCHEMA, "run_dir": str(run_dir), "algorithm": spec.name,
        "backend": meta.get("backend"), "problem": {k: meta["problem"].get(k) for k in ("name", "dim", "seed", "options")},
        "config": {"lr": lr, "steps": K, "workers": meta.get("n_workers"), "seeds": meta.get("n_seeds"),
                   "delay": meta.get("delay"), "elapsed_s": meta.get("elapsed_s")},
        "sampling": {"method": "replay of recorded prefixes on the reference backend",
                     "updates": ups, "seed_row": 0, "replay_final_rel_diff": fidelity},
        "points": pts, "constants": consts, "staleness": st,
        "blocks": {"freq": bf["freq"], "n_blocks": bf["n_blocks"]}, "theorems": theorems, "tune": None,
        "warnings": [f"measured {k} = {v['value']:.4g} exceeds the problem's certified {v['certified']:.4g}: "
                     "the certificate is wrong" for k, v in consts.items() if v.get("certificate_violated")],
    }
    if tune:
        say("audit: --tune: replaying with the prescribed steps")
        from asyncbound.checks.audit_tune import tune_steps

        out["tune"] = tune_steps(trace, problem, full, theorems, lr)
    out["duration_s"] = time.perf_counter() - t0
    return out
