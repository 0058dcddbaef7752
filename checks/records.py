"""Records (CONTRACTS §9): ``OUT/run.json`` and ``OUT/records/<check_id>.json``.

``checks`` writes, ``reports`` reads; the schema itself (name, required fields, verdicts) lives
in :mod:`asyncbound.reports.schema`. Every file is written to a temporary name and renamed, so a
report never reads half a record. Values are made JSON-safe (NaN/inf become null, numpy scalars
become Python numbers).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

from asyncbound.reports.schema import RECORD_SCHEMA, RUN_SCHEMA, VERDICTS  # noqa: F401 (re-exported)
from asyncbound.reports.schema import schema_problems as validate_record

from asyncbound._files import atomic_write_text


def jsonable(obj):
    """Recursively convert to JSON-safe values (NaN/inf -> None, numpy -> Python)."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):  # numpy array / scalar, torch tensor
        return jsonable(obj.tolist())
    if hasattr(obj, "value") and hasattr(obj, "name"):  # Enum
        return jsonable(obj.value)
    return str(obj)


def safe_id(text: str) -> str:
    """A file-name-safe check id: letters, digits, ``.``, ``_`` and ``-`` only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:180]


def check_id(algorithm: str, bound_key: str, backend: str, suffix: str = "") -> str:
    base = f"{algorithm}--{bound_key.replace('/', '-')}--{backend}"
    return safe_id(base + (f"--{suffix}" if suffix else ""))


def bound_record(bound) -> dict:
    """The ``bound`` field of a record: key, paper, metric, kind, provenance, formula, source."""
    try:
        d = bound.to_dict()
    except Exception:  # noqa: BLE001 - a partial description is better than none
        d = {"key": bound.key}
    src = d.get("source")
    return {
        "key": bound.key, "paper": getattr(bound, "paper", None), "metric": getattr(bound, "metric", None),
        "metric_id": getattr(bound, "metric_id", None),
        "kind": getattr(bound.kind, "value", str(bound.kind)),
        "provenance": getattr(bound.provenance, "value", str(bound.provenance)),
        "latex": d.get("latex"), "mathml": d.get("mathml"), "expression": d.get("expression"),
        "statement": d.get("statement"),
        "source": src.get("cite") if isinstance(src, dict) else src,
        "source_detail": src, "notes": d.get("notes"),
        "crosscheck": _crosscheck_status(bound.key),
    }


def _crosscheck_status(key: str) -> dict | None:
    """The stored PEP cross-check status of a registered bound (theory.crosscheck), or None."""
    from asyncbound.theory.crosscheck import status

    try:
        return status(key)
    except ValueError:  # a bound object that is not registered (a user's variant)
        return None


def base_record(check, bound, lr, lr_rule) -> dict:
    """The fields of a record known before the run: identity, bound, configuration."""
    cfg = check.config()
    cfg.update({"lr": lr, "lr_rule": lr_rule, "seeds": check.seeds})
    return {"check_id": check.check_id, "test": "bound", "algorithm": check.algorithm_name,
            "implements": getattr(check.algorithm, "implements", None), "backend": check.backend,
            "problem": check.problem, "workers": check.workers, "bound": bound_record(bound),
            "config": cfg, "counterexample": None}


def write_record(out_dir, rec: dict) -> Path:
    rec = jsonable({"schema": RECORD_SCHEMA, **rec})
    errs = validate_record(rec)
    if errs:
        raise ValueError(f"invalid record {rec.get('check_id')!r}: {'; '.join(errs)}")
    path = Path(out_dir) / "records" / f"{safe_id(rec['check_id'])}.json"
    atomic_write_text(path, json.dumps(rec, indent=1, allow_nan=False))
    return path


def read_records(out_dir) -> list[dict]:
    d = Path(out_dir) / "records"
    return [json.loads(p.read_text()) for p in sorted(d.glob("*.json"))] if d.is_dir() else []


def git_commit() -> str | None:
    try:
        root = Path(__file__).resolve().parents[1]
        r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                           text=True, timeout=5)
        return r.stdout.strip() or None if r.returncode == 0 else None
    except Exception:  # noqa: BLE001 - no git is fine
        return None


def versions() -> dict:
    out = {"python": platform.python_version()}
    for mod in ("torch", "numpy", "pandas", "sympy", "hypothesis", "pyarrow"):
        m = sys.modules.get(mod)
        if m is None:
            try:
                m = __import__(mod)
            except Exception:  # noqa: BLE001
                continue
        out[mod] = getattr(m, "__version__", None)
    return out


def machine() -> dict:
    gpu = None
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_available():
                gpu = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        except Exception:  # noqa: BLE001
            gpu = None
    return {"cpu": platform.processor() or platform.machine(), "gpu": gpu,
            "cores": os.cpu_count(), "platform": platform.platform()}


def run_info(*, command: str, argv: list[str], suite: str | None, seeds, extra: dict | None = None) -> dict:
    info = {
        "schema": RUN_SCHEMA, "command": command, "argv": list(argv), "git_commit": git_commit(),
        "versions": versions(), "machine": machine(), "seeds": seeds,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "suite": suite,
    }
    info.update(extra or {})
    return jsonable(info)


def write_run(out_dir, info: dict) -> Path:
    path = Path(out_dir) / "run.json"
    atomic_write_text(path, json.dumps(jsonable(info), indent=1, allow_nan=False))
    return path
