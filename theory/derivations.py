"""Symbolic derivations on bounds, as functions (each re-checked by sympy in tests/theory).

- ``optimal_step(bound, var)``: the positive stationary point of the bound in ``var`` (default
  ``eta``) and the bound's value there.
- ``leading_order(bound, var)``: the exponent e with bound = Theta(var^e) up to log factors as
  var -> inf (other symbols fixed), and the dominant terms.
- ``max_delay_exponent(bound)``: the largest a such that, with tau = K^a, every delay term stays
  o(leading tau-free term) as K -> inf (APAM's template gives 1/4: tau = o(K^{1/4})).
- ``tau_zero_limit(bound)``: the bound at tau = 0 (and tau_avg = 0).
- ``is_monotone(bound, var)``: True if provably non-decreasing in var, False if provably
  decreasing, None when sympy cannot decide (``direction="decreasing"`` flips the question).
"""

from __future__ import annotations

import logging

import sympy as sp
from asyncbound.theory.bounds import Bound
from asyncbound.theory.symbols import SYMBOLS, symbol

log = logging.getLogger(__name__)

__all__ = ["optimal_step", "leading_order", "max_delay_exponent", "tau_zero_limit",
           "is_monotone", "derived_quantities"]


def _expr(bound_or_expr) -> sp.Expr:
    return bound_or_expr.expr if isinstance(bound_or_expr, Bound) else sp.sympify(bound_or_expr)


def _sym(var) -> sp.Symbol:
    return symbol(var) if isinstance(var, str) else var


def optimal_step(bound, var="eta") -> tuple[sp.Expr, sp.Expr]:
    """(var*, bound(var*)) at the positive stationary point; ValueError if there is none or the
    bound does not depend on var."""
    expr, v = _expr(bound), _sym(var)
    if v not in expr.free_symbols:
        raise ValueError(f"var: the bound does not depend on {v}")
    numer = sp.numer(sp.together(sp.diff(expr, v)))
    try:
        degree = sp.degree(numer, v)
    except sp.PolynomialError:
        degree = None
    if degree is None:
        raise ValueError(f"var: the stationarity equation is transcendental in {v}; "
                         "no closed form is attempted (minimise numerically)")
    if degree > 2:
        raise ValueError(f"var: the stationarity equation in {v} has degree {degree}; "
                         "no closed form is attempted (minimise numerically)")
    roots = sp.solve(sp.Eq(sp.diff(expr, v), 0), v)
    positive = [r for r in roots if r.is_positive is not False and r.is_real is not False
                and not r.could_extract_minus_sign()]
    if not positive:
        raise ValueError(f"var: no positive stationary point of the bound in {v}")
    root = sp.simplify(positive[0])
    return root, sp.simplify(expr.subs(v, root))


def _order(term: sp.Expr, var: sp.Symbol) -> sp.Expr:
    """Exponent of var in term up to log factors: lim log|term| / log var."""
    if var not in term.free_symbols:
        return sp.Integer(0)
    return sp.limit(sp.log(term) / sp.log(var), var, sp.oo)


def leading_order(bound, var="K") -> tuple[sp.Expr, sp.Expr]:
    """(exponent, dominant terms) of the bound as var -> inf."""
    expr, v = sp.expand(_expr(bound)), _sym(var)
    terms = sp.Add.make_args(expr)
    orders = [(_order(t, v), t) for t in terms]
    top = max(o for o, _ in orders)
    return top, sp.Add(*[t for o, t in orders if o == top])


def max_delay_exponent(bound, K="K", tau="tau") -> sp.Expr:
    """sup{a : every tau-term is o(leading tau-free term) when tau = K^a}."""
    expr, k, t = sp.expand(_expr(bound)), _sym(K), _sym(tau)
    terms = sp.Add.make_args(expr)
    free = [x for x in terms if t not in x.free_symbols]
    delay = [x for x in terms if t in x.free_symbols]
    if not free or not delay:
        raise ValueError("bound: needs a tau-free term in K and at least one tau term")
    e0 = max(_order(x, k) for x in free)
    best = sp.oo
    for x in delay:
        e_k, e_t = _order(x, k), _order(x, t)
        if e_t <= 0:
            continue
        best = sp.Min(best, (e0 - e_k) / e_t)
    return sp.simplify(best)


def tau_zero_limit(bound) -> sp.Expr:
    """The bound with tau (and tau_avg) set to 0."""
    expr = _expr(bound)
    for name in ("tau", "tau_avg"):
        s = SYMBOLS[name]
        if s in expr.free_symbols:
            expr = sp.limit(expr, s, 0, "+")
    return sp.simplify(expr)


def is_monotone(bound, var, direction: str = "increasing") -> bool | None:
    """Provable monotonicity of the bound in var over the symbols' admissible ranges."""
    if direction not in ("increasing", "decreasing"):
        raise ValueError(f"direction must be 'increasing' or 'decreasing', got {direction!r}")
    expr, v = _expr(bound), _sym(var)
    deriv = sp.simplify(sp.diff(expr, v))
    if direction == "decreasing":
        deriv = -deriv
    if deriv.is_nonnegative:
        return True
    if deriv.is_negative:
        return False
    log.debug("is_monotone undecided: d/d%s = %s", v, deriv)
    return None


def derived_quantities(bound: Bound) -> dict[str, str]:
    """Every derivation that applies to this bound, as strings (for ``asyncbound theory show``)."""
    out: dict[str, str] = {}
    syms = bound.expr_symbols()
    for name, expr in bound.derived.items():
        out[name] = sp.sstr(expr)
    if bound.metric_id == "grad_sq_slope":
        p_pos = sp.Symbol("p_log", positive=True)  # the limit needs p_log > 0 (p_log = 0: -1/2)
        expr = bound.expr.subs(SYMBOLS["p_log"], p_pos)
        out["limit_K_inf"] = sp.sstr(sp.limit(expr, SYMBOLS["K"], sp.oo))
        return out
    attempts = [
        ("leading_order_K", lambda: "K^({}) via {}".format(*leading_order(bound, "K")), "K" in syms),
        ("tau_zero_limit", lambda: sp.sstr(tau_zero_limit(bound)), "tau" in syms),
        ("max_delay_exponent", lambda: sp.sstr(max_delay_exponent(bound)),
         "tau" in syms and "K" in syms),
        ("optimal_step", lambda: "eta* = {}, value {}".format(*optimal_step(bound)), "eta" in syms),
        ("monotone_in_tau", lambda: str(is_monotone(bound, "tau")), "tau" in syms),
        ("monotone_in_sigma", lambda: str(is_monotone(bound, "sigma")), "sigma" in syms),
    ]
    for name, fn, applies in attempts:
        if not applies:
            continue
        try:
            out[name] = fn()
        except (ValueError, NotImplementedError, TypeError) as exc:
            out[name] = f"not derivable ({exc})"
    return out
