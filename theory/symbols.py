"""The one canonical symbol table of asyncbound, with sign assumptions and admissible ranges.

Every package binds constants by these names (``Problem.constants``, measured constants in
``checks``, keyword arguments of ``Bound.evaluate``). Paper modules map their own notation onto
these names in a notation table at the top of each module.

Conventions (binding):

- ``sigma``: noise level, ``E||g(x) - grad f(x)||^2 <= sigma^2`` (Euclidean norm, per gradient).
- ``G``: sup-norm gradient bound ``||g(x; xi)||_inf <= G`` (APAM's G_inf).
- ``M``: second-moment bound ``E||g(x)||^2 <= M^2`` (Euclidean norm), hence ``||grad f|| <= M``.
- ``D``: domain *radius* in the sup norm, ``||x||_inf <= D`` for every feasible x (a box of
  half-width D; its sup-norm diameter is ``2*D``).
- ``tau``: maximum staleness, ``0 <= tau_k <= tau`` (counted in applied updates, CONTRACTS §4);
  ``tau_avg``: mean staleness.
- ``K``: number of applied updates (a paper's T or t maps to K).
- ``eta``: constant step size (an adaptive method's alpha maps to ``eta``).
- ``F0 = f(x0) - f*`` and ``r0_sq = ||x0 - x*||^2``.
- ``B``: elastic-consistency constant; ``gamma_topk = k/d``; ``p_min``: block fairness floor;
  ``delta``: inexact-normalisation error; ``omega``: overlap degree of blocks.
- ``C0, C1, C2``: unknown constants of reconstructed rate templates (to be fitted, never certified).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp

__all__ = ["SymbolSpec", "SPECS", "SYMBOLS", "symbol", "validate_value", "validate_values"]


@dataclass(frozen=True)
class SymbolSpec:
    """A canonical symbol: sympy assumptions, admissible numeric range, meaning."""

    name: str
    meaning: str
    assumptions: tuple[tuple[str, bool], ...]
    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False

    def range_text(self) -> str:
        left = "(" if self.lo_open else "["
        right = ")" if self.hi_open else "]"
        lo = "-inf" if self.lo == -math.inf else f"{self.lo:g}"
        hi = "inf" if self.hi == math.inf else f"{self.hi:g}"
        if self.hi == math.inf:
            right = ")"
        return f"{left}{lo}, {hi}{right}"


_POS = (("positive", True),)
_NONNEG = (("nonnegative", True),)
_INF = math.inf


def _spec(name, meaning, assumptions, lo=-_INF, hi=_INF, lo_open=False, hi_open=False, integer=False):
    return SymbolSpec(name, meaning, assumptions, lo, hi, lo_open, hi_open, integer)


_SPEC_LIST = [
    _spec("L", "smoothness constant: ||grad f(x) - grad f(y)|| <= L ||x - y||", _POS, 0, lo_open=True),
    _spec("mu", "strong-convexity modulus", _POS, 0, lo_open=True),
    _spec("sigma", "noise level: E||g - grad f||^2 <= sigma^2", _NONNEG, 0),
    _spec("G", "sup-norm gradient bound ||g||_inf <= G", _NONNEG, 0),
    _spec("M", "second-moment bound E||g||^2 <= M^2", _NONNEG, 0),
    _spec("D", "domain radius in the sup norm: ||x||_inf <= D (diameter 2D)", _POS, 0, lo_open=True),
    _spec("tau", "maximum staleness (applied updates)", _NONNEG, 0),
    _spec("tau_avg", "average staleness (applied updates)", _NONNEG, 0),
    _spec("K", "number of applied updates (papers' T, t)", _POS, 1),
    _spec("k", "update index (summation variable of schedules)", _POS, 1),
    _spec("eta", "constant step size (alpha of adaptive methods)", _POS, 0, lo_open=True),
    _spec("beta1", "first-moment / momentum factor", _NONNEG, 0, 1, hi_open=True),
    _spec("beta2", "second-moment factor", _NONNEG, 0, 1, hi_open=True),
    _spec("momentum", "heavy-ball momentum m of PASSM", _NONNEG, 0, 1, hi_open=True),
    _spec("eps", "accumulator initialisation / epsilon", _NONNEG, 0),
    _spec("n_workers", "number of workers (processes)", _POS, 1, integer=True),
    _spec("n_blocks", "number of blocks of the partition", _POS, 1, integer=True),
    _spec("n_crash", "number of crashed processes f_c", _NONNEG, 0, integer=True),
    _spec("d", "dimension", _POS, 1, integer=True),
    _spec("F0", "initial gap f(x0) - f*", _NONNEG, 0),
    _spec("r0_sq", "initial squared distance ||x0 - x*||^2", _NONNEG, 0),
    _spec("B", "elastic-consistency constant: E||x_t - v_t|| <= eta*B", _NONNEG, 0),
    _spec("gamma_topk", "top-k density k/d", _POS, 0, 1, lo_open=True),
    _spec("p_min", "block fairness floor: P(block i chosen | past) >= p_min", _POS, 0, 1, lo_open=True),
    _spec("delta", "inexact normalisation: (1-delta) <= ||d|| <= (1+delta)", _NONNEG, 0, 1, hi_open=True),
    _spec("omega", "overlap degree of blocks", _POS, 1),
    _spec("p_log", "power of the log factor in a log^p(K)/sqrt(K) rate", _NONNEG, 0),
    _spec("C0", "unknown constant of a reconstructed template (fitted)", _NONNEG, 0),
    _spec("C1", "unknown constant of a reconstructed template (fitted)", _NONNEG, 0),
    _spec("C2", "unknown constant of a reconstructed template (fitted)", _NONNEG, 0),
    _spec("a_step", "schedule scale a in gamma_k = a/(k+b)^p", _POS, 0, lo_open=True),
    _spec("b_step", "schedule offset b in gamma_k = a/(k+b)^p", _NONNEG, 0),
    _spec("p_step", "schedule exponent p in gamma_k = a/(k+b)^p", _POS, 0, lo_open=True),
    _spec("eps_acc", "target accuracy (speed-up computations)", _POS, 0, lo_open=True),
]

SPECS: dict[str, SymbolSpec] = {s.name: s for s in _SPEC_LIST}
SYMBOLS: dict[str, sp.Symbol] = {
    s.name: sp.Symbol(s.name, **dict(s.assumptions)) for s in _SPEC_LIST
}


def symbol(name: str) -> sp.Symbol:
    """The canonical sympy symbol called ``name``; ``ValueError`` naming an unknown one."""
    try:
        return SYMBOLS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, SYMBOLS, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown symbol {name!r}{hint}") from None


def validate_value(name: str, value) -> float:
    """Check one numeric value against the symbol's admissible range; return it as float."""
    spec = SPECS.get(name)
    if spec is None:
        symbol(name)  # raises with suggestions
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if math.isnan(x):
        raise ValueError(f"{name} must not be NaN")
    too_low = x < spec.lo or (spec.lo_open and x == spec.lo)
    too_high = x > spec.hi or (spec.hi_open and x == spec.hi)
    if too_low or too_high:
        raise ValueError(f"{name} must lie in {spec.range_text()}, got {value!r}")
    if spec.integer and x != math.floor(x):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return x


def validate_values(values: dict) -> dict[str, float]:
    """Validate a mapping name -> value (unknown names rejected)."""
    return {name: validate_value(name, v) for name, v in values.items()}
