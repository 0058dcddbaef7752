"""Does the theorem apply to this run? (issue 17: a check only where its theorem applies)

A correct algorithm must never FAIL a bound whose theorem does not cover the run. Each test here
turns a run outside the theorem into NOT_APPLICABLE with the assumption that fails named, or
decides it against what the arithmetic can resolve:

- :func:`outside_class` (before running): the bound's algorithm class
  (:mod:`asyncbound.theory.coverage`) against the problem (does it project?) and the run's
  hyperparameters (options the proof fixes, e.g. momentum = 0 for plain SGD);
- :func:`region_exit` (after running): a constant certified on a region only (the problem's
  ``regions``) is valid while the run stays inside; the first certain exit is the evidence;
- :func:`roundoff_floor` / :func:`decide_at_floor`: a bound below what the dtype can resolve at
  the problem's scale is decided against that floor instead;
- :func:`grown` : constants measured on the run itself (M, B, ...) that grow with the horizon;
  a bound presuming them bounded cannot PASS such a run;
- :func:`stable_step`: the largest step for which delayed GD is stable on an L-smooth
  quadratic (the worst case of the class), used by the planner.
"""

from __future__ import annotations

import math

import numpy as np
from asyncbound.checks.verdicts import Decision, Verdict

#: the floor is ROUNDOFF_FACTOR * d * eps(dtype) * scale: each of the d coordinates of an iterate
#: is held to relative precision eps, and the metric (f - f*, ||grad f||^2, ||x - x*||^2) is a
#: sum of d terms computed from them; the factor 4 covers the few roundings of each term.
#: Below it a measured value is round-off, whatever the algorithm.
ROUNDOFF_FACTOR = 4.0
#: a run whose mean ||g|| over the last GROWTH_WINDOW of its updates exceeds GROWTH_FACTOR times
#: its mean over the first carries run-measured constants that grow with the horizon (a
#: converging or stationary run has a ratio <= 1 up to noise; a window mean over >= 8 seeds and
#: >= 10% of the updates fluctuates far less than 2x in norm)
GROWTH_FACTOR, GROWTH_WINDOW = 2.0, 0.1


#: assumptions whose constant can only be certified (a run gives at best a lower estimate of L,
#: nothing of mu: theory.assumptions), with the problem flag that must hold for them
CERTIFY_ONLY = {"smooth": ("L", "smooth"), "strongly_convex": ("mu", "convex")}


def uncertified(bound, problem, overrides: dict) -> Decision | None:
    """NOT_APPLICABLE (before running) when an assumption that can only be certified is not, on
    this problem: L-smoothness of a nonsmooth problem, strong convexity without a mu > 0."""
    reasons = []
    for a in bound.assumptions:
        if a.key not in CERTIFY_ONLY:
            continue
        sym, flag = CERTIFY_ONLY[a.key]
        if sym in (overrides or {}):
            continue
        value = (getattr(problem, "constants", {}) or {}).get(sym)
        if not getattr(problem, flag, True):
            reasons.append(f"{a.title}: problem '{problem.name}' is not {flag}")
        elif value is None or not value > 0:
            reasons.append(f"{a.title}: problem '{problem.name}' certifies no {sym} > 0")
    if not reasons:
        return None
    return Decision(Verdict.NOT_APPLICABLE, "assumption not certified (before running): " + "; ".join(reasons))


