"""asyncbound's symbolic layer: symbols, assumptions, bounds with provenance (sympy, never torch).

``theory.BOUNDS`` maps every bound key ``"<paper>/<result>"`` to its ``Bound``;
``theory.get_bound(key)`` raises ``ValueError`` with the closest keys for an unknown one.
The registry is open: ``theory.register_bound(bound)`` adds a user's bound, which must carry
``Provenance.CLAIMED`` (the user's claim; see ``theory.registry``).
"""

from __future__ import annotations

from asyncbound.theory.assumptions import ASSUMPTIONS, Assumption
from asyncbound.theory.bounds import Bound, ConditionResult, Kind, Provenance, Source
from asyncbound.theory.metrics import METRIC_IDS
from asyncbound.theory.registry import (
    BOUNDS,
    PAPERS,
    get_bound,
    is_user_bound,
    register_bound,
    unregister_bound,
    validate_bound,
)
from asyncbound.theory.symbols import SYMBOLS, symbol

__all__ = [
    "ASSUMPTIONS", "Assumption", "BOUNDS", "Bound", "ConditionResult", "Kind", "METRIC_IDS", "PAPERS",
    "Provenance", "SYMBOLS", "Source", "get_bound", "is_user_bound", "register_bound", "symbol",
    "unregister_bound", "validate_bound",
]
