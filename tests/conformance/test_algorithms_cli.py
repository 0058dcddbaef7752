"""``asyncbound run`` / ``asyncbound algorithms``: files written, bad input exits 2 writing nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest
from asyncbound.checks.cli import main
from asyncbound.implementations.registry import ALGORITHMS
from asyncbound.implementations.trace import Trace


def test_run_writes_trace_and_meta(tmp_path, capsys):
    out = tmp_path / "run1"
    rc = main(["run", "hogwild_sgd", "--problem", "quadratic", "--dim", "8", "--delay", "uniform:3",
               "--steps", "200", "--seeds", "3", "--workers", "2", "--out", str(out)])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == ["run.json", "trace.parquet"]
    tr = Trace.read(out)
    assert len(tr) == 600 and tr.staleness.max() <= 3
    meta = json.loads((out / "run.json").read_text())
    assert meta["algorithm"] == "hogwild_sgd" and meta["delay"] == "uniform:3"
    text = capsys.readouterr().out
    assert "final loss mean" in text and "staleness mean" in text


def test_straggler_and_max_delay(tmp_path):
    out = tmp_path / "s"
    assert main(["run", "passm", "--straggler", "1,1,3", "--max-delay", "2", "--steps", "90",
                 "--out", str(out)]) == 0
    tr = Trace.read(out)
    assert tr.meta["n_workers"] == 3 and tr.staleness.max() <= 2


@pytest.mark.parametrize("argv", [
    ["--delay", "unifrm:4"],
    ["--delay", "uniform:-2"],
    ["--steps", "0"],
    ["--lr", "-1"],
    ["--problem", "no_such_problem"],
    ["--backend", "mpi"],
    ["--straggler", "1,x"],
    ["--straggler", "1,2", "--workers", "3"],
    ["--device", "cuda"] if not __import__("torch").cuda.is_available() else ["--seeds", "0"],
    ["--no-grad-norms"],      # reference backend: it always records every update
    ["--no-instrument"],
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, argv, capsys):
    out = tmp_path / "never"
    base = ["run", "hogwild_sgd", "--steps", "50", "--out", str(out)]
    rc = main(base + argv)
    assert rc == 2
    assert not out.exists()
    err = capsys.readouterr().err.strip()
    assert err.startswith("asyncbound run: error:") and "\n" not in err


@pytest.mark.multiprocess
@pytest.mark.timeout(180)
def test_real_run_without_instrumentation_or_grad_norms(tmp_path, capsys):
    bare = tmp_path / "bare"
    assert main(["run", "hogwild_sgd", "--backend", "processes", "--workers", "2", "--dim", "8",
                 "--steps", "150", "--no-instrument", "--out", str(bare)]) == 0
    tr = Trace.read(bare)
    assert len(tr) == 0 and tr.meta["updates_done"] == 150 and tr.meta["instrumented"] is False
    assert "uninstrumented: 150 of 150 updates applied" in capsys.readouterr().out
    lean = tmp_path / "lean"
    assert main(["run", "hogwild_sgd", "--backend", "processes", "--workers", "2", "--dim", "8",
                 "--steps", "150", "--no-grad-norms", "--out", str(lean)]) == 0
    tr = Trace.read(lean)
    assert len(tr) == 150 and np.isnan(tr["sgrad_norm_sq"]).all()
    assert tr.meta["backend_config"]["grad_norms"] is False


def test_unknown_algorithm_exits_2(tmp_path, capsys):
    assert main(["run", "hogwild", "--steps", "5", "--out", str(tmp_path / "x")]) == 2
    assert "did you mean" in capsys.readouterr().err


def test_algorithms_listing(capsys):
    assert main(["algorithms", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list(ALGORITHMS)
    assert main(["algorithms"]) == 0
    assert "hogwild_sgd" in capsys.readouterr().out
