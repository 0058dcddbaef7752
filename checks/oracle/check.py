"""The check kind ``oracle``: a run's measured trajectory against its exact expectation.

``run_oracle_check(spec, alpha)`` (called by ``engine.run_check`` when ``spec.test ==
"oracle"``):

1. read the claimed linear algorithm and the quadratic (:mod:`.model`); anything else is
   NOT_APPLICABLE with the reason;
2. run it (the engine's one path to the backends), seeds as a batch on the reference backend;
3. the exact curves: under the delay law (:mod:`.laws`, i.i.d. models) or, for schedules that
   are random across seeds or recorded (virtual time with jitter, replay, every real backend),
   conditional on each seed's recorded schedule (the *replay form*);
4. decide with the simultaneous band (:mod:`.band`) on f(x_k) - f* and ||grad f(x_k)||^2 at
   log-spaced points; for a lock-free real run the band is widened by the replay tolerance of
   ``implementations/backends/_tolerance.py`` (a deterministic bound on ||x_real - x_replay||);
5. stability: under a constant delay the spectral radius (:mod:`.stability`) predicts
   convergence or divergence; a run that diverges where the oracle says it converges is FAIL,
   and one that diverges where it predicts divergence is PASS (the exact curve blows up too).

The record (CONTRACTS §9, ``test: "oracle"``) carries the exact curves, the measured band, the
first point outside for a FAIL, and the oracle's cost next to the run's.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
from asyncbound.implementations.backends import capabilities

from .band import ORACLE_METRICS, log_points, simultaneous_band
from .laws import constant_delay, fixed_schedules, iid_law
from .model import NotLinear, linear_algorithm, quadratic_model
from .moments import exact_curves, start_conditional
from .stability import constant_delay_radius

log = logging.getLogger(__name__)

#: the pseudo-bound an oracle record names (records need a bound key; the kind is TIGHT: exact)
ORACLE_KEY = "oracle/exact_moments"
ORACLE_BOUND = {
    "key": ORACLE_KEY, "paper": "asyncbound", "metric": "E f(x_k) - f* and E||grad f(x_k)||^2, every k",
    "metric_id": "exact_trajectory", "kind": "TIGHT", "provenance": "derived",
    "statement": ("exact second moments of a linear async algorithm on the Gaussian quadratic, "
                  "by a linear recursion on the augmented state (derivation: "
                  "asyncbound.checks.oracle.moments)"),
    "source": "derived in asyncbound (checks/oracle/moments.py)", "latex": None, "mathml": None,
    "expression": None, "source_detail": None, "notes": None,
}

METRIC_LABELS = {"loss": "f(x_k) - f*", "grad_norm_sq": "||grad f(x_k)||^2"}


def _matrix(trace, name: str, S: int, K: int) -> np.ndarray:
    c = trace.columns
    order = np.lexsort((c["update"], c["seed"]))
    n = len(order) // S
    v = np.asarray(c[name], dtype=float)[order].reshape(S, n)
    out = np.full((S, K), np.nan)
    out[:, :n] = v
    return out


def _algorithm_options(spec) -> dict:
    """``spec.options`` less the backend's own keyword arguments (lock, instrument, ...): what
    is left are the rule's hyperparameters and the pattern's options."""
    import inspect

    from asyncbound.implementations.backends import _backend_module

    params = inspect.signature(_backend_module(spec.backend).run).parameters
    own = {n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    return {k: v for k, v in (spec.options or {}).items() if k not in own | {"lock", "lock_free"}}


def _delay_model(spec):
    from asyncbound.implementations.delays import parse_delay

    return parse_delay(spec.delay)


def _schedules(spec, alg, trace, model):
    """``(exact_curves schedule kwargs, index of each seed's schedule, form)``: the delay law,
    or the distinct schedules of the seeds as one (B, K) batch."""
    if capabilities(spec.backend).follows_delay_law:
        law = iid_law(model)
        if law is not None or alg.averaged:
            law = law if law is not None else ((lambda k: np.ones(1)), 0)
            return {"law": law}, np.zeros(spec.seeds, dtype=int), "law"
        worker, read = fixed_schedules(model, spec.steps, spec.workers, spec.seeds, spec.base_seed)
    else:
        from asyncbound.implementations.schedule import Schedule

        sched = Schedule.from_trace(trace)
        worker, read = sched.worker.numpy(), sched.read_version.numpy()
    K = worker.shape[1]
    uniq, inverse = np.unique(np.concatenate([worker, read], axis=1), axis=0, return_inverse=True)
    which = np.zeros(spec.seeds, dtype=int) if len(uniq) == 1 else np.asarray(inverse).ravel()
    return ({"worker": uniq[:, :K], "read": uniq[:, K:]}, which,
            "conditional on each seed's schedule")


def _start_points(spec, trace, problem, qm) -> np.ndarray | None:
    """Each seed's start point in eigen-coordinates, y0 = Q (x0 - x*), (S, d)."""
    x0 = trace.x0
    if x0 is None:
        return None
    return (np.asarray(x0, dtype=float).reshape(spec.seeds, -1)
            - problem.x_star.double().numpy()) @ qm.Q.T


def _expectations(alg, qm, K, schedule, which, y0):
    """``(unconditional curves, {metric: (S, K + 1)} per-seed expectations, given)``: per seed
    conditional on its schedule, and on its start point too where the coordinates decouple."""
    got = start_conditional(alg, qm, K, y0, which, **schedule) if y0 is not None else None
    if got is not None:
        per_seed, curves = got
        return curves, per_seed, "start point"
    curves = exact_curves(alg, qm, K, **schedule)
    per_seed = {}
    for m in ("loss", "grad_norm_sq", "dist_sq"):
        c = np.atleast_2d(curves.metric(m))
        per_seed[m] = c[which] if c.shape[0] > 1 else np.broadcast_to(c, (len(which), K + 1))
    return curves, per_seed, None


def _lockfree_slack(spec, trace, alg, qm, S):
    """Per-seed bound on ||x_real - x_replay|| for lock-free real runs (0 where the replay is
    exact: reference backend, locked mode); None when it cannot be bounded (no intervals)."""
    locked = ((trace.meta or {}).get("backend_config") or {}).get("lock")
    if not capabilities(spec.backend).spawns_workers or locked or bool((spec.options or {}).get("lock", False)):
        return np.zeros(S)
    from asyncbound.implementations.backends._tolerance import lockfree_replay_tolerance

    per_run = getattr(trace, "run_intervals", None)  # one dict per seed (backends.run)
    if per_run is None or len(per_run) != S or any(iv is None for iv in per_run):
        return None
    out = np.zeros(S)
    for s in range(S):
        part = trace.for_seed(s)
        part.intervals = per_run[s]
        out[s] = lockfree_replay_tolerance(part, L=float(qm.spectrum.max()), lr=alg.lr,
                                           momentum=alg.momentum)["bound"]
    return out


def run_oracle_check(spec, alpha: float) -> dict:
    """Run one oracle check and return its record (never raises for a bad run)."""
    from asyncbound.checks.planning import load_algorithm, load_problem
    from asyncbound.checks.running import run_trace

    t0 = time.perf_counter()
    algo = load_algorithm(spec.algorithm)
    problem = load_problem(spec)
    lr = float(spec.lr) if spec.lr is not None else float(algo.defaults["lr"])
    cfg = spec.config()
    cfg.update({"lr": lr, "lr_rule": "given by the check" if spec.lr is not None
                else "algorithm default", "seeds": spec.seeds})
    rec = {"check_id": spec.check_id, "algorithm": spec.algorithm_name, "backend": spec.backend,
           "problem": spec.problem, "workers": spec.workers, "bound": dict(ORACLE_BOUND),
           "config": cfg, "counterexample": None, "test": "oracle",
           "measured": {"alpha": alpha, "n_seeds": spec.seeds}}
    model = _delay_model(spec)
    try:
        alg = linear_algorithm(algo, algo.config(lr=lr, **_algorithm_options(spec)), problem.dim,
                               spec.workers)
        qm = quadratic_model(problem)
        if capabilities(spec.backend).follows_delay_law and not alg.averaged and iid_law(model) is None:
            fixed_schedules(model, 1, spec.workers, 1, spec.base_seed)  # validates the model
    except NotLinear as exc:
        rec.update(verdict="NOT_APPLICABLE", reason=f"no exact oracle: {exc}",
                   duration_s=time.perf_counter() - t0)
        return rec

    t_run = time.perf_counter()
    try:
        trace = run_trace(spec, problem, model, lr)
    except (FloatingPointError, OverflowError) as exc:
        rec.update(verdict="INCONCLUSIVE", reason=f"run raised {type(exc).__name__}: {exc}",
                   duration_s=time.perf_counter() - t0)
        return rec
    run_cost = time.perf_counter() - t_run
    rec["_trace"] = trace
    S, K = spec.seeds, spec.steps

    t_or = time.perf_counter()
    schedule, which, form = _schedules(spec, alg, trace, model)
    curves, per_seed, given = _expectations(alg, qm, K, schedule, which,
                                            _start_points(spec, trace, problem, qm))
    if given:
        form += ", and on each seed's start point"
    rho = None
    tau_const = 0 if alg.averaged else constant_delay(model)
    if tau_const is not None and capabilities(spec.backend).follows_delay_law:
        rho = constant_delay_radius(alg, qm, tau_const)
    oracle_cost = time.perf_counter() - t_or

    exact_mean = {}  # the unconditional curve, averaged over the seeds' schedules if several
    for m in ("loss", "grad_norm_sq", "dist_sq"):
        c = np.asarray(curves.metric(m))
        exact_mean[m] = c[which].mean(axis=0) if c.ndim == 2 else c
    rec["oracle"] = {
        "form": form, "mode": curves.mode, "n_schedules": int(which.max()) + 1,
        "delay": model.spec, "cost_s": oracle_cost, "run_cost_s": run_cost,
        "cost_ratio": oracle_cost / run_cost if run_cost > 0 else None,
        "exact": {"update": list(range(K + 1)), "loss_gap": exact_mean["loss"],
                  "dist_sq": exact_mean["dist_sq"], "grad_norm_sq": exact_mean["grad_norm_sq"]},
        "spectral_radius": rho,
        "stability": None if rho is None else ("diverges" if rho > 1.0 else "converges"),
        "algorithm_model": {"pattern": alg.pattern, "form": alg.form, "lr": alg.lr,
                            "momentum": alg.momentum, "dampening": alg.dampening},
    }

    X = {m: _matrix(trace, m, S, K) for m in ORACLE_METRICS}
    X["loss"] = X["loss"] - problem.f_star
    evaluated = np.nonzero(~np.isnan(X["loss"]).all(axis=0))[0]
    diverged = (not getattr(trace, "complete", True)) or not all(
        np.isfinite(X[m][:, evaluated]).all() for m in ORACLE_METRICS)
    if diverged:
        bad = [k for k in evaluated if not np.isfinite(X["loss"][:, k]).all()]
        k_bad = int(bad[0]) if bad else int(evaluated[-1]) if len(evaluated) else K - 1
        ex_val = float(exact_mean["loss"][min(k_bad + 1, K)])
        predicted = (rho is not None and rho > 1.0) or not math.isfinite(ex_val) or ex_val > 1e100
        rec["divergence"] = {"update": k_bad, "exact_at_update": ex_val}
        if predicted:
            rec.update(verdict="PASS", reason=(
                f"the run diverged (non-finite by update {k_bad}) and so does the exact "
                f"expectation (spectral radius {rho:.6g} > 1)" if rho is not None else
                f"the run diverged by update {k_bad}; the exact expectation there is {ex_val:.3g}"))
        else:
            rec.update(verdict="FAIL", reason=(
                f"the run diverged (non-finite by update {k_bad}) where the exact oracle says it "
                f"converges (E f - f* = {ex_val:.3g} there"
                + (f", spectral radius {rho:.6g} < 1)" if rho is not None else ")")))
        rec["duration_s"] = time.perf_counter() - t0
        return rec

    pts = evaluated[log_points(evaluated)]
    slack = _lockfree_slack(spec, trace, alg, qm, S)
    if slack is None:
        rec.update(verdict="INCONCLUSIVE", reason=(
            "lock-free real run without instrumented read/write intervals: the replay tolerance "
            "cannot be bounded (run with instrument=True, or lock=True)"),
            duration_s=time.perf_counter() - t0)
        return rec
    n_tests = len(pts) * len(ORACLE_METRICS)
    bands, first = {}, None
    for m in ORACLE_METRICS:
        M = per_seed[m][:, pts + 1]   # (S, n)
        Xm = X[m][:, pts]
        b = simultaneous_band(Xm, M, alpha, n_tests)
        if slack.any():  # |f(x) - f(y)| <= ||grad f(x)|| e + L e^2 / 2, ||grad f||^2 <= 2 L (f - f*)
            L = float(qm.spectrum.max())
            e = slack[:, None]
            grad = np.sqrt(np.maximum(X["grad_norm_sq"][:, pts], 0.0))
            w = (grad * e + 0.5 * L * e ** 2) if m == "loss" else (2 * grad + L * e) * L * e
            widen = w.mean(axis=0)
            b.lo, b.hi = b.lo - widen, b.hi + widen
            b.outside = (b.exact < b.lo) | (b.exact > b.hi)
        bands[m] = b
        idx = np.nonzero(b.outside)[0]
        if idx.size and (first is None or pts[idx[0]] + 1 < first["after_updates"]):
            j = int(idx[0])
            first = {"metric": m, "after_updates": int(pts[j]) + 1, "exact": float(b.exact[j]),
                     "measured": float(b.mean[j]), "lo": float(b.lo[j]), "hi": float(b.hi[j]),
                     "z": float(b.z[j])}
    main = bands["loss"]
    rec["measured"] = {"value": float(main.mean[-1]), "ci_low": float(main.lo[-1]),
                       "ci_high": float(main.hi[-1]), "n_seeds": S, "alpha": alpha,
                       "method": (f"simultaneous two-sided band: Hall's skewness-corrected t, "
                                  f"Bonferroni over {n_tests} tests (t quantile {main.crit:.3g})")}
    rec["bound_value"] = float(main.exact[-1])
    rec["ratio"] = float(main.mean[-1] / main.exact[-1]) if main.exact[-1] > 0 else None
    rec["series"] = {"iteration": (pts + 1).tolist(), "mean": main.mean.tolist(),
                     "lo": main.lo.tolist(), "hi": main.hi.tolist(), "bound": main.exact.tolist(),
                     "label": "f(x_k) - f*: measured band vs exact expectation"}
    rec["oracle"]["bands"] = {m: {"update": (pts + 1).tolist(), "mean": b.mean.tolist(),
                                  "lo": b.lo.tolist(), "hi": b.hi.tolist(),
                                  "exact": b.exact.tolist(), "max_abs_z": float(np.abs(b.z).max())}
                              for m, b in bands.items()}
    rec["oracle"]["first_outside"] = first
    rec["oracle"]["lockfree_slack"] = slack.tolist() if slack.any() else None
    cost = f"oracle {oracle_cost:.3g}s vs run {run_cost:.3g}s"
    if first is None:
        zmax = max(float(np.abs(b.z).max()) for b in bands.values())
        rec.update(verdict="PASS", reason=(
            f"the exact expectation ({form}) lies inside the measured simultaneous band at all "
            f"{len(pts)} points of {', '.join(METRIC_LABELS[m] for m in ORACLE_METRICS)} "
            f"(max |t| = {zmax:.2f}, critical {main.crit:.2f} after Hall's skewness "
            f"correction); {cost}"))
    else:
        rec.update(verdict="FAIL", reason=(
            f"the exact E[{METRIC_LABELS[first['metric']]}] = {first['exact']:.4g} after "
            f"{first['after_updates']} updates lies outside the measured band [{first['lo']:.4g}, "
            f"{first['hi']:.4g}] (t = {first['z']:.1f}, critical {main.crit:.2f}); "
            f"the run is not the algorithm it declares ({alg.form} {alg.pattern}, lr {alg.lr:g}); "
            f"{cost}"))
    if rho is not None:
        rec["reason"] += f"; spectral radius {rho:.6g} ({rec['oracle']['stability']})"
    rec["duration_s"] = time.perf_counter() - t0
    return rec


__all__ = ["ORACLE_BOUND", "ORACLE_KEY", "run_oracle_check"]
