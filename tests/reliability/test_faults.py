"""Fault injection (issue 14): the parent of a real run is killed with SIGTERM, SIGINT or
SIGKILL; no child may survive 5 s and no port they listened on may stay open. SIGTERM and
SIGINT end like Ctrl-C always did: exit 143 / 130, the partial trace kept, marked incomplete."""

from __future__ import annotations

import signal
import sys

import pytest
from asyncbound.checks import reliability

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.mark.multiprocess
@pytest.mark.timeout(240)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL],
                         ids=lambda s: s.name)
def test_no_child_survives_its_parent_processes(tmp_path, sig):
    r = reliability.kill_parent(sig, "processes", tmp_path / "out")
    assert r["children"] >= 2, r
    assert r["orphans"] == 0, r
    if sig == signal.SIGKILL:
        return  # nothing of the parent runs: only the children's deaths are checkable
    assert r["rc"] == 128 + sig, r
    assert len(r["stderr"].splitlines()) == 1, r
    # killed mid-run (the probe waits for the workers to load torch): the partial trace is kept
    assert "kept in" in r["stderr"], r
    assert r["meta_complete"] is False and r["cause"] == "interrupted", r


@pytest.mark.multiprocess
@pytest.mark.distributed
@pytest.mark.timeout(240)
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=lambda s: s.name)
def test_no_rank_survives_and_no_port_stays_open_distributed(tmp_path, sig):
    r = reliability.kill_parent(sig, "distributed", tmp_path / "out")
    assert r["children"] >= 3, r
    assert r["ports"], r  # rank 0 was listening when its parent was killed
    assert r["orphans"] == 0 and not r["open_ports"], r
    if sig == signal.SIGTERM:
        assert r["rc"] == 143, r


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_interrupted_verify_keeps_the_earlier_result_and_marks_the_partial_one(tmp_path):
    from asyncbound.checks.cli import main

    v = tmp_path / "V"
    assert main(["verify", "--only", reliability.ONE_CHECK, "--no-studies", "--out", str(v)]) == 0
    r = reliability.interrupted_verify(v)
    assert r["rc"] == 143, r
    assert r["lost"] == [], r
    if r["partial"]:  # at least one check finished before SIGTERM
        assert r["status"] == "interrupted", r
        html = (v / r["partial"][0]).parent / "index.html"
        assert "INTERRUPTED" in html.read_text()
