"""``asyncbound report DIR [--out FILE]`` in a fresh interpreter where torch cannot be imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Same blocking finder as tests/test_layering.py: any import of torch / implementations fails.
_CLI = r"""
import importlib.abc, sys
blocked = {"torch", "asyncbound.implementations"}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked or ".".join(name.split(".")[:2]) in blocked:
            raise ImportError(f"forbidden import of {name!r}")
        return None
sys.meta_path.insert(0, Block())
from asyncbound.checks.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin", "HOME": str(home),
           "MPLCONFIGDIR": str(home / "mpl")}
    return subprocess.run([sys.executable, "-c", _CLI, "report", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)


def test_report_without_torch(result_dir, tmp_path):
    out = tmp_path / "sub" / "r.html"
    proc = _cli(str(result_dir), "--out", str(out), home=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "forbidden import" not in proc.stderr
    assert out.exists() and "<svg " in out.read_text(encoding="utf-8")
    assert proc.stdout.strip() == str(out)


def test_corrupt_record_exit_2_one_line_naming_file(result_dir, tmp_path):
    bad = result_dir / "records" / "broken.json"
    bad.write_text("{ not json", encoding="utf-8")
    proc = _cli(str(result_dir), home=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("asyncbound report: error: ") and str(bad) in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (result_dir / "report.html").exists()


def test_missing_required_field_exit_2(result_dir, tmp_path):
    import json

    path = sorted((result_dir / "records").glob("*.json"))[0]
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["algorithm"]
    path.write_text(json.dumps(data), encoding="utf-8")
    proc = _cli(str(result_dir), home=tmp_path)
    assert proc.returncode == 2
    assert f"{path}: field 'algorithm': is required" in proc.stderr


def test_missing_directory_exit_2(tmp_path):
    proc = _cli(str(tmp_path / "nowhere"), home=tmp_path)
    assert proc.returncode == 2 and "nowhere: directory not found" in proc.stderr
