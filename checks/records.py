"""Records (CONTRACTS §9): ``OUT/run.json`` and ``OUT/records/<check_id>.json``.

``checks`` writes, ``reports`` reads. Every file is written to a temporary name and renamed, so a
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
import tempfile
from pathlib import Path

RECORD_SCHEMA = "asyncbound.record/1"
RUN_SCHEMA = "asyncbound.run/1"
VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE", "NOT_APPLICABLE", "DIVERGED")
REQUIRED = ("schema", "check_id", "verdict", "algorithm", "backend", "bound")


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


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        from asyncbound.checks.outdir import umask

        os.chmod(tmp, 0o666 & ~umask())  # mkstemp creates 0600; outputs follow the umask
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def validate_record(rec: dict) -> list[str]:
    """Problems with a record (empty list: valid)."""
    errors = []
    for key in REQUIRED:
        if key not in rec or rec[key] is None:
            errors.append(f"missing {key}")
    if rec.get("schema") not in (None, RECORD_SCHEMA):
        errors.append(f"schema is {rec.get('schema')!r}, expected {RECORD_SCHEMA!r}")
    if rec.get("verdict") is not None and rec["verdict"] not in VERDICTS:
        errors.append(f"unknown verdict {rec['verdict']!r}")
    b = rec.get("bound")
    if isinstance(b, dict) and "key" not in b:
        errors.append("bound has no key")
    return errors


def write_record(out_dir, rec: dict) -> Path:
    rec = jsonable({"schema": RECORD_SCHEMA, **rec})
    errs = validate_record(rec)
    if errs:
        raise ValueError(f"invalid record {rec.get('check_id')!r}: {'; '.join(errs)}")
    path = Path(out_dir) / "records" / f"{safe_id(rec['check_id'])}.json"
    _atomic_write(path, json.dumps(rec, indent=1, allow_nan=False))
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
    _atomic_write(path, json.dumps(jsonable(info), indent=1, allow_nan=False))
    return path
