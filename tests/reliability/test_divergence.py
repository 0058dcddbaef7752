"""Divergence is seen on every backend (issue 14): a step size that diverges stops the run,
keeps the partial trace marked incomplete with the cause, and `run` exits 3."""

from __future__ import annotations

import json

import pytest
from asyncbound.checks.cli import main
from asyncbound.checks.errors import EXIT_DIVERGED

#: the budget of the diverging runs: the parent looks every 0.1 s, so a real run must last far
#: longer than that for "stopped before its budget" to be decidable (3000 updates of d = 10 took
#: less than one look on an idle machine and ran to the end)
STEPS = 200_000


def _run(tmp_path, backend, algo, capsys):
    out = tmp_path / backend
    extra = [] if backend == "reference" else ["--workers", "2"]
    steps = "3000" if backend == "reference" else str(STEPS)
    rc = main(["run", algo, "--backend", backend, *extra, "--steps", steps, "--lr", "1000",
               "--eval-every", "1", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    meta = json.loads((out / "run.json").read_text())
    return rc, err, meta


def test_reference(tmp_path, capsys):
    rc, err, meta = _run(tmp_path, "reference", "hogwild_sgd", capsys)
    assert rc == EXIT_DIVERGED and len(err) == 1 and "diverged" in err[0]
    assert meta["complete"] is False and meta["error"].startswith("diverged")


@pytest.mark.multiprocess
@pytest.mark.timeout(180)
def test_processes(tmp_path, capsys):
    rc, err, meta = _run(tmp_path, "processes", "hogwild_sgd", capsys)
    assert rc == EXIT_DIVERGED and len(err) == 1 and "diverged" in err[0], err
    assert meta["complete"] is False and meta["cause"] == "diverged"
    assert meta["updates_done"] < STEPS  # stopped, not run to the end of its budget


@pytest.mark.multiprocess
@pytest.mark.distributed
@pytest.mark.timeout(180)
def test_distributed(tmp_path, capsys):
    rc, err, meta = _run(tmp_path, "distributed", "ps_sgd", capsys)
    assert rc == EXIT_DIVERGED and len(err) == 1 and "diverged" in err[0], err
    assert meta["complete"] is False and meta["cause"] == "diverged"
    assert meta["updates_done"] < STEPS


def test_a_sane_run_is_not_called_diverged(tmp_path, capsys):
    assert main(["run", "hogwild_sgd", "--steps", "200", "--out", str(tmp_path / "ok")]) == 0
    assert json.loads((tmp_path / "ok" / "run.json").read_text())["complete"] is True
