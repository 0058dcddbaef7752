"""``Bound``: one theorem's guarantee as a sympy expression with its provenance (CONTRACTS §7).

A bound is ``metric <kind> expr`` under ``assumptions`` and the side ``conditions`` (sympy
relationals in solved form, e.g. ``eta <= 1/(2*L*(tau + 1))``). sympy cannot prove most side
conditions, so they are checked numerically once values are bound (``check_conditions``).

``evaluate`` is compiled once per bound with ``lambdify`` and agrees with
``expr.subs(values).evalf()`` (tested). Values are validated against the ranges of
``theory.symbols`` first: a negative ``L``, ``beta1`` outside [0, 1), an unknown name or a missing
value raise ``ValueError`` naming the argument.
"""

from __future__ import annotations

import difflib
import functools
import logging
import operator
from dataclasses import dataclass, field
from enum import Enum

import sympy as sp
from asyncbound.theory.assumptions import Assumption
from asyncbound.theory.symbols import SYMBOLS, validate_value

log = logging.getLogger(__name__)

__all__ = ["Kind", "Provenance", "Source", "Bound", "ConditionResult"]


class Kind(Enum):
    """UPPER: metric <= expr. LOWER: metric >= expr. TIGHT: both up to constants.
    ASYMPTOTIC: an order or limit statement (free constants C*, or a limit such as 0)."""

    UPPER = "UPPER"
    LOWER = "LOWER"
    TIGHT = "TIGHT"
    ASYMPTOTIC = "ASYMPTOTIC"


class Provenance(Enum):
    """verified: read in the paper or its official code; derived: derived in this project, the
    derivation is in the module and its algebra checked by sympy in a test; reconstructed: the
    shape is the paper's, the constants are ours; claimed: a toolkit user's claim, declared with
    ``theory.register_bound`` or in a variant file and not reviewed by this project (the only
    provenance a user bound may carry, and one no shipped bound carries)."""

    VERIFIED = "verified"
    DERIVED = "derived"
    RECONSTRUCTED = "reconstructed"
    CLAIMED = "claimed"


@dataclass(frozen=True)
class Source:
    authors: str
    title: str
    venue: str
    year: int
    arxiv: str  # with version, e.g. "2001.05918v3"
    locator: str  # theorem / section
    url: str

    def cite(self) -> str:
        names = [n.strip() for n in self.authors.split(",")]
        last = [n.split()[-1] for n in names]
        if len(names) == 1:
            short = names[0]
        elif len(names) == 2:
            short = f"{last[0]} & {last[1]}"
        else:
            short = f"{last[0]} et al."
        return f"{short}, {self.venue} {self.year}, arXiv:{self.arxiv}, {self.locator}"

    def to_dict(self) -> dict:
        return {
            "authors": self.authors, "title": self.title, "venue": self.venue, "year": self.year,
            "arxiv": self.arxiv, "locator": self.locator, "url": self.url, "cite": self.cite(),
        }


@dataclass(frozen=True)
class ConditionResult:
    condition: str
    lhs: float
    rhs: float
    holds: bool
    text: str

    def to_dict(self) -> dict:
        return {"condition": self.condition, "lhs": self.lhs, "rhs": self.rhs,
                "holds": self.holds, "text": self.text}


_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt,
        "==": operator.eq, "!=": operator.ne}


def _names(expr) -> set[str]:
    return {s.name for s in expr.free_symbols}


def _compile(expr, names: tuple[str, ...]):
    args = [SYMBOLS[n] for n in names]
    return sp.lambdify(args, expr, modules=["math"])


def _validate(values: dict, required: set[str], what: str) -> dict[str, float]:
    clean = {name: validate_value(name, v) for name, v in values.items()}
    missing = sorted(required - clean.keys())
    if missing:
        raise ValueError(f"{what}: missing value for {', '.join(missing)}")
    return clean


