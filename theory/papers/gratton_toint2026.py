r"""Gratton & Toint: "Stochastic convergence of parallel asynchronous adaptive first-order methods",
arXiv:2606.01787v1 (2026, preprint).

Notation table (paper -> canonical)
-----------------------------------
| paper | canonical | meaning |
|---|---|---|
| t | ``K`` | global write counter |
| alpha | ``eta`` | step-size scale |
| varsigma | ``eps`` | accumulator initialisation (inside the square root) |
| beta | ``beta1`` | momentum |
| delta | ``delta`` | inexact normalisation |
| p_min, omega | ``p_min``, ``omega`` | coverage floor, overlap degree |
| p (log power) | ``p_log`` | power of the log factor |
| C0, C1 | ``C0``, ``C1`` | unknown constants |

Provenance (honest statement)
-----------------------------
VERIFIED (abstract): the class converges on non-convex problems in the fully stochastic setting
at a rate O(1/sqrt(t)) up to logarithmic factors. NOT read: the quantity bounded, the log power,
all constants. The template (C0 + C1 log^p(K+1)) / sqrt(K+1) is RECONSTRUCTED (kind ASYMPTOTIC,
constants free and fitted). The slope allowance below is DERIVED from the template:

Slope (derived). With b(K) = (C0 + C1 l^p)/sqrt(K+1), l = ln(K+1), the local log-log slope is
  s(K) = d ln b / d ln(K+1) = -1/2 + p C1 l^{p-1} / (C0 + C1 l^p).
For C0, C1 >= 0 the correction lies in [0, p/l], so a measured slope over a window starting at
K_lo must lie in [-1/2, -1/2 + p/ln(K_lo+1)] (plus statistical tolerance). Example: p = 1,
K = 10^3 gives -0.355 at most, K = 10^5 gives -0.413: slopes -0.35 .. -0.5 are consistent.
"""

from __future__ import annotations

import math

import sympy as sp
from asyncbound.theory.bounds import Bound, Kind, Provenance, Source
from asyncbound.theory.papers._common import S, assumptions

PAPER = "gratton_toint2026"
K, C0, C1, p_log = S["K"], S["C0"], S["C1"], S["p_log"]

_SRC = dict(
    authors="Serge Gratton, Philippe L. Toint",
    title="Stochastic convergence of parallel asynchronous adaptive first-order methods",
    venue="arXiv preprint", year=2026, arxiv="2606.01787v1",
    url="https://arxiv.org/abs/2606.01787",
)

RATE = (C0 + C1 * sp.log(K + 1)**p_log) / sp.sqrt(K + 1)
SLOPE = sp.simplify(sp.diff(sp.log(RATE), K) * (K + 1))

_ASSUME = assumptions("smooth", "lower_bounded", "bounded_variance", "bounded_delay",
                      "block_fairness")

rate = Bound(
    key=f"{PAPER}/rate", paper=PAPER,
    metric="min_{k<=K} E||grad f(x_k)||^2", metric_id="min_grad_sq",
    kind=Kind.ASYMPTOTIC, expr=RATE, assumptions=_ASSUME, conditions=(),
    source=Source(locator="abstract (rate claim); theorem not read", **_SRC),
    provenance=Provenance.RECONSTRUCTED,
    statement="Asynchronous adaptive methods (AdaGrad/AdaNorm type, momentum, inexact "
              "normalisation): min_k E||grad f||^2 = O(log^p(K)/sqrt(K))",
    notes="Shape verified from the abstract; C0, C1, p_log are ours (fitted). The bounded "
          "quantity (min, average, random iterate) is unknown.",
)

slope = Bound(
    key=f"{PAPER}/slope", paper=PAPER,
    metric="log-log slope of the running min of ||grad f||^2 against K",
    metric_id="grad_sq_slope", kind=Kind.ASYMPTOTIC, expr=SLOPE, assumptions=_ASSUME,
    conditions=(), source=Source(locator="abstract (rate claim); slope derived here", **_SRC),
    provenance=Provenance.RECONSTRUCTED,
    statement="local slope -1/2 + p C1 log^(p-1)(K+1)/(C0 + C1 log^p(K+1)) -> -1/2",
    notes="Derived from the reconstructed template; use slope_band for the allowance.",
)


def slope_band(k_lo: float, p: float = 1.0, tol: float = 0.0) -> tuple[float, float]:
    """Allowed interval for a measured log-log slope over a window starting at ``k_lo``:
    [-1/2 - tol, -1/2 + p/ln(k_lo + 1) + tol] (derived, see the module docstring)."""
    if k_lo < 1:
        raise ValueError(f"k_lo must be >= 1, got {k_lo!r}")
    if p < 0:
        raise ValueError(f"p must be >= 0, got {p!r}")
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    return (-0.5 - tol, -0.5 + p / math.log(k_lo + 1) + tol)


def slope_correction_bound() -> sp.Expr:
    """p/ln(K+1): the derived upper bound of slope + 1/2 (for the sympy test)."""
    return p_log / sp.log(K + 1)


BOUNDS = (rate, slope)
