"""Tabular views of records: the index rows, verdict counts, and number formatting.

Plain dicts and strings (no HTML): the template escapes everything it prints from here.
"""

from __future__ import annotations

import json
import math
from typing import Any

from asyncbound.reports.records import VERDICTS, Record, anchor


def fmt(x: Any, digits: int = 4) -> str:
    """Short, stable text for a number (``—`` for missing, ``inf``/``nan`` spelled out)."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if x.is_integer() and abs(x) < 1e9:
            return str(int(x))
        return f"{x:.{digits}g}"
    return str(x)


#: what each provenance says, in the report's words (theory.bounds.Provenance); "claimed" is a
#: user-declared bound, which the report must never let pass for one of the project's
PROVENANCE_TEXT = {
    "verified": ("verified", "read in the paper or its official code"),
    "derived": ("derived", "derived in this project, algebra checked by sympy in a test"),
    "reconstructed": ("reconstructed", "the shape is the paper's, the constants are ours"),
    "claimed": ("claimed: the user's claim", "declared by the user of the toolkit (a variant file "
                "or register_bound), not reviewed by this project"),
}


def provenance_label(provenance: str | None) -> tuple[str, str]:
    """``(label, explanation)`` of a provenance value; unknown values are shown as they are."""
    if not provenance:
        return "provenance unknown", "the record states no provenance"
    return PROVENANCE_TEXT.get(provenance, (provenance, ""))


def verdict_counts(records: list[Record]) -> list[tuple[str, int]]:
    """``(verdict, count)`` for every verdict, in the fixed order of :data:`VERDICTS`."""
    counts = dict.fromkeys(VERDICTS, 0)
    for r in records:
        counts[r.verdict] += 1
    return list(counts.items())


def index_rows(records: list[Record]) -> list[dict[str, str]]:
    """One row per check for the index table, in the records' (check_id) order."""
    rows = []
    for r in records:
        d = r.data
        b = d["bound"]
        rows.append({
            "anchor": anchor(d["check_id"]),
            "check_id": d["check_id"],
            "verdict": d["verdict"],
            "algorithm": d["algorithm"],
            "backend": d["backend"],
            "problem": d.get("problem") or "—",
            "workers": fmt(d.get("workers")),
            # a check whose measurement also decides other bounds names them all
            "bound_key": " + ".join([b["key"], *(d.get("also_checks") or [])]),
            "kind": (b.get("kind") or "—").lower(),
            "provenance": b.get("provenance") or "unknown",
            "provenance_label": provenance_label(b.get("provenance"))[0],
            "provenance_title": provenance_label(b.get("provenance"))[1],
            "ratio": fmt(d.get("ratio"), 3),
            "ratio_class": _ratio_class(d),
        })
    return rows


def _ratio_class(d: dict) -> str:
    ratio, kind = d.get("ratio"), (d["bound"].get("kind") or "UPPER")
    if ratio is None or not isinstance(ratio, float) or math.isnan(ratio):
        return ""
    if kind == "UPPER":
        return "over" if ratio > 1 else "under"
    if kind == "LOWER":
        return "over" if ratio < 1 else "under"
    return ""


def config_rows(config: dict) -> list[tuple[str, str]]:
    """Sorted ``(key, value)`` text pairs of a config mapping."""
    return [(str(k), _text(config[k])) for k in sorted(config, key=str)]


def _text(v: Any) -> str:
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True, default=str)
    return fmt(v)


def counterexample_text(ce: Any) -> tuple[list[tuple[str, str]], str | None]:
    """A counterexample as key/value rows (a mapping) or as pretty JSON text (anything else)."""
    if ce is None:
        return [], None
    if isinstance(ce, dict) and all(not isinstance(v, (dict, list)) or len(json.dumps(v, default=str)) < 120
                                    for v in ce.values()):
        return config_rows(ce), None
    if isinstance(ce, str):
        return [], ce
    return [], json.dumps(ce, indent=2, sort_keys=True, default=str)
