"""`asyncbound run` on a real backend whose worker dies: one line naming the cause, exit 1,
the partial trace kept and marked incomplete (issue #4: faults end the run with the cause named)."""

from __future__ import annotations

import json

import asyncbound.implementations.backends as backends
import pytest
from asyncbound.checks.cli import main
from asyncbound.implementations.backends.processes import run as processes_run


@pytest.mark.multiprocess
@pytest.mark.timeout(120)
def test_worker_fault_gives_one_line_and_keeps_partial_trace(tmp_path, monkeypatch, capsys):
    def faulty_run(*args, **kwargs):
        # the backend's own test-only fault injection: worker 1 raises after 5 updates
        return processes_run(*args, _fault={"worker": 1, "after": 5, "kind": "raise"}, **kwargs)

    def dispatch(algorithm, problem, delays, steps, seeds, *, backend="reference", **kw):
        assert backend == "processes"
        return faulty_run(algorithm, problem, delays, steps, seeds, **kw)

    monkeypatch.setattr(backends, "run", dispatch)
    out = tmp_path / "run"
    rc = main(["run", "hogwild_sgd", "--backend", "processes", "--workers", "2", "--problem",
               "quadratic", "--dim", "8", "--steps", "400", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert len(err) == 1 and "worker 1" in err[0], err
    meta = json.loads((out / "run.json").read_text())
    assert meta["complete"] is False and meta["error"]
    # the worker's full traceback travels in the trace; no temporary directory is left behind
    assert "worker1" in meta["error_files"] and "Traceback" in meta["error_files"]["worker1"]
