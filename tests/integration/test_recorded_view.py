"""Lemma ``recorded_view`` on real runs (issue 11 §3, staleness as recorded): the gradient a
worker applied was computed at the version it recorded as read, checked against the reference
replay; a misrecorded read version is a FAIL naming the update."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from asyncbound.checks.lemmas import check_recorded_view
from asyncbound.implementations.backends import run as backend_run

pytestmark = [pytest.mark.multiprocess]


@pytest.mark.timeout(180)
def test_locked_processes_run_reads_what_it_records_and_a_misrecord_fails():
    tr = backend_run("hogwild_sgd", "quadratic", None, 120, [3], backend="processes", workers=2,
                     lock=True, dim=10)
    ok = check_recorded_view(tr)
    assert ok["verdict"] == "PASS", ok["reason"]
    assert ok["n_exact_prefix"] == 120
    bad = copy.deepcopy(tr)
    order = np.argsort(bad.columns["update"], kind="stable")
    k = int(order[np.nonzero(bad.columns["read_version"][order] >= 2)[0][0]])
    bad.columns["read_version"][k] -= 2  # the trace now claims a staler view than was read
    bad.columns["staleness"][k] += 2
    res = check_recorded_view(bad)
    assert res["verdict"] == "FAIL" and res["update"] == int(bad.columns["update"][k])
    assert "recorded view" in res["reason"]
