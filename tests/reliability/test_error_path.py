"""The CLI's one error path: every exception maps to one exit code of the documented table."""

from __future__ import annotations

import errno
import json
import signal

import pytest
from asyncbound.checks.errors import (
    EXIT_CODES,
    ResourceError,
    Terminated,
    UsageError,
    classify,
)


@pytest.mark.parametrize("exc, code", [
    (UsageError("bad"), 2),
    (ValueError("steps must be >= 1, got 0"), 2),
    (RecursionError(), 2),
    (ResourceError("disk full"), 4),
    (OSError(errno.ENOSPC, "No space left on device", "/x"), 4),
    (MemoryError(), 4),
    (KeyboardInterrupt(), 130),
    (Terminated(), 143),
    (AttributeError("bug"), 70),
])
def test_every_exception_has_a_documented_code_and_one_line(exc, code):
    got, line = classify(exc)
    assert got == code and got in EXIT_CODES
    assert line and "\n" not in line


def test_terminated_is_a_keyboard_interrupt_carrying_sigterm():
    assert isinstance(Terminated(), KeyboardInterrupt) and Terminated.signum == signal.SIGTERM


def test_report_of_an_interrupted_run_says_so(tmp_path, capsys):
    from asyncbound.checks import records
    from asyncbound.checks.cli import main

    info = records.run_info(command="verify", argv=["verify"], suite="quick", seeds=[32])
    info.update(status="interrupted",
                interrupted={"signal": "SIGTERM", "checks_done": 1, "checks_planned": 7})
    records.write_run(tmp_path, info)
    records.write_record(tmp_path, {"check_id": "a--b--reference", "verdict": "PASS",
                                    "algorithm": "a", "backend": "reference", "bound": {"key": "b"}})
    assert main(["report", str(tmp_path)]) == 0
    html = (tmp_path / "report.html").read_text()
    assert "INTERRUPTED" in html and "only 1 of 7 checks ran" in html
    info["status"] = "complete"
    del info["interrupted"]
    (tmp_path / "run.json").write_text(json.dumps(info))
    assert main(["report", str(tmp_path)]) == 0
    assert "INTERRUPTED" not in (tmp_path / "report.html").read_text()


def test_the_fallback_page_of_an_interrupted_run_says_so_too(tmp_path):
    from asyncbound.checks.runner import _minimal_page

    info = {"command": "verify", "status": "interrupted",
            "interrupted": {"signal": "SIGINT", "checks_done": 0, "checks_planned": 3}}
    page = _minimal_page(tmp_path, [], info).read_text()
    assert "INTERRUPTED" in page and "only 0 of 3 checks ran" in page


def test_checks_off_the_requested_backends_are_named_not_run(capsys):
    from asyncbound.checks import suite
    from asyncbound.checks.cli.verify import _on_requested_backends
    from asyncbound.implementations.registry import ALGORITHMS

    specs = suite.build_suite("quick", backends=("distributed",))
    kept = _on_requested_backends(specs, ("distributed",), list(ALGORITHMS.values()))
    err = capsys.readouterr().err
    assert kept and all(s.backend == "distributed" for s in kept)
    assert "skipped on distributed (not supported by the algorithm): " in err
    assert "hogwild_sgd" in err and "reference-only check(s)" in err
    with pytest.raises(UsageError, match="nothing to run on --backend distributed; skipped on "
                                         "distributed .*hogwild_sgd"):
        _on_requested_backends([s for s in specs if s.backend == "reference"], ("distributed",),
                               [ALGORITHMS["hogwild_sgd"]])
