"""Shorthands shared by the paper modules (canonical symbols as module attributes)."""

from __future__ import annotations

from asyncbound.theory.assumptions import ASSUMPTIONS
from asyncbound.theory.symbols import SYMBOLS

S = SYMBOLS


def assumptions(*keys: str):
    return tuple(ASSUMPTIONS[k] for k in keys)
