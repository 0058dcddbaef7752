"""A user's variant file runs on real worker processes, not only on the reference backend.

Spawned workers unpickle the variant's rule by module name; the loader imports the file under
its own stem with its folder on ``sys.path`` (which spawn hands to children) for that.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.multiprocess
@pytest.mark.timeout(600)
def test_example_variant_runs_on_processes(tmp_path):
    variant = tmp_path / "my_variant_for_processes.py"
    shutil.copy(ROOT / "examples" / "variant_nesterov_hogwild.py", variant)
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "asyncbound.checks.cli", "check", str(variant), "--backend", "processes",
         "--workers", "2", "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=560,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    records = [json.loads(p.read_text()) for p in (out / "records").glob("*.json")]
    assert records and all(r["backend"] == "processes" for r in records)
    failed_to_run = [r["check_id"] for r in records if "could not run" in (r.get("reason") or "")]
    assert not failed_to_run, (failed_to_run, proc.stderr[-2000:])
