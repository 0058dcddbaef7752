"""The distribution installs exactly one top-level package, ``asyncbound`` (DESIGN.md §1).

Generic names such as ``checks`` or ``reports`` collide with other distributions and with users'
own folders, so the four layers are importable only as ``asyncbound.<layer>``.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("theory", "implementations", "checks", "reports")


def test_every_package_folder_is_listed():
    """A folder with an ``__init__.py`` that pyproject does not list would be left out of the wheel."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {"asyncbound"}
    for layer in LAYERS:
        for init in (ROOT / layer).rglob("__init__.py"):
            found.add(".".join(("asyncbound", *init.parent.relative_to(ROOT).parts)))
    assert listed == found


@pytest.mark.slow
def test_wheel_has_one_top_level_package(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0 and "No matching distribution" in proc.stderr:
        pytest.skip("no package index reachable to fetch the build backend")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("asyncbound-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"asyncbound"}
    for layer in LAYERS:
        assert f"asyncbound/{layer}/__init__.py" in names
    assert "asyncbound/reports/templates/report.html.j2" in names
    assert "asyncbound/theory/papers/nadiradze2021.py" in names


def test_console_entry_and_module_entry_agree():
    out = subprocess.run([sys.executable, "-m", "asyncbound", "theory", "list"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "nadiradze2021/view_gap_async" in out.stdout


def test_import_root_outside_the_checkout(tmp_path):
    """From another folder (no checkout on sys.path) the layers resolve through the install."""
    code = ("import asyncbound, asyncbound.theory, asyncbound.reports;"
            "print(asyncbound.__version__, asyncbound.theory.__file__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert str(ROOT / "theory") in out.stdout