def outside_class(bound, problem, hparams: dict, *, conjecture: bool = False,
                  notes: list | None = None) -> Decision | None:
    """NOT_APPLICABLE when the run's algorithm is not in the class the bound covers, else None.

    A *conjecture* (``registry.is_conjecture``: a variant claiming the bound for its own
    algorithm) is outside the class on purpose: its options the theorem fixes are appended to
    ``notes`` instead (the claim is checked as stated); the domain (projection) still decides,
    since an unconstrained conclusion is false at a constrained optimum whatever the algorithm.
    """
    from asyncbound.theory.coverage import BOX_DOMAINS, covers

    cls = covers(bound)
    reasons, options = [], []
    projects = bool(getattr(problem, "projects", False))  # every projection here is a box clamp
    if projects and cls.domain not in BOX_DOMAINS:
        reasons.append(f"problem '{problem.name}' projects onto a box, the theorem is about "
                       f"unconstrained steps ({cls.step}); at a constrained optimum grad f != 0")
    if cls.domain == "projected" and not projects:
        reasons.append(f"problem '{problem.name}' does not project, the theorem is about the "
                       f"projected iteration ({cls.step})")
    for name, value in cls.fixed.items():
        have = hparams.get(name, value)
        try:
            same = float(have) == float(value)
        except (TypeError, ValueError):
            same = have == value
        if not same:
            options.append(f"option {name}={have!r} is outside the theorem's algorithm "
                           f"({cls.step}: {name} = {value!r})")
    if conjecture and options and notes is not None:
        notes.append("conjecture: " + "; ".join(options) + "; the claim is checked as the variant "
                     "states it")
    if not conjecture:
        reasons += options
    if not reasons:
        return None
    return Decision(Verdict.NOT_APPLICABLE, "outside the algorithm class of the theorem: " + "; ".join(reasons))


def region_exit(df, problem, constants: dict) -> Decision | None:
    """NOT_APPLICABLE with the first certain exit when a certified constant of the run
    (``constants``: name -> binding.Constant) holds on a region the run left; None otherwise.

    The trace records f(x_k) at evaluated updates, not x_k. For a region ``||x - x*|| <= R`` of
    an unconstrained L-smooth problem (grad f(x*) = 0), f(x) - f* <= L/2 ||x - x*||^2, so
    ``2 (f(x_k) - f*) / L > R^2`` proves the exit; with mu > 0, ``2 (f - f*) / mu <= R^2`` proves
    the stay. Between the two the stay is not verified: NOT_APPLICABLE as well, saying so.
    Iterates between evaluated updates are not seen (eval_every)."""
    regions = getattr(problem, "regions", {}) or {}
    used = [n for n in regions if n in constants and constants[n].origin == "certified"]
    if not used or problem.f_star is None or "loss" not in df:
        return None
    L, mu = problem.constants.get("L"), problem.constants.get("mu") or 0.0
    rows = df[np.isfinite(df["loss"]) | np.isinf(df["loss"])] if len(df) else df
    rows = rows[~rows["loss"].isna()]
    if not len(rows) or L is None:
        return None
    for name in used:
        reg = regions[name]
        gap = rows["loss"].to_numpy(dtype=float) - problem.f_star
        lo = 2.0 * gap / L  # ||x - x*||^2 >= lo
        out = np.flatnonzero(~(lo <= reg.radius ** 2))
        if out.size:
            i = int(out[0])
            r = rows.iloc[i]
            return Decision(Verdict.NOT_APPLICABLE,
                            f"{name} is certified on {reg.describe()} only, and the run left it: "
                            f"at update {int(r['update'])} (seed {int(r['seed'])}) f - f* = {gap[i]:.4g}, "
                            f"so ||x - x*||^2 >= 2 (f - f*)/L = {lo[i]:.4g} > R^2 = {reg.radius ** 2:.4g}")
        hi = 2.0 * gap / mu if mu > 0 else np.full_like(gap, math.inf)
        if not bool(np.all(hi <= reg.radius ** 2)):
            return Decision(Verdict.NOT_APPLICABLE,
                            f"{name} is certified on {reg.describe()} only, and the run's stay inside "
                            f"cannot be verified from f (max 2 (f - f*)/mu = {float(np.max(hi)):.4g} "
                            f"> R^2 = {reg.radius ** 2:.4g})")
    return None


