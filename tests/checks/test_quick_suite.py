"""The verification suite as pytest tests: every check of ``asyncbound verify --suite quick``,
one test each (same specs, same statistics: Bonferroni over the suite)."""

from __future__ import annotations

import pytest
from asyncbound.checks.engine import run_check
from asyncbound.checks.stats import n_statistical, per_check_alpha
from asyncbound.checks.suite import build_suite
from asyncbound.checks.verdicts import FAILING, Verdict

SPECS = build_suite("quick")
ALPHA = per_check_alpha(n_statistical(SPECS))


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=[s.check_id for s in SPECS])
def test_quick_check(spec):
    rec = run_check(spec, ALPHA)
    assert Verdict(rec["verdict"]) not in FAILING, rec["reason"]
    assert rec["verdict"] != "INCONCLUSIVE" or "could not run" not in rec.get("reason", "")
