"""Verdicts: what a confidence interval says about a bound, decided by the bound's kind.

- PASS: the whole interval is on the side the theorem claims (within ``RTOL``).
- FAIL: the whole interval is on the wrong side: the theorem's claim is contradicted with
  false-alarm probability at most the check's alpha.
- INCONCLUSIVE: the interval straddles the bound (too wide to decide).
- NOT_APPLICABLE: an assumption or side condition of the theorem does not hold for this run
  (e.g. measured staleness above the tau the step size was solved for), so the theorem says
  nothing and neither do we.
- DIVERGED: the run produced NaN/inf; the evidence (update index, last finite values) is kept.

``ASYMPTOTIC`` bounds have no finite-run value; their checks build a finite-run proxy (a slope,
a decrease between windows) and decide it as an UPPER/LOWER claim, saying so in the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from asyncbound.checks.stats import MAX_REL_WIDTH, RTOL, Interval


class Verdict(str, Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    DIVERGED = "DIVERGED"
    #: the check itself crashed (a rule or factory that raises, a backend failure): a defect
    #: of the variant or the run, never "more seeds would decide" (issue 16)
    ERROR = "ERROR"

    def __str__(self) -> str:  # pragma: no cover - cosmetic
        return self.value


#: verdicts that make ``asyncbound verify`` exit 1. A divergence under the theorem's own
#: conditions with certified constants is already decided as FAIL (the bound claimed a finite
#: value); a DIVERGED verdict is one where the theorem made no claim (a condition failed, or its
#: constants were measured on the diverging run), so it is evidence, not a contradiction.
FAILING = frozenset({Verdict.FAIL, Verdict.ERROR})


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str


def _kind_name(kind) -> str:
    name = getattr(kind, "name", None) or getattr(kind, "value", None) or str(kind)
    return str(name).upper().split(".")[-1]


def tolerance(bound: float, rtol: float = RTOL) -> float:
    return rtol * abs(bound) if bound != 0 else rtol * 1e-12


def _g(v: float) -> str:
    return f"{v:.4g}"


def decide(kind, interval: Interval, bound: float, *, rtol: float = RTOL,
           what: str = "measured", proxy_note: str = "") -> Decision:
    """Decide a claim ``measured <kind> bound`` from a one-sided-bounds interval.

    kind UPPER: the claim is E[metric] <= bound; LOWER: E[metric] >= bound; TIGHT: equal within
    rtol. ASYMPTOTIC must be translated by the caller into one of these (see module docstring);
    passed here it is treated as UPPER on the caller's proxy.
    """
    k = _kind_name(kind)
    if k == "ASYMPTOTIC":
        k = "UPPER"
    note = f" ({proxy_note})" if proxy_note else ""
    if not math.isfinite(bound):
        return Decision(Verdict.INCONCLUSIVE, f"the bound evaluates to {bound}, nothing to compare{note}")
    # an infinite end point says "no information on that side" (a proxy whose lower end is
    # ln 0: the data cannot keep a nonnegative quantity away from 0); it decides nothing there
    if not math.isfinite(interval.value) or math.isnan(interval.low) or math.isnan(interval.high):
        return Decision(Verdict.DIVERGED, f"{what} is not finite ({interval.value}){note}")
    lo, hi, tol = interval.low, interval.high, tolerance(bound, rtol)
    ci = f"{what} {_g(interval.value)} [{_g(lo)}, {_g(hi)}] (n={interval.n}, alpha={interval.alpha:.2g})"
    width = (hi - lo) / abs(bound) if bound else math.inf
    if k == "UPPER":
        if hi <= bound + tol:
            return Decision(Verdict.PASS, f"{ci} is below the bound {_g(bound)}{note}")
        if lo > bound + tol:
            return Decision(Verdict.FAIL, f"{ci} is entirely above the bound {_g(bound)}{note}")
    elif k == "LOWER":
        if lo >= bound - tol:
            return Decision(Verdict.PASS, f"{ci} is above the bound {_g(bound)}{note}")
        if hi < bound - tol:
            return Decision(Verdict.FAIL, f"{ci} is entirely below the bound {_g(bound)}{note}")
    elif k == "TIGHT":
        if lo >= bound - tol and hi <= bound + tol:
            return Decision(Verdict.PASS, f"{ci} is within rtol={rtol} of {_g(bound)}{note}")
        if hi < bound - tol or lo > bound + tol:
            return Decision(Verdict.FAIL, f"{ci} is outside rtol={rtol} of {_g(bound)}{note}")
    else:
        raise ValueError(f"unknown bound kind {kind!r}")
    wide = " (interval wider than the bound itself)" if width > MAX_REL_WIDTH else ""
    return Decision(Verdict.INCONCLUSIVE,
                    f"{ci} straddles the bound {_g(bound)}{wide}; more seeds would decide{note}")


def not_applicable(failed_conditions: list[dict]) -> Decision:
    parts = [f"{c.get('condition') or c.get('text')} fails ({_g(c['lhs'])} vs {_g(c['rhs'])})"
             if isinstance(c.get("lhs"), (int, float)) and isinstance(c.get("rhs"), (int, float))
             else f"{c.get('condition') or c.get('text')} fails" for c in failed_conditions]
    return Decision(Verdict.NOT_APPLICABLE,
                    "side condition not met, the theorem makes no claim: " + "; ".join(parts))


def worst(verdicts) -> Verdict:
    """Summary verdict of several (ERROR > FAIL > DIVERGED > INCONCLUSIVE > NOT_APPLICABLE > PASS)."""
    order = [Verdict.ERROR, Verdict.FAIL, Verdict.DIVERGED, Verdict.INCONCLUSIVE, Verdict.NOT_APPLICABLE, Verdict.PASS]
    vs = {Verdict(v) for v in verdicts}
    for v in order:
        if v in vs:
            return v
    return Verdict.NOT_APPLICABLE


def before_metric(*, unbound: list[str], problem: str, divergence: dict | None,
                  failed: list[dict], run_measured: list[str], region: Decision | None = None,
                  assumes_bounded_iterates: bool = False) -> Decision | None:
    """The cascade decided before any metric is estimated; None: go on and measure.

    1. a symbol of the bound or its conditions has no value (``unbound``): NOT_APPLICABLE, the
       theorem's assumptions are not certified on this problem, divergence or not;
    1b. a certified constant holds on a region the run left (``region``, from
       ``applicability.region_exit``): NOT_APPLICABLE with the first exit;
    1c. the run diverged and the theorem assumes bounded iterates (``assumes_bounded_iterates``):
       the iterates left every bounded set, NOT_APPLICABLE with the evidence;
    2. the run diverged (``divergence``, the evidence): DIVERGED when the bound's run-dependent
       constants (``run_measured``) were measured on the diverging run or a side condition failed
       (the theorem made no claim), else FAIL (every condition held and the bound claims a
       finite value);
    3. a side condition failed (``failed``): NOT_APPLICABLE.
    """
    if unbound:
        return Decision(Verdict.NOT_APPLICABLE, f"assumption not certified on problem '{problem}': "
                                                f"no value for {', '.join(unbound)}")
    if region is not None:
        return region
    if divergence is not None and assumes_bounded_iterates:
        ev = divergence
        return Decision(Verdict.NOT_APPLICABLE,
                        f"the iterates left every bounded set ({ev['column']} = {ev['value']} at update "
                        f"{ev['update']}, seed {ev['seed']}): the theorem assumes bounded iterates, "
                        "so it makes no claim about this run")
    if divergence is not None:
        ev = divergence
        where = f"{ev['column']} = {ev['value']} at update {ev['update']}"
        if run_measured:
            return Decision(Verdict.DIVERGED, f"run diverged ({where}); the bound's "
                                              f"{', '.join(run_measured)} were measured on this "
                                              "diverging run, so the bound is vacuous")
        if failed:
            return Decision(Verdict.DIVERGED, f"run diverged ({where}); the theorem's conditions "
                                              "did not all hold, so it makes no claim")
        return Decision(Verdict.FAIL, f"run diverged ({where}, seed {ev['seed']}) although every "
                                      "side condition held: the bound claims a finite value")
    if failed:
        return not_applicable(failed)
    return None
