"""The metrics a bound may speak of: ``metric_id`` -> what is bounded (CONTRACTS §7, §8).

This list is the contract between theory and checks: every id here has an estimator in
``asyncbound.checks.metrics.measure_metric`` (a test compares the two), and a bound whose
``metric_id`` is not here is refused when it is registered (``theory.register_bound``). The list
lives in theory, not in checks, so that validating a bound stays torch-free and needs no import
of checks (theory never imports checks).
"""

from __future__ import annotations

__all__ = ["METRIC_IDS"]

METRIC_IDS: dict[str, str] = {
    "min_grad_sq": "min_k E||grad f(x_k)||^2 (running minimum of the mean over seeds)",
    "avg_grad_sq": "(1/K) sum_k E||grad f(x_k)||^2",
    "final_gap": "E f(x_K) - f* (mean over the last half of the run, bound at the window's start)",
    "avg_gap": "(1/K) sum_k E f(x_k) - f* (upper estimate of f(xbar) - f* for convex f)",
    "final_dist_sq": "E||x_K - x*||^2",
    "view_gap": "max_t E||x_t - v_t|| (elastic consistency: model against a worker's view)",
    "staleness_max": "the largest measured staleness (applied updates)",
    "grad_sq_slope": "log-log slope in K of the running min of ||grad f||^2 (a rate's order)",
    "stationarity": "late / early mean stationarity measure (w.p.1 convergence, no rate)",
}
