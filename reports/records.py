"""Reader and validator of stored check records (CONTRACTS.md §9, schema ``asyncbound.record/1``).

A result directory ``OUT`` holds ``OUT/run.json`` (optional), ``OUT/records/*.json`` (one per
check) and, optionally, the trace Parquet files the records name in ``trace_files``.

:func:`load_records` reads and validates every record; :func:`validate_record` checks one
mapping and returns a normalised copy in which every optional field is present (``None`` or an
empty container where the record had nothing). Every problem is reported as a
:class:`RecordError` whose message is one line naming the file and the field, e.g.::

    out/records/a.json: field 'bound.key': expected a string, got 3

Fields beyond the contract are kept (forward compatibility) and ignored by the renderer.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncbound.reports.schema import KINDS, PROVENANCES, RECORD_SCHEMA, RUN_SCHEMA, VERDICTS

log = logging.getLogger(__name__)

SERIES_KEYS = ("iteration", "mean", "lo", "hi", "bound")


class RecordError(ValueError):
    """A record or run file is missing, corrupt or violates the schema (one-line message)."""


@dataclass
class Record:
    """One validated check record.

    ``data`` is the normalised mapping (every optional field present); ``source`` names where
    it came from (a path, or ``"<record>"``); ``base_dir`` is the result directory that
    ``trace_files`` are relative to (``None``: relative to the current directory).
    """

    data: dict[str, Any]
    source: str = "<record>"
    base_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def check_id(self) -> str:
        return self.data["check_id"]

    @property
    def verdict(self) -> str:
        return self.data["verdict"]

    def trace_paths(self) -> list[Path]:
        """Absolute-or-relative paths of the record's trace files, in record order."""
        base = self.base_dir if self.base_dir is not None else Path(".")
        return [base / p for p in self.data["trace_files"]]


