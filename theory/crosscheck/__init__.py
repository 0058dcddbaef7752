r"""Cross-check of the derived bounds against exact worst cases (performance estimation, PEPit).

An algebra check (sympy) cannot tell whether an inequality is true; performance estimation can,
for the deterministic specialisation (sigma = 0) of a bound: the worst case of the bound's metric
over its function class and over the delay sequences is an SDP (``pep``). ``crosscheck`` solves
it on a grid (``cases.GRIDS``: K, tau, delays tau_k = min(tau, k) and every adversarial sequence
for small K, step at the admissible maximum and half of it) and compares it with the registered
expression:

- VALID on the grid: every ratio worst/bound <= 1 + RTOL (the PEP is a relaxation -- see
  ``pep`` -- so its dual value is an upper bound on the true worst case: a certificate);
- INVALID: at some configuration the primal worst case (the objective at a solution of the
  relaxed PEP, feasible up to the solver's accuracy) exceeds bound * (1 + RTOL) + accuracy; the
  witness' function values f(x_k) - f* and gradient norms at the iterates are reported. For the
  strongly convex class the PEP is exact and the witness is a function of the class; for the
  non-convex class the witness satisfies the necessary conditions of the relaxation (a human
  checks it, as for nadiradze2021/nonconvex_M under its old reading, where the witness is the
  1-D function of issue 18).

PEPit, cvxpy and Clarabel are the optional extra ``asyncbound[pep]``, imported lazily: this
package (the stored table and ``status``) imports without them.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

from asyncbound.theory.crosscheck.results import STORED

log = logging.getLogger(__name__)

EXTRA = "pep"
INSTALL_HINT = "the cross-check needs the optional extra: pip install 'asyncbound[pep]'"
#: relative tolerance on worst/bound beyond the solver's own accuracy (Clarabel: ~1e-8)
RTOL = 1e-4


def missing_extra() -> str | None:
    """None when PEPit, cvxpy and Clarabel import; else the one-line install hint."""
    try:
        import clarabel  # noqa: F401
        import cvxpy  # noqa: F401
        import PEPit  # noqa: F401
    except ImportError:
        return INSTALL_HINT
    return None


@dataclass
class Point:
    """One SDP: a configuration, its worst case, the bound there and their ratio."""

    config: dict
    worst: float  # dual value: an upper bound on the worst case
    primal: float
    bound: float
    ratio: float
    accuracy: float
    seconds: float
    invalid: bool
    f_values: list = field(default_factory=list)
    grad_norms: list = field(default_factory=list)


@dataclass
class Summary:
    key: str
    status: str  # VALID | INVALID | NOT_CROSSCHECKABLE | UNSOLVED
    reason: str
    grid: str = ""
    n_sdp: int = 0
    seconds: float = 0.0
    worst: Point | None = None  # the configuration of the largest ratio
    failures: list = field(default_factory=list)
    unsolved: int = 0  # PEPs no solver solved (reported, never counted as valid)
    max_accuracy: float = 0.0  # largest |dual - primal| over the solved PEPs

    def as_dict(self) -> dict:
        w = self.worst
        return {"key": self.key, "status": self.status, "reason": self.reason, "grid": self.grid,
                "n_sdp": self.n_sdp, "unsolved": self.unsolved, "seconds": round(self.seconds, 2),
                "worst_ratio": None if w is None else w.ratio,
                "worst_at": None if w is None else _describe(w.config),
                "worst_accuracy": None if w is None else w.accuracy,
                "max_accuracy": self.max_accuracy,
                "failures": [{"config": _describe(p.config), "ratio": p.ratio, "worst": p.primal,
                              "bound": p.bound, "f_minus_fstar": p.f_values,
                              "grad_norm": p.grad_norms} for p in self.failures]}


def _describe(cfg: dict) -> str:
    consts = ", ".join(f"{k}={v:g}" for k, v in cfg["consts"].items())
    return (f"K={cfg['K']}, tau={cfg['tau']}, delays={list(cfg['delays'])} ({cfg['delay_kind']}), "
            f"eta={cfg['frac']:g} x max, {cfg['metric']}, {consts}")


def grid_text(grid: str) -> str:
    from asyncbound.theory.crosscheck.cases import ETA_FRACTIONS, GRIDS

    g = GRIDS[grid]
    return (f"K in {list(g['K'])}, tau in {list(g['tau'])}, tau_k = min(tau, k) and every "
            f"adversarial sequence for K <= {g['adversarial_K_max']}, eta in "
            f"{list(ETA_FRACTIONS)} x admissible max, L = 1")


def solve_point(bound, case, cfg: dict) -> Point:
    """Solve the PEP of one configuration and compare it with ``bound``'s expression."""
    from asyncbound.theory.crosscheck import cases, pep

    kw, vals = cases.pep_arguments(bound, case, cfg)
    t0 = time.perf_counter()
    b = cases.bound_value(bound, vals)
    try:
        sol = pep.delayed_gd(**kw)
    except pep.SolverFailed as exc:
        log.warning("%s: %s at %s", bound.key, exc, _describe(cfg))
        return Point(config=cfg, worst=math.nan, primal=math.nan, bound=b, ratio=math.nan,
                     accuracy=math.inf, seconds=time.perf_counter() - t0, invalid=False)
    secs = time.perf_counter() - t0
    worst, primal, acc = sol.dual, sol.primal, sol.accuracy
    if worst is None:  # unbounded worst case: the bound cannot hold
        worst = primal = math.inf
    if case.square_root:  # the bound is on a norm, the PEP on its square
        worst, primal = math.sqrt(max(worst, 0.0)), math.sqrt(max(primal, 0.0))
        acc = abs(worst - primal)
    if b > 0:
        ratio = worst / b
    else:
        ratio = 0.0 if worst <= acc else math.inf
    invalid = primal > b * (1 + RTOL) + acc
    return Point(config=cfg, worst=worst, primal=primal, bound=b, ratio=ratio, accuracy=acc,
                 seconds=secs, invalid=invalid, f_values=sol.f_values, grad_norms=sol.grad_norms)


