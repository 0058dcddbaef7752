"""The bound registry: the shipped theorems and the ones users claim (``register_bound``).

``BOUNDS`` maps every key ``"<paper>/<result>"`` to its ``Bound``. It starts with the bounds of
``theory.papers`` (provenance verified / derived / reconstructed) and is open: a user (or a
variant file, through ``asyncbound.checks.variant``) adds a bound of their own with
``register_bound``, after which every check, ``get_bound`` and the reports treat it like a
shipped one, except for its label.

A user's bound is the user's claim. Its provenance must be ``Provenance.CLAIMED`` (the report
shows "claimed: the user's claim"); registering it as ``verified``, ``derived`` or
``reconstructed`` is refused, since those labels say what this project has read or proved. No
shipped bound is ``claimed``, and a user cannot replace a shipped bound nor use a shipped paper's
name as the prefix of their key.

Validation, the same for shipped and user bounds (each problem is one-line ``ValueError``):
canonical symbols only (checked by ``Bound`` itself), relational side conditions, a
``metric_id`` with an estimator (``theory.metrics.METRIC_IDS``), a ``Kind``, a ``Source``, a
``Provenance``, a key ``"<paper>/<result>"`` whose prefix is the bound's ``paper``, no
duplicate key.
"""

from __future__ import annotations

import difflib
import importlib
import logging

from asyncbound.theory.bounds import Bound, Kind, Provenance, Source
from asyncbound.theory.metrics import METRIC_IDS
from asyncbound.theory.papers import PAPER_MODULES

log = logging.getLogger(__name__)

__all__ = ["BOUNDS", "PAPERS", "get_bound", "register_bound", "unregister_bound", "validate_bound"]

#: the provenances a user bound may carry (what this project has not read or proved itself)
USER_PROVENANCES = (Provenance.CLAIMED,)


def validate_bound(bound) -> Bound:
    """``bound`` if it is a well-formed ``Bound``; a one-line ``ValueError`` naming the problem
    otherwise. Symbols and conditions are validated when a ``Bound`` is constructed."""
    if not isinstance(bound, Bound):
        raise ValueError(f"bound must be an asyncbound.theory.Bound, got {type(bound).__name__}")
    key = bound.key
    if not isinstance(key, str) or key.count("/") != 1 or not all(key.split("/")):
        raise ValueError(f"bound key must look like '<paper>/<result>', got {key!r}")
    if key.split("/")[0] != bound.paper:
        raise ValueError(f"bound {key}: paper {bound.paper!r} must be the key's prefix "
                         f"{key.split('/')[0]!r}")
    if bound.metric_id not in METRIC_IDS:
        close = difflib.get_close_matches(str(bound.metric_id), METRIC_IDS, n=3, cutoff=0.4)
        hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(METRIC_IDS)}"
        raise ValueError(f"bound {key}: metric_id {bound.metric_id!r} has no estimator ({hint})")
    if not isinstance(bound.kind, Kind):
        raise ValueError(f"bound {key}: kind must be a theory.Kind "
                         f"({', '.join(k.name for k in Kind)}), got {bound.kind!r}")
    if not isinstance(bound.provenance, Provenance):
        raise ValueError(f"bound {key}: provenance is missing: give a theory.Provenance "
                         f"(a user's bound is Provenance.CLAIMED), got {bound.provenance!r}")
    if not isinstance(bound.source, Source):
        raise ValueError(f"bound {key}: source must be a theory.Source (who claims it, where), "
                         f"got {type(bound.source).__name__}")
    return bound


def _collect() -> dict[str, Bound]:
    out: dict[str, Bound] = {}
    for name in PAPER_MODULES:
        for bound in importlib.import_module(name).BOUNDS:
            validate_bound(bound)
            if bound.key in out:
                raise RuntimeError(f"duplicate bound key {bound.key}")
            if bound.provenance in USER_PROVENANCES:
                raise RuntimeError(f"shipped bound {bound.key} is labelled {bound.provenance.value}")
            out[bound.key] = bound
    return out


#: every registered bound (mutated in place by ``register_bound``: imported references stay live)
BOUNDS: dict[str, Bound] = _collect()
#: the papers of the shipped bounds (user bounds are not papers of this project)
PAPERS: tuple[str, ...] = tuple(dict.fromkeys(b.paper for b in BOUNDS.values()))
_SHIPPED: frozenset[str] = frozenset(BOUNDS)


def is_user_bound(key: str) -> bool:
    """True for a key added by ``register_bound`` (not one of the shipped theorems)."""
    return key in BOUNDS and key not in _SHIPPED


def get_bound(key: str) -> Bound:
    """The bound registered under ``key``; unknown keys raise ``ValueError`` with close matches."""
    try:
        return BOUNDS[key]
    except KeyError:
        close = difflib.get_close_matches(str(key), BOUNDS, n=3, cutoff=0.4)
        hint = f"; closest: {', '.join(close)}" if close else f"; known: {', '.join(BOUNDS)}"
        raise ValueError(f"unknown bound {key!r}{hint}") from None


def register_bound(bound: Bound, *, replace: bool = False) -> Bound:
    """Add a user's ``bound`` to ``BOUNDS`` and return it.

    Validated as every shipped bound is (``validate_bound``), and further: its provenance must be
    ``Provenance.CLAIMED``, its paper must not be a shipped paper, its key must be new. Registering
    an equal bound again (a file imported twice) is a no-op; a different bound under a taken key
    needs ``replace=True``, and a shipped bound can never be replaced.
    """
    validate_bound(bound)
    key = bound.key
    if bound.provenance not in USER_PROVENANCES:
        raise ValueError(f"bound {key}: a user's bound is the user's claim: give "
                         f"provenance=Provenance.CLAIMED, not {bound.provenance.value!r} (verified, "
                         "derived and reconstructed label what this project has read or proved)")
    if bound.paper in PAPERS:
        raise ValueError(f"bound {key}: paper {bound.paper!r} is a shipped paper of asyncbound; "
                         "name your own (e.g. 'my_paper/result')")
    if key in _SHIPPED:
        raise ValueError(f"bound {key}: the key of a shipped bound cannot be replaced")
    old = BOUNDS.get(key)
    if old is not None and old != bound and not replace:
        raise ValueError(f"bound {key}: duplicate key (another bound is registered under it; "
                         "pass replace=True to replace it)")
    BOUNDS[key] = bound
    log.info("registered the user's bound %s (%s)", key, bound.provenance.value)
    return bound


def unregister_bound(key: str) -> None:
    """Remove a user's bound (tests, notebooks); shipped bounds cannot be removed."""
    if key in _SHIPPED:
        raise ValueError(f"bound {key}: a shipped bound cannot be unregistered")
    get_bound(key)
    del BOUNDS[key]
