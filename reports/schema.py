"""The record schema ``asyncbound.record/1`` (CONTRACTS.md §9), defined once.

``checks`` writes records and ``reports`` reads them; both take the schema's name, its required
fields and its verdicts from here. This module imports nothing heavy (no torch, no
``implementations``, no ``checks``), so ``reports`` keeps its layering.
"""

from __future__ import annotations

from collections.abc import Mapping

RECORD_SCHEMA = "asyncbound.record/1"
RUN_SCHEMA = "asyncbound.run/1"
#: every verdict a record may carry (``checks.verdicts.Verdict`` has exactly these values)
VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE", "NOT_APPLICABLE", "DIVERGED", "ERROR")
#: fields every record has, never null
REQUIRED = ("schema", "check_id", "verdict", "algorithm", "backend", "bound")
KINDS = ("UPPER", "LOWER", "TIGHT", "ASYMPTOTIC")
PROVENANCES = ("verified", "derived", "reconstructed", "claimed")


def schema_problems(rec: Mapping) -> list[str]:
    """What a record to be written lacks (empty list: it meets the schema's minimum).

    The writer's check; :func:`asyncbound.reports.records.validate_record` is the reader's full
    validation (types of every field).
    """
    errors = [f"missing {key}" for key in REQUIRED if rec.get(key) is None]
    if rec.get("schema") not in (None, RECORD_SCHEMA):
        errors.append(f"schema is {rec.get('schema')!r}, expected {RECORD_SCHEMA!r}")
    if rec.get("verdict") is not None and rec["verdict"] not in VERDICTS:
        errors.append(f"unknown verdict {rec['verdict']!r}")
    b = rec.get("bound")
    if isinstance(b, Mapping) and "key" not in b:
        errors.append("bound has no key")
    return errors


__all__ = ["KINDS", "PROVENANCES", "RECORD_SCHEMA", "REQUIRED", "RUN_SCHEMA", "VERDICTS",
           "schema_problems"]