def crosscheck_bound(bound, grid: str = "quick", configs=None) -> Summary:
    """Cross-check one bound (a registered one, or a modified copy with the same key)."""
    from asyncbound.theory.crosscheck import cases

    table = cases.cases()
    if bound.key not in table:
        why = cases.NOT_CROSSCHECKABLE.get(bound.key) or _why_not(bound)
        return Summary(bound.key, "NOT_CROSSCHECKABLE", why)
    if grid not in cases.GRIDS:
        raise ValueError(f"grid must be one of {', '.join(cases.GRIDS)}, got {grid!r}")
    case = table[bound.key]
    t0 = time.perf_counter()
    points = [solve_point(bound, case, cfg)
              for cfg in (configs if configs is not None else cases.configurations(case, grid))]
    solved = [p for p in points if not math.isnan(p.ratio)]
    unsolved = len(points) - len(solved)
    worst = max(solved, key=lambda p: p.ratio) if solved else None
    failures = [p for p in solved if p.invalid]
    if worst is None:
        return Summary(bound.key, "UNSOLVED", f"no solver solved any of {len(points)} PEPs",
                       grid=grid_text(grid), n_sdp=len(points))
    status = "INVALID" if failures else "VALID"
    reason = (f"worst/bound = {worst.ratio:.4f} at {_describe(worst.config)}; "
              f"{len(failures)} of {len(points)} configurations above the bound" if failures else
              f"worst/bound <= {worst.ratio:.4f} on {len(solved)} configurations ({case.note})")
    if unsolved:
        reason += f"; {unsolved} PEPs unsolved by every solver (not counted)"
    log.info("%s: %s", bound.key, reason)
    return Summary(bound.key, status, reason, grid=grid_text(grid), n_sdp=len(solved),
                   seconds=time.perf_counter() - t0, worst=worst, failures=failures,
                   unsolved=unsolved, max_accuracy=max(p.accuracy for p in solved))


def _why_not(bound) -> str:
    prov = getattr(bound.provenance, "value", str(bound.provenance))
    if prov != "derived":
        return (f"provenance {prov}: the shape is the paper's and its constants are not ours to "
                "certify; only derived bounds are cross-checked")
    return "no deterministic PEP specialisation is registered for this bound"


def crosscheck(keys=None, grid: str = "quick") -> list[Summary]:
    """Cross-check the bounds ``keys`` (default: every derived bound); raises ValueError naming
    an unknown key and ImportError with INSTALL_HINT when the extra is absent."""
    from asyncbound import theory

    hint = missing_extra()
    if hint:
        raise ImportError(hint)
    if keys:
        bounds = [theory.get_bound(k) for k in keys]
    else:
        bounds = [b for b in theory.BOUNDS.values()
                  if getattr(b.provenance, "value", "") == "derived"]
    return [crosscheck_bound(b, grid) for b in bounds]


def table_text(summaries) -> str:
    """Plain-text table of ``crosscheck`` results, with the witness of every failure."""
    lines = [f"{'bound':38s} {'status':18s} {'worst/bound':>11s} {'SDPs':>5s} {'time':>7s}"]
    for s in summaries:
        ratio = "-" if s.worst is None else f"{s.worst.ratio:.4f}"
        lines.append(f"{s.key:38s} {s.status:18s} {ratio:>11s} {s.n_sdp:5d} {s.seconds:6.1f}s")
        if s.worst is None:
            lines.append(f"    {s.reason}")
        else:
            lines.append(f"    worst at {_describe(s.worst.config)} (solver accuracy "
                         f"|dual - primal| = {s.worst.accuracy:.1e})")
        for p in s.failures[:3]:
            fv = ", ".join("-" if v is None else f"{v:.4g}" for v in p.f_values)
            gn = ", ".join("-" if v is None else f"{v:.4g}" for v in p.grad_norms)
            lines.append(f"    FAIL {_describe(p.config)}: worst {p.primal:.6g} > bound "
                         f"{p.bound:.6g} (ratio {p.ratio:.4f}); witness f(x_k) - f* = [{fv}], "
                         f"||grad f(x_k)|| = [{gn}]")
    if summaries and summaries[0].grid:
        lines.append(f"grid: {summaries[0].grid}; tolerance: ratio > 1 + {RTOL:g} beyond the "
                     "solver accuracy |dual - primal|")
    return "\n".join(lines)


def status(key: str) -> dict:
    """The stored cross-check status of ``key`` (``results.STORED``), for ``theory show`` and
    the report: {"status", "text"}; never needs the extra."""
    from asyncbound import theory

    row = STORED["bounds"].get(key)
    if row is None:
        from asyncbound.theory.crosscheck.cases import NOT_CROSSCHECKABLE, cases

        if key in cases():
            return {"status": "NOT_RUN", "text": "cross-checkable, not in the stored table yet "
                                                 "(asyncbound theory crosscheck KEY)"}
        why = NOT_CROSSCHECKABLE.get(key) or _why_not(theory.get_bound(key))
        return {"status": "NOT_CROSSCHECKABLE", "text": f"not cross-checkable: {why}"}
    text = (f"{row['status']} on the {STORED['grid_name']} grid ({STORED['date']}, {row['n_sdp']} "
            f"SDPs): worst case / bound <= {row['worst_ratio']:.3f}")
    if row.get("remark"):
        text += f"; {row['remark']}"
    return {"status": row["status"], "text": text, **row}
