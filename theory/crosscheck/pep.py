r"""Performance-estimation problems (PEPs) of deterministic delayed gradient descent.

The algorithm of every derived bound, specialised to sigma = 0, is

    x_{k+1} = x_k - eta * grad f(x_{k - tau_k}),   k = 0..K-1,   0 <= tau_k <= tau,

where the delayed gradient is the gradient at a *stored earlier iterate* (the PEP has one point
per iterate x_0..x_K; a gradient is evaluated at x_j only if some update reads x_j, plus at the
points the metric or an assumption speaks of). The worst case of a metric over a function class
is then a semidefinite programme over the Gram matrix of {x_0 - x_ref, gradients} and the
function values (Drori & Teboulle 2014; Taylor, Hendrickx & Glineur 2017, arXiv:1502.05666,
whose interpolation conditions PEPit 0.5 implements). PEPit builds and solves it.

Encodings (each one a *relaxation* unless said exact: every constraint below is a necessary
condition satisfied by every function of the class, so the PEP's optimum is an UPPER bound on the
true worst case -- what a validity certificate needs; a ratio <= 1 certifies the bound on that
configuration, and tightness ratios are upper estimates of the true tightness):

- "f(x_0) - f* <= F0 with f* = inf f" for L-smooth, possibly non-convex f (no minimiser needs
  to exist): f* is a free scalar, not a point. Constraints: f_0 - f* <= F0, and for every point
  x_i of the PEP f_i - ||g_i||^2 / (2L) >= f* (one gradient step from x_i with step 1/L
  decreases f by at least ||g_i||^2/(2L), and f* is a lower bound of every value). Placing a
  stationary point with value f* instead would be unsound (the infimum need not be attained)
  and merely writing f_0 - f_K <= F0 would be a weaker (still sound) relaxation.
- Strongly convex f: the minimiser x* exists and is unique; it is a PEP point with g* = 0 and the
  smooth strongly convex interpolation conditions (exact, Taylor et al. Thm 4).
- Interpolation conditions of L-smooth non-convex functions (Taylor et al. Thm 3.10) are
  necessary conditions; they are exact for the points alone, and with the f* constraints above
  they form a relaxation.
- Second-moment bounds of the elastic-consistency theorems (sigma = 0: ||grad f(v_t)||^2 <= M^2
  at the evaluated gradients; the toolkit's reading of nonconvex_M adds ||grad f(x_t)||^2 <= M^2
  at every iterate) and the view gap ||x_t - v_t||^2 <= eta^2 B^2 are constraints of the PEP.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class PepSolution:
    """Worst case of one PEP: the solver's dual (certified upper) and primal values."""

    dual: float | None
    primal: float | None
    f_values: list = field(default_factory=list)  # worst-case f(x_k) - f*, k = 0..K
    grad_norms: list = field(default_factory=list)  # ||grad f(x_k)|| where evaluated, else None

    @property
    def worst(self) -> float | None:
        return self.dual

    @property
    def accuracy(self) -> float:
        if self.dual is None or self.primal is None:
            return float("inf")
        return abs(self.dual - self.primal)


#: SDP solvers in order of preference (both open source, both installed with cvxpy's extra);
#: SCS, first-order, is the fallback when Clarabel's interior point fails to converge
SOLVERS = (("CLARABEL", {}), ("SCS", {"eps": 1e-9, "max_iters": 200_000}))


class SolverFailed(RuntimeError):
    """No solver returned a solution for this PEP."""


def _pepit():
    import cvxpy  # noqa: F401  (fail here, not inside PEPit, when the extra is absent)
    import PEPit
    from PEPit import functions

    return PEPit, functions


def _solve(problem) -> tuple[float | None, float | None]:
    import cvxpy as cp

    dual = None
    for solver, opts in SOLVERS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # an "inaccurate" status still returns both values; |dual - primal| is then
            # reported as the accuracy and enters the tolerance
            try:
                dual = problem.solve(wrapper="cvxpy", solver=getattr(cp, solver), verbose=0, **opts)
            except cp.error.SolverError as exc:
                log.info("solver %s failed (%s); trying the next one", solver, exc)
                continue
        for w in caught:
            log.debug("solver %s: %s", solver, w.message)
        break
    else:
        raise SolverFailed("every solver failed: " + ", ".join(s for s, _ in SOLVERS))
    if dual is None:
        return None, None
    return float(dual), float(problem.objective.eval())