# ----------------------------------------------------------------------------- helpers


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Validator:
    """Collects nothing: the first violation raises a one-line :class:`RecordError`."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, message: str) -> None:
        raise RecordError(f"{self.source}: field '{path}': {message}")

    def expect(self, value: Any, path: str, kinds: str, *, nullable: bool = True) -> Any:
        """Check ``value`` has one of ``kinds`` ("string number integer boolean list object")."""
        if value is None:
            if nullable:
                return None
            self.fail(path, "is required")
        ok = False
        for kind in kinds.split():
            if kind == "string" and isinstance(value, str):
                ok = True
            elif kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
                ok = True
            elif kind == "integer" and (
                (isinstance(value, int) and not isinstance(value, bool))
                or (isinstance(value, float) and value.is_integer())
            ):
                ok = True
            elif kind == "boolean" and isinstance(value, bool):
                ok = True
            elif kind == "list" and isinstance(value, list):
                ok = True
            elif kind == "object" and isinstance(value, dict):
                ok = True
        if not ok:
            self.fail(path, f"expected {' or '.join(kinds.split())}, got {_type_name(value)} {_short(value)}")
        if isinstance(value, float) and "integer" in kinds.split() and "number" not in kinds.split():
            return int(value)
        return value

    def number(self, value: Any, path: str) -> float | None:
        value = self.expect(value, path, "number")
        return None if value is None else float(value)

    def numbers(self, value: Any, path: str) -> list[float]:
        value = self.expect(value, path, "list")
        if value is None:
            return []
        out = []
        for i, item in enumerate(value):
            if item is None:
                out.append(math.nan)
            else:
                out.append(float(self.expect(item, f"{path}[{i}]", "number")))
        return out


def _choice(v: _Validator, value: Any, path: str, choices: tuple[str, ...], *, upper: bool,
            nullable: bool) -> str | None:
    value = v.expect(value, path, "string", nullable=nullable)
    if value is None:
        return None
    norm = value.upper() if upper else value.lower()
    if norm not in choices:
        v.fail(path, f"{value!r} is not one of {', '.join(choices)}")
    return norm


# ----------------------------------------------------------------------------- records


def validate_record(data: Any, source: str = "<record>") -> dict[str, Any]:
    """Validate one record mapping; return a normalised copy with every optional field filled.

    Raises :class:`RecordError` (one line: ``source: field 'x.y': problem``).
    """
    v = _Validator(source)
    if not isinstance(data, Mapping):
        raise RecordError(f"{source}: expected a JSON object, got {_type_name(data)}")
    d = dict(data)
    out: dict[str, Any] = {k: val for k, val in d.items()}

    schema = v.expect(d.get("schema"), "schema", "string", nullable=False)
    if schema != RECORD_SCHEMA:
        v.fail("schema", f"expected {RECORD_SCHEMA!r}, got {schema!r}")
    check_id = v.expect(d.get("check_id"), "check_id", "string", nullable=False)
    if not check_id.strip():
        v.fail("check_id", "is empty")
    out["verdict"] = _choice(v, d.get("verdict"), "verdict", VERDICTS, upper=True, nullable=False)
    for key in ("algorithm", "backend"):
        value = v.expect(d.get(key), key, "string", nullable=False)
        if not value.strip():
            v.fail(key, "is empty")
    for key in ("reason", "problem"):
        v.expect(d.get(key), key, "string")
        out[key] = d.get(key)
    out["workers"] = v.expect(d.get("workers"), "workers", "integer")

    # bound
    bound = v.expect(d.get("bound"), "bound", "object", nullable=False)
    b = dict(bound)
    b["key"] = v.expect(bound.get("key"), "bound.key", "string", nullable=False)
    for key in ("paper", "metric", "metric_id", "latex", "mathml", "statement", "notes"):
        b[key] = v.expect(bound.get(key), f"bound.{key}", "string")
    source = v.expect(bound.get("source"), "bound.source", "string object")
    if isinstance(source, dict):  # a Source.to_dict(): use its citation
        source = source.get("cite") if isinstance(source.get("cite"), str) else json.dumps(source, sort_keys=True)
    b["source"] = source
    b["kind"] = _choice(v, bound.get("kind"), "bound.kind", KINDS, upper=True, nullable=True)
    b["provenance"] = _choice(v, bound.get("provenance"), "bound.provenance", PROVENANCES,
                              upper=False, nullable=True)
    out["bound"] = b
    also = v.expect(d.get("also_checks"), "also_checks", "list") or []
    out["also_checks"] = [v.expect(k, f"also_checks[{i}]", "string", nullable=False)
                          for i, k in enumerate(also)]

    # measured
    measured = v.expect(d.get("measured"), "measured", "object")
    if measured is not None:
        m = dict(measured)
        for key in ("value", "ci_low", "ci_high", "alpha"):
            m[key] = v.number(measured.get(key), f"measured.{key}")
        m["n_seeds"] = v.expect(measured.get("n_seeds"), "measured.n_seeds", "integer")
        out["measured"] = m
    else:
        out["measured"] = None
    out["bound_value"] = v.number(d.get("bound_value"), "bound_value")
    out["ratio"] = v.number(d.get("ratio"), "ratio")
    out["duration_s"] = v.number(d.get("duration_s"), "duration_s")

    # constants
    constants = v.expect(d.get("constants"), "constants", "object") or {}
    consts: dict[str, dict[str, Any]] = {}
    for name in sorted(constants):
        c = constants[name]
        path = f"constants.{name}"
        if isinstance(c, (int, float)) and not isinstance(c, bool):
            c = {"value": c}
        c = v.expect(c, path, "object", nullable=False)
        value = c.get("value")
        if not isinstance(value, str):
            value = v.number(value, f"{path}.value")
        consts[name] = {
            "value": value,
            "origin": v.expect(c.get("origin"), f"{path}.origin", "string"),
            "how": v.expect(c.get("how"), f"{path}.how", "string"),
        }
    out["constants"] = consts

    # conditions
    conditions = v.expect(d.get("conditions"), "conditions", "list") or []
    conds = []
    for i, c in enumerate(conditions):
        path = f"conditions[{i}]"
        c = v.expect(c, path, "object", nullable=False)
        conds.append({
            "text": v.expect(c.get("text"), f"{path}.text", "string", nullable=False),
            "lhs": v.number(c.get("lhs"), f"{path}.lhs"),
            "rhs": v.number(c.get("rhs"), f"{path}.rhs"),
            "holds": v.expect(c.get("holds"), f"{path}.holds", "boolean"),
        })
    out["conditions"] = conds

    out["config"] = v.expect(d.get("config"), "config", "object") or {}

    # series: equal-length numeric lists
    series = v.expect(d.get("series"), "series", "object")
    if series:
        s = {key: v.numbers(series.get(key), f"series.{key}") for key in SERIES_KEYS}
        n = len(s["iteration"])
        for key in SERIES_KEYS[1:]:
            if s[key] and len(s[key]) != n:
                v.fail(f"series.{key}", f"has {len(s[key])} values but series.iteration has {n}")
        s["label"] = v.expect(series.get("label"), "series.label", "string")  # optional addition
        out["series"] = s if n else None
    else:
        out["series"] = None

    # sweep: list of points
    sweep = v.expect(d.get("sweep"), "sweep", "list") or []
    points = []
    for i, p in enumerate(sweep):
        path = f"sweep[{i}]"
        p = v.expect(p, path, "object", nullable=False)
        points.append({
            "tau": v.number(p.get("tau"), f"{path}.tau"),
            "workers": v.expect(p.get("workers"), f"{path}.workers", "integer"),
            "ratio": v.number(p.get("ratio"), f"{path}.ratio"),
            "measured": v.number(p.get("measured"), f"{path}.measured"),
            "bound": v.number(p.get("bound"), f"{path}.bound"),
        })
    out["sweep"] = points

    # staleness: {"per_worker": {"0": {"values": [...], "counts": [...]}}}
    staleness = v.expect(d.get("staleness"), "staleness", "object")
    per_worker: dict[str, dict[str, list[float]]] = {}
    if staleness:
        pw = v.expect(staleness.get("per_worker"), "staleness.per_worker", "object") or {}
        for w in sorted(pw, key=_worker_sort_key):
            path = f"staleness.per_worker.{w}"
            h = v.expect(pw[w], path, "object", nullable=False)
            values = v.numbers(h.get("values"), f"{path}.values")
            counts = v.numbers(h.get("counts"), f"{path}.counts")
            if len(values) != len(counts):
                v.fail(f"{path}.counts", f"has {len(counts)} values but {path}.values has {len(values)}")
            if any(c < 0 for c in counts):
                v.fail(f"{path}.counts", "has a negative count")
            per_worker[str(w)] = {"values": values, "counts": counts}
    if staleness:
        out["staleness"] = dict(staleness, per_worker=per_worker)
        out["staleness"]["tau_max"] = v.number(staleness.get("tau_max"), "staleness.tau_max")
        out["staleness"]["tau_avg"] = v.number(staleness.get("tau_avg"), "staleness.tau_avg")
    else:
        out["staleness"] = None

    # optional additions written by checks (not in CONTRACTS §9 yet)
    out["error"] = v.expect(d.get("error"), "error", "string")
    out["incomplete"] = v.expect(d.get("incomplete"), "incomplete", "string boolean")
    out["divergence"] = v.expect(d.get("divergence"), "divergence", "object")

    # throughput
    throughput = v.expect(d.get("throughput"), "throughput", "object")
    if throughput:
        speedup = v.expect(throughput.get("speedup"), "throughput.speedup", "list") or []
        sp = []
        for i, p in enumerate(speedup):
            path = f"throughput.speedup[{i}]"
            p = v.expect(p, path, "object", nullable=False)
            sp.append({
                "workers": v.expect(p.get("workers"), f"{path}.workers", "integer", nullable=False),
                "speedup": v.number(p.get("speedup"), f"{path}.speedup"),
                "updates_per_s": v.number(p.get("updates_per_s"), f"{path}.updates_per_s"),
                # a paper's reported speed-up at this worker count (paper studies), for overlay
                "paper": v.number(p.get("paper"), f"{path}.paper"),
            })
        out["throughput"] = {
            "updates_per_s": v.number(throughput.get("updates_per_s"), "throughput.updates_per_s"),
            "speedup": sorted(sp, key=lambda p: p["workers"]),
        }
    else:
        out["throughput"] = None

    out["counterexample"] = d.get("counterexample")

    trace_files = v.expect(d.get("trace_files"), "trace_files", "list") or []
    files = []
    for i, p in enumerate(trace_files):
        p = v.expect(p, f"trace_files[{i}]", "string", nullable=False)
        if Path(p).is_absolute() or ".." in Path(p).parts:
            v.fail(f"trace_files[{i}]", f"must be a path inside the result directory, got {p!r}")
        files.append(p)
    out["trace_files"] = files
    return out


def _worker_sort_key(w: str) -> tuple[int, int | str]:
    return (0, int(w)) if str(w).lstrip("-").isdigit() else (1, str(w))


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecordError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: cannot read: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def read_record(path: str | Path, base_dir: str | Path | None = None) -> Record:
    """Read and validate one record file. ``base_dir`` defaults to the file's grandparent."""
    path = Path(path)
    data = validate_record(_read_json(path), str(path))
    base = Path(base_dir) if base_dir is not None else path.parent.parent
    return Record(data=data, source=str(path), base_dir=base)