def roundoff_floor(bound, vals: dict, problem) -> tuple[float, str] | None:
    """(floor, how) in the units of the bound's metric, or None when its scale is unknown.

    Scale at the start of the run: F0 (+ |f*|, the magnitude f is computed at) for gap metrics,
    2 L F0 >= ||grad f(x0)||^2 for gradient metrics, r0_sq for distances."""
    import torch

    eps = float(torch.finfo(getattr(problem, "dtype", torch.float64)).eps)
    d = float(getattr(problem, "dim", 1))
    mid = getattr(bound, "metric_id", "")
    F0, L, r0 = vals.get("F0"), vals.get("L"), vals.get("r0_sq")
    f_star = abs(problem.f_star or 0.0)
    if mid in ("final_gap", "avg_gap") and F0 is not None:
        scale, what = F0 + f_star, "F0 + |f*|"
    elif mid in ("min_grad_sq", "avg_grad_sq") and F0 is not None and L is not None:
        scale, what = 2 * L * F0, "2 L F0"
    elif mid == "final_dist_sq" and r0 is not None:
        scale, what = r0, "||x0 - x*||^2"
    else:
        return None
    floor = ROUNDOFF_FACTOR * d * eps * scale
    return floor, (f"arithmetic floor {ROUNDOFF_FACTOR:g} d eps ({what}) = {ROUNDOFF_FACTOR:g} x {d:g} x "
                   f"{eps:.3g} x {scale:.4g} = {floor:.3g}")


def decide_at_floor(interval, bound_value: float, floor: float, how: str, what: str) -> Decision:
    """A bound below the floor claims "round-off": PASS when the interval is at or below the floor,
    FAIL when it is entirely above (the run did not get where the theorem says), else INCONCLUSIVE."""
    head = (f"the bound {bound_value:.4g} is below the {how}, so it is decided against the floor: "
            f"{what} {interval.value:.4g} [{interval.low:.4g}, {interval.high:.4g}] (n={interval.n})")
    if interval.high <= floor:
        return Decision(Verdict.PASS, head + " is at round-off")
    if interval.low > floor:
        return Decision(Verdict.FAIL, head + " is entirely above the floor")
    return Decision(Verdict.INCONCLUSIVE, head + " straddles the floor")


def grown(df, names: list[str]) -> dict | None:
    """Evidence that run-measured constants grow with the horizon: the per-update mean over seeds
    of ||g||^2 (the quantity M, B and sigma are estimated from), averaged over the last
    GROWTH_WINDOW of the updates against the first. A converging or stationary run ends at or
    below where it started (up to noise); a run ending GROWTH_FACTOR^2 times higher carries
    constants that a longer horizon would make larger still. None when it does not grow."""
    if not names or "sgrad_norm_sq" not in df or not len(df):
        return None
    per = df.groupby("update")["sgrad_norm_sq"].mean().dropna()
    if len(per) < 10:
        return None
    w = max(1, int(len(per) * GROWTH_WINDOW))
    a, b = float(per.iloc[:w].mean()), float(per.iloc[-w:].mean())
    if not (b > GROWTH_FACTOR ** 2 * a):
        return None
    return {"first_window_mean_g2": a, "last_window_mean_g2": b, "window_updates": w,
            "constants": list(names), "factor": b / a if a > 0 else math.inf}


def stable_step(L: float, tau: int, family: str) -> tuple[float, str]:
    """Largest stable step of delayed GD x_{k+1} = x_k - eta L x_{k-tau} on the worst L-smooth
    quadratic (eigenvalue L): eta L < 2 sin(pi / (2 (2 tau + 1))) for a constant delay tau (exact:
    the roots of z^{tau+1} - z^tau + eta L leave the unit disc there; tau = 0 gives GD's 2/L).
    For another family with delays <= tau it is the threshold of the worst schedule the theorem's
    delay class contains (every delay tau), not that family's own (not exact for it)."""
    t = 2 * math.sin(math.pi / (2 * (2 * tau + 1))) / L
    if family == "constant":
        return t, (f"delayed GD with constant delay {tau} is unstable for eta L >= "
                   f"2 sin(pi/(2(2 tau+1))) = {t * L:.4g} (exact)")
    return t, (f"delayed GD is unstable for eta L >= 2 sin(pi/(2(2 tau+1))) = {t * L:.4g} under the "
               f"constant delay {tau}, the worst schedule with delays <= {tau} (not exact for this family)")