def delayed_gd(*, cls: str, K: int, delays, eta: float, L: float, mu: float = 0.0,
               F0: float | None = None, r0_sq: float | None = None, M: float | None = None,
               M_at_iterates: bool = False, B: float | None = None, metric: str,
               t_gap: int | None = None) -> PepSolution:
    """Worst case of ``metric`` for delayed GD with delay sequence ``delays`` (len K).

    cls: "smooth" (L-smooth, f* = inf f by the relaxation of the module docstring) or
    "strongly_convex" (L-smooth mu-strongly convex, x* a PEP point).
    metric: "avg_grad_sq" = (1/K) sum_{k=1..K} ||grad f(x_k)||^2 ("avg_grad_sq_0": k = 0..K-1); "final_gap" = f(x_K) - f*;
    "final_dist_sq" = ||x_K - x*||^2; "view_gap_sq" = ||x_t - x_{t - tau_t}||^2 at t = t_gap.
    Initial conditions: F0 bounds f(x_0) - f*, r0_sq bounds ||x_0 - x*||^2 (either or both).
    """
    if len(delays) != K or any(not 0 <= d <= k for k, d in enumerate(delays)):
        raise ValueError(f"delays must have length K={K} with 0 <= tau_k <= k, got {delays!r}")
    PEPit, functions = _pepit()
    problem = PEPit.PEP()
    if cls == "smooth":
        func = problem.declare_function(functions.SmoothFunction, L=L)
        xs = None
        fstar = PEPit.Expression()  # a free scalar: the infimum, not a point
    elif cls == "strongly_convex":
        func = problem.declare_function(functions.SmoothStronglyConvexFunction, L=L, mu=mu)
        xs = func.stationary_point()
        fstar = func(xs)
    else:
        raise ValueError(f"cls must be 'smooth' or 'strongly_convex', got {cls!r}")
    x = [problem.set_initial_point()]
    grads: dict[int, object] = {}
    vals: dict[int, object] = {}

    def oracle(j):
        if j not in grads:
            grads[j], vals[j] = func.oracle(x[j])
        return grads[j]

    for k in range(K):
        x.append(x[k] - eta * oracle(k - delays[k]))
    need = set()
    if metric == "avg_grad_sq":
        need |= set(range(1, K + 1))
    if metric == "avg_grad_sq_0":
        need |= set(range(K))
    if metric == "final_gap" or cls == "smooth":
        need |= {0, K}
    if M_at_iterates:
        need |= set(range(K + 1))
    for j in sorted(need):
        oracle(j)
    if F0 is not None:
        oracle(0)
        problem.set_initial_condition(vals[0] - fstar <= F0)
    if r0_sq is not None:
        if xs is None:
            raise ValueError("r0_sq needs a minimiser (cls='strongly_convex')")
        problem.set_initial_condition((x[0] - xs) ** 2 <= r0_sq)
    if cls == "smooth":
        for j in grads:
            problem.add_constraint(vals[j] - grads[j] ** 2 / (2 * L) >= fstar)
    if M is not None:
        evaluated = {k - delays[k] for k in range(K)}
        for j in sorted(grads):
            if j in evaluated or M_at_iterates:
                problem.add_constraint(grads[j] ** 2 <= M**2)
    if B is not None:
        for k in range(K):
            if delays[k]:
                problem.add_constraint((x[k] - x[k - delays[k]]) ** 2 <= (eta * B) ** 2)
    if metric == "avg_grad_sq":
        problem.set_performance_metric(sum(grads[k] ** 2 for k in range(1, K + 1)) / K)
    elif metric == "avg_grad_sq_0":
        problem.set_performance_metric(sum(grads[k] ** 2 for k in range(K)) / K)
    elif metric == "final_gap":
        problem.set_performance_metric(vals[K] - fstar)
    elif metric == "final_dist_sq":
        problem.set_performance_metric((x[K] - xs) ** 2)
    elif metric == "view_gap_sq":
        t = K - 1 if t_gap is None else t_gap
        problem.set_performance_metric((x[t] - x[t - delays[t]]) ** 2)
    else:
        raise ValueError(f"unknown metric {metric!r}")
    dual, primal = _solve(problem)
    sol = PepSolution(dual=dual, primal=primal)
    if dual is not None:
        fs = float(fstar.eval())
        sol.f_values = [float(vals[j].eval()) - fs if j in vals else None for j in range(K + 1)]
        sol.grad_norms = [float((grads[j] ** 2).eval()) ** 0.5 if j in grads else None
                          for j in range(K + 1)]
    return sol