def records_dir(result_dir: str | Path) -> Path:
    """The directory holding the record files of ``result_dir`` (``result_dir/records``)."""
    result_dir = Path(result_dir)
    if not result_dir.exists():
        raise RecordError(f"{result_dir}: directory not found")
    if not result_dir.is_dir():
        raise RecordError(f"{result_dir}: not a directory")
    sub = result_dir / "records"
    if not sub.is_dir():
        raise RecordError(f"{sub}: directory not found (expected the records of a run: OUT/records/*.json)")
    return sub


def load_records(result_dir: str | Path) -> list[Record]:
    """Read and validate every ``result_dir/records/*.json``, sorted by ``check_id``.

    Raises :class:`RecordError` when the directory has no records, a file is corrupt or
    invalid, or two records share a ``check_id``.
    """
    result_dir = Path(result_dir)
    sub = records_dir(result_dir)
    paths = sorted(sub.glob("*.json"))
    if not paths:
        raise RecordError(f"{sub}: no records (*.json) found")
    records = [read_record(p, base_dir=result_dir) for p in paths]
    seen: dict[str, str] = {}
    for r in records:
        if r.check_id in seen:
            raise RecordError(f"{r.source}: field 'check_id': {r.check_id!r} also used by {seen[r.check_id]}")
        seen[r.check_id] = r.source
    log.info("loaded %d records from %s", len(records), sub)
    return sorted(records, key=lambda r: r.check_id)


