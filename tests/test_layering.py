"""The dependency rules of DESIGN.md §1, enforced by importing with the forbidden module blocked.

Each check runs in a fresh interpreter whose import system refuses the forbidden modules, then
imports every module of the package under test. A forbidden import anywhere fails the import.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_PROBE = r"""
import importlib, importlib.abc, pkgutil, sys
blocked = set(sys.argv[2].split(","))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in blocked):
            raise ImportError(f"forbidden import of {name!r}")
        return None
sys.meta_path.insert(0, Block())
pkg = importlib.import_module(sys.argv[1])
if pkg.__name__ != "asyncbound":  # the root alone: its subpackages are the layers tested above
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
print("ok")
"""

RULES = [
    ("asyncbound.theory", "torch"),
    ("asyncbound.implementations", "sympy"),
    ("asyncbound.reports", "torch,asyncbound.implementations,asyncbound.checks"),
    # the root package is cheap: it imports none of the layers (nor torch, sympy or pandas)
    ("asyncbound", "torch,sympy,pandas,asyncbound.theory,asyncbound.implementations,"
                   "asyncbound.checks,asyncbound.reports"),
]


@pytest.mark.parametrize(("package", "blocked"), RULES)
def test_package_never_imports_forbidden(package, blocked):
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, package, blocked],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_probe_can_fail():
    """The probe itself must catch a violation: checks imports torch somewhere, so blocking it fails."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE + "\nimport torch\n", "asyncbound.theory", "torch"],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode != 0 and "forbidden import" in proc.stderr


def test_probe_blocks_a_subpackage_prefix():
    """Blocking ``asyncbound.checks`` must catch an import of one of its modules."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE + "\nimport asyncbound.checks.stats\n", "asyncbound.theory",
         "asyncbound.checks"],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode != 0 and "forbidden import" in proc.stderr
