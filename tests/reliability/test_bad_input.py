"""The bad-input table of :mod:`asyncbound.checks.reliability`, driven through the CLI entry
point in-process: every case ends with its documented exit code, exactly one line on stderr,
no traceback, and nothing changed on disk (the scratch tree is hashed before and after); the
earlier results in it (a run's trace R, a verify result V) are never touched."""

from __future__ import annotations

import contextlib
import io

import pytest
from asyncbound.checks import reliability
from asyncbound.checks.cli import main


def inprocess_cli(argv) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = main(list(argv))
        except SystemExit as exc:  # argparse's own usage errors
            rc = exc.code
    return rc, err.getvalue()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    root = tmp_path_factory.mktemp("reliability") / "scratch"
    return root, reliability.make_fixtures(root, inprocess_cli)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", reliability.CASES, ids=[c.name for c in reliability.CASES])
def test_bad_input_is_one_line_with_its_exit_code_and_changes_nothing(scratch, case):
    root, fx = scratch
    r = reliability.run_case(case, fx, root, inprocess_cli)
    assert r["rc"] == case.code, r
    assert r["one_line"] and not r["traceback"], r
    assert not r["changed"] and not r["lost"], r


def test_the_table_covers_every_category_of_the_issue():
    names = " ".join(c.name for c in reliability.CASES)
    for needle in ("--delay ''", "--lock", "too large for memory", "unwritable", "locked",
                   "into a verify result", "matching nothing", "invalid PROBLEM", "invalid DELAY",
                   "rule factory raises", "shadows a std module", "nested too deeply",
                   "nothing left on distributed"):
        assert needle in names, needle


def test_bench_passes_flags_after_the_name(monkeypatch, tmp_path, capsys):
    from asyncbound.checks.cli import bench

    script = tmp_path / "bench_echo.py"
    script.write_text("import sys\nprint('ARGS', sys.argv[1:])\n")
    monkeypatch.setattr(bench, "available", lambda: {"echo": script})
    assert main(["bench", "echo", "--flag", "-x", "1"]) == 0
    assert main(["bench", "echo", "--", "--flag"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["ARGS ['--flag', '-x', '1']", "ARGS ['--flag']"]


def test_an_unexpected_exception_is_one_line_exit_70(monkeypatch, capsys):
    from asyncbound.checks.cli import theory

    def boom(args):
        raise AttributeError("a bug")

    monkeypatch.setattr(theory, "_list", boom)
    assert main(["theory", "list"]) == 70
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "internal error: AttributeError: a bug" in err[0]
