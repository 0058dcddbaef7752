"""``asyncbound check`` on a variant that declares its own bound, end to end in a subprocess:
the example PASSes, the same claim with constants 10x too small FAILs (exit 1), a user bound
labelled ``derived`` is one line and exit 2, and the report labels the bound as the user's claim."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "variant_user_bound.py"
CLAIM = "2 * F0 / (eta * K) + 4 * L * eta * sigma**2"

pytestmark = pytest.mark.slow


def cli(*args, timeout=300):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "asyncbound.checks.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=env)


def _records(out: Path) -> list[dict]:
    """The bound checks' records (a variant also gets exact checks: lemma, oracle)."""
    recs = [json.loads(p.read_text()) for p in sorted((out / "records").glob("*.json"))]
    return [r for r in recs if r["test"] == "bound"]


def test_user_bound_example_passes_and_the_report_says_whose_claim_it_is(tmp_path):
    out = tmp_path / "ub"
    p = cli("check", str(EXAMPLE), "--out", str(out))
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    (rec,) = _records(out)
    assert rec["verdict"] == "PASS" and rec["bound"]["provenance"] == "claimed"
    html = (out / "index.html").read_text()
    assert "report.write_report failed" not in p.stderr
    assert 'class="prov prov-claimed"' in html and "claimed: the user&#39;s claim" in html
    # the user's bound is never labelled derived; the exact oracle check of the same variant is
    # the project's own (derived) check, so look at the rows of the user's bound only
    rows = [r for r in html.split("<tr>") if "my_delayed_sgd-nonconvex" in r]
    assert rows and all('class="prov prov-derived"' not in r for r in rows)


def test_a_wrong_user_bound_fails_through_the_cli(tmp_path):
    f = tmp_path / "variant_wrong_claim.py"
    text = EXAMPLE.read_text()
    assert CLAIM in text
    f.write_text(text.replace(CLAIM, f"({CLAIM}) / 10").replace("my_delayed_sgd", "my_wrong_sgd"))
    out = tmp_path / "wrong"
    p = cli("check", str(f), "--out", str(out))
    assert p.returncode == 1, p.stdout[-3000:] + p.stderr[-3000:]
    (rec,) = _records(out)
    assert rec["verdict"] == "FAIL" and rec["bound"]["key"] == "my_wrong_sgd/nonconvex"


def test_a_user_bound_labelled_derived_is_one_line_exit_2(tmp_path):
    f = tmp_path / "variant_self_derived.py"
    f.write_text(EXAMPLE.read_text().replace("Provenance.CLAIMED", "Provenance.DERIVED"))
    p = cli("check", str(f), "--out", str(tmp_path / "o"), timeout=120)
    assert p.returncode == 2, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Provenance.CLAIMED" in lines[0], p.stderr
    assert not (tmp_path / "o").exists()