def validate_run(data: Any, source: str = "<run>") -> dict[str, Any]:
    """Validate a ``run.json`` mapping; return a normalised copy (optional fields filled)."""
    v = _Validator(source)
    if not isinstance(data, Mapping):
        raise RecordError(f"{source}: expected a JSON object, got {_type_name(data)}")
    out = dict(data)
    schema = v.expect(data.get("schema"), "schema", "string", nullable=False)
    if schema != RUN_SCHEMA:
        v.fail("schema", f"expected {RUN_SCHEMA!r}, got {schema!r}")
    for key in ("command", "git_commit", "date", "suite"):
        out[key] = v.expect(data.get(key), key, "string")
    out["argv"] = v.expect(data.get("argv"), "argv", "list") or []
    versions = v.expect(data.get("versions"), "versions", "object") or {}
    out["versions"] = {str(k): str(versions[k]) for k in sorted(versions) if versions[k] is not None}
    machine = v.expect(data.get("machine"), "machine", "object") or {}
    gpu = v.expect(machine.get("gpu"), "machine.gpu", "string list")
    if isinstance(gpu, list):
        gpu = ", ".join(str(g) for g in gpu) or None
    out["machine"] = dict(machine)
    out["machine"].update({
        "cpu": v.expect(machine.get("cpu"), "machine.cpu", "string"),
        "gpu": gpu,
        "cores": v.expect(machine.get("cores"), "machine.cores", "integer"),
        "platform": v.expect(machine.get("platform"), "machine.platform", "string"),
    })
    # "complete" | "interrupted" (a verify stopped by a signal keeps its partial result)
    out["status"] = v.expect(data.get("status"), "status", "string")
    intr = v.expect(data.get("interrupted"), "interrupted", "object")
    out["interrupted"] = None if intr is None else {
        "signal": v.expect(intr.get("signal"), "interrupted.signal", "string"),
        "checks_done": v.expect(intr.get("checks_done"), "interrupted.checks_done", "integer"),
        "checks_planned": v.expect(intr.get("checks_planned"), "interrupted.checks_planned", "integer"),
    }
    seeds = data.get("seeds")
    v.expect(seeds, "seeds", "integer list string object")
    out["seeds"] = seeds
    return out


def load_run(result_dir: str | Path) -> dict[str, Any] | None:
    """Read ``result_dir/run.json`` if present (``None`` if absent); raise if corrupt."""
    path = Path(result_dir) / "run.json"
    if not path.exists():
        log.info("%s: absent; the report will have no reproducibility header", path)
        return None
    return validate_run(_read_json(path), str(path))


def as_record(obj: Record | Mapping[str, Any], base_dir: str | Path | None = None) -> Record:
    """Accept a :class:`Record` or a raw mapping (validated here)."""
    if isinstance(obj, Record):
        return obj
    data = validate_record(obj, f"<record {obj.get('check_id', '?')!s}>" if isinstance(obj, Mapping) else "<record>")
    return Record(data=data, base_dir=Path(base_dir) if base_dir is not None else None)


_SLUG = re.compile(r"[^A-Za-z0-9_-]+")


def anchor(check_id: str) -> str:
    """The HTML id of a check's section (stable, safe in an attribute)."""
    return "check-" + (_SLUG.sub("-", check_id).strip("-") or "x")
