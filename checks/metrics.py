"""The metric a bound speaks of (CONTRACTS §8), estimated with an interval over seeds.

Each estimator states what it computes and, where the trace cannot give the metric exactly,
which way its bias goes (so a biased estimate is only allowed to decide in the safe direction).

ASYMPTOTIC bounds have no finite-run value; they get an honest finite-run proxy:

- a rate template in K (e.g. ``(C0 + C1 log^p K)/sqrt K`` or ``C1/sqrt K + C2 tau^2/K``): the
  measured metric's log-log slope over the second half of the run must not exceed the template's
  slowest order in K, plus ``p/ln K`` for a log^p factor (the local slope of log^p t / sqrt t);
- ``stationarity`` (w.p.1 convergence to stationary points, no rate): the stationarity measure
  (the full (sub)gradient norm squared) averaged over the last fifth of the run must be below its
  average over the first fifth: a necessary sign of convergence, not a proof of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from asyncbound.checks import measure, stats
from asyncbound.checks.stats import Interval
from asyncbound.checks.verdicts import Decision, Verdict

MAX_SERIES_POINTS = 200

@dataclass
class Measured:
    interval: Interval
    bound_value: float | None
    kind: object
    what: str
    note: str = ""
    series: dict | None = None
    decision: Decision | None = None
    fail_is_inconclusive: str = ""
    extra: dict = field(default_factory=dict)


def _thin(idx: np.ndarray) -> np.ndarray:
    if len(idx) <= MAX_SERIES_POINTS:
        return np.arange(len(idx))
    return np.unique(np.linspace(0, len(idx) - 1, MAX_SERIES_POINTS).astype(int))


def band_series(iters, mat, alpha, bound_fn=None) -> dict:
    mean, lo, hi = stats.band(mat, alpha)
    keep = _thin(np.asarray(iters))
    it = np.asarray(iters)[keep]
    b = [bound_fn(int(k)) if bound_fn else None for k in it]
    return {"iteration": it.tolist(), "mean": mean[keep].tolist(), "lo": lo[keep].tolist(),
            "hi": hi[keep].tolist(), "bound": b}


def _bound_at(bound, vals: dict):
    """k -> bound value with K = k (the bound for a run stopped after k updates)."""
    names = bound.expr_symbols() if hasattr(bound, "expr_symbols") else set()

    def f(k: int):
        if "K" not in names:
            return None
        try:
            v = bound.evaluate(**{**vals, "K": max(int(k), 1)})
        except ValueError:
            return None
        return v if math.isfinite(v) else None

    return f


def _loglog_order(bound) -> tuple[float, float] | None:
    """(slowest order of expr in K, log power) for a rate template; None if K-free."""
    import sympy as sp

    K = sp.Symbol("K", positive=True)
    expr = bound.expr
    Ks = [s for s in expr.free_symbols if s.name == "K"]
    if not Ks:
        return None
    Ksym = Ks[0]
    e = expr.subs(Ksym, K)
    for s in e.free_symbols - {K}:
        e = e.subs(s, sp.Integer(1) if s.name != "p_log" else sp.Integer(1))
    try:
        order = sp.limit(sp.log(e) / sp.log(K), K, sp.oo)
        order = float(order)
    except Exception:  # noqa: BLE001
        return None
    p_log = 1.0 if expr.has(sp.log) else 0.0
    return order, p_log


def _slope_proxy(bound, df, alpha, column="grad_norm_sq", running="min") -> Measured:
    r"""Finite-run proxy of an ASYMPTOTIC rate claim: the secant log-log slope of the claimed
    quantity between t0 = sqrt(K) and K, with a confidence interval.

    The claimed quantity is ``min_{k<=t} E X_k`` (``running="min"``: the expectation *inside*
    the min, as the rate is stated) or ``(1/t) sum_{k<=t} E X_k`` (``"avg"``), X the per-seed
    column. Its secant slope ``s = ln(Q(K)/Q(t0)) / ln(K/t0)`` must not exceed the slope the
    template allows at t0 (``gratton_toint2026.slope_band``: -1/2 + p/ln(t0 + 1) for a log^p
    factor, moved to the template's own order); the template's secant slope over [t0, K] is at
    most its local slope at t0, so the allowance is on the lenient side.

    Interval (each side at level 1 - alpha, alpha/2 per end point, union bound):

    - ``min``: ``Q(K) >= min_k (mean_k - q sd_k)`` (one-sided at the true argmin: no
      correction, as :func:`stats.extremum_of_means`), and ``Q(t0) <= E[average of X over the
      points in [t0/2, t0]]`` (a min is at most a mean), a t-interval on per-seed window
      averages; the mirror pair bounds the slope from above (``Q(K)`` by the window [K/2, K]).
    - ``avg``: the per-seed running averages at t0 and K are i.i.d. over seeds: t-intervals.

    The earlier proxy (mean over seeds of the per-seed slope of the running min) bounded
    ``E min_k X_k``, which is at most ``min_k E X_k`` and can keep falling on a run that has
    stalled (a lucky dip of one seed): a stalled AdaGrad passed it (issue 12's power study).
    """
    mat, iters = measure.evaluated(df, column)
    if bound.metric_id == "grad_sq_slope":
        order = (-0.5, 1.0)  # the slope template tends to -1/2; the log factor gives the band
    else:
        order = _loglog_order(bound)
    order_v, p_log = order if order else (-0.5, 1.0)
    t = iters.astype(float) + 1.0
    i0 = int(np.searchsorted(t, t[-1] ** 0.5, side="right")) - 1 if t.size else -1
    if mat.size == 0 or mat.shape[1] < 6 or i0 < 1 or not t[-1] > t[i0]:
        return Measured(Interval(math.nan, math.nan, math.nan, 0, alpha), None, "UPPER", "slope",
                        decision=Decision(Verdict.INCONCLUSIVE,
                                          "too few evaluated points to fit a slope"))
    t0, tk, half = t[i0], t[-1], alpha / 2
    span = math.log(tk / t0)
    if running == "min":
        ends = _min_curve_ends(mat, t, i0, half)
        curve = measure.running_min(mat)
        what = f"secant log-log slope of min_k E {column}"
    else:
        avg = np.nancumsum(mat, axis=1) / np.arange(1, mat.shape[1] + 1)
        a0, ak = stats.mean_interval(avg[:, i0], half), stats.mean_interval(avg[:, -1], half)
        ends = {"Q0": a0.value, "QK": ak.value, "Q0_lo": a0.low, "Q0_hi": a0.high,
                "QK_lo": ak.low, "QK_hi": ak.high}
        curve = avg
        what = f"secant log-log slope of (1/t) sum_k E {column}"
    s = _log_ratio(ends["QK"], ends["Q0"]) / span
    s_lo = _log_ratio(ends["QK_lo"], ends["Q0_hi"]) / span
    s_hi = _log_ratio(ends["QK_hi"], ends["Q0_lo"]) / span
    from asyncbound.theory.papers.gratton_toint2026 import slope_band

    band_lo, band_hi = slope_band(t0, p_log)
    target = band_hi + (order_v - band_lo)
    if s == -math.inf:
        # Q(K) = 0 exactly (every seed's X is 0 at some point: a stationary point reached, e.g. a
        # redescending loss whose gradient underflows far out): the rate holds there trivially;
        # a slope of -inf is no divergence: report the upper end (the least favourable slope the
        # data allow), which decides; without one, the allowance itself (undecided)
        s = s_hi if math.isfinite(s_hi) else target
    allowance = band_hi - band_lo
    note = (f"ASYMPTOTIC bound: finite-run proxy = secant log-log slope of the running {running} "
            f"of E {column} (expectation over seeds inside) between t0 = {t0:.0f} and K = {tk:.0f}, "
            f"claimed order {order_v:g} in K plus {allowance:.3f} for a log^{p_log:g} factor")
    iv = Interval(s, s_lo, s_hi, int(mat.shape[0]), alpha,
                  f"end points at alpha/2 each: Q(t0) in [{ends['Q0_lo']:.4g}, {ends['Q0_hi']:.4g}], "
                  f"Q(K) in [{ends['QK_lo']:.4g}, {ends['QK_hi']:.4g}]")
    series = band_series(iters, curve, alpha)
    return Measured(iv, target, "UPPER", what, note=note, series=series,
                    extra={"proxy": {"order": order_v, "log_power": p_log, "fit_from": t0,
                                     "secant": {k: stats.finite_or_none(v) for k, v in ends.items()}}})


def _min_curve_ends(mat: np.ndarray, t: np.ndarray, i0: int, half: float) -> dict:
    """Point values and one-sided bounds (level 1 - ``half`` each) of Q(t) = min_{k<=t} E X_k at
    t0 = t[i0] and at K = t[-1] (see :func:`_slope_proxy`). The lower ends are
    :func:`stats.extremum_of_means`' (per-point t bounds, exact at the argmin); the upper ends
    use a window instead of its Bonferroni side: Q is at most the mean of E X over any window
    before it, a t-bound on per-seed window averages."""
    def window_upper(sel) -> float:
        return stats.mean_interval(np.nanmean(mat[:, sel], axis=1), half).high

    at_t0 = stats.extremum_of_means(mat[:, :i0 + 1], half, "min")
    at_k = stats.extremum_of_means(mat, half, "min")
    w0 = (t >= t[i0] / 2) & (np.arange(t.size) <= i0)
    return {"Q0": at_t0.value, "QK": at_k.value, "Q0_lo": at_t0.low, "Q0_hi": window_upper(w0),
            "QK_lo": at_k.low, "QK_hi": window_upper(t >= t[-1] / 2)}


def _log_ratio(num: float, den: float) -> float:
    """ln(num/den) for a non-negative quantity: -inf when num <= 0 (it reached 0), +inf when
    den <= 0 (nothing to compare against), nan when either is nan."""
    if not (math.isfinite(num) and math.isfinite(den)):
        return math.nan
    if num <= 0:
        return -math.inf
    if den <= 0:
        return math.inf
    return math.log(num / den)


def _stationarity_proxy(bound, df, alpha) -> Measured:
    mat, iters = measure.evaluated(df, "grad_norm_sq")
    if mat.size == 0 or mat.shape[1] < 10:
        mat, iters = measure.evaluated(df, "loss")
    n = mat.shape[1]
    w = max(1, n // 5)
    early = np.nanmean(mat[:, :w], axis=1)
    late = np.nanmean(mat[:, -w:], axis=1)
    ratio = late / np.where(early > 0, early, np.nan)
    iv = stats.mean_interval(ratio[np.isfinite(ratio)], alpha)
    note = ("ASYMPTOTIC bound (w.p.1 convergence to stationarity, no rate): finite-run proxy = "
            "mean stationarity measure over the last fifth / over the first fifth of the run, "
            "which convergence requires to be < 1")
    return Measured(iv, 1.0, "UPPER", "late/early stationarity ratio", note=note,
                    series=band_series(iters, mat, alpha))


def measure_metric(bound, df, problem, trace, vals: dict, alpha: float, check) -> Measured:
    """Interval for the bound's metric and the bound's value (or a proxy for ASYMPTOTIC)."""
    kind = getattr(bound.kind, "value", str(bound.kind))
    mid = bound.metric_id
    if kind == "ASYMPTOTIC" or (bound.expr_symbols() & {"C0", "C1", "C2", "p_log"}):
        if mid == "stationarity":
            return _stationarity_proxy(bound, df, alpha)
        col = "loss" if mid in ("final_gap", "avg_gap") else "grad_norm_sq"
        if mid in ("final_gap", "avg_gap") and problem.f_star is not None:
            df = df.assign(loss=df["loss"] - problem.f_star)
        running = "avg" if mid.startswith("avg") else "min"
        return _slope_proxy(bound, df, alpha, col, running)
    from asyncbound.theory.symbols import SYMBOLS

    allvals, vals = vals, {k: v for k, v in vals.items() if k in SYMBOLS}
    bfun = _bound_at(bound, vals)
    bval = bound.evaluate(**vals)
    f_star = problem.f_star
    if mid == "min_grad_sq":
        mat, iters = measure.evaluated(df, "grad_norm_sq")
        iv = stats.extremum_of_means(mat, alpha, "min")
        means = np.minimum.accumulate(np.nanmean(mat, axis=0))
        series = band_series(iters, measure.running_min(mat), alpha, bfun)
        series["mean"] = means[_thin(iters)].tolist()
        return Measured(iv, bval, bound.kind, "min_k E||grad f||^2", series=series)
    if mid == "avg_grad_sq":
        mat, iters = measure.evaluated(df, "grad_norm_sq")
        iv = stats.nonneg_mean_interval(measure.per_seed_average(mat), alpha)
        run_avg = np.nancumsum(mat, axis=1) / np.arange(1, mat.shape[1] + 1)
        every = int(iters[1] - iters[0]) if len(iters) > 1 else 1
        note = "" if every == 1 else f"average over every {every}-th update"
        return Measured(iv, bval, bound.kind, "(1/K) sum E||grad f||^2", note=note,
                        series=band_series(iters, run_avg, alpha, bfun))
    if mid in ("final_gap", "avg_gap"):
        mat, iters = measure.evaluated(df, "loss")
        gap = mat - (f_star if f_star is not None else 0.0)
        if mid == "final_gap":
            # The bound holds at every k (a run stopped at k is a run of k updates), and decreases
            # in k; so the mean of f(x_k) - f* over the last half of the run is bounded by the
            # bound at the window's first k. Averaging the window per seed cuts the variance of
            # a single final value several-fold, at no cost in validity.
            if "K" in bound.expr_symbols() and gap.shape[1] >= 4:
                half = gap.shape[1] // 2
                k_start = int(iters[half]) + 1
                bwin = bound.evaluate(**{**vals, "K": k_start})
                iv = stats.nonneg_mean_interval(np.nanmean(gap[:, half:], axis=1), alpha)
                return Measured(iv, bwin, bound.kind, f"mean over k in [{k_start}, {int(iters[-1]) + 1}] of E f(x_k) - f*",
                                note=f"bound evaluated at K = {k_start}, the window's start",
                                series=band_series(iters, gap, alpha, bfun))
            iv = stats.nonneg_mean_interval(measure.final_values(gap), alpha)
            return Measured(iv, bval, bound.kind, "E f(x_K) - f*", series=band_series(iters, gap, alpha, bfun))
        iv = stats.nonneg_mean_interval(measure.per_seed_average(gap), alpha)
        run_avg = np.nancumsum(gap, axis=1) / np.arange(1, gap.shape[1] + 1)
        return Measured(iv, bval, bound.kind, "(1/K) sum f(x_k) - f* (>= f(xbar) - f* by Jensen)",
                        note="the averaged iterate is not recorded; the average of f over the run "
                             "is an upper estimate of f(xbar) - f* for convex f",
                        series=band_series(iters, run_avg, alpha, bfun),
                        fail_is_inconclusive="the estimate over-states the metric, so a violation by it is not conclusive")
    if mid == "final_dist_sq":
        xs = getattr(problem, "x_star", None)
        fp = getattr(trace, "final_params", None)
        if xs is None or fp is None:
            return Measured(Interval(math.nan, math.nan, math.nan, 0, alpha), bval, bound.kind,
                            "E||x_K - x*||^2", decision=Decision(
                                Verdict.NOT_APPLICABLE,
                                "x* or the final parameters are unknown for this run"))
        d2 = np.sum((np.atleast_2d(np.asarray(fp, dtype=float)) - np.asarray(xs, dtype=float)) ** 2, axis=-1)
        iv = stats.nonneg_mean_interval(d2, alpha)
        return Measured(iv, bval, bound.kind, "E||x_K - x*||^2")
    if mid == "view_gap":
        mat, iters = measure.view_gap_matrix(df)
        if mat.size == 0:
            return Measured(Interval(math.nan, math.nan, math.nan, 0, alpha), bval, bound.kind,
                            "max_t E||x_t - v_t||", decision=Decision(
                                Verdict.NOT_APPLICABLE,
                                "the backend did not measure the view gap"))
        iv = stats.extremum_of_means(mat, alpha, "max")
        b_meas = allvals.get("B_measured")
        extra = {"elastic": {"B_formula": vals.get("B"), "B_measured": b_meas,
                             "B_measured_over_formula": (b_meas / vals["B"]) if b_meas and vals.get("B") else None}}
        return Measured(iv, bval, bound.kind, "max_t E||x_t - v_t||", series=band_series(iters, mat, alpha),
                        extra=extra)
    if mid == "staleness_max":
        s = measure.staleness_max_per_seed(df)
        v = float(np.max(s)) if s.size else math.nan
        return Measured(Interval(v, v, v, int(s.size), alpha, "max over seeds (deterministic)"), bval,
                        bound.kind, "max staleness")
    if mid == "grad_sq_slope":
        return _slope_proxy(bound, df, alpha)
    if mid == "stationarity":
        return _stationarity_proxy(bound, df, alpha)
    raise ValueError(f"unknown metric id {mid!r} of bound {bound.key}")
