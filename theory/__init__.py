"""asyncbound's symbolic layer: symbols, assumptions, bounds with provenance (sympy, never torch).

``theory.BOUNDS`` maps every bound key ``"<paper>/<result>"`` to its ``Bound``;
``theory.get_bound(key)`` raises ``ValueError`` with the closest keys for an unknown one.
"""

from __future__ import annotations

import difflib
import importlib

from asyncbound.theory.assumptions import ASSUMPTIONS, Assumption
from asyncbound.theory.bounds import Bound, ConditionResult, Kind, Provenance, Source
from asyncbound.theory.papers import PAPER_MODULES
from asyncbound.theory.symbols import SYMBOLS, symbol

__all__ = [
    "ASSUMPTIONS", "Assumption", "BOUNDS", "Bound", "ConditionResult", "Kind", "PAPERS",
    "Provenance", "SYMBOLS", "Source", "get_bound", "symbol",
]


def _collect() -> dict[str, Bound]:
    out: dict[str, Bound] = {}
    for name in PAPER_MODULES:
        for bound in importlib.import_module(name).BOUNDS:
            if bound.key in out:
                raise RuntimeError(f"duplicate bound key {bound.key}")
            out[bound.key] = bound
    return out


BOUNDS: dict[str, Bound] = _collect()
PAPERS: tuple[str, ...] = tuple(dict.fromkeys(b.paper for b in BOUNDS.values()))


def get_bound(key: str) -> Bound:
    """The bound registered under ``key``; unknown keys raise ``ValueError`` with close matches."""
    try:
        return BOUNDS[key]
    except KeyError:
        close = difflib.get_close_matches(str(key), BOUNDS, n=3, cutoff=0.4)
        hint = f"; closest: {', '.join(close)}" if close else f"; known: {', '.join(BOUNDS)}"
        raise ValueError(f"unknown bound {key!r}{hint}") from None
