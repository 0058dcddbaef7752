"""Every output follows the user's umask, also when written through the library (issue 14 §8):
traces, records, run.json and reports are created 0600 by mkstemp, then given 0666 & ~umask."""

from __future__ import annotations

import os
import stat

import pytest

from asyncbound._files import atomic_write_text, umask


@pytest.fixture
def mask_027():
    old = os.umask(0o027)
    try:
        yield 0o027
    finally:
        os.umask(old)


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_umask_is_read_without_changing_it(mask_027):
    assert umask() == 0o027 and umask() == 0o027


def test_atomic_write_follows_the_umask(tmp_path, mask_027):
    atomic_write_text(tmp_path / "a.txt", "x")
    assert _mode(tmp_path / "a.txt") == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temporary file left


def test_trace_record_and_report_follow_the_umask(tmp_path, mask_027):
    from asyncbound.checks.records import write_record
    from asyncbound.implementations.backends import run

    tr = run("hogwild_sgd", "quadratic", "uniform:2", 20, 2)
    tr.write(tmp_path / "t")
    files = [p for p in (tmp_path / "t").rglob("*") if p.is_file()]
    assert files and all(_mode(p) == 0o640 for p in files)
    rec = write_record(tmp_path / "o", {"check_id": "c", "verdict": "PASS", "algorithm": "a",
                                        "backend": "reference", "bound": {"key": "x/y"}})
    assert _mode(rec) == 0o640


def test_a_failed_write_leaves_nothing(tmp_path):
    from asyncbound._files import atomic_write

    def boom(tmp):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "b.bin", boom)
    assert list(tmp_path.iterdir()) == []