@dataclass(frozen=True)
class Bound:
    """One guarantee. ``expr`` uses canonical symbols only (checked at construction)."""

    key: str
    paper: str
    metric: str
    metric_id: str
    kind: Kind
    expr: sp.Expr
    assumptions: tuple[Assumption, ...]
    conditions: tuple[sp.Rel, ...]
    source: Source
    provenance: Provenance
    notes: str = ""
    statement: str = ""
    derived: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        if not isinstance(self.expr, sp.Expr):
            raise ValueError(f"bound {self.key}: expr must be a sympy expression, got {self.expr!r}")
        for c in self.conditions:
            if not isinstance(c, sp.core.relational.Relational):
                raise ValueError(f"bound {self.key}: condition {c!r} is not a relational "
                                 "(write it solved, e.g. eta <= 1/(2*L*(tau + 1)))")
        # compare symbols, not names: Symbol("L") without L's sign assumptions is another symbol
        for s in sorted(self.expr.free_symbols | self._cond_symbols(), key=lambda s: s.name):
            name = s.name
            if name not in SYMBOLS:
                close = difflib.get_close_matches(name, SYMBOLS, n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise ValueError(f"bound {self.key}: unknown symbol {name!r}{hint}; "
                                 "use asyncbound.theory.symbol(name)")
            if s != SYMBOLS[name]:
                raise ValueError(f"bound {self.key}: symbol {name!r} is not canonical (same name, other "
                                 f"assumptions); use asyncbound.theory.symbol({name!r})")

    def _cond_symbols(self) -> set:
        out = set()
        for c in self.conditions:
            out |= c.free_symbols
        return out

    # -- symbols --------------------------------------------------------------------------
    def symbols(self) -> set[str]:
        """Names needed to evaluate the bound and check its conditions."""
        return _names(self.expr) | {s.name for s in self._cond_symbols()}

    def expr_symbols(self) -> set[str]:
        """Names needed by ``evaluate`` alone."""
        return _names(self.expr)

    # -- evaluation -----------------------------------------------------------------------
    @functools.cached_property
    def _arg_names(self) -> tuple[str, ...]:
        return tuple(sorted(self.expr_symbols()))

    @functools.cached_property
    def _compiled(self):
        log.debug("compiling %s", self.key)
        return _compile(self.expr, self._arg_names)

    def evaluate(self, **values) -> float:
        """The bound's value. Extra canonical names are accepted and ignored (a check passes all
        its constants); unknown names, out-of-range or missing values raise ``ValueError``."""
        clean = _validate(values, set(self._arg_names), f"bound {self.key}")
        try:
            return float(self._compiled(*(clean[n] for n in self._arg_names)))
        except (ZeroDivisionError, OverflowError):
            # outside the admissible region floats overflow; the exact path gives +-inf or zoo
            log.debug("%s: float overflow, falling back to subs().evalf()", self.key)
            return self.evaluate_exact(**values)

    def evaluate_exact(self, **values) -> float:
        """Reference path ``expr.subs(values).evalf()`` (slow, for tests and audits)."""
        clean = _validate(values, set(self._arg_names), f"bound {self.key}")
        subs = {SYMBOLS[n]: sp.nsimplify(v) if float(v).is_integer() else sp.Float(v, 30)
                for n, v in clean.items() if n in self._arg_names}
        value = self.expr.subs(subs).evalf(30)
        if value.has(sp.zoo, sp.nan):
            return float("nan")
        return float(value)

    @functools.cached_property
    def _compiled_conditions(self):
        out = []
        for c in self.conditions:
            names = tuple(sorted(_names(c.lhs) | _names(c.rhs)))
            out.append((c, names, _compile(c.lhs, names), _compile(c.rhs, names)))
        return out

    def check_conditions(self, **values) -> list[ConditionResult]:
        """Each side condition evaluated: lhs, rhs, holds, and a text such as
        ``"eta <= 1/(2*L*tau): 0.05 <= 0.0625 holds"``."""
        needed = set()
        for c in self.conditions:
            needed |= _names(c)
        clean = _validate(values, needed, f"conditions of {self.key}")
        results = []
        for c, names, f_lhs, f_rhs in self._compiled_conditions:
            args = [clean[n] for n in names]
            lhs, rhs = float(f_lhs(*args)), float(f_rhs(*args))
            holds = bool(_OPS[c.rel_op](lhs, rhs))
            cond = f"{sp.sstr(c.lhs)} {c.rel_op} {sp.sstr(c.rhs)}"
            text = f"{cond}: {lhs:.6g} {c.rel_op} {rhs:.6g} {'holds' if holds else 'fails'}"
            results.append(ConditionResult(cond, lhs, rhs, holds, text))
        return results

    def conditions_hold(self, **values) -> bool:
        return all(r.holds for r in self.check_conditions(**values))

    # -- rendering ------------------------------------------------------------------------
    def latex(self) -> str:
        return sp.latex(self.expr)

    def mathml(self) -> str:
        body = sp.printing.mathml(self.expr, printer="presentation")
        return f'<math xmlns="http://www.w3.org/1998/Math/MathML">{body}</math>'

    def to_dict(self) -> dict:
        """JSON-able description (reports and ``asyncbound theory show --json`` use it)."""
        return {
            "key": self.key,
            "paper": self.paper,
            "metric": self.metric,
            "metric_id": self.metric_id,
            "kind": self.kind.value,
            "provenance": self.provenance.value,
            "statement": self.statement,
            "expression": sp.sstr(self.expr),
            "latex": self.latex(),
            "mathml": self.mathml(),
            "symbols": sorted(self.symbols()),
            "assumptions": [a.to_dict() for a in self.assumptions],
            "conditions": [{"text": sp.sstr(c), "latex": sp.latex(c)} for c in self.conditions],
            "source": self.source.to_dict(),
            "notes": self.notes,
            "derived": {name: sp.sstr(e) for name, e in self.derived.items()},
        }
